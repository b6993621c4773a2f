"""DeploymentScaleZero: scale a Deployment to zero replicas.

Breaks: the workload goes away entirely while its Deployment still exists, so the operator must
notice the replica drift (or the outage) and scale it back. Revert restores the original count.
"""

from pydantic import Field

from operator_chaos.api.v1alpha1 import DangerLevel, InjectionType, RecoveryModel
from operator_chaos.injection import fieldswap, targets
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.fields import ObjectName
from operator_chaos.injection.protocol import Injector, Scope
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.safety.policy import Footprint


class Params(InjectionParams):
    """The Deployment to scale down."""

    name: ObjectName = Field(description="Name of the Deployment in the target namespace")


SPEC = TypeSpec(
    injection_type=InjectionType.DEPLOYMENT_SCALE_ZERO,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Scale a Deployment to 0 replicas; the operator must restore it.",
    affects_pods=True,
    record=fieldswap.FieldRecord,
    example=lambda component, namespace: {"name": component},
)


class DeploymentScaleZero(fieldswap.FieldFault[Params]):
    """Sets spec.replicas to 0; revert restores the count unless somebody already changed it."""

    spec = SPEC

    async def target(
        self, kube: KubeClient, params: Params, scope: Scope
    ) -> tuple[ResourceRef, RawObject]:
        namespace = targets.need_namespace(scope, "DeploymentScaleZero")
        ref, obj = await targets.locate(kube, "apps/v1", "Deployment", params.name, namespace)
        if int(obj.get("spec", {}).get("replicas", 1)) == 0:
            raise targets.InjectionRefused(f"{ref} already has 0 replicas: nothing to scale down")
        return ref, obj

    def field_path(self, params: Params) -> tuple[str, ...]:
        return ("spec", "replicas")

    def new_value(self, params: Params) -> int:
        return 0

    def footprint(self, ref: ResourceRef, obj: RawObject) -> Footprint:
        # Every replica goes away: they count against maxPodsAffected.
        replicas = int(obj.get("spec", {}).get("replicas", 1))
        return Footprint(
            targets=(ref,),
            namespaces=targets.namespaces_of(ref),
            pods_affected=replicas,
            affects_pods=True,
        )


INJECTOR: Injector[Params] = DeploymentScaleZero()  # annotated so mypy checks the protocol
