"""Scenario files: "an operator in the sandbox" as a small YAML document.

A scenario names the operator's manifests, how to get its binary, which Deployment's pods it
runs for and with what arguments. It is read with the tool's one hardened YAML reader
(:mod:`operator_chaos.load.yamlmap`) and validated by the pydantic models below, so a mistake
is one ``file:line:column: field: message`` line before anything starts. The format is
documented in ``docs/sandbox.md``; shipped scenarios live in ``scenarios/<name>/scenario.yaml``.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from operator_chaos.errors import UsageError
from operator_chaos.load import yamlmap
from operator_chaos.load.errors import LoadError, Problem
from operator_chaos.load.messages import problems_from

API_VERSION = "sandbox.operatorchaos.io/v1alpha1"
SHIPPED_DIR = Path(__file__).parent / "scenarios"
SCENARIO_FILE = "scenario.yaml"
DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"

# {kubeconfig} {certDir} {namespace} {podName} {sandboxDir} {port:NAME} {volume:NAME}; {{ = {
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z]+)(?::([a-z0-9]([a-z0-9-]*[a-z0-9])?))?\}")
SIMPLE_PLACEHOLDERS = frozenset({"kubeconfig", "certDir", "namespace", "podName", "sandboxDir"})
NAMED_PLACEHOLDERS = frozenset({"port", "volume"})


def _checked(text: str) -> str:
    check_placeholders(text)
    return text


Text = Annotated[str, AfterValidator(_checked)]
"""An argument or environment value: placeholders are checked where they are written."""


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class Metadata(_Model):
    name: str = Field(pattern=DNS_LABEL)


class GoBinary(_Model):
    """Built with ``go build`` from the module proxy into the version cache."""

    module: str = Field(min_length=1, description="the upstream Go module, e.g. sigs.k8s.io/kueue")
    version: str = Field(pattern=r"^v\d", description="its version, e.g. v0.14.0")
    package: str = Field(default=".", description="the main package, relative to the module")
    dir: str | None = Field(
        default=None,
        description="a directory (relative to the scenario file) with go.mod and go.sum to build"
        " in, e.g. a wrapper main package; default: a go.mod requiring module@version, pinned"
        " by the go.sum next to the scenario file",
    )


class Binary(_Model):
    """Exactly one of ``go``, ``path`` or ``python``."""

    go: GoBinary | None = None
    path: str | None = Field(default=None, description="a local executable (relative to the file)")
    python: str | None = Field(
        default=None,
        description="a module (run as python -m MODULE) or a .py file (relative to the file)",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> "Binary":
        given = [k for k in ("go", "path", "python") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of go, path or python"
                + (f" (found {', '.join(given)})" if given else "")
            )
        return self


PlaceholderName = Annotated[str, Field(pattern=DNS_LABEL)]
"""The NAME of a ``{port:NAME}`` or ``{volume:NAME}``."""


class DeploymentRef(_Model):
    name: str = Field(min_length=1)
    namespace: str = Field(pattern=DNS_LABEL)


class Readiness(_Model):
    port: str = Field(pattern=DNS_LABEL, description="a {port:NAME} the operator serves")
    path: str = Field(default="/readyz", pattern=r"^/")
    scheme: Literal["http", "https"] = "http"


class OperatorWebhook(_Model):
    port: str = Field(pattern=DNS_LABEL, description="the {port:NAME} its webhook server uses")


class Operator(_Model):
    """One operator process, run by the agent for each pod of one Deployment."""

    name: str = Field(pattern=DNS_LABEL)
    deployment: DeploymentRef
    container: str = Field(min_length=1)
    binary: Binary
    images: list[str] = Field(min_length=1)
    command: list[str] | None = Field(
        default=None,
        description="the pod-template command that means 'run the binary' (absent = the image's"
        " entrypoint, which is always the binary)",
    )
    args: list[Text] = Field(default_factory=list)
    env: dict[str, Text] = Field(default_factory=dict)
    readiness: Readiness | None = None
    webhook: OperatorWebhook | None = None
    ports: list[PlaceholderName] = Field(
        default_factory=list,
        description="{port:NAME}s that only the manifests name (e.g. listen addresses in the"
        " operator's configuration ConfigMap); those in args and env need no listing",
    )
    volumes: list[PlaceholderName] = Field(
        default_factory=list,
        description="{volume:NAME}s that only the manifests name; projected like the others",
    )

    def port_names(self) -> list[str]:
        """Every ``{port:NAME}`` the operator uses, plus its readiness and webhook ports."""
        found = named_placeholders([*self.args, *self.env.values()], "port")
        extras = [*self.ports, *(e.port for e in (self.readiness, self.webhook) if e is not None)]
        return list(dict.fromkeys([*found, *extras]))

    def volume_names(self) -> list[str]:
        """Every ``{volume:NAME}`` the operator uses."""
        found = named_placeholders([*self.args, *self.env.values()], "volume")
        return list(dict.fromkeys([*found, *self.volumes]))


class Source(_Model):
    """A file or directory relative to the scenario file, or a path in the operator's module."""

    path: str | None = None
    module: str | None = Field(default=None, description="a path inside the Go module's source")
    operator: str | None = Field(
        default=None, description="whose Go module `module` refers to (default: the first)"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> "Source":
        if (self.path is None) == (self.module is None):
            raise ValueError("give exactly one of path or module")
        return self


class WebhookRewire(_Model):
    configuration: str = Field(min_length=1, description="a webhook configuration's name")
    operator: str | None = Field(
        default=None, description="the operator serving it (default: the one with a webhook)"
    )
    mode: Literal["url", "service"] = "url"


class WaitFor(_Model):
    api_version: str
    kind: str
    name: str
    namespace: str | None = None
    condition: str
    timeout: float = Field(default=60, gt=0, le=3600)


class Spec(_Model):
    description: str = ""
    manifests: list[Source] = Field(default_factory=list)
    operators: list[Operator] = Field(min_length=1)
    webhooks: list[WebhookRewire] = Field(default_factory=list)
    after: list[Source] = Field(default_factory=list)
    wait_for: list[WaitFor] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> "Spec":
        names = [op.name for op in self.operators]
        if len(set(names)) != len(names):
            raise ValueError("operators: every operator needs a unique name")
        with_go = [op.name for op in self.operators if op.binary.go is not None]
        for source in [*self.manifests, *self.after]:
            if source.operator is not None and source.operator not in names:
                raise ValueError(f"operator {source.operator!r} is not in operators ({names})")
            if source.module is not None and not with_go:
                raise ValueError(f"{source.module}: `module` needs an operator with a go binary")
        for hook in self.webhooks:
            if hook.operator is not None and hook.operator not in names:
                raise ValueError(f"webhooks: operator {hook.operator!r} is not in operators")
            serving = [op for op in self.operators if op.webhook is not None]
            if hook.operator is None and len(serving) != 1:
                raise ValueError(
                    f"webhooks: {hook.configuration}: set `operator` (operators with a webhook:"
                    f" {[op.name for op in serving]})"
                )
        return self


class ScenarioDoc(_Model):
    api_version: Literal["sandbox.operatorchaos.io/v1alpha1"]
    kind: Literal["Scenario"]
    metadata: Metadata
    spec: Spec


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario and the directory its relative paths start from."""

    doc: ScenarioDoc
    file: Path

    @property
    def name(self) -> str:
        return self.doc.metadata.name

    @property
    def base(self) -> Path:
        return self.file.parent

    def resolve(self, relative: str) -> Path:
        """A path of the file, relative to the scenario file's directory."""
        return (self.base / relative).resolve()

    def webhook_operator(self, hook: WebhookRewire) -> Operator:
        if hook.operator is not None:
            return next(op for op in self.doc.spec.operators if op.name == hook.operator)
        return next(op for op in self.doc.spec.operators if op.webhook is not None)


def check_placeholders(text: str) -> None:
    """Raise ValueError naming the first unknown or malformed placeholder in ``text``."""
    stripped = PLACEHOLDER.sub("", text)
    for match in PLACEHOLDER.finditer(text):
        word, name = match.group(1), match.group(2)
        if word is None:
            continue
        if word in SIMPLE_PLACEHOLDERS and name is None:
            continue
        if word in NAMED_PLACEHOLDERS and name is not None:
            continue
        raise ValueError(f"unknown placeholder {match.group(0)}: {_placeholder_help()}")
    if "{" in stripped or "}" in stripped:
        raise ValueError(
            f"stray brace in {text!r}: write {{{{ or }}}} for a literal brace;"
            f" {_placeholder_help()}"
        )


def _placeholder_help() -> str:
    return (
        "use {kubeconfig}, {certDir}, {namespace}, {podName}, {sandboxDir}, {port:NAME}"
        " or {volume:NAME}"
    )


def named_placeholders(texts: list[str], word: str) -> list[str]:
    found: list[str] = []
    for text in texts:
        for match in PLACEHOLDER.finditer(text):
            if match.group(1) == word and match.group(2) not in found:
                found.append(match.group(2))
    return found


def expand(
    text: str,
    values: Mapping[str, str],
    ports: Mapping[str, int],
    volumes: Mapping[str, str] | None = None,
    unknown: Callable[[str], None] | None = None,
) -> str:
    """Replace placeholders with the pod's values.

    Args and env were checked when the scenario loaded, so every name there is known. Text
    from the cluster (ConfigMap data) was not: with ``unknown``, a placeholder whose name
    the scenario never declared is reported to it and left as it is.
    """

    def one(match: re.Match[str]) -> str:
        whole, word, name = match.group(0), match.group(1), match.group(2)
        if whole in ("{{", "}}"):
            return whole[0]
        known: Mapping[str, object]
        key = name
        if word == "port":
            known = ports
        elif word == "volume":
            known = volumes or {}
        else:
            known, key = values, word
        if key not in known and unknown is not None:
            unknown(whole)
            return whole
        return str(known[key])

    return PLACEHOLDER.sub(one, text)


def shipped() -> dict[str, Path]:
    """Shipped scenario names and their files."""
    return {
        p.parent.name: p
        for p in sorted(SHIPPED_DIR.glob(f"*/{SCENARIO_FILE}"))
        if p.parent.name.replace("-", "").isalnum()
    }


def locate(name_or_path: str) -> Path:
    """The file of a shipped scenario name or a path; a one-line error otherwise."""
    candidate = Path(name_or_path).expanduser()
    looks_like_path = "/" in name_or_path or name_or_path.endswith((".yaml", ".yml"))
    if looks_like_path or candidate.exists():
        if candidate.is_dir():
            candidate = candidate / SCENARIO_FILE
        if not candidate.is_file():
            raise UsageError(f"scenario file {name_or_path}: not found")
        return candidate
    found = shipped()
    if name_or_path in found:
        return found[name_or_path]
    known = ", ".join(found) or "none"
    raise UsageError(
        f"unknown scenario {name_or_path!r}: shipped scenarios are {known}"
        " (or pass the path of a scenario.yaml; `operator-chaos sandbox scenarios` lists them)"
    )


def load(name_or_path: str) -> Scenario:
    """Read and validate a scenario by shipped name or path."""
    path = locate(name_or_path)
    text = yamlmap.read_text(path)
    documents = yamlmap.parse(text, str(path))
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise LoadError(
            [Problem(str(path), 1, 1, "", "expected one YAML mapping (kind: Scenario)")]
        )
    doc = documents[0]
    try:
        model = ScenarioDoc.model_validate(doc.data, by_alias=True)
    except ValidationError as exc:
        raise LoadError(problems_from(exc, doc, doc.data, ScenarioDoc)) from None
    scenario = Scenario(model, path.resolve())
    problems: list[Problem] = []
    at: tuple[str | int, ...]
    for index, op in enumerate(model.spec.operators):
        b = op.binary
        for field, relative in (("path", b.path), ("python", b.python)):
            if relative is None or (field == "python" and not relative.endswith(".py")):
                continue
            if not scenario.resolve(relative).is_file():
                at = ("spec", "operators", index, "binary", field)
                problems.append(doc.problem(at, f"{relative}: no such file next to the scenario"))
        go_dir = b.go.dir if b.go is not None else None
        if go_dir is not None and not (scenario.resolve(go_dir) / "go.mod").is_file():
            at = ("spec", "operators", index, "binary", "go", "dir")
            problems.append(doc.problem(at, f"{go_dir}: no go.mod there"))
    for key in ("manifests", "after"):
        for index, source in enumerate(getattr(model.spec, key)):
            if source.path is not None and not scenario.resolve(source.path).exists():
                at = ("spec", key, index, "path")
                problems.append(doc.problem(at, f"{source.path}: no such file or directory"))
    if problems:
        raise LoadError(problems)
    return scenario
