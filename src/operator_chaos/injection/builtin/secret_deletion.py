"""SecretDeletion: delete a Secret the operator depends on (certificates, credentials).

Breaks: the operator or its operand loses credentials or TLS material and must regenerate or
re-request them. Revert recreates the Secret from a backup unless the operator already did.
"""

from collections.abc import Sequence

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType, RecoveryModel
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import PARAMS, NamespaceName, ObjectName, namespace_allowed

PROTECTED = frozenset(
    {"etcd-client", "apiserver-etcd-client", "service-account-key", "oauth-serving-cert"}
)


class Params(InjectionParams):
    """The Secret to delete."""

    name: ObjectName = Field(description="Name of the Secret")
    namespace: NamespaceName | None = Field(
        default=None, description="Namespace of the Secret (default: the target namespace)"
    )

    @field_validator("name")
    @classmethod
    def _not_protected(cls, name: str) -> str:
        if name in PROTECTED or name.startswith("etcd-"):
            raise ValueError(f"{name!r} is a cluster-critical Secret; target the operator's own")
        return name

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        return namespace_allowed(spec, self.namespace, (*PARAMS, "namespace"))


SPEC = TypeSpec(
    injection_type=InjectionType.SECRET_DELETION,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Delete a Secret (kept in a backup) that the operator must regenerate.",
)
