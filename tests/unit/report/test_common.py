"""Shared formatting: durations, timestamps, phase spans and outcome labels."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from operator_chaos.api.v1alpha1 import Phase, Verdict
from operator_chaos.report._common import (
    clean,
    elapsed_ms,
    format_ms,
    format_time,
    outcome,
    phase_spans,
)
from report.factory import at, make_result, phases


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (None, "—"),
        (0, "0 ms"),
        (999, "999 ms"),
        (1_000, "1.0 s"),
        (59_999, "59.9 s"),
        (60_000, "1 m 00 s"),
        (125_000, "2 m 05 s"),
        (3_720_000, "1 h 02 m"),
    ],
)
def test_format_ms(ms: int | None, shown: str) -> None:
    assert format_ms(ms) == shown


def test_format_time_is_utc_with_milliseconds() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert format_time(datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=plus_two)) == (
        "2024-05-01T12:00:00.123Z"
    )
    assert format_time(datetime(2024, 5, 1, 12, 0)) == "2024-05-01T12:00:00.000Z"
    assert format_time(None) == "—"


def test_elapsed_ms_mixes_naive_and_aware_and_never_goes_negative() -> None:
    naive = datetime(2024, 5, 1, 12, 0, 1)
    assert elapsed_ms(datetime(2024, 5, 1, 12, 0, tzinfo=UTC), naive) == 1000
    assert elapsed_ms(naive, datetime(2024, 5, 1, 12, 0)) == 0
    assert elapsed_ms(None, naive) is None


def test_phase_spans_close_open_phases() -> None:
    records = phases((Phase.INJECTING, 0, None), (Phase.HOLDING, 3, None))
    spans = phase_spans(make_result(phases=records, ended_at=at(10)))
    assert [(s.phase, s.duration_ms, s.open) for s in spans] == [
        (Phase.INJECTING, 3000, True),
        (Phase.HOLDING, 7000, True),
    ]
    unfinished = phase_spans(make_result(phases=records[1:], ended_at=None))
    assert unfinished[0].end is None
    assert unfinished[0].duration_ms is None


def test_outcome_labels() -> None:
    assert outcome(make_result()) == "Resilient"
    assert outcome(make_result(verdict=Verdict.FAILED, dry_run=True)) == "Dry run"
    assert outcome(make_result(verdict=None)) == "No verdict"


def test_clean_replaces_only_invalid_characters() -> None:
    assert clean("ok\t\n\r ü 🚀") == "ok\t\n\r ü 🚀"
    assert clean("a\x00b\x1fc\ud800") == "a\\u0000b\\u001fc\\ud800"
