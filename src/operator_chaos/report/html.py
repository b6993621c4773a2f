"""One self-contained HTML page: the Markdown report's content, with colour and a timeline.

Self-contained means it opens from a CI artefact or an e-mail attachment with no network: CSS
is inline and nothing external is referenced. A Content-Security-Policy meta tag forbids
scripts and remote loads, a second line of defence behind escaping every value with
``html.escape`` (experiment files and cluster messages are untrusted text).
"""

import html
from collections.abc import Iterable, Sequence

from operator_chaos.api.v1alpha1.result import CheckRound, ExperimentResult, SuiteResult
from operator_chaos.report._common import (
    NONE,
    OUTCOME_ORDER,
    clean,
    events_table,
    format_ms,
    format_time,
    managed_table,
    offset_ms,
    outcome,
    phase_spans,
    phases_table,
    summary_line,
    yes_no,
)
from operator_chaos.report.markdown import SUMMARY_HEADER, TITLE, summary_row

CSP = "default-src 'none'; style-src 'unsafe-inline'"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
margin:0 auto;max-width:1200px;padding:1rem 2rem}
h1{margin:.2em 0}h2{margin-top:2.2em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
h3{margin:1.4em 0 .4em}h4{margin:1em 0 .3em}
table{border-collapse:collapse;margin:.4em 0 1em;width:100%}
th,td{border:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.5em 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.text{white-space:pre-wrap}.muted{color:#59636e}code{font-size:90%}
.badge{display:inline-block;padding:.05em .55em;border-radius:1em;font-size:.85em;
font-weight:600;color:#fff;background:#6e7781;vertical-align:middle}
.badge.resilient{background:#1a7f37}.badge.degraded{background:#d4a72c;color:#1f2328}
.badge.failed{background:#cf222e}.badge.inconclusive{background:#6e7781}
.badge.dry-run{background:#8c959f}.badge.no-verdict{background:#424a53}
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}
.timeline{position:relative;height:1.7em;background:#f6f8fa;border:1px solid #d0d7de;
border-radius:4px;overflow:hidden;margin:.4em 0}
.seg{position:absolute;top:0;bottom:0;min-width:2px;overflow:hidden;white-space:nowrap;
text-overflow:ellipsis;color:#fff;font-size:.8em;line-height:2.1em;padding-left:3px;
box-sizing:border-box;border-right:1px solid #fff;background:#8c959f}
.phase-pending{background:#afb8c1}.phase-steadystatepre{background:#0969da}
.phase-injecting{background:#cf222e}.phase-holding{background:#bc4c00}
.phase-reverting{background:#8250df}.phase-observing{background:#0a7e8c}
.phase-steadystatepost{background:#0550ae}.phase-evaluating{background:#6e7781}
.phase-complete{background:#1a7f37}.phase-aborted{background:#82071e}
summary{cursor:pointer}summary h3{display:inline}
"""


def esc(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(clean(str(value)), quote=True)


def badge(label: str) -> str:
    """A coloured verdict badge (class from the outcome, so colours match the legend)."""
    css = label.lower().replace(" ", "-")
    return f'<span class="badge {esc(css)}">{esc(label)}</span>'


def render(suite: SuiteResult) -> str:
    """The whole suite as one HTML document, newline-ended."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">',
        f"<title>{esc(TITLE)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{esc(TITLE)}</h1>",
        _facts(
            [
                ("Cluster", suite.cluster or NONE),
                ("Started", format_time(suite.started_at)),
                ("Ended", format_time(suite.ended_at)),
                ("Schema", suite.schema_version),
            ]
        ),
        f"<p><strong>{esc(summary_line(suite))}</strong> {_count_badges(suite)}</p></header>",
        "<main>",
    ]
    if suite.results:
        parts.append(_summary_table(suite.results))
    else:
        parts.append('<p class="muted">No experiments in this report.</p>')
    for index, result in enumerate(suite.results, start=1):
        parts.extend(_experiment(index, result))
    parts += ["</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _count_badges(suite: SuiteResult) -> str:
    labels = [outcome(result) for result in suite.results]
    return " ".join(
        badge(label) + f" {labels.count(label)}" for label in OUTCOME_ORDER if label in labels
    )


def _summary_table(results: Sequence[ExperimentResult]) -> str:
    rows = []
    for index, result in enumerate(results, start=1):
        name, kind, danger, verdict, recovery, duration = summary_row(result)
        rows.append(
            f'<tr><td><a href="#exp-{index}">{esc(name)}</a></td><td>{esc(kind)}</td>'
            f"<td>{esc(danger)}</td><td>{badge(verdict)}</td>"
            f'<td class="num">{esc(recovery)}</td><td class="num">{esc(duration)}</td></tr>'
        )
    head = "".join(f"<th>{esc(title)}</th>" for title in SUMMARY_HEADER)
    body = "".join(rows)
    return f'<table class="summary"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{esc(title)}</th>" for title in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="text">{esc(cell)}</td>' for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _facts(pairs: Sequence[tuple[str, object]]) -> str:
    items = "".join(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>" for label, value in pairs)
    return f'<dl class="facts">{items}</dl>'


def _list(title: str, items: Sequence[str], tag: str = "h3") -> list[str]:
    if not items:
        return []
    entries = "".join(f'<li class="text">{esc(item)}</li>' for item in items)
    return [f"<{tag}>{esc(title)}</{tag}>", f"<ul>{entries}</ul>"]


def _experiment(index: int, result: ExperimentResult) -> list[str]:
    parts = [
        f'<section class="experiment" id="exp-{index}">',
        f"<h2>{esc(result.experiment)} {badge(outcome(result))}</h2>",
        _facts(
            [
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
        ),
    ]
    for label, value in (("Hypothesis", result.hypothesis), ("Message", result.message)):
        if value:
            parts.append(f'<p class="text"><strong>{esc(label)}:</strong> {esc(value)}</p>')
    parts.extend(_phases(result))
    parts.extend(_checks("Steady state before injection", result.steady_state_pre))
    parts.extend(_checks("Steady state after recovery", result.steady_state_post))
    parts.extend(_injection(result))
    parts.extend(_revert(result))
    parts.extend(_recovery(result))
    if result.managed_resources:
        parts += ["<h3>Managed resources</h3>", _table(*managed_table(result))]
    parts.extend(_list("Collateral", result.collateral))
    parts.extend(_list("Deviations", result.deviations))
    if result.events:
        header, rows = events_table(result)
        parts += [
            f"<details open><summary><h3>Events ({len(rows)})</h3></summary>",
            _table(header, rows),
            "</details>",
        ]
    parts.append("</section>")
    return parts


def _phases(result: ExperimentResult) -> list[str]:
    if not phase_spans(result):
        return []
    return ["<h3>Phases</h3>", timeline(result), _table(*phases_table(result))]


def timeline(result: ExperimentResult) -> str:
    """A bar with one segment per phase, placed and sized in proportion to its timestamps.

    Segments are absolutely positioned (``left``/``width`` in %), so gaps or overlaps between
    recorded phases show as they happened. When all timestamps coincide, phases share the bar.
    """
    spans = phase_spans(result)
    origin = spans[0].start
    starts = [offset_ms(origin, span.start) for span in spans]
    ends = [
        offset_ms(origin, span.end) if span.end else start
        for span, start in zip(spans, starts, strict=True)
    ]
    low, total = min(starts), max(ends) - min(starts)
    segments = []
    for position, (span, start, end) in enumerate(zip(spans, starts, ends, strict=True)):
        if total > 0:
            left, width = (start - low) * 100 / total, max(0, end - start) * 100 / total
        else:
            left, width = position * 100 / len(spans), 100 / len(spans)
        name = span.phase.value
        segments.append(
            f'<div class="seg phase-{esc(name.lower())}"'
            f' style="left:{left:.3f}%;width:{width:.3f}%"'
            f' title="{esc(name)}: {esc(format_ms(span.duration_ms))}">{esc(name)}</div>'
        )
    label = f"Phase timeline of {result.experiment}"
    return f'<div class="timeline" role="img" aria-label="{esc(label)}">{"".join(segments)}</div>'


def _checks(title: str, round_: CheckRound | None) -> list[str]:
    if round_ is None:
        return []
    state = (
        '<span class="pass">passed</span>' if round_.passed else '<span class="fail">FAILED</span>'
    )
    parts = [
        f"<h3>{esc(title)}</h3>",
        f"<p>Result: {state} at {esc(format_time(round_.timestamp))}</p>",
    ]
    if round_.checks:
        rows = [
            (c.check, yes_no(c.passed), c.value or NONE, c.error or NONE) for c in round_.checks
        ]
        parts.append(_table(("Check", "Passed", "Value", "Error"), rows))
    return parts


def _injection(result: ExperimentResult) -> list[str]:
    injection = result.injection
    if injection is None:
        return []
    parts = [
        "<h3>Injection</h3>",
        _facts(
            [
                ("Type", injection.type.value),
                ("Danger", injection.danger.value),
                ("Injected at", format_time(injection.injected_at)),
                ("Reverted at", format_time(injection.reverted_at)),
                ("Hold", f"{injection.hold_ms} ms"),
            ]
        ),
        *_list("Targets", injection.targets, "h4"),
    ]
    if injection.plan:
        rows = [(c.target, c.field, c.before, c.after) for c in injection.plan]
        parts += ["<h4>Planned changes</h4>", _table(("Target", "Field", "Before", "After"), rows)]
    parts.extend(_list("Confirmations", injection.confirmations, "h4"))
    return parts


def _revert(result: ExperimentResult) -> list[str]:
    revert = result.revert
    if revert is None:
        return []
    pairs: list[tuple[str, object]] = [("Reverted", yes_no(revert.reverted))]
    if revert.error:
        pairs.append(("Error", revert.error))
    return ["<h3>Revert</h3>", _facts(pairs), *_list("Details", revert.details, "h4")]


def _recovery(result: ExperimentResult) -> list[str]:
    recovery = result.recovery
    if recovery is None:
        return []
    time_ms = recovery.recovery_time_ms
    cycles = str(recovery.reconcile_cycles)
    if recovery.max_reconcile_cycles is not None:
        cycles += f" (max {recovery.max_reconcile_cycles})"
    pairs: list[tuple[str, object]] = [
        ("Recovered", yes_no(recovery.recovered)),
        ("Recovery time", NONE if time_ms is None else f"{time_ms} ms ({format_ms(time_ms)})"),
        ("Timeout", f"{recovery.timeout_ms} ms"),
        ("Stability window", f"{recovery.stability_window_ms} ms"),
        ("Reconcile cycles", cycles),
    ]
    return ["<h3>Recovery</h3>", _facts(pairs)]
