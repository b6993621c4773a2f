"""The verdict rules (evaluate.verdict.judge): which evidence gives which verdict, and why."""

from dataclasses import replace

import pytest

from operator_chaos.api.v1alpha1 import RecoveryModel, Verdict
from operator_chaos.evaluate.verdict import NO_IMPACT, Evidence, judge

GOOD = Evidence(
    steady_before=True,
    observable=True,
    recovered=True,
    recovery_ms=1200,
    timeout_ms=60_000,
    reconcile_cycles=3,
    max_reconcile_cycles=10,
    reconcile_timeout_ms=300_000,
)


def test_clean_recovery_is_resilient() -> None:
    j = judge(GOOD)
    assert (j.verdict, j.message, j.deviations) == (
        Verdict.RESILIENT,
        "recovered in 1200 ms after the lift",
        (),
    )


@pytest.mark.parametrize(
    ("change", "verdict", "message"),
    [
        (
            {"steady_before": False},
            Verdict.INCONCLUSIVE,
            "steady state did not hold before injection; nothing injected",
        ),
        (
            {"observable": False, "observation_errors": ["watch X: 403", "watch Y: 403"]},
            Verdict.INCONCLUSIVE,
            "could not observe recovery: watch X: 403; watch Y: 403",
        ),
        (
            {"observable": False},
            Verdict.INCONCLUSIVE,
            "could not observe recovery: observation failed",
        ),
        (
            {"recovered": False, "recovery_ms": None},
            Verdict.FAILED,
            "steady state not restored within the recovery timeout (60s after the lift)",
        ),
    ],
)
def test_verdicts_without_recovery(
    change: dict[str, object], verdict: Verdict, message: str
) -> None:
    j = judge(replace(GOOD, **change))  # type: ignore[arg-type]
    assert (j.verdict, j.message, j.deviations) == (verdict, message, ())


@pytest.mark.parametrize(
    ("change", "deviation"),
    [
        (
            {"unreconciled": ["Deployment ns/x (missing)"]},
            "managed resource not reconciled: Deployment ns/x (missing)",
        ),
        ({"reconcile_cycles": 11}, "11 reconcile cycles, more than maxReconcileCycles 10"),
        (
            {"recovery_ms": 300_001},
            "recovered after 300001 ms, later than reconcileTimeout 300000 ms",
        ),
        (
            {"collateral": ["Deployment ns/y ready replicas"]},
            "collateral damage: Deployment ns/y ready replicas",
        ),
    ],
)
def test_each_deviation_alone_degrades(change: dict[str, object], deviation: str) -> None:
    j = judge(replace(GOOD, **change))  # type: ignore[arg-type]
    assert j.verdict is Verdict.DEGRADED
    assert j.deviations == (deviation,)
    assert j.message.endswith("with deviations")


@pytest.mark.parametrize(
    "change",
    [
        {"reconcile_cycles": 10},  # the limit itself is allowed
        {"max_reconcile_cycles": None, "reconcile_cycles": 999},  # no knowledge: no limit
        {"recovery_ms": 300_000},  # exactly at reconcileTimeout
        {"reconcile_timeout_ms": None, "recovery_ms": 59_000},
        {"recovery_ms": 0},
    ],
)
def test_boundaries_stay_resilient(change: dict[str, object]) -> None:
    assert judge(replace(GOOD, **change)).verdict is Verdict.RESILIENT  # type: ignore[arg-type]


def test_all_deviations_are_listed_in_a_stable_order() -> None:
    j = judge(
        replace(
            GOOD,
            unreconciled=["A", "B"],
            reconcile_cycles=12,
            recovery_ms=400_000,
            collateral=["C"],
        )
    )
    assert j.verdict is Verdict.DEGRADED
    assert j.deviations == (
        "managed resource not reconciled: A",
        "managed resource not reconciled: B",
        "12 reconcile cycles, more than maxReconcileCycles 10",
        "recovered after 400000 ms, later than reconcileTimeout 300000 ms",
        "collateral damage: C",
    )
    assert j.message == "recovered in 400000 ms after the lift, with deviations"


@pytest.mark.parametrize(
    ("change", "verdict"),
    [
        # Not steady before beats everything else.
        ({"steady_before": False, "observable": False, "recovered": False}, Verdict.INCONCLUSIVE),
        # Unobservable beats "not recovered": we cannot blame the operator for our blindness.
        ({"observable": False, "recovered": False, "collateral": ["x"]}, Verdict.INCONCLUSIVE),
        # Failed beats deviations: nothing to grade once recovery did not happen.
        ({"recovered": False, "unreconciled": ["x"], "collateral": ["y"]}, Verdict.FAILED),
    ],
)
def test_precedence(change: dict[str, object], verdict: Verdict) -> None:
    j = judge(replace(GOOD, **change))  # type: ignore[arg-type]
    assert j.verdict is verdict
    assert j.deviations == ()


REPAIR = replace(GOOD, model=RecoveryModel.REPAIR)


def test_repair_restored_by_the_operator_is_resilient_and_says_so() -> None:
    j = judge(REPAIR)
    assert j.verdict is Verdict.RESILIENT
    assert j.message == (
        "the operator restored the damage; recovered in 1200 ms after the injection"
    )


def test_repair_not_restored_by_the_operator_fails_even_when_the_checks_pass() -> None:
    """The twin of the test above: the same evidence, but the damage was restored by the tool
    (the checks never noticed the fault): the operator did not do its part."""
    j = judge(
        replace(
            REPAIR, unrepaired=["Deployment demo/app metadata.labels.tier"], restored_by_tool=True
        )
    )
    assert j.verdict is Verdict.FAILED
    assert j.message == (
        "the operator did not restore Deployment demo/app metadata.labels.tier within 60s;"
        " operator-chaos restored it"
    )


def test_repair_not_restored_by_anybody_says_nobody() -> None:
    j = judge(replace(REPAIR, unrepaired=["Pod demo/x (pod)"], restored_by_tool=False))
    assert j.verdict is Verdict.FAILED
    assert j.message.endswith("; nobody restored it")


def test_unrepaired_only_counts_for_repair_faults() -> None:
    assert judge(replace(GOOD, unrepaired=["x"])).verdict is Verdict.RESILIENT


def test_no_impact_is_said_and_can_be_required() -> None:
    quiet = replace(GOOD, impact_observed=False)
    j = judge(quiet)
    assert j.verdict is Verdict.RESILIENT
    assert NO_IMPACT in j.message
    strict = judge(replace(quiet, require_impact=True))
    assert strict.verdict is Verdict.INCONCLUSIVE
    assert strict.message == f"{NO_IMPACT}; it proves nothing"
    # an impact that was observed is never flagged
    assert NO_IMPACT not in judge(replace(GOOD, require_impact=True)).message


def test_repair_failure_beats_no_impact_and_deviations() -> None:
    j = judge(
        replace(
            REPAIR, unrepaired=["x"], impact_observed=False, collateral=["c"], require_impact=True
        )
    )
    assert j.verdict is Verdict.FAILED
