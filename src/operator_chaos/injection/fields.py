"""Parameter field types and rules shared by the built-in injection types.

Each type's ``Params`` model composes these so that the same mistake (a bad selector, an
uppercase object name, a target owned by the chaos framework itself) gets the same message
whichever fault it appears in.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from operator_chaos.api.v1alpha1 import DangerLevel, names
from operator_chaos.api.v1alpha1.names import DNSName as _DNSName
from operator_chaos.api.v1alpha1.names import NamespaceName as _NamespaceName
from operator_chaos.injection.base import FieldPath
from operator_chaos.injection.labels import (
    Operator,
    parse_selector,
)

if TYPE_CHECKING:
    from operator_chaos.api.v1alpha1 import ExperimentSpec

CHAOS_GROUP = "chaos.operatorchaos.io"
CHAOS_MANAGED_PREFIXES = (
    "chaos-rollback-",
    "chaos-result-",
    "operator-chaos-",
    "chaos-controller-",
)
MAX_VALUE_BYTES = 64 * 1024
_CORE_EXTRA_GROUPS = frozenset({"route.openshift.io"})
_RESOURCE_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class WireType:
    """How a parameter's type is named in ``operator-chaos types`` and the docs."""

    name: str


def _not_chaos_managed(value: str) -> str:
    for prefix in CHAOS_MANAGED_PREFIXES:
        if value.startswith(prefix):
            raise ValueError(
                f"{value!r} is reserved for the chaos framework's own objects (prefix {prefix!r});"
                " target an object of the operator under test"
            )
    return value


def _resource_name(value: str) -> str:
    if len(value) > 253 or not _RESOURCE_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid object name: use letters, digits, '-' and '.',"
            " starting and ending with a letter or digit (max 253 characters)"
        )
    return value


def _selector(*, positive: bool, structured: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        requirements = parse_selector(value)
        if positive and not any(r.operator.positive for r in requirements):
            raise ValueError(
                f"label selector {value!r} only excludes labels, so it would match almost every"
                " pod; add a requirement such as app=my-operator"
            )
        if structured:
            for requirement in requirements:
                if requirement.operator in {Operator.GREATER_THAN, Operator.LESS_THAN}:
                    raise ValueError(
                        f"label selector {value!r}: '{requirement.operator}' cannot be expressed"
                        " in a Kubernetes LabelSelector; use =, !=, in or notin"
                    )
        return value

    return check


DNSName = Annotated[_DNSName, WireType("name")]
NamespaceName = Annotated[_NamespaceName, WireType("namespace")]

_SELECTOR_SCHEMA = WithJsonSchema(
    {"type": "string", "minLength": 1, "description": "label selector, e.g. app=x,tier!=db"}
)

ObjectName = Annotated[DNSName, AfterValidator(_not_chaos_managed), WireType("name")]
"""A DNS-1123 object name that is not one of the framework's own objects."""

ResourceName = Annotated[
    str,
    AfterValidator(_resource_name),
    AfterValidator(_not_chaos_managed),
    Field(max_length=253),
    WireType("name"),
]
"""A cluster-scoped name that may contain uppercase letters (OLM-generated binding names)."""

LabelSelector = Annotated[
    str,
    AfterValidator(_selector(positive=True, structured=False)),
    _SELECTOR_SCHEMA,
    WireType("selector"),
]
"""A selector string with at least one requirement that narrows the selection."""

PodSelector = Annotated[
    str,
    AfterValidator(_selector(positive=True, structured=True)),
    _SELECTOR_SCHEMA,
    WireType("selector"),
]
"""A selector that must also fit a Kubernetes LabelSelector (NetworkPolicy, PDB)."""

LabelKey = Annotated[names.QualifiedName, WireType("label key")]
LabelValue = Annotated[names.LabelValue, WireType("label value")]
ApiVersion = Annotated[
    names.ApiVersion, Field(description="API version of the target, e.g. apps/v1 or v1")
]
Kind = Annotated[names.Kind, Field(description="Kind of the target, e.g. Deployment")]


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


CommaList = Annotated[
    list[str],
    BeforeValidator(_split_list),
    Field(min_length=1),
    WithJsonSchema({"type": "string", "minLength": 1, "description": "comma-separated list"}),
    WireType("list (comma-separated)"),
]
"""A list written as one comma-separated string, as the Go parameter map requires."""


def is_core_api(api_version: str) -> bool:
    """Whether ``api_version`` belongs to Kubernetes itself (or OpenShift routing), not a CRD."""
    if "/" not in api_version:
        return True
    group = api_version.split("/", 1)[0]
    return "." not in group or group.endswith(".k8s.io") or group in _CORE_EXTRA_GROUPS


def targets_chaos_api(api_version: str, kind: str) -> bool:
    """Whether the target is one of our own experiments (self-sabotage)."""
    return kind == "ChaosExperiment" and (not api_version or CHAOS_GROUP in api_version)


def needs_high(spec: "ExperimentSpec", path: FieldPath, why: str) -> list[tuple[FieldPath, str]]:
    """A problem unless the experiment declares ``dangerLevel: high`` (escalating faults)."""
    if spec.injection.danger_level == DangerLevel.HIGH:
        return []
    return [(path, f"{why}: set injection.dangerLevel: high (and blastRadius.allowDangerous)")]


def namespace_allowed(
    spec: "ExperimentSpec", namespace: str | None, path: FieldPath
) -> list[tuple[FieldPath, str]]:
    """A problem when a parameter names a namespace that the blast radius does not allow."""
    allowed = spec.blast_radius.allowed_namespaces
    if namespace is None or not allowed or namespace in allowed:
        return []
    return [
        (
            path,
            f"namespace {namespace!r} is not in blastRadius.allowedNamespaces"
            f" ({', '.join(allowed)}); add it there or target an allowed namespace",
        )
    ]


PARAMS: FieldPath = ("injection", "parameters")
"""Where parameters sit, relative to the spec (``cross_check`` paths start from the spec)."""
