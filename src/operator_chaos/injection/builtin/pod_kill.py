"""PodKill: delete running pods that match a selector.

Breaks: the selected pods disappear at once, so the operator's controller (or the workload's
ReplicaSet) must notice and bring replacements up. Revert has nothing to restore: the fault is
the deletion itself, and recovery is entirely the cluster's job.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import Field

from operator_chaos.api.v1alpha1 import (
    DangerLevel,
    ExperimentSpec,
    InjectionType,
    PlannedChange,
    RecoveryModel,
)
from operator_chaos.injection import targets
from operator_chaos.injection.base import Access, FieldPath, InjectionParams, RecordData, TypeSpec
from operator_chaos.injection.fields import PARAMS, LabelSelector
from operator_chaos.injection.protocol import (
    Damage,
    Injector,
    Plan,
    RevertAction,
    Reverted,
    Scope,
)
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef, Selection, StateView
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger


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
    grace_period_seconds: int = Field(
        default=0,
        ge=0,
        le=3600,
        description="Grace period of the deletion (default 0: a real kill, no SIGTERM first)",
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


class Record(RecordData):
    """One killed pod: which one, and what "replaced" means (the selector, the Ready count)."""

    uid: str
    selector: str
    ready_before: int


@dataclass(frozen=True, slots=True)
class Chosen:
    """The pods ``plan`` picked (name -> uid) and how many matching pods were Ready."""

    uids: Mapping[str, str]
    selector: str
    ready: int


SPEC = TypeSpec(
    injection_type=InjectionType.POD_KILL,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.LOW,
    params=Params,
    summary="Delete pods matching a label selector; the operator must replace them.",
    affects_pods=True,
    instantaneous=True,
    record=Record,
    access=(
        Access(("delete",)),
        Access(("list",), on="namespace", resource="pods", why="PodKill selects pods"),
    ),
    example=lambda component, namespace: {"labelSelector": f"app.kubernetes.io/name={component}"},
)


class PodKill:
    """Deletes ``count`` randomly chosen live pods; there is nothing to put back afterwards."""

    spec = SPEC

    async def plan(self, kube: KubeClient, params: Params, scope: Scope) -> Plan[Chosen]:
        namespace = targets.need_namespace(scope, "PodKill")
        pods = await targets.live_pods(kube, namespace, params.label_selector)
        count = params.count if params.count is not None else scope.count
        chosen = random.sample(pods, min(count, len(pods)))
        refs = tuple(ResourceRef("v1", "Pod", p["metadata"]["name"], namespace) for p in chosen)
        selection = Selection("v1", "Pod", namespace, params.label_selector)
        return Plan(
            footprint=Footprint(
                targets=refs,
                namespaces=frozenset({namespace}),
                pods_affected=len(pods),
                affects_pods=True,
            ),
            changes=tuple(
                PlannedChange(target=str(ref), field="(pod)", before="running", after="deleted")
                for ref in refs
            ),
            state=Chosen(
                uids={p["metadata"]["name"]: p["metadata"]["uid"] for p in chosen},
                selector=params.label_selector,
                ready=sum(1 for p in pods if _ready(p)),
            ),
            watch=(selection,),
        )

    async def inject(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Chosen], ledger: RunLedger
    ) -> Sequence[str]:
        done = []
        for ref in plan.footprint.targets:
            uid = plan.state.uids[ref.name]
            data = Record(uid=uid, selector=plan.state.selector, ready_before=plan.state.ready)
            record = await ledger.put(ledger.new_record(self.spec.injection_type, ref, data))
            # The uid precondition makes sure we delete the pod we planned to, not a namesake.
            await kube.delete(ref, uid=uid, grace_period_seconds=params.grace_period_seconds)
            await ledger.mark(record, "applied")
            done.append(f"deleted {ref}")
        return done

    async def confirm(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Chosen]
    ) -> Sequence[str]:
        seen = []
        for ref in plan.footprint.targets:
            pod = await kube.get_or_none(ref)
            gone = pod is None or pod["metadata"]["uid"] != plan.state.uids[ref.name]
            state = (
                "gone"
                if gone
                else "terminating"
                if pod and pod["metadata"].get("deletionTimestamp")
                else "still running"
            )
            seen.append(f"{ref}: {state}")
        return seen

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted:
        return Reverted(
            str(record.target.ref), RevertAction.GONE, detail="a killed pod is not brought back"
        )

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        """Restored when as many matching pods are Ready as before the kill, none of them
        the killed one (a replacement, or the pod's controller's new one)."""
        data = record.payload(Record)
        ref = record.target.ref
        killed = data.uid
        want = max(1, data.ready_before)
        selection = Selection("v1", "Pod", ref.namespace, data.selector)

        def restored(view: StateView) -> tuple[bool, str]:
            pods = [
                p
                for p in view.select(selection)
                if p["metadata"].get("uid") != killed and not p["metadata"].get("deletionTimestamp")
            ]
            ready = sum(1 for p in pods if _ready(p))
            return ready >= want, f"{ready}/{want} matching pods Ready"

        return [Damage(str(ref), "(pod)", (selection,), restored)]


def _ready(pod: RawObject) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


INJECTOR: Injector[Params] = PodKill()  # annotated so mypy checks the protocol
