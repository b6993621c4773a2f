"""Progress on the terminal: a live phase table on a TTY, a plain timestamped log otherwise."""

import sys
import time
from types import TracebackType

from operator_chaos.orchestrator.events import Progress

_PHASE_STYLE = {
    "Injecting": "bold red",
    "Holding": "red",
    "Reverting": "yellow",
    "Observing": "cyan",
    "Complete": "green",
    "Aborted": "bold red",
}


class PlainLog:
    """One line per event on stderr: what CI logs want."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, event: Progress) -> None:
        elapsed = time.monotonic() - self.started
        level = "" if event.level == "info" else f"{event.level.upper()}: "
        print(
            f"[{elapsed:7.1f}s] {event.experiment}: {level}{event.message}",
            file=sys.stderr,
            flush=True,
        )

    def __enter__(self) -> "PlainLog":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class LiveView:
    """A rich live table: one row per experiment with its phase and latest message."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(stderr=True)
        self.rows: dict[str, tuple[str, str]] = {}
        self.started = time.monotonic()
        self.live = Live(console=self.console, refresh_per_second=8, transient=False)

    def _table(self) -> object:
        from rich.table import Table

        table = Table(title=f"operator-chaos ({time.monotonic() - self.started:.0f}s)", expand=True)
        table.add_column("Experiment", no_wrap=True)
        table.add_column("Phase", no_wrap=True)
        table.add_column("Latest")
        for name, (phase, message) in self.rows.items():
            style = _PHASE_STYLE.get(phase, "")
            table.add_row(name, f"[{style}]{phase}[/]" if style else phase, message)
        return table

    def __call__(self, event: Progress) -> None:
        phase, _ = self.rows.get(event.experiment, ("Pending", ""))
        if event.phase is not None:
            phase = event.phase.value
        self.rows[event.experiment] = (phase, event.message)
        if event.level != "info":
            colour = "red" if event.level == "error" else "yellow"
            self.live.console.print(f"[{colour}]{event.experiment}: {event.message}[/]")
        self.live.update(self._table())  # type: ignore[arg-type]

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


def progress_view() -> PlainLog | LiveView:
    """The right view for where stderr goes."""
    return LiveView() if sys.stderr.isatty() else PlainLog()
