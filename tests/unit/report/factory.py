"""Builds realistic results for the report tests: real models, no mocks.

``make_result`` fills every section (phases, checks, injection, revert, recovery, resources,
events) so each renderer is exercised end to end; keyword overrides change any field.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from operator_chaos.api.v1alpha1 import (
    CheckOutcome,
    CheckRound,
    DangerLevel,
    ExperimentEvent,
    ExperimentResult,
    Impact,
    InjectionOutcome,
    InjectionType,
    Lane,
    Phase,
    PhaseRecord,
    PlannedChange,
    RecoveryModel,
    RecoveryOutcome,
    ResourceOutcome,
    Restoration,
    RevertOutcome,
    SuiteResult,
    Timeline,
    Transition,
    Verdict,
)
from operator_chaos.api.v1alpha1.result import LaneKind

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
NASTY = "<b>&amp;</b> \"quoted\" 'single' — ü 日本 🚀"
"""Markup, entities, both quote kinds and non-ASCII text: must come out literally."""


def at(seconds: float) -> datetime:
    """A timestamp ``seconds`` after the start of the test run."""
    return T0 + timedelta(seconds=seconds)


def phases(*bounds: tuple[Phase, float, float | None]) -> list[PhaseRecord]:
    """Phase records from ``(phase, start seconds, end seconds or None)``."""
    return [
        PhaseRecord(phase=phase, started_at=at(start), ended_at=None if end is None else at(end))
        for phase, start, end in bounds
    ]


DEFAULT_PHASES = phases(
    (Phase.STEADY_STATE_PRE, 0, 2),
    (Phase.INJECTING, 2, 3),
    (Phase.HOLDING, 3, 13),
    (Phase.REVERTING, 13, 14),
    (Phase.OBSERVING, 14, 44),
    (Phase.STEADY_STATE_POST, 44, 45),
    (Phase.EVALUATING, 45, 45.5),
)


def make_result(
    experiment: str = "pod-kill",
    verdict: Verdict | None = Verdict.RESILIENT,
    **overrides: Any,
) -> ExperimentResult:
    """A complete, plausible run of one experiment; ``overrides`` replace fields by name."""
    fields: dict[str, Any] = {
        "run_id": f"run-{experiment}-0001",
        "experiment": experiment,
        "file": f"experiments/training-operator/{experiment}.yaml",
        "operator": "training-operator",
        "component": "controller",
        "tier": 1,
        "hypothesis": "The controller Deployment is recreated within 60s.",
        "cluster": "https://127.0.0.1:6443",
        "verdict": verdict,
        "phase": Phase.COMPLETE,
        "message": "",
        "started_at": at(0),
        "ended_at": at(45.5),
        "duration_ms": 45_500,
        "phases": DEFAULT_PHASES,
        "steady_state_pre": CheckRound(
            passed=True,
            timestamp=at(1),
            checks=[
                CheckOutcome(
                    check="Deployment kubeflow/training-operator Available",
                    passed=True,
                    value="1/1",
                )
            ],
        ),
        "steady_state_post": CheckRound(
            passed=True,
            timestamp=at(44.5),
            checks=[
                CheckOutcome(
                    check="Deployment kubeflow/training-operator Available",
                    passed=True,
                    value="1/1",
                )
            ],
        ),
        "injection": InjectionOutcome(
            type=InjectionType.POD_KILL,
            danger=DangerLevel.LOW,
            targets=["kubeflow/pod/training-operator-7d9f"],
            plan=[
                PlannedChange(
                    target="kubeflow/pod/training-operator-7d9f",
                    field="metadata",
                    before="present",
                    after="deleted",
                )
            ],
            injected_at=at(2.5),
            reverted_at=at(13.5),
            hold_ms=10_000,
            confirmations=["pod training-operator-7d9f gone"],
        ),
        "revert": RevertOutcome(reverted=True, details=["nothing to restore: pods are recreated"]),
        "recovery": RecoveryOutcome(
            recovered=True,
            recovery_time_ms=1_234,
            timeout_ms=60_000,
            stability_window_ms=5_000,
            reconcile_cycles=3,
            max_reconcile_cycles=10,
        ),
        "managed_resources": [
            ResourceOutcome(resource="Deployment kubeflow/training-operator", reconciled=True)
        ],
        "collateral": [],
        "deviations": [],
        "events": [
            ExperimentEvent(
                timestamp=at(2.5),
                phase=Phase.INJECTING,
                action="delete",
                target="pod/training-operator-7d9f",
                message="deleted pod",
                details={"uid": "1234", "grace": "0"},
            ),
            ExperimentEvent(
                timestamp=at(20),
                phase=Phase.OBSERVING,
                action="observed",
                target="deployment/training-operator",
                message="1/1 ready",
            ),
        ],
    }
    fields.update(overrides)
    return ExperimentResult(**fields)


def make_suite(*results: ExperimentResult, **overrides: Any) -> SuiteResult:
    """A suite holding ``results`` (none by default)."""
    fields: dict[str, Any] = {
        "started_at": T0,
        "ended_at": at(120),
        "cluster": "https://127.0.0.1:6443",
        "results": list(results),
    }
    fields.update(overrides)
    return SuiteResult(**fields)


def mixed_suite() -> SuiteResult:
    """One run of every outcome: Resilient, Degraded, Failed, Inconclusive, dry run, no verdict."""
    return make_suite(
        make_result("pod-kill"),
        make_result(
            "network-partition",
            Verdict.DEGRADED,
            deviations=["recovery took 48000 ms (budget 30000 ms)"],
            recovery=RecoveryOutcome(
                recovered=True, recovery_time_ms=48_000, timeout_ms=60_000, reconcile_cycles=7
            ),
            message="slow recovery",
        ),
        make_result(
            "rbac-revoke",
            Verdict.FAILED,
            deviations=["Deployment kubeflow/training-operator not Available after 60s"],
            recovery=RecoveryOutcome(recovered=False, timeout_ms=60_000, reconcile_cycles=0),
            message="operator did not recover",
            operator="kserve",
            component="kserve-controller",
        ),
        make_result(
            "webhook-disrupt",
            Verdict.INCONCLUSIVE,
            message="steady state failed before injection",
            injection=None,
            recovery=None,
            revert=None,
        ),
        make_result("finalizer-block", None, dry_run=True, recovery=None, revert=None, events=[]),
        make_result("config-drift", None, phase=Phase.ABORTED, message="interrupted"),
    )


def lane(name: str, kind: LaneKind, *changes: tuple[int, bool, str]) -> Lane:
    """A timeline lane from ``(ms since origin, ok, detail)`` transitions."""
    return Lane(
        name=name,
        kind=kind,
        transitions=[
            Transition(at_ms=at_ms, ok=ok, detail=detail) for at_ms, ok, detail in changes
        ],
    )


CHECK = "Deployment kubeflow/training-operator Available"
LABEL_TARGET = "Deployment kubeflow/training-operator"


def repaired_run() -> ExperimentResult:
    """Repair fault the operator repaired: a label deleted, put back 812 ms later."""
    return make_result(
        "label-stomping",
        recovery_model=RecoveryModel.REPAIR,
        recovery=RecoveryOutcome(
            recovered=True,
            recovery_time_ms=900,
            measured_from="injection",
            timeout_ms=60_000,
            stability_window_ms=5_000,
        ),
        impact=Impact(
            observed=True,
            time_to_impact_ms=150,
            broken=[f"check {CHECK} failed at +150 ms for 750 ms"],
        ),
        restorations=[
            Restoration(
                target=LABEL_TARGET,
                field="metadata.labels.app",
                restored_by="operator",
                at_ms=812,
                detail="label app=training-operator",
            )
        ],
        timeline=Timeline(
            origin=T0,
            injected_ms=2_000,
            repaired_ms=2_812,
            recovered_ms=2_900,
            stable_until_ms=7_900,
            deadline_ms=62_000,
            ended_ms=8_100,
            lanes=[
                lane(
                    f"{LABEL_TARGET} label app",
                    "damage",
                    (0, True, "app=training-operator"),
                    (2_000, False, "label app deleted"),
                    (2_812, True, "app=training-operator"),
                ),
                lane(CHECK, "check", (0, True, "1/1"), (2_150, False, "0/1"), (2_900, True, "1/1")),
                lane("Service kubeflow/training-operator", "managed", (0, True, "exists")),
                lane("Deployment monitoring/prometheus Available", "collateral", (0, True, "1/1")),
            ],
        ),
    )


def tool_restored_run() -> ExperimentResult:
    """Repair fault the operator never repaired: operator-chaos restored it after the deadline."""
    return make_result(
        "crd-mutation",
        Verdict.FAILED,
        recovery_model=RecoveryModel.REPAIR,
        recovery=RecoveryOutcome(
            recovered=False, measured_from="injection", timeout_ms=10_000, stability_window_ms=2_000
        ),
        impact=Impact(
            observed=True, time_to_impact_ms=100, broken=[f"check {CHECK} failed at +100 ms"]
        ),
        restorations=[
            Restoration(
                target="PyTorchJob kubeflow/demo",
                field="spec.runPolicy.suspend",
                restored_by="operator-chaos",
                at_ms=10_050,
            )
        ],
        timeline=Timeline(
            origin=T0,
            injected_ms=2_000,
            deadline_ms=12_000,
            restored_by_tool_ms=12_050,
            ended_ms=12_600,
            lanes=[
                lane(
                    "PyTorchJob kubeflow/demo spec.runPolicy.suspend",
                    "damage",
                    (0, True, "false"),
                    (2_000, False, "true"),
                    (12_050, True, "false (restored by operator-chaos)"),
                ),
                lane(CHECK, "check", (0, True, "1/1"), (2_100, False, "0/1")),
            ],
        ),
    )


def condition_run() -> ExperimentResult:
    """Condition fault held 10 s then lifted; the operator resumed 400 ms after the lift."""
    return make_result(
        "network-partition",
        recovery_model=RecoveryModel.CONDITION,
        recovery=RecoveryOutcome(
            recovered=True,
            recovery_time_ms=400,
            measured_from="lift",
            timeout_ms=30_000,
            stability_window_ms=2_000,
        ),
        impact=Impact(
            observed=True,
            time_to_impact_ms=3_000,
            broken=["check Lease kubeflow/training-operator renewed failed at +3.000 s for 7.4 s"],
        ),
        timeline=Timeline(
            origin=T0,
            injected_ms=2_000,
            lifted_ms=12_000,
            recovered_ms=12_400,
            stable_until_ms=14_400,
            deadline_ms=42_000,
            ended_ms=14_500,
            lanes=[
                lane(
                    "NetworkPolicy kubeflow/chaos-partition",
                    "fault",
                    (0, True, "absent"),
                    (2_000, False, "deny-all policy selects 1 pod"),
                    (12_000, True, "policy deleted"),
                ),
                lane(
                    "Lease kubeflow/training-operator renewed",
                    "check",
                    (0, True, "renewed 1 s ago"),
                    (5_000, False, "not renewed for 3 s"),
                    (12_400, True, "renewed"),
                ),
            ],
        ),
    )


def no_impact_run() -> ExperimentResult:
    """A fault nothing watched noticed: every lane stayed ok."""
    return make_result(
        "pod-kill",
        Verdict.RESILIENT,
        recovery_model=RecoveryModel.REPAIR,
        recovery=RecoveryOutcome(
            recovered=True, recovery_time_ms=0, measured_from="injection", timeout_ms=60_000
        ),
        impact=Impact(observed=False),
        restorations=[
            Restoration(
                target="Pod kubeflow/training-operator-7d9f",
                restored_by="operator",
                at_ms=300,
                detail="replacement pod training-operator-8c2a Ready",
            )
        ],
        timeline=Timeline(
            origin=T0,
            injected_ms=2_000,
            repaired_ms=2_300,
            recovered_ms=2_000,
            stable_until_ms=7_000,
            deadline_ms=62_000,
            ended_ms=7_100,
            lanes=[lane(CHECK, "check", (0, True, "1/1"))],
        ),
    )


def timeline_suite() -> SuiteResult:
    """The four timeline shapes together."""
    return make_suite(repaired_run(), tool_restored_run(), condition_run(), no_impact_run())
