"""The result of one experiment run: the single record every report format renders.

It is also what ``run --format json`` prints and what is stored on the cluster per run, so
its shape is versioned (``schemaVersion``) and only ever extended.
"""

from datetime import datetime
from typing import Literal

from pydantic import Field

from operator_chaos.api.v1alpha1.base import ApiModel
from operator_chaos.api.v1alpha1.injection import DangerLevel, InjectionType
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


class PlannedChange(ApiModel):
    """One field the injection changes (the dry-run plan and the audit trail)."""

    target: str
    field: str
    before: str
    after: str


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


class RevertOutcome(ApiModel):
    """How the fault was undone."""

    reverted: bool
    details: list[str] = Field(default_factory=list)
    error: str = ""


class RecoveryOutcome(ApiModel):
    """What the observer saw after the revert."""

    recovered: bool
    recovery_time_ms: int | None = None
    timeout_ms: int
    stability_window_ms: int = 0
    reconcile_cycles: int = 0
    max_reconcile_cycles: int | None = None


class ResourceOutcome(ApiModel):
    """A managed resource from the knowledge model, checked after recovery."""

    resource: str
    reconciled: bool
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
    revert: RevertOutcome | None = None
    recovery: RecoveryOutcome | None = None
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
