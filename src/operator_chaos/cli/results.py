"""``operator-chaos results list|show|report``: stored run results, read back.

Results come from the cluster (the ``chaos-result-<run>`` ConfigMaps every completed run
leaves, see ``orchestrator/results.py``) or, with ``--dir``, from the JSON report that
``run --report-dir`` wrote, so a report can be rendered again in another format later.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from operator_chaos.cli import common

if TYPE_CHECKING:
    from operator_chaos.api.v1alpha1 import ExperimentResult, SuiteResult
    from operator_chaos.kube.client import LightkubeClient
    from operator_chaos.orchestrator.results import StoredRun

T = TypeVar("T")
FORMATS = ("json", "junit", "markdown", "html")
REPORT_STEM = "operator-chaos-report"


def _dir_option(func: common.F) -> common.F:
    return click.option(
        "--dir",
        "directory",
        type=click.Path(exists=True),
        default=None,
        help="Read a report directory written by `run --report-dir` (or one JSON report)"
        " instead of the cluster.",
    )(func)


@click.group()
def results() -> None:
    """Results of earlier runs: list them, show one, render reports again."""


@results.command("list")
@click.option("--experiment", default=None, help="Only runs of this experiment.")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text")
@_dir_option
@common.ledger_cluster_options
def list_runs(
    experiment: str | None,
    output: str,
    directory: str | None,
    kubeconfig: str | None,
    context: str | None,
    ledger_namespace: str,
) -> None:
    """List stored runs, oldest first: run id, experiment, verdict, recovery, start."""
    from operator_chaos.orchestrator import results as stored

    if directory is not None:
        found = [r for r in _read_dir(Path(directory)) if experiment in (None, r.experiment)]
        runs = [stored.summary_of(r) for r in sorted(found, key=lambda r: r.started_at)]
    else:
        runs = _on_cluster(
            kubeconfig,
            context,
            lambda kube: stored.list_runs(kube, ledger_namespace, experiment),
        )
    if output == "json":
        click.echo(json.dumps([run.as_dict() for run in runs], indent=2))
        return
    click.echo(runs_table(runs), nl=False)


@results.command()
@click.argument("run_id")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text")
@_dir_option
@common.ledger_cluster_options
def show(
    run_id: str,
    output: str,
    directory: str | None,
    kubeconfig: str | None,
    context: str | None,
    ledger_namespace: str,
) -> None:
    """Show everything recorded about one run."""
    from operator_chaos.orchestrator import results as stored

    truncated = ""
    if directory is not None:
        (result,) = _pick(_read_dir(Path(directory)), (run_id,), directory)
    else:

        async def fetch(kube: "LightkubeClient") -> Any:
            return await stored.fetch(kube, ledger_namespace, run_id)

        cm = _on_cluster(kubeconfig, context, fetch)
        result = stored.decode(cm)
        truncated = stored.summary(cm).truncated
    if output == "json":
        click.echo(json.dumps(result.model_dump(mode="json", by_alias=True), indent=2))
        return
    click.echo(detail(result, truncated), nl=False)


@results.command()
@click.argument("run_ids", nargs=-1)
@click.option("--experiment", default=None, help="Every stored run of this experiment.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="markdown",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the report to this file (default: stdout).",
)
@_dir_option
@common.ledger_cluster_options
def report(
    run_ids: tuple[str, ...],
    experiment: str | None,
    fmt: str,
    output: str | None,
    directory: str | None,
    kubeconfig: str | None,
    context: str | None,
    ledger_namespace: str,
) -> None:
    """Render RUN_IDS (or --experiment, or a --dir) again as one report."""
    from operator_chaos.orchestrator import results as stored
    from operator_chaos.report import base

    if not run_ids and experiment is None and directory is None:
        raise click.UsageError("name RUN_IDs, --experiment NAME or --dir DIR")
    if directory is not None:
        suite = _dir_suite(Path(directory), run_ids, experiment)
    else:

        async def gather(kube: "LightkubeClient") -> list["ExperimentResult"]:
            ids = list(run_ids)
            if experiment is not None:
                runs = await stored.list_runs(kube, ledger_namespace, experiment)
                ids += [r.run_id for r in runs if r.run_id not in ids]
            if not ids:
                raise click.UsageError(f"no stored runs of experiment {experiment!r}")
            return [await stored.load(kube, ledger_namespace, run_id) for run_id in ids]

        suite = rebuild(_on_cluster(kubeconfig, context, gather))
    text = base.FORMATS[fmt].render(suite)
    if output is None:
        click.echo(text, nl=False)
        return
    Path(output).write_text(text, encoding="utf-8", errors="backslashreplace")
    click.echo(f"report: {output}", err=True)


# -- reading -------------------------------------------------------------------------------


def _on_cluster(
    kubeconfig: str | None,
    context: str | None,
    work: "Callable[[LightkubeClient], Awaitable[T]]",
) -> T:
    kube = common.connect(kubeconfig, context)

    async def go() -> T:
        async with kube:
            return await work(kube)

    return asyncio.run(go())


def _read_dir(path: Path) -> list["ExperimentResult"]:
    """Every run in the JSON reports of ``path`` (a report directory or one report file)."""
    return [r for suite in _read_suites(path) for r in suite.results]


def _read_suites(path: Path) -> list["SuiteResult"]:
    from operator_chaos.api.v1alpha1 import SuiteResult
    from operator_chaos.errors import UsageError

    files = [path] if path.is_file() else sorted(path.glob("*.json"))
    suites = []
    for file in files:
        try:
            suites.append(SuiteResult.model_validate_json(file.read_bytes()))
        except (ValueError, OSError) as exc:
            if path.is_file():
                raise UsageError(f"{file}: not an operator-chaos JSON report: {exc}") from None
            click.echo(f"skipping {file}: not an operator-chaos JSON report", err=True)
    if not suites:
        raise UsageError(f"{path}: no JSON report found (write one with `run --report-dir DIR`)")
    return suites


def _pick(
    found: Sequence["ExperimentResult"], run_ids: Sequence[str], where: str
) -> list["ExperimentResult"]:
    from operator_chaos.errors import UsageError

    by_id = {r.run_id: r for r in found}
    missing = [run_id for run_id in run_ids if run_id not in by_id]
    if missing:
        raise UsageError(f"no run {', '.join(missing)} in {where}")
    return [by_id[run_id] for run_id in run_ids]


def _dir_suite(path: Path, run_ids: Sequence[str], experiment: str | None) -> "SuiteResult":
    """The report of ``path`` as written, or rebuilt from the runs asked for."""
    suites = _read_suites(path)
    if len(suites) == 1 and not run_ids and experiment is None:
        return suites[0]
    found = [r for suite in suites for r in suite.results]
    chosen = list(_pick(found, run_ids, str(path))) if run_ids else []
    if experiment is not None:
        chosen += [r for r in found if r.experiment == experiment and r not in chosen]
    if not run_ids and experiment is None:
        chosen = found
    if not chosen:
        raise click.UsageError(f"no runs of experiment {experiment!r} in {path}")
    return rebuild(chosen)


def rebuild(found: Sequence["ExperimentResult"]) -> "SuiteResult":
    """A suite around stored runs: spans their times; names their cluster when they share one."""
    from operator_chaos.api.v1alpha1 import SuiteResult

    ordered = sorted(found, key=lambda r: r.started_at)
    clusters = {r.cluster for r in ordered}
    ends = [r.ended_at or r.started_at for r in ordered]
    return SuiteResult(
        started_at=ordered[0].started_at if ordered else datetime.now(UTC),
        ended_at=max(ends) if ends else None,
        cluster=clusters.pop() if len(clusters) == 1 else "",
        results=ordered,
    )


# -- rendering -----------------------------------------------------------------------------

_HEADER = ("Run ID", "Experiment", "Verdict", "Recovery ms", "Started", "Spec")


def runs_table(runs: Sequence["StoredRun"]) -> str:
    """The ``results list`` table (plain text, aligned, one run per line)."""
    from operator_chaos.report._common import NONE, format_time
    from operator_chaos.report.text import width

    if not runs:
        return "no stored results\n"
    rows: list[Sequence[str]] = [
        (
            run.run_id,
            run.experiment,
            run.verdict or NONE,
            NONE if run.recovery_ms is None else str(run.recovery_ms),
            format_time(run.started_at),
            run.spec_hash or NONE,
        )
        for run in runs
    ]
    header: Sequence[str] = _HEADER
    if not any(run.spec_hash for run in runs):  # report files carry no spec hash
        header, rows = _HEADER[:-1], [row[:-1] for row in rows]
    sizes = [max(width(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = []
        for index, (cell, size) in enumerate(zip(cells, sizes, strict=True)):
            fill = " " * (size - width(cell))
            padded.append(fill + cell if index == 3 else cell + fill)
        return "  ".join(padded).rstrip()

    lines = [line(header), line(["-" * size for size in sizes]), *map(line, rows)]
    return "\n".join(lines) + f"\n\n{len(runs)} run{'' if len(runs) == 1 else 's'}\n"


def detail(result: "ExperimentResult", truncated: str = "") -> str:
    """One run as plain text: facts, phases, injection, recovery, findings, events."""
    from operator_chaos.report._common import (
        NONE,
        event_line,
        format_ms,
        format_time,
        injection_type,
        outcome,
        phase_spans,
    )

    out = [f"{result.experiment}: {outcome(result)}", ""]
    facts = [
        ("Run ID", result.run_id),
        ("Operator", f"{result.operator} / {result.component}"),
        ("Type", injection_type(result)),
        ("Cluster", result.cluster or NONE),
        ("File", result.file or NONE),
        ("Started", format_time(result.started_at)),
        ("Duration", format_ms(result.duration_ms)),
        ("Final phase", result.phase.value),
        ("Message", result.message or NONE),
    ]
    if truncated:
        facts.append(("Stored", f"truncated ({truncated})"))
    out += [f"  {label + ':':<13}{' '.join(value.split())}" for label, value in facts]
    out += ["", "Phases:"]
    out += [
        f"  {span.phase.value:<17}{format_time(span.start)}  {format_ms(span.duration_ms)}"
        for span in phase_spans(result)
    ]
    if result.injection is not None:
        out += ["", "Injection:"]
        out += [f"  target: {t}" for t in result.injection.targets]
        out += [f"  confirmed: {c}" for c in result.injection.confirmations]
    if result.revert is not None:
        out += ["", "Revert:", f"  reverted: {'yes' if result.revert.reverted else 'no'}"]
        out += [f"  {d}" for d in result.revert.details]
        if result.revert.error:
            out.append(f"  error: {result.revert.error}")
    if result.recovery is not None:
        rec = result.recovery
        out += [
            "",
            "Recovery:",
            f"  recovered: {'yes' if rec.recovered else 'no'}"
            f", in {format_ms(rec.recovery_time_ms)} (timeout {format_ms(rec.timeout_ms)})"
            f", reconcile cycles {rec.reconcile_cycles}",
        ]
    for title, items in (
        (
            "Managed resources",
            [
                f"{m.resource}: {'ok' if m.reconciled else m.detail}"
                for m in result.managed_resources
            ],
        ),
        ("Deviations", result.deviations),
        ("Collateral", result.collateral),
        ("Events", [event_line(e) for e in result.events]),
    ):
        if items:
            out += ["", f"{title}:", *(f"  {' '.join(item.split())}" for item in items)]
    return "\n".join(out) + "\n"
