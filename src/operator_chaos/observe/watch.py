"""Keep a set of objects current by watching each one, and wake waiters on every change.

Each object gets one list-then-watch stream (field selector on its name), resumed from the
last resourceVersion and re-listed after a 410. Every change is stamped with
``time.monotonic_ns()`` at the moment it was read off the wire, which is what recovery times
are computed from.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """One observed change of one object."""

    ref: ResourceRef
    type: str  # ADDED / MODIFIED / DELETED / LISTED
    received_ns: int
    resource_version: str


class ObjectWatcher:
    """The latest state of a fixed set of objects, kept by watches."""

    def __init__(self, kube: KubeClient, refs: Iterable[ResourceRef]) -> None:
        self.kube = kube
        self.refs = tuple(dict.fromkeys(refs))
        self.objects: dict[ResourceRef, RawObject | None] = {}
        self.changes: list[Change] = []
        self.errors: list[str] = []
        self._synced = {ref: asyncio.Event() for ref in self.refs}
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        self.on_change: Callable[[], None] | None = None
        """Called (synchronously) after every recorded change, with the new state in place."""

    async def start(self, timeout: float = 30.0) -> None:
        """Start one stream per object; return once each has its initial state."""
        self._tasks = [asyncio.create_task(self._follow(ref)) for ref in self.refs]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in self._synced.values())), timeout)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def __aenter__(self) -> "ObjectWatcher":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def get(self, ref: ResourceRef) -> RawObject | None:
        return self.objects.get(ref)

    @property
    def last_change_ns(self) -> int:
        return self.changes[-1].received_ns if self.changes else 0

    async def wait_change(self, timeout: float) -> bool:
        """Wait until the next change (True) or ``timeout`` seconds (False)."""
        if timeout <= 0:
            return False
        seen = len(self.changes)
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: len(self.changes) > seen), timeout
                )
            except TimeoutError:
                return False
        return True

    async def _record(self, ref: ResourceRef, kind: str, obj: RawObject | None, at: int) -> None:
        async with self._changed:
            self.objects[ref] = obj
            rv = str((obj or {}).get("metadata", {}).get("resourceVersion", ""))
            self.changes.append(Change(ref, kind, at, rv))
            if self.on_change is not None:
                self.on_change()
            self._changed.notify_all()

    async def _follow(self, ref: ResourceRef) -> None:
        selector = f"metadata.name={ref.name}"
        while True:
            try:
                listed = await self.kube.list(
                    ref.api_version, ref.kind, ref.namespace, field_selector=selector
                )
                obj = listed.items[0] if listed.items else None
                await self._record(ref, "LISTED", obj, time.monotonic_ns())
                self._synced[ref].set()
                async for event in self.kube.watch(
                    ref.api_version,
                    ref.kind,
                    ref.namespace,
                    field_selector=selector,
                    resource_version=listed.resource_version,
                ):
                    if event.type == "BOOKMARK":
                        continue
                    current = None if event.type == "DELETED" else event.object
                    await self._record(ref, event.type, current, event.received_ns)
            except kube_errors.Gone:
                continue
            except kube_errors.KubeError as exc:
                message = f"watch {ref}: {exc}"
                if message not in self.errors:
                    self.errors.append(message)
                log.warning("%s; retrying", message)
                self._synced[ref].set()  # the error is the initial state; callers see it
                await asyncio.sleep(1.0)
