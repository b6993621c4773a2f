"""The API server's ``cluster`` egress: an HTTP CONNECT proxy that turns Service addresses
into the loopback ports of the operator processes behind them.

Operators that manage their own webhook certificate (Kueue's cert rotator) issue it for
``<svc>.<ns>.svc`` and write its CA into their webhook configurations, which keep their
``service`` reference. The API server is started with an egress selector whose ``cluster``
connection is HTTP CONNECT over a Unix socket to this proxy, so it dials the Service as it
would in a real cluster (``CONNECT <clusterIP>:<port>``, or the DNS name) and verifies the
operator's own certificate end to end; the proxy maps the Service back to the operator's
loopback port (Service port -> targetPort -> container port name -> loopback port). Nothing
dials a Service or pod IP, and no TCP listener is opened: the proxy is a socket file.
"""

import asyncio
import contextlib
import ipaddress
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from operator_chaos.errors import OperatorChaosError
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.sandbox.proxy import pipe

log = logging.getLogger(__name__)
SOCKET_NAME = "egress.sock"
CONFIG_NAME = "egress-selector.yaml"
_MAX_SOCKET_PATH = 107  # sun_path, less the terminating NUL
_MAX_HEADER = 16384
_CHUNK = 65536


class EgressError(OperatorChaosError):
    """The egress socket cannot be created (path too long for a Unix socket)."""


def socket_path(sandbox_dir: Path) -> Path:
    """Where the proxy listens; refuses a path the kernel cannot bind."""
    path = sandbox_dir / SOCKET_NAME
    if len(str(path).encode()) > _MAX_SOCKET_PATH:
        raise EgressError(
            f"sandbox directory {sandbox_dir} is too long for a Unix socket path"
            f" ({len(str(path))} > {_MAX_SOCKET_PATH} bytes); set OPERATOR_CHAOS_CACHE shorter"
        )
    return path


def write_selector_config(sandbox_dir: Path) -> Path:
    """Write the API server's ``--egress-selector-config-file`` and return its path.

    Only ``cluster`` is routed (Service webhooks, aggregated APIs, node connections);
    ``controlplane`` stays direct, so URL webhooks and etcd are unaffected.
    """
    config = {
        "apiVersion": "apiserver.k8s.io/v1beta1",
        "kind": "EgressSelectorConfiguration",
        "egressSelections": [
            {
                "name": "cluster",
                "connection": {
                    "proxyProtocol": "HTTPConnect",
                    "transport": {"uds": {"udsName": str(socket_path(sandbox_dir))}},
                },
            }
        ],
    }
    path = sandbox_dir / CONFIG_NAME
    path.write_text(json.dumps(config, indent=2) + "\n")  # JSON is YAML
    return path


@dataclass(frozen=True, slots=True)
class Backend:
    """One running operator pod as the proxy sees it.

    ``ports`` maps a container port's name and its number (as a string) to the loopback
    port to dial for it (the agent's partitionable relay, so NetworkPolicies still apply).
    """

    labels: Mapping[str, str]
    ports: Mapping[str, int] = field(default_factory=dict)


def backend_for(pod: RawObject, loopback: Mapping[str, int]) -> Backend:
    """The backend of a bound pod: its labels, and every container port whose name has a
    loopback port in ``loopback`` (the scenario's ``{port:NAME}`` map, NAME = port name)."""
    ports: dict[str, int] = {}
    for container in pod.get("spec", {}).get("containers") or []:
        for entry in container.get("ports") or []:
            name, number = entry.get("name"), entry.get("containerPort")
            if name in loopback:
                ports[str(name)] = loopback[str(name)]
                if number is not None:
                    ports[str(number)] = loopback[str(name)]
    return Backend(labels=dict(pod.get("metadata", {}).get("labels") or {}), ports=ports)


def _service_port(service: RawObject, port: int) -> str | None:
    """The targetPort (name or number, as a string) behind ``port`` of a Service."""
    for entry in service.get("spec", {}).get("ports") or []:
        if entry.get("port") == port and entry.get("protocol", "TCP") == "TCP":
            return str(entry.get("targetPort", port))
    return None


def route(service: RawObject, port: int, backends: Iterable[Backend]) -> tuple[int | None, str]:
    """Pure mapping of one Service port to a loopback port; returns (port, why not)."""
    target = _service_port(service, port)
    meta = service.get("metadata", {})
    name = f"Service {meta.get('namespace')}/{meta.get('name')}"
    if target is None:
        return None, f"{name} has no TCP port {port}"
    selector: Mapping[str, str] = service.get("spec", {}).get("selector") or {}
    if not selector:
        return None, f"{name} has no selector"
    for backend in backends:
        if all(backend.labels.get(k) == v for k, v in selector.items()):
            if target in backend.ports:
                return backend.ports[target], ""
            return None, f"{name} targets port {target}, which the operator does not serve"
    return None, f"{name} selects no running operator pod"


async def find_service(kube: KubeClient, host: str) -> RawObject | None:
    """The Service a CONNECT host names: a ClusterIP, or ``<svc>.<ns>.svc[.cluster.local]``."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        parts = host.rstrip(".").split(".")
        if len(parts) < 3 or parts[2] != "svc":
            return None
        return await kube.get_or_none(ResourceRef("v1", "Service", parts[0], parts[1]))
    listed = await kube.list("v1", "Service")
    for svc in listed.items:
        spec = svc.get("spec", {})
        if host == spec.get("clusterIP") or host in (spec.get("clusterIPs") or []):
            return svc
    return None


class EgressProxy:
    """HTTP CONNECT on a Unix socket; each tunnel is relayed to a loopback port."""

    def __init__(
        self, path: Path, kube: KubeClient, backends: Callable[[], Iterable[Backend]]
    ) -> None:
        self.path = path
        self.kube = kube
        self.backends = backends
        self._server: asyncio.Server | None = None
        self._tunnels: set[asyncio.Task[Any]] = set()
        self.tunnels = 0
        self.refused = 0

    async def start(self) -> None:
        """Listen on the socket file (owner-only: the API server runs as the same user)."""
        self.path.unlink(missing_ok=True)
        self._server = await asyncio.start_unix_server(self._accept, str(self.path))
        self.path.chmod(0o600)

    async def close(self) -> None:
        """Stop listening and end every tunnel."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tunnels):
            task.cancel()
        self.path.unlink(missing_ok=True)

    async def resolve(self, authority: str) -> tuple[int | None, str]:
        """Loopback port for ``host:port``; loopback targets (node connections) pass through."""
        host, _, port_text = authority.rpartition(":")
        host = host.strip("[]")
        if not host or not port_text.isdigit():
            return None, f"bad CONNECT target {authority!r}"
        port = int(port_text)
        if host in ("127.0.0.1", "localhost", "::1"):
            return port, ""
        try:
            service = await find_service(self.kube, host)
        except kube_errors.KubeError as exc:
            return None, f"cannot look up the Service for {authority}: {exc}"
        if service is None:
            return None, f"no Service at {authority}"
        return route(service, port, self.backends())

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tunnels.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > _MAX_HEADER:
                raise ValueError("header too long")
            method, authority, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            port, why = (None, "only CONNECT is supported")
            if method == "CONNECT":
                port, why = await self.resolve(authority)
            if port is None:
                self.refused += 1
                log.warning("egress: refused CONNECT %s: %s", authority, why)
                writer.write(f"HTTP/1.1 502 Bad Gateway\r\n\r\n{why}\n".encode())
                await writer.drain()
                return
            try:
                up_reader, upstream = await asyncio.open_connection("127.0.0.1", port)
            except OSError as exc:
                self.refused += 1
                log.warning("egress: %s -> 127.0.0.1:%s failed: %s", authority, port, exc)
                writer.write(b"HTTP/1.1 503 Service Unavailable\r\n\r\n")
                await writer.drain()
                return
            self.tunnels += 1
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(pipe(reader, upstream), pipe(up_reader, writer))
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tunnels.discard(task)
            if upstream is not None:
                upstream.close()
            with contextlib.suppress(Exception):
                writer.close()
