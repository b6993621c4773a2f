"""CLI start-up and validation throughput, measured the way users run the tool.

    python benchmarks/cli_startup.py [--runs 20] [--files 1000] [--reference GO_BINARY]

Cold start is a fresh process per run (``operator-chaos --help`` and ``validate`` of one seed
file). Beside it runs the floor: a process that imports click, PyYAML and pydantic and
validates one document with one model, which no CLI built on those libraries beats on the
same machine. Throughput is one ``validate`` process over a directory of generated
experiments (every injection type, round-robin).

Goals, on the median: one file under 150 ms, and 1,000 files within twice the Go reference.
The reference's figure is the recorded 0.205 s unless ``--reference`` names a built binary
of it: then its ``suite DIR --dry-run`` over the same files runs in the same rounds. Use
that on a shared machine, where absolute figures move by half from one hour to the next.
Samples are interleaved round by round, so drift hits every command alike. Always exits 0.

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
from dataclasses import dataclass, field
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


@dataclass
class Figures:
    """Samples of one command: wall and CPU milliseconds."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def p95(self) -> float:
        walls = sorted(self.walls)
        return walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


def interleaved(commands: dict[str, list[str]], runs: int) -> dict[str, Figures]:
    """Each command once to warm up (page cache, .pyc), then ``runs`` rounds taking one sample
    of every command per round: the machine's drift during the run hits all of them alike, so
    their ratios hold even when the absolute figures move."""
    for args in commands.values():
        timed(args)
    figures = {name: Figures() for name in commands}
    for _ in range(runs):
        for name, args in commands.items():
            wall, cpu = timed(args)
            figures[name].walls.append(wall)
            figures[name].cpus.append(cpu)
    return figures


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


def copy_corpus(corpus: Path, directory: Path, count: int) -> None:
    """Write ``count`` files by cycling through the experiments under ``corpus``."""
    sources = sorted(corpus.rglob("*.yaml"))
    if not sources:
        raise SystemExit(f"{corpus}: no .yaml files")
    for index in range(count):
        text = sources[index % len(sources)].read_text(encoding="utf-8")
        (directory / f"corpus-{index:04d}.yaml").write_text(text, encoding="utf-8")


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


FLOOR = """
import click, yaml
from pydantic import BaseModel, Field
class Experiment(BaseModel):
    name: str = Field(min_length=1)
Experiment.model_validate(yaml.load("name: x", Loader=yaml.CSafeLoader))
"""
"""The least a CLI on click, PyYAML and pydantic pays to validate one document: one model."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="cold-start runs per command")
    parser.add_argument("--files", type=int, default=1000, help="generated files to validate")
    parser.add_argument(
        "--reference",
        type=Path,
        help="a built Go reference binary, measured in the same rounds (the goals then use its"
        " figures from this run instead of the recorded ones)",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        help="take the files from this directory of experiments, cycled to --files (e.g."
        " ../shared/compat/operator-chaos/experiments, which the reference accepts in full;"
        " it refuses the generated files of types it does not have)",
    )
    options = parser.parse_args()

    base = command()
    seed = next(path for path in SEEDS if path.exists())
    pycache = tempfile.TemporaryDirectory(prefix="oc-bench-pyc-")
    _ENV.update(child_env(Path(pycache.name)))
    _ENV.setdefault("KUBECONFIG", os.devnull)  # the reference's suite must not find a cluster
    with tempfile.TemporaryDirectory(prefix="oc-bench-") as tmp:
        directory = Path(tmp)
        if options.corpus:
            copy_corpus(options.corpus, directory, options.files)
        else:
            generate(directory, options.files)
        cold = {
            "help": [*base, "--help"],
            "one": [*base, "validate", str(seed)],
            "floor": [sys.executable, "-c", FLOOR],
        }
        many = {"many": [*base, "validate", str(directory)]}
        if options.reference:
            reference = str(options.reference.resolve())
            cold["ref-one"] = [reference, "validate", str(seed)]
            # The reference's validate takes one file; its suite --dry-run loads a directory.
            many["ref-many"] = [reference, "suite", str(directory), "--dry-run"]
        figures = interleaved(cold, options.runs)
        figures.update(interleaved(many, max(3, options.runs // 4)))
    pycache.cleanup()

    one, floor = figures["one"], figures["floor"]
    reference_many = (
        figures["ref-many"].median / 1000
        if "ref-many" in figures
        else GO_REFERENCE_1000_S * options.files / 1000
    )
    goal_s = 2 * reference_many
    where = "in this run" if "ref-many" in figures else "recorded"
    files = f"files of {options.corpus}" if options.corpus else "generated files"
    print(f"operator-chaos CLI benchmark ({' '.join(base)}; {options.runs} runs; {files})")
    print(f"{'command':<26} {'median':>9} {'p95':>9} {'cpu':>9}  goal (on the median)")

    def row(label: str, sample: Figures, note: str) -> None:
        print(
            f"{label:<26} {sample.median:>6.0f} ms {sample.p95:>6.0f} ms {sample.cpu:>6.0f} ms"
            f"  {note}"
        )

    row(
        "--help",
        figures["help"],
        f"p95 < {HELP_BUDGET_MS:.0f} ms: " + _verdict(figures["help"].p95 < HELP_BUDGET_MS),
    )
    row(
        f"validate {seed.name}",
        one,
        f"< {ONE_FILE_GOAL_MS:.0f} ms: " + _verdict(one.median < ONE_FILE_GOAL_MS),
    )
    row(
        "  floor: libraries only",
        floor,
        "click + PyYAML + pydantic, one model: the tool adds"
        f" {one.median - floor.median:.0f} ms to it",
    )
    if "ref-one" in figures:
        row("  Go reference, one file", figures["ref-one"], "")
    many_s, many_cpu = figures["many"].median / 1000, figures["many"].cpu / 1000
    print(
        f"{'validate ' + str(options.files) + ' files':<26} {many_s:>7.3f} s {'':>9}"
        f" {many_cpu:>7.3f} s  < {goal_s:.3f} s (2x Go's {reference_many:.3f} s, {where}):"
        f" {_verdict(many_s < goal_s)}"
    )
    # What each further file costs once the process is up: the start-up (the libraries'
    # floor above) is paid once, so this is what a long directory comes down to.
    marginal = (figures["many"].median - one.median) / max(1, options.files - 1) * 1000
    line = f"{'  per further file':<26} {marginal:>6.0f} µs"
    if "ref-many" in figures:
        ref = figures["ref-many"].median - figures["ref-one"].median
        line += f"  (Go reference: {ref / max(1, options.files - 1) * 1000:.0f} µs)"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
