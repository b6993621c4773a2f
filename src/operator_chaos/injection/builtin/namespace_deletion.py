"""NamespaceDeletion: delete a whole namespace the operator manages.

Breaks: everything in the namespace goes at once; the operator must notice and rebuild its
managed namespace and its contents. Revert recreates the namespace from its saved manifest; the
operator is expected to repopulate it.
"""

from collections.abc import Sequence

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType, RecoveryModel
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import PARAMS, NamespaceName, namespace_allowed

PROTECTED = frozenset(
    {"default", "kube-system", "kube-public", "kube-node-lease", "operator-chaos-system"}
)
PROTECTED_PREFIXES = ("openshift-", "chaos-", "kube-")


class Params(InjectionParams):
    """The namespace to delete."""

    namespace: NamespaceName = Field(description="Namespace to delete")

    @field_validator("namespace")
    @classmethod
    def _not_protected(cls, namespace: str) -> str:
        if namespace in PROTECTED or namespace.startswith(PROTECTED_PREFIXES):
            raise ValueError(f"{namespace!r} is a protected namespace and cannot be deleted")
        return namespace

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        return namespace_allowed(spec, self.namespace, (*PARAMS, "namespace"))


SPEC = TypeSpec(
    injection_type=InjectionType.NAMESPACE_DELETION,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Delete a namespace the operator manages; it must be rebuilt.",
)
