"""The authenticated HTTP client for one resolved kubeconfig context.

lightkube parses the kubeconfig and picks the context (public ``SingleConfig``); it has no
public way to hand out the HTTP client it builds, and the adapter needs raw REST (watch
bookmarks, discovery, ``/readyz``). So the client is built here, on httpx2, the transport
lightkube 1.x itself uses, from the context's public fields: TLS (CA file or data, client
certificate file or data, insecure-skip-tls-verify), then one of tokenFile (re-read on 401),
token, an exec credential plugin (token credentials; re-run on 401 or expiry) or basic auth.
"""

import asyncio
import base64
import datetime
import json
import os
import ssl
import tempfile
from collections.abc import AsyncGenerator, Generator
from pathlib import Path
from typing import Any

import httpx2
from lightkube.config.kubeconfig import SingleConfig

from operator_chaos.kube.errors import ConfigError

_EXEC_API_VERSIONS = (
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
    "client.authentication.k8s.io/v1alpha1",
)


def http_client(config: SingleConfig, *, timeout: float) -> httpx2.AsyncClient:
    """An httpx2 client with the context's server, TLS settings and credentials."""
    return httpx2.AsyncClient(
        base_url=config.cluster.server,
        verify=tls_context(config),
        auth=auth(config),
        timeout=httpx2.Timeout(timeout),
        trust_env=False,  # never route cluster traffic through a proxy from the environment
    )


def _path(config: SingleConfig, name: str) -> str:
    return str(config.abs_file(name))


def _pem(data: str, what: str) -> str:
    try:
        return base64.b64decode(data, validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"kubeconfig: {what} is not base64-encoded PEM") from exc


def tls_context(config: SingleConfig) -> ssl.SSLContext:
    """Server verification and the client certificate, as kubectl reads them."""
    cluster, user = config.cluster, config.user
    try:
        if cluster.insecure:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif cluster.certificate_auth_data:
            pem = _pem(cluster.certificate_auth_data, "certificate-authority-data")
            ctx = ssl.create_default_context(cadata=pem)
        elif cluster.certificate_auth:
            ctx = ssl.create_default_context(cafile=_path(config, cluster.certificate_auth))
        else:
            ctx = ssl.create_default_context()
        if user is not None and (user.client_cert_data or user.client_cert):
            _load_client_cert(config, ctx)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"kubeconfig context {config.context_name}: TLS setup: {exc}") from exc
    return ctx


def _load_client_cert(config: SingleConfig, ctx: ssl.SSLContext) -> None:
    user = config.user
    assert user is not None
    if user.client_cert_data is None and user.client_key_data is None:
        cert, key = user.client_cert, user.client_key
        if cert is None or key is None:
            raise ConfigError("kubeconfig: client-certificate needs client-key")
        ctx.load_cert_chain(_path(config, cert), _path(config, key))
        return
    # ssl only loads key material from files: a private directory that lives for this call.
    with tempfile.TemporaryDirectory(prefix="operator-chaos-") as tmp:
        files = []
        for data, path, what in (
            (user.client_cert_data, user.client_cert, "client-certificate-data"),
            (user.client_key_data, user.client_key, "client-key-data"),
        ):
            if data:
                target = Path(tmp) / what
                target.touch(mode=0o600)
                target.write_text(_pem(data, what))
                files.append(str(target))
            elif path:
                files.append(_path(config, path))
            else:
                raise ConfigError(f"kubeconfig: {what} is missing")
        ctx.load_cert_chain(files[0], files[1])


def auth(config: SingleConfig) -> httpx2.Auth | None:
    """The credential flow for the context's user (None: client certificate or anonymous)."""
    user = config.user
    if user is None:
        return None
    if user.token_file:
        return _TokenFileAuth(_path(config, user.token_file))
    if user.token:
        return _BearerAuth(user.token)
    if user.exec:
        command = user.exec.command
        if os.sep in command:
            command = _path(config, command)
        env = {e.name: e.value for e in user.exec.env or []}
        return _ExecAuth(user.exec.apiVersion, [command, *(user.exec.args or [])], env)
    if user.username and user.password:
        return httpx2.BasicAuth(user.username, user.password)
    if user.auth_provider:
        raise ConfigError(
            "kubeconfig: auth-provider is not supported (kubectl dropped it too); use an exec"
            " credential plugin"
        )
    return None


class _BearerAuth(httpx2.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token.strip()}"

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class _TokenFileAuth(httpx2.Auth):
    """A token file (in-cluster accounts): rotated by the kubelet, so re-read after a 401."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._header: str | None = None

    def _read(self) -> str:
        try:
            return f"Bearer {Path(self._path).read_text().strip()}"
        except OSError as exc:
            raise ConfigError(f"kubeconfig tokenFile {self._path}: {exc.strerror}") from exc

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        self._header = self._header or self._read()
        request.headers["Authorization"] = self._header
        response = yield request
        if response.status_code == 401:
            self._header = self._read()
            request.headers["Authorization"] = self._header
            yield request


class _ExecAuth(httpx2.Auth):
    """A client-go exec credential plugin; its token is reused until it expires or gets a 401."""

    def __init__(self, api_version: str, command: list[str], env: dict[str, str]) -> None:
        if api_version not in _EXEC_API_VERSIONS:
            raise ConfigError(f"kubeconfig exec plugin: apiVersion {api_version} is not supported")
        self._api_version = api_version
        self._command = command
        self._env = env
        self._header: str | None = None
        self._expires: datetime.datetime | None = None
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        if self._header is None:
            return False
        return self._expires is None or datetime.datetime.now(datetime.UTC) < self._expires

    async def _run(self) -> str:
        info = {"apiVersion": self._api_version, "kind": "ExecCredential"}
        info["spec"] = {"interactive": False}  # type: ignore[assignment]
        env = {**os.environ, **self._env, "KUBERNETES_EXEC_INFO": json.dumps(info)}
        name = Path(self._command[0]).name
        try:
            proc = await asyncio.create_subprocess_exec(
                *self._command,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise ConfigError(f"kubeconfig exec plugin {name}: {exc.strerror}") from exc
        out, err = await proc.communicate()
        if proc.returncode != 0:
            last = (err.decode(errors="replace").strip().splitlines() or [""])[-1]
            raise ConfigError(f"kubeconfig exec plugin {name} exited {proc.returncode}: {last}")
        try:
            status: dict[str, Any] = json.loads(out)["status"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"kubeconfig exec plugin {name}: no ExecCredential status") from exc
        token = status.get("token")
        if not token:
            raise ConfigError(
                f"kubeconfig exec plugin {name}: returned no token (client certificates from"
                " exec plugins are not supported)"
            )
        expires = status.get("expirationTimestamp")
        self._expires = (
            datetime.datetime.fromisoformat(expires.replace("Z", "+00:00")) if expires else None
        )
        return f"Bearer {token}"

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        async with self._lock:
            if not self._fresh():
                self._header = await self._run()
            assert self._header is not None
            header = self._header
        request.headers["Authorization"] = header
        response = yield request
        if response.status_code == 401:
            async with self._lock:
                if self._header == header:
                    self._header = await self._run()
                header = self._header
            request.headers["Authorization"] = header
            yield request
