"""Options and helpers shared by the commands that talk to a cluster."""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from operator_chaos.errors import OperatorChaosError
from operator_chaos.exitcodes import ExitStatus

if TYPE_CHECKING:
    from operator_chaos.api.v1alpha1 import ExperimentResult, InjectionOutcome, Verdict
    from operator_chaos.knowledge.model import OperatorKnowledge
    from operator_chaos.kube.client import LightkubeClient
    from operator_chaos.kube.config import LocalCluster
    from operator_chaos.load.experiments import LoadedExperiment
    from operator_chaos.orchestrator.lifecycle import RunOutcome

F = TypeVar("F", bound=Callable[..., Any])


class InvalidInput(OperatorChaosError):
    """A command-line value names something that does not exist (e.g. a kubeconfig context)."""

    exit_status = ExitStatus.INVALID


def cluster_options(func: F) -> F:
    """``--kubeconfig``, ``--context`` and ``--ledger-namespace``."""
    return _cluster_options(func, ("--ledger-namespace", "ledger_namespace"))


def ledger_cluster_options(func: F) -> F:
    """The same for commands whose objects *are* the ledgers or results (``clean``,
    ``results``): there ``-n/--namespace`` names their namespace, as kubectl's ``-n`` names
    the namespace of the objects a command works on."""
    return _cluster_options(func, ("--ledger-namespace", "-n", "--namespace", "ledger_namespace"))


def namespace_option(func: F) -> F:
    """``-n/--namespace`` of ``run``, ``suite`` and ``preflight``: where the faults act."""
    return click.option(
        "-n",
        "--namespace",
        default=None,
        callback=_namespace_value,
        help="Namespace the faults act in, for experiments that do not name one in"
        " metadata.namespace (as kubectl -n does for manifests without a namespace); an"
        " experiment that names another namespace is refused. The blast radius must still"
        " allow it; a fault parameter that names a namespace keeps it.",
    )(func)


def _namespace_value(_: click.Context, __: click.Parameter, value: str | None) -> str | None:
    from operator_chaos.api.v1alpha1.names import is_dns_subdomain

    if value is not None and (len(value) > 63 or not is_dns_subdomain(value) or "." in value):
        raise click.BadParameter(f"{value!r} is not a valid namespace name (a DNS-1123 label)")
    return value


def in_namespace(
    items: list["LoadedExperiment"], namespace: str | None
) -> list["LoadedExperiment"]:
    """The experiments with ``-n`` applied: set where absent, refused where it differs."""
    import dataclasses

    if namespace is None:
        return items
    clashes = [
        f"{i.path} ({i.experiment.metadata.name}: {i.experiment.metadata.namespace})"
        for i in items
        if i.experiment.metadata.namespace not in (None, "", namespace)
    ]
    if clashes:
        raise InvalidInput(
            f"--namespace {namespace}: these experiments name another namespace in"
            f" metadata.namespace: {', '.join(clashes)}; drop -n or use their namespace"
        )
    placed = []
    for item in items:
        exp = item.experiment
        meta = exp.metadata.model_copy(update={"namespace": namespace})
        placed.append(
            dataclasses.replace(item, experiment=exp.model_copy(update={"metadata": meta}))
        )
    return placed


def _cluster_options(func: F, ledger: tuple[str, ...]) -> F:
    func = click.option(
        *ledger,
        default="operator-chaos",
        show_default=True,
        help="Namespace where the tool keeps rollback ledgers, leases and results.",
    )(func)
    func = click.option("--context", default=None, help="Kubeconfig context to use.")(func)
    func = click.option(
        "--kubeconfig",
        type=click.Path(dir_okay=False),
        default=None,
        help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster, else a running"
        " local sandbox).",
    )(func)
    return func


def connect(kubeconfig: str | None, context: str | None) -> "LightkubeClient":
    """Open the cluster the user means; a running sandbox only when it is the only one."""
    from operator_chaos.kube import client, config

    check_context(kubeconfig, context)
    return client.LightkubeClient(config.resolve(kubeconfig, context, sandboxes=running_sandboxes))


def running_sandboxes() -> list["LocalCluster"]:
    """Sandboxes with a state file, an admin kubeconfig and a live kube-apiserver process."""
    from operator_chaos.kube.config import LocalCluster
    from operator_chaos.sandbox import processes, versions
    from operator_chaos.sandbox.cluster import Sandbox

    root = versions.sandboxes_dir()
    found = []
    for directory in sorted(root.iterdir()) if root.is_dir() else []:
        box = Sandbox(directory.name, root)
        apiserver = processes.read(box.pids_dir / "kube-apiserver.pid")
        alive = apiserver is not None and apiserver.alive()
        if alive and box.state() is not None and box.kubeconfig.is_file():
            found.append(LocalCluster(box.name, box.kubeconfig))
    return found


def check_context(kubeconfig: str | None, context: str | None) -> None:
    """A ``--context`` the kubeconfig lacks is a typo (invalid input), not an unreachable
    cluster: say so in one line that lists the contexts there are."""
    if context is None:
        return
    from operator_chaos.kube.config import context_names

    found = context_names(kubeconfig)  # an unreadable kubeconfig stays a ConfigError
    if found is None:
        raise InvalidInput(
            f"--context {context}: no kubeconfig to choose it from"
            " (pass --kubeconfig or set KUBECONFIG)"
        )
    source, names = found
    if context not in names:
        available = ", ".join(sorted(names)) or "none"
        raise InvalidInput(
            f"--context {context}: no such context in {source}; available: {available}"
        )


def load_experiments(
    paths: tuple[str, ...], overrides: tuple[str, ...] = ()
) -> list["LoadedExperiment"]:
    """Load every experiment in the given files/directories (all problems, then one error)."""
    from operator_chaos.load import sources
    from operator_chaos.load.errors import LoadError, Problem
    from operator_chaos.load.experiments import load_file

    loaded: list[LoadedExperiment] = []
    problems: list[Problem] = []
    for path in sources.expand([Path(p) for p in paths]):
        try:
            loaded += load_file(path, overrides)
        except LoadError as exc:
            problems += exc.problems
    if problems:
        raise LoadError(problems)
    if not loaded:
        raise click.UsageError("no experiments found in " + ", ".join(paths))
    return loaded


def find_knowledge(loaded: "LoadedExperiment", explicit: str | None) -> "OperatorKnowledge | None":
    """``--knowledge`` if given, else ``knowledge/<operator>.yaml`` found above the file."""
    from operator_chaos.knowledge import loader

    if explicit:
        return loader.load_file(Path(explicit)).model
    operator = loaded.experiment.spec.target.operator
    for parent in list(loaded.path.resolve().parents)[:4]:
        candidate = parent / "knowledge" / f"{operator}.yaml"
        if candidate.is_file():
            return loader.load_file(candidate).model
    return None


def report_results(
    outcomes: list["RunOutcome"],
    ran: list["LoadedExperiment"],
    skipped: list["LoadedExperiment"],
    max_tier: int | None,
) -> list["ExperimentResult"]:
    """The results to report: refusals marked "refused" (no verdict: they say nothing about
    the operator), then the experiments ``--max-tier`` left out, marked "skipped". Both name
    the fault type they would have injected (nothing was injected: no targets, no times)."""
    from datetime import UTC, datetime

    from operator_chaos.api.v1alpha1 import ExperimentEvent, ExperimentResult, Phase
    from operator_chaos.report._common import REFUSED_EVENT, SKIPPED_EVENT

    by_source = {(str(i.path), i.experiment.metadata.name): i for i in ran}
    results = []
    for outcome in outcomes:
        result = outcome.result
        error = outcome.error
        if error is not None and error.exit_status in _REFUSALS and not outcome.interrupted:
            event = ExperimentEvent(
                timestamp=result.ended_at or result.started_at,
                phase=result.phase,
                action=REFUSED_EVENT,
                message=str(error),
            )
            update: dict[str, Any] = {"verdict": None, "events": [*result.events, event]}
            item = by_source.get((result.file, result.experiment))
            if result.injection is None and item is not None:
                update["injection"] = _intended(item)
            result = result.model_copy(update=update)
        results.append(result)
    now = datetime.now(UTC)
    for item in skipped:
        spec = item.experiment.spec
        why = f"tier {spec.tier} is above --max-tier {max_tier}"
        results.append(
            ExperimentResult(
                run_id="",
                experiment=item.experiment.metadata.name,
                file=str(item.path),
                operator=spec.target.operator,
                component=spec.target.component,
                tier=spec.tier,
                hypothesis=" ".join(spec.hypothesis.description.split()),
                message=f"skipped: {why}",
                started_at=now,
                ended_at=now,
                injection=_intended(item),
                events=[
                    ExperimentEvent(
                        timestamp=now,
                        phase=Phase.PENDING,
                        action=SKIPPED_EVENT,
                        message=why,
                    )
                ],
            )
        )
    return results


def _intended(item: "LoadedExperiment") -> "InjectionOutcome":
    """The fault an experiment would inject: its type and danger, nothing injected."""
    from operator_chaos.api.v1alpha1 import InjectionOutcome
    from operator_chaos.injection.registry import effective_danger

    spec = item.experiment.spec
    return InjectionOutcome(type=spec.injection.type, danger=effective_danger(spec))


_REFUSALS = frozenset({ExitStatus.UNSAFE, ExitStatus.LOCKED, ExitStatus.NOT_APPLICABLE})
_VERDICT_EXIT = {
    "Resilient": ExitStatus.OK,
    "Degraded": ExitStatus.DEGRADED,
    "Failed": ExitStatus.FAILED,
    "Inconclusive": ExitStatus.INCONCLUSIVE,
}
_SEVERITY = [
    ExitStatus.REVERT_FAILED,
    ExitStatus.INTERRUPTED,
    ExitStatus.UNREACHABLE,
    ExitStatus.LOCKED,
    ExitStatus.UNSAFE,
    ExitStatus.NOT_APPLICABLE,
    ExitStatus.ERROR,
    ExitStatus.INVALID,
    ExitStatus.USAGE,
    ExitStatus.FAILED,
    ExitStatus.INCONCLUSIVE,
    ExitStatus.DEGRADED,
    ExitStatus.OK,
]


def exit_status(outcomes: list["RunOutcome"], dry_run: bool) -> ExitStatus:
    """The most severe status of all outcomes."""
    statuses = []
    for outcome in outcomes:
        if outcome.interrupted:
            statuses.append(ExitStatus.INTERRUPTED)
        elif outcome.error is not None:
            statuses.append(outcome.error.exit_status)
        elif dry_run:
            statuses.append(ExitStatus.OK)
        else:
            verdict: Verdict | None = outcome.result.verdict
            statuses.append(_VERDICT_EXIT.get(verdict.value if verdict else "", ExitStatus.ERROR))
    return min(statuses, key=_rank, default=ExitStatus.OK)


def _rank(status: ExitStatus) -> int:
    """Lower is more severe (every ExitStatus member is listed; a test keeps it so)."""
    return _SEVERITY.index(status)
