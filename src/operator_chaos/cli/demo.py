"""``operator-chaos demo``: the whole story on a laptop with no cluster.

Builds the control plane once (cached), starts the local sandbox with the training-operator
scenario, runs the seed's five experiments with a short hold (``--all``: every experiment in
the directory, including faults the training-operator is known not to repair), prints the
verdict table and writes the reports. It never touches a configured cluster unless
``--kubeconfig`` or ``--context`` is given explicitly.
"""

import subprocess
import sys
from pathlib import Path

import click

from operator_chaos.cli import console

SEED_FILES = (
    "finalizer-block.yaml",
    "network-partition.yaml",
    "pod-kill.yaml",
    "rbac-revoke.yaml",
    "webhook-disrupt.yaml",
)
"""The user's seed page: the five experiments the demo runs unless ``--all`` is given."""


@click.command()
@click.option(
    "--experiments",
    "experiments_dir",
    type=click.Path(file_okay=False),
    default="experiments/training-operator",
    show_default=True,
    help="Experiments to run.",
)
@click.option(
    "--hold",
    default="5s",
    show_default=True,
    help="How long each fault is held (the experiments' ttl is 60-300s).",
)
@click.option(
    "--report-dir", default="chaos-reports", show_default=True, type=click.Path(file_okay=False)
)
@click.option(
    "--all",
    "run_all",
    is_flag=True,
    help="Run every experiment in the directory, not only the seed page's five (some end"
    " Failed: the training-operator does not repair every fault).",
)
@click.option("--kubeconfig", default=None, help="Use this cluster instead of the sandbox.")
@click.option("--context", default=None, help="Use this context instead of the sandbox.")
@click.option(
    "--keep/--down",
    default=True,
    show_default=True,
    help="Leave the sandbox running afterwards (`operator-chaos sandbox down` ends it).",
)
def demo(
    experiments_dir: str,
    hold: str,
    report_dir: str,
    run_all: bool,
    kubeconfig: str | None,
    context: str | None,
    keep: bool,
) -> None:
    """Run the seed experiments end to end (on the local sandbox unless told otherwise)."""
    if not Path(experiments_dir).is_dir():
        raise click.UsageError(
            f"{experiments_dir}: not found; run from the repository root or pass --experiments"
        )
    box = None
    if kubeconfig is None and context is None:
        from operator_chaos.sandbox.cluster import Sandbox

        box = Sandbox()
        console.progress(
            "starting the local sandbox (the first time builds Kubernetes from source)"
        )
        box.up(console.progress)
        box.install_scenario("training-operator", console.progress)
        kubeconfig = str(box.kubeconfig)
    args = [
        sys.executable,
        "-m",
        "operator_chaos",
        *(["suite", experiments_dir] if run_all else ["run", *_seeds(Path(experiments_dir))]),
        "--hold",
        hold,
        "--cooldown",
        "2s",
        "--report-dir",
        report_dir,
    ]
    if kubeconfig:
        args += ["--kubeconfig", kubeconfig]
    if context:
        args += ["--context", context]
    console.progress(f"running: operator-chaos {' '.join(args[3:])}")
    code = subprocess.call(args)
    if box is not None and not keep:
        box.down(console.progress)
    elif box is not None:
        console.progress(f"sandbox left running: export KUBECONFIG={box.kubeconfig}")
    sys.exit(code)


def _seeds(directory: Path) -> list[str]:
    """The seed files present in ``directory`` (if it has none of them: the directory)."""
    present = [str(directory / name) for name in SEED_FILES if (directory / name).is_file()]
    return present or [str(directory)]
