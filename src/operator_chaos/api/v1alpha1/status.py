"""Where an experiment stands and how it ended: phases, verdicts, timestamps, events."""

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from operator_chaos.api.v1alpha1.base import ApiModel


class Phase(StrEnum):
    """Lifecycle phases, in order; ``Aborted`` can follow any of them."""

    PENDING = "Pending"
    STEADY_STATE_PRE = "SteadyStatePre"
    INJECTING = "Injecting"
    HOLDING = "Holding"
    REVERTING = "Reverting"
    OBSERVING = "Observing"
    STEADY_STATE_POST = "SteadyStatePost"
    EVALUATING = "Evaluating"
    COMPLETE = "Complete"
    ABORTED = "Aborted"


class Verdict(StrEnum):
    """How well the operator coped."""

    RESILIENT = "Resilient"
    DEGRADED = "Degraded"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"


class PhaseRecord(ApiModel):
    """When a phase was entered and left."""

    phase: Phase
    started_at: datetime
    ended_at: datetime | None = None


class ExperimentEvent(ApiModel):
    """One notable thing that happened during a run (a change, an observation, an error)."""

    timestamp: datetime
    phase: Phase
    action: str
    target: str = ""
    message: str = ""
    details: dict[str, str] = Field(default_factory=dict)


class ExperimentStatus(ApiModel):
    """The status block of a ChaosExperiment (also the core of a run's JSON report)."""

    phase: Phase | None = None
    verdict: Verdict | None = None
    message: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    injection_started_at: datetime | None = None
    recovery_time_ms: int | None = Field(default=None, ge=0)
    phases: list[PhaseRecord] = Field(default_factory=list)
    events: list[ExperimentEvent] = Field(default_factory=list)
