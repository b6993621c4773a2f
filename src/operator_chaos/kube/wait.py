"""Wait for an object to reach a state, by watching it (list once, then watch from there)."""

import asyncio
from collections.abc import Callable

from operator_chaos.kube.errors import Gone
from operator_chaos.kube.port import KubeClient, RawObject

Predicate = Callable[[RawObject | None], bool]


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
    selector = f"metadata.name={name}"

    async def run() -> RawObject | None:
        while True:
            listed = await kube.list(api_version, kind, namespace, field_selector=selector)
            current = listed.items[0] if listed.items else None
            if predicate(current):
                return current
            try:
                async for event in kube.watch(
                    api_version,
                    kind,
                    namespace,
                    field_selector=selector,
                    resource_version=listed.resource_version,
                ):
                    if event.type == "BOOKMARK":
                        continue
                    current = None if event.type == "DELETED" else event.object
                    if predicate(current):
                        return current
            except Gone:
                continue

    return await asyncio.wait_for(run(), timeout)


def condition_true(obj: RawObject | None, condition: str) -> bool:
    """True when ``status.conditions[type=condition].status == "True"``."""
    if obj is None:
        return False
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == condition:
            return bool(cond.get("status") == "True")
    return False
