"""Build the control plane from the Go module proxy into the version cache; skip what exists.

Each target is a small Go module under ``gomod/`` whose go.mod/go.sum pin every dependency.
Kubernetes' own go.mod replaces its staging modules with local paths, so it cannot be
``go install``-ed directly; our wrapper module requires it and maps each staging module to
its published version instead.

Scenario operators' Go binaries (:mod:`scenario`) are built by the same code. Every build
holds one lock on the cache (a second build waits and says for whom), prints a heartbeat with
the elapsed time and the package being compiled at least every ``HEARTBEAT`` seconds, and
records each piece's cold build time (printed at the end of ``sandbox build``).
"""

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from operator_chaos.errors import OperatorChaosError
from operator_chaos.sandbox import versions

Progress = Callable[[str], None]
HEARTBEAT = 20.0
LOCK_FILE = "build.lock"
TIMES_FILE = "build-times.json"


class BuildError(OperatorChaosError):
    """Go is missing or a build failed; the message says what to install or which log to read."""


@dataclass(frozen=True, slots=True)
class Target:
    """One ``go build`` invocation and the files it must produce."""

    name: str
    module: str
    packages: tuple[str, ...]
    outputs: tuple[str, ...]
    ldflags: str
    bin_dir: Callable[[], Path]
    source: Path | None = None
    """The Go module directory to build in (default: ``gomod/<module>``)."""
    generated: dict[str, str] = field(default_factory=dict)
    """Files to write into the work directory instead of copying ``source`` (file -> text)."""


def _k8s_ldflags() -> str:
    major, minor = versions.K8S_VERSION.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    # Without these, /version says v0.0.0-master and clients mis-detect the server.
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={versions.K8S_VERSION}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate=2026-06-01T00:00:00Z",
        ]
    return " ".join(flags)


TARGETS = (
    Target(
        "etcd", "etcd", ("go.etcd.io/etcd/server/v3",), ("etcd",), "-s -w", versions.k8s_bin_dir
    ),
    Target(
        "kwok", "kwok", ("sigs.k8s.io/kwok/cmd/kwok",), ("kwok",), "-s -w", versions.k8s_bin_dir
    ),
    Target(
        "kubernetes",
        "k8s",
        tuple(
            f"k8s.io/kubernetes/cmd/{c}"
            for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
        ),
        ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"),
        _k8s_ldflags(),
        versions.k8s_bin_dir,
    ),
)


def missing() -> list[Target]:
    """Targets whose binaries are not all in the cache yet."""
    return [t for t in TARGETS if not all((t.bin_dir() / o).is_file() for o in t.outputs)]


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"})
    return env


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "Go toolchain not found: install Go >= 1.24 (e.g. `apt-get install golang-go`"
            " or https://go.dev/dl) and run `operator-chaos sandbox build` again"
        )
    return go


def build_all(progress: Progress = print, *, force: bool = False) -> float:
    """Build every missing target; return the wall time in seconds."""
    started = time.monotonic()
    with cache_lock(progress, "sandbox build"):
        todo = list(TARGETS) if force else missing()
        if not todo:
            progress(f"control plane {versions.K8S_VERSION}: cached in {versions.k8s_bin_dir()}")
        else:
            go = _go()
            for n, target in enumerate(todo, 1):
                _build_one(go, target, f"[{n}/{len(todo)}]", progress)
    return time.monotonic() - started


def cold_times(names: list[str]) -> str:
    """One line: how long each piece took to build from cold (as recorded when it was built)."""
    times = _read_times()
    pieces = [
        f"{n} {_fmt(times[n]) if n in times else 'not recorded (built earlier)'}" for n in names
    ]
    return "cold build time per piece: " + ", ".join(pieces)


def ensure(target: Target, progress: Progress = print) -> Path:
    """Build one target (e.g. a scenario's operator) unless cached; return its binary."""
    binary = target.bin_dir() / target.outputs[0]
    stamp = target.bin_dir() / f".{target.outputs[0]}.inputs"
    digest = _inputs_digest(target)
    if binary.is_file() and (not stamp.is_file() or stamp.read_text() == digest):
        stamp.write_text(digest)  # a binary built before stamps existed is trusted once
        return binary
    with cache_lock(progress, f"building {target.name}"):
        if not (binary.is_file() and stamp.is_file() and stamp.read_text() == digest):
            _build_one(_go(), target, "[1/1]", progress)
            stamp.write_text(digest)
    return binary


def _inputs_digest(target: Target) -> str:
    h = hashlib.sha256(target.ldflags.encode())
    for name, text in sorted(target.generated.items()):
        h.update(name.encode() + text.encode())
    source = target.source or versions.GOMOD_DIR / target.module
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file():
                h.update(str(path.relative_to(source)).encode() + path.read_bytes())
    h.update(" ".join(target.packages).encode())
    return h.hexdigest()


def _fmt(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _read_times() -> dict[str, float]:
    try:
        data = json.loads((versions.cache_root() / TIMES_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _record_time(name: str, seconds: float) -> None:
    times = _read_times()
    times[name] = round(seconds, 1)
    path = versions.cache_root() / TIMES_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(times, indent=2))
    tmp.replace(path)


@contextlib.contextmanager
def cache_lock(progress: Progress, what: str, *, poll: float = 0.5) -> Iterator[None]:
    """Hold the build cache lock; while another process holds it, wait and say who.

    ``flock`` on ``<cache>/build.lock`` (released by the kernel if the holder dies); the
    holder writes its pid, start time and task into the file so a waiter can name it.
    Re-entrant within one process (a scenario build inside ``sandbox up``)."""
    if getattr(_held, "depth", 0):
        _held.depth += 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    root = versions.cache_root()
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    with path.open("a+") as handle:
        first: float | None = None
        said: float | None = None
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                first = now if first is None else first
                if said is None or now - said >= HEARTBEAT:
                    progress(
                        f"waiting for the build cache lock ({path}): {_holder(path)};"
                        f" waited {_fmt(now - first)} so far"
                    )
                    said = now
                time.sleep(poll)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(
                json.dumps({"pid": os.getpid(), "since": time.time(), "what": what}) + "\n"
            )
            handle.flush()
            _held.depth = 1
            yield
        finally:
            _held.depth = 0
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
                handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


_held = threading.local()


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "held by another process"
    since = time.strftime("%H:%M:%S", time.localtime(float(info.get("since", 0))))
    return f"held by pid {info.get('pid')} since {since} ({info.get('what', 'a build')})"


def _build_one(go: str, target: Target, step: str, progress: Progress) -> None:
    bin_dir = target.bin_dir()
    bin_dir.mkdir(parents=True, exist_ok=True)
    logs = versions.cache_root() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"build-{target.name}.log"
    work = _module_copy(target, fresh=True)
    out = str(bin_dir / target.outputs[0]) if len(target.packages) == 1 else f"{bin_dir}/"
    cmd = [go, "build", "-v", "-trimpath", "-ldflags", target.ldflags, "-o", out]
    cmd += list(target.packages)
    progress(f"{step} building {target.name} (first time only; log: {log_path}) ...")
    t0 = time.monotonic()
    with log_path.open("w") as log:
        log.write(" ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, cwd=work, env=_go_env(), stdout=log, stderr=subprocess.STDOUT)
        while True:
            try:
                code = proc.wait(timeout=HEARTBEAT)
                break
            except subprocess.TimeoutExpired:
                progress(
                    f"{step} building {target.name}: {_fmt(time.monotonic() - t0)} elapsed;"
                    f" {_last_package(log_path)}"
                )
    if code != 0:
        raise BuildError(f"building {target.name} failed (exit {code}); see {log_path}")
    seconds = time.monotonic() - t0
    _record_time(target.name, seconds)
    progress(f"{step} built {target.name} in {_fmt(seconds)}")


def _last_package(log_path: Path) -> str:
    """What ``go build -v`` compiled last (its log lists packages as they are built)."""
    try:
        with log_path.open("rb") as fh:
            fh.seek(max(0, log_path.stat().st_size - 4096))
            lines = [ln for ln in fh.read().decode(errors="replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    if len(lines) <= 1:
        return "resolving and downloading modules"
    return f"compiling {lines[-1].strip()[:120]}"


def _module_copy(target: Target, *, fresh: bool) -> Path:
    """The target's Go module directory (go.mod, go.sum, any wrapper main), as a private copy
    in the cache: the installed package may be read-only, and go may touch go.sum while
    resolving. ``fresh`` replaces an existing copy; otherwise one is kept."""
    work = versions.cache_root() / "gomod" / target.module
    if work.exists():
        if not fresh:
            return work
        shutil.rmtree(work)
    if target.generated:
        work.mkdir(parents=True)
        for name, text in target.generated.items():
            (work / name).write_text(text)
    else:
        shutil.copytree(target.source or versions.GOMOD_DIR / target.module, work)
    return work


def module_source(target: Target, module: str, version: str) -> Path:
    """The directory of ``module@version``'s source in the module cache (downloaded through
    the module proxy, verified by the target's go.sum)."""
    work = _module_copy(target, fresh=False)
    cmd = [_go(), "mod", "download", "-json", f"{module}@{version}"]
    result = subprocess.run(
        cmd, cwd=work, env=_go_env(), capture_output=True, text=True, check=False
    )
    try:
        src = Path(json.loads(result.stdout).get("Dir", ""))
    except ValueError:
        src = Path()
    if result.returncode != 0 or not src.is_dir() or src == Path():
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BuildError(
            f"cannot get the source of {module}@{version}: {detail[-1] if detail else 'no dir'}"
        )
    return src
