"""PodKill: delete running pods that match a selector.

Breaks: the selected pods disappear at once, so the operator's controller (or the workload's
ReplicaSet) must notice and bring replacements up. Revert has nothing to restore: the fault is
the deletion itself, and recovery is entirely the cluster's job.
"""

from collections.abc import Sequence

from pydantic import Field

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import PARAMS, LabelSelector


class Params(InjectionParams):
    """Which pods to kill and how many."""

    label_selector: LabelSelector = Field(
        description="Pods to kill, e.g. app.kubernetes.io/name=my-operator"
    )
    count: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="How many matching pods to kill (default: injection.count)",
    )

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        problems: list[tuple[FieldPath, str]] = []
        explicit = "count" in spec.injection.model_fields_set
        if self.count is not None and explicit and self.count != spec.injection.count:
            problems.append(
                (
                    (*PARAMS, "count"),
                    f"conflicts with injection.count ({spec.injection.count}); set one of them",
                )
            )
        count = self.count if self.count is not None else spec.injection.count
        limit = spec.blast_radius.max_pods_affected
        if count > limit:
            path = (*PARAMS, "count") if self.count is not None else ("injection", "count")
            problems.append(
                (
                    path,
                    f"kills {count} pods but blastRadius.maxPodsAffected is {limit};"
                    " lower the count or raise maxPodsAffected",
                )
            )
        return problems


SPEC = TypeSpec(
    injection_type=InjectionType.POD_KILL,
    danger=DangerLevel.LOW,
    params=Params,
    summary="Delete pods matching a label selector; the operator must replace them.",
    affects_pods=True,
    instantaneous=True,
)
