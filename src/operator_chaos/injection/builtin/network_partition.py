"""NetworkPartition: cut the selected pods off the network with a deny-all NetworkPolicy.

Breaks: traffic to and/or from the pods (including to the API server) stops, so watches stall
and status goes stale. Revert deletes the policy, and the operator must resync on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema

from operator_chaos.api.v1alpha1 import (
    DangerLevel,
    Duration,
    ExperimentSpec,
    InjectionType,
    RecoveryModel,
)
from operator_chaos.api.v1alpha1.durations import format_duration
from operator_chaos.injection import created, targets
from operator_chaos.injection.base import Access, FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import PARAMS, PodSelector
from operator_chaos.injection.protocol import (
    Injector,
    Scope,
)
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    pass


class Direction(StrEnum):
    """Which traffic the policy blocks."""

    INGRESS = "Ingress"
    EGRESS = "Egress"
    BOTH = "Both"


def _direction(value: object) -> object:
    """Accept ``ingress``/``INGRESS`` as well as ``Ingress``: the corpus spells it in lowercase."""
    if isinstance(value, str):
        for member in Direction:
            if member.value.lower() == value.strip().lower():
                return member
    return value


_SPELLINGS = [form for d in Direction for form in (d.value, d.value.lower(), d.value.upper())]


class Params(InjectionParams):
    """Which pods to isolate and in which direction."""

    label_selector: PodSelector = Field(description="Pods to isolate, e.g. app=my-operator")
    direction: Annotated[
        Direction,
        BeforeValidator(_direction),
        WithJsonSchema({"type": "string", "enum": _SPELLINGS}),
    ] = Field(
        default=Direction.BOTH,
        description="Traffic to block: Ingress, Egress or Both (case-insensitive)",
    )
    duration: Duration | None = Field(
        default=None,
        description="How long the partition lasts before it is lifted (default: the ttl)",
    )

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        if self.duration is not None and self.duration > spec.injection.ttl:
            return [
                (
                    (*PARAMS, "duration"),
                    f"duration {format_duration(self.duration)} exceeds injection.ttl"
                    f" {format_duration(spec.injection.ttl)}; shorten it or raise the ttl",
                )
            ]
        if self.duration is not None and self.duration <= timedelta(0):
            return [((*PARAMS, "duration"), "duration must be positive, e.g. 60s")]
        return []


SPEC = TypeSpec(
    injection_type=InjectionType.NETWORK_PARTITION,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Isolate pods with a deny-all NetworkPolicy until the fault is reverted.",
    affects_pods=True,
    record=created.CreatedRecord,
    access=(
        Access(("create", "delete")),
        Access(("list",), on="namespace", resource="pods", why="NetworkPartition selects pods"),
    ),
    example=lambda component, namespace: {
        "labelSelector": f"app.kubernetes.io/name={component}",
        "direction": "Both",
    },
)


class NetworkPartition(created.CreatedFault[Params]):
    """Creates a deny-all NetworkPolicy over the selected pods; revert deletes exactly it."""

    spec = SPEC
    what = "partition policy"

    def ref(self, params: Params, scope: Scope) -> ResourceRef:
        namespace = targets.need_namespace(scope, "NetworkPartition")
        name = f"chaos-partition-{scope.run_id}"
        return ResourceRef("networking.k8s.io/v1", "NetworkPolicy", name, namespace)

    def content(self, params: Params) -> RawObject:
        return {
            "spec": {
                "podSelector": targets.to_label_selector(params.label_selector),
                "policyTypes": _types(params),
                # No ingress/egress rules: everything the policy types cover is denied.
            }
        }

    def summary(self, params: Params) -> str:
        return f"deny all {'+'.join(_types(params))} for pods {params.label_selector}"

    async def footprint(self, kube: KubeClient, params: Params, ref: ResourceRef) -> Footprint:
        return await created.pods_footprint(kube, ref, params.label_selector)

    async def verify(self, kube: KubeClient, params: Params, obj: RawObject) -> Sequence[str]:
        ref = ResourceRef.of(obj)
        pods = await targets.live_pods(kube, ref.namespace or "", params.label_selector)
        return [f"{ref} denies {'+'.join(obj['spec']['policyTypes'])} for {len(pods)} pod(s)"]


def _types(params: Params) -> list[str]:
    if params.direction is Direction.BOTH:
        return ["Ingress", "Egress"]
    return [params.direction.value]


INJECTOR: Injector[Params] = NetworkPartition()  # annotated so mypy checks the protocol
