"""A plain-text verdict table for terminals and CI logs.

No colour and no ``rich``: the output must read the same in a log file as on a terminal, and
the CLI can colour the verdict column itself. Column widths count East Asian wide characters
as two cells so the columns stay aligned with any experiment name.
"""

import unicodedata
from collections.abc import Sequence

from operator_chaos.api.v1alpha1.result import SuiteResult
from operator_chaos.report._common import (
    NONE,
    format_ms,
    injection_type,
    outcome,
    recovery_ms,
    summary_line,
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


def _line(cells: Sequence[str], sizes: Sequence[int]) -> str:
    padded = [
        _pad(cell, size, index in _RIGHT_ALIGNED)
        for index, (cell, size) in enumerate(zip(cells, sizes, strict=True))
    ]
    return _GAP.join(padded).rstrip()


def verdict_table(suite: SuiteResult) -> str:
    """Header, rule, one row per run, a blank line, the summary; just the summary if empty."""
    rows = [
        (
            _cell(result.experiment),
            injection_type(result),
            outcome(result),
            str(ms) if (ms := recovery_ms(result)) is not None else NONE,
            format_ms(result.duration_ms),
        )
        for result in suite.results
    ]
    summary = summary_line(suite) + "\n"
    if not rows:
        return summary
    sizes = [max(width(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = [_line(HEADER, sizes), _line(["-" * size for size in sizes], sizes)]
    lines.extend(_line(row, sizes) for row in rows)
    return "\n".join(lines) + "\n\n" + summary
