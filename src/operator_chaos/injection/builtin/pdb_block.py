"""PDBBlock: add a PodDisruptionBudget that allows no voluntary disruption of the pods.

Breaks: evictions (node drains, cluster upgrades, descheduling) of the selected pods are refused,
which tests whether the operator's own rollouts and upgrades still make progress. Revert deletes
the budget.
"""

from pydantic import Field

from operator_chaos.api.v1alpha1 import DangerLevel, InjectionType, RecoveryModel
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.fields import ObjectName, PodSelector


class Params(InjectionParams):
    """The pods to pin and the budget's name."""

    label_selector: PodSelector = Field(description="Pods the budget covers, e.g. app=my-operator")
    name: ObjectName | None = Field(
        default=None, description="Name of the PodDisruptionBudget (default: derived)"
    )


SPEC = TypeSpec(
    injection_type=InjectionType.PDB_BLOCK,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Block evictions of pods with a maxUnavailable=0 PodDisruptionBudget.",
    affects_pods=True,
)
