"""Exactly which API requests one ``operator-chaos run`` makes, counted on the wire.

    operator-chaos sandbox up --name bench --scenario training-operator
    python benchmarks/api_requests.py --sandbox bench [--verbose] \
        [--experiments pod-kill,rbac-revoke | all] [--hold 5s]

A counting proxy listens on 127.0.0.1 (a serving certificate for 127.0.0.1 signed by the
sandbox CA, ALPN ``http/1.1`` only), terminates TLS and forwards every connection to the
sandbox's kube-apiserver over TLS with the admin client certificate. It parses the
client->server byte stream for HTTP/1.1 request lines, following Content-Length and chunked
bodies, so a body is never mistaken for a request. The tool runs as a user runs it, as a
subprocess with a kubeconfig that points at the proxy, so every request it makes is counted,
discovery and the start-of-run sweep included, and nothing else's is (the benchmark's own
"wait until the operator is settled" goes straight to the API server).

Per experiment it prints the total, a breakdown by category (discovery, watch, list, get,
create, update, patch, delete, other) and by normalised path
(``/api/v1/namespaces/{ns}/pods/{name}``), the wall time, and the reference's figures;
``--verbose`` lists every request in order. The sandbox is neither started nor stopped here.
Always exits 0 unless the sandbox is unusable.
"""

import argparse
import asyncio
import collections
import contextlib
import json
import re
import signal
import ssl
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bench_common import REPO, SEEDS, operator_settled_at

SEED_NAMES = ("pod-kill", "rbac-revoke", "finalizer-block", "network-partition", "webhook-disrupt")
DEFAULT_HOLD = {"rbac-revoke": "30s"}  # the hold of the reference's RBACRevoke figure
CONDITION_HOLD = "5s"  # other condition faults, unless --hold says otherwise
REPAIR_FAULTS = {"pod-kill"}  # nothing is held: --hold is not passed
# (reference, previous version of this tool), from the issue; RBACRevoke with a 30 s hold.
REFERENCE = {"pod-kill": (13, 31, None), "rbac-revoke": (15, 44, "30s")}
CATEGORIES = (
    "discovery",
    "watch",
    "list",
    "get",
    "create",
    "update",
    "patch",
    "delete",
    "other",
)
_CHUNK = 65536
_MAX_HEAD = 1 << 20
_REQUEST_LINE = re.compile(rb"^([A-Z]+) (\S+) HTTP/1\.[01]$")
_NS_SUBRESOURCES = frozenset({"status", "finalize"})


# -- parsing the client->server stream (pure) ----------------------------------------------


class ProtocolError(ValueError):
    """The stream is not HTTP/1.x as this parser understands it; counts would be wrong."""


@dataclass(frozen=True, slots=True)
class RequestLine:
    """One request as it appeared on the wire."""

    method: str
    target: str


class RequestStreamParser:
    """Finds HTTP/1.x request lines in one connection's client->server bytes.

    Fed in arbitrary pieces. Bodies are skipped by their Content-Length or chunked framing,
    so bytes that look like a request line inside a body are never counted. After a request
    that asks to upgrade the connection the rest is opaque (nothing more is counted).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._state = "head"
        self._remaining = 0
        self.opaque = False

    def feed(self, data: bytes) -> list[RequestLine]:
        """The request lines completed by ``data``; raise ProtocolError on a malformed stream."""
        if self.opaque:
            return []
        self._buf += data
        found: list[RequestLine] = []
        while self._step(found):
            pass
        return found

    def _line(self) -> bytes | None:
        end = self._buf.find(b"\r\n")
        if end < 0:
            if len(self._buf) > _MAX_HEAD:
                raise ProtocolError("a line longer than 1 MiB")
            return None
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    def _skip(self) -> bool:
        taken = min(self._remaining, len(self._buf))
        del self._buf[:taken]
        self._remaining -= taken
        return self._remaining == 0

    def _step(self, found: list[RequestLine]) -> bool:
        """Advance one state; False when more bytes are needed."""
        if self._state == "head":
            return self._head(found)
        if self._state in ("body", "chunk-data"):
            if not self._skip():
                return False
            self._state = "head" if self._state == "body" else "chunk-end"
            return True
        if self._state == "chunk-end":
            if len(self._buf) < 2:
                return False
            if self._buf[:2] != b"\r\n":
                raise ProtocolError("a chunk not followed by CRLF")
            del self._buf[:2]
            self._state = "chunk-size"
            return True
        line = self._line()
        if line is None:
            return False
        if self._state == "chunk-size":
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"a bad chunk size {line[:20]!r}") from None
            self._remaining = size
            self._state = "chunk-data" if size else "trailers"
        elif not line:  # trailers: an empty line ends the message
            self._state = "head"
        return True

    def _head(self, found: list[RequestLine]) -> bool:
        while self._buf[:2] == b"\r\n":  # empty lines before a request line are ignored
            del self._buf[:2]
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > _MAX_HEAD:
                raise ProtocolError("a request head longer than 1 MiB")
            return False
        head = bytes(self._buf[:end]).split(b"\r\n")
        del self._buf[: end + 4]
        match = _REQUEST_LINE.match(head[0])
        if match is None:
            raise ProtocolError(f"not an HTTP/1.x request line: {head[0][:60]!r}")
        headers: dict[str, str] = {}
        for raw in head[1:]:
            name, sep, value = raw.partition(b":")
            if not sep:
                raise ProtocolError(f"a header line without a colon: {raw[:60]!r}")
            key = name.strip().decode("latin-1").lower()
            text = value.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        found.append(RequestLine(match[1].decode(), match[2].decode("latin-1")))
        if "upgrade" in headers.get("connection", "").lower():
            self.opaque = True
            self._buf.clear()
            return False
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = "chunk-size"
        elif "content-length" in headers:
            try:
                self._remaining = int(headers["content-length"])
            except ValueError:
                raise ProtocolError(f"a bad Content-Length {headers['content-length']!r}") from None
            if self._remaining < 0:
                raise ProtocolError("a negative Content-Length")
            self._state = "body" if self._remaining else "head"
        return True


# -- classifying and grouping (pure) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Classified:
    """A request's category, its path with names replaced, and its query for display."""

    method: str
    category: str
    pattern: str
    query: str


def _query_text(query: str) -> str:
    shown = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        shown.append(f"{key}={{rv}}" if key == "resourceVersion" and value else f"{key}={value}")
    text = "&".join(shown)
    return text if len(text) <= 200 else text[:197] + "..."


def classify(method: str, target: str) -> Classified:
    """Category and normalised path of one request (``METHOD target`` as sent).

    Discovery is /api, /api/v1, /apis, /apis/<group> and /apis/<group>/<version> (their
    paths stay literal: which groups were discovered matters). Resource paths keep the
    resource and subresource and replace the namespace and the name.
    """
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    segs = [unquote(s) for s in parts.path.split("/") if s]
    shown = _query_text(parts.query)
    prefix_len = {"api": 2, "apis": 3}.get(segs[0]) if segs else None
    if prefix_len is None:  # /version, /openapi/v2, /healthz ...: not resources
        return Classified(method, "other", parts.path or "/", shown)
    if len(segs) <= prefix_len:
        category = "discovery" if method == "GET" else "other"
        return Classified(method, category, "/" + "/".join(segs), shown)
    prefix = "/" + "/".join(segs[:prefix_len])
    rest = segs[prefix_len:]
    watch = query.get("watch", "").lower() in ("true", "1")
    if rest[0] == "watch":  # the deprecated /watch/ paths
        watch, rest = True, rest[1:]
        prefix += "/watch"
    if not rest:
        return Classified(method, "other", prefix, shown)
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in _NS_SUBRESOURCES:
        prefix += "/namespaces/{ns}"
        rest = rest[2:]
    pattern = f"{prefix}/{rest[0]}"
    named = len(rest) > 1
    if named:
        pattern += "/{name}" + "".join(f"/{s}" for s in rest[2:])
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
    if method == "GET":
        category = "watch" if watch else ("get" if named else "list")
    else:
        category = verbs.get(method, "other")
    return Classified(method, category, pattern, shown)


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts of one run's requests."""

    total: int
    by_category: dict[str, int]
    by_pattern: list[tuple[str, str, int]]  # (category, pattern, count), most first


def summarise(requests: Iterable[Classified]) -> Summary:
    """Group classified requests by category and by (category, normalised path)."""
    items = list(requests)
    categories = collections.Counter(r.category for r in items)
    patterns = collections.Counter((r.category, r.pattern) for r in items)
    order = {c: i for i, c in enumerate(CATEGORIES)}
    by_pattern = sorted(
        ((c, p, n) for (c, p), n in patterns.items()), key=lambda t: (-t[2], order[t[0]], t[1])
    )
    return Summary(len(items), {c: categories[c] for c in CATEGORIES}, by_pattern)


# -- the proxy -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeenRequest:
    """A request the proxy forwarded: which connection, and when (monotonic ns)."""

    line: RequestLine
    connection: int
    at_ns: int


@dataclass(slots=True)
class CountingProxy:
    """TLS-terminating loopback proxy in front of the API server that records each request."""

    upstream_port: int
    server_tls: ssl.SSLContext
    upstream_tls: ssl.SSLContext
    requests: list[SeenRequest] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    alpn: collections.Counter[str] = field(default_factory=collections.Counter)
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _handlers: set[asyncio.Task[Any]] = field(default_factory=set)

    async def start(self) -> int:
        """Listen on a free port of 127.0.0.1 only; return the port."""
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", 0, ssl=self.server_tls, ssl_handshake_timeout=10
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def close(self) -> None:
        """Stop listening and end every relayed connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        # Handlers end by themselves once their pipes are cancelled; cancelling them too
        # would make asyncio's stream callback raise the CancelledError.
        await asyncio.gather(*self._tasks, *self._handlers, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = self.connections
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
            handler.add_done_callback(self._handlers.discard)
        tls = writer.get_extra_info("ssl_object")
        self.alpn[str(tls.selected_alpn_protocol() if tls else None)] += 1
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(
                    "127.0.0.1",
                    self.upstream_port,
                    ssl=self.upstream_tls,
                    server_hostname="127.0.0.1",
                ),
                10,
            )
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            self.errors.append(f"connection {conn}: upstream unreachable: {exc}")
            writer.close()
            return
        parser = RequestStreamParser()

        async def client_to_server() -> None:
            parsing = True
            while chunk := await reader.read(_CHUNK):
                if parsing:
                    try:
                        lines = parser.feed(chunk)
                    except ProtocolError as exc:
                        self.errors.append(f"connection {conn}: not counted further: {exc}")
                        parsing, lines = False, []
                    now = time.monotonic_ns()
                    self.requests.extend(SeenRequest(line, conn, now) for line in lines)
                up_writer.write(chunk)
                await up_writer.drain()

        async def server_to_client() -> None:
            while chunk := await up_reader.read(_CHUNK):
                writer.write(chunk)
                await writer.drain()

        pipes = {asyncio.create_task(client_to_server()), asyncio.create_task(server_to_client())}
        self._tasks |= pipes
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pipes:
                task.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            self._tasks -= pipes
            for w in (writer, up_writer):
                w.close()
                with contextlib.suppress(OSError, ssl.SSLError):
                    await asyncio.wait_for(w.wait_closed(), 2)


def _proxy_tls(pki_dir: Path, work: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(serving context for the proxy, client context towards the API server)."""
    from operator_chaos.sandbox import pki

    ca = pki.KeyPair(pki_dir / "ca.crt", pki_dir / "ca.key")
    serving = pki.issue(
        ca,
        work,
        "proxy",
        common_name="api-requests-proxy",
        ip_addresses=("127.0.0.1",),
        server=True,
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(serving.cert), str(serving.key))
    server.set_alpn_protocols(["http/1.1"])
    upstream = ssl.create_default_context(cafile=str(ca.cert))
    upstream.load_cert_chain(str(pki_dir / "admin.crt"), str(pki_dir / "admin.key"))
    upstream.set_alpn_protocols(["http/1.1"])
    return server, upstream


# -- running the tool ----------------------------------------------------------------------


@dataclass(slots=True)
class RunFigures:
    """One experiment run through the proxy."""

    name: str
    hold: str | None
    exit_code: int
    wall_s: float
    requests: list[SeenRequest]
    started_ns: int
    verdict: str = "?"
    recovery_ms: int | None = None
    timed_out: bool = False
    stderr_tail: list[str] = field(default_factory=list)


async def run_experiment(
    proxy: CountingProxy,
    kubeconfig: Path,
    name: str,
    hold: str | None,
    stability: str,
    timeout: float,
) -> RunFigures:
    """Run one seed as a subprocess against the proxy; SIGTERM (faults revert) on timeout."""
    args = ["run", str(SEEDS / f"{name}.yaml"), "--kubeconfig", str(kubeconfig)]
    args += ["--stability", stability, *(["--hold", hold] if hold else []), "--format", "json"]
    first = len(proxy.requests)
    started = time.monotonic_ns()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "operator_chaos",
        *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    communicate = asyncio.ensure_future(proc.communicate())
    timed_out = False
    try:
        out, err = await asyncio.wait_for(asyncio.shield(communicate), timeout)
    except TimeoutError:
        timed_out = True
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = await asyncio.wait_for(communicate, 60)
        except TimeoutError:
            proc.kill()
            out, err = await communicate
    wall = (time.monotonic_ns() - started) / 1e9
    figures = RunFigures(
        name,
        hold,
        proc.returncode if proc.returncode is not None else -1,
        wall,
        proxy.requests[first:],
        started,
        timed_out=timed_out,
        stderr_tail=[x for x in err.decode(errors="replace").splitlines() if x.strip()][-6:],
    )
    try:
        result = json.loads(out)["results"][0]
        figures.verdict = str(result.get("verdict"))
        figures.recovery_ms = (result.get("recovery") or {}).get("recoveryTimeMs")
    except (ValueError, KeyError, IndexError, TypeError):
        pass
    return figures


# -- printing ------------------------------------------------------------------------------


def print_run(figures: RunFigures, verbose: bool) -> None:
    classified = [classify(r.line.method, r.line.target) for r in figures.requests]
    summary = summarise(classified)
    hold = f", --hold {figures.hold}" if figures.hold else ""
    recovery = "-" if figures.recovery_ms is None else f"{figures.recovery_ms} ms"
    connections = len({r.connection for r in figures.requests})
    print(f"\n== {figures.name}{hold}")
    print(
        f"   exit {figures.exit_code}{' (TIMED OUT)' if figures.timed_out else ''},"
        f" verdict {figures.verdict}, recovery {recovery}, wall time {figures.wall_s:.2f} s,"
        f" {connections} connection(s)"
    )
    if figures.exit_code != 0:
        for line in figures.stderr_tail:
            print(f"   stderr: {line}")
    ref = REFERENCE.get(figures.name)
    compared = ""
    if ref is not None and ref[2] == figures.hold and not figures.timed_out:
        compared = f"   (reference {ref[0]}, previous version {ref[1]})"
    print(f"   total requests: {summary.total}{compared}")
    print("   by category:   " + ", ".join(f"{c} {n}" for c, n in summary.by_category.items() if n))
    print(f"   {'count':>5}  {'category':<9}  path")
    for category, pattern, n in summary.by_pattern:
        print(f"   {n:>5}  {category:<9}  {pattern}")
    if verbose:
        print(f"   {'#':>3} {'ms':>7} {'conn':>4}  {'category':<9} {'method':<6} path ?query")
        for i, (seen, c) in enumerate(zip(figures.requests, classified, strict=True), 1):
            ms = (seen.at_ns - figures.started_ns) / 1e6
            query = f" ?{c.query}" if c.query else ""
            print(
                f"   {i:>3} {ms:>7.0f} {seen.connection:>4}  {c.category:<9} {c.method:<6}"
                f" {c.pattern}{query}"
            )


def print_table(runs: Sequence[RunFigures]) -> None:
    print(f"\n{'experiment':<30} {'requests':>8} {'reference':>9} {'previous':>8} {'wall s':>7}")
    for run in runs:
        total = len(run.requests)
        ref = REFERENCE.get(run.name)
        same = ref is not None and ref[2] == run.hold and not run.timed_out
        shown_ref = str(ref[0]) if ref and same else "-"
        shown_prev = str(ref[1]) if ref and same else "-"
        label = run.name + (f" (hold {run.hold})" if run.hold else "")
        print(f"{label:<30} {total:>8} {shown_ref:>9} {shown_prev:>8} {run.wall_s:>7.2f}")


# -- main ----------------------------------------------------------------------------------


def _hold_for(name: str, override: str | None) -> str | None:
    if name in REPAIR_FAULTS:
        return None
    return override or DEFAULT_HOLD.get(name, CONDITION_HOLD)


async def bench(args: argparse.Namespace, names: Sequence[str]) -> list[RunFigures]:
    from operator_chaos.sandbox.cluster import Sandbox, kubeconfig_yaml

    box = Sandbox(args.sandbox)
    state = box.state()
    if state is None or not box.running():
        raise SystemExit(
            f"sandbox {args.sandbox!r} is not running; start it with"
            f" `operator-chaos sandbox up --name {args.sandbox} --scenario training-operator`"
        )
    runs = []
    with tempfile.TemporaryDirectory(prefix="oc-api-requests-") as tmp:
        work = Path(tmp)
        server_tls, upstream_tls = _proxy_tls(box.pki_dir, work)
        proxy = CountingProxy(state.apiserver_port, server_tls, upstream_tls)
        port = await proxy.start()
        kubeconfig = work / "kubeconfig"
        kubeconfig.write_text(
            kubeconfig_yaml(
                server=f"https://127.0.0.1:{port}",
                ca=box.pki_dir / "ca.crt",
                context=f"api-requests-{args.sandbox}",
                user={
                    "client-certificate": str(box.pki_dir / "admin.crt"),
                    "client-key": str(box.pki_dir / "admin.key"),
                },
            )
        )
        kubeconfig.chmod(0o600)
        print(f"counting proxy https://127.0.0.1:{port} -> {state.server}")
        try:
            for name in names:
                await operator_settled_at(str(box.kubeconfig))
                hold = _hold_for(name, args.hold)
                print(f"running {name}{f' (--hold {hold})' if hold else ''} ...", flush=True)
                run = await run_experiment(
                    proxy, kubeconfig, name, hold, args.stability, args.timeout
                )
                runs.append(run)
                print_run(run, args.verbose)
        finally:
            await proxy.close()
        alpn = ", ".join(f"{k} x{n}" for k, n in proxy.alpn.items())
        print(f"\nALPN negotiated by the tool's connections: {alpn or 'none'}")
        for error in proxy.errors:
            print(f"WARNING: {error} (the counts above are incomplete)")
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sandbox", required=True, help="name of a running sandbox")
    parser.add_argument("--verbose", action="store_true", help="list every request in order")
    parser.add_argument(
        "--experiments",
        default="pod-kill,rbac-revoke",
        help=f"comma-separated seeds ({', '.join(SEED_NAMES)}) or 'all'",
    )
    parser.add_argument(
        "--hold",
        help="hold of every condition fault (default: 30s for rbac-revoke, else 5s)",
    )
    parser.add_argument("--stability", default="1s")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    args = parser.parse_args(argv)
    names = SEED_NAMES if args.experiments == "all" else tuple(args.experiments.split(","))
    unknown = [n for n in names if n not in SEED_NAMES]
    if unknown:
        parser.error(f"unknown experiment(s) {', '.join(unknown)}; choose from {SEED_NAMES}")
    args.timeout = max(10.0, min(args.timeout, 1800.0))  # bounded
    runs = asyncio.run(bench(args, names))
    print_table(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
