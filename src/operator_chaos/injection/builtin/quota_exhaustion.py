"""QuotaExhaustion: create a ResourceQuota so tight that nothing new fits in the namespace.

Breaks: pod (re)creation and other object creates are refused by admission, so rollouts and
restarts stall while existing pods keep running. A condition fault: held, then lifted (revert
deletes exactly our quota), and the operator must create what it could not.

Confirmed by the quota controller's status (``status.hard`` equal to ``spec.hard``, with the
usage it counted); while that status is unknown the API server's quota admission refuses every
create the quota covers, so the fault is on either way, and the confirmation says which.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, Field

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType, RecoveryModel
from operator_chaos.injection import created, targets
from operator_chaos.injection.base import Access, FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import PARAMS, ObjectName, WireType
from operator_chaos.injection.protocol import Injector, Scope
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    from operator_chaos.kube import wait

_QUANTITY = re.compile(r"^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$")


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(
            f"{value!r} is not a non-negative Kubernetes quantity such as 0, 100m, 1Mi or 2Gi"
        )
    return value


Quantity = Annotated[str, AfterValidator(_quantity), WireType("quantity")]
LIMITS = ("cpu", "memory", "pods", "services", "configmaps", "secrets")


class Params(InjectionParams):
    """The quota's name and its (deliberately tiny) hard limits."""

    quota_name: ObjectName = Field(description="Name of the ResourceQuota to create")
    cpu: Quantity | None = Field(default=None, description="Hard limit for requests.cpu, e.g. 0")
    memory: Quantity | None = Field(default=None, description="Hard limit for requests.memory")
    pods: int | None = Field(default=None, ge=0, description="Maximum number of pods")
    services: int | None = Field(default=None, ge=0, description="Maximum number of Services")
    configmaps: int | None = Field(default=None, ge=0, description="Maximum number of ConfigMaps")
    secrets: int | None = Field(default=None, ge=0, description="Maximum number of Secrets")

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        if all(getattr(self, limit) is None for limit in LIMITS):
            return [
                (
                    (*PARAMS, "quotaName"),
                    f"the quota limits nothing: set at least one of {', '.join(LIMITS)}",
                )
            ]
        return []

    def hard(self) -> dict[str, str]:
        """``spec.hard`` of the quota: each limit given, under its quota resource name."""
        return {
            limit: str(value) for limit in LIMITS if (value := getattr(self, limit)) is not None
        }


class Record(created.CreatedRecord):
    """The quota this run created (deleted on revert only while it is still ours)."""


SPEC = TypeSpec(
    injection_type=InjectionType.QUOTA_EXHAUSTION,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Apply a ResourceQuota with near-zero limits so new pods and objects are refused.",
    record=Record,
    access=(Access(("create", "delete"), why="create the quota, delete it on revert"),),
    example=lambda component, namespace: {
        "quotaName": f"chaos-quota-{component}"[:63],
        "pods": "0",
    },
)

SYNC_TIMEOUT_S = 15.0
"""How long ``confirm`` waits for the quota controller to compute the quota's status."""


def _synced(spec_hard: dict[str, str]) -> wait.Predicate:
    def check(obj: RawObject | None) -> bool:
        status = (obj or {}).get("status") or {}
        return obj is not None and set(status.get("hard") or {}) >= set(spec_hard)

    return check


class QuotaExhaustion(created.CreatedFault[Params]):
    """Creates the ResourceQuota in the target namespace; revert deletes exactly it."""

    spec = SPEC
    record = Record
    what = "quota"

    def ref(self, params: Params, scope: Scope) -> ResourceRef:
        namespace = targets.need_namespace(scope, "QuotaExhaustion")
        return ResourceRef("v1", "ResourceQuota", params.quota_name, namespace)

    def content(self, params: Params) -> RawObject:
        return {"spec": {"hard": params.hard()}}

    def summary(self, params: Params) -> str:
        return "hard " + ", ".join(f"{k}={v}" for k, v in params.hard().items())

    async def footprint(self, kube: KubeClient, params: Params, ref: ResourceRef) -> Footprint:
        return Footprint(
            targets=(ref,),
            namespaces=targets.namespaces_of(ref),
            notes=(
                f"every creator in namespace {ref.namespace} is limited, not only the operator",
            ),
        )

    async def verify(self, kube: KubeClient, params: Params, obj: RawObject) -> Sequence[str]:
        ref = ResourceRef.of(obj)
        # Loaded here, not at the top: it imports asyncio, which `validate` does not need.
        from operator_chaos.kube import wait

        try:
            synced = await wait.wait_for(
                kube,
                "v1",
                "ResourceQuota",
                ref.name,
                ref.namespace,
                _synced(params.hard()),
                timeout=SYNC_TIMEOUT_S,
            )
        except TimeoutError:
            return [
                f"{ref}: no quota controller computed its status within {SYNC_TIMEOUT_S:g}s;"
                " the API server's quota admission refuses every create it covers while the"
                " status is unknown"
            ]
        assert synced is not None
        return [f"{ref} enforced (quota controller status): {usage(synced)}"]


def usage(quota: RawObject) -> str:
    """``pods 1/0 (full), configmaps 0/5``: what the quota controller counted."""
    status: dict[str, Any] = quota.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    parts = []
    for name in sorted(hard):
        full = " (full: new ones refused)" if _at_limit(used.get(name, "0"), hard[name]) else ""
        parts.append(f"{name} {used.get(name, '0')}/{hard[name]}{full}")
    return ", ".join(parts)


_SUFFIX = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_SUFFIX.update({"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50})
_SUFFIX.update({"Ei": 2.0**60, "n": 1e-9, "u": 1e-6})


def quantity(text: str) -> float:
    """A Kubernetes quantity as a number (``100m`` -> 0.1, ``1Gi`` -> 1073741824)."""
    match = re.match(r"^([0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$", text.strip())
    if not match or match.group(2) not in ("", *_SUFFIX):
        raise ValueError(f"not a quantity: {text!r}")
    return float(match.group(1)) * _SUFFIX.get(match.group(2), 1.0)


def _at_limit(used: str, hard: str) -> bool:
    try:
        return quantity(used) >= quantity(hard)
    except ValueError:
        return False


INJECTOR: Injector[Params] = QuotaExhaustion()
