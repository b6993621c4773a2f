"""Faults that create an object of their own (a ResourceQuota, a PodDisruptionBudget) and
delete exactly that object on revert.

The object carries the tool's wire labels and the run id, and the ledger record naming it is
written before the create, so ``clean`` can delete it after a crash even though the record
holds no uid yet. Revert deletes only an object that is still ours: labelled with this run,
and (once known) with the uid we created; an object that merely has the same name is left
alone. ``plan`` refuses a name that is already taken, whoever owns it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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
from operator_chaos.safety import labels
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger

P = TypeVar("P", bound=InjectionParams)


class CreatedRecord(RecordData):
    """The rollback payload of a created object: whose it is (the run id on its labels) and,
    once the create returned, its uid."""

    run_id: str
    uid: str = ""


def owned_labels(run_id: str, injection_type: str) -> dict[str, str]:
    """The labels that make an object the fault's own (checked again before deleting it)."""
    return labels.managed(run_id, "fault", **{labels.TYPE: injection_type})


def is_ours(obj: RawObject, data: CreatedRecord) -> bool:
    """True when ``obj`` is the object this record created (labels, and the uid once known)."""
    meta = obj.get("metadata") or {}
    found = meta.get("labels") or {}
    if found.get(labels.MANAGED_BY) != labels.MANAGED_BY_VALUE:
        return False
    if found.get(labels.RUN) != data.run_id:
        return False
    return not data.uid or meta.get("uid") == data.uid


async def ensure_free(kube: KubeClient, ref: ResourceRef) -> None:
    """Refuse (read-only) when an object already has the name the fault would create."""
    existing = await kube.get_or_none(ref)
    if existing is None:
        return
    found = (existing.get("metadata") or {}).get("labels") or {}
    if found.get(labels.MANAGED_BY) == labels.MANAGED_BY_VALUE:
        raise targets.InjectionRefused(
            f"{ref} already exists, left by operator-chaos run {found.get(labels.RUN, '?')!r}:"
            " run `operator-chaos clean` first"
        )
    raise targets.InjectionRefused(
        f"{ref} already exists and is not operator-chaos's: refusing to overwrite or later"
        " delete it; choose another name"
    )


def body_of(ref: ResourceRef, scope: Scope, injection_type: str, rest: RawObject) -> RawObject:
    """The full object: ``rest`` (spec...) with our name, labels and expiry annotation."""
    return {
        "apiVersion": ref.api_version,
        "kind": ref.kind,
        "metadata": {
            "name": ref.name,
            **({"namespace": ref.namespace} if ref.namespace else {}),
            "labels": owned_labels(scope.run_id, injection_type),
            "annotations": {labels.EXPIRES: scope.expires_at.isoformat()},
        },
        **rest,
    }


async def create(
    kube: KubeClient,
    ledger: RunLedger,
    injection_type: str,
    ref: ResourceRef,
    scope: Scope,
    rest: RawObject,
    record_type: type[CreatedRecord] = CreatedRecord,
) -> RawObject:
    """Record the object, create it, then record its uid (state ``applied``)."""
    record = await ledger.put(
        ledger.new_record(injection_type, ref, record_type(run_id=scope.run_id))
    )
    try:
        created = await kube.create(body_of(ref, scope, injection_type, rest))
    except kube_errors.Conflict as exc:
        # Taken between plan and inject: revert will see it is not ours and leave it.
        raise InjectionFailed(f"{ref} was created by someone else meanwhile: {exc}") from exc
    data = record_type(run_id=scope.run_id, uid=str(created["metadata"]["uid"]))
    await ledger.put(
        record.model_copy(
            update={"data": data.model_dump(mode="json", by_alias=True), "state": "applied"}
        )
    )
    return created


async def read_ours(kube: KubeClient, ref: ResourceRef, run_id: str) -> RawObject:
    """For ``confirm``: the object, which must exist and be this run's."""
    obj = await kube.get_or_none(ref)
    if obj is None:
        raise InjectionFailed(f"{ref} is missing right after it was created: the fault is NOT on")
    if not is_ours(obj, CreatedRecord(run_id=run_id)):
        raise InjectionFailed(f"{ref} is not this run's object: the fault is NOT on")
    return obj


async def remove(kube: KubeClient, record: RollbackRecord, model: type[CreatedRecord]) -> Reverted:
    """Delete the object if it is still ours (idempotent; never deletes a namesake)."""
    ref = record.target.ref
    data = record.payload(model)
    obj = await kube.get_or_none(ref)
    if obj is None:
        return Reverted(str(ref), RevertAction.GONE, detail="already deleted")
    if not is_ours(obj, data):
        owner = ((obj.get("metadata") or {}).get("labels") or {}).get(labels.RUN, "none")
        return Reverted(
            str(ref), RevertAction.REPLACED, detail=f"not this run's object (run label {owner})"
        )
    try:
        await kube.delete(ref, uid=str(obj["metadata"]["uid"]))
    except kube_errors.NotFound:
        return Reverted(str(ref), RevertAction.GONE, detail="deleted meanwhile")
    except kube_errors.Conflict:
        return Reverted(str(ref), RevertAction.REPLACED, detail="replaced while deleting")
    return Reverted(str(ref), RevertAction.REMOVED)


def presence(record: RollbackRecord, model: type[CreatedRecord], what: str) -> Damage:
    """The fault is on while our object exists (the lane is ok once it is gone)."""
    ref = record.target.ref
    data = record.payload(model)

    def restored(view: StateView) -> tuple[bool, str]:
        obj = view.get(ref)
        if obj is None:
            return True, "deleted"
        if not is_ours(obj, data):
            return True, "replaced by an object that is not ours"
        return False, f"{what} in place"

    return Damage(str(ref), "(object)", (ref,), restored)


async def pods_footprint(kube: KubeClient, ref: ResourceRef, selector: str) -> Footprint:
    """The footprint of a created object that acts on the live pods ``selector`` matches in
    its namespace (a NetworkPolicy, a PodDisruptionBudget)."""
    pods = await targets.live_pods(kube, ref.namespace or "", selector)
    return Footprint(
        targets=(ref,),
        namespaces=targets.namespaces_of(ref),
        pods_affected=len(pods),
        affects_pods=True,
    )


class CreatedFault(Generic[P]):
    """Plan / inject / revert / damage for "create one object, delete it on revert"; a type
    says which object (:meth:`ref`), what it holds (:meth:`content`), how to describe it,
    what else the plan footprint holds, and how to confirm it really acts (:meth:`verify`)."""

    spec: TypeSpec
    record: type[CreatedRecord] = CreatedRecord
    what: str = "object"

    def ref(self, params: P, scope: Scope) -> ResourceRef:
        raise NotImplementedError

    def content(self, params: P) -> RawObject:
        """Everything of the object but apiVersion, kind and metadata."""
        raise NotImplementedError

    def summary(self, params: P) -> str:
        raise NotImplementedError

    async def footprint(self, kube: KubeClient, params: P, ref: ResourceRef) -> Footprint:
        return Footprint(targets=(ref,), namespaces=targets.namespaces_of(ref))

    async def verify(self, kube: KubeClient, params: P, obj: RawObject) -> Sequence[str]:
        """Lines proving that the created object acts (raise InjectionFailed if not)."""
        return [f"{ResourceRef.of(obj)} exists"]

    async def plan(self, kube: KubeClient, params: P, scope: Scope) -> Plan[None]:
        ref = self.ref(params, scope)
        await ensure_free(kube, ref)
        return Plan(
            footprint=await self.footprint(kube, params, ref),
            changes=(
                PlannedChange(
                    target=str(ref), field="(object)", before="absent", after=self.summary(params)
                ),
            ),
            state=None,
        )

    async def inject(
        self, kube: KubeClient, params: P, scope: Scope, plan: Plan[Any], ledger: RunLedger
    ) -> Sequence[str]:
        ref = self.ref(params, scope)
        await create(
            kube,
            ledger,
            str(self.spec.injection_type),
            ref,
            scope,
            self.content(params),
            self.record,
        )
        return [f"created {ref}: {self.summary(params)}"]

    async def confirm(
        self, kube: KubeClient, params: P, scope: Scope, plan: Plan[Any]
    ) -> Sequence[str]:
        obj = await read_ours(kube, self.ref(params, scope), scope.run_id)
        return list(await self.verify(kube, params, obj))

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted:
        return await remove(kube, record, self.record)

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        return [presence(record, self.record, self.what)]
