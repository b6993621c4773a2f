"""Keep a set of objects current by watching them, and wake waiters on every change.

Keys are single objects (:class:`ResourceRef`) or labelled sets (:class:`Selection`). Objects
are grouped into as few streams as possible: one list-then-watch per (kind, namespace) for
named objects (narrowed by a field selector when only one name is wanted), and one per label
selector. Each stream resumes from its last resourceVersion and re-lists after a 410. Every
change is stamped with ``time.monotonic_ns()`` at the moment it was read off the wire, which
is what recovery times and the timeline are computed from.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef, Selection, WatchKey

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """One observed change of one object."""

    ref: ResourceRef
    type: str  # ADDED / MODIFIED / DELETED / LISTED
    received_ns: int
    resource_version: str


@dataclass(eq=False)
class _Stream:
    """One list-then-watch: a kind in a namespace, narrowed by name or label selector."""

    api_version: str
    kind: str
    namespace: str | None
    field_selector: str | None = None
    label_selector: str | None = None
    objects: dict[str, RawObject] = field(default_factory=dict)
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    task: "asyncio.Task[None] | None" = None

    def __str__(self) -> str:
        narrowed = self.field_selector or self.label_selector or "all"
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.kind}{where} ({narrowed})"


class ObjectWatcher:
    """The latest state of a set of objects, kept by watches (a :class:`StateView`)."""

    def __init__(self, kube: KubeClient, keys: Iterable[WatchKey] = ()) -> None:
        self.kube = kube
        self.keys: list[WatchKey] = list(dict.fromkeys(keys))
        self.changes: list[Change] = []
        self.errors: list[str] = []
        self._named: dict[tuple[str, str, str | None], _Stream] = {}
        self._selected: dict[Selection, _Stream] = {}
        self._changed = asyncio.Condition()
        self.on_change: Callable[[int], None] | None = None
        """Called (synchronously) after every recorded change, with its receive time."""

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, timeout: float = 30.0) -> None:
        """Start the streams for the keys given so far; return once each has its state."""
        await self.add(self.keys, timeout)

    async def add(self, keys: Iterable[WatchKey], timeout: float = 30.0) -> None:
        """Watch more keys (before or after :meth:`start`); returns once they are synced."""
        wanted = list(dict.fromkeys(keys))
        self.keys = list(dict.fromkeys([*self.keys, *wanted]))
        new = self._plan(wanted)
        for stream in new:
            stream.task = asyncio.create_task(self._follow(stream))
        await asyncio.wait_for(asyncio.gather(*(s.synced.wait() for s in new)), timeout)

    def _plan(self, keys: list[WatchKey]) -> list[_Stream]:
        """Streams needed for ``keys`` that are not running yet."""
        new: list[_Stream] = []
        names: dict[tuple[str, str, str | None], set[str]] = {}
        for key in self.keys:
            if isinstance(key, ResourceRef):
                names.setdefault((key.api_version, key.kind, key.namespace), set()).add(key.name)
        for key in keys:
            if isinstance(key, Selection):
                if key not in self._selected:
                    stream = _Stream(
                        key.api_version, key.kind, key.namespace, label_selector=key.label_selector
                    )
                    self._selected[key] = stream
                    new.append(stream)
                continue
            group = (key.api_version, key.kind, key.namespace)
            running = self._named.get(group)
            if running is not None and (
                running.field_selector is None or running.field_selector.endswith(f"={key.name}")
            ):
                continue
            if running is not None and running.task is not None:
                running.task.cancel()  # widen a single-name stream to the whole kind
            only = names[group]
            selector = f"metadata.name={next(iter(only))}" if len(only) == 1 else None
            stream = _Stream(key.api_version, key.kind, key.namespace, field_selector=selector)
            self._named[group] = stream
            new.append(stream)
        return new

    async def stop(self) -> None:
        streams = [*self._named.values(), *self._selected.values()]
        for stream in streams:
            if stream.task is not None:
                stream.task.cancel()
        for stream in streams:
            if stream.task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await stream.task
                stream.task = None

    async def __aenter__(self) -> "ObjectWatcher":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the state view ---------------------------------------------------------------------

    def get(self, ref: ResourceRef) -> RawObject | None:
        stream = self._named.get((ref.api_version, ref.kind, ref.namespace))
        return None if stream is None else stream.objects.get(ref.name)

    def select(self, selection: Selection) -> list[RawObject]:
        stream = self._selected.get(selection)
        return [] if stream is None else list(stream.objects.values())

    @property
    def last_change_ns(self) -> int:
        return self.changes[-1].received_ns if self.changes else 0

    @property
    def stream_count(self) -> int:
        """How many list+watch pairs this watcher holds open (two API requests each)."""
        return len(self._named) + len(self._selected)

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

    # -- streams ----------------------------------------------------------------------------

    async def _record(self, stream: _Stream, kind: str, obj: RawObject, at: int) -> None:
        meta = obj.get("metadata", {})
        name = str(meta.get("name", ""))
        async with self._changed:
            if kind == "DELETED":
                stream.objects.pop(name, None)
            else:
                stream.objects[name] = obj
            ref = ResourceRef(stream.api_version, stream.kind, name, stream.namespace)
            self.changes.append(Change(ref, kind, at, str(meta.get("resourceVersion", ""))))
            if self.on_change is not None:
                self.on_change(at)
            self._changed.notify_all()

    async def _relisted(self, stream: _Stream, items: list[RawObject], at: int) -> None:
        """Replace the stream's state after a (re-)list; vanished objects count as deleted."""
        fresh = {str(o.get("metadata", {}).get("name", "")): o for o in items}
        for name, old in list(stream.objects.items()):
            if name not in fresh:
                await self._record(stream, "DELETED", old, at)
        for obj in items:
            await self._record(stream, "LISTED", obj, at)
        if not items and not stream.synced.is_set():
            async with self._changed:  # an empty initial list is a state too
                if self.on_change is not None:
                    self.on_change(at)
                self._changed.notify_all()

    async def _follow(self, stream: _Stream) -> None:
        while True:
            try:
                listed = await self.kube.list(
                    stream.api_version,
                    stream.kind,
                    stream.namespace,
                    field_selector=stream.field_selector,
                    label_selector=stream.label_selector,
                )
                await self._relisted(stream, listed.items, time.monotonic_ns())
                stream.synced.set()
                async for event in self.kube.watch(
                    stream.api_version,
                    stream.kind,
                    stream.namespace,
                    field_selector=stream.field_selector,
                    label_selector=stream.label_selector,
                    resource_version=listed.resource_version,
                ):
                    if event.type in ("ADDED", "MODIFIED", "DELETED"):
                        await self._record(stream, event.type, event.object, event.received_ns)
            except kube_errors.Gone:
                continue
            except kube_errors.KubeError as exc:
                message = f"watch {stream}: {exc}"
                if message not in self.errors:
                    self.errors.append(message)
                log.warning("%s; retrying", message)
                stream.synced.set()  # the error is the initial state; callers see it
                await asyncio.sleep(1.0)
