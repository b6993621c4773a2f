"""Did the operator put everything back? Steady state, managed resources, collateral damage.

One :class:`Observer` watches every object involved from before the fault until the verdict,
so no transition is missed (a pod kill can flip a Deployment to unavailable and back within
a second). Recovery is the first moment, at or after the revert, from which every check holds
for a whole stability window; its time is taken from the watch event that completed it.
"""

import time
from datetime import UTC, datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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

    def managed_state(self, since_ns: int) -> list[tuple[ManagedExpectation, bool, str]]:
        """Each managed resource: reconciled?, and why not."""
        rows = []
        for exp in self.managed:
            ok, why = self._managed_ok(exp, self.watcher.get(exp.ref), since_ns)
            rows.append((exp, ok, why))
        return rows

    def _managed_ok(
        self, exp: ManagedExpectation, obj: RawObject | None, since_ns: int
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
        if exp.must_renew and not any(
            c.ref == exp.ref and c.type in ("ADDED", "MODIFIED") and c.received_ns >= since_ns
            for c in self.watcher.changes
        ):
            return False, "not renewed since the fault was reverted"
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
        """Wait until the checks hold for ``stability`` s and managed resources reconcile.

        ``since_ns`` is when the fault was reverted (or applied, for instantaneous faults);
        ``fault_ns`` when it began (reconcile cycles are counted from there). Gives up at
        ``since_ns + timeout``.
        """
        deadline_ns = since_ns + int(timeout * NS_PER_S)
        stable_ns = int(stability * NS_PER_S)
        ok_since: int | None = None
        recovered_at: int | None = None
        reconciled_at: int | None = None
        while True:
            self.note_collateral()
            now = time.monotonic_ns()
            current = self.check_round()
            if current.passed:
                if ok_since is None:
                    ok_since = max(since_ns, self.watcher.last_change_ns)
            else:
                ok_since = None
            if recovered_at is None and ok_since is not None and now - ok_since >= stable_ns:
                recovered_at = ok_since
            if reconciled_at is None and all(ok for _, ok, _ in self.managed_state(since_ns)):
                reconciled_at = max(since_ns, self.watcher.last_change_ns)
            if recovered_at is not None and reconciled_at is not None:
                break
            if now >= deadline_ns and (ok_since is None or recovered_at is not None):
                break  # out of time (a stability window already under way may finish)
            if ok_since is not None and recovered_at is None:
                wait_ns = ok_since + stable_ns - now
            else:
                wait_ns = deadline_ns - now
            await self.watcher.wait_change(max(wait_ns, 1_000_000) / NS_PER_S)
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
            reconciled=reconciled_at is not None,
            reconciled_at_ns=reconciled_at,
            reconcile_cycles=cycles,
            last_round=self.check_round(),
        )
