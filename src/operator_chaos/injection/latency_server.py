"""The delaying admission webhook WebhookLatency registers: served by the ``run`` process
itself, on a loopback port, for the hold only.

Each AdmissionReview is answered "allowed" after the delay, so the fault slows requests and
never rejects one. TLS uses a CA made on the fly for this server alone (its key never leaves
memory and a temporary file that is deleted at once); the webhook configuration carries that
CA. The server dies with the process: a SIGKILLed run leaves a configuration whose endpoint
refuses connections, which ``failurePolicy: Ignore`` turns into "allowed" until ``clean``
deletes it.
"""

import asyncio
import contextlib
import datetime
import ipaddress
import json
import logging
import os
import ssl
import tempfile
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)
PATH = "/validate"
_MAX_BODY = 8 * 1024 * 1024
_LIFETIME = datetime.timedelta(days=2)


def _certificates() -> tuple[bytes, bytes, bytes]:
    """``(ca_pem, cert_pem, key_pem)``: a one-off CA and a 127.0.0.1 serving certificate."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "operator-chaos-latency-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca.public_bytes(pem), leaf.public_bytes(pem), key_pem


def _context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server context; ``ssl`` loads keys from files only, so the file lives a moment."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.set_alpn_protocols(["http/1.1"])
    fd, path = tempfile.mkstemp(prefix="operator-chaos-latency-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(cert_pem + key_pem)
        ctx.load_cert_chain(path)
    finally:
        os.unlink(path)
    return ctx


@dataclass(frozen=True, slots=True)
class Call:
    """One admission request the server received (what, not the object's content)."""

    operation: str
    resource: str
    namespace: str
    name: str


@dataclass
class LatencyServer:
    """An HTTPS admission webhook on ``127.0.0.1`` that allows everything after ``delay``."""

    delay: float
    ca_pem: bytes = b""
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _called: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}{PATH}"

    async def start(self) -> None:
        ca_pem, cert_pem, key_pem = _certificates()
        self.ca_pem = ca_pem
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=_context(cert_pem, key_pem)
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_call(self, after: int, timeout: float) -> bool:
        """True once more than ``after`` calls were received (within ``timeout`` seconds)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.calls) <= after:
            self._called.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._called.wait(), left)
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if length > _MAX_BODY:
                    return
                body = await reader.readexactly(length)
                writer.write(await self._answer(body))
                await writer.drain()
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, body: bytes) -> bytes:
        review = json.loads(body or b"{}")
        request = review.get("request") or {}
        resource = request.get("resource") or {}
        self.calls.append(
            Call(
                operation=str(request.get("operation", "")),
                resource=str(resource.get("resource", "")),
                namespace=str(request.get("namespace", "")),
                name=str(request.get("name", "")),
            )
        )
        self._called.set()
        await asyncio.sleep(self.delay)
        reply = json.dumps(
            {
                "apiVersion": review.get("apiVersion", "admission.k8s.io/v1"),
                "kind": "AdmissionReview",
                "response": {"uid": request.get("uid", ""), "allowed": True},
            }
        ).encode()
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(reply)}\r\n\r\n".encode()
            + reply
        )


_RUNNING: dict[str, LatencyServer] = {}


async def serve(key: str, delay: float) -> LatencyServer:
    """Start the server for ``key`` (a run id), or return the one already running."""
    server = _RUNNING.get(key)
    if server is None:
        server = LatencyServer(delay)
        await server.start()
        _RUNNING[key] = server
        log.info("latency webhook for %s listening at %s", key, server.url)
    return server


def running(key: str) -> LatencyServer | None:
    """The server of ``key`` if this process runs it."""
    return _RUNNING.get(key)


async def stop(key: str) -> bool:
    """Stop the server of ``key``; False when this process does not run one (``clean``)."""
    server = _RUNNING.pop(key, None)
    if server is None:
        return False
    await server.close()
    return True
