"""NetworkPartition: cut the selected pods off the network with a deny-all NetworkPolicy.

Breaks: traffic to and/or from the pods (including to the API server) stops, so watches stall
and status goes stale. Revert deletes the policy, and the operator must resync on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema

from operator_chaos.api.v1alpha1 import (
    DangerLevel,
    Duration,
    ExperimentSpec,
    InjectionType,
    PlannedChange,
    RecoveryModel,
)
from operator_chaos.api.v1alpha1.durations import format_duration
from operator_chaos.injection import targets
from operator_chaos.injection.base import Access, FieldPath, InjectionParams, RecordData, TypeSpec
from operator_chaos.injection.fields import PARAMS, PodSelector
from operator_chaos.injection.protocol import (
    Damage,
    Injector,
    Plan,
    RevertAction,
    Reverted,
    Scope,
)
from operator_chaos.kube.port import KubeClient, ResourceRef, StateView
from operator_chaos.safety import labels
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger


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


class Record(RecordData):
    """The policy is ours when its run label names this run."""

    run_id: str


SPEC = TypeSpec(
    injection_type=InjectionType.NETWORK_PARTITION,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Isolate pods with a deny-all NetworkPolicy until the fault is reverted.",
    affects_pods=True,
    record=Record,
    access=(
        Access(("create", "delete")),
        Access(("list",), on="namespace", resource="pods", why="NetworkPartition selects pods"),
    ),
    example=lambda component, namespace: {
        "labelSelector": f"app.kubernetes.io/name={component}",
        "direction": "Both",
    },
)


@dataclass(frozen=True, slots=True)
class Isolation:
    """What ``plan`` decided: the policy types and the pods isolated at planning."""

    policy_types: tuple[str, ...]
    pods: tuple[str, ...]


class NetworkPartition:
    """Creates a deny-all NetworkPolicy over the selected pods; revert deletes exactly it."""

    spec = SPEC

    @staticmethod
    def _policy_name(scope: Scope) -> str:
        return f"chaos-partition-{scope.run_id}"

    async def plan(self, kube: KubeClient, params: Params, scope: Scope) -> Plan[Isolation]:
        namespace = targets.need_namespace(scope, "NetworkPartition")
        pods = await targets.live_pods(kube, namespace, params.label_selector)
        ref = ResourceRef(
            "networking.k8s.io/v1", "NetworkPolicy", self._policy_name(scope), namespace
        )
        types = (
            ["Ingress", "Egress"]
            if params.direction is Direction.BOTH
            else [params.direction.value]
        )
        return Plan(
            footprint=Footprint(
                targets=(ref,),
                namespaces=frozenset({namespace}),
                pods_affected=len(pods),
                affects_pods=True,
            ),
            changes=(
                PlannedChange(
                    target=str(ref),
                    field="(object)",
                    before="absent",
                    after=f"deny all {'+'.join(types)} for pods {params.label_selector}",
                ),
            ),
            state=Isolation(tuple(types), tuple(p["metadata"]["name"] for p in pods)),
        )

    async def inject(
        self,
        kube: KubeClient,
        params: Params,
        scope: Scope,
        plan: Plan[Isolation],
        ledger: RunLedger,
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        record = await ledger.put(
            ledger.new_record(self.spec.injection_type, ref, Record(run_id=scope.run_id))
        )
        await kube.create(
            {
                "apiVersion": ref.api_version,
                "kind": ref.kind,
                "metadata": {
                    "name": ref.name,
                    "namespace": ref.namespace,
                    "labels": labels.managed(
                        scope.run_id, "fault", **{labels.TYPE: str(self.spec.injection_type)}
                    ),
                    "annotations": {labels.EXPIRES: scope.expires_at.isoformat()},
                },
                "spec": {
                    "podSelector": targets.to_label_selector(params.label_selector),
                    "policyTypes": list(plan.state.policy_types),
                    # No ingress/egress rules: everything the policy types cover is denied.
                },
            }
        )
        await ledger.mark(record, "applied")
        return [f"created {ref} isolating {len(plan.state.pods)} pod(s)"]

    async def confirm(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Isolation]
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        policy = await kube.get_or_none(ref)
        if policy is None:
            return [f"{ref} is missing: the partition is NOT in effect"]
        pods = await targets.live_pods(kube, ref.namespace or "", params.label_selector)
        return [f"{ref} denies {'+'.join(policy['spec']['policyTypes'])} for {len(pods)} pod(s)"]

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted:
        ref = record.target.ref
        data = record.payload(Record)
        policy = await kube.get_or_none(ref)
        if policy is None:
            return Reverted(str(ref), RevertAction.GONE, detail="the policy was already deleted")
        owner = (policy["metadata"].get("labels") or {}).get(labels.RUN)
        if owner != data.run_id:
            return Reverted(str(ref), RevertAction.REPLACED, detail=f"not ours (run {owner!r})")
        await kube.delete(ref, uid=policy["metadata"]["uid"])
        return Reverted(str(ref), RevertAction.REMOVED)

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        """The partition is in effect while our NetworkPolicy exists."""
        ref = record.target.ref

        def restored(view: StateView) -> tuple[bool, str]:
            present = view.get(ref) is not None
            return not present, "policy in place" if present else "no policy"

        return [Damage(str(ref), "(partition)", (ref,), restored)]


INJECTOR: Injector[Params] = NetworkPartition()  # annotated so mypy checks the protocol
