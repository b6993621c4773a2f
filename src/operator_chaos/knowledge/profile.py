"""Profiles and upgrade playbooks: the files that tie knowledge and experiments to a distribution.

A *profile* (``profiles/<name>/profile.yaml``) names a distribution of an operator family (ODH,
RHOAI, cert-manager...) and gives, per component, the values experiments are written against:
namespace, Deployment, label selector, webhook, lease... Its keys are snake_case because that
is how the Go reference's profile files are written. A profile *pack* is the directory that
holds it, optionally with ``knowledge/`` and ``experiments/`` subdirectories.

An *upgrade playbook* (``kind: UpgradePlaybook``) describes moving a distribution from one
version to the next: source and target knowledge directories, OLM channel hops, and steps
(checks, commands, manual gates, chaos experiments to run afterwards).

Models live here; finding and loading what they reference lives in
:mod:`operator_chaos.knowledge.packs`.
"""

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from operator_chaos.api.v1alpha1.base import ApiModel, DNSName, NamespaceName
from operator_chaos.api.v1alpha1.durations import Duration
from operator_chaos.knowledge.model import APIVersion, QuotedText, WebhookType

PLAYBOOK_KIND = "UpgradePlaybook"

_WEBHOOK_KINDS = {
    WebhookType.VALIDATING: "ValidatingWebhookConfiguration",
    WebhookType.MUTATING: "MutatingWebhookConfiguration",
}


class _SnakeModel(BaseModel):
    """Profile files use snake_case keys; unknown keys are refused like everywhere else."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Platform(StrEnum):
    """Where the distribution runs (decides e.g. whether Routes exist)."""

    KUBERNETES = "kubernetes"
    OPENSHIFT = "openshift"


class ProfileComponent(_SnakeModel):
    """The concrete names one component has in this distribution."""

    namespace: NamespaceName | None = None
    deployment: DNSName | None = None
    component_name: DNSName | None = None
    label_selector: str | None = Field(default=None, min_length=1)
    cluster_role_binding: str | None = Field(default=None, min_length=1)
    webhook_name: DNSName | None = None
    webhook_type: WebhookType | None = None
    webhook_resource_kind: (
        Literal["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"] | None
    ) = None
    webhook_cert_secret: DNSName | None = None
    lease_name: DNSName | None = None
    route_name: DNSName | None = None
    route_namespace: NamespaceName | None = None
    config_map_name: DNSName | None = None
    config_map_key: str | None = Field(default=None, pattern=r"^[-._a-zA-Z0-9]+$")

    @model_validator(mode="after")
    def _webhook_kind_matches_type(self) -> Self:
        if self.webhook_type and self.webhook_resource_kind:
            expected = _WEBHOOK_KINDS[self.webhook_type]
            if self.webhook_resource_kind != expected:
                raise ValueError(
                    f"webhook_resource_kind {self.webhook_resource_kind} does not match"
                    f" webhook_type {self.webhook_type.value}: use {expected}"
                )
        return self


ComponentKey = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]


class Profile(_SnakeModel):
    """``profile.yaml``: a distribution and its per-component names."""

    name: ComponentKey
    description: str | None = Field(default=None, min_length=1)
    version: QuotedText | None = None
    platform: Platform | None = None
    components: dict[ComponentKey, ProfileComponent] = Field(min_length=1)

    def variables(self, key: str) -> dict[str, str]:
        """Template variables of one component (``NAMESPACE``, ``DEPLOYMENT``...) that are set."""
        comp = self.components[key]
        out = {
            "OPERATOR": self.name,
            "COMPONENT": key,
            "COMPONENT_NAME": comp.component_name or key,
        }
        for field, value in comp.model_dump(exclude_none=True).items():
            if field != "component_name":
                out[field.upper()] = str(value)
        return out


class PlaybookMetadata(ApiModel):
    """Name and purpose of a playbook."""

    name: DNSName
    description: str | None = Field(default=None, min_length=1)


class VersionRef(ApiModel):
    """One end of an upgrade: a version and the knowledge directory describing it."""

    knowledge_dir: str = Field(min_length=1, description="relative to the project root")
    version: QuotedText


class Hop(ApiModel):
    """One OLM channel to move through, and how long the move may take."""

    channel: str = Field(min_length=1)
    max_wait: Duration = Field(default=timedelta(minutes=20), gt=timedelta(0))


class UpgradePath(ApiModel):
    """The OLM operator being upgraded and the channels on the way."""

    operator: DNSName
    namespace: NamespaceName
    hops: list[Hop] = Field(min_length=1)


class ResourceVerify(ApiModel):
    """A post-step check that objects matching a selector exist."""

    type: Literal["resourceExists"]
    api_version: APIVersion
    kind: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$")
    namespace: NamespaceName | None = None
    label_selector: str | None = Field(default=None, min_length=1)


class _Step(ApiModel):
    name: DNSName


class ValidateVersionStep(_Step):
    """Check the cluster runs the version the playbook expects at this point."""

    type: Literal["validate-version"]


class KubectlStep(_Step):
    """Run shell commands, then optionally verify a resource exists."""

    type: Literal["kubectl"]
    commands: list[str] = Field(min_length=1)
    verify: ResourceVerify | None = None


class ManualStep(_Step):
    """Stop until a human confirms; ``autoCheck`` may confirm automatically."""

    type: Literal["manual"]
    description: str = Field(min_length=1)
    auto_check: str | None = Field(default=None, min_length=1)


class OlmStep(_Step):
    """Walk the OLM channel hops of ``upgrade.path``."""

    type: Literal["olm"]


class ChaosStep(_Step):
    """Run experiments (paths relative to the project root)."""

    type: Literal["chaos"]
    experiments: list[str] = Field(min_length=1)
    knowledge: str | None = Field(default=None, min_length=1)


PlaybookStep = Annotated[
    ValidateVersionStep | KubectlStep | ManualStep | OlmStep | ChaosStep,
    Field(discriminator="type"),
]


class UpgradeSpec(ApiModel):
    """Source, target, path and steps of an upgrade."""

    source: VersionRef
    target: VersionRef
    path: UpgradePath
    steps: list[PlaybookStep] = Field(min_length=1)


class UpgradePlaybook(ApiModel):
    """``kind: UpgradePlaybook``."""

    api_version: Literal["chaos.operatorchaos.io/v1alpha1"]
    kind: Literal["UpgradePlaybook"]
    metadata: PlaybookMetadata
    upgrade: UpgradeSpec
