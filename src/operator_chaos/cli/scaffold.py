"""``operator-chaos init``: write a skeleton experiment to fill in.

The skeleton carries placeholder parameters suited to the fault type, so the next step is to
edit names, not to look up which parameters exist. Two things are deliberately left for a
person, and `validate` refuses the file until they are done: the hypothesis (a ``TODO``, so
that no placeholder reaches the published docs) and, for high-danger faults, the
``allowDangerous`` opt-in (written as ``false``: a generated file must not opt in for you).
"""

import json
import re
from pathlib import Path

import click

from operator_chaos.cli import completion

_TIERS = {
    "PodKill": 1,
    "NetworkPartition": 2,
    "ConfigDrift": 2,
    "PDBBlock": 2,
    "RBACRevoke": 4,
    "WebhookDisrupt": 4,
    "WebhookLatency": 4,
    "NamespaceDeletion": 5,
    "QuotaExhaustion": 5,
}


def example_parameters(injection_type: str, component: str, namespace: str) -> dict[str, str]:
    """Placeholder parameters for ``injection_type`` that pass validation: the type's own
    ``TypeSpec.example``, so a new type brings its skeleton with it."""
    from operator_chaos.injection import registry

    return dict(registry.spec_for(injection_type).example(component, namespace))


def skeleton(injection_type: str, component: str, operator: str, namespace: str) -> str:
    """The YAML text of a skeleton experiment (raises ``KeyError`` for an unknown type)."""
    from operator_chaos.api.v1alpha1 import DangerLevel
    from operator_chaos.injection.registry import spec_for

    spec = spec_for(injection_type)
    name = f"{component}-{_kebab(injection_type)}"[:253].rstrip("-.")
    parameters = example_parameters(spec.injection_type.value, component, namespace)
    param_lines = "".join(
        f"      {key}: {json.dumps(value)}\n" for key, value in parameters.items()
    )
    dangerous = (
        f"    # {spec.injection_type.value} is a high-danger fault: read what it does, then\n"
        "    # opt in by setting this to true (validate and run refuse it until you do)\n"
        "    allowDangerous: false\n"
        if spec.danger is DangerLevel.HIGH
        else ""
    )
    return f"""\
apiVersion: chaos.operatorchaos.io/v1alpha1
kind: ChaosExperiment
metadata:
  name: {name}
spec:
  tier: {_TIERS.get(spec.injection_type.value, 3)}
  target:
    operator: {operator}
    component: {component}
  steadyState:
    checks:
      - type: conditionTrue
        apiVersion: apps/v1
        kind: Deployment
        name: {component}
        namespace: {namespace}
        conditionType: Available
    timeout: 30s
  injection:
    type: {spec.injection_type.value}
    # {spec.summary}
    # placeholders: see `operator-chaos types` for every parameter of this type
    parameters:
{param_lines}    ttl: 300s
  hypothesis:
    description: >-
      TODO: what the operator should do when this fault hits {component},
      and what "recovered" looks like.
    recoveryTimeout: 120s
  blastRadius:
    maxPodsAffected: 1
    allowedNamespaces:
      - {namespace}
{dangerous}"""


TO_DO_FIELDS = frozenset({"spec.hypothesis.description", "spec.blastRadius.allowDangerous"})
"""Fields the skeleton leaves for a person to fill in; `validate` refuses it until they do."""


def _kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()


@click.command()
@click.option(
    "--type",
    "injection_type",
    required=True,
    help="Injection type, e.g. PodKill.",
    shell_complete=completion.injection_types,
)
@click.option("--component", required=True, help="Component under test (a DNS-1123 name).")
@click.option("--operator", required=True, help="Operator under test (a DNS-1123 name).")
@click.option("--namespace", help="Namespace of the component [default: the operator name].")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of standard output.",
)
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def init(
    injection_type: str,
    component: str,
    operator: str,
    namespace: str | None,
    output: Path | None,
    force: bool,
) -> None:
    """Write a skeleton experiment for one fault type to fill in.

    `validate` lists what is left to do: the TODO hypothesis and, for high-danger faults, the
    allowDangerous opt-in.
    """
    from operator_chaos.api.v1alpha1 import InjectionType
    from operator_chaos.errors import UsageError
    from operator_chaos.injection.registry import RegistryError
    from operator_chaos.load.errors import LoadError
    from operator_chaos.load.experiments import load_text

    by_lower = {t.value.lower(): t.value for t in InjectionType}
    injection_type = by_lower.get(injection_type.lower(), injection_type)
    try:
        text = skeleton(injection_type, component, operator, namespace or operator)
    except RegistryError as exc:
        raise UsageError(f"--type: {exc}") from None
    target = output or Path("<stdout>")
    to_do: list[str] = []
    try:
        load_text(text, target)
    except LoadError as exc:
        wrong = [p for p in exc.problems if p.field not in TO_DO_FIELDS]
        if wrong:
            fields = "; ".join(f"{p.field}: {p.message}" for p in wrong)
            raise UsageError(f"the options do not make a valid experiment: {fields}") from None
        to_do = sorted({p.field for p in exc.problems})
    if output is None:
        click.echo(text, nl=False)
    else:
        if output.exists() and not force:
            raise UsageError(f"{output} exists; pass --force to overwrite it")
        from operator_chaos.cli.output import write_text

        write_text(output, text)
        click.echo(f"wrote {output}", err=True)
    if to_do:
        click.echo(f"to do before it validates: {', '.join(to_do)}", err=True)
