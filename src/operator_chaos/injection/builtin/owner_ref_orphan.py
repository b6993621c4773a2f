"""OwnerRefOrphan: remove an object's ownerReferences so it looks orphaned.

Breaks: garbage collection and owner-based watches no longer tie the object to its parent; the
operator should re-adopt it (put the owner reference back, or replace the object with an owned
one) instead of leaking it. A repair fault: the tool leaves the object orphaned and watches
until every original owner (by uid) owns the object again. Only if the operator does not, the
revert puts the recorded references back, and never over references someone set since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import (
    DangerLevel,
    ExperimentSpec,
    InjectionType,
    PlannedChange,
    RecoveryModel,
)
from operator_chaos.injection import targets
from operator_chaos.injection.base import Access, FieldPath, InjectionParams, RecordData, TypeSpec
from operator_chaos.injection.fields import PARAMS, ApiVersion, Kind, ObjectName, targets_chaos_api
from operator_chaos.injection.protocol import Damage, Injector, Plan, RevertAction, Reverted, Scope
from operator_chaos.kube.port import KubeClient, RawObject, StateView
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger

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


class Record(RecordData):
    """The object (by uid) and the owner references it had."""

    uid: str
    owner_references: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Owned:
    """What ``plan`` saw: the object's uid, so ``inject`` never touches a replacement."""

    uid: str


SPEC = TypeSpec(
    injection_type=InjectionType.OWNER_REF_ORPHAN,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Strip ownerReferences from an owned object; the operator must re-adopt it.",
    record=Record,
    access=(Access(("patch",), why="remove the owner references, put them back on revert"),),
    example=lambda component, namespace: {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": component,
    },
)


def owners(refs: list[dict[str, Any]] | None) -> str:
    """``PyTorchJob/test-pytorchjob (controller)``, for plan and report lines."""
    if not refs:
        return "none"
    return ", ".join(
        f"{r.get('kind')}/{r.get('name')}" + (" (controller)" if r.get("controller") else "")
        for r in refs
    )


def readopted(original: list[dict[str, Any]], current: list[dict[str, Any]] | None) -> bool:
    """True when every original owner (by uid) owns the object again."""
    now = {r.get("uid") for r in current or []}
    return all(r.get("uid") in now for r in original)


class OwnerRefOrphan:
    """Removes ``metadata.ownerReferences``; revert restores them only on a still-orphaned
    object with the same uid."""

    spec = SPEC

    async def plan(self, kube: KubeClient, params: Params, scope: Scope) -> Plan[Owned]:
        ref, obj = await targets.locate(
            kube, params.api_version, params.kind, params.name, scope.namespace
        )
        refs = obj["metadata"].get("ownerReferences") or []
        if not refs:
            raise targets.InjectionRefused(
                f"{ref} has no ownerReferences: nothing to orphan; target an object the"
                " operator owns"
            )
        return Plan(
            footprint=Footprint(targets=(ref,), namespaces=targets.namespaces_of(ref)),
            changes=(
                PlannedChange(
                    target=str(ref),
                    field="metadata.ownerReferences",
                    before=owners(refs),
                    after="unset",
                ),
            ),
            state=Owned(obj["metadata"]["uid"]),
        )

    async def inject(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Owned], ledger: RunLedger
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        obj = await kube.get(ref)
        if obj["metadata"]["uid"] != plan.state.uid:
            raise targets.InjectionRefused(f"{ref} was replaced since planning; not touching it")
        refs = obj["metadata"].get("ownerReferences") or []
        if not refs:
            raise targets.InjectionRefused(f"{ref} lost its ownerReferences since planning")
        record = await ledger.put(
            ledger.new_record(
                self.spec.injection_type, ref, Record(uid=plan.state.uid, owner_references=refs)
            )
        )

        async def strip() -> None:
            current = await kube.get(ref)
            if current["metadata"]["uid"] != plan.state.uid:
                raise targets.InjectionRefused(f"{ref} was replaced; not touching it")
            if not current["metadata"].get("ownerReferences"):
                return
            await targets.patch_unchanged(
                kube,
                ref,
                current,
                [
                    {"op": "remove", "path": "/metadata/ownerReferences"},
                ],
            )

        await targets.retry_stale(strip)
        await ledger.mark(record, "applied")
        return [f"{ref} metadata.ownerReferences: {owners(refs)} -> unset"]

    async def confirm(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Owned]
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        obj = await kube.get_or_none(ref)
        if obj is None:
            return [f"{ref} is gone (deleted right after being orphaned)"]
        refs = obj["metadata"].get("ownerReferences")
        if refs:
            return [f"{ref} is owned again already: {owners(refs)}"]
        return [f"{ref} has no ownerReferences: orphaned"]

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted:
        ref = record.target.ref
        data = record.payload(Record)
        field = "metadata.ownerReferences"

        def outcome(action: RevertAction, detail: str = "") -> Reverted:
            return Reverted(str(ref), action, field, detail)

        async def restore() -> Reverted:
            obj = await kube.get_or_none(ref)
            if obj is None:
                return outcome(RevertAction.GONE, "nothing to restore")
            if obj["metadata"]["uid"] != data.uid:
                return outcome(RevertAction.REPLACED, "a new object took the name")
            current = obj["metadata"].get("ownerReferences") or []
            if current:
                if readopted(data.owner_references, current):
                    return outcome(RevertAction.ALREADY, owners(current))
                return outcome(RevertAction.LEFT, f"owned by {owners(current)} since")
            await targets.patch_unchanged(
                kube,
                ref,
                obj,
                [
                    {"op": "add", "path": "/metadata/ownerReferences", "value": _plain(data)},
                ],
            )
            return outcome(RevertAction.RESTORED, owners(data.owner_references))

        return await targets.retry_stale(restore)

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        """Restored when every original owner owns the object (or its replacement) again."""
        ref = record.target.ref
        data = record.payload(Record)

        def restored(view: StateView) -> tuple[bool, str]:
            obj = view.get(ref)
            if obj is None:
                return False, "object deleted"
            refs = obj["metadata"].get("ownerReferences")
            again = " (recreated)" if obj["metadata"].get("uid") != data.uid else ""
            return readopted(data.owner_references, refs), f"owners: {owners(refs)}{again}"

        return [Damage(str(ref), "metadata.ownerReferences", (ref,), restored)]


def _plain(data: Record) -> list[RawObject]:
    return [dict(r) for r in data.owner_references]


INJECTOR: Injector[Params] = OwnerRefOrphan()
