"""Progress events: the lifecycle reports, the CLI renders (rich live view or a plain log).

An event says *what kind* of thing happened (``kind``), so the view can tell a phase change
(shown in its own column) from what is worth reading (a permission denial, the revert, impact
seen, a repair by the operator, the verdict), and carries a monotonic stamp so that a view can
count a hold or a recovery timeout down from the moment it began, whatever the wall clock does.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from operator_chaos.api.v1alpha1 import Phase

PHASE = "phase"
"""The run entered ``phase`` (the view's phase column; not news by itself)."""
HOLD = "hold"
"""A condition fault is held for ``countdown_s`` seconds from now."""
RECOVERY = "recovery"
"""The operator has ``countdown_s`` seconds (its recovery timeout) from now."""
VERDICT = "verdict"
"""The run's verdict (``verdict`` holds its name)."""
REVERT = "revert"
"""A change the tool undid (or could not undo: level ``error``)."""
INTERRUPTED = "interrupted"
"""Ctrl-C / SIGTERM ended the run; ``reverted`` lists what the tool undid on the way out."""
COOLDOWN = "cooldown"
"""A suite pauses ``countdown_s`` seconds before this experiment (same target as the last)."""
COUNTDOWNS = {HOLD: "hold", RECOVERY: "recovery timeout", COOLDOWN: "cooldown"}


@dataclass(frozen=True, slots=True)
class Progress:
    """One thing worth telling the user, as it happens."""

    experiment: str
    message: str
    phase: Phase | None = None
    level: str = "info"  # info | warning | error
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    kind: str = ""
    """What happened: :data:`PHASE`, :data:`HOLD`, ..., or the lifecycle's event action."""
    countdown_s: float | None = None
    """For :data:`HOLD` / :data:`RECOVERY`: how long the wait that starts now lasts."""
    verdict: str | None = None
    reverted: tuple[str, ...] = ()
    monotonic: float = field(default_factory=time.monotonic)


ProgressSink = Callable[[Progress], None]


def discard(_: Progress) -> None:
    """A sink that ignores everything (library use, tests)."""
