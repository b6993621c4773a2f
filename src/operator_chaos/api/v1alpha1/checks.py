"""Steady-state checks: what "healthy" means for the target, evaluated before and after a fault."""

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from operator_chaos.api.v1alpha1.base import ApiModel, DNSName, NamespaceName
from operator_chaos.api.v1alpha1.durations import Duration

MAX_REPLICAS = 2**31 - 1
"""Kubernetes stores replica counts as int32."""


class CheckType(StrEnum):
    """Wire names of the check kinds."""

    CONDITION_TRUE = "conditionTrue"
    RESOURCE_EXISTS = "resourceExists"
    FIELD_EQUALS = "fieldEquals"
    REPLICA_COUNT = "replicaCount"


class _ObjectCheck(ApiModel):
    """Fields every check shares: the object it looks at."""

    api_version: str = Field(min_length=1, description="API version of the checked object")
    kind: str = Field(min_length=1, pattern=r"^[A-Z][A-Za-z0-9]*$")
    name: DNSName
    namespace: NamespaceName | None = None

    def describe(self) -> str:
        """``Kind ns/name`` for messages and reports."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


class ConditionTrueCheck(_ObjectCheck):
    """Passes when ``status.conditions[type=conditionType].status == "True"``."""

    type: Literal[CheckType.CONDITION_TRUE]
    condition_type: str = Field(min_length=1)


class ResourceExistsCheck(_ObjectCheck):
    """Passes when the object exists and is not being deleted."""

    type: Literal[CheckType.RESOURCE_EXISTS]


class FieldEqualsCheck(_ObjectCheck):
    """Passes when the value at ``fieldPath`` (dotted / JSONPath-like) equals ``expectedValue``."""

    type: Literal[CheckType.FIELD_EQUALS]
    field_path: str = Field(min_length=1, description="e.g. spec.replicas or data.KEY")
    expected_value: str | int | float | bool | None


class ReplicaCountCheck(_ObjectCheck):
    """Passes when ``status.readyReplicas`` equals ``expectedReplicas`` (default spec.replicas)."""

    type: Literal[CheckType.REPLICA_COUNT]
    expected_replicas: int | None = Field(default=None, ge=0, le=MAX_REPLICAS)


SteadyStateCheck = Annotated[
    ConditionTrueCheck | ResourceExistsCheck | FieldEqualsCheck | ReplicaCountCheck,
    Field(discriminator="type"),
]


class SteadyStateSpec(ApiModel):
    """The checks that must all pass before injecting and again after recovery."""

    checks: list[SteadyStateCheck] = Field(default_factory=list)
    timeout: Duration = Field(default=timedelta(seconds=60))
