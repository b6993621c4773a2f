"""The result of one experiment run: the single record every report format renders.

It is also what ``run --format json`` prints and what is stored on the cluster per run, so
its shape is versioned (``schemaVersion``) and only ever extended.
"""

from datetime import datetime
from typing import Literal

from pydantic import Field

from operator_chaos.api.v1alpha1.base import ApiModel
from operator_chaos.api.v1alpha1.injection import (
    DangerLevel,
    InjectionType,
    PlannedChange,
    RecoveryModel,
)
from operator_chaos.api.v1alpha1.status import ExperimentEvent, Phase, PhaseRecord, Verdict

SCHEMA_VERSION: Literal["operator-chaos.io/report/v1"] = "operator-chaos.io/report/v1"


class CheckOutcome(ApiModel):
    """One steady-state check evaluated once."""

    check: str = Field(description="human description, e.g. 'Deployment ns/name Available'")
    passed: bool
    value: str = ""
    error: str = ""


class CheckRound(ApiModel):
    """All checks evaluated at one moment."""

    passed: bool
    checks: list[CheckOutcome] = Field(default_factory=list)
    timestamp: datetime | None = None


class InjectionOutcome(ApiModel):
    """What was injected, when, and proof that it took effect."""

    type: InjectionType
    danger: DangerLevel
    targets: list[str] = Field(default_factory=list)
    plan: list[PlannedChange] = Field(default_factory=list)
    injected_at: datetime | None = None
    reverted_at: datetime | None = None
    hold_ms: int = 0
    confirmations: list[str] = Field(default_factory=list)


class RevertedChange(ApiModel):
    """What one revert found and did (facts; ``detail`` never holds a Secret value)."""

    target: str
    field: str = ""
    action: Literal["restored", "already", "left", "gone", "replaced", "removed", "recreated"]
    """restored/removed/recreated: the tool changed the cluster back; already: it was back
    before the revert (repaired); left: changed by someone since, kept; gone/replaced: the
    object is gone or is another object now."""
    detail: str = ""


class RevertOutcome(ApiModel):
    """How the fault was undone."""

    reverted: bool
    details: list[str] = Field(default_factory=list)
    changes: list[RevertedChange] = Field(default_factory=list)
    error: str = ""


class RecoveryOutcome(ApiModel):
    """When the operator was back: for repair faults timed from the injection, for condition
    faults from the lift (``measuredFrom``)."""

    recovered: bool
    recovery_time_ms: int | None = None
    measured_from: Literal["injection", "lift"] = "lift"
    timeout_ms: int
    stability_window_ms: int = 0
    reconcile_cycles: int = 0
    max_reconcile_cycles: int | None = None


class ResourceOutcome(ApiModel):
    """A managed resource from the knowledge model, checked after recovery."""

    resource: str
    reconciled: bool
    detail: str = ""


LaneKind = Literal["fault", "damage", "check", "managed", "collateral"]
Restorer = Literal["operator", "operator-chaos", "nobody"]


class Transition(ApiModel):
    """A lane changed state at ``atMs`` (milliseconds since the timeline's origin)."""

    at_ms: int
    ok: bool
    detail: str = ""


class Lane(ApiModel):
    """One thing watched for the whole run: a check, a managed resource, the damaged state.

    The first transition is the state when observation began; each later one is a watch
    event (or a deadline) at which the state flipped.
    """

    name: str
    kind: LaneKind
    transitions: list[Transition] = Field(default_factory=list)


class Timeline(ApiModel):
    """Everything observed from the steady-state pre-check to the verdict.

    All ``*Ms`` fields are milliseconds since ``origin`` (a monotonic clock, anchored to wall
    time once); a field is null when that moment did not happen.
    """

    origin: datetime
    injected_ms: int | None = None
    lifted_ms: int | None = None
    repaired_ms: int | None = None
    recovered_ms: int | None = None
    stable_until_ms: int | None = None
    deadline_ms: int | None = None
    restored_by_tool_ms: int | None = None
    ended_ms: int = 0
    lanes: list[Lane] = Field(default_factory=list)


class Impact(ApiModel):
    """Did the fault visibly change anything the checks or the knowledge model watch?"""

    observed: bool
    time_to_impact_ms: int | None = Field(
        default=None, description="from the injection to the first lane that broke"
    )
    broken: list[str] = Field(
        default_factory=list, description="what broke, when (ms after injection), for how long"
    )


class Restoration(ApiModel):
    """Who put one piece of damaged state back (repair faults)."""

    target: str
    field: str = ""
    restored_by: Restorer
    at_ms: int | None = Field(default=None, description="ms after the injection")
    detail: str = ""


class ExperimentResult(ApiModel):
    """Everything known about one run of one experiment."""

    schema_version: Literal["operator-chaos.io/report/v1"] = SCHEMA_VERSION
    run_id: str
    experiment: str
    file: str = ""
    operator: str
    component: str
    tier: int = 1
    hypothesis: str = ""
    cluster: str = ""
    dry_run: bool = False
    verdict: Verdict | None = None
    phase: Phase = Phase.PENDING
    message: str = ""
    started_at: datetime
    ended_at: datetime | None = None
    duration_ms: int = 0
    phases: list[PhaseRecord] = Field(default_factory=list)
    steady_state_pre: CheckRound | None = None
    steady_state_post: CheckRound | None = None
    injection: InjectionOutcome | None = None
    recovery_model: RecoveryModel | None = None
    revert: RevertOutcome | None = None
    recovery: RecoveryOutcome | None = None
    impact: Impact | None = None
    restorations: list[Restoration] = Field(default_factory=list)
    timeline: Timeline | None = None
    managed_resources: list[ResourceOutcome] = Field(default_factory=list)
    collateral: list[str] = Field(default_factory=list)
    deviations: list[str] = Field(default_factory=list)
    events: list[ExperimentEvent] = Field(default_factory=list)


class SuiteResult(ApiModel):
    """Several runs reported together (``suite`` and multi-file ``run``)."""

    schema_version: Literal["operator-chaos.io/report/v1"] = SCHEMA_VERSION
    started_at: datetime
    ended_at: datetime | None = None
    cluster: str = ""
    results: list[ExperimentResult] = Field(default_factory=list)
