"""The one place that writes progress to the terminal (stderr, so stdout stays parseable)."""

import sys
import time
from datetime import UTC, datetime

_started = time.monotonic()


def stamp(at: datetime, elapsed: float) -> str:
    """``[14:03:07 +  12.3s]``: local wall-clock time (comparable across the processes of one
    demo, which each start their own elapsed clock) and seconds since this process began."""
    return f"[{at.astimezone().strftime('%H:%M:%S')} {elapsed:+7.1f}s]"


def progress(message: str) -> None:
    """Print one progress line to stderr, prefixed with the time when not a TTY."""
    if sys.stderr.isatty():
        print(f"» {message}", file=sys.stderr, flush=True)
    else:
        line = f"{stamp(datetime.now(UTC), time.monotonic() - _started)} {message}"
        print(line, file=sys.stderr, flush=True)
