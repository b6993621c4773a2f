"""ResourceDeletion: delete one namespaced object the operator owns (a Service, a ConfigMap...).

Breaks: a dependent object vanishes and the operator must recreate it from its desired state.
Revert recreates the object from a backup unless the operator already did
(:mod:`operator_chaos.injection.backup`). A Secret's backup is kept in the Secret ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType, RecoveryModel
from operator_chaos.injection import backup, targets
from operator_chaos.injection.base import Access, FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import (
    PARAMS,
    ApiVersion,
    Kind,
    NamespaceName,
    ObjectName,
    namespace_allowed,
    targets_chaos_api,
)
from operator_chaos.injection.protocol import Injector, Plan, Scope
from operator_chaos.kube.port import KubeClient
from operator_chaos.safety import policy

if TYPE_CHECKING:
    pass

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
    instantaneous=True,
    record=backup.Backup,
    access=(
        Access(("delete",), why="the deletion"),
        Access(("create",), why="the revert recreates the object from its backup"),
    ),
    example=lambda component, namespace: {"apiVersion": "v1", "kind": "Service", "name": component},
)


class ResourceDeletion(backup.DeletionFault[Params]):
    """Deletes the named object after backing it up; revert recreates it unless it is back."""

    spec = SPEC

    async def plan(self, kube: KubeClient, params: Params, scope: Scope) -> Plan[backup.Planned]:
        if targets_chaos_api(params.api_version, params.kind):
            raise targets.InjectionRefused("ResourceDeletion never deletes ChaosExperiment objects")
        namespace = targets.need_namespace(scope, "ResourceDeletion")
        ref, obj = await targets.locate(
            kube, params.api_version, params.kind, params.name, namespace
        )
        if ref.namespace is None:
            raise targets.InjectionRefused(
                f"{ref} is cluster-scoped; ResourceDeletion deletes namespaced objects only"
            )
        backup.refuse_unsafe(ref, obj, "ResourceDeletion")
        return Plan(
            footprint=policy.Footprint(targets=(ref,), namespaces=frozenset({namespace})),
            changes=(backup.planned_change(ref, obj),),
            state=backup.Planned(uid=obj["metadata"]["uid"]),
        )


INJECTOR: Injector[Params] = ResourceDeletion()
