"""RBACRevoke: strip the subjects from the operator's (Cluster)RoleBinding.

Breaks: the operator's service account loses its permissions, so every API call it makes is
forbidden until the binding is restored. Revert writes the original subjects back.
"""

from collections.abc import Sequence
from enum import StrEnum

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import PARAMS, NamespaceName, ResourceName, namespace_allowed

PROTECTED_BINDINGS = frozenset({"cluster-admin"})


class BindingType(StrEnum):
    """The two kinds of RBAC binding."""

    CLUSTER_ROLE_BINDING = "ClusterRoleBinding"
    ROLE_BINDING = "RoleBinding"


class Params(InjectionParams):
    """The binding whose subjects are removed."""

    binding_name: ResourceName = Field(description="Name of the binding to revoke")
    binding_type: BindingType = Field(description="ClusterRoleBinding or RoleBinding")
    namespace: NamespaceName | None = Field(
        default=None,
        description="Namespace of a RoleBinding (default: the only allowed namespace)",
    )

    @field_validator("binding_name", mode="before")
    @classmethod
    def _not_system(cls, name: object) -> object:
        if isinstance(name, str) and (name.startswith("system:") or name in PROTECTED_BINDINGS):
            raise ValueError(
                f"{name!r} is a system binding the cluster depends on; revoke the operator's own"
            )
        return name

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        path: FieldPath = (*PARAMS, "namespace")
        if self.binding_type is BindingType.CLUSTER_ROLE_BINDING:
            if self.namespace is not None:
                return [(path, "a ClusterRoleBinding has no namespace; remove namespace")]
            return []
        if self.namespace is None and len(spec.blast_radius.allowed_namespaces) != 1:
            return [
                (
                    path,
                    "a RoleBinding needs its namespace: set namespace, or list exactly one"
                    " namespace in blastRadius.allowedNamespaces",
                )
            ]
        return namespace_allowed(spec, self.namespace, path)


SPEC = TypeSpec(
    injection_type=InjectionType.RBAC_REVOKE,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Remove the subjects of a (Cluster)RoleBinding so the operator loses its permissions.",
)
