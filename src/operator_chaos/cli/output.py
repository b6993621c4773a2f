"""Writing a file the user named with ``-o``: one error line and exit 3, never a traceback.

An existing special file is refused before it is opened (writing to a FIFO blocks until a
reader comes; a device or ``/proc`` entry is not where a page or an experiment belongs), and
every ``OSError`` of the write becomes an :class:`OutputError` naming the path and the fix.
"""

import os
import stat
from pathlib import Path

from operator_chaos.errors import OperatorChaosError
from operator_chaos.exitcodes import ExitStatus


class OutputError(OperatorChaosError):
    """The file ``-o`` points at cannot be written."""

    exit_status = ExitStatus.INVALID


def check_directory(path: Path) -> None:
    """Refuse an output *directory* that exists as something else."""
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: is not a directory: pass a directory to -o/--output")


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 with '\\n' line ends, creating parent directories."""
    try:
        mode: int | None = os.stat(path).st_mode
    except OSError:
        mode = None  # absent (created below) or unreachable (the write says why)
    if mode is not None and not stat.S_ISREG(mode):
        what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise OutputError(f"{path}: is {what}: pass a file path to -o/--output")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(
            f"{path}: cannot write: {reason}: pass a writable path to -o/--output"
        ) from None
