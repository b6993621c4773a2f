"""``chaos.operatorchaos.io/v1alpha1``: the experiment API.

Names are loaded on first use (PEP 562): ``validate`` needs the experiment models, not the
result and status models, and every millisecond of start-up counts for a CLI.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from operator_chaos.api.v1alpha1.injection import (
        DangerLevel,
        InjectionSpec,
        InjectionType,
        PlannedChange,
        RecoveryModel,
    )
    from operator_chaos.api.v1alpha1.result import (
        CheckOutcome,
        CheckRound,
        ExperimentResult,
        Impact,
        InjectionOutcome,
        Lane,
        RecoveryOutcome,
        ResourceOutcome,
        Restoration,
        RevertedChange,
        RevertOutcome,
        SuiteResult,
        Timeline,
        Transition,
    )
    from operator_chaos.api.v1alpha1.status import (
        ExperimentEvent,
        ExperimentStatus,
        Phase,
        PhaseRecord,
        Verdict,
    )

_WHERE = {
    "API_VERSION": "experiment",
    "BlastRadiusSpec": "experiment",
    "ChaosExperiment": "experiment",
    "CheckOutcome": "result",
    "CheckRound": "result",
    "CheckType": "checks",
    "ConditionTrueCheck": "checks",
    "DangerLevel": "injection",
    "Duration": "durations",
    "ExperimentEvent": "status",
    "ExperimentResult": "result",
    "ExperimentSpec": "experiment",
    "ExperimentStatus": "status",
    "FieldEqualsCheck": "checks",
    "HypothesisSpec": "experiment",
    "Impact": "result",
    "InjectionOutcome": "result",
    "InjectionSpec": "injection",
    "InjectionType": "injection",
    "KIND": "experiment",
    "Lane": "result",
    "ObjectMeta": "experiment",
    "Phase": "status",
    "PhaseRecord": "status",
    "PlannedChange": "injection",
    "RecoveryModel": "injection",
    "RecoveryOutcome": "result",
    "ReplicaCountCheck": "checks",
    "ResourceExistsCheck": "checks",
    "ResourceOutcome": "result",
    "Restoration": "result",
    "RevertOutcome": "result",
    "RevertedChange": "result",
    "SteadyStateCheck": "checks",
    "SteadyStateSpec": "checks",
    "SuiteResult": "result",
    "TargetSpec": "experiment",
    "Timeline": "result",
    "Transition": "result",
    "Verdict": "status",
    "format_duration": "durations",
    "parse_duration": "durations",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


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
    "Impact",
    "InjectionOutcome",
    "InjectionSpec",
    "InjectionType",
    "Lane",
    "ObjectMeta",
    "Phase",
    "PhaseRecord",
    "PlannedChange",
    "RecoveryModel",
    "RecoveryOutcome",
    "ReplicaCountCheck",
    "ResourceExistsCheck",
    "ResourceOutcome",
    "Restoration",
    "RevertOutcome",
    "RevertedChange",
    "SteadyStateCheck",
    "SteadyStateSpec",
    "SuiteResult",
    "TargetSpec",
    "Timeline",
    "Transition",
    "Verdict",
    "format_duration",
    "parse_duration",
]
