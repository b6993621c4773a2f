"""Progress events: the lifecycle reports, the CLI renders (rich live view or a plain log)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from operator_chaos.api.v1alpha1 import Phase


@dataclass(frozen=True, slots=True)
class Progress:
    """One thing worth telling the user, as it happens."""

    experiment: str
    message: str
    phase: Phase | None = None
    level: str = "info"  # info | warning | error
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


ProgressSink = Callable[[Progress], None]


def discard(_: Progress) -> None:
    """A sink that ignores everything (library use, tests)."""
