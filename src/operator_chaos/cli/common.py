"""Options and helpers shared by the commands that talk to a cluster."""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from operator_chaos.exitcodes import ExitStatus

if TYPE_CHECKING:
    from operator_chaos.api.v1alpha1 import Verdict
    from operator_chaos.knowledge.model import OperatorKnowledge
    from operator_chaos.kube.client import LightkubeClient
    from operator_chaos.load.experiments import LoadedExperiment
    from operator_chaos.orchestrator.lifecycle import RunOutcome

F = TypeVar("F", bound=Callable[..., Any])


def cluster_options(func: F) -> F:
    """``--kubeconfig``, ``--context`` and ``--ledger-namespace``."""
    func = click.option(
        "--ledger-namespace",
        default="operator-chaos",
        show_default=True,
        help="Namespace where the tool keeps rollback ledgers, leases and results.",
    )(func)
    func = click.option("--context", default=None, help="Kubeconfig context to use.")(func)
    func = click.option(
        "--kubeconfig",
        type=click.Path(dir_okay=False),
        default=None,
        help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster, else a running"
        " local sandbox).",
    )(func)
    return func


def connect(kubeconfig: str | None, context: str | None) -> "LightkubeClient":
    """Open the cluster the user means; fall back to a running sandbox when none is set."""
    from operator_chaos.kube import client, config
    from operator_chaos.kube import errors as kube_errors

    try:
        return client.connect(kubeconfig, context)
    except kube_errors.ConfigError:
        if kubeconfig or context:
            raise
        from operator_chaos.sandbox.cluster import Sandbox

        box = Sandbox()
        if box.state() is not None and box.kubeconfig.is_file():
            return client.LightkubeClient(config.resolve(str(box.kubeconfig)))
        raise


def load_experiments(
    paths: tuple[str, ...], overrides: tuple[str, ...] = ()
) -> list["LoadedExperiment"]:
    """Load every experiment in the given files/directories (all problems, then one error)."""
    from operator_chaos.load import overrides as override
    from operator_chaos.load import sources, yamlmap
    from operator_chaos.load.errors import LoadError, Problem
    from operator_chaos.load.experiments import load_text

    loaded: list[LoadedExperiment] = []
    problems: list[Problem] = []
    for path in sources.expand([Path(p) for p in paths]):
        try:
            text = override.apply(yamlmap.read_text(path), list(overrides), str(path))
            loaded += load_text(text, path)
        except LoadError as exc:
            problems += exc.problems
    if problems:
        raise LoadError(problems)
    if not loaded:
        raise click.UsageError("no experiments found in " + ", ".join(paths))
    return loaded


def find_knowledge(loaded: "LoadedExperiment", explicit: str | None) -> "OperatorKnowledge | None":
    """``--knowledge`` if given, else ``knowledge/<operator>.yaml`` found above the file."""
    from operator_chaos.knowledge import loader

    if explicit:
        return loader.load_file(Path(explicit)).model
    operator = loaded.experiment.spec.target.operator
    for parent in list(loaded.path.resolve().parents)[:4]:
        candidate = parent / "knowledge" / f"{operator}.yaml"
        if candidate.is_file():
            return loader.load_file(candidate).model
    return None


_VERDICT_EXIT = {
    "Resilient": ExitStatus.OK,
    "Degraded": ExitStatus.DEGRADED,
    "Failed": ExitStatus.FAILED,
    "Inconclusive": ExitStatus.INCONCLUSIVE,
}
_SEVERITY = [
    ExitStatus.REVERT_FAILED,
    ExitStatus.INTERRUPTED,
    ExitStatus.UNREACHABLE,
    ExitStatus.LOCKED,
    ExitStatus.UNSAFE,
    ExitStatus.ERROR,
    ExitStatus.INVALID,
    ExitStatus.USAGE,
    ExitStatus.FAILED,
    ExitStatus.INCONCLUSIVE,
    ExitStatus.DEGRADED,
    ExitStatus.OK,
]


def exit_status(outcomes: list["RunOutcome"], dry_run: bool) -> ExitStatus:
    """The most severe status of all outcomes."""
    statuses = []
    for outcome in outcomes:
        if outcome.interrupted:
            statuses.append(ExitStatus.INTERRUPTED)
        elif outcome.error is not None:
            statuses.append(outcome.error.exit_status)
        elif dry_run:
            statuses.append(ExitStatus.OK)
        else:
            verdict: Verdict | None = outcome.result.verdict
            statuses.append(_VERDICT_EXIT.get(verdict.value if verdict else "", ExitStatus.ERROR))
    return min(statuses, key=_rank, default=ExitStatus.OK)


def _rank(status: ExitStatus) -> int:
    """Lower is more severe (every ExitStatus member is listed; a test keeps it so)."""
    return _SEVERITY.index(status)
