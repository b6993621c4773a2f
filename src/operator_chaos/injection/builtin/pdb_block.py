"""PDBBlock: add a PodDisruptionBudget that allows no voluntary disruption of the pods.

Breaks: evictions (node drains, cluster upgrades, descheduling) of the selected pods are refused,
which tests whether the operator's own rollouts and upgrades still make progress. A condition
fault: held, then lifted (revert deletes exactly our budget).

Confirmed twice: the disruption controller's status (``disruptionsAllowed`` 0 over the pods it
counted) and the API server itself refusing a dry-run eviction of one selected pod (nothing is
evicted: ``dryRun: [All]``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import Field

from operator_chaos.api.v1alpha1 import DangerLevel, InjectionType, RecoveryModel
from operator_chaos.injection import created, targets
from operator_chaos.injection.base import Access, InjectionParams, TypeSpec
from operator_chaos.injection.fields import ObjectName, PodSelector
from operator_chaos.injection.labels import Operator, parse_selector
from operator_chaos.injection.protocol import InjectionFailed, Injector, Scope
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    from operator_chaos.kube import wait


class Params(InjectionParams):
    """The pods to pin and the budget's name."""

    label_selector: PodSelector = Field(description="Pods the budget covers, e.g. app=my-operator")
    name: ObjectName | None = Field(
        default=None, description="Name of the PodDisruptionBudget (default: derived)"
    )


class Record(created.CreatedRecord):
    """The budget this run created (deleted on revert only while it is still ours)."""


SPEC = TypeSpec(
    injection_type=InjectionType.PDB_BLOCK,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Block evictions of pods with a maxUnavailable=0 PodDisruptionBudget.",
    affects_pods=True,
    record=Record,
    access=(
        Access(("create", "delete"), why="create the budget, delete it on revert"),
        Access(("list",), on="namespace", resource="pods", why="count the pods it covers"),
        Access(
            ("create",),
            on="namespace",
            resource="pods/eviction",
            why="confirm: a dry-run eviction must be refused",
        ),
    ),
    example=lambda component, namespace: {"labelSelector": f"app.kubernetes.io/name={component}"},
)

SYNC_TIMEOUT_S = 15.0
"""How long ``confirm`` waits for the disruption controller to compute the budget's status."""
_NOT_NAME = re.compile(r"[^a-z0-9-]+")


def default_name(selector: str) -> str:
    """``chaos-pdb-<value>``: the value of the first equality label by key (the reference's
    naming), made a valid object name."""
    pairs = sorted(
        (r.key, r.values[0])
        for r in parse_selector(selector)
        if r.operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN) and r.values
    )
    value = _NOT_NAME.sub("-", pairs[0][1].lower()).strip("-") if pairs else ""
    return f"chaos-pdb-{value or 'pods'}"[:63].rstrip("-")


def _computed(pods: int) -> wait.Predicate:
    def check(obj: RawObject | None) -> bool:
        if obj is None:
            return False
        status = obj.get("status") or {}
        return (
            status.get("observedGeneration") == obj["metadata"].get("generation")
            and status.get("expectedPods") == pods
        )

    return check


class PDBBlock(created.CreatedFault[Params]):
    """Creates a ``maxUnavailable: 0`` budget over the pods; revert deletes exactly it."""

    spec = SPEC
    record = Record
    what = "budget"

    def ref(self, params: Params, scope: Scope) -> ResourceRef:
        namespace = targets.need_namespace(scope, "PDBBlock")
        name = params.name or default_name(params.label_selector)
        return ResourceRef("policy/v1", "PodDisruptionBudget", name, namespace)

    def content(self, params: Params) -> RawObject:
        return {
            "spec": {
                "maxUnavailable": 0,
                "selector": targets.to_label_selector(params.label_selector),
            }
        }

    def summary(self, params: Params) -> str:
        return f"maxUnavailable 0 for pods {params.label_selector}"

    async def footprint(self, kube: KubeClient, params: Params, ref: ResourceRef) -> Footprint:
        return await created.pods_footprint(kube, ref, params.label_selector)

    async def verify(self, kube: KubeClient, params: Params, obj: RawObject) -> Sequence[str]:
        ref = ResourceRef.of(obj)
        namespace = ref.namespace or ""
        pods = await targets.live_pods(kube, namespace, params.label_selector)
        if not pods:
            raise InjectionFailed(f"{ref}: no pod matches {params.label_selector}: nothing pinned")
        lines = []
        # Loaded here, not at the top: it imports asyncio, which `validate` does not need.
        from operator_chaos.kube import wait

        try:
            budget = await wait.wait_for(
                kube,
                ref.api_version,
                ref.kind,
                ref.name,
                namespace,
                _computed(len(pods)),
                timeout=SYNC_TIMEOUT_S,
            )
        except TimeoutError:
            lines.append(
                f"{ref}: no disruption controller computed its status within"
                f" {SYNC_TIMEOUT_S:g}s (the API server refuses evictions until it does)"
            )
        else:
            assert budget is not None
            status = budget.get("status") or {}
            lines.append(
                f"{ref} (disruption controller status): {status.get('currentHealthy')}/"
                f"{status.get('expectedPods')} pods healthy,"
                f" disruptionsAllowed {status.get('disruptionsAllowed')}"
            )
        lines.append(await refused_eviction(kube, pods[0]))
        return lines


async def refused_eviction(kube: KubeClient, pod: RawObject) -> str:
    """Ask the API server to evict ``pod`` as a dry run: the budget must make it refuse."""
    ref = ResourceRef.of({**pod, "apiVersion": "v1", "kind": "Pod"})
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": ref.name, "namespace": ref.namespace},
        "deleteOptions": {"dryRun": ["All"]},
    }
    try:
        await kube.create_subresource(ref, "eviction", eviction)
    except kube_errors.KubeError as exc:
        if exc.status.get("code") == 429 or exc.reason == "TooManyRequests":
            why = exc.status.get("message") or str(exc)
            return f"a dry-run eviction of {ref} is refused by the API server: {why}"
        raise InjectionFailed(f"dry-run eviction of {ref} failed unexpectedly: {exc}") from exc
    raise InjectionFailed(
        f"a dry-run eviction of {ref} was allowed: the budget does NOT block evictions"
    )


INJECTOR: Injector[Params] = PDBBlock()
