"""CLI start-up and validation throughput, measured the way users run the tool.

    python benchmarks/cli_startup.py [--runs 20] [--files 1000]

Cold start is a fresh process per run (``operator-chaos --help`` and ``validate`` of one seed
file). Throughput is one ``validate`` process over a directory of generated experiments (every
injection type, round-robin). Both figures are printed against their goals: one file under
150 ms (median), and 1,000 files within twice the Go reference's 0.205 s. Always exits 0.

The children run with byte-code caching on, as an installed tool runs (an environment that sets
``PYTHONDONTWRITEBYTECODE`` would otherwise recompile every module of the tool on every start);
the cache goes to a temporary ``PYTHONPYCACHEPREFIX``, so the work tree stays clean.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEEDS = [
    REPO / "experiments" / "training-operator" / "pod-kill.yaml",
    REPO / "tests" / "data" / "valid" / "pod-kill.yaml",
]
HELP_BUDGET_MS = 250.0
ONE_FILE_GOAL_MS = 150.0
GO_REFERENCE_1000_S = 0.205
"""The Go reference validating 1,000 files in one process (the goal is within 2x of it)."""


def command() -> list[str]:
    """The installed console script if there is one, else ``python -m operator_chaos``."""
    script = shutil.which("operator-chaos") or str(Path(sys.executable).with_name("operator-chaos"))
    if Path(script).exists():
        return [script]
    return [sys.executable, "-m", "operator_chaos"]


_ENV: dict[str, str] = {}


def child_env(pycache: Path) -> dict[str, str]:
    """The environment of the measured processes: byte-code cached (see the module doc)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("PYTHONPYCACHEPREFIX", str(pycache))
    return env


def timed(args: Sequence[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) milliseconds of one run; output is discarded and a
    failure aborts the benchmark. CPU time is the steadier figure on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=_ENV or None
    )
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return wall, cpu


def cold_start(args: Sequence[str], runs: int) -> tuple[float, float, float]:
    """Median and 95th percentile wall milliseconds and median CPU milliseconds, after one
    warm-up run (page cache, .pyc)."""
    timed(args)
    samples = [timed(args) for _ in range(runs)]
    walls = sorted(wall for wall, _ in samples)
    p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
    return statistics.median(walls), p95, statistics.median(cpu for _, cpu in samples)


def generate(directory: Path, count: int) -> None:
    """Write ``count`` valid experiments, cycling through every injection type.

    ``init``'s skeleton leaves the hypothesis and the high-danger opt-in to a person; both are
    filled in here so that every file validates.
    """
    from operator_chaos.cli.scaffold import skeleton
    from operator_chaos.injection.registry import all_specs

    types = [spec.injection_type.value for spec in all_specs()]
    for index in range(count):
        component = f"component-{index:04d}"
        text = skeleton(types[index % len(types)], component, "bench-operator", "bench-system")
        text = text.replace("TODO: what", "What").replace(
            "allowDangerous: false", "allowDangerous: true"
        )
        (directory / f"{component}.yaml").write_text(text, encoding="utf-8")


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="cold-start runs per command")
    parser.add_argument("--files", type=int, default=1000, help="generated files to validate")
    options = parser.parse_args()

    base = command()
    seed = next(path for path in SEEDS if path.exists())
    pycache = tempfile.TemporaryDirectory(prefix="oc-bench-pyc-")
    _ENV.update(child_env(Path(pycache.name)))
    help_median, help_p95, help_cpu = cold_start([*base, "--help"], options.runs)
    one_median, one_p95, one_cpu = cold_start([*base, "validate", str(seed)], options.runs)

    with tempfile.TemporaryDirectory(prefix="oc-bench-") as tmp:
        directory = Path(tmp)
        generate(directory, options.files)
        args = [*base, "validate", str(directory)]
        timed(args)  # warm-up
        samples = [timed(args) for _ in range(3)]
        seconds = statistics.median(wall for wall, _ in samples) / 1000
        cpu_seconds = statistics.median(cpu for _, cpu in samples) / 1000
    goal_s = 2 * GO_REFERENCE_1000_S * options.files / 1000

    print(f"operator-chaos CLI benchmark ({' '.join(base)}; {options.runs} runs)")
    print(f"{'command':<26} {'median':>9} {'p95':>9} {'cpu':>9}  goal (on the median)")
    print(
        f"{'--help':<26} {help_median:>6.0f} ms {help_p95:>6.0f} ms {help_cpu:>6.0f} ms"
        f"  p95 < {HELP_BUDGET_MS:.0f} ms: {_verdict(help_p95 < HELP_BUDGET_MS)}"
    )
    print(
        f"{'validate ' + seed.name:<26} {one_median:>6.0f} ms {one_p95:>6.0f} ms"
        f" {one_cpu:>6.0f} ms  < {ONE_FILE_GOAL_MS:.0f} ms:"
        f" {_verdict(one_median < ONE_FILE_GOAL_MS)}"
    )
    print(
        f"{'validate ' + str(options.files) + ' files':<26} {seconds:>7.3f} s {'':>9}"
        f" {cpu_seconds:>7.3f} s  < {goal_s:.3f} s (2x Go's"
        f" {GO_REFERENCE_1000_S * options.files / 1000:.3f} s): {_verdict(seconds < goal_s)}"
    )
    pycache.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
