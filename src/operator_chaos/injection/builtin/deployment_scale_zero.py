"""DeploymentScaleZero: scale a Deployment to zero replicas.

Breaks: the workload goes away entirely while its Deployment still exists, so the operator must
notice the replica drift (or the outage) and scale it back. Revert restores the original count.
"""

from pydantic import Field

from operator_chaos.api.v1alpha1 import DangerLevel, InjectionType
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.fields import ObjectName


class Params(InjectionParams):
    """The Deployment to scale down."""

    name: ObjectName = Field(description="Name of the Deployment in the target namespace")


SPEC = TypeSpec(
    injection_type=InjectionType.DEPLOYMENT_SCALE_ZERO,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Scale a Deployment to 0 replicas; the operator must restore it.",
    affects_pods=True,
)
