"""LeaderElectionDisrupt: take the operator's leader-election Lease away from its leader.

The Lease is given to a holder of ours (``operator-chaos-<run>``), renewed now, for the
Lease's own duration (or ``leaseDurationSeconds``). Breaks: the leader's renewals fail, so it
must step down (controller-runtime exits on lost leadership); a healthy operator then
re-acquires the Lease once our hold expires, without a stall or two leaders. A repair fault:
restored when a holder that is not ours leads again.

The Go reference deletes the Lease instead; client-go's elector simply re-creates a missing
Lease on its next renewal, so the leader never notices. Taking the Lease is what a real
competing candidate (or a split brain) looks like.

Revert gives the Lease back (the recorded holder and timings) only while our holder still has
it: a leader elected since is never displaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field

from operator_chaos.api.v1alpha1 import DangerLevel, InjectionType, PlannedChange, RecoveryModel
from operator_chaos.injection import targets
from operator_chaos.injection.base import Access, InjectionParams, RecordData, TypeSpec
from operator_chaos.injection.fields import ObjectName
from operator_chaos.injection.protocol import Damage, Injector, Plan, RevertAction, Reverted, Scope
from operator_chaos.kube.port import KubeClient, RawObject, StateView
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger

LEASE_API = "coordination.k8s.io/v1"
HOLDER_PREFIX = "operator-chaos-"
TIMING_FIELDS = ("holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime")
"""What the fault overwrites and revert puts back (``leaseTransitions`` only counts up)."""


class Params(InjectionParams):
    """The Lease to take, and for how long our holder claims it."""

    name: ObjectName = Field(description="Name of the leader-election Lease, e.g. 1a2b3c4d.io")
    lease_duration_seconds: int | None = Field(
        default=None,
        ge=1,
        le=3600,
        description="How long our holder claims the Lease (default: the Lease's own duration)",
    )


class Record(RecordData):
    """The Lease (by uid), our holder, and the fields as they were before."""

    uid: str
    holder: str
    original: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Held:
    """What ``plan`` saw."""

    uid: str
    duration: int


SPEC = TypeSpec(
    injection_type=InjectionType.LEADER_ELECTION_DISRUPT,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Take the leader-election Lease from the leader; the operator must re-acquire it.",
    record=Record,
    access=(Access(("patch",), why="set our holder, give the Lease back on revert"),),
    example=lambda component, namespace: {"name": f"{component}-leader-election"[:63]},
)


def holder_of(run_id: str) -> str:
    return f"{HOLDER_PREFIX}{run_id}"


def micro_time(now: datetime | None = None) -> str:
    """A Kubernetes MicroTime: ``2026-12-01T22:26:24.123456Z``."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def taken_spec(spec: dict[str, Any], holder: str, duration: int, now: str) -> dict[str, Any]:
    """The Lease's spec with our holder in it, as a candidate that won an election sets it."""
    return {
        **spec,
        "holderIdentity": holder,
        "leaseDurationSeconds": duration,
        "acquireTime": now,
        "renewTime": now,
        "leaseTransitions": int(spec.get("leaseTransitions") or 0) + 1,
    }


def given_back(spec: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    """The spec with the recorded fields back (absent ones removed again)."""
    back = {k: v for k, v in spec.items() if k not in TIMING_FIELDS}
    back.update({k: original[k] for k in TIMING_FIELDS if k in original})
    return back


def led_by_operator(obj: RawObject | None, holder: str) -> tuple[bool, str]:
    """Whether a holder other than ours (and not nobody) has the Lease."""
    if obj is None:
        return False, "Lease deleted"
    now = (obj.get("spec") or {}).get("holderIdentity") or ""
    if not now:
        return False, "no holder"
    if now == holder:
        return False, "held by operator-chaos"
    return True, f"held by {now}"


class LeaderElectionDisrupt:
    """Gives the Lease to our holder; revert gives it back unless someone has taken it since."""

    spec = SPEC

    async def plan(self, kube: KubeClient, params: Params, scope: Scope) -> Plan[Held]:
        ref, obj = await targets.locate(kube, LEASE_API, "Lease", params.name, scope.namespace)
        spec = obj.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        if not holder:
            raise targets.InjectionRefused(
                f"{ref} has no holder: no replica leads right now, so there is no leadership"
                " to take; check the Lease name and that the operator runs"
            )
        if holder.startswith(HOLDER_PREFIX):
            raise targets.InjectionRefused(
                f"{ref} is held by {holder}, a run of operator-chaos: run `operator-chaos clean`"
            )
        duration = params.lease_duration_seconds or int(spec.get("leaseDurationSeconds") or 15)
        return Plan(
            footprint=Footprint(targets=(ref,), namespaces=targets.namespaces_of(ref)),
            changes=(
                PlannedChange(
                    target=str(ref),
                    field="spec.holderIdentity",
                    before=repr(holder),
                    after=repr(holder_of(scope.run_id)),
                ),
                PlannedChange(
                    target=str(ref),
                    field="spec.leaseDurationSeconds",
                    before=repr(spec.get("leaseDurationSeconds")),
                    after=repr(duration),
                ),
            ),
            state=Held(obj["metadata"]["uid"], duration),
        )

    async def inject(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Held], ledger: RunLedger
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        holder = holder_of(scope.run_id)
        obj = await kube.get(ref)
        if obj["metadata"]["uid"] != plan.state.uid:
            raise targets.InjectionRefused(f"{ref} was replaced since planning; not touching it")
        spec = obj.get("spec") or {}
        original = {k: spec[k] for k in TIMING_FIELDS if k in spec}
        record = await ledger.put(
            ledger.new_record(
                self.spec.injection_type,
                ref,
                Record(uid=plan.state.uid, holder=holder, original=original),
            )
        )
        before: dict[str, str] = {}

        async def take() -> None:
            current = await kube.get(ref)
            if current["metadata"]["uid"] != plan.state.uid:
                raise targets.InjectionRefused(f"{ref} was replaced; not touching it")
            spec = current.get("spec") or {}
            before["holder"] = spec.get("holderIdentity") or ""
            await targets.patch_unchanged(
                kube,
                ref,
                current,
                [
                    {
                        "op": "add",
                        "path": "/spec",
                        "value": taken_spec(spec, holder, plan.state.duration, micro_time()),
                    },
                ],
            )

        await targets.retry_stale(take)
        await ledger.mark(record, "applied")
        return [
            f"{ref} spec.holderIdentity: {before['holder']!r} -> {holder!r}"
            f" for {plan.state.duration}s"
        ]

    async def confirm(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Held]
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        obj = await kube.get_or_none(ref)
        holder = holder_of(scope.run_id)
        now = ((obj or {}).get("spec") or {}).get("holderIdentity")
        if now == holder:
            return [
                f"{ref} is held by {holder} (renewed now, {plan.state.duration}s): the leader's"
                " renewals are refused and it must step down"
            ]
        return [f"{ref} is held by {now!r} already, not by {holder}"]

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted:
        ref = record.target.ref
        data = record.payload(Record)
        field = "spec.holderIdentity"

        def outcome(action: RevertAction, detail: str = "") -> Reverted:
            return Reverted(str(ref), action, field, detail)

        async def give_back() -> Reverted:
            obj = await kube.get_or_none(ref)
            if obj is None:
                return outcome(RevertAction.GONE, "the Lease was deleted")
            if obj["metadata"]["uid"] != data.uid:
                return outcome(RevertAction.REPLACED, "a new Lease took the name")
            spec = obj.get("spec") or {}
            now = spec.get("holderIdentity") or ""
            if now != data.holder:
                if now:
                    return outcome(RevertAction.ALREADY, f"led by {now!r} again")
                return outcome(RevertAction.LEFT, "released by someone since")
            await targets.patch_unchanged(
                kube,
                ref,
                obj,
                [
                    {"op": "add", "path": "/spec", "value": given_back(spec, data.original)},
                ],
            )
            return outcome(RevertAction.RESTORED, repr(data.original.get("holderIdentity", "")))

        return await targets.retry_stale(give_back)

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        """Restored once a holder that is not ours has the Lease (the operator re-elected)."""
        ref = record.target.ref
        data = record.payload(Record)

        def restored(view: StateView) -> tuple[bool, str]:
            return led_by_operator(view.get(ref), data.holder)

        return [Damage(str(ref), "spec.holderIdentity", (ref,), restored)]


INJECTOR: Injector[Params] = LeaderElectionDisrupt()
