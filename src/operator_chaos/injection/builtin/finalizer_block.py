"""FinalizerBlock: add a finalizer nobody will remove, so the object cannot finish deleting.

Breaks: a delete of the object hangs in Terminating, which tests how the operator copes with
stuck children or its own stuck resources. Revert removes the finalizer, letting any pending
deletion complete.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
from operator_chaos.injection.fields import (
    CHAOS_GROUP,
    PARAMS,
    ApiVersion,
    Kind,
    NamespaceName,
    ObjectName,
    namespace_allowed,
    needs_high,
    targets_chaos_api,
)
from operator_chaos.injection.labels import label_key_problem
from operator_chaos.injection.protocol import (
    Damage,
    Injector,
    Plan,
    RevertAction,
    Reverted,
    Scope,
)
from operator_chaos.kube.port import KubeClient, PatchType, Selection, StateView
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger

DEFAULT_FINALIZER = f"{CHAOS_GROUP}/block"
CLEANUP_FINALIZER = f"{CHAOS_GROUP}/cleanup"
FORBIDDEN_KINDS = frozenset({"Namespace", "Node"})
CORE_KINDS = frozenset(
    {
        "Secret",
        "ConfigMap",
        "ServiceAccount",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "Service",
        "Endpoints",
    }
)


class Params(InjectionParams):
    """The object to block and the finalizer to hold it with."""

    api_version: ApiVersion
    kind: Kind
    name: ObjectName = Field(description="Name of the object that gets the finalizer")
    finalizer: str = Field(
        default=DEFAULT_FINALIZER,
        description="Finalizer to add, a qualified name such as example.com/hold",
    )
    namespace: NamespaceName | None = Field(
        default=None, description="Namespace of the object (default: the target namespace)"
    )
    delete_after_inject: bool = Field(
        default=False,
        description="Also delete the object, so it sits in Terminating while blocked",
    )

    @field_validator("kind")
    @classmethod
    def _allowed_kind(cls, kind: str) -> str:
        if kind in FORBIDDEN_KINDS:
            raise ValueError(
                f"blocking a {kind}'s deletion is not allowed; pick a namespaced object"
            )
        return kind

    @field_validator("finalizer")
    @classmethod
    def _qualified(cls, finalizer: str) -> str:
        if finalizer == CLEANUP_FINALIZER:
            raise ValueError(f"{CLEANUP_FINALIZER!r} is the framework's own cleanup finalizer")
        if label_key_problem(finalizer):
            raise ValueError(
                f"finalizer {finalizer!r} must be a qualified name such as example.com/hold"
            )
        return finalizer

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        problems = namespace_allowed(spec, self.namespace, (*PARAMS, "namespace"))
        if targets_chaos_api(self.api_version, self.kind):
            problems.append(((*PARAMS, "kind"), "cannot block ChaosExperiment objects"))
        if self.api_version == "v1" and self.kind in CORE_KINDS:
            problems += needs_high(
                spec, (*PARAMS, "kind"), f"blocking deletion of a core {self.kind} is dangerous"
            )
        return problems


class Record(RecordData):
    """Our finalizer on the object with this uid (and whether we then deleted it)."""

    finalizer: str
    uid: str
    delete_after_inject: bool = False


@dataclass(frozen=True, slots=True)
class Held:
    """The uid ``plan`` saw, so ``inject`` never touches a replacement."""

    uid: str


SPEC = TypeSpec(
    injection_type=InjectionType.FINALIZER_BLOCK,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.LOW,
    params=Params,
    summary="Hold an object in Terminating with a finalizer nobody removes.",
    record=Record,
    access=(
        Access(("patch",)),
        Access(("delete",), when="delete_after_inject", why="deleteAfterInject"),
    ),
    example=lambda component, namespace: {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": component,
        "finalizer": "chaos.operatorchaos.io/block",
    },
)


class FinalizerBlock:
    """Adds one finalizer (optionally deletes the object); revert removes that finalizer only."""

    spec = SPEC

    async def plan(self, kube: KubeClient, params: Params, scope: Scope) -> Plan[Held]:
        ref, obj = await targets.locate(
            kube, params.api_version, params.kind, params.name, params.namespace or scope.namespace
        )
        finalizers = list(obj["metadata"].get("finalizers") or [])
        if params.finalizer in finalizers:
            raise targets.InjectionRefused(
                f"{ref} already has finalizer {params.finalizer}: refusing, since removing it"
                " afterwards would take away somebody else's finalizer"
            )
        changes = [
            PlannedChange(
                target=str(ref),
                field="metadata.finalizers",
                before=json.dumps(finalizers),
                after=json.dumps([*finalizers, params.finalizer]),
            )
        ]
        if params.delete_after_inject:
            changes.append(
                PlannedChange(
                    target=str(ref),
                    field="metadata.deletionTimestamp",
                    before="unset",
                    after="set (delete issued)",
                )
            )
        return Plan(
            footprint=Footprint(
                targets=(ref,),
                namespaces=targets.namespaces_of(ref),
            ),
            changes=tuple(changes),
            state=Held(obj["metadata"]["uid"]),
        )

    async def inject(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Held], ledger: RunLedger
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        uid = plan.state.uid
        data = Record(
            finalizer=params.finalizer, uid=uid, delete_after_inject=params.delete_after_inject
        )
        record = await ledger.put(ledger.new_record(self.spec.injection_type, ref, data))

        async def add() -> None:
            obj = await kube.get(ref)
            if obj["metadata"]["uid"] != uid:
                raise targets.InjectionRefused(
                    f"{ref} was replaced since planning; not touching it"
                )
            op: dict[str, object]
            if obj["metadata"].get("finalizers"):
                op = {"op": "add", "path": "/metadata/finalizers/-", "value": params.finalizer}
            else:
                op = {"op": "add", "path": "/metadata/finalizers", "value": [params.finalizer]}
            await targets.patch_unchanged(kube, ref, obj, [op])

        await targets.retry_stale(add)
        done = [f"added finalizer {params.finalizer} to {ref}"]
        if params.delete_after_inject:
            await kube.delete(ref, uid=uid)
            done.append(f"deleted {ref}: it stays Terminating while the finalizer holds it")
        await ledger.mark(record, "applied")
        return done

    async def confirm(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Held]
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        obj = await kube.get_or_none(ref)
        if obj is None:
            return [f"{ref} is gone: the finalizer is NOT holding it"]
        held = params.finalizer in (obj["metadata"].get("finalizers") or [])
        state = "Terminating" if obj["metadata"].get("deletionTimestamp") else "present"
        return [f"{ref} {state}, finalizer {params.finalizer} {'present' if held else 'MISSING'}"]

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted:
        ref = record.target.ref
        data = record.payload(Record)
        finalizer = data.finalizer
        field = f"finalizer {finalizer}"

        def outcome(action: RevertAction, detail: str = "") -> Reverted:
            return Reverted(str(ref), action, field, detail)

        async def remove() -> Reverted:
            obj = await kube.get_or_none(ref)
            if obj is None:
                return outcome(RevertAction.GONE, "nothing to remove")
            if obj["metadata"]["uid"] != data.uid:
                return outcome(RevertAction.REPLACED, "its finalizers are not ours")
            finalizers = list(obj["metadata"].get("finalizers") or [])
            if finalizer not in finalizers:
                return outcome(RevertAction.ALREADY, "removed")
            index = finalizers.index(finalizer)
            await kube.patch(
                ref,
                [
                    {"op": "test", "path": f"/metadata/finalizers/{index}", "value": finalizer},
                    {"op": "remove", "path": f"/metadata/finalizers/{index}"},
                ],
                PatchType.JSON,
            )
            return outcome(RevertAction.REMOVED)

        return await targets.retry_stale(remove)

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        """The block holds while the finalizer is on the object."""
        ref = record.target.ref
        data = record.payload(Record)
        finalizer = data.finalizer

        def restored(view: StateView) -> tuple[bool, str]:
            obj = view.get(ref)
            if obj is None:
                return True, "object gone"
            held = finalizer in (obj["metadata"].get("finalizers") or [])
            return not held, "finalizer present" if held else "finalizer absent"

        owned = (
            Selection("v1", "Pod", ref.namespace, ""),
            Selection("v1", "Service", ref.namespace, ""),
        )
        uid = data.uid

        def no_leak(view: StateView) -> tuple[bool, str]:
            """Dependants (pods, services) may only outlive their owner while it is held."""
            obj = view.get(ref)
            dependants = [
                f"{o['kind']} {o['metadata']['name']}"
                for key in owned
                for o in view.select(key)
                if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])
                and not o["metadata"].get("deletionTimestamp")
            ]
            if obj is not None and obj["metadata"].get("uid") == uid:
                return True, f"{len(dependants)} dependants, owner still present"
            if dependants:
                return False, f"owner deleted; leaked: {', '.join(sorted(dependants)[:5])}"
            return True, "owner deleted, no dependant left behind"

        return [
            Damage(str(ref), f"finalizer {finalizer}", (ref,), restored),
            Damage(str(ref), "dependants (no leak)", (ref, *owned), no_leak, role="invariant"),
        ]


INJECTOR: Injector[Params] = FinalizerBlock()  # annotated so mypy checks the protocol
