"""Helpers the injectors share: finding pods, locating objects, converting selectors."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from operator_chaos.errors import OperatorChaosError
from operator_chaos.exitcodes import ExitStatus
from operator_chaos.injection.labels import Operator, parse_selector
from operator_chaos.injection.protocol import Scope
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, PatchType, RawObject, ResourceRef

T = TypeVar("T")


class InjectionRefused(OperatorChaosError):
    """The cluster is not in a state this fault can be applied to (nothing was changed)."""

    exit_status = ExitStatus.NOT_APPLICABLE


def need_namespace(scope: Scope, what: str) -> str:
    """The namespace to act in, or a clear error saying how to give one."""
    if scope.namespace is None:
        raise InjectionRefused(
            f"{what}: no namespace to act in; set spec.injection.parameters.namespace or list"
            " the namespace in spec.blastRadius.allowedNamespaces"
        )
    return scope.namespace


async def locate(
    kube: KubeClient, api_version: str, kind: str, name: str, namespace: str | None
) -> tuple[ResourceRef, RawObject]:
    """The object named by a fault's parameters (namespace dropped for cluster-scoped kinds)."""
    try:
        kind_info = await kube.discover(api_version, kind)
    except kube_errors.NotFound as exc:  # an API the cluster does not serve: nothing to touch
        raise InjectionRefused(f"{api_version} {kind}: not served by this cluster ({exc})") from exc
    ref = ResourceRef(api_version, kind, name, namespace if kind_info.namespaced else None)
    if kind_info.namespaced and namespace is None:
        raise InjectionRefused(f"{kind} {name} is namespaced but no namespace was resolved")
    obj = await kube.get_or_none(ref)
    if obj is None:
        raise InjectionRefused(f"{ref} not found: create it or fix the experiment's parameters")
    return ref, obj


async def live_pods(kube: KubeClient, namespace: str, selector: str) -> list[RawObject]:
    """Pods matching ``selector`` that are not finished or already being deleted."""
    listed = await kube.list("v1", "Pod", namespace, label_selector=selector)
    return [
        p
        for p in listed.items
        if not p["metadata"].get("deletionTimestamp")
        and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")
    ]


def namespaces_of(ref: ResourceRef) -> frozenset[str]:
    """The namespace a target lives in, for the gate (none for cluster-scoped objects)."""
    return frozenset({ref.namespace}) if ref.namespace else frozenset()


def to_label_selector(text: str) -> dict[str, Any]:
    """A selector string as a LabelSelector object (for a NetworkPolicy's podSelector)."""
    match_labels: dict[str, str] = {}
    expressions: list[dict[str, Any]] = []
    for req in parse_selector(text):
        if req.operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS):
            if match_labels.setdefault(req.key, req.values[0]) != req.values[0]:
                # ``a=x,a=y`` selects nothing; one matchLabels entry would select a=y pods.
                expressions.append({"key": req.key, "operator": "In", "values": [req.values[0]]})
        elif req.operator is Operator.NOT_EQUALS:
            expressions.append({"key": req.key, "operator": "NotIn", "values": list(req.values)})
        elif req.operator is Operator.IN:
            expressions.append({"key": req.key, "operator": "In", "values": list(req.values)})
        elif req.operator is Operator.NOT_IN:
            expressions.append({"key": req.key, "operator": "NotIn", "values": list(req.values)})
        elif req.operator is Operator.EXISTS:
            expressions.append({"key": req.key, "operator": "Exists"})
        elif req.operator is Operator.NOT_EXISTS:
            expressions.append({"key": req.key, "operator": "DoesNotExist"})
        else:
            raise InjectionRefused(
                f"selector {text!r}: {req.operator} cannot be expressed in a policy"
            )
    selector: dict[str, Any] = {}
    if match_labels:
        selector["matchLabels"] = match_labels
    if expressions:
        selector["matchExpressions"] = expressions
    return selector


async def patch_unchanged(
    kube: KubeClient, ref: ResourceRef, read: RawObject, ops: Sequence[dict[str, Any]]
) -> RawObject:
    """JSON-patch ``ref`` with ``ops`` only if it is still the version ``read``: a ``test`` of
    its resourceVersion goes first, so a write in between fails the whole patch (422) and
    :func:`retry_stale` reads again, instead of ``ops`` landing on state nobody checked."""
    version = read["metadata"]["resourceVersion"]
    guard = {"op": "test", "path": "/metadata/resourceVersion", "value": version}
    return await kube.patch(ref, [guard, *ops], PatchType.JSON)


async def retry_stale(attempt: Callable[[], Awaitable[T]], *, tries: int = 5) -> T:
    """Re-run a read-check-write step when the object changed under it (409, or a failed
    JSON-patch ``test`` which the API server reports as 422)."""
    import asyncio  # here, not at the top: validate's cold start never needs it

    for n in range(tries):
        try:
            return await attempt()
        except (kube_errors.Conflict, kube_errors.Invalid):
            if n == tries - 1:
                raise
            await asyncio.sleep(0.05 * (2**n))
    raise AssertionError("unreachable")  # pragma: no cover
