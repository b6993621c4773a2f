"""The one place that writes progress to the terminal (stderr, so stdout stays parseable)."""

import sys
import time

_started = time.monotonic()


def progress(message: str) -> None:
    """Print one progress line to stderr, prefixed with elapsed seconds when not a TTY."""
    if sys.stderr.isatty():
        print(f"» {message}", file=sys.stderr, flush=True)
    else:
        print(f"[{time.monotonic() - _started:6.1f}s] {message}", file=sys.stderr, flush=True)
