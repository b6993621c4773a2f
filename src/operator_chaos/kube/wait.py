"""Wait for an object to reach a state, by watching it (list once, then watch from there)."""

import asyncio
from collections.abc import AsyncIterator, Callable

from operator_chaos.kube.errors import Gone
from operator_chaos.kube.port import KubeClient, RawObject

Predicate = Callable[[RawObject | None], bool]


async def follow(
    kube: KubeClient, api_version: str, kind: str, name: str, namespace: str | None
) -> AsyncIterator[tuple[RawObject | None, bool]]:
    """The object ``name`` as listed, then after every change it goes through, for as long as
    the caller iterates: ``(obj, listed)``, ``obj`` None while absent or once deleted and
    ``listed`` True for a fresh list (the first item, and again after a 410 Gone)."""
    selector = f"metadata.name={name}"
    while True:
        listed = await kube.list(api_version, kind, namespace, field_selector=selector)
        yield (listed.items[0] if listed.items else None), True
        try:
            async for event in kube.watch(
                api_version,
                kind,
                namespace,
                field_selector=selector,
                resource_version=listed.resource_version,
            ):
                if event.type != "BOOKMARK":
                    yield (None if event.type == "DELETED" else event.object), False
        except Gone:
            continue


async def wait_for(
    kube: KubeClient,
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None,
    predicate: Predicate,
    *,
    timeout: float,
) -> RawObject | None:
    """Return the object once ``predicate(obj)`` holds (``obj`` is None while it is absent).

    Raises ``TimeoutError`` after ``timeout`` seconds. Re-lists after a 410 Gone.
    """

    async def run() -> RawObject | None:
        async for current, _ in follow(kube, api_version, kind, name, namespace):
            if predicate(current):
                return current
        raise AssertionError("unreachable: follow() never ends")  # pragma: no cover

    return await asyncio.wait_for(run(), timeout)


def condition_true(obj: RawObject | None, condition: str) -> bool:
    """True when ``status.conditions[type=condition].status == "True"``."""
    if obj is None:
        return False
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == condition:
            return bool(cond.get("status") == "True")
    return False
