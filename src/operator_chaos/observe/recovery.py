"""Did the operator put everything back? Steady state, managed resources, collateral damage.

One :class:`Observer` watches every object involved from before the fault until the verdict,
so no transition is missed (a pod kill can flip a Deployment to unavailable and back within
a second). Recovery is the first moment, at or after the revert, from which every check holds
for a whole stability window; its time is taken from the watch event that completed it.
"""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from operator_chaos.api.v1alpha1 import CheckOutcome, CheckRound, SteadyStateCheck
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
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
class Recovery:
    """What :meth:`Observer.wait_recovered` found."""

    recovered: bool
    recovered_at_ns: int | None
    recovery_ms: int | None
    reconciled: bool
    reconciled_at_ns: int | None
    reconcile_cycles: int
    last_round: CheckRound


class Observer:
    """Watches checks, managed resources and other components' checks together."""

    def __init__(
        self,
        kube: KubeClient,
        checks: Sequence[SteadyStateCheck],
        managed: Sequence[ManagedExpectation] = (),
        collateral: Sequence[SteadyStateCheck] = (),
    ) -> None:
        self.checks = list(checks)
        self.managed = list(managed)
        self.collateral = list(collateral)
        refs = [check_eval.ref_of(c) for c in self.checks]
        refs += [m.ref for m in self.managed]
        refs += [check_eval.ref_of(c) for c in self.collateral]
        self.watcher = ObjectWatcher(kube, refs)
        self.collateral_baseline: set[str] = set()
        self.collateral_seen: set[str] = set()
        self._lease_baseline: dict[ResourceRef, str | None] = {}

    async def start(self) -> None:
        await self.watcher.start()
        self.collateral_baseline = {o.check for o in self._round(self.collateral) if not o.passed}

    async def stop(self) -> None:
        await self.watcher.stop()

    @property
    def errors(self) -> list[str]:
        """Watch errors (e.g. 403): observation may be impossible."""
        return list(self.watcher.errors)

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
        self.watcher.on_change = self.note_collateral

    def mark_baseline(self) -> None:
        """Remember each lease's renewTime now: "renewed" later means renewed after this."""
        self._lease_baseline = {
            m.ref: _renew_time(self.watcher.get(m.ref)) for m in self.managed if m.must_renew
        }

    def managed_state(self) -> list[tuple[ManagedExpectation, bool, str]]:
        """Each managed resource: reconciled?, and why not."""
        return [(m, *self._managed_ok(m, self.watcher.get(m.ref))) for m in self.managed]

    def _managed_ok(self, exp: ManagedExpectation, obj: RawObject | None) -> tuple[bool, str]:
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
            if _renew_time(obj) == self._lease_baseline.get(exp.ref):
                return False, "not renewed since the fault (the operator is not writing)"
        return True, "reconciled"

    async def wait_steady(self, timeout: float) -> CheckRound:
        """Wait (by watching) until all checks pass, at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.check_round()
            if current.passed or time.monotonic() >= deadline:
                return current
            await self.watcher.wait_change(deadline - time.monotonic())

    async def wait_recovered(
        self, since_ns: int, fault_ns: int, timeout: float, stability: float
    ) -> Recovery:
        """Wait until checks pass and managed resources are reconciled, stable for ``stability``.

        ``since_ns`` is when the fault was reverted (or applied, for instantaneous faults);
        ``fault_ns`` when it began (reconcile cycles are counted from there). Gives up at
        ``since_ns + timeout``; if by then the checks alone had recovered, that is reported
        as recovered but not reconciled.
        """
        deadline_ns = since_ns + int(timeout * NS_PER_S)
        stable_ns = int(stability * NS_PER_S)
        checks_since: int | None = None
        all_since: int | None = None
        checks_at: int | None = None
        all_at: int | None = None
        while True:
            self.note_collateral()
            now = time.monotonic_ns()
            event_ns = max(since_ns, self.watcher.last_change_ns)
            checks_ok = self.check_round().passed
            all_ok = checks_ok and all(ok for _, ok, _ in self.managed_state())
            checks_since = (checks_since or event_ns) if checks_ok else None
            all_since = (all_since or event_ns) if all_ok else None
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
        cycles = sum(
            1
            for c in self.watcher.changes
            if c.type == "MODIFIED"
            and fault_ns <= c.received_ns <= end
            and any(m.ref == c.ref and not m.must_renew for m in self.managed)
        )
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
        )


def _renew_time(obj: RawObject | None) -> str | None:
    spec = (obj or {}).get("spec") or {}
    return str(spec.get("renewTime") or spec.get("acquireTime") or "") or None
