"""CLI start-up and validation throughput, measured the way users run the tool.

    python benchmarks/cli_startup.py [--runs 20] [--files 1000]

Cold start is a fresh process per run (``operator-chaos --help`` and ``validate`` of one seed
file); the budget is 250 ms. Throughput is one ``validate`` process over a directory of generated
experiments (every injection type, round-robin). Prints a table and always exits 0.
"""

import argparse
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
BUDGET_MS = 250.0


def command() -> list[str]:
    """The installed console script if there is one, else ``python -m operator_chaos``."""
    script = shutil.which("operator-chaos") or str(Path(sys.executable).with_name("operator-chaos"))
    if Path(script).exists():
        return [script]
    return [sys.executable, "-m", "operator_chaos"]


def timed(args: Sequence[str]) -> float:
    """Wall-clock milliseconds of one run (output discarded; a failure aborts the benchmark)."""
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def cold_start(args: Sequence[str], runs: int) -> tuple[float, float]:
    """Median and 95th percentile in milliseconds, after one warm-up run (page cache, .pyc)."""
    timed(args)
    samples = sorted(timed(args) for _ in range(runs))
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def generate(directory: Path, count: int) -> None:
    """Write ``count`` valid experiments, cycling through every injection type."""
    from operator_chaos.cli.scaffold import skeleton
    from operator_chaos.injection.registry import all_specs

    types = [spec.injection_type.value for spec in all_specs()]
    for index in range(count):
        component = f"component-{index:04d}"
        text = skeleton(types[index % len(types)], component, "bench-operator", "bench-system")
        (directory / f"{component}.yaml").write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="cold-start runs per command")
    parser.add_argument("--files", type=int, default=1000, help="generated files to validate")
    options = parser.parse_args()

    base = command()
    seed = next(path for path in SEEDS if path.exists())
    rows = []
    for label, args in (
        ("--help", [*base, "--help"]),
        (f"validate {seed.name}", [*base, "validate", str(seed)]),
    ):
        median, p95 = cold_start(args, options.runs)
        verdict = "ok" if p95 < BUDGET_MS else "over budget"
        rows.append((label, f"{median:.0f} ms", f"{p95:.0f} ms", verdict))

    with tempfile.TemporaryDirectory(prefix="oc-bench-") as tmp:
        directory = Path(tmp)
        generate(directory, options.files)
        seconds = timed([*base, "validate", str(directory)]) / 1000
    throughput = f"{options.files / seconds:.0f} files/s"

    print(f"operator-chaos CLI benchmark ({' '.join(base)}; {options.runs} runs)")
    print(f"{'command':<28} {'median':>8} {'p95':>8}  budget {BUDGET_MS:.0f} ms")
    for label, median_text, p95_text, verdict in rows:
        print(f"{label:<28} {median_text:>8} {p95_text:>8}  {verdict}")
    print(f"{'validate ' + str(options.files) + ' files':<28} {seconds:>7.2f}s {throughput:>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
