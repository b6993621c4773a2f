"""How well did the operator cope? The verdict rules, in one place.

- Inconclusive: steady state did not hold before the fault, or we could not observe.
- Failed: the steady-state checks did not recover within ``hypothesis.recoveryTimeout``.
- Degraded: recovered, but with a deviation: managed resources not reconciled in time,
  more reconcile cycles than the knowledge model allows, later than the operator's own
  ``reconcileTimeout``, or other components' checks broke (collateral damage).
- Resilient: recovered in time with none of the above.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from operator_chaos.api.v1alpha1 import Verdict


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything the verdict depends on."""

    steady_before: bool
    observable: bool
    recovered: bool
    recovery_ms: int | None
    timeout_ms: int
    unreconciled: Sequence[str] = ()
    reconcile_cycles: int = 0
    max_reconcile_cycles: int | None = None
    reconcile_timeout_ms: int | None = None
    collateral: Sequence[str] = ()
    observation_errors: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    message: str
    deviations: tuple[str, ...]


def judge(e: Evidence) -> Judgement:
    """Apply the rules above."""
    if not e.steady_before:
        return Judgement(
            Verdict.INCONCLUSIVE, "steady state did not hold before injection; nothing injected", ()
        )
    if not e.observable:
        why = "; ".join(e.observation_errors) or "observation failed"
        return Judgement(Verdict.INCONCLUSIVE, f"could not observe recovery: {why}", ())
    if not e.recovered:
        return Judgement(
            Verdict.FAILED,
            f"steady state not restored within the recovery timeout ({e.timeout_ms} ms)",
            (),
        )
    deviations: list[str] = []
    deviations += [f"managed resource not reconciled: {u}" for u in e.unreconciled]
    if e.max_reconcile_cycles is not None and e.reconcile_cycles > e.max_reconcile_cycles:
        deviations.append(
            f"{e.reconcile_cycles} reconcile cycles, more than maxReconcileCycles"
            f" {e.max_reconcile_cycles}"
        )
    if (
        e.reconcile_timeout_ms is not None
        and e.recovery_ms is not None
        and e.recovery_ms > e.reconcile_timeout_ms
    ):
        deviations.append(
            f"recovered after {e.recovery_ms} ms, later than reconcileTimeout"
            f" {e.reconcile_timeout_ms} ms"
        )
    deviations += [f"collateral damage: {c}" for c in e.collateral]
    if deviations:
        return Judgement(
            Verdict.DEGRADED, f"recovered in {e.recovery_ms} ms with deviations", tuple(deviations)
        )
    return Judgement(Verdict.RESILIENT, f"recovered in {e.recovery_ms} ms", ())
