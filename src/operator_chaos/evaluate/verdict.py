"""How well did the operator cope? The verdict rules, in one place, as pure functions.

Evidence comes from the observer's timeline. The rules, in order:

1. Inconclusive: steady state did not hold before the fault (nothing was injected), or the
   run could not observe what it needed (a watch was refused).
2. Failed (repair faults): the operator did not restore the damaged state within
   ``hypothesis.recoveryTimeout`` from the injection. The tool restored it afterwards; the
   verdict says so, because the question was whether the *operator* puts things back.
3. Failed: an invariant of the fault's hypothesis broke (a FinalizerBlock's target leaked
   dependants), or the steady-state checks did not recover within the recovery timeout (from the
   injection for repair faults, from the lift for condition faults).
4. Degraded: recovered, but with a deviation: managed resources not reconciled, more
   reconcile cycles than the knowledge model allows, later than the operator's own
   ``reconcileTimeout``, or other components' checks broke (collateral damage).
5. Inconclusive, only with ``--require-impact``: nothing watched ever broke (no impact).
6. Resilient: recovered in time with none of the above. When nothing watched ever broke,
   the message says "no impact observed": a fault that changes nothing proves nothing.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from operator_chaos.api.v1alpha1 import RecoveryModel, Verdict

NO_IMPACT = "no impact observed: the checks do not see this fault"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything the verdict depends on."""

    steady_before: bool
    observable: bool
    recovered: bool
    recovery_ms: int | None
    timeout_ms: int
    model: RecoveryModel = RecoveryModel.CONDITION
    unrepaired: Sequence[str] = ()
    """Repair faults: damaged state the operator had not restored by the timeout."""
    restored_by_tool: bool = False
    impact_observed: bool = True
    require_impact: bool = False
    unreconciled: Sequence[str] = ()
    broken_invariants: Sequence[str] = ()
    """What the hypothesis says must hold after the fault and did not (e.g. leaked pods)."""
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


def _seconds(ms: int) -> str:
    return f"{ms / 1000:g}s"


def _measured(e: Evidence) -> str:
    return "after the injection" if e.model is RecoveryModel.REPAIR else "after the lift"


def judge(e: Evidence) -> Judgement:
    """Apply the rules above."""
    if not e.steady_before:
        return Judgement(
            Verdict.INCONCLUSIVE, "steady state did not hold before injection; nothing injected", ()
        )
    if not e.observable:
        why = "; ".join(e.observation_errors) or "observation failed"
        return Judgement(Verdict.INCONCLUSIVE, f"could not observe recovery: {why}", ())
    if e.model is RecoveryModel.REPAIR and e.unrepaired:
        who = "operator-chaos restored it" if e.restored_by_tool else "nobody restored it"
        return Judgement(
            Verdict.FAILED,
            f"the operator did not restore {'; '.join(e.unrepaired)} within"
            f" {_seconds(e.timeout_ms)}; {who}",
            (),
        )
    if e.broken_invariants:
        return Judgement(
            Verdict.FAILED,
            f"the hypothesis does not hold {_measured(e)}: {'; '.join(e.broken_invariants)}",
            (),
        )
    if not e.recovered:
        return Judgement(
            Verdict.FAILED,
            f"steady state not restored within the recovery timeout ({_seconds(e.timeout_ms)}"
            f" {_measured(e)})",
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
    recovered = f"recovered in {e.recovery_ms} ms {_measured(e)}"
    if e.model is RecoveryModel.REPAIR:
        recovered = f"the operator restored the damage; {recovered}"
    if deviations:
        return Judgement(Verdict.DEGRADED, f"{recovered}, with deviations", tuple(deviations))
    if not e.impact_observed:
        if e.require_impact:
            return Judgement(Verdict.INCONCLUSIVE, f"{NO_IMPACT}; it proves nothing", ())
        return Judgement(Verdict.RESILIENT, f"{recovered} ({NO_IMPACT})", ())
    return Judgement(Verdict.RESILIENT, recovered, ())
