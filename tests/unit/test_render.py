"""The progress views, fed a scripted event stream against a fake clock (no terminal,
no cluster)."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from operator_chaos.api.v1alpha1 import Phase
from operator_chaos.cli import console, render
from operator_chaos.evaluate.verdict import NO_IMPACT
from operator_chaos.orchestrator import events
from operator_chaos.orchestrator.events import Progress

EXP = "training-operator-rbac-revoke"
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def event(
    clock: FakeClock, message: str, phase: Phase | None = None, experiment: str = EXP, **kw: object
) -> Progress:
    """An event stamped with the fake clock (and a wall clock that moves with it)."""
    at = T0 + timedelta(seconds=clock.now - 100.0)
    return Progress(experiment, message, phase, at=at, monotonic=clock.now, **kw)  # type: ignore[arg-type]


def phase(clock: FakeClock, value: Phase, experiment: str = EXP) -> Progress:
    return event(clock, f"phase {value.value}", value, experiment, kind=events.PHASE)


def run_to_holding(board: render.Board, clock: FakeClock) -> None:
    board.feed(phase(clock, Phase.PENDING))
    board.feed(event(clock, "condition fault (RBACRevoke is a condition fault)", kind="model"))
    board.feed(phase(clock, Phase.STEADY_STATE_PRE))
    clock.now += 1
    board.feed(phase(clock, Phase.INJECTING))
    board.feed(event(clock, "emptied subjects of ClusterRoleBinding x", kind="inject"))
    board.feed(phase(clock, Phase.HOLDING))
    board.feed(event(clock, "holding the fault for 8s", kind=events.HOLD, countdown_s=8.0))


def test_title_clock_ticks_between_events() -> None:
    clock = FakeClock()
    board = render.Board(clock)
    run_to_holding(board, clock)
    assert board.title() == "operator-chaos · 1s"
    clock.now += 7  # no event during the hold: the title still moves
    assert board.title() == "operator-chaos · 8s"
    clock.now += 120
    assert board.title() == "operator-chaos · 2m08s"


def test_hold_and_recovery_are_counted_down() -> None:
    clock = FakeClock()
    board = render.Board(clock)
    run_to_holding(board, clock)
    row = board.rows[EXP]
    assert board.clock_cell(row) == "hold 8s left"
    clock.now += 3.2
    assert board.clock_cell(row) == "hold 5s left"
    clock.now += 10  # overdue (the lift is late): never negative
    assert board.clock_cell(row) == "hold 0s left"

    board.feed(phase(clock, Phase.REVERTING))
    clock.now += 2
    assert board.clock_cell(row) == "2s"  # time in the phase once the hold is over
    board.feed(phase(clock, Phase.OBSERVING))
    board.feed(
        event(clock, "waiting up to 120s for the operator", kind=events.RECOVERY, countdown_s=120)
    )
    clock.now += 30
    assert board.clock_cell(row) == "recovery timeout 1m30s left"


def test_latest_is_the_last_meaningful_event_not_the_phase() -> None:
    clock = FakeClock()
    board = render.Board(clock)
    run_to_holding(board, clock)
    row = board.rows[EXP]
    assert row.phase == "Holding"
    # The countdown announcement goes to the clock column; "Latest" keeps the injection.
    assert row.latest == "emptied subjects of ClusterRoleBinding x"

    board.feed(event(clock, "impact seen: check Deployment available (False)", kind="impact"))
    board.feed(phase(clock, Phase.REVERTING))
    assert row.latest == "impact seen: check Deployment available (False)"
    denial = "forbidden: cannot patch clusterrolebindings"
    board.feed(event(clock, denial, kind="error", level="error"))
    board.feed(phase(clock, Phase.ABORTED))
    assert (row.latest, row.latest_level, row.phase) == (denial, "error", "Aborted")
    assert all("phase" not in cells[4] for cells in board.table())


def test_verdict_is_shown_when_done_and_the_clock_stops() -> None:
    clock = FakeClock()
    board = render.Board(clock)
    run_to_holding(board, clock)
    board.feed(phase(clock, Phase.EVALUATING))
    board.feed(
        event(
            clock,
            "Resilient: recovered in 913 ms after the lift",
            kind=events.VERDICT,
            verdict="Resilient",
        )
    )
    board.feed(phase(clock, Phase.COMPLETE))
    clock.now += 50
    ((name, phase_cell, clock_cell, verdict, latest),) = board.table()
    assert (name, phase_cell, clock_cell, verdict) == (EXP, "Complete", "", "Resilient")
    assert latest.startswith("Resilient: recovered in 913 ms")
    assert board.closing_line() is None  # not interrupted: nothing to say at the end


def test_a_suite_cooldown_is_counted_down_until_the_next_run_starts() -> None:
    clock = FakeClock()
    board = render.Board(clock)
    cooldown = event(
        clock, "cooldown 10s before the next run", kind=events.COOLDOWN, countdown_s=10.0
    )
    board.feed(cooldown)
    row = board.rows[EXP]
    clock.now += 4
    assert board.clock_cell(row) == "cooldown 6s left"
    board.feed(phase(clock, Phase.PENDING))  # the run begins: the countdown is over
    assert not board.clock_cell(row).startswith("cooldown")


def test_a_run_with_no_impact_is_marked_as_in_the_verdict_table() -> None:
    clock = FakeClock()
    board = render.Board(clock)
    run_to_holding(board, clock)
    message = f"Resilient: recovered in 352 ms after the lift ({NO_IMPACT})"
    board.feed(event(clock, message, kind=events.VERDICT, verdict="Resilient"))
    ((_, _, _, verdict, _),) = board.table()
    assert verdict == "Resilient*"


def test_closing_line_after_ctrl_c_lists_what_was_reverted() -> None:
    clock = FakeClock()
    board = render.Board(clock)
    run_to_holding(board, clock)
    board.feed(phase(clock, Phase.PENDING, experiment="other"))  # still planning: nothing made
    reverted = ("restored subjects [ServiceAccount:ns/sa] of ClusterRoleBinding x",)
    board.feed(event(clock, "restored subjects ...", kind=events.REVERT))
    board.feed(phase(clock, Phase.ABORTED))
    board.feed(
        event(clock, "interrupted", Phase.ABORTED, kind=events.INTERRUPTED, reverted=reverted)
    )
    board.feed(phase(clock, Phase.ABORTED, experiment="other"))
    board.feed(
        event(clock, "interrupted", Phase.ABORTED, "other", kind=events.INTERRUPTED, reverted=())
    )
    assert board.closing_line() == f"interrupted: reverted {EXP}: {reverted[0]}"

    alone = render.Board(clock)
    alone.feed(event(clock, "interrupted", Phase.ABORTED, kind=events.INTERRUPTED))
    assert alone.closing_line() == "interrupted: no fault had been injected; nothing to revert"


def test_plain_log_clock_runs_from_the_suite_start_with_wall_clock() -> None:
    clock = FakeClock()
    lines: list[str] = []
    log = render.PlainLog(clock, lines.append)
    clock.now += 2
    log(phase(clock, Phase.PENDING, experiment="first"))
    clock.now += 40  # the second experiment of the suite starts much later
    log(phase(clock, Phase.PENDING, experiment="second"))
    log(event(clock, "cannot list pods", experiment="second", level="warning"))
    first_wall = (T0 + timedelta(seconds=2)).astimezone().strftime("%H:%M:%S")
    second_wall = (T0 + timedelta(seconds=42)).astimezone().strftime("%H:%M:%S")
    assert lines == [
        f"[{first_wall}    +2.0s] first: phase Pending",
        f"[{second_wall}   +42.0s] second: phase Pending",
        f"[{second_wall}   +42.0s] second: WARNING: cannot list pods",
    ]


def test_console_progress_lines_carry_the_wall_clock(capsys: pytest.CaptureFixture[str]) -> None:
    console.progress("starting the local sandbox")
    line = capsys.readouterr().err
    wall = datetime.now(UTC).astimezone().strftime("%H:%M")
    assert line.startswith(f"[{wall}"), line
    assert line.rstrip().endswith("s] starting the local sandbox"), line


def _render(view: render.LiveView) -> str:
    assert isinstance(view.console, Console)
    view.console.print(view.renderable())
    out = view.console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    view.console.file = io.StringIO()
    return out


def test_live_view_redraws_the_clock_and_keeps_brackets_literal() -> None:
    clock = FakeClock()
    term = Console(file=io.StringIO(), force_terminal=True, width=160, color_system=None)
    view = render.LiveView(clock, term)
    for e in [
        phase(clock, Phase.HOLDING),
        event(clock, "holding the fault for 8s", kind=events.HOLD, countdown_s=8.0),
        event(clock, "restored subjects [ServiceAccount:ns/sa]", kind=events.REVERT),
    ]:
        view.board.feed(e)
    first = _render(view)
    assert "operator-chaos · 0s" in first
    assert "hold 8s left" in first
    assert "restored subjects [ServiceAccount:ns/sa]" in first  # not eaten as rich markup
    clock.now += 5
    second = _render(view)
    assert "operator-chaos · 5s" in second
    assert "hold 3s left" in second
