"""A loopback TCP relay that can be partitioned, standing in for the pod network.

The operator's API traffic (egress) and the API server's webhook calls to the operator
(ingress) each pass through one relay. While a NetworkPolicy isolates the operator's pod the
relay black-holes traffic: open connections stop carrying bytes and new ones are accepted but
never forwarded, as with dropped packets. When the partition lifts, the held connections are
closed so clients reconnect at once. TLS passes through the webhook relays untouched.

The operator's API relay (:class:`ApiRelay`) is more than a pipe: it terminates TLS with the
API server's own serving certificate (the sandbox PKI), forwards HTTP/1.1 upstream over TLS,
and applies the ClientFault table of the operator's namespace per request (get, list, create,
update, patch, delete, deleteAllOf), so operators written in any language see the errors and
delays on their own API calls.
"""

import asyncio
import contextlib
import json
import logging
import random
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from operator_chaos.injection import sdk_config
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject

log = logging.getLogger(__name__)
_CHUNK = 65536


class PartitionableRelay:
    """Relay ``127.0.0.1:listen_port`` to ``127.0.0.1:upstream_port``."""

    def __init__(self, name: str, listen_port: int, upstream_port: int) -> None:
        self.name = name
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self._blocked = False
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._held: set[asyncio.StreamWriter] = set()
        self.forwarded = 0
        self.dropped = 0

    @property
    def blocked(self) -> bool:
        """True while traffic is black-holed."""
        return self._blocked

    async def start(self) -> None:
        """Listen on loopback only."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        self._release_held()

    def set_blocked(self, blocked: bool) -> None:
        """Start or end the partition."""
        if blocked == self._blocked:
            return
        self._blocked = blocked
        log.info("relay %s: %s", self.name, "PARTITIONED" if blocked else "healed")
        if blocked:
            for task in list(self._connections):  # in-flight streams stop carrying bytes
                task.cancel()
        else:
            self._release_held()

    def _release_held(self) -> None:
        for writer in list(self._held):
            writer.close()
        self._held.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._blocked:
            self.dropped += 1
            self._held.add(writer)  # accepted, never answered: looks like packet loss
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        hold = False
        try:
            await self._relay(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            # Partitioned mid-stream: keep the client side open without forwarding anything,
            # like a dead network path; it is closed when the partition lifts.
            hold = self._blocked
        finally:
            self._connections.discard(task)
            if hold:
                self._held.add(writer)
            else:
                with contextlib.suppress(Exception):
                    writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Carry one accepted connection (bytes both ways, untouched)."""
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            up_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port
            )
            self.forwarded += 1
            await asyncio.gather(pipe(reader, upstream_writer), pipe(up_reader, writer))
        finally:
            if upstream_writer is not None:
                upstream_writer.close()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction of a tunnel until its end of stream."""
    while data := await reader.read(_CHUNK):
        writer.write(data)
        await writer.drain()
    # Pass a half-close on only at a real end of stream: when a partition cancels the pipe,
    # the client must see silence (a dead path), not an EOF that makes it reconnect at once.
    with contextlib.suppress(Exception):
        writer.write_eof()


# -- the operator's API relay: per-operation client faults ----------------------------------

_MAX_HEAD = 64 * 1024
_STATUS: dict[str, tuple[int, str]] = {
    # What each failed operation answers (the reference SDK's transport uses these codes).
    "get": (503, "ServiceUnavailable"),
    "list": (503, "ServiceUnavailable"),
    "create": (429, "TooManyRequests"),
    "update": (409, "Conflict"),
    "patch": (409, "Conflict"),
    "apply": (409, "Conflict"),
    "delete": (403, "Forbidden"),
    "deleteAllOf": (403, "Forbidden"),
}
_REASON_TEXT = {
    503: "Service Unavailable",
    429: "Too Many Requests",
    409: "Conflict",
    403: "Forbidden",
    500: "Internal Server Error",
}


def operation(method: str, target: str, content_type: str = "") -> str | None:
    """The client operation an API request is (``None`` for discovery, health and other
    non-resource paths, which no fault applies to).

    GET of one object is ``get``, of a collection (or any watch) ``list``; POST ``create``;
    PUT ``update``; PATCH ``patch`` (``apply`` for a server-side apply); DELETE of one object
    ``delete``, of a collection ``deleteAllOf``.
    """
    path, _, query = target.partition("?")
    parts = [unquote(p) for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        rest = parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        rest = parts[3:]
    else:
        return None
    if not rest:
        return None
    params = parse_qs(query)
    watch = params.get("watch", [""])[0] in ("true", "1")
    if rest[0] == "watch":
        watch, rest = True, rest[1:]
    if rest[:1] == ["namespaces"] and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        rest = rest[2:]  # namespaces/<ns>/<resource>[/<name>[/<subresource>]]
    named = len(rest) >= 2
    verb = method.upper()
    if verb in ("GET", "HEAD"):
        return "get" if named and not watch else "list"
    if verb == "POST":
        return "create"
    if verb == "PUT":
        return "update"
    if verb == "PATCH":
        return "apply" if content_type.startswith("application/apply-patch") else "patch"
    if verb == "DELETE":
        return "delete" if named else "deleteAllOf"
    return None


def exempt(target: str) -> bool:
    """Requests for the fault table itself always pass, so a reader of the table (the
    reference SDK's watcher) is never cut off from the change that lifts the fault."""
    text = unquote(target)
    return "/configmaps" in text and sdk_config.CONFIG_MAP_PREFIX in text


def status_body(op: str, message: str) -> tuple[int, bytes]:
    """The HTTP status and ``Status`` object a failed ``op`` answers with."""
    code, reason = _STATUS.get(op, (500, "InternalError"))
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"chaos({op}): {message or 'injected fault'}",
        "reason": reason,
        "code": code,
    }
    return code, json.dumps(body).encode()


@dataclass(frozen=True, slots=True)
class _Head:
    """A parsed HTTP/1.1 message head (the raw bytes are forwarded unchanged)."""

    raw: bytes
    start: str
    headers: dict[str, str]

    @classmethod
    def parse(cls, raw: bytes) -> "_Head":
        lines = raw.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"malformed header line {line[:40]!r}")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        return cls(raw, lines[0], headers)

    @property
    def chunked(self) -> bool:
        return "chunked" in self.headers.get("transfer-encoding", "").lower()

    @property
    def length(self) -> int | None:
        value = self.headers.get("content-length")
        return int(value) if value is not None else None

    @property
    def close(self) -> bool:
        return "close" in self.headers.get("connection", "").lower()


async def _read_head(reader: asyncio.StreamReader) -> _Head | None:
    """The next message head, or ``None`` at a clean end of stream."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    if len(raw) > _MAX_HEAD:
        raise ValueError("message head too large")
    return _Head.parse(raw)


async def _copy_exactly(
    reader: asyncio.StreamReader, put: Callable[[bytes], Awaitable[None]], size: int
) -> None:
    """Pass ``size`` bytes on as they arrive; a stream that ends first is an incomplete read."""
    left = size
    while left:
        data = await reader.read(min(left, _CHUNK))
        if not data:
            raise asyncio.IncompleteReadError(b"", left)
        left -= len(data)
        await put(data)


async def _copy_body(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter | None,
    head: _Head,
    *,
    until_eof: bool = False,
) -> None:
    """Copy (or, without a writer, discard) one message body, chunk by chunk as it arrives,
    so that watch streams are relayed event by event."""

    async def put(data: bytes) -> None:
        if writer is not None and data:
            writer.write(data)
            await writer.drain()

    if head.chunked:
        while True:
            line = await reader.readuntil(b"\r\n")
            await put(line)
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    trailer = await reader.readuntil(b"\r\n")
                    await put(trailer)
                    if trailer == b"\r\n":
                        return
            await _copy_exactly(reader, put, size + 2)  # the chunk and its CRLF
    elif head.length is not None:
        await _copy_exactly(reader, put, head.length)
    elif until_eof:
        while data := await reader.read(_CHUNK):
            await put(data)


class ApiRelay(PartitionableRelay):
    """The operator's API relay: terminates TLS, forwards HTTP/1.1 to the API server over
    TLS (the operator's own ``Authorization`` header goes upstream unchanged), and applies
    the client fault table of the operator's namespace to each request.

    The table is the reference SDK's (``operator-chaos-*`` ConfigMaps, key ``config``, see
    :mod:`operator_chaos.injection.sdk_config`), followed with a watch by
    :meth:`follow_faults`; so an operator in any language sees ClientFault's errors and
    delays on its own calls. Partitions work as in :class:`PartitionableRelay` (a blocked
    relay never even completes the TLS handshake).
    """

    def __init__(
        self,
        name: str,
        listen_port: int,
        upstream_port: int,
        pki_dir: Path,
        *,
        kube: KubeClient | None = None,
        namespace: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(name, listen_port, upstream_port)
        self._kube = kube
        self._namespace = namespace
        self._follow: asyncio.Task[None] | None = None
        self._serve_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._serve_tls.load_cert_chain(pki_dir / "apiserver.crt", pki_dir / "apiserver.key")
        self._serve_tls.set_alpn_protocols(["http/1.1"])  # no HTTP/2: one request at a time
        self._upstream_tls = ssl.create_default_context(cafile=str(pki_dir / "ca.crt"))
        self._upstream_tls.set_alpn_protocols(["http/1.1"])
        self._rng = rng or random.Random()
        self._tables: dict[str, dict[str, sdk_config.OperationFault]] = {}
        self.faults: dict[str, sdk_config.OperationFault] = {}
        self.injected_errors: Counter[str] = Counter()
        self.injected_delays: Counter[str] = Counter()

    async def start(self) -> None:
        """Listen, and follow the fault table when given a client and a namespace."""
        await super().start()
        if self._kube is not None and self._namespace is not None:
            self._follow = asyncio.create_task(self.follow_faults(self._kube, self._namespace))

    async def close(self) -> None:
        if self._follow is not None:
            self._follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow
        await super().close()

    def status(self) -> dict[str, Any]:
        """For the agent's status file: the table in force and what it did so far."""
        return {
            "table": {op: f.describe() for op, f in sorted(self.faults.items())},
            "errors": dict(self.injected_errors),
            "delays": dict(self.injected_delays),
        }

    # -- the fault table ---------------------------------------------------------------------

    def set_table(self, name: str, faults: dict[str, sdk_config.OperationFault] | None) -> None:
        """Set (or, with ``None``, drop) the table one ConfigMap carries; tables of several
        ConfigMaps are merged in name order."""
        if faults is None:
            self._tables.pop(name, None)
        else:
            self._tables[name] = faults
        merged: dict[str, sdk_config.OperationFault] = {}
        for key in sorted(self._tables):
            merged.update(self._tables[key])
        if merged != self.faults:
            log.info(
                "relay %s: client faults %s",
                self.name,
                "; ".join(f"{op}: {f.describe()}" for op, f in sorted(merged.items())) or "cleared",
            )
        self.faults = merged

    def _take(self, cm: RawObject) -> None:
        name = cm["metadata"]["name"]
        try:
            self.set_table(name, sdk_config.from_configmap(cm))
        except ValueError as exc:
            log.warning("relay %s: ignoring ConfigMap %s: %s", self.name, name, exc)
            self.set_table(name, None)

    async def follow_faults(self, kube: KubeClient, namespace: str) -> None:
        """Keep the table equal to the ``operator-chaos-*`` ConfigMaps of ``namespace``
        (list, then watch from the list's resourceVersion; re-list on 410 or stream end)."""
        prefix = sdk_config.CONFIG_MAP_PREFIX
        while True:
            try:
                listed = await kube.list("v1", "ConfigMap", namespace)
                for name in list(self._tables):
                    self.set_table(name, None)
                for cm in listed.items:
                    if cm["metadata"]["name"].startswith(prefix):
                        self._take(cm)
                async for event in kube.watch(
                    "v1", "ConfigMap", namespace, resource_version=listed.resource_version
                ):
                    if event.type == "BOOKMARK":
                        continue
                    name = event.object["metadata"]["name"]
                    if not name.startswith(prefix):
                        continue
                    if event.type == "DELETED":
                        self.set_table(name, None)
                    else:
                        self._take(event.object)
            except kube_errors.Gone:
                continue
            except kube_errors.KubeError as exc:
                log.warning("relay %s: ConfigMap watch failed (%s); retrying", self.name, exc)
                await asyncio.sleep(1.0)

    # -- one client connection ---------------------------------------------------------------

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await writer.start_tls(self._serve_tls)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                request = await _read_head(reader)
                if request is None:
                    return
                method, target = [*request.start.split(" "), "", ""][:2]
                op = (
                    None
                    if exempt(target)
                    else operation(method, target, request.headers.get("content-type", ""))
                )
                if op is not None and await self._fail(op, reader, writer, request):
                    if request.close:
                        return
                    continue
                if upstream is None:
                    upstream = await asyncio.open_connection(
                        "127.0.0.1",
                        self.upstream_port,
                        ssl=self._upstream_tls,
                        server_hostname="127.0.0.1",
                    )
                    self.forwarded += 1
                up_reader, up_writer = upstream
                up_writer.write(request.raw)
                await _copy_body(reader, up_writer, request)
                keep = await self._respond(method, up_reader, writer, reader, up_writer)
                if not keep or request.close:
                    return
        finally:
            if upstream is not None:
                upstream[1].close()

    async def _fail(
        self,
        op: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: _Head,
    ) -> bool:
        """Apply the table to one request: wait, then answer with an error (True) or let it
        through (False). ``patch`` covers server-side apply unless ``apply`` is set."""
        fault = self.faults.get(op)
        if fault is None and op == "apply":
            fault = self.faults.get("patch")
        if fault is None and op == "deleteAllOf":
            fault = self.faults.get("delete")
        if fault is None:
            return False
        wait, fail = fault.draw(self._rng)
        if wait > 0:
            self.injected_delays[op] += 1
            await asyncio.sleep(wait)
        if not fail:
            return False
        self.injected_errors[op] += 1
        await _copy_body(reader, None, request)  # the body is read and dropped
        code, body = status_body(op, fault.error)
        writer.write(
            (
                f"HTTP/1.1 {code} {_REASON_TEXT.get(code, 'Error')}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Cache-Control: no-cache, private\r\n"
                "\r\n"
            ).encode()
            + body
        )
        await writer.drain()
        return True

    async def _respond(
        self,
        method: str,
        up_reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> bool:
        """Relay one response (interim 1xx heads first); True when the connection may carry
        another request. A protocol switch (exec, port-forward) becomes a raw byte pipe."""
        while True:
            response = await _read_head(up_reader)
            if response is None:
                raise asyncio.IncompleteReadError(b"", None)
            code = int(response.start.split(" ")[1])
            writer.write(response.raw)
            await writer.drain()
            if code == 101:
                await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
                return False
            if 100 <= code < 200:
                continue
            break
        if method.upper() == "HEAD" or code in (204, 304):
            return not response.close
        delimited = response.chunked or response.length is not None
        await _copy_body(up_reader, writer, response, until_eof=not delimited)
        return delimited and not response.close
