"""Operator knowledge: what an operator manages and how it is expected to recover.

A knowledge file describes one operator: its components (controllers), the Kubernetes objects
each component owns, its webhooks and finalizers, the components it depends on, what "healthy"
means (the same steady-state checks experiments use) and how long reconciliation may take.
Experiments point at components by name; documentation and safety checks read the rest.

The wire format is the one the Go reference reads (camelCase, unknown fields refused). The
field set was taken from every knowledge file of its public corpus, so all of them load.
Rules that need more than one field (unique names, known kinds, the dependency graph) live in
:mod:`operator_chaos.knowledge.loader`, where problems can be located in the YAML.
"""

from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, JsonValue, Strict

from operator_chaos.api.v1alpha1 import names
from operator_chaos.api.v1alpha1.base import ApiModel, DNSName, NamespaceName
from operator_chaos.api.v1alpha1.checks import SteadyStateSpec
from operator_chaos.api.v1alpha1.durations import Duration


def _quoted_text(value: object) -> object:
    # YAML reads `version: 2.10` as the float 2.1; refuse instead of silently storing "2.1".
    if isinstance(value, bool | int | float):
        raise ValueError(f"must be a quoted string: YAML read this as the number {value!r}")
    return value


QuotedText = Annotated[str, BeforeValidator(_quoted_text), Field(min_length=1)]
"""A non-empty string that YAML must not have turned into a number."""


def _webhook_path(value: str) -> str:
    if not value.startswith("/") or any(ch.isspace() for ch in value):
        raise ValueError(f"{value!r} is not a URL path: it must start with '/' and hold no spaces")
    return value


APIVersion = names.ApiVersion
QualifiedName = names.QualifiedName
LabelValue = names.LabelValue
WebhookPath = Annotated[str, AfterValidator(_webhook_path)]
PositiveInt = Annotated[int, Strict(), Field(ge=1)]


class OperatorMeta(ApiModel):
    """Who the operator is and where it runs."""

    name: DNSName
    namespace: NamespaceName
    repository: str | None = Field(default=None, min_length=1)
    version: QuotedText | None = None
    platform: str | None = Field(
        default=None, min_length=1, description="distribution the file describes, e.g. odh"
    )
    olm_channel: str | None = Field(default=None, min_length=1)


class ManagedResource(ApiModel):
    """One Kubernetes object a component creates and keeps in shape."""

    api_version: APIVersion
    kind: str = Field(min_length=1)  # checked against the served kinds by the loader
    name: str = Field(min_length=1, max_length=253, pattern=r"^[^/\s]+$")
    namespace: NamespaceName | None = None
    labels: dict[QualifiedName, LabelValue] = Field(default_factory=dict)
    owner_ref: str | None = Field(
        default=None, min_length=1, description="the owning object, e.g. DataScienceCluster/default"
    )
    expected_spec: dict[str, JsonValue] = Field(
        default_factory=dict, description="spec fields the operator must restore, e.g. replicas"
    )

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """(apiVersion, kind, namespace, name): unique per component."""
        return (self.api_version, self.kind, self.namespace or "", self.name)

    def describe(self) -> str:
        """``Kind ns/name`` for messages and documentation."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


class WebhookType(StrEnum):
    """Admission webhook flavours."""

    VALIDATING = "validating"
    MUTATING = "mutating"


class Webhook(ApiModel):
    """An admission webhook the component serves."""

    name: DNSName
    type: WebhookType
    path: WebhookPath


class Component(ApiModel):
    """One controller of the operator and everything it owns."""

    name: DNSName
    controller: str = Field(
        min_length=1, description="what deploys/reconciles it: a CR kind, OLM, Helm..."
    )
    managed_resources: list[ManagedResource] = Field(min_length=1)
    dependencies: list[DNSName] = Field(
        default_factory=list, description="components (or operators) that must be up first"
    )
    steady_state: SteadyStateSpec = Field(default_factory=SteadyStateSpec)
    webhooks: list[Webhook] = Field(default_factory=list)
    finalizers: list[QualifiedName] = Field(default_factory=list)

    def resources_of_kind(self, kind: str) -> list[ManagedResource]:
        """Managed resources of one kind, in file order."""
        return [r for r in self.managed_resources if r.kind == kind]


class RecoveryExpectations(ApiModel):
    """How long the operator may take to put things back, and how many reconciles it may use."""

    reconcile_timeout: Duration = Field(gt=timedelta(0))
    max_reconcile_cycles: PositiveInt


class OperatorKnowledge(ApiModel):
    """The whole knowledge file."""

    operator: OperatorMeta
    components: list[Component] = Field(min_length=1)
    recovery: RecoveryExpectations

    def component(self, name: str) -> Component | None:
        """The component called ``name``, if any."""
        return next((c for c in self.components if c.name == name), None)

    @property
    def component_names(self) -> list[str]:
        """Component names in file order."""
        return [c.name for c in self.components]
