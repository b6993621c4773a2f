"""A plain-text verdict table for terminals and CI logs.

No colour and no ``rich``: the output must read the same in a log file as on a terminal, and
the CLI can colour the verdict column itself. Column widths count East Asian wide characters
as two cells so the columns stay aligned with any experiment name.
"""

import unicodedata
from collections.abc import Sequence

from operator_chaos.api.v1alpha1.result import ExperimentResult, SuiteResult
from operator_chaos.evaluate import verdict
from operator_chaos.report._common import (
    NONE,
    format_ms,
    injection_type,
    outcome,
    recovery_ms,
    summary_line,
)
from operator_chaos.report.timeline import (
    has_story,
    impact_details,
    impact_line,
    model_line,
    restoration_sentences,
    table_header,
    table_rows,
    view,
)

HEADER = ("Experiment", "Type", "Verdict", "Recovery ms", "Duration")
_RIGHT_ALIGNED = frozenset({3, 4})
_GAP = "  "


def width(text: str) -> int:
    """Terminal cells needed to show ``text`` (wide characters 2, combining marks 0)."""
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
        for char in text
    )


def _cell(text: str) -> str:
    """One line per cell: a newline or tab in a name would break the table."""
    return " ".join(text.split()) or NONE


def _pad(text: str, size: int, right: bool) -> str:
    fill = " " * (size - width(text))
    return fill + text if right else text + fill


def _line(
    cells: Sequence[str], sizes: Sequence[int], right: frozenset[int] = _RIGHT_ALIGNED
) -> str:
    padded = [
        _pad(cell, size, index in right)
        for index, (cell, size) in enumerate(zip(cells, sizes, strict=True))
    ]
    return _GAP.join(padded).rstrip()


def verdict_table(suite: SuiteResult) -> str:
    """Header, rule, one row per run, a blank line, the summary; just the summary if empty."""
    rows = [
        (
            _cell(result.experiment),
            injection_type(result),
            outcome(result) + (NO_IMPACT_MARK if _no_impact(result) else ""),
            str(ms) if (ms := recovery_ms(result)) is not None else NONE,
            format_ms(result.duration_ms),
        )
        for result in suite.results
    ]
    summary = summary_line(suite) + "\n"
    if not rows:
        return summary
    if any(_no_impact(result) for result in suite.results):
        summary += f"{NO_IMPACT_MARK} {NO_IMPACT_NOTE}\n"
    return "\n".join(_columns(HEADER, rows, _RIGHT_ALIGNED)) + "\n\n" + summary


NO_IMPACT_MARK = "*"
NO_IMPACT_NOTE = (
    f"{verdict.NO_IMPACT}: nothing they or the knowledge model watch ever broke, so the run"
    " proves little (--require-impact makes such runs Inconclusive)"
)


def _no_impact(result: ExperimentResult) -> bool:
    return result.impact is not None and not result.impact.observed


_INDENT = "  "


def _columns(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: frozenset[int]
) -> list[str]:
    """An aligned table: header, rule, rows."""
    sizes = [max(width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [_line(header, sizes, right), _line(["-" * size for size in sizes], sizes, right)]
    lines.extend(_line(row, sizes, right) for row in rows)
    return lines


def story(result: ExperimentResult) -> str:
    """One run's timeline for a terminal: impact, recovery model, restorations and a table of
    every state change since the injection; empty when the run recorded none of these."""
    if not has_story(result):
        return ""
    lines = [f"{_cell(result.experiment)}: {outcome(result)}"]
    impact = impact_line(result)
    if impact is not None:
        lines.append(f"{_INDENT}{impact}")
        lines.extend(f"{_INDENT * 2}- {_cell(line)}" for line in impact_details(result))
    model = model_line(result)
    if model is not None:
        lines.append(f"{_INDENT}{model}")
    lines.extend(f"{_INDENT}{_cell(sentence)}" for sentence in restoration_sentences(result))
    prepared = view(result)
    if prepared is not None and prepared.rows:
        rows = [tuple(_cell(cell) if cell else "" for cell in row) for row in table_rows(prepared)]
        lines.extend(
            _INDENT + line for line in _columns(table_header(prepared), rows, frozenset({0}))
        )
    return "\n".join(lines) + "\n"


def stories(suite: SuiteResult) -> str:
    """:func:`story` of every run that has one, separated by blank lines."""
    return "\n".join(text for result in suite.results if (text := story(result)))
