"""QuotaExhaustion: create a ResourceQuota so tight that nothing new fits in the namespace.

Breaks: pod (re)creation and other object creates are refused by admission, so rollouts and
restarts stall while existing pods keep running. Revert deletes the quota.
"""

import re
from collections.abc import Sequence
from typing import Annotated

from pydantic import AfterValidator, Field

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType, RecoveryModel
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import PARAMS, ObjectName, WireType

_QUANTITY = re.compile(r"^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$")


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(
            f"{value!r} is not a non-negative Kubernetes quantity such as 0, 100m, 1Mi or 2Gi"
        )
    return value


Quantity = Annotated[str, AfterValidator(_quantity), WireType("quantity")]
LIMITS = ("cpu", "memory", "pods", "services", "configmaps", "secrets")


class Params(InjectionParams):
    """The quota's name and its (deliberately tiny) hard limits."""

    quota_name: ObjectName = Field(description="Name of the ResourceQuota to create")
    cpu: Quantity | None = Field(default=None, description="Hard limit for requests.cpu, e.g. 0")
    memory: Quantity | None = Field(default=None, description="Hard limit for requests.memory")
    pods: int | None = Field(default=None, ge=0, description="Maximum number of pods")
    services: int | None = Field(default=None, ge=0, description="Maximum number of Services")
    configmaps: int | None = Field(default=None, ge=0, description="Maximum number of ConfigMaps")
    secrets: int | None = Field(default=None, ge=0, description="Maximum number of Secrets")

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        if all(getattr(self, limit) is None for limit in LIMITS):
            return [
                (
                    (*PARAMS, "quotaName"),
                    f"the quota limits nothing: set at least one of {', '.join(LIMITS)}",
                )
            ]
        return []


SPEC = TypeSpec(
    injection_type=InjectionType.QUOTA_EXHAUSTION,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Apply a ResourceQuota with near-zero limits so new pods and objects are refused.",
)
