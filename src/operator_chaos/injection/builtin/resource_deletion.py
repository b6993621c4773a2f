"""ResourceDeletion: delete one namespaced object the operator owns (a Service, a ConfigMap...).

Breaks: a dependent object vanishes and the operator must recreate it from its desired state.
Revert recreates the object from a backup unless the operator already did.
"""

from collections.abc import Sequence

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType, RecoveryModel
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import (
    PARAMS,
    ApiVersion,
    Kind,
    NamespaceName,
    ObjectName,
    namespace_allowed,
    targets_chaos_api,
)

FORBIDDEN_KINDS = frozenset({"Namespace", "Node", "CustomResourceDefinition", "PersistentVolume"})


class Params(InjectionParams):
    """The object to delete."""

    api_version: ApiVersion
    kind: Kind
    name: ObjectName = Field(description="Name of the object to delete")
    namespace: NamespaceName | None = Field(
        default=None, description="Namespace of the object (default: the target namespace)"
    )

    @field_validator("kind")
    @classmethod
    def _allowed_kind(cls, kind: str) -> str:
        if kind in FORBIDDEN_KINDS:
            raise ValueError(f"deleting a {kind} is out of scope; use a namespaced object")
        return kind

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        problems = namespace_allowed(spec, self.namespace, (*PARAMS, "namespace"))
        if targets_chaos_api(self.api_version, self.kind):
            problems.append(((*PARAMS, "kind"), "cannot delete ChaosExperiment objects"))
        return problems


SPEC = TypeSpec(
    injection_type=InjectionType.RESOURCE_DELETION,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Delete one owned object (kept in a backup); the operator must recreate it.",
)
