"""NamespaceDeletion: delete a whole namespace the operator manages.

Breaks: everything in the namespace goes at once; the operator must notice and rebuild its
managed namespace and its contents. Revert waits (watching) until the old namespace has
finished terminating, then recreates the Namespace object from its backup (labels,
annotations); the operator is expected to repopulate it. The contents are not backed up (as in
the reference): recreating an operator's objects behind its back would hide whether it can
rebuild them, and Secret data would have to be copied out of the cluster's RBAC boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import (
    DangerLevel,
    ExperimentSpec,
    InjectionType,
    PlannedChange,
    RecoveryModel,
)
from operator_chaos.injection import backup, targets
from operator_chaos.injection.base import Access, FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import PARAMS, NamespaceName, namespace_allowed
from operator_chaos.injection.protocol import Injector, Plan, Scope
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.safety import labels, policy

if TYPE_CHECKING:
    pass

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
        if (
            namespace in PROTECTED
            or namespace.startswith(PROTECTED_PREFIXES)
            or policy.is_protected_namespace(namespace)
        ):
            raise ValueError(f"{namespace!r} is a protected namespace and cannot be deleted")
        if namespace == labels.DEFAULT_NAMESPACE:
            raise ValueError(f"{namespace!r} holds the tool's ledgers and cannot be deleted")
        return namespace

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        return namespace_allowed(spec, self.namespace, (*PARAMS, "namespace"))


SPEC = TypeSpec(
    injection_type=InjectionType.NAMESPACE_DELETION,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Delete a namespace the operator manages; it must be rebuilt.",
    instantaneous=True,
    record=backup.Backup,
    access=(
        Access(("delete",), why="the deletion"),
        Access(("create",), why="the revert recreates the Namespace from its backup"),
        Access(("list", "watch"), why="a revert waits (watching) until it has terminated"),
        Access(("list",), on="namespace", resource="configmaps", why="refuse a ledger namespace"),
    ),
    example=lambda component, namespace: {"namespace": namespace},
)

COUNTED = (("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "ConfigMap"), ("v1", "Pod"))
"""What the plan line counts, so the reader sees what the deletion takes with it."""


class NamespaceDeletion(backup.DeletionFault[Params]):
    """Deletes one namespace after backing its Namespace object up; revert waits out
    Terminating (the namespace controller empties it first), then recreates it, unless a
    namespace of that name exists again."""

    spec = SPEC
    terminating_wait = 300.0
    """Seconds to wait for the namespace controller to empty and remove the old namespace."""

    async def plan(self, kube: KubeClient, params: Params, scope: Scope) -> Plan[backup.Planned]:
        name = params.namespace
        ref = ResourceRef("v1", "Namespace", name)
        if policy.is_protected_namespace(name):
            raise targets.InjectionRefused(f"{ref} is a system namespace; it is never deleted")
        obj = await kube.get_or_none(ref)
        if obj is None:
            raise targets.InjectionRefused(f"{ref} not found: nothing to delete")
        why = policy.tool_owned(ref, obj, labels.DEFAULT_NAMESPACE)
        if why:
            raise targets.InjectionRefused(f"{ref} {why}: NamespaceDeletion never deletes it")
        if await _holds_ledgers(kube, name):
            raise targets.InjectionRefused(
                f"{ref} holds operator-chaos rollback ledgers: it is the tool's namespace"
            )
        if obj["metadata"].get("deletionTimestamp"):
            raise targets.InjectionRefused(f"{ref} is already terminating")
        counts = await _contents(kube, name)
        return Plan(
            footprint=policy.Footprint(targets=(ref,), namespaces=frozenset({name})),
            changes=(
                PlannedChange(
                    target=str(ref),
                    field="(namespace)",
                    before=f"Active ({counts})",
                    after="deleted with its contents (the Namespace object is backed up)",
                ),
            ),
            state=backup.Planned(uid=obj["metadata"]["uid"]),
        )


async def _holds_ledgers(kube: KubeClient, namespace: str) -> bool:
    selector = f"{labels.MANAGED_BY}={labels.MANAGED_BY_VALUE},{labels.ROLE}=ledger"
    try:
        listed = await kube.list("v1", "ConfigMap", namespace, label_selector=selector)
    except kube_errors.NotFound:
        return False
    return bool(listed.items)


async def _contents(kube: KubeClient, namespace: str) -> str:
    """``2 Deployments, 1 Service, ...``: what goes with the namespace (unknown kinds skipped)."""
    parts: list[str] = []
    for api_version, kind in COUNTED:
        try:
            items: list[RawObject] = (await kube.list(api_version, kind, namespace)).items
        except kube_errors.KubeError:
            continue
        parts.append(f"{len(items)} {kind}{'s' if len(items) != 1 else ''}")
    return ", ".join(parts) or "contents unknown"


INJECTOR: Injector[Params] = NamespaceDeletion()
