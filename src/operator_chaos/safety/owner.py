"""Who is running an experiment, so that another process can tell whether it is still alive.

A run records its host name, pid and the pid's kernel start time. On the same host, ``clean``
knows at once that a SIGKILLed run is dead (the pid is gone or belongs to another process);
from another host it falls back to the run's lease expiring.
"""

import os
import socket
from pathlib import Path

from pydantic import BaseModel


class Owner(BaseModel):
    """The process that owns a run."""

    host: str
    pid: int
    start_time: int

    @classmethod
    def current(cls) -> "Owner":
        """This process."""
        pid = os.getpid()
        return cls(host=socket.gethostname(), pid=pid, start_time=_start_time(pid) or 0)

    def alive(self) -> bool | None:
        """True/False on this host; None when the owner runs on another host, or when its
        start time could not be read (no /proc): then only its lease can tell."""
        if self.host != socket.gethostname() or not self.start_time:
            return None
        return _start_time(self.pid) == self.start_time


def _start_time(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])
