"""The adapter behind :class:`~operator_chaos.kube.port.KubeClient`, on lightkube's transport.

lightkube resolves kubeconfigs (contexts, in-cluster accounts) and ``transport`` builds the
authenticated httpx2 client from the chosen context; the verbs are plain REST calls
on that client so that built-in kinds and custom resources are both handled as JSON dicts,
and so that watches can ask for bookmarks, resume from the last resourceVersion and stamp
each event with the time it was read (the observer measures recovery from those stamps).
"""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx2

from operator_chaos.kube import builtin, errors, transport
from operator_chaos.kube.config import ClusterConfig
from operator_chaos.kube.port import (
    ObjectList,
    PatchType,
    RawObject,
    ResourceKind,
    ResourceRef,
    WatchEvent,
)

log = logging.getLogger(__name__)

FIELD_MANAGER = "operator-chaos"
_CONFLICT_RETRIES = 5


class LightkubeClient:
    """Async Kubernetes client over one pooled HTTP connection set."""

    def __init__(self, cluster: ClusterConfig, *, timeout: float = 15.0) -> None:
        self._cluster = cluster
        self._http = transport.http_client(cluster.config, timeout=timeout)
        self._kinds: dict[tuple[str, str], ResourceKind] = {}
        self._discovery_lock = asyncio.Lock()

    @property
    def server(self) -> str:
        return self._cluster.server

    @property
    def context(self) -> str:
        return self._cluster.context

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "LightkubeClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- discovery -------------------------------------------------------------------------

    async def discover(self, api_version: str, kind: str) -> ResourceKind:
        key = (api_version, kind)
        found = self._kinds.get(key)
        if found is not None:
            return found
        known = builtin.resource_of(api_version, kind)
        if known is not None:  # a built-in kind: lightkube-models knows its plural and scope
            found = ResourceKind(api_version, kind, known[0], known[1])
            self._kinds[key] = found
            return found
        async with self._discovery_lock:
            if key not in self._kinds:
                path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
                try:
                    doc = await self._request("GET", path, what=f"discover {api_version}")
                except errors.NotFound:
                    raise errors.NotFound(
                        f"API {api_version} is not served by {self.server} (CRD not installed?)"
                    ) from None
                for res in doc.get("resources", []):
                    if "/" in res["name"]:
                        continue
                    rk = ResourceKind(api_version, res["kind"], res["name"], res["namespaced"])
                    self._kinds.setdefault((api_version, res["kind"]), rk)
            if key not in self._kinds:
                raise errors.NotFound(
                    f"kind {kind} is not served in {api_version} by {self.server}"
                )
        return self._kinds[key]

    async def _url(
        self, api_version: str, kind: str, namespace: str | None, name: str | None = None
    ) -> tuple[str, ResourceKind]:
        rk = await self.discover(api_version, kind)
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        if rk.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        url = f"{base}/{rk.plural}"
        if name is not None:
            url += f"/{quote(name, safe='')}"
        return url, rk

    # -- verbs -----------------------------------------------------------------------------

    async def get(self, ref: ResourceRef) -> RawObject:
        url, _ = await self._url(ref.api_version, ref.kind, ref.namespace, ref.name)
        result: RawObject = await self._request("GET", url, what=f"get {ref}")
        return result

    async def get_or_none(self, ref: ResourceRef) -> RawObject | None:
        try:
            return await self.get(ref)
        except errors.NotFound:
            return None

    async def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ObjectList:
        url, _ = await self._url(api_version, kind, namespace)
        params: dict[str, str] = {}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        doc = await self._request("GET", url, params=params, what=f"list {kind}")
        items: list[RawObject] = doc.get("items") or []
        for item in items:  # LIST items omit apiVersion/kind; restore them for uniform handling
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return ObjectList(items, str(doc.get("metadata", {}).get("resourceVersion", "")))

    async def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[WatchEvent]:
        """Stream events, re-opening the watch from the last resourceVersion when it ends.

        Bookmarks advance the resume point and are yielded too (callers may ignore them).
        A 410 Gone is raised as :class:`errors.Gone`: the caller must re-list.
        """
        url, _ = await self._url(api_version, kind, namespace)
        version = resource_version
        while True:
            params = {"watch": "1", "allowWatchBookmarks": "true"}
            params["timeoutSeconds"] = str(timeout_seconds)
            if version:
                params["resourceVersion"] = version
            if label_selector:
                params["labelSelector"] = label_selector
            if field_selector:
                params["fieldSelector"] = field_selector
            timeout = httpx2.Timeout(10.0, read=timeout_seconds + 30.0)
            request = self._http.build_request("GET", url, params=params, timeout=timeout)
            try:
                response = await self._http.send(request, stream=True)
            except httpx2.TransportError as exc:
                raise errors.Unreachable(
                    f"watch {kind}: {self.server}: {errors.cause(exc)}"
                ) from exc
            try:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._error(response, f"watch {kind}")
                async for line in response.aiter_lines():
                    if not line:
                        continue
                    received = time.monotonic_ns()
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        code = int(obj.get("code", 500))
                        raise errors.from_status(code, obj, f"watch {kind}")
                    event_obj: RawObject = obj
                    event_obj.setdefault("apiVersion", api_version)
                    event_obj.setdefault("kind", kind)
                    watch_event = WatchEvent(str(event.get("type")), event_obj, received)
                    version = watch_event.resource_version or version
                    yield watch_event
            except httpx2.TransportError as exc:
                log.debug("watch %s interrupted (%s); resuming from %s", kind, exc, version)
                await asyncio.sleep(0.2)
            finally:
                await response.aclose()

    async def create(self, obj: RawObject) -> RawObject:
        meta = obj.get("metadata", {})
        url, _ = await self._url(obj["apiVersion"], obj["kind"], meta.get("namespace"))
        what = f"create {obj['kind']} {meta.get('namespace', '')}/{meta.get('name', '')}"
        result: RawObject = await self._request("POST", url, body=obj, what=what)
        return result

    async def create_subresource(
        self, parent: ResourceRef, subresource: str, body: RawObject
    ) -> RawObject:
        """POST to a subresource, e.g. ``serviceaccounts/NAME/token`` (TokenRequest)."""
        url, _ = await self._url(parent.api_version, parent.kind, parent.namespace, parent.name)
        what = f"create {subresource} of {parent}"
        result: RawObject = await self._request(
            "POST", f"{url}/{subresource}", body=body, what=what
        )
        return result

    async def replace(self, obj: RawObject) -> RawObject:
        ref = ResourceRef.of(obj)
        url, _ = await self._url(ref.api_version, ref.kind, ref.namespace, ref.name)
        result: RawObject = await self._request("PUT", url, body=obj, what=f"replace {ref}")
        return result

    async def patch(
        self,
        ref: ResourceRef,
        patch: Any,
        patch_type: PatchType = PatchType.MERGE,
        *,
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool = False,
    ) -> RawObject:
        url, _ = await self._url(ref.api_version, ref.kind, ref.namespace, ref.name)
        if subresource:
            url += f"/{subresource}"
        params = {"fieldManager": field_manager or FIELD_MANAGER}
        if force:
            params["force"] = "true"
        result: RawObject = await self._request(
            "PATCH",
            url,
            body=patch,
            params=params,
            content_type=patch_type.value,
            what=f"patch {ref}",
        )
        return result

    async def delete(
        self,
        ref: ResourceRef,
        *,
        grace_period_seconds: int | None = None,
        uid: str | None = None,
        resource_version: str | None = None,
        propagation: str | None = None,
    ) -> RawObject | None:
        url, _ = await self._url(ref.api_version, ref.kind, ref.namespace, ref.name)
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if uid or resource_version:
            body["preconditions"] = {
                k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v
            }
        if propagation:
            body["propagationPolicy"] = propagation
        try:
            result: RawObject = await self._request("DELETE", url, body=body, what=f"delete {ref}")
        except errors.NotFound:
            return None
        return result

    async def raw(self, method: str, path: str, body: Any = None) -> Any:
        """A call to any server path (``/readyz``, ``/metrics``, subresources)."""
        return await self._request(method, path, body=body, what=f"{method} {path}")

    # -- transport -------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
        what: str,
    ) -> Any:
        headers = {"Accept": "application/json"}
        content: bytes | None = None
        if body is not None:
            content = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        try:
            response = await self._http.request(
                method, url, params=params, content=content, headers=headers
            )
        except httpx2.TransportError as exc:
            raise errors.Unreachable(
                f"{what}: cannot reach {self.server}: {errors.cause(exc)}"
            ) from exc
        if response.status_code >= 400:
            raise self._error(response, what)
        if not response.content:
            return {}
        ctype = response.headers.get("content-type", "")
        if "json" in ctype:
            return response.json()
        return response.text

    @staticmethod
    def _error(response: httpx2.Response, what: str) -> errors.KubeError:
        try:
            status = response.json()
            if not isinstance(status, dict):
                status = {"message": str(status)}
        except ValueError:
            status = {"message": response.text.strip()[:200] or response.reason_phrase}
        return errors.from_status(response.status_code, status, what)


async def retry_on_conflict(attempt: Any, *, retries: int = _CONFLICT_RETRIES) -> Any:
    """Run ``await attempt()`` again after a 409 stale-resourceVersion conflict."""
    for n in range(retries):
        try:
            return await attempt()
        except errors.Conflict as exc:
            if exc.already_exists or n == retries - 1:
                raise
            await asyncio.sleep(0.05 * (2**n))
    raise AssertionError("unreachable")  # pragma: no cover


def connect(kubeconfig: str | None = None, context: str | None = None) -> LightkubeClient:
    """Resolve the kubeconfig (kubectl rules) and open a client; no request is made yet."""
    from operator_chaos.kube import config

    return LightkubeClient(config.resolve(kubeconfig, context))
