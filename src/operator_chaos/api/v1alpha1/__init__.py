"""``chaos.operatorchaos.io/v1alpha1``: the experiment API."""

from operator_chaos.api.v1alpha1.checks import (
    CheckType,
    ConditionTrueCheck,
    FieldEqualsCheck,
    ReplicaCountCheck,
    ResourceExistsCheck,
    SteadyStateCheck,
    SteadyStateSpec,
)
from operator_chaos.api.v1alpha1.durations import Duration, format_duration, parse_duration
from operator_chaos.api.v1alpha1.experiment import (
    API_VERSION,
    KIND,
    BlastRadiusSpec,
    ChaosExperiment,
    ExperimentSpec,
    HypothesisSpec,
    ObjectMeta,
    TargetSpec,
)
from operator_chaos.api.v1alpha1.injection import DangerLevel, InjectionSpec, InjectionType
from operator_chaos.api.v1alpha1.result import (
    CheckOutcome,
    CheckRound,
    ExperimentResult,
    InjectionOutcome,
    PlannedChange,
    RecoveryOutcome,
    ResourceOutcome,
    RevertOutcome,
    SuiteResult,
)
from operator_chaos.api.v1alpha1.status import (
    ExperimentEvent,
    ExperimentStatus,
    Phase,
    PhaseRecord,
    Verdict,
)

__all__ = [
    "API_VERSION",
    "KIND",
    "BlastRadiusSpec",
    "ChaosExperiment",
    "CheckOutcome",
    "CheckRound",
    "CheckType",
    "ConditionTrueCheck",
    "DangerLevel",
    "Duration",
    "ExperimentEvent",
    "ExperimentResult",
    "ExperimentSpec",
    "ExperimentStatus",
    "FieldEqualsCheck",
    "HypothesisSpec",
    "InjectionOutcome",
    "InjectionSpec",
    "InjectionType",
    "ObjectMeta",
    "Phase",
    "PhaseRecord",
    "PlannedChange",
    "RecoveryOutcome",
    "ReplicaCountCheck",
    "ResourceExistsCheck",
    "ResourceOutcome",
    "RevertOutcome",
    "SteadyStateCheck",
    "SteadyStateSpec",
    "SuiteResult",
    "TargetSpec",
    "Verdict",
    "format_duration",
    "parse_duration",
]
