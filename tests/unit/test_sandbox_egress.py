"""The sandbox's egress proxy and volume projection: pure mapping logic, plus the CONNECT
tunnel and the atomic file swap on the real OS (a Unix socket, a loopback echo server, a
temporary directory). Their behaviour with a real API server is in
tests/cluster/test_kueue.py."""

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from operator_chaos.sandbox import egress, volumes

SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "kueue-webhook-service", "namespace": "opendatahub"},
    "spec": {
        "clusterIP": "10.96.0.20",
        "selector": {"control-plane": "controller-manager"},
        "ports": [{"port": 443, "protocol": "TCP", "targetPort": 9443}],
    },
}
POD: dict[str, Any] = {
    "metadata": {"labels": {"control-plane": "controller-manager", "app": "x"}},
    "spec": {
        "containers": [
            {
                "name": "manager",
                "ports": [
                    {"name": "webhook-server", "containerPort": 9443},
                    {"name": "metrics", "containerPort": 8443},
                ],
            }
        ]
    },
}


def test_backend_maps_container_port_names_and_numbers_to_relays() -> None:
    backend = egress.backend_for(POD, {"webhook-server": 40001, "health": 40002})
    assert backend.ports == {"webhook-server": 40001, "9443": 40001}
    assert backend.labels["control-plane"] == "controller-manager"


def test_route_follows_service_port_target_port_and_selector() -> None:
    backend = egress.backend_for(POD, {"webhook-server": 40001})
    assert egress.route(SERVICE, 443, [backend]) == (40001, "")
    named = json.loads(json.dumps(SERVICE))
    named["spec"]["ports"][0]["targetPort"] = "webhook-server"
    assert egress.route(named, 443, [backend]) == (40001, "")


@pytest.mark.parametrize(
    ("port", "labels", "why"),
    [
        (8443, {"control-plane": "controller-manager"}, "has no TCP port 8443"),
        (443, {"control-plane": "other"}, "selects no running operator pod"),
    ],
)
def test_route_refuses_with_a_reason(port: int, labels: dict[str, str], why: str) -> None:
    backend = egress.Backend(labels=labels, ports={"9443": 40001})
    target, reason = egress.route(SERVICE, port, [backend])
    assert target is None
    assert why in reason


def test_route_refuses_a_port_the_operator_does_not_serve() -> None:
    backend = egress.Backend(labels={"control-plane": "controller-manager"}, ports={})
    assert egress.route(SERVICE, 443, [backend])[1].endswith("which the operator does not serve")


def test_selector_config_routes_only_cluster_traffic_over_the_socket(tmp_path: Path) -> None:
    doc = json.loads(egress.write_selector_config(tmp_path).read_text())
    assert [s["name"] for s in doc["egressSelections"]] == ["cluster"]
    connection = doc["egressSelections"][0]["connection"]
    assert connection["proxyProtocol"] == "HTTPConnect"
    assert connection["transport"] == {"uds": {"udsName": str(tmp_path / "egress.sock")}}


def test_socket_path_too_long_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(egress.EgressError, match="too long for a Unix socket"):
        egress.socket_path(tmp_path / ("x" * 120))


async def _connect(path: Path, target: str) -> tuple[bytes, asyncio.StreamReader, Any]:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    return head, reader, writer


def test_connect_tunnels_loopback_and_refuses_unknown_hosts(tmp_path: Path) -> None:
    async def run() -> None:
        async def echo(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.write(await r.read(100))
            await w.drain()
            w.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        proxy = egress.EgressProxy(tmp_path / "e.sock", None, list)  # type: ignore[arg-type]
        await proxy.start()
        try:
            head, reader, writer = await _connect(proxy.path, f"127.0.0.1:{port}")
            assert head.startswith(b"HTTP/1.1 200")
            writer.write(b"ping")
            await writer.drain()
            assert await reader.read(100) == b"ping"
            writer.close()
            head, _, writer = await _connect(proxy.path, "not-a-service:443")
            assert head.startswith(b"HTTP/1.1 502")
            writer.close()
            assert (proxy.path.stat().st_mode & 0o777) == 0o600
        finally:
            await proxy.close()
            server.close()

    asyncio.run(run())


def test_volume_files_decode_secrets_and_expand_only_configmaps() -> None:
    secret_volume = {"name": "cert", "secret": {"secretName": "s", "defaultMode": 0o600}}
    secret = {"kind": "Secret", "data": {"tls.crt": base64.b64encode(b"{port:x}").decode()}}
    assert volumes.files_of(secret_volume, secret, lambda t: "EXPANDED") == {
        "tls.crt": (b"{port:x}", 0o600)
    }
    cm_volume = {"name": "c", "configMap": {"name": "c", "items": [{"key": "a", "path": "d/a"}]}}
    cm = {"kind": "ConfigMap", "data": {"a": "port: {port:x}", "b": "skipped"}}
    assert volumes.files_of(cm_volume, cm, lambda t: t.replace("{port:x}", "1")) == {
        "d/a": (b"port: 1", 0o644)
    }
    assert volumes.files_of(cm_volume, None) == {}


def test_volume_swap_is_atomic_and_drops_removed_keys(tmp_path: Path) -> None:
    volumes.write_atomically(tmp_path, {"tls.crt": (b"one", 0o644), "tls.key": (b"k", 0o600)})
    assert (tmp_path / "tls.crt").read_bytes() == b"one"
    first = (tmp_path / "..data").readlink()
    volumes.write_atomically(tmp_path, {"tls.crt": (b"two", 0o644)})
    assert (tmp_path / "tls.crt").read_bytes() == b"two"
    assert not (tmp_path / "tls.key").exists()
    assert not (tmp_path / first).exists()
    assert (tmp_path / "tls.crt").is_symlink()
