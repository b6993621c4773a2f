"""What the benchmarks share: the seed experiments, percentiles, running the CLI, waiting for
the sandbox's training operator to settle between runs, and timing the seed experiments."""

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from operator_chaos.kube import client as kube_client
from operator_chaos.kube import wait

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "experiments" / "training-operator"


def pct(samples: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``samples`` (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_cli(kubeconfig: str, *args: str) -> tuple[int, float, str]:
    """``operator-chaos ARGS --kubeconfig K`` as a process: (exit code, wall seconds, stdout)."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "operator_chaos", *args, "--kubeconfig", kubeconfig],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    return proc.returncode, time.monotonic() - started, proc.stdout


def _operator_ready(obj: Any) -> bool:
    status = (obj or {}).get("status") or {}
    return bool(
        obj
        and status.get("readyReplicas") == status.get("replicas") == 1
        and not status.get("unavailableReplicas")
        and wait.condition_true(obj, "Available")
    )


async def operator_settled(kube: kube_client.LightkubeClient) -> None:
    """Wait (watching) until the training operator is Available with its one replica Ready."""
    await wait.wait_for(
        kube,
        "apps/v1",
        "Deployment",
        "training-operator-controller-manager",
        "opendatahub",
        _operator_ready,
        timeout=120,
    )


async def operator_settled_at(kubeconfig: str) -> None:
    """:func:`operator_settled` over a connection of its own (not counted by any proxy)."""
    async with kube_client.connect(kubeconfig) as kube:
        await operator_settled(kube)


def seed_wall_times(
    kubeconfig: str, *, title: str, hold: str, stability: str | None = None, runs: int = 1
) -> None:
    """Run each seed experiment ``runs`` times and print exit codes, verdicts, wall times."""
    args = ["--hold", hold, "--format", "json"]
    if stability is not None:
        args += ["--stability", stability]
    shown_stability = stability or "2s (default)"
    print(f"\n{title} seed experiments, --hold {hold} --stability {shown_stability},")
    print(f"    {runs} run(s) each, wall time per process")
    print(f"    {'experiment':<24} {'exits':<8} {'verdicts':<34} {'median s':>8} {'runs s'}")
    for path in sorted(SEEDS.glob("*.yaml")):
        exits, verdicts, walls = [], [], []
        for _ in range(runs):
            asyncio.run(operator_settled_at(kubeconfig))
            rc, elapsed, out = run_cli(kubeconfig, "run", str(path), *args)
            try:
                verdict = str(json.loads(out)["results"][0]["verdict"])
            except (ValueError, KeyError, IndexError, TypeError):
                verdict = "?"
            exits.append(str(rc))
            verdicts.append(verdict)
            walls.append(elapsed)
        each = " ".join(f"{w:.2f}" for w in walls)
        print(
            f"    {path.stem:<24} {','.join(exits):<8} {','.join(verdicts):<34}"
            f" {statistics.median(walls):>8.2f} {each}"
        )
