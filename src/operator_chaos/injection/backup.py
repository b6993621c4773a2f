"""Faults that delete an object: back it up in the ledger, delete it, create it again on revert
unless somebody (the operator, a person) already did.

Used by ResourceDeletion, SecretDeletion and (for the Namespace object) NamespaceDeletion.
The backup is the object as the API server returned it, minus what the server sets on create
(uid, resourceVersion, creationTimestamp, managedFields, generation, deletion stamps) and
minus ``status``; ``ownerReferences``, labels, annotations and finalizers are kept so that the
recreated object is owned and cleaned up as the original was. The record holds the original
uid: an object under the same name with another uid is a recreation, and it is never
overwritten. A Secret's backup holds its data, so the ledger keeps such records in a Secret
(see :mod:`operator_chaos.safety.ledger`), and no line written here shows a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import Field

from operator_chaos.api.v1alpha1 import PlannedChange
from operator_chaos.injection import targets
from operator_chaos.injection.base import InjectionParams, RecordData, TypeSpec
from operator_chaos.injection.protocol import (
    Damage,
    InjectionFailed,
    Plan,
    RevertAction,
    Reverted,
    Scope,
)
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef, StateView
from operator_chaos.safety import labels, policy

if TYPE_CHECKING:
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger

SERVER_SET = frozenset(
    {
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "generation",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)
"""Metadata the API server sets (a create carrying them is refused or misleading)."""

TERMINATING_WAIT = 120.0
"""Seconds a revert waits for the deleted original to finish terminating (its finalizers)."""


class StillTerminating(kube_errors.ServerError):
    """The original still holds the name: a transient state, so the revert is retried
    (``clean.with_retry``) until the record expires."""


class Backup(RecordData):
    """The rollback payload of a deletion: the original's uid and its manifest for create."""

    uid: str
    manifest: dict[str, Any] = Field(description="the object as it will be created again")


@dataclass(frozen=True, slots=True)
class Planned:
    """What ``plan`` saw: the uid to delete (a namesake created since is never touched)."""

    uid: str


def is_secret(ref: ResourceRef) -> bool:
    """A v1 Secret: its data is never shown."""
    return ref.kind == "Secret" and ref.api_version == "v1"


def manifest(obj: RawObject) -> RawObject:
    """``obj`` as a create body: server-set metadata and ``status`` removed."""
    body = {k: v for k, v in obj.items() if k != "status"}
    body["metadata"] = {k: v for k, v in obj["metadata"].items() if k not in SERVER_SET}
    if obj.get("kind") == "Service" and obj.get("apiVersion") == "v1":
        spec = dict(body.get("spec") or {})
        if spec.get("clusterIP") not in (None, "None"):
            # An allocated address: asking for it again fails if it was handed out since.
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        body["spec"] = spec
    return body


def summary(ref: ResourceRef, obj: RawObject) -> str:
    """What the object is, for a plan line: never its data."""
    if is_secret(ref):
        keys = len(obj.get("data") or {})
        kind = obj.get("type") or "Opaque"
        return f"present ({kind}, {keys} key{'s' if keys != 1 else ''}; values not shown)"
    return f"present (uid {obj['metadata']['uid']})"


def planned_change(ref: ResourceRef, obj: RawObject) -> PlannedChange:
    """The plan line for deleting ``obj`` (kept in a backup)."""
    return PlannedChange(
        target=str(ref),
        field="(object)",
        before=summary(ref, obj),
        after="deleted (backup in the rollback ledger)",
    )


async def delete(
    kube: KubeClient, ledger: RunLedger, injection_type: str, ref: ResourceRef, uid: str
) -> tuple[RollbackRecord, str]:
    """Back ``ref`` up in the ledger, then delete it (only the uid that was planned)."""
    obj = await kube.get_or_none(ref)
    if obj is None:
        raise targets.InjectionRefused(f"{ref} is gone since planning; nothing to delete")
    if obj["metadata"]["uid"] != uid:
        raise targets.InjectionRefused(f"{ref} was replaced since planning; not touching it")
    if obj["metadata"].get("deletionTimestamp"):
        raise targets.InjectionRefused(f"{ref} is already being deleted; nothing to inject")
    record = await ledger.put(
        ledger.new_record(injection_type, ref, Backup(uid=uid, manifest=manifest(obj)))
    )
    try:
        await kube.delete(ref, uid=uid)
    except kube_errors.Conflict as exc:  # the uid precondition: replaced in between
        raise targets.InjectionRefused(f"{ref} was replaced before the delete: {exc}") from exc
    await ledger.mark(record, "applied")
    return record, f"deleted {ref} (backup in the rollback ledger)"


async def wait_gone(kube: KubeClient, ref: ResourceRef, uid: str, timeout: float) -> None:
    """Wait (watching, not polling) until the object with ``uid`` no longer holds the name.

    Without list/watch on the kind (the least-privilege role grants neither on Secrets),
    :class:`StillTerminating` makes the caller's retry loop try the revert again later."""
    from operator_chaos.kube import wait  # the watch loop; not needed by `validate`

    def gone(obj: RawObject | None) -> bool:
        return obj is None or obj["metadata"].get("uid") != uid

    try:
        await wait.wait_for(
            kube, ref.api_version, ref.kind, ref.name, ref.namespace, gone, timeout=timeout
        )
    except kube_errors.Forbidden as exc:  # least privilege: get only; retried with back-off
        raise StillTerminating(f"{ref} is still terminating (cannot watch it: {exc})") from None
    except TimeoutError:
        raise StillTerminating(
            f"{ref} is still terminating after {timeout:.0f}s (finalizers?)"
        ) from None


async def restore(
    kube: KubeClient, record: RollbackRecord, *, wait: float = TERMINATING_WAIT
) -> Reverted:
    """Create the object again from its backup, unless an object holds the name again.

    Idempotent: after our own create, the name is held by a new uid and the next call says
    ``already``. A ``pending`` record whose delete never happened finds the original.
    """
    ref = record.target.ref
    backup = record.payload(Backup)
    target = str(ref)
    live = await kube.get_or_none(ref)
    if live is not None and live["metadata"].get("uid") == backup.uid:
        if not live["metadata"].get("deletionTimestamp"):
            return Reverted(target, RevertAction.ALREADY, detail="never deleted")
        await wait_gone(kube, ref, backup.uid, wait)
        live = await kube.get_or_none(ref)
    if live is not None:
        return Reverted(target, RevertAction.ALREADY, detail=_recreated(live))
    try:
        created = await kube.create(backup.manifest)
    except kube_errors.Conflict as exc:
        if not exc.already_exists:
            raise
        return Reverted(target, RevertAction.ALREADY, detail="recreated by someone meanwhile")
    except kube_errors.NotFound:
        where = f"namespace {ref.namespace}" if ref.namespace else "its API"
        return Reverted(target, RevertAction.GONE, detail=f"{where} is gone; cannot recreate")
    return Reverted(
        target, RevertAction.RECREATED, detail=f"from the backup (uid {created['metadata']['uid']})"
    )


def _recreated(live: RawObject) -> str:
    meta = live["metadata"]
    state = " (being deleted)" if meta.get("deletionTimestamp") else ""
    return f"recreated by someone (uid {meta.get('uid')}){state}; left as it is"


def restored_in(view: StateView, ref: ResourceRef, uid: str) -> tuple[bool, str]:
    """The damage lane: restored once an object holds the name again (another uid than the
    deleted one) and is not itself being deleted."""
    obj = view.get(ref)
    if obj is None:
        return False, "deleted"
    meta = obj["metadata"]
    if meta.get("uid") == uid:
        return False, "being deleted" if meta.get("deletionTimestamp") else "not deleted yet"
    if meta.get("deletionTimestamp"):
        return False, "recreated, but being deleted"
    return True, "recreated"


def damage(record: RollbackRecord) -> Sequence[Damage]:
    """One lane: the deleted object, restored when it exists again."""
    ref = record.target.ref
    uid = record.payload(Backup).uid

    def restored(view: StateView) -> tuple[bool, str]:
        return restored_in(view, ref, uid)

    return [Damage(target=str(ref), field="(object)", watch=(ref,), restored=restored)]


async def read_back(kube: KubeClient, ref: ResourceRef, uid: str) -> str:
    """For ``confirm``: is the original really gone (or going)?"""
    obj = await kube.get_or_none(ref)
    if obj is None:
        return f"{ref}: deleted"
    meta = obj["metadata"]
    if meta.get("uid") != uid:
        return f"{ref}: deleted, already recreated (uid {meta.get('uid')})"
    if meta.get("deletionTimestamp"):
        return f"{ref}: being deleted (finalizers {meta.get('finalizers') or []})"
    raise InjectionFailed(f"{ref} is still there after the delete; the fault is not active")


def refuse_unsafe(ref: ResourceRef, obj: RawObject, what: str) -> None:
    """Plan-time refusals every deletion shares: the tool's own objects, and an object that
    is already going away (deleting it again proves nothing and its backup may be stale)."""
    why = policy.tool_owned(ref, obj, labels.DEFAULT_NAMESPACE)
    if why:
        raise targets.InjectionRefused(f"{ref} {why}: {what} never deletes it")
    if obj["metadata"].get("deletionTimestamp"):
        raise targets.InjectionRefused(f"{ref} is already being deleted")


P = TypeVar("P", bound=InjectionParams)


class DeletionFault(Generic[P]):
    """Inject / confirm / revert / damage for "back up, delete, restore"; a type only plans
    (which object, what the plan says) and may wait longer for Terminating on revert."""

    spec: TypeSpec
    terminating_wait: float = TERMINATING_WAIT

    async def plan(self, kube: KubeClient, params: P, scope: Scope) -> Plan[Planned]:
        raise NotImplementedError

    async def inject(
        self, kube: KubeClient, params: P, scope: Scope, plan: Plan[Planned], ledger: RunLedger
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        _, line = await delete(kube, ledger, self.spec.injection_type, ref, plan.state.uid)
        return [line]

    async def confirm(
        self, kube: KubeClient, params: P, scope: Scope, plan: Plan[Planned]
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        return [await read_back(kube, ref, plan.state.uid)]

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted:
        return await restore(kube, record, wait=self.terminating_wait)

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        return damage(record)
