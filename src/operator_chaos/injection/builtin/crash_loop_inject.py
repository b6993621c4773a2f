"""CrashLoopInject: point a Deployment's container at a command that does not exist.

Breaks: new pods crash on start and back off, so a rollout stalls half-done; the operator should
report the degradation and restore its own template. Revert restores the original command.
"""

from pydantic import Field

from operator_chaos.api.v1alpha1 import DangerLevel, InjectionType, RecoveryModel
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.fields import NamespaceName, ObjectName


class Params(InjectionParams):
    """The Deployment and container to break."""

    name: ObjectName = Field(description="Name of the Deployment in the target namespace")
    container_name: NamespaceName | None = Field(
        default=None, description="Container to break (default: the first container)"
    )


SPEC = TypeSpec(
    injection_type=InjectionType.CRASH_LOOP_INJECT,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Replace a container's command so its pods crash-loop.",
    affects_pods=True,
)
