"""Go duration strings: parsed the way Go parses them and printed back the way Go prints them."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from operator_chaos.api.v1alpha1 import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("250ms", timedelta(milliseconds=250)),
        ("1.5h", timedelta(minutes=90)),
        ("2m3.5s", timedelta(minutes=2, seconds=3.5)),
        ("10us", timedelta(microseconds=10)),
        ("0", timedelta(0)),
        ("+5s", timedelta(seconds=5)),
        (" 300s ", timedelta(minutes=5)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "5 minutes", "1d", "-5s", "s", "1h30", "x" * 100])
def test_parse_refuses_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(milliseconds=250), "250ms"),
        (timedelta(seconds=30), "30s"),
        (timedelta(minutes=5), "5m0s"),
        (timedelta(hours=1, minutes=30), "1h30m0s"),
        (timedelta(seconds=90.5), "1m30.5s"),
    ],
)
def test_format_like_go(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@given(st.integers(min_value=0, max_value=10 * 24 * 3600 * 1000))
def test_format_parse_round_trip(milliseconds: int) -> None:
    value = timedelta(milliseconds=milliseconds)
    assert parse_duration(format_duration(value)) == value
