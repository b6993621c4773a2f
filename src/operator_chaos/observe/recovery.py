"""Did the operator put everything back? One observer for the whole run.

The :class:`Observer` watches every object involved from the steady-state pre-check until the
verdict and keeps a *timeline*: one lane per steady-state check, per managed resource, per
piece of damaged state (repair faults) and per other component's check (collateral), each a
list of transitions stamped with the monotonic receive time of the watch event that caused
them. Recovery is read off those lanes: the first moment from which every required lane holds
for a whole stability window, timed from the injection (repair faults) or the lift
(condition faults).
"""

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from operator_chaos.api.v1alpha1 import (
    CheckOutcome,
    CheckRound,
    Impact,
    Lane,
    SteadyStateCheck,
    Timeline,
    Transition,
)
from operator_chaos.api.v1alpha1.result import LaneKind
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef, StateView, WatchKey
from operator_chaos.observe import checks as check_eval
from operator_chaos.observe.watch import ObjectWatcher

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class ManagedExpectation:
    """A resource the operator manages and how it should look once reconciled."""

    ref: ResourceRef
    labels: Mapping[str, str] = field(default_factory=dict)
    expected_spec: Mapping[str, Any] = field(default_factory=dict)

    @property
    def must_renew(self) -> bool:
        """Leases prove the operator is alive and can write: it must renew after the fault."""
        return self.ref.kind == "Lease" and self.ref.api_version.startswith("coordination.k8s.io")


@dataclass(frozen=True, slots=True)
class Probe:
    """A lane the observer evaluates on every change: ``evaluate(view) -> (ok, detail)``.

    Injectors describe damaged state this way (``kind="damage"``): ok means "restored".
    """

    name: str
    kind: LaneKind
    watch: tuple[WatchKey, ...]
    evaluate: Callable[[StateView], tuple[bool, str]]


@dataclass
class _LaneState:
    name: str
    kind: LaneKind
    evaluate: Callable[[], tuple[bool, str]]
    transitions: list[tuple[int, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.transitions) and self.transitions[-1][1]

    @property
    def since_ns(self) -> int:
        return self.transitions[-1][0] if self.transitions else 0

    def update(self, at_ns: int) -> None:
        ok, detail = self.evaluate()
        if not self.transitions or self.transitions[-1][1] != ok:
            self.transitions.append((at_ns, ok, detail))

    def broke_after(self, start_ns: int) -> list[tuple[int, int | None, str]]:
        """(failed at, back at or None, detail) for each failure that began at/after start."""
        spans: list[tuple[int, int | None, str]] = []
        for i, (at, ok, detail) in enumerate(self.transitions):
            if ok or at < start_ns:
                continue
            back = next((t for t, good, _ in self.transitions[i + 1 :] if good), None)
            spans.append((at, back, detail))
        return spans


@dataclass(frozen=True, slots=True)
class Recovery:
    """What :meth:`Observer.wait_recovered` found."""

    recovered: bool
    recovered_at_ns: int | None
    recovery_ms: int | None
    reconciled: bool
    reconciled_at_ns: int | None
    reconcile_cycles: int
    last_round: CheckRound
    required_ok: bool = True
    """Every required lane (the damage a repair fault made) was restored in time."""


class Observer:
    """Watches checks, managed resources, damaged state and other components' checks."""

    def __init__(
        self,
        kube: KubeClient,
        checks: Sequence[SteadyStateCheck],
        managed: Sequence[ManagedExpectation] = (),
        collateral: Sequence[SteadyStateCheck] = (),
        extra_watch: Sequence[WatchKey] = (),
    ) -> None:
        self.checks = list(checks)
        self.managed = list(managed)
        self.collateral = list(collateral)
        keys: list[WatchKey] = [check_eval.ref_of(c) for c in self.checks]
        keys += [m.ref for m in self.managed]
        keys += [check_eval.ref_of(c) for c in self.collateral]
        keys += list(extra_watch)
        self.watcher = ObjectWatcher(kube, keys)
        self.collateral_baseline: set[str] = set()
        self.collateral_seen: set[str] = set()
        self._tracking_collateral = False
        self._live = False
        self._lease_baseline: dict[ResourceRef, str | None] = {}
        self._lease_renewed_ns: dict[ResourceRef, int] = {}
        self.origin_ns = time.monotonic_ns()
        self.origin = datetime.now(UTC)
        self.markers: dict[str, int] = {}
        self.lanes: dict[str, _LaneState] = {}
        for check in self.checks:
            self._lane(check_eval.describe(check), "check", self._check_fn(check))
        for exp in self.managed:
            self._lane(str(exp.ref), "managed", self._managed_fn(exp))

    # -- lanes ------------------------------------------------------------------------------

    def _lane(self, name: str, kind: LaneKind, fn: Callable[[], tuple[bool, str]]) -> _LaneState:
        unique, n = name, 2
        while unique in self.lanes:
            unique, n = f"{name} ({n})", n + 1
        lane = _LaneState(unique, kind, fn)
        self.lanes[unique] = lane
        return lane

    def _check_fn(self, check: SteadyStateCheck) -> Callable[[], tuple[bool, str]]:
        ref = check_eval.ref_of(check)

        def fn() -> tuple[bool, str]:
            outcome = check_eval.evaluate(check, self.watcher.get(ref))
            return outcome.passed, outcome.value or outcome.error

        return fn

    def _managed_fn(self, exp: ManagedExpectation) -> Callable[[], tuple[bool, str]]:
        return lambda: self._managed_ok(exp, self.watcher.get(exp.ref), renewal=False)

    async def add_probes(
        self,
        probes: Sequence[Probe],
        *,
        changed_ns: int | None = None,
        kube: KubeClient | None = None,
    ) -> list[str]:
        """Watch and evaluate more lanes (the damage an injection made); returns lane names.

        ``changed_ns``: when the tool's own write had succeeded. Damage and fault lanes start
        broken at that moment: the write is confirmed by the API server, and an operator that
        repairs within milliseconds must still show as impact, not as "no impact". Before the
        first evaluation the watch catches up with the cluster (``kube``: a consistent read
        of each watched object), so our own change is never mistaken for the state before it.
        """
        keys = [key for p in probes for key in p.watch]
        await self.watcher.add(keys)
        if kube is not None:
            await self._catch_up(kube, [k for k in keys if isinstance(k, ResourceRef)])
        names = []
        now = time.monotonic_ns()
        for probe in probes:
            lane = self._lane(probe.name, probe.kind, self._probe_fn(probe))
            if changed_ns is not None and probe.kind in ("damage", "fault"):
                lane.transitions.append((changed_ns, False, "changed by the fault"))
            lane.update(now)
            names.append(lane.name)
        return names

    async def _catch_up(
        self, kube: KubeClient, refs: Sequence[ResourceRef], limit: float = 5.0
    ) -> None:
        """Wait (at most ``limit`` s) until the watch shows each object at least as new as a
        consistent read of it now; resourceVersions are compared as etcd revisions."""
        deadline = time.monotonic() + limit
        for ref in dict.fromkeys(refs):
            live = await kube.get_or_none(ref)
            want = _revision(live)
            while time.monotonic() < deadline:
                seen = self.watcher.get(ref)
                if (live is None and seen is None) or (
                    live is not None and seen is not None and _revision(seen) >= want
                ):
                    break
                await self.watcher.wait_change(deadline - time.monotonic())

    def _probe_fn(self, probe: Probe) -> Callable[[], tuple[bool, str]]:
        return lambda: probe.evaluate(self.watcher)

    def lane_ok(self, name: str) -> bool:
        return self.lanes[name].ok

    def _on_change(self, at_ns: int) -> None:
        if not self._live:
            return  # the initial lists are still arriving: one evaluation once all are in
        for lane in self.lanes.values():
            lane.update(at_ns)
        for ref, baseline in self._lease_baseline.items():
            renewed = _renew_time(self.watcher.get(ref))
            if ref not in self._lease_renewed_ns and renewed not in (None, baseline):
                self._lease_renewed_ns[ref] = at_ns
        if self._tracking_collateral:
            self.note_collateral()

    def mark(self, name: str, at_ns: int | None = None) -> int:
        """Remember a moment of the run (``injected``, ``lifted``, ``repaired`` ...)."""
        at = at_ns if at_ns is not None else time.monotonic_ns()
        self.markers[name] = at
        return at

    def ms(self, at_ns: int | None) -> int | None:
        """Milliseconds since the timeline's origin."""
        return None if at_ns is None else max(0, (at_ns - self.origin_ns) // NS_PER_MS)

    # -- start / stop -----------------------------------------------------------------------

    async def start(self) -> None:
        self.origin_ns = time.monotonic_ns()
        self.origin = datetime.now(UTC)
        self.watcher.on_change = self._on_change
        await self.watcher.start()
        self._live = True
        self._on_change(time.monotonic_ns())
        self.collateral_baseline = {o.check for o in self._round(self.collateral) if not o.passed}

    async def stop(self) -> None:
        await self.watcher.stop()

    @property
    def errors(self) -> list[str]:
        """Watch errors (e.g. 403): observation may be impossible."""
        return list(self.watcher.errors)

    # -- checks -----------------------------------------------------------------------------

    def _round(self, which: Sequence[SteadyStateCheck]) -> list[CheckOutcome]:
        return [check_eval.evaluate(c, self.watcher.get(check_eval.ref_of(c))) for c in which]

    def check_round(self) -> CheckRound:
        """Evaluate the steady-state checks on the current state."""
        outcomes = self._round(self.checks)
        return CheckRound(
            passed=all(o.passed for o in outcomes), checks=outcomes, timestamp=datetime.now(UTC)
        )

    def note_collateral(self) -> None:
        """Remember other components' checks that fail now but passed before the fault."""
        for outcome in self._round(self.collateral):
            if not outcome.passed and outcome.check not in self.collateral_baseline:
                self.collateral_seen.add(outcome.check)

    def track_collateral(self) -> None:
        """From now on, check for collateral damage on every change the watcher records, so
        that a break during the hold, or one that heals before observation starts, counts."""
        self.note_collateral()
        self._tracking_collateral = True

    def mark_baseline(self) -> None:
        """Remember each lease's renewTime now: "renewed" later means renewed after this."""
        self._lease_baseline = {
            m.ref: _renew_time(self.watcher.get(m.ref)) for m in self.managed if m.must_renew
        }
        self._lease_renewed_ns = {}

    def managed_state(self) -> list[tuple[ManagedExpectation, bool, str]]:
        """Each managed resource: reconciled?, and why not."""
        return [(m, *self._managed_ok(m, self.watcher.get(m.ref))) for m in self.managed]

    def _managed_ok(
        self, exp: ManagedExpectation, obj: RawObject | None, *, renewal: bool = True
    ) -> tuple[bool, str]:
        if obj is None:
            return False, "missing"
        meta = obj.get("metadata", {})
        if meta.get("deletionTimestamp"):
            return False, "terminating"
        if not check_eval.subset(dict(exp.labels), meta.get("labels") or {}):
            return False, "labels differ from the knowledge model"
        if exp.expected_spec and not check_eval.subset(
            dict(exp.expected_spec), obj.get("spec") or {}
        ):
            return False, "spec differs from expectedSpec"
        if exp.must_renew:
            spec = obj.get("spec") or {}
            if not spec.get("holderIdentity"):
                return False, "no holder (the operator released it and nobody took it)"
            if (
                renewal
                and exp.ref in self._lease_baseline
                and exp.ref not in (self._lease_renewed_ns)
            ):
                return False, "not renewed since the fault (the operator is not writing)"
            return True, f"held by {spec.get('holderIdentity')}"
        return True, "reconciled"

    async def wait_steady(self, timeout: float) -> CheckRound:
        """Wait (by watching) until all checks pass, at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.check_round()
            if current.passed or time.monotonic() >= deadline:
                return current
            await self.watcher.wait_change(deadline - time.monotonic())

    # -- recovery ---------------------------------------------------------------------------

    def _since_all(self, names: Sequence[str]) -> int | None:
        """When the lanes ``names`` last became ok together (None if one is failing)."""
        since = 0
        for name in names:
            lane = self.lanes[name]
            if not lane.ok:
                return None
            since = max(since, lane.since_ns)
        return since

    def _leases_since(self) -> int | None:
        since = 0
        for exp in self.managed:
            if exp.must_renew:
                renewed = self._lease_renewed_ns.get(exp.ref)
                if renewed is None:
                    return None
                since = max(since, renewed)
        return since

    async def wait_recovered(
        self,
        since_ns: int,
        fault_ns: int,
        timeout: float,
        stability: float,
        required: Sequence[str] = (),
    ) -> Recovery:
        """Wait until checks pass, managed resources are reconciled and the ``required`` lanes
        hold, stable for ``stability`` seconds.

        ``since_ns`` is what recovery is timed from (the injection for repair faults, the
        lift for condition faults) and the recovery timeout starts there; ``fault_ns`` is when
        the fault began (reconcile cycles are counted from there). If by the deadline the
        checks (and required lanes) had recovered but a managed resource had not, that is
        reported as recovered but not reconciled.
        """
        deadline_ns = since_ns + int(timeout * NS_PER_S)
        stable_ns = int(stability * NS_PER_S)
        check_lanes = [n for n, lane in self.lanes.items() if lane.kind == "check"]
        managed_lanes = [n for n, lane in self.lanes.items() if lane.kind == "managed"]
        base = [*check_lanes, *required]
        checks_at: int | None = None
        all_at: int | None = None
        while True:
            now = time.monotonic_ns()
            checks_since = self._since_all(base)
            managed_since = self._since_all(managed_lanes)
            leases = self._leases_since()
            all_since = (
                None
                if checks_since is None or managed_since is None or leases is None
                else max(checks_since, managed_since, leases)
            )
            if checks_since is not None:
                checks_since = max(checks_since, since_ns)
            if all_since is not None:
                all_since = max(all_since, since_ns)
            if checks_at is None and checks_since is not None and now - checks_since >= stable_ns:
                checks_at = checks_since
            if all_since is not None and now - all_since >= stable_ns:
                all_at = all_since
                checks_at = checks_at or all_since
                break
            if now >= deadline_ns and (all_since is None or all_since > deadline_ns):
                break  # out of time (a stability window begun in time may still finish)
            pending = [s + stable_ns - now for s in (checks_since, all_since) if s is not None]
            wait_ns = min([*pending, deadline_ns - now]) if pending else deadline_ns - now
            await self.watcher.wait_change(max(wait_ns, 1_000_000) / NS_PER_S)
        recovered_at = all_at or checks_at
        end = recovered_at or time.monotonic_ns()
        managed_refs = {m.ref for m in self.managed if not m.must_renew}
        cycles = sum(
            1
            for c in self.watcher.changes
            if c.type == "MODIFIED" and fault_ns <= c.received_ns <= end and c.ref in managed_refs
        )
        if recovered_at is not None:
            self.mark("recovered", recovered_at)
            self.mark("stable_until", recovered_at + stable_ns)
        self.mark("deadline", deadline_ns)
        return Recovery(
            recovered=recovered_at is not None,
            recovered_at_ns=recovered_at,
            recovery_ms=(recovered_at - since_ns) // NS_PER_MS
            if recovered_at is not None
            else None,
            reconciled=all_at is not None,
            reconciled_at_ns=all_at,
            reconcile_cycles=cycles,
            last_round=self.check_round(),
            required_ok=all(self.lanes[n].ok for n in required),
        )

    # -- the record -------------------------------------------------------------------------

    def impact(self, injected_ns: int) -> Impact:
        """What broke after the injection, when, for how long (checks and managed resources)."""
        broken: list[str] = []
        first: int | None = None
        for lane in self.lanes.values():
            if lane.kind not in ("check", "managed", "damage"):
                continue
            for at, back, detail in lane.broke_after(injected_ns):
                first = at if first is None else min(first, at)
                after = (at - injected_ns) // NS_PER_MS
                lasted = f"for {(back - at) // NS_PER_MS} ms" if back else "until the end"
                why = f" ({detail})" if detail else ""
                broken.append(f"{lane.kind} {lane.name}: broke at +{after} ms, {lasted}{why}")
        return Impact(
            observed=bool(broken),
            time_to_impact_ms=None if first is None else (first - injected_ns) // NS_PER_MS,
            broken=broken,
        )

    def timeline(
        self, fault_lanes: Mapping[str, list[tuple[int, bool, str]]] | None = None
    ) -> Timeline:
        """The whole run as lanes of transitions (ms since the origin) and its markers."""
        lanes = [
            Lane(
                name=name,
                kind="fault",
                transitions=[
                    Transition(at_ms=self.ms(at) or 0, ok=ok, detail=d) for at, ok, d in moves
                ],
            )
            for name, moves in (fault_lanes or {}).items()
        ]
        lanes += [
            Lane(
                name=lane.name,
                kind=lane.kind,
                transitions=[
                    Transition(at_ms=self.ms(at) or 0, ok=ok, detail=d)
                    for at, ok, d in lane.transitions
                ],
            )
            for lane in self.lanes.values()
        ]
        m = self.markers
        return Timeline(
            origin=self.origin,
            injected_ms=self.ms(m.get("injected")),
            lifted_ms=self.ms(m.get("lifted")),
            repaired_ms=self.ms(m.get("repaired")),
            recovered_ms=self.ms(m.get("recovered")),
            stable_until_ms=self.ms(m.get("stable_until")),
            deadline_ms=self.ms(m.get("deadline")),
            restored_by_tool_ms=self.ms(m.get("restored_by_tool")),
            ended_ms=self.ms(time.monotonic_ns()) or 0,
            lanes=lanes,
        )


def _revision(obj: RawObject | None) -> int:
    """An object's resourceVersion as a number (0 when absent or not numeric)."""
    text = str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")
    return int(text) if text.isdigit() else 0


def _renew_time(obj: RawObject | None) -> str | None:
    spec = (obj or {}).get("spec") or {}
    return str(spec.get("renewTime") or spec.get("acquireTime") or "") or None
