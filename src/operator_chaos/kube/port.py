"""The shape of the Kubernetes port: value types and the ``KubeClient`` protocol."""

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

RawObject = dict[str, Any]
"""A Kubernetes object as the API server's JSON (apiVersion, kind, metadata, ...)."""


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """Names one object: enough to GET it."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> "ResourceRef":
        """The reference of a raw object."""
        meta = obj.get("metadata", {})
        return cls(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


@dataclass(frozen=True, slots=True)
class Selection:
    """Names a set of objects by label selector (e.g. an operator's pods): enough to LIST."""

    api_version: str
    kind: str
    namespace: str | None
    label_selector: str

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.kind}s {self.label_selector}{where}"


WatchKey = ResourceRef | Selection
"""What an observer can be asked to keep current: one object, or a labelled set."""


class StateView(Protocol):
    """The latest observed state, as kept by a watcher (read-only, synchronous)."""

    def get(self, ref: ResourceRef) -> "RawObject | None": ...

    def select(self, selection: Selection) -> "list[RawObject]": ...


@dataclass(frozen=True, slots=True)
class ResourceKind:
    """What discovery knows about a kind: its URL plural and whether it is namespaced."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def group(self) -> str:
        """The API group ("" for the core group)."""
        return self.api_version.rpartition("/")[0]


class PatchType(StrEnum):
    """Content types for PATCH."""

    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One watch event, stamped with the monotonic time it was read off the wire."""

    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK
    object: RawObject
    received_ns: int

    @property
    def resource_version(self) -> str:
        """The object's resourceVersion (the watch resumes from the last one seen)."""
        return str(self.object.get("metadata", {}).get("resourceVersion", ""))


@dataclass(frozen=True, slots=True)
class ObjectList:
    """A LIST result: items plus the collection resourceVersion to start a watch from."""

    items: list[RawObject]
    resource_version: str


class KubeClient(Protocol):
    """The operations every stage may use; implemented by :mod:`operator_chaos.kube.client`."""

    @property
    def server(self) -> str: ...

    @property
    def context(self) -> str: ...

    async def discover(self, api_version: str, kind: str) -> ResourceKind: ...

    async def get(self, ref: ResourceRef) -> RawObject: ...

    async def get_or_none(self, ref: ResourceRef) -> RawObject | None: ...

    async def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ObjectList: ...

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[WatchEvent]: ...

    async def create(self, obj: RawObject) -> RawObject: ...

    async def create_subresource(
        self, parent: ResourceRef, subresource: str, body: RawObject
    ) -> RawObject: ...

    async def replace(self, obj: RawObject) -> RawObject: ...

    async def patch(
        self,
        ref: ResourceRef,
        patch: Any,
        patch_type: PatchType = PatchType.MERGE,
        *,
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool = False,
    ) -> RawObject: ...

    async def delete(
        self,
        ref: ResourceRef,
        *,
        grace_period_seconds: int | None = None,
        uid: str | None = None,
        resource_version: str | None = None,
        propagation: str | None = None,
    ) -> RawObject | None: ...

    async def raw(self, method: str, path: str, body: Any = None) -> Any: ...

    async def close(self) -> None: ...
