"""``operator-chaos run`` and ``suite``: run experiments against a cluster and report."""

import asyncio
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from operator_chaos.cli import common, completion

if TYPE_CHECKING:
    from operator_chaos.api.v1alpha1 import ExperimentResult
    from operator_chaos.kube.client import LightkubeClient
    from operator_chaos.load.experiments import LoadedExperiment
    from operator_chaos.orchestrator.events import ProgressSink
    from operator_chaos.orchestrator.lifecycle import RunOptions, RunOutcome

FORMATS = ("json", "junit", "markdown", "html")


def _duration(_: click.Context, __: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    from operator_chaos.api.v1alpha1 import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def run_options(func: common.F) -> common.F:
    """Options shared by ``run`` and ``suite``."""
    for option in reversed(
        [
            click.option(
                "--knowledge",
                type=click.Path(exists=True, dir_okay=False),
                default=None,
                help="Operator knowledge model (default: knowledge/<operator>.yaml found above).",
            ),
            click.option("--dry-run", is_flag=True, help="Print the exact plan; change nothing."),
            click.option(
                "--hold",
                callback=_duration,
                default=None,
                help="Hold each fault this long instead of injection.ttl (e.g. 5s).",
            ),
            click.option(
                "--stability",
                callback=_duration,
                default="2s",
                show_default=True,
                help="How long checks must keep passing to count as recovered.",
            ),
            click.option(
                "--require-impact",
                is_flag=True,
                help="Judge a run in which nothing watched ever broke Inconclusive, not"
                " Resilient (a fault with no visible impact proves nothing).",
            ),
            click.option(
                "--report-dir",
                type=click.Path(file_okay=False),
                default=None,
                help="Write reports here (all formats unless --format is given).",
            ),
            click.option(
                "--format",
                "formats",
                type=click.Choice(FORMATS),
                multiple=True,
                help="Report format(s); without --report-dir one format goes to stdout.",
            ),
            click.option(
                "--set",
                "overrides",
                multiple=True,
                metavar="PATH=VALUE",
                help="Override a field, e.g. --set spec.injection.ttl=30s (repeatable).",
            ),
            click.option(
                "--keep-results",
                type=click.IntRange(min=0),
                default=10,
                show_default=True,
                envvar="OPERATOR_CHAOS_KEEP_RESULTS",
                help="Stored results to keep per experiment on the cluster (older are pruned).",
            ),
        ]
    ):
        func = option(func)
    return common.cluster_options(common.namespace_option(func))


@click.command()
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True),
    shell_complete=completion.experiment_files,
)
@click.option(
    "--cooldown",
    callback=_duration,
    default="0s",
    show_default=True,
    help="Pause between two experiments on the same target.",
)
@run_options
def run(files: tuple[str, ...], cooldown: timedelta, **opts: Any) -> None:
    """Run the experiments in FILES (files or directories), one after another."""
    _execute(files, parallel=1, cooldown=cooldown, max_tier=None, **opts)


@click.command()
@click.argument(
    "directory",
    type=click.Path(exists=True, file_okay=False),
    shell_complete=completion.directories,
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 32),
    default=1,
    show_default=True,
    help="Targets to run at the same time (one experiment per target at a time).",
)
@click.option(
    "--cooldown",
    callback=_duration,
    default="10s",
    show_default=True,
    help="Pause between two experiments on the same target.",
)
@click.option(
    "--max-tier", type=click.IntRange(1, 6), default=None, help="Skip experiments above this tier."
)
@run_options
def suite(
    directory: str, parallel: int, cooldown: timedelta, max_tier: int | None, **opts: Any
) -> None:
    """Run every experiment under DIRECTORY with one consolidated report."""
    _execute((directory,), parallel=parallel, cooldown=cooldown, max_tier=max_tier, **opts)


def _execute(
    files: tuple[str, ...],
    *,
    parallel: int,
    cooldown: timedelta,
    max_tier: int | None,
    knowledge: str | None,
    dry_run: bool,
    hold: timedelta | None,
    stability: timedelta,
    report_dir: str | None,
    formats: tuple[str, ...],
    overrides: tuple[str, ...],
    keep_results: int,
    require_impact: bool,
    kubeconfig: str | None,
    context: str | None,
    ledger_namespace: str,
    namespace: str | None,
) -> None:
    from operator_chaos.cli import render

    items = common.in_namespace(common.load_experiments(files, overrides), namespace)
    skipped: list[LoadedExperiment] = []
    if max_tier is not None:
        skipped = [i for i in items if i.experiment.spec.tier > max_tier]
        items = [i for i in items if i.experiment.spec.tier <= max_tier]
        for item in skipped:
            click.echo(
                f"skipping {item.experiment.metadata.name}"
                f" (tier {item.experiment.spec.tier} > {max_tier})",
                err=True,
            )
        if not items:
            raise click.UsageError(f"no experiments at tier {max_tier} or below")
    if len(formats) > 1 and report_dir is None:
        raise click.UsageError("several --format values need --report-dir")
    knowledge_of = {id(i): common.find_knowledge(i, knowledge) for i in items}
    kube = common.connect(kubeconfig, context)
    verb = "planning against" if dry_run else "about to change"
    click.echo(f"cluster: {kube.server} (context {kube.context or '-'}); {verb} it", err=True)

    def options_for(item: "LoadedExperiment") -> "RunOptions":
        from operator_chaos.orchestrator.lifecycle import RunOptions

        return RunOptions(
            dry_run=dry_run,
            hold=hold,
            stability=stability,
            tool_namespace=ledger_namespace,
            knowledge=knowledge_of[id(item)],
            keep_results=keep_results,
            require_impact=require_impact,
        )

    started = datetime.now(UTC)
    with render.progress_view() as view:
        outcomes = asyncio.run(_run_all(kube, items, options_for, parallel, cooldown, view))
    results = common.report_results(outcomes, items, skipped, max_tier)
    _report(outcomes, results, started, kube.server, report_dir, formats)
    closing = view.closing_line()  # after a Ctrl-C: what was reverted, as the last word
    if closing is not None:
        click.echo(closing, err=True)
    sys.exit(int(common.exit_status(outcomes, dry_run)))


async def _run_all(
    kube: "LightkubeClient",
    items: list["LoadedExperiment"],
    options_for: "Callable[[LoadedExperiment], RunOptions]",
    parallel: int,
    cooldown: timedelta,
    view: "ProgressSink",
) -> list["RunOutcome"]:
    from operator_chaos.orchestrator import suite

    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main.cancel)
    try:
        return await suite.run_suite(
            kube,
            items,
            options_for,
            parallel=parallel,
            cooldown=cooldown,
            sink=view,
        )
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await kube.close()


def _report(
    outcomes: list["RunOutcome"],
    results: list["ExperimentResult"],
    started: datetime,
    server: str,
    report_dir: str | None,
    formats: tuple[str, ...],
) -> None:
    """Errors to stderr; the verdict table and report paths to stdout, unless a report itself
    goes to stdout (then the table moves to stderr so stdout stays one clean document)."""
    from operator_chaos.api.v1alpha1 import SuiteResult
    from operator_chaos.report import base, text

    result = SuiteResult(
        started_at=started,
        ended_at=datetime.now(UTC),
        cluster=server,
        results=results,
    )
    for outcome in outcomes:
        if outcome.error is not None:
            click.echo(f"error: {outcome.result.experiment}: {outcome.error}", err=True)
    report_to_stdout = report_dir is None and bool(formats)
    story = text.stories(result)
    if story:
        # What happened, lane by lane: progress-like detail, so it goes to stderr.
        click.echo(story, err=True)
    click.echo(text.verdict_table(result), err=report_to_stdout)
    if report_dir is not None:
        paths = base.write_reports(result, Path(report_dir), formats or FORMATS)
        for path in paths:
            click.echo(f"report: {path}")
    elif formats:
        click.echo(base.FORMATS[formats[0]].render(result), nl=False)
