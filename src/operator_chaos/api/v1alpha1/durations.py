"""Go-style durations ("30s", "5m", "1h30m", "250ms"), as metav1.Duration writes them.

Experiments written for the Go implementation carry these strings; we parse them into
``timedelta`` and print them back in Go's canonical form so round trips stay familiar.
"""

import re
from datetime import timedelta
from functools import lru_cache
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_MAX_LEN = 64
MAX_DURATION = timedelta(days=365)
"""No duration the tool parses may exceed a year: beyond that ``timedelta`` overflows, and no
hold, timeout or cool-down is meant to be that long (fields have their own, lower limits)."""


@lru_cache(maxsize=1024)  # the same few texts ("30s", "2m") recur in every file of a directory
def parse_duration(text: str) -> timedelta:
    """Parse a Go duration string; raise ``ValueError`` with a hint when it is not one."""
    raw = text.strip()
    if not raw or len(raw) > _MAX_LEN:
        raise ValueError(
            f"invalid duration {text!r}: use a Go duration such as '30s', '5m', '1h30m'"
        )
    sign = 1.0
    body = raw
    if body[0] in "+-":
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return timedelta(0)
    pos = 0
    total = 0.0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None:
            raise ValueError(
                f"invalid duration {text!r}: use a Go duration such as '30s', '5m', '1h30m'"
                " (a bare number needs a unit)"
            )
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if sign < 0:
        raise ValueError(f"invalid duration {text!r}: must not be negative")
    if not total <= MAX_DURATION.total_seconds():  # also catches inf and nan
        raise ValueError(
            f"invalid duration {text!r}: must be at most {format_duration(MAX_DURATION)} (1 year)"
        )
    return timedelta(seconds=total)


def format_duration(value: timedelta) -> str:
    """Render like Go's ``time.Duration.String()``: "5m0s", "1h30m0s", "250ms", "0s"."""
    micros = round(value.total_seconds() * 1_000_000)
    if micros == 0:
        return "0s"
    if micros < 1_000_000:
        if micros % 1000 == 0:
            return f"{micros // 1000}ms"
        return f"{micros}µs"
    hours, rem = divmod(micros, 3_600_000_000)
    minutes, rem = divmod(rem, 60_000_000)
    seconds = rem / 1_000_000
    sec_text = f"{seconds:.6f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{sec_text}"
    if minutes:
        return f"{minutes}m{sec_text}"
    return sec_text


def _coerce(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    # Numbers are refused on purpose: "30" would be ambiguous (seconds? nanoseconds in Go).
    raise ValueError(
        f"invalid duration {value!r}: expected a quoted Go duration string such as '30s' or '5m'"
    )


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$|^0$",
            "description": "Go duration, e.g. 30s, 5m, 1h30m",
        }
    ),
]
"""A duration field that accepts Go duration strings and serializes back to one."""
