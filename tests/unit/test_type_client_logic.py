"""ClientFault and WebhookLatency without a cluster: the SDK's fault-table wire format, the API
relay's HTTP handling against a local TLS server (no Kubernetes behaviour is imitated: the
upstream is a plain HTTP/1.1 responder), record round-trips and plan lines."""

import asyncio
import contextlib
import json
import random
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from operator_chaos.injection import latency_server, sdk_config
from operator_chaos.injection.builtin import client_fault, webhook_latency
from operator_chaos.injection.created import CreatedRecord
from operator_chaos.injection.sdk_config import OperationFault
from operator_chaos.sandbox import pki, ports
from operator_chaos.sandbox.proxy import ApiRelay, exempt, operation, status_body

# -- the SDK's table ------------------------------------------------------------------------


def test_encode_writes_the_sdk_shape_with_nanosecond_delays() -> None:
    text = sdk_config.encode(
        {
            "get": OperationFault(error_rate=0.3, error="throttled", delay=0.5),
            "list": OperationFault(max_delay=2.0),
        }
    )
    doc = json.loads(text)
    assert doc == {
        "active": True,
        "faults": {
            "get": {"errorRate": 0.3, "error": "throttled", "delay": 500_000_000},
            "list": {"errorRate": 0.0, "error": "", "maxDelay": 2_000_000_000},
        },
    }
    assert sdk_config.decode(text) == {
        "get": OperationFault(error_rate=0.3, error="throttled", delay=0.5),
        "list": OperationFault(max_delay=2.0),
    }


def test_decode_accepts_go_duration_strings_and_inactive_tables() -> None:
    table = sdk_config.decode('{"active":true,"faults":{"get":{"errorRate":1,"delay":"1m30s"}}}')
    assert table["get"].delay == 90.0
    assert sdk_config.decode('{"active":false,"faults":{"get":{"errorRate":1}}}') == {}
    assert sdk_config.decode("") == {}
    for bad in ("[", "[]", '{"faults":{"get":{"errorRate":2}}}', '{"faults":{"get":1}}'):
        with pytest.raises(ValueError, match="config"):
            sdk_config.decode(bad)


def test_draw_follows_rate_and_random_delay() -> None:
    rng = random.Random(7)
    always = OperationFault(error_rate=1.0, delay=0.25)
    assert always.draw(rng) == (0.25, True)
    never = OperationFault(error_rate=0.0)
    assert never.draw(rng) == (0.0, False)
    waits = [OperationFault(max_delay=1.0).draw(rng)[0] for _ in range(200)]
    assert all(0 <= w < 1.0 for w in waits)
    assert max(waits) > 0.5


# -- requests to operations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        ("GET", "/api/v1/namespaces/ns/pods/p", "get"),
        ("GET", "/api/v1/namespaces/ns/pods", "list"),
        ("GET", "/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5", "list"),
        ("GET", "/api/v1/namespaces/ns/pods?fieldSelector=metadata.name%3Dp&watch=1", "list"),
        ("GET", "/api/v1/watch/namespaces/ns/pods/p", "list"),
        ("GET", "/api/v1/namespaces/ns", "get"),
        ("GET", "/api/v1/namespaces", "list"),
        ("PUT", "/api/v1/namespaces/ns/finalize", "update"),
        ("GET", "/apis/apps/v1/namespaces/ns/deployments/d/status", "get"),
        ("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/x", "get"),
        ("POST", "/apis/apps/v1/namespaces/ns/deployments", "create"),
        ("PUT", "/apis/apps/v1/namespaces/ns/deployments/d", "update"),
        ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/d", "patch"),
        ("DELETE", "/api/v1/namespaces/ns/pods/p", "delete"),
        ("DELETE", "/api/v1/namespaces/ns/pods?labelSelector=a%3Db", "deleteAllOf"),
        ("GET", "/api", None),
        ("GET", "/apis/apps/v1", None),
        ("GET", "/version", None),
        ("GET", "/healthz", None),
        ("GET", "/openapi/v3", None),
    ],
)
def test_operation(method: str, target: str, expected: str | None) -> None:
    assert operation(method, target) == expected


def test_server_side_apply_and_the_exempt_table() -> None:
    target = "/apis/apps/v1/namespaces/ns/deployments/d?fieldManager=x"
    assert operation("PATCH", target, "application/apply-patch+yaml") == "apply"
    assert exempt("/api/v1/namespaces/ns/configmaps/operator-chaos-config")
    assert exempt("/api/v1/namespaces/ns/configmaps?fieldSelector=metadata.name%3Doperator-chaos-x")
    assert not exempt("/api/v1/namespaces/ns/configmaps/demo-config")
    code, body = status_body("update", "conflict storm")
    assert code == 409
    assert json.loads(body)["message"] == "chaos(update): conflict storm"
    assert json.loads(body)["reason"] == "Conflict"


# -- the relay against a local TLS HTTP server ------------------------------------------------


@dataclass
class Upstream:
    """A small HTTP/1.1 server over TLS: records request heads; ``/stream`` sends a chunked
    body in two parts, the second only once ``release`` is set."""

    port: int = 0
    heads: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = (await reader.readuntil(b"\r\n\r\n")).decode()
                except asyncio.IncompleteReadError:
                    return
                self.heads.append(head)
                length = 0
                for line in head.split("\r\n"):
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":")[1])
                body = await reader.readexactly(length) if length else b""
                path = head.split(" ")[1]
                if path.startswith("/api/v1/namespaces/ns/stream"):
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b'11\r\n{"type":"ADDED"}\n\r\n'
                    )
                    await writer.drain()
                    await self.release.wait()
                    writer.write(b'13\r\n{"type":"DELETED"}\n\r\n0\r\n\r\n')
                    await writer.drain()
                    continue
                reply = json.dumps({"path": path, "body": body.decode()}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(reply)}\r\n\r\n".encode()
                    + reply
                )
                await writer.drain()
        finally:
            writer.close()


@pytest.fixture
def tls_dir(tmp_path: Path) -> Path:
    ca = pki.create_ca(tmp_path)
    pki.issue(
        ca, tmp_path, "apiserver", common_name="api", ip_addresses=("127.0.0.1",), server=True
    )
    return tmp_path


@pytest.fixture
async def upstream(tls_dir: Path) -> AsyncIterator[Upstream]:
    up = Upstream()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tls_dir / "apiserver.crt", tls_dir / "apiserver.key")
    server = await asyncio.start_server(up.handle, "127.0.0.1", 0, ssl=ctx)
    up.port = server.sockets[0].getsockname()[1]
    try:
        yield up
    finally:
        up.release.set()
        server.close()


@pytest.fixture
async def relay(tls_dir: Path, upstream: Upstream) -> AsyncIterator[ApiRelay]:
    relay = ApiRelay("api", ports.free_port(), upstream.port, tls_dir, rng=random.Random(1))
    await relay.start()
    try:
        yield relay
    finally:
        await relay.close()
        await asyncio.sleep(0)


class Client:
    """One keep-alive HTTPS connection to the relay, trusting the sandbox CA."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, relay: ApiRelay, tls_dir: Path) -> "Client":
        ctx = ssl.create_default_context(cafile=str(tls_dir / "ca.crt"))
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                "127.0.0.1", relay.listen_port, ssl=ctx, server_hostname="127.0.0.1"
            ),
            5,
        )
        return cls(reader, writer)

    async def send(self, method: str, path: str, body: bytes = b"") -> None:
        self.writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer t0k\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await self.writer.drain()

    async def response(self) -> tuple[int, dict[str, object]]:
        head = (await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)).decode()
        length = next(
            int(line.split(":")[1])
            for line in head.split("\r\n")
            if line.lower().startswith("content-length:")
        )
        body = await self.reader.readexactly(length)
        return int(head.split(" ")[1]), json.loads(body)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


async def test_relays_requests_over_tls_with_the_callers_token(
    relay: ApiRelay, upstream: Upstream, tls_dir: Path
) -> None:
    client = await Client.connect(relay, tls_dir)
    try:
        await client.send("GET", "/api/v1/namespaces/ns/pods/p")
        assert await client.response() == (
            200,
            {"path": "/api/v1/namespaces/ns/pods/p", "body": ""},
        )
        await client.send("POST", "/api/v1/namespaces/ns/pods", b'{"kind":"Pod"}')
        assert (await client.response())[1]["body"] == '{"kind":"Pod"}'
    finally:
        await client.close()
    assert len(upstream.heads) == 2
    assert all("Authorization: Bearer t0k" in head for head in upstream.heads)
    assert relay.forwarded == 1  # one upstream connection carried both (keep-alive)


async def test_streams_a_watch_as_it_arrives(
    relay: ApiRelay, upstream: Upstream, tls_dir: Path
) -> None:
    client = await Client.connect(relay, tls_dir)
    try:
        await client.send("GET", "/api/v1/namespaces/ns/stream?watch=true")
        await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 5)
        first = await asyncio.wait_for(client.reader.readuntil(b"}\n\r\n"), 5)
        assert b"ADDED" in first  # before the upstream has finished the response
        upstream.release.set()
        rest = await asyncio.wait_for(client.reader.readuntil(b"0\r\n\r\n"), 5)
        assert b"DELETED" in rest
    finally:
        await client.close()


async def test_applies_the_fault_table_per_operation(
    relay: ApiRelay, upstream: Upstream, tls_dir: Path
) -> None:
    relay.set_table(
        "operator-chaos-config",
        {
            "create": OperationFault(error_rate=1.0, error="boom"),
            "get": OperationFault(delay=0.4),
        },
    )
    client = await Client.connect(relay, tls_dir)
    try:
        await client.send("POST", "/api/v1/namespaces/ns/pods", b'{"kind":"Pod"}')
        code, status = await client.response()
        assert code == 429
        assert status["message"] == "chaos(create): boom"
        assert not upstream.heads  # never reached the API server

        started = time.monotonic()
        await client.send("GET", "/api/v1/namespaces/ns/pods/p")
        assert (await client.response())[0] == 200
        assert time.monotonic() - started >= 0.4

        await client.send("GET", "/api/v1/namespaces/ns/pods")  # list: not in the table
        assert (await client.response())[0] == 200

        relay.set_table("operator-chaos-config", None)  # lifted
        await client.send("POST", "/api/v1/namespaces/ns/pods", b"{}")
        assert (await client.response())[0] == 200
    finally:
        await client.close()
    assert relay.injected_errors == {"create": 1}
    assert relay.injected_delays == {"get": 1}


async def test_the_table_never_blocks_reading_itself(
    relay: ApiRelay, upstream: Upstream, tls_dir: Path
) -> None:
    relay.set_table("operator-chaos-config", {"get": OperationFault(error_rate=1.0)})
    client = await Client.connect(relay, tls_dir)
    try:
        await client.send("GET", "/api/v1/namespaces/ns/configmaps/operator-chaos-config")
        assert (await client.response())[0] == 200
        await client.send("GET", "/api/v1/namespaces/ns/configmaps/other")
        assert (await client.response())[0] == 503
    finally:
        await client.close()


async def test_partition_black_holes_before_the_handshake(
    relay: ApiRelay, upstream: Upstream, tls_dir: Path
) -> None:
    relay.set_blocked(True)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(Client.connect(relay, tls_dir), 0.5)
    relay.set_blocked(False)
    client = await Client.connect(relay, tls_dir)
    try:
        await client.send("GET", "/api/v1/namespaces/ns/pods/p")
        assert (await client.response())[0] == 200
    finally:
        await client.close()


# -- records, parameters and plan lines -------------------------------------------------------


def test_client_fault_params_become_the_sdk_table() -> None:
    params = client_fault.Params.model_validate(
        {"faults": '{"get":{"errorRate":0.3,"error":"throttled","delay":"500ms"}}'}
    )
    injector = client_fault.INJECTOR
    assert isinstance(injector, client_fault.ClientFault)
    content = injector.content(params)
    assert json.loads(content["data"]["config"]) == {
        "active": True,
        "faults": {"get": {"errorRate": 0.3, "error": "throttled", "delay": 500_000_000}},
    }
    assert (
        injector.summary(params)
        == "fault table (config): get: 30% errors ('throttled'), delay 0.5s"
    )
    with pytest.raises(ValueError, match="must start with"):
        client_fault.Params.model_validate(
            {"faults": '{"get":{"errorRate":1}}', "configMapName": "x"}
        )


def test_records_round_trip() -> None:
    record = CreatedRecord(run_id="20261201-000000-abcd", uid="u-1")
    stored = record.model_dump(mode="json", by_alias=True)
    assert stored == {"runId": "20261201-000000-abcd", "uid": "u-1"}
    assert CreatedRecord.model_validate(stored) == record
    assert client_fault.SPEC.record is CreatedRecord
    assert webhook_latency.SPEC.record is CreatedRecord


def test_webhook_latency_defaults_and_timeout() -> None:
    params = webhook_latency.Params.model_validate(
        {"resources": "pytorchjobs,pods", "apiGroups": "kubeflow.org,core"}
    )
    assert params.delay.total_seconds() == 25  # the reference's default
    assert params.timeout_seconds() == 26
    slow = webhook_latency.Params.model_validate(
        {"resources": "pods", "apiGroups": "core", "delay": "29s"}
    )
    assert slow.timeout_seconds() == 30
    injector = webhook_latency.INJECTOR
    assert isinstance(injector, webhook_latency.WebhookLatency)
    assert injector.summary(params) == (
        "delay 25s on CREATE/UPDATE of pytorchjobs,pods (groups kubeflow.org,core),"
        " failurePolicy Ignore, timeoutSeconds 26"
    )


async def test_latency_server_allows_after_the_delay(tmp_path: Path) -> None:
    server = latency_server.LatencyServer(delay=0.3)
    await server.start()
    try:
        ca = tmp_path / "ca.crt"
        ca.write_bytes(server.ca_pem)
        ctx = ssl.create_default_context(cafile=str(ca))
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port, ssl=ctx, server_hostname="127.0.0.1"
        )
        review = json.dumps(
            {
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "request": {
                    "uid": "abc",
                    "operation": "CREATE",
                    "resource": {"group": "", "version": "v1", "resource": "configmaps"},
                    "namespace": "ns",
                    "name": "x",
                },
            }
        ).encode()
        started = time.monotonic()
        writer.write(
            f"POST {latency_server.PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(review)}"
            "\r\n\r\n".encode()
            + review
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        answer = json.loads(await reader.readexactly(length))
        assert time.monotonic() - started >= 0.3
        assert answer["response"] == {"uid": "abc", "allowed": True}
        assert server.calls == [latency_server.Call("CREATE", "configmaps", "ns", "x")]
        writer.close()
    finally:
        await server.close()
