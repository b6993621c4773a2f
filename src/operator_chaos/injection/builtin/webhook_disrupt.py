"""WebhookDisrupt: change the failure policy of an admission webhook configuration.

Breaks: with ``Ignore`` a broken webhook stops protecting the API (invalid objects get in); with
``Fail`` an unavailable webhook blocks every write it covers. Revert restores each webhook's
original failure policy.
"""

from collections.abc import Sequence
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import PARAMS, LabelSelector, ResourceName

PROTECTED_WEBHOOKS = frozenset(
    {
        "validate-policy.kyverno.io",
        "gatekeeper-validating-webhook-configuration",
        "gatekeeper-mutating-webhook-configuration",
        "cert-manager-webhook",
        "istio-sidecar-injector",
    }
)
PROTECTED_PREFIXES = ("system:", "openshift-")


class WebhookType(StrEnum):
    """Which kind of webhook configuration to look up."""

    VALIDATING = "validating"
    MUTATING = "mutating"


class FailurePolicy(StrEnum):
    """Admission failure policies."""

    FAIL = "Fail"
    IGNORE = "Ignore"


class Params(InjectionParams):
    """The webhook configuration(s) to change and the policy to set."""

    webhook_name: ResourceName | None = Field(
        default=None, description="Name of the webhook configuration (or use webhookLabelSelector)"
    )
    webhook_label_selector: LabelSelector | None = Field(
        default=None, description="Select webhook configurations by label instead of by name"
    )
    webhook_type: WebhookType = Field(
        default=WebhookType.VALIDATING, description="validating or mutating"
    )
    action: Literal["setFailurePolicy"] = Field(
        default="setFailurePolicy", description="What to change; setFailurePolicy is the only one"
    )
    value: FailurePolicy = Field(
        default=FailurePolicy.FAIL, description="Failure policy to set: Fail or Ignore"
    )

    @field_validator("webhook_name", mode="before")
    @classmethod
    def _not_protected(cls, name: object) -> object:
        if isinstance(name, str) and (
            name in PROTECTED_WEBHOOKS or name.startswith(PROTECTED_PREFIXES)
        ):
            raise ValueError(
                f"{name!r} is a platform webhook other workloads rely on; target the operator's own"
            )
        return name

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        if self.webhook_name is None and self.webhook_label_selector is None:
            return [((*PARAMS, "webhookName"), "required: set webhookName or webhookLabelSelector")]
        if self.webhook_name is not None and self.webhook_label_selector is not None:
            return [
                (
                    (*PARAMS, "webhookLabelSelector"),
                    "set either webhookName or webhookLabelSelector, not both",
                )
            ]
        return []


SPEC = TypeSpec(
    injection_type=InjectionType.WEBHOOK_DISRUPT,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Flip an admission webhook's failurePolicy (Fail/Ignore).",
)
