"""SecretDeletion: delete a Secret the operator depends on (certificates, credentials).

Breaks: the operator or its operand loses credentials or TLS material and must regenerate or
re-request them. Revert recreates the Secret from a backup unless the operator already did
(:mod:`operator_chaos.injection.backup`). The backup holds the Secret's data, so its rollback
record lives in the run's Secret ledger, never in a ConfigMap; no value is ever printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType, RecoveryModel
from operator_chaos.injection import backup, targets
from operator_chaos.injection.base import Access, FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import PARAMS, NamespaceName, ObjectName, namespace_allowed
from operator_chaos.injection.protocol import Injector, Plan, Scope
from operator_chaos.kube.port import KubeClient, ResourceRef
from operator_chaos.safety import policy

if TYPE_CHECKING:
    pass

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
    instantaneous=True,
    record=backup.Backup,
    access=(
        Access(("delete",), why="the deletion"),
        Access(("create",), why="the revert recreates the Secret from its backup"),
    ),
    example=lambda component, namespace: {"name": f"{component}-tls"},
)


class SecretDeletion(backup.DeletionFault[Params]):
    """Deletes the named Secret after backing it up; revert recreates it unless it is back."""

    spec = SPEC

    async def plan(self, kube: KubeClient, params: Params, scope: Scope) -> Plan[backup.Planned]:
        namespace = targets.need_namespace(scope, "SecretDeletion")
        ref = ResourceRef("v1", "Secret", params.name, namespace)
        obj = await kube.get_or_none(ref)
        if obj is None:
            raise targets.InjectionRefused(f"{ref} not found: create it or fix the parameters")
        backup.refuse_unsafe(ref, obj, "SecretDeletion")
        return Plan(
            footprint=policy.Footprint(targets=(ref,), namespaces=frozenset({namespace})),
            changes=(backup.planned_change(ref, obj),),
            state=backup.Planned(uid=obj["metadata"]["uid"]),
        )


INJECTOR: Injector[Params] = SecretDeletion()
