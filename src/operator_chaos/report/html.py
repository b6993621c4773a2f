"""One self-contained HTML page: the Markdown report's content, with colour and a timeline.

Self-contained means it opens from a CI artefact or an e-mail attachment with no network: CSS
is inline and nothing external is referenced. A Content-Security-Policy meta tag forbids
scripts and remote loads, a second line of defence behind escaping every value with
``html.escape`` (experiment files and cluster messages are untrusted text).
"""

import html
from collections.abc import Callable, Iterable, Sequence

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
from operator_chaos.report.timeline import (
    NO_IMPACT,
    TimelineView,
    axis_caption,
    has_story,
    impact_details,
    impact_line,
    model_line,
    restoration_sentences,
    since,
    table_header,
    table_rows,
    ticks,
    view,
)

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
.callout{border:1px solid #d0d7de;border-left:6px solid #6e7781;border-radius:4px;
padding:.5em .8em;margin:.6em 0;background:#f6f8fa}
.callout.no-impact{border-left-color:#bc4c00;background:#fff8c5;font-size:1.1em}
.callout.impact{border-left-color:#0969da}
ul.restorations{list-style:none;padding-left:.2em}ul.restorations li::before{
content:attr(data-mark);display:inline-block;width:1.4em;font-weight:700}
ul.restorations li.operator::before{color:#1a7f37}
ul.restorations li.operator-chaos::before{color:#bc4c00}
ul.restorations li.nobody::before{color:#cf222e}
svg.swimlane{width:100%;height:auto;display:block;margin:.4em 0;font-family:inherit}
svg.swimlane text{font-size:11px;fill:#1f2328}svg.swimlane .lane-label{font-size:12px}
svg.swimlane .kind{fill:#59636e}svg.swimlane .axis text{fill:#59636e}
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
    parts.extend(_story(index, result))
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


def _story(index: int, result: ExperimentResult) -> list[str]:
    """Impact, recovery model, swimlane, restorations and the timeline table of one run."""
    if not has_story(result):
        return []
    parts = ["<h3>Timeline</h3>"]
    impact = impact_line(result)
    if impact == NO_IMPACT:
        parts.append(
            f'<p class="callout no-impact" role="note"><strong>⚠ {esc(impact)}.</strong></p>'
        )
    elif impact is not None:
        broken = "".join(f'<li class="text">{esc(line)}</li>' for line in impact_details(result))
        parts.append(
            f'<div class="callout impact"><strong>{esc(impact)}.</strong>'
            + (f"<ul>{broken}</ul>" if broken else "")
            + "</div>"
        )
    line = model_line(result)
    if line is not None:
        parts.append(f"<p>{esc(line)}.</p>")
    prepared = view(result)
    if prepared is not None:
        parts.append(swimlane(f"tl{index}", prepared, f"Timeline of {result.experiment}"))
    sentences = restoration_sentences(result)
    if sentences:
        items = "".join(
            f'<li class="text {esc(item.restored_by)}" data-mark="{_MARKS[item.restored_by]}">'
            f"{esc(sentence)}.</li>"
            for item, sentence in zip(result.restorations, sentences, strict=True)
        )
        parts += ["<h4>Restorations</h4>", f'<ul class="restorations">{items}</ul>']
    if prepared is not None and prepared.rows:
        rows = table_rows(prepared)
        parts += [
            f"<details><summary>Timeline table ({len(rows)} entries)</summary>",
            _table(table_header(prepared), rows),
            "</details>",
        ]
    return parts


_MARKS = {"operator": "✓", "operator-chaos": "⚠", "nobody": "✗"}
"""A shape per restorer, so the list does not rely on colour alone."""

# Swimlane geometry, in SVG user units (the drawing scales to the page width).
_WIDTH = 1000
_PLOT_LEFT = 270
_PLOT_RIGHT = 975
_LABEL_ROWS = (13, 27, 41)
_BAND_TOP = 50
_BAND_HEIGHT = 10
_BAND_PITCH = 15
_LANE_TOP = _BAND_TOP + 2 * _BAND_PITCH + 6
_LANE_HEIGHT = 20
_LANE_PITCH = 27
_CHAR_WIDTH = 6.2
_LABEL_CHARS = 37

PASS_COLOUR = "#1a7f37"
FAIL_COLOUR = "#cf222e"
MARKER_STYLE = {
    "injected": ("inject", "#24292f", ""),
    "lifted": ("lift", "#24292f", ""),
    "repaired": ("repaired", "#1a7f37", ""),
    "restored": ("restored by tool", "#8250df", ""),
    "recovered": ("recovered", "#0550ae", ""),
    "stable": ("stable", "#0969da", "2 2"),
    "deadline": ("timeout", "#57606a", "6 4"),
}
"""Per milestone: short label, line colour, dash pattern (dashes tell lines apart, too)."""


def _num(value: float) -> str:
    """A coordinate with at most one decimal, so the output is compact and deterministic."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def swimlane(prefix: str, timeline: TimelineView, label: str) -> str:
    """The run as an SVG swimlane: bands for the fault and stability windows, one lane per
    watched thing (solid green = ok, hatched red = not ok), milestone lines, axis, legend.

    ``prefix`` makes the pattern ids unique on a page with several runs.
    """
    low, high = 0, max(1, timeline.end_ms)
    plot = _PLOT_RIGHT - _PLOT_LEFT

    def x(ms: int) -> float:
        return _PLOT_LEFT + (min(max(ms, low), high) - low) * plot / (high - low)

    lanes_bottom = _LANE_TOP + len(timeline.lanes) * _LANE_PITCH - (_LANE_PITCH - _LANE_HEIGHT)
    axis_y = lanes_bottom + 6
    legend_y = axis_y + 48
    height = legend_y + 16
    out = [
        f'<svg class="swimlane" viewBox="0 0 {_WIDTH} {height}" role="img"'
        f' aria-label="{esc(label)}">',
        f"<title>{esc(label)}</title>",
        _patterns(prefix),
    ]
    # Background shading over the lanes, then the two labelled bands.
    bands = [
        ("fault window", timeline.fault_window, f"url(#{prefix}-fault)", "#bc4c00", 0),
        ("stability window", timeline.stability, f"url(#{prefix}-stable)", "#0969da", 1),
    ]
    for name, window, fill, colour, row in bands:
        top = _BAND_TOP + row * _BAND_PITCH
        out.append(f'<text class="lane-label" x="4" y="{top + 9}">{esc(name)}</text>')
        if window is None:
            continue
        start, end = x(window[0]), x(window[1])
        span = f"{since(window[0], timeline.zero_ms)} to {since(window[1], timeline.zero_ms)}"
        if name == "fault window" and timeline.fault_open:
            span = f"{since(window[0], timeline.zero_ms)} to the end (never lifted or repaired)"
        out.append(
            f'<rect class="shade" x="{_num(start)}" y="{_BAND_TOP}"'
            f' width="{_num(max(1, end - start))}" height="{_num(lanes_bottom - _BAND_TOP)}"'
            f' fill="{colour}" fill-opacity="0.07"/>'
        )
        out.append(
            f'<rect class="band {name.split()[0]}" x="{_num(start)}" y="{top}"'
            f' width="{_num(max(2, end - start))}" height="{_BAND_HEIGHT}" fill="{fill}"'
            f' stroke="{colour}" stroke-width="1"><title>{esc(name)}: {esc(span)}</title></rect>'
        )
    for number, lane in enumerate(timeline.lanes):
        top = _LANE_TOP + number * _LANE_PITCH
        out.append(
            f'<text class="lane-label" x="4" y="{top + 14}">'
            f"<title>{esc(lane.label)}</title>"
            f'<tspan class="kind">{esc(lane.kind)}:</tspan> '
            f"{esc(_shorten(lane.name, _LABEL_CHARS - len(lane.kind)))}</text>"
        )
        out.append(
            f'<rect x="{_PLOT_LEFT}" y="{top}" width="{plot}" height="{_LANE_HEIGHT}"'
            ' fill="#f6f8fa" stroke="#d0d7de"/>'
        )
        for segment in lane.segments:
            start, end = x(segment.start_ms), x(segment.end_ms)
            fill = PASS_COLOUR if segment.ok else f"url(#{prefix}-fail)"
            tip = (
                f"{lane.label}: {segment.state} from {since(segment.start_ms, timeline.zero_ms)}"
                f" to {since(segment.end_ms, timeline.zero_ms)}"
            )
            if segment.detail:
                tip += f": {segment.detail}"
            out.append(
                f'<rect class="seg {"ok" if segment.ok else "not-ok"}" x="{_num(start)}"'
                f' y="{top}" width="{_num(max(1.5, end - start))}" height="{_LANE_HEIGHT}"'
                f' fill="{fill}"><title>{esc(tip)}</title></rect>'
            )
    out.extend(_milestone_lines(timeline, x, lanes_bottom))
    out.extend(_axis(timeline, x, low, high, axis_y))
    out.extend(_legend(prefix, legend_y))
    out.append("</svg>")
    return "".join(out)


def _patterns(prefix: str) -> str:
    """Hatching for "not ok" and the fault window, dots for stability: shape, not only hue."""
    return (
        "<defs>"
        f'<pattern id="{prefix}-fail" width="6" height="6" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{FAIL_COLOUR}"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2.4"/></pattern>'
        f'<pattern id="{prefix}-fault" width="5" height="5" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(-45)">'
        '<rect width="5" height="5" fill="#fff1e5"/>'
        '<line x1="0" y1="0" x2="0" y2="5" stroke="#bc4c00" stroke-width="1.5"/></pattern>'
        f'<pattern id="{prefix}-stable" width="4" height="4" patternUnits="userSpaceOnUse">'
        '<rect width="4" height="4" fill="#ddf4ff"/>'
        '<circle cx="2" cy="2" r="1" fill="#0969da"/></pattern>'
        "</defs>"
    )


def _free_row(taken: list[list[tuple[float, float]]], left: float, right: float) -> int:
    """The first label row where ``left..right`` overlaps no label (the last row if none)."""
    for row, spans in enumerate(taken):
        if all(right + 4 < low or left > high + 4 for low, high in spans):
            spans.append((left, right))
            return row
    taken[-1].append((left, right))
    return len(taken) - 1


def _milestone_lines(timeline: TimelineView, x: Callable[[int], float], bottom: int) -> list[str]:
    """A vertical line per milestone, with its label placed in the first of three rows where
    it overlaps no other label; a deadline beyond the axis becomes a note at the right edge."""
    out: list[str] = []
    taken: list[list[tuple[float, float]]] = [[] for _ in _LABEL_ROWS]
    stones = sorted(
        timeline.milestones, key=lambda s: s.key != "deadline" or timeline.deadline_on_axis
    )
    for stone in stones:
        name, colour, dash = MARKER_STYLE.get(stone.key, (stone.key, "#24292f", ""))
        when = since(stone.at_ms, timeline.zero_ms)
        tip = f"{stone.label} at {when} (since {timeline.zero_name})"
        if stone.key == "deadline" and not timeline.deadline_on_axis:
            note = f"{name} at {when} →"
            row = _free_row(taken, _PLOT_RIGHT - len(note) * _CHAR_WIDTH, _PLOT_RIGHT)
            out.append(
                f'<text class="marker-label deadline" x="{_PLOT_RIGHT}" y="{_LABEL_ROWS[row]}"'
                f' text-anchor="end" fill="{colour}"><title>{esc(tip)}</title>{esc(note)}</text>'
            )
            continue
        position = x(stone.at_ms)
        width = len(name) * _CHAR_WIDTH
        anchor_end = position + 3 + width > _WIDTH
        left = position - 3 - width if anchor_end else position + 3
        row = _free_row(taken, left, left + width)
        stroke = f' stroke-dasharray="{dash}"' if dash else ""
        anchor = ' text-anchor="end"' if anchor_end else ""
        heavy = "2.5" if stone.key == "recovered" else "1.5"
        out.append(
            f'<g class="marker {esc(stone.key)}"><title>{esc(tip)}</title>'
            f'<line x1="{_num(position)}" y1="{_LABEL_ROWS[row] + 3}" x2="{_num(position)}"'
            f' y2="{bottom}" stroke="{colour}" stroke-width="{heavy}"{stroke}/>'
        )
        if stone.key == "recovered":
            top = _BAND_TOP - 5
            out.append(f'<path d="M{_num(position)} {top - 5}l5 5l-5 5l-5 -5z" fill="{colour}"/>')
        out.append(
            f'<text x="{_num(position - 3 if anchor_end else position + 3)}"'
            f' y="{_LABEL_ROWS[row]}"{anchor} fill="{colour}">{esc(name)}</text></g>'
        )
    return out


def _axis(
    timeline: TimelineView, x: Callable[[int], float], low: int, high: int, top: int
) -> list[str]:
    out = [
        f'<g class="axis"><line x1="{_PLOT_LEFT}" y1="{top}" x2="{_PLOT_RIGHT}" y2="{top}"'
        ' stroke="#59636e"/>'
    ]
    for value, text in ticks(low, high, timeline.zero_ms):
        position = _num(x(value))
        out.append(
            f'<line x1="{position}" y1="{top}" x2="{position}" y2="{top + 4}" stroke="#59636e"/>'
            f'<text x="{position}" y="{top + 16}" text-anchor="middle">{esc(text)}</text>'
        )
    middle = (_PLOT_LEFT + _PLOT_RIGHT) // 2
    out.append(
        f'<text x="{middle}" y="{top + 32}" text-anchor="middle">'
        f"{esc(axis_caption(timeline))}</text></g>"
    )
    return out


def _legend(prefix: str, top: int) -> list[str]:
    """Every colour and pattern explained, each with a distinct shape."""
    items = [
        (f'<rect width="18" height="10" fill="{PASS_COLOUR}"/>', "ok"),
        (f'<rect width="18" height="10" fill="url(#{prefix}-fail)"/>', "not ok"),
        (
            f'<rect width="18" height="10" fill="url(#{prefix}-fault)" stroke="#bc4c00"/>',
            "fault window",
        ),
        (
            f'<rect width="18" height="10" fill="url(#{prefix}-stable)" stroke="#0969da"/>',
            "stability window",
        ),
        (
            '<path d="M9 0l5 5l-5 5l-5 -5z" fill="#0550ae"/>'
            '<line x1="9" y1="0" x2="9" y2="12" stroke="#0550ae" stroke-width="2.5"/>',
            "recovered",
        ),
        (
            '<line x1="0" y1="5" x2="18" y2="5" stroke="#57606a" stroke-width="1.5"'
            ' stroke-dasharray="6 4"/>',
            "timeout",
        ),
    ]
    out = [f'<g class="legend" transform="translate({_PLOT_LEFT} {top - 9})">']
    left = 0.0
    for swatch, text in items:
        out.append(
            f'<g transform="translate({_num(left)} 0)">{swatch}'
            f'<text x="24" y="9">{esc(text)}</text></g>'
        )
        left += 24 + len(text) * _CHAR_WIDTH + 18
    out.append("</g>")
    return out
