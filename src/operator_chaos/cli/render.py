"""Progress on the terminal: a live table on a TTY, a plain timestamped log otherwise.

What the table shows is kept apart from how it is drawn: :class:`Board` turns the event
stream into rows (phase, a ticking clock or the countdown of a hold / recovery timeout, the
latest event worth reading, the verdict) against an injectable clock, so it is tested without
a terminal; :class:`LiveView` only draws a board with rich, and :class:`PlainLog` writes one
line per event for CI logs. Both say, after a Ctrl-C, what was reverted (:meth:`closing_line`).
"""

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

from operator_chaos.cli import console
from operator_chaos.evaluate.verdict import NO_IMPACT
from operator_chaos.orchestrator import events
from operator_chaos.orchestrator.events import Progress

if TYPE_CHECKING:
    from rich.console import RenderableType

Clock = Callable[[], float]

_PHASE_STYLE = {
    "Injecting": "bold red",
    "Holding": "red",
    "Reverting": "yellow",
    "Observing": "cyan",
    "Complete": "green",
    "Aborted": "bold red",
}
_VERDICT_STYLE = {
    "Resilient": "bold green",
    "Degraded": "bold yellow",
    "Failed": "bold red",
    "Inconclusive": "bold magenta",
}
_DONE = frozenset({"Complete", "Aborted"})


def clock_text(seconds: float) -> str:
    """``7s``, ``2m05s``, ``1h02m``: whole seconds, never negative."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


@dataclass
class Row:
    """One experiment as the board knows it."""

    phase: str = "Pending"
    phase_since: float = 0.0
    countdown: tuple[str, float] | None = None
    """(what is counted down, monotonic deadline), for the phase it was announced in."""
    countdown_phase: str = ""
    latest: str = ""
    latest_level: str = "info"
    verdict: str | None = None
    interrupted: bool = False
    reverted: tuple[str, ...] = ()
    ended: float | None = None


@dataclass
class Board:
    """The live view's state, fed with events, read at any moment of ``clock``."""

    clock: Clock = time.monotonic
    started: float = field(default=-1.0)
    rows: dict[str, Row] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    def feed(self, event: Progress) -> None:
        row = self.rows.setdefault(event.experiment, Row(phase_since=event.monotonic))
        if event.phase is not None and event.phase.value != row.phase:
            row.phase = event.phase.value
            row.phase_since = event.monotonic
        if row.phase in _DONE and row.ended is None:
            row.ended = event.monotonic
        if event.kind == events.PHASE:
            return  # the phase column says it; "Latest" keeps the last real news
        label = events.COUNTDOWNS.get(event.kind)
        if event.kind == events.COOLDOWN:  # before the run starts: a phase of its own
            row.phase, row.phase_since = "Cooldown", event.monotonic
        if label is not None and event.countdown_s is not None:
            row.countdown = (label, event.monotonic + event.countdown_s)
            row.countdown_phase = row.phase
            return
        if event.kind == events.VERDICT and event.verdict:
            # The same "*" as the final verdict table: a run nothing watched ever saw broken.
            row.verdict = event.verdict + ("*" if NO_IMPACT in event.message else "")
        if event.kind == events.INTERRUPTED:
            row.interrupted = True
            row.reverted = event.reverted
        row.latest = event.message
        row.latest_level = event.level

    def title(self) -> str:
        return f"operator-chaos · {clock_text(self.clock() - self.started)}"

    def clock_cell(self, row: Row) -> str:
        """The countdown of the current hold / recovery timeout, else time in the phase."""
        now = self.clock()
        if row.ended is not None:
            return ""
        if row.countdown is not None and row.countdown_phase == row.phase:
            label, deadline = row.countdown
            return f"{label} {clock_text(deadline - now + 0.999)} left"
        return clock_text(now - row.phase_since)

    def table(self) -> list[tuple[str, str, str, str, str]]:
        """(experiment, phase, clock, verdict, latest) per experiment, in order of first news."""
        return [
            (name, row.phase, self.clock_cell(row), row.verdict or "", row.latest)
            for name, row in self.rows.items()
        ]

    def closing_line(self) -> str | None:
        """After a Ctrl-C: one line naming everything the tool reverted on its way out."""
        stopped = [(name, row) for name, row in self.rows.items() if row.interrupted]
        if not stopped:
            return None
        undone = [f"{name}: {item}" for name, row in stopped for item in row.reverted]
        if not undone:
            return "interrupted: no fault had been injected; nothing to revert"
        return "interrupted: reverted " + "; ".join(undone)


class PlainLog:
    """One line per event on stderr: what CI logs want. Each line carries the wall-clock time
    and the seconds since this view (the run or the whole suite) started, so the clock never
    restarts at 0 between experiments or between the processes of one demo."""

    def __init__(self, clock: Clock = time.monotonic, write: Callable[[str], None] | None = None):
        self.board = Board(clock)
        self._write = write or _stderr_line

    def __call__(self, event: Progress) -> None:
        self.board.feed(event)
        level = "" if event.level == "info" else f"{event.level.upper()}: "
        stamp = console.stamp(event.at, event.monotonic - self.board.started)
        self._write(f"{stamp} {event.experiment}: {level}{event.message}")

    def closing_line(self) -> str | None:
        return self.board.closing_line()

    def __enter__(self) -> "PlainLog":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class LiveView:
    """A rich live table, redrawn four times a second so the clocks tick between events."""

    def __init__(self, clock: Clock = time.monotonic, console_: object | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.board = Board(clock)
        self.console = console_ if isinstance(console_, Console) else Console(stderr=True)
        self.live = Live(
            console=self.console,
            get_renderable=self.renderable,
            refresh_per_second=4,
            transient=False,
        )

    def renderable(self) -> "RenderableType":
        """The table as it is now (rich calls this on every refresh)."""
        from rich.table import Table
        from rich.text import Text

        table = Table(title=self.board.title(), expand=True)
        table.add_column("Experiment", no_wrap=True)
        table.add_column("Phase", no_wrap=True)
        table.add_column("Clock", no_wrap=True)
        table.add_column("Verdict", no_wrap=True)
        table.add_column("Latest")
        for name, phase, clock, verdict, latest in self.board.table():
            level = self.board.rows[name].latest_level
            table.add_row(
                Text(name),
                Text(phase, style=_PHASE_STYLE.get(phase, "")),
                Text(clock),
                Text(verdict, style=_VERDICT_STYLE.get(verdict.rstrip("*"), "")),
                Text(latest, style={"warning": "yellow", "error": "red"}.get(level, "")),
            )
        return table

    def __call__(self, event: Progress) -> None:
        self.board.feed(event)
        if event.level != "info":
            from rich.text import Text

            colour = "red" if event.level == "error" else "yellow"
            self.live.console.print(Text(f"{event.experiment}: {event.message}", style=colour))
        self.live.refresh()

    def closing_line(self) -> str | None:
        return self.board.closing_line()

    def __enter__(self) -> "LiveView":
        self.live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.live.__exit__(exc_type, exc, tb)


def _stderr_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def progress_view() -> PlainLog | LiveView:
    """The right view for where stderr goes."""
    return LiveView() if sys.stderr.isatty() else PlainLog()
