"""DeploymentScaleZero: scale a Deployment to zero replicas.

Breaks: the workload goes away entirely while its Deployment still exists, so the operator must
notice the replica drift (or the outage) and scale it back. Revert restores the original count.
"""

from collections.abc import Sequence

from pydantic import Field

from operator_chaos.api.v1alpha1 import DangerLevel, InjectionType
from operator_chaos.injection import fieldswap, targets
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.fields import ObjectName
from operator_chaos.injection.protocol import Injector, Plan, Scope
from operator_chaos.kube.port import KubeClient
from operator_chaos.safety.ledger import RollbackRecord, RunLedger
from operator_chaos.safety.policy import Footprint


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


class DeploymentScaleZero:
    """Sets spec.replicas to 0; revert restores the count unless somebody already changed it."""

    spec = SPEC
    verbs = ("get", "patch")  # on each target's resource; `preflight` checks them
    path = ("spec", "replicas")

    async def plan(self, kube: KubeClient, params: InjectionParams, scope: Scope) -> Plan:
        assert isinstance(params, Params)
        namespace = targets.need_namespace(scope, "DeploymentScaleZero")
        ref, obj = await targets.locate(kube, "apps/v1", "Deployment", params.name, namespace)
        replicas = int(obj.get("spec", {}).get("replicas", 1))
        if replicas == 0:
            raise targets.InjectionRefused(f"{ref} already has 0 replicas: nothing to scale down")
        return Plan(
            footprint=Footprint(
                targets=(ref,),
                namespaces=frozenset({namespace}),
                pods_affected=replicas,
                affects_pods=True,
            ),
            changes=(fieldswap.change(ref, obj, self.path, 0),),
            state={"uid": obj["metadata"]["uid"]},
        )

    async def inject(
        self, kube: KubeClient, params: InjectionParams, scope: Scope, plan: Plan, ledger: RunLedger
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        line = await fieldswap.inject(
            kube, ledger, self.spec.injection_type, ref, plan.state["uid"], self.path, 0
        )
        return [line]

    async def confirm(
        self, kube: KubeClient, params: InjectionParams, scope: Scope, plan: Plan
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        return [await fieldswap.read_back(kube, ref, self.path)]

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> str:
        return await fieldswap.revert(kube, record)


INJECTOR: Injector = DeploymentScaleZero()  # annotated so mypy checks the protocol
