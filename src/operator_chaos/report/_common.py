"""Formatting shared by every renderer, so all formats agree on labels, times and counts."""

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from operator_chaos.api.v1alpha1.result import ExperimentResult, SuiteResult
from operator_chaos.api.v1alpha1.status import ExperimentEvent, Phase, Verdict

NONE = "—"
"""Shown where a value is absent (renders as an em dash)."""

DRY_RUN = "Dry run"
REFUSED = "Refused"
SKIPPED = "Skipped"
NO_VERDICT = "No verdict"
REFUSED_EVENT = "refused"
"""Event action of a run the tool refused (safety gate, lock, type not runnable yet)."""
SKIPPED_EVENT = "skipped"
"""Event action of an experiment that was not run (e.g. above ``--max-tier``)."""
VERDICTS: frozenset[str] = frozenset(verdict.value for verdict in Verdict)
OUTCOME_ORDER: tuple[str, ...] = (
    *(verdict.value for verdict in Verdict),
    REFUSED,
    DRY_RUN,
    SKIPPED,
    NO_VERDICT,
)
"""Order of outcomes in summaries: best verdict first, then runs that have no verdict."""

# Characters XML 1.0 forbids even as references; HTML treats them as parse errors. Lone
# surrogates are included because they cannot be encoded as UTF-8 when the report is written.
_INVALID_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class PhaseSpan(NamedTuple):
    """One phase with its effective end (a missing end is taken from the next phase)."""

    phase: Phase
    start: datetime
    end: datetime | None
    duration_ms: int | None
    open: bool
    """True when the phase never recorded its own end."""


def clean(text: str) -> str:
    """Replace characters that would make XML/HTML output invalid with a visible escape."""
    return _INVALID_CHARS.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


def outcome(result: ExperimentResult) -> str:
    """The one label a run is counted under: its verdict, or why it has none.

    A dry run changed nothing, so it is reported as a dry run even if a verdict was set; a
    refusal or a skip (marked by its event) says so, whether or not it was a dry run.
    """
    actions = {event.action for event in result.events}
    if REFUSED_EVENT in actions:
        return REFUSED
    if SKIPPED_EVENT in actions:
        return SKIPPED
    if result.dry_run:
        return DRY_RUN
    return result.verdict.value if result.verdict is not None else NO_VERDICT


def summary_line(suite: SuiteResult) -> str:
    """``"5 experiments: 4 Resilient, 1 Degraded"`` (counts in :data:`OUTCOME_ORDER`)."""
    total = len(suite.results)
    head = f"{total} experiment{'' if total == 1 else 's'}"
    if not total:
        return head
    counts = Counter(outcome(result) for result in suite.results)
    parts = [
        f"{counts[label]} {label if label in VERDICTS else label.lower()}"
        for label in OUTCOME_ORDER
        if counts[label]
    ]
    return f"{head}: {', '.join(parts)}"


def injection_type(result: ExperimentResult) -> str:
    """The fault type, or a dash when the run never got as far as planning an injection."""
    return result.injection.type.value if result.injection is not None else NONE


def danger(result: ExperimentResult) -> str:
    """The fault's danger level, or a dash."""
    return result.injection.danger.value if result.injection is not None else NONE


def recovery_ms(result: ExperimentResult) -> int | None:
    """Recovery time in milliseconds, when the observer measured one."""
    return result.recovery.recovery_time_ms if result.recovery is not None else None


def format_ms(ms: int | None) -> str:
    """Human duration (``850 ms``, ``12.3 s``, ``2 m 05 s``, ``1 h 02 m``); truncated, not rounded.

    Truncation keeps a value just under a unit boundary from displaying as the next unit.
    """
    if ms is None:
        return NONE
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        tenths = ms // 100
        return f"{tenths // 10}.{tenths % 10} s"
    seconds = ms // 1000
    if seconds < 3600:
        return f"{seconds // 60} m {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} m"


def _aware(moment: datetime) -> datetime:
    """Treat a naive timestamp as UTC so mixed inputs can still be compared."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def format_time(moment: datetime | None) -> str:
    """ISO 8601 in UTC with milliseconds (``2024-05-01T12:00:00.000Z``), or a dash."""
    if moment is None:
        return NONE
    utc = _aware(moment).astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def offset_ms(origin: datetime, moment: datetime) -> int:
    """Signed milliseconds from ``origin`` to ``moment`` (naive timestamps taken as UTC)."""
    return (_aware(moment) - _aware(origin)) // timedelta(milliseconds=1)


def elapsed_ms(start: datetime | None, end: datetime | None) -> int | None:
    """Milliseconds from ``start`` to ``end`` (never negative), or None if either is unknown."""
    if start is None or end is None:
        return None
    return max(0, offset_ms(start, end))


def phase_spans(result: ExperimentResult) -> list[PhaseSpan]:
    """Phases in recorded order, each with an end (its own, the next start, or the run's end)."""
    spans: list[PhaseSpan] = []
    records = result.phases
    for index, record in enumerate(records):
        end = record.ended_at
        is_open = end is None
        if end is None:
            end = records[index + 1].started_at if index + 1 < len(records) else result.ended_at
        spans.append(
            PhaseSpan(
                record.phase, record.started_at, end, elapsed_ms(record.started_at, end), is_open
            )
        )
    return spans


def details_text(details: dict[str, str]) -> str:
    """Event details as ``key=value`` pairs sorted by key, for a stable rendering."""
    return ", ".join(f"{key}={details[key]}" for key in sorted(details))


def event_line(event: ExperimentEvent) -> str:
    """One event as a single log line: ``time [Phase] action target: message (details)``."""
    line = f"{format_time(event.timestamp)} [{event.phase.value}] {event.action}"
    if event.target:
        line += f" {event.target}"
    if event.message:
        line += f": {event.message}"
    if event.details:
        line += f" ({details_text(event.details)})"
    return line


def yes_no(value: bool) -> str:
    """``yes``/``no`` for booleans shown to people."""
    return "yes" if value else "no"


Table = tuple[tuple[str, ...], Sequence[Sequence[str]]]
"""A header and its rows, rendered as Markdown or HTML by the reporters."""


def managed_table(result: ExperimentResult) -> Table:
    """The managed resources of a run."""
    rows = [(r.resource, yes_no(r.reconciled), r.detail) for r in result.managed_resources]
    return ("Resource", "Reconciled", "Detail"), rows


def events_table(result: ExperimentResult) -> Table:
    """The event log of a run."""
    rows = [
        (
            format_time(e.timestamp),
            e.phase.value,
            e.action,
            e.target,
            e.message,
            details_text(e.details),
        )
        for e in result.events
    ]
    return ("Time", "Phase", "Action", "Target", "Message", "Details"), rows


def phases_table(result: ExperimentResult) -> Table:
    """When each phase started and ended."""
    rows = [
        (
            span.phase.value,
            format_time(span.start),
            format_time(span.end) + (" (open)" if span.open and span.end else ""),
            format_ms(span.duration_ms),
        )
        for span in phase_spans(result)
    ]
    return ("Phase", "Started", "Ended", "Duration"), rows
