"""Sandbox start-up, scenario install, memory and build figures, measured as users run them.

    python benchmarks/sandbox.py [--runs 3] [--settle 10]
    python benchmarks/sandbox.py --cold-build /var/tmp/oc-cold     # many minutes

Warm figures use the cached binaries and a throwaway sandbox (``bench-<pid>``), started and
torn down ``--runs`` times:

* ``sandbox up`` until every component is healthy (the API server ready, the kwok node Ready,
  the default ServiceAccount created, controller-manager/scheduler/kwok healthz and the agent
  status file present);
* the training-operator scenario install (Deployment Available, operator process ready,
  webhook registered, PyTorchJob ``test-pytorchjob`` Running);
* steady-state memory: the sum of VmRSS (``/proc/PID/status``) of every process in the
  sandbox's pid files, the workload process included, ``--settle`` seconds after the install.

It also prints the cached binaries' sizes and, when a build transcript is found, the Go build
times. ``--cold-build DIR`` runs ``operator_chaos.sandbox.build.build_all`` with
``OPERATOR_CHAOS_CACHE=DIR`` and fresh ``GOCACHE``/``GOMODCACHE``/``GOPATH`` under DIR,
measuring its wall time and the peak disk use of DIR (``du`` sampled every 10 s). Nothing
here binds or dials anything but 127.0.0.1. Always exits 0 unless the binaries are missing.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from operator_chaos.sandbox import build, processes, versions
from operator_chaos.sandbox.cluster import Sandbox

HEALTH_TIMEOUT = 60.0


def _quiet(_message: str) -> None:
    pass


def _mib(kib: float) -> str:
    return f"{kib / 1024:,.1f} MiB"


def vm_rss_kib(pid: int) -> int | None:
    """Resident set size of ``pid`` in KiB, or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return 0  # a kernel thread or a zombie has no VmRSS line


def wait_healthy(box: Sandbox, timeout: float = HEALTH_TIMEOUT) -> None:
    """Poll each component's own health endpoint (local processes: nothing to watch)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = box.status()
        if all(r.healthy for r in rows):
            return
        if time.monotonic() > deadline:
            bad = ", ".join(f"{r.name}: {r.detail}" for r in rows if not r.healthy)
            raise SystemExit(f"sandbox {box.name!r} not healthy after {timeout:.0f}s: {bad}")
        time.sleep(0.05)


def memory(box: Sandbox) -> dict[str, int]:
    """VmRSS (KiB) of every live process recorded in the sandbox's pid files."""
    result = {}
    for tracked in processes.tracked_in(box.pids_dir):
        if tracked.alive():
            rss = vm_rss_kib(tracked.pid)
            if rss is not None:
                result[tracked.name] = rss
    return result


def one_run(name: str, settle: float) -> tuple[float, float, dict[str, int]]:
    """Start, install, settle, measure, stop. Returns (up s, install s, rss by process)."""
    box = Sandbox(name)
    box.down(_quiet)  # a leftover of an interrupted benchmark
    try:
        started = time.perf_counter()
        box.up(_quiet)
        wait_healthy(box)
        up_seconds = time.perf_counter() - started
        install_seconds = box.install_scenario("training-operator", _quiet)
        time.sleep(settle)
        samples = []
        for _ in range(3):
            samples.append(memory(box))
            time.sleep(1.0)
        names = set().union(*samples)
        rss = {n: int(statistics.median(s.get(n, 0) for s in samples)) for n in sorted(names)}
        if not any(n.startswith("workload-training-operator") for n in rss):  # one per pod
            raise SystemExit("the training-operator process is not running after the install")
        return up_seconds, install_seconds, rss
    finally:
        box.down(_quiet)


def warm(runs: int, settle: float) -> None:
    missing = build.missing()
    if missing:
        names = ", ".join(t.name for t in missing)
        print(f"binaries missing ({names}): run `operator-chaos sandbox build` first")
        raise SystemExit(2)
    name = f"bench-{os.getpid()}"
    ups, installs, totals = [], [], []
    last: dict[str, int] = {}
    for n in range(1, runs + 1):
        up_s, install_s, rss = one_run(name, settle)
        total = sum(rss.values())
        ups.append(up_s)
        installs.append(install_s)
        totals.append(total)
        last = rss
        print(
            f"run {n}/{runs}: up {up_s:.2f}s, scenario install {install_s:.2f}s, RSS {_mib(total)}"
        )
    print()
    print(
        f"warm `sandbox up` to all-ready   median {statistics.median(ups):6.2f} s"
        f"   (min {min(ups):.2f}, max {max(ups):.2f}, n={runs})"
    )
    print(
        f"scenario install (training-op)  median {statistics.median(installs):6.2f} s"
        f"   (min {min(installs):.2f}, max {max(installs):.2f}, n={runs})"
    )
    print(
        f"steady-state RSS, whole stack   median {_mib(statistics.median(totals))}"
        f"   (after {settle:.0f}s settle)"
    )
    for proc, kib in sorted(last.items(), key=lambda kv: -kv[1]):
        print(f"    {proc:<28} {_mib(kib):>12}")


def binaries() -> None:
    print()
    print("cached binaries:")
    total = 0
    for target in build.TARGETS:
        for output in target.outputs:
            path = target.bin_dir() / output
            size = path.stat().st_size if path.is_file() else 0
            total += size
            shown = f"{size / 2**20:8.1f} MiB" if size else "   missing"
            print(f"    {output:<28} {shown}   {path}")
    print(f"    {'total':<28} {total / 2**20:8.1f} MiB")


def recorded_build_times() -> None:
    """Go build times from a transcript of an earlier build, when one was kept."""
    print()
    transcript = versions.cache_root() / "first-build.out"
    if not transcript.is_file():
        print("Go build time: not recorded in the cache (measure it with --cold-build DIR)")
        return
    text = transcript.read_text(errors="replace")
    done = re.findall(r"\[build\] (\S+): done in (\d+)s", text)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    print(f"Go build time (recorded in {transcript}):")
    for target, seconds in done:
        print(f"    {target:<28} {int(seconds):6d} s")
    if wall:
        print(f"    {'wall clock':<28} {wall.group(1):>8}")
    if peak:
        print(f"    {'peak RSS (largest process)':<28} {_mib(int(peak.group(1))):>12}")
    if not (done or wall):
        print("    (no timings found in it)")
    else:
        recorded = {target for target, _ in done}
        absent = [t.name for t in build.TARGETS if t.name not in recorded]
        if absent:
            print(f"    (not in that transcript: {', '.join(absent)})")


class DiskSampler:
    """``du -sk DIR`` every ``period`` seconds in a thread; keeps the peak."""

    def __init__(self, directory: Path, period: float = 10.0) -> None:
        self.directory = directory
        self.period = period
        self.peak_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="du-sampler", daemon=True)

    def sample(self) -> None:
        result = subprocess.run(
            ["du", "-sk", str(self.directory)], capture_output=True, text=True, check=False
        )
        # du exits 1 when a file vanishes mid-walk (go's temporary work dirs); the total stands.
        if result.stdout.strip():
            self.peak_kib = max(self.peak_kib, int(result.stdout.split()[0]))
            self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.sample()

    def __enter__(self) -> "DiskSampler":
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def cold_build(directory: Path, build_all: Callable[..., float] = build.build_all) -> None:
    """Build every target from scratch into ``directory`` (cache, Go caches and all)."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        print(f"warning: {directory} is not empty: its Go caches make this less than cold")
    os.environ["OPERATOR_CHAOS_CACHE"] = str(directory)
    os.environ["GOCACHE"] = str(directory / "gocache")
    os.environ["GOMODCACHE"] = str(directory / "gomodcache")
    os.environ["GOPATH"] = str(directory / "gopath")
    steps: list[str] = []

    def progress(message: str) -> None:
        steps.append(message)
        print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)

    print(f"cold build into {directory} (GOCACHE, GOMODCACHE and GOPATH under it) ...")
    with DiskSampler(directory) as disk:
        started = time.perf_counter()
        build_all(progress, force=True)
        wall = time.perf_counter() - started
    print()
    print(f"cold build wall time            {wall:8.0f} s  ({wall / 60:.1f} min)")
    for line in steps:
        match = re.search(r"built (\S+) in (\d+)s", line)
        if match:
            print(f"    {match.group(1):<28} {int(match.group(2)):6d} s")
    print(f"peak disk use of {directory}: {_mib(disk.peak_kib)} ({disk.samples} samples)")
    binaries()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="warm start-ups to take the median of")
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds between install and the RSS sample"
    )
    parser.add_argument(
        "--cold-build",
        type=Path,
        metavar="DIR",
        help="instead: build everything from scratch into DIR (takes many minutes)",
    )
    args = parser.parse_args(argv)
    if args.cold_build is not None:
        cold_build(args.cold_build)
        return
    print(
        f"sandbox benchmark: Kubernetes {versions.K8S_VERSION}, Python {sys.version.split()[0]},"
        f" {os.cpu_count()} CPUs, cache {versions.cache_root()}"
    )
    warm(args.runs, args.settle)
    binaries()
    recorded_build_times()


if __name__ == "__main__":
    main()
