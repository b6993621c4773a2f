"""Pid files of sandbox processes: start-time guard against pid reuse, and group stop."""

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from operator_chaos.sandbox import processes


def _start_time(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[19])


def _group_members(pgid: int) -> set[int]:
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.add(int(entry.name))
    return members


def _wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Bounded wait on a local process (there is nothing to watch)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_pid_file_with_matching_start_time_is_alive(tmp_path: Path) -> None:
    me = os.getpid()
    (tmp_path / "me.pid").write_text(f"{me} {_start_time(me)}\n")
    tracked = processes.read(tmp_path / "me.pid")
    assert tracked == processes.Tracked("me", me, _start_time(me))
    assert tracked.alive()


def test_pid_file_whose_start_time_does_not_match_is_not_alive(tmp_path: Path) -> None:
    me = os.getpid()
    (tmp_path / "reused.pid").write_text(f"{me} {_start_time(me) + 1}\n")
    tracked = processes.read(tmp_path / "reused.pid")
    assert tracked is not None
    assert tracked.pid == me
    assert not tracked.alive()
    # ...and stop() leaves that (unrelated) process alone.
    assert processes.stop(tracked) is False


def test_pid_file_of_a_vanished_pid_is_not_alive(tmp_path: Path) -> None:
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    free = next(p for p in range(pid_max - 1, 1, -1) if not Path(f"/proc/{p}").exists())
    (tmp_path / "gone.pid").write_text(f"{free} 12345\n")
    tracked = processes.read(tmp_path / "gone.pid")
    assert tracked is not None
    assert not tracked.alive()


@pytest.mark.parametrize("content", ["", "garbage", "12 34 56", "x 1"])
def test_unreadable_pid_files_are_skipped(tmp_path: Path, content: str) -> None:
    (tmp_path / "bad.pid").write_text(content)
    me = os.getpid()
    (tmp_path / "good.pid").write_text(f"{me} {_start_time(me)}\n")
    assert processes.read(tmp_path / "bad.pid") is None
    assert [t.name for t in processes.tracked_in(tmp_path)] == ["good"]


def test_tracked_in_missing_directory_is_empty(tmp_path: Path) -> None:
    assert processes.tracked_in(tmp_path / "nope") == []


def test_spawn_records_pid_and_start_time_and_stop_ends_the_group(tmp_path: Path) -> None:
    pid_dir, log = tmp_path / "pids", tmp_path / "logs" / "sleeper.log"
    # The shell forks a grandchild (same process group) and then waits on it.
    tracked = processes.spawn(
        "sleeper", ["sh", "-c", "sleep 60 & echo started; wait"], pid_dir=pid_dir, log_path=log
    )
    try:
        assert (pid_dir / "sleeper.pid").read_text().split() == [
            str(tracked.pid),
            str(tracked.start_time),
        ]
        assert processes.read(pid_dir / "sleeper.pid") == tracked
        assert tracked.alive()
        assert tracked.start_time == _start_time(tracked.pid)
        # Own session and process group, so a Ctrl-C on the parent does not reach it.
        assert os.getpgid(tracked.pid) == tracked.pid
        assert os.getsid(tracked.pid) == tracked.pid
        assert _wait_until(lambda: len(_group_members(tracked.pid)) >= 2)
        group = _group_members(tracked.pid)
        # (the log's header line quotes the command, so match the output line exactly)
        assert _wait_until(lambda: "started" in log.read_text().splitlines())
        assert "starting: sh -c" in log.read_text()

        assert processes.stop(tracked, grace=5.0) is True
        assert not tracked.alive()
        assert not Path(f"/proc/{tracked.pid}").exists()  # reaped, not a zombie
        assert _wait_until(lambda: not _group_members(tracked.pid))
        for pid in group:
            assert not Path(f"/proc/{pid}").exists() or _is_zombie_or_gone(pid)
        assert processes.stop(tracked) is False  # idempotent
    finally:
        if tracked.alive():
            os.killpg(tracked.pid, 9)
            os.waitpid(tracked.pid, 0)


def test_stop_escalates_to_sigkill_after_grace(tmp_path: Path) -> None:
    tracked = processes.spawn(
        "stubborn",
        ["sh", "-c", "trap '' TERM; echo ready; sleep 60 & wait; sleep 60"],
        pid_dir=tmp_path,
        log_path=tmp_path / "stubborn.log",
    )
    try:
        # Only once "ready" is printed has the shell set the trap (match the line exactly:
        # the log's header quotes the command).
        log = tmp_path / "stubborn.log"
        assert _wait_until(lambda: "ready" in log.read_text().splitlines())
        started = time.monotonic()
        assert processes.stop(tracked, grace=0.5) is True
        elapsed = time.monotonic() - started
        assert not tracked.alive()
        assert elapsed >= 0.5
        assert _wait_until(lambda: not _group_members(tracked.pid))
    finally:
        if tracked.alive():
            os.killpg(tracked.pid, 9)
            os.waitpid(tracked.pid, 0)


def test_record_writes_a_pid_file_for_a_foreign_process(tmp_path: Path) -> None:
    me = os.getpid()
    tracked = processes.record("workload-x", me, tmp_path)
    assert tracked == processes.Tracked("workload-x", me, _start_time(me))
    assert processes.read(tmp_path / "workload-x.pid") == tracked


def _is_zombie_or_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2 :].split()[0] == "Z"
