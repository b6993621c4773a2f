"""A Markdown report for people: a summary table, then every detail of every run.

Built from plain lines (no template engine) so the output is byte-for-byte deterministic and a
reader can see exactly what each section produces. All text from the result is escaped, so an
experiment name or an error message can never turn into a link, emphasis, HTML or a broken
table. Sections with nothing to show are left out rather than shown empty.
"""

import re
from collections.abc import Iterable, Sequence

from operator_chaos.api.v1alpha1.result import CheckRound, ExperimentResult, SuiteResult
from operator_chaos.report._common import (
    NONE,
    danger,
    events_table,
    format_ms,
    format_time,
    injection_type,
    managed_table,
    outcome,
    phases_table,
    recovery_ms,
    summary_line,
    yes_no,
)
from operator_chaos.report.timeline import (
    NO_IMPACT,
    has_story,
    impact_details,
    impact_line,
    model_line,
    restoration_sentences,
    table_header,
    table_rows,
    view,
)

TITLE = "operator-chaos report"
SUMMARY_HEADER = ("Experiment", "Type", "Danger", "Verdict", "Recovery", "Duration")

_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_BLOCK_START = re.compile(r"^([#>+=-])")
_ORDERED_START = re.compile(r"^(\d+)([.)])(?=\s|$)")


def text(value: object) -> str:
    """Escape a value so Markdown shows it literally on one line (also safe in table cells)."""
    escaped = " ".join(str(value).split())
    escaped = escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _INLINE_SPECIAL.sub(r"\\\1", escaped)
    escaped = _BLOCK_START.sub(r"\\\1", escaped)
    return _ORDERED_START.sub(r"\1\\\2", escaped) or NONE


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A GFM table; every cell is escaped."""
    lines = [_row(header), "|" + "|".join("---" for _ in header) + "|"]
    lines.extend(_row(row) for row in rows)
    return lines


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(text(cell) for cell in cells) + " |"


def render(suite: SuiteResult) -> str:
    """The whole suite as one Markdown document, newline-ended."""
    lines = [f"# {TITLE}", ""]
    lines.extend(_suite_facts(suite))
    lines += ["", f"**{text(summary_line(suite))}**", ""]
    if suite.results:
        lines.extend(table(SUMMARY_HEADER, (summary_row(r) for r in suite.results)))
        lines.append("")
    for result in suite.results:
        lines.extend(_experiment(result))
    return "\n".join(lines).rstrip("\n") + "\n"


def summary_row(result: ExperimentResult) -> tuple[str, ...]:
    """One summary-table row (shared with the HTML report, so both show the same)."""
    return (
        result.experiment,
        injection_type(result),
        danger(result),
        outcome(result),
        format_ms(recovery_ms(result)),
        format_ms(result.duration_ms),
    )


def _suite_facts(suite: SuiteResult) -> list[str]:
    facts = [("Cluster", suite.cluster or NONE)]
    facts += [("Started", format_time(suite.started_at)), ("Ended", format_time(suite.ended_at))]
    facts.append(("Schema", suite.schema_version))
    return [f"- **{label}:** {text(value)}" for label, value in facts]


def _experiment(result: ExperimentResult) -> list[str]:
    lines = [f"## {text(result.experiment)}: {text(outcome(result))}", ""]
    facts = [
        ("Operator", result.operator),
        ("Component", result.component),
        ("Tier", result.tier),
        ("Run ID", result.run_id),
        ("File", result.file or NONE),
        ("Cluster", result.cluster or NONE),
        ("Dry run", yes_no(result.dry_run)),
        ("Final phase", result.phase.value),
        ("Started", format_time(result.started_at)),
        ("Ended", format_time(result.ended_at)),
        ("Duration", f"{result.duration_ms} ms ({format_ms(result.duration_ms)})"),
    ]
    lines.extend(f"- **{label}:** {text(value)}" for label, value in facts)
    lines.append("")
    for label, value in (("Hypothesis", result.hypothesis), ("Message", result.message)):
        if value:
            lines += [f"**{label}:** {text(value)}", ""]
    lines.extend(_story(result))
    lines.extend(_phases(result))
    lines.extend(_checks("Steady state before injection", result.steady_state_pre))
    lines.extend(_checks("Steady state after recovery", result.steady_state_post))
    lines.extend(_injection(result))
    lines.extend(_revert(result))
    lines.extend(_recovery(result))
    if result.managed_resources:
        lines += ["### Managed resources", "", *table(*managed_table(result)), ""]
    lines.extend(_bullets("Collateral", result.collateral))
    lines.extend(_bullets("Deviations", result.deviations))
    if result.events:
        lines += ["### Events", "", *table(*events_table(result)), ""]
    return lines


def _phases(result: ExperimentResult) -> list[str]:
    if not result.phases:
        return []
    return ["### Phases", "", *table(*phases_table(result)), ""]


def _checks(title: str, round_: CheckRound | None) -> list[str]:
    if round_ is None:
        return []
    verdict = "passed" if round_.passed else "FAILED"
    lines = [f"### {title}", "", f"Result: **{verdict}** at {text(format_time(round_.timestamp))}"]
    if round_.checks:
        rows = [(c.check, yes_no(c.passed), c.value, c.error) for c in round_.checks]
        lines += ["", *table(("Check", "Passed", "Value", "Error"), rows)]
    return [*lines, ""]


def _injection(result: ExperimentResult) -> list[str]:
    injection = result.injection
    if injection is None:
        return []
    facts = [
        ("Type", injection.type.value),
        ("Danger", injection.danger.value),
        ("Injected at", format_time(injection.injected_at)),
        ("Reverted at", format_time(injection.reverted_at)),
        ("Hold", f"{injection.hold_ms} ms"),
    ]
    lines = ["### Injection", ""]
    lines.extend(f"- **{label}:** {text(value)}" for label, value in facts)
    lines.append("")
    lines.extend(_bullets("Targets", injection.targets, level=4))
    if injection.plan:
        rows = [(c.target, c.field, c.before, c.after) for c in injection.plan]
        lines += ["#### Planned changes", ""]
        lines += [*table(("Target", "Field", "Before", "After"), rows), ""]
    lines.extend(_bullets("Confirmations", injection.confirmations, level=4))
    return lines


def _revert(result: ExperimentResult) -> list[str]:
    revert = result.revert
    if revert is None:
        return []
    lines = ["### Revert", "", f"- **Reverted:** {yes_no(revert.reverted)}"]
    if revert.error:
        lines.append(f"- **Error:** {text(revert.error)}")
    lines.extend(f"- {text(detail)}" for detail in revert.details)
    return [*lines, ""]


def _recovery(result: ExperimentResult) -> list[str]:
    recovery = result.recovery
    if recovery is None:
        return []
    time_ms = recovery.recovery_time_ms
    cycles = str(recovery.reconcile_cycles)
    if recovery.max_reconcile_cycles is not None:
        cycles += f" (max {recovery.max_reconcile_cycles})"
    facts = [
        ("Recovered", yes_no(recovery.recovered)),
        ("Recovery time", NONE if time_ms is None else f"{time_ms} ms ({format_ms(time_ms)})"),
        ("Timeout", f"{recovery.timeout_ms} ms"),
        ("Stability window", f"{recovery.stability_window_ms} ms"),
        ("Reconcile cycles", cycles),
    ]
    lines = ["### Recovery", ""]
    lines.extend(f"- **{label}:** {text(value)}" for label, value in facts)
    return [*lines, ""]


def _bullets(title: str, items: Sequence[str], level: int = 3) -> list[str]:
    if not items:
        return []
    return [f"{'#' * level} {title}", "", *(f"- {text(item)}" for item in items), ""]


def _story(result: ExperimentResult) -> list[str]:
    """Impact, recovery model, restorations and the timeline table (the HTML swimlane's facts)."""
    if not has_story(result):
        return []
    lines = ["### Timeline", ""]
    impact = impact_line(result)
    if impact is not None:
        prefix = "⚠ " if impact == NO_IMPACT else ""
        lines += [f"**{prefix}{text(impact)}.**", ""]
        details = impact_details(result)
        if details:
            lines += [*(f"- {text(line)}" for line in details), ""]
    model = model_line(result)
    if model is not None:
        lines += [f"{text(model)}.", ""]
    lines.extend(_bullets("Restorations", [f"{s}." for s in restoration_sentences(result)], 4))
    prepared = view(result)
    if prepared is not None and prepared.rows:
        lines += [*table(table_header(prepared), table_rows(prepared)), ""]
    return lines
