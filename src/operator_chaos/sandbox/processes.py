"""Detached child processes tracked by pid files, and ended by pid only.

Every component runs in its own session (so Ctrl-C on ``sandbox up`` does not take the
cluster down) and is recorded as ``<name>.pid`` holding ``pid start-time``. The start time
(field 22 of /proc/PID/stat) guards against pid reuse: after a crash, ``down`` ends exactly
the processes it started, never an unrelated one that inherited a pid.
"""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_children: dict[int, "subprocess.Popen[bytes]"] = {}
"""Children spawned by this process, kept referenced until reaped: a running ``Popen`` that is
garbage-collected emits a ResourceWarning (an error under ``-W error``, e.g. in the tests)."""


@dataclass(frozen=True, slots=True)
class Tracked:
    """A process we started: its name, pid and kernel start time."""

    name: str
    pid: int
    start_time: int

    def alive(self) -> bool:
        """True when this exact process (same pid and start time) still runs."""
        return _start_time(self.pid) == self.start_time and not _is_zombie(self.pid)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; split after its closing parenthesis.
    return raw[raw.rindex(")") + 2 :].split()


def _start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] == "Z"  # type: ignore[index]


def spawn(
    name: str,
    cmd: Sequence[str],
    *,
    pid_dir: Path,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Tracked:
    """Start ``cmd`` detached in a new session, logging to ``log_path``; write its pid file."""
    pid_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(
            f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting: {' '.join(cmd)}\n".encode()
        )
        log.flush()
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    _children[proc.pid] = proc
    started = _start_time(proc.pid) or 0
    tracked = Tracked(name, proc.pid, started)
    (pid_dir / f"{name}.pid").write_text(f"{proc.pid} {started}\n")
    return tracked


def read(pid_file: Path) -> Tracked | None:
    """The process a pid file describes, or None when the file is unreadable."""
    try:
        pid_text, start_text = pid_file.read_text().split()
        return Tracked(pid_file.stem, int(pid_text), int(start_text))
    except (OSError, ValueError):
        return None


def tracked_in(pid_dir: Path) -> list[Tracked]:
    """Every process recorded in ``pid_dir``."""
    if not pid_dir.is_dir():
        return []
    found = (read(p) for p in sorted(pid_dir.glob("*.pid")))
    return [t for t in found if t is not None]


def stop(tracked: Tracked, *, grace: float = 5.0) -> bool:
    """SIGTERM the process group, then SIGKILL after ``grace`` seconds. True if it was alive."""
    if not tracked.alive():
        return False
    _signal_group(tracked, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not tracked.alive():
            _reap(tracked.pid)
            return True
        time.sleep(0.05)
    _signal_group(tracked, signal.SIGKILL)
    for _ in range(100):
        if not tracked.alive():
            break
        time.sleep(0.05)
    _reap(tracked.pid)
    return True


def _signal_group(tracked: Tracked, sig: signal.Signals) -> None:
    try:
        os.killpg(tracked.pid, sig)  # our children lead their own session/group
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(tracked.pid, sig)


def _reap(pid: int) -> None:
    child = _children.pop(pid, None)
    if child is not None:
        # It is exiting (a zombie leader may wait for its other threads): reap it for good.
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _children[pid] = child
        return
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def record(name: str, pid: int, pid_dir: Path) -> Tracked:
    """Write a pid file for a process started elsewhere (e.g. by asyncio)."""
    pid_dir.mkdir(parents=True, exist_ok=True)
    tracked = Tracked(name, pid, _start_time(pid) or 0)
    (pid_dir / f"{name}.pid").write_text(f"{pid} {tracked.start_time}\n")
    return tracked
