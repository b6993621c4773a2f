"""OwnerRefOrphan: remove an object's ownerReferences so it looks orphaned.

Breaks: garbage collection and owner-based watches no longer tie the object to its parent; the
operator should re-adopt it (or recreate it) instead of leaking it. Revert puts the original
owner references back.
"""

from collections.abc import Sequence

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType, RecoveryModel
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import PARAMS, ApiVersion, Kind, ObjectName, targets_chaos_api

FORBIDDEN_KINDS = frozenset({"Namespace", "Node"})


class Params(InjectionParams):
    """The object to orphan."""

    api_version: ApiVersion
    kind: Kind
    name: ObjectName = Field(description="Name of the owned object")

    @field_validator("kind")
    @classmethod
    def _allowed_kind(cls, kind: str) -> str:
        if kind in FORBIDDEN_KINDS:
            raise ValueError(f"orphaning a {kind} is not allowed; pick an object the operator owns")
        return kind

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        if targets_chaos_api(self.api_version, self.kind):
            return [((*PARAMS, "kind"), "cannot orphan ChaosExperiment objects")]
        return []


SPEC = TypeSpec(
    injection_type=InjectionType.OWNER_REF_ORPHAN,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Strip ownerReferences from an owned object; the operator must re-adopt it.",
)
