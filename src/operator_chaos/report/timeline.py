"""The run timeline prepared once for every renderer: segments, milestones, rows, sentences.

HTML draws it as a swimlane, Markdown and the terminal print it as a table; all three take
their facts and wording from here so the formats cannot disagree. Pure data, no markup.
Times in a :class:`TimelineView` are milliseconds since the timeline's origin (as stored);
times shown to people are relative to the injection, the moment readers reason from.
"""

from dataclasses import dataclass
from typing import Final

from operator_chaos.api.v1alpha1.injection import RecoveryModel
from operator_chaos.api.v1alpha1.result import (
    ExperimentResult,
    Restoration,
    Timeline,
    Transition,
)
from operator_chaos.evaluate import verdict
from operator_chaos.report._common import NONE, format_ms

NO_IMPACT: Final = verdict.NO_IMPACT[0].upper() + verdict.NO_IMPACT[1:]
"""Said whenever a fault changed nothing the checks watch (the verdict's own words)."""

STATES: Final[dict[str, tuple[str, str]]] = {
    "fault": ("not in effect", "in effect"),
    "damage": ("intact", "damaged"),
    "check": ("passing", "failing"),
    "managed": ("reconciled", "not reconciled"),
    "collateral": ("healthy", "broken"),
}
"""Per lane kind, the words for ``ok`` and not ``ok``."""

DEADLINE_SLACK: Final = 1.5
"""The axis stretches to show the deadline only when it is this close to the end of the run;
a far-away timeout would squash everything that happened into a sliver."""

MODEL_TEXT: Final[dict[str, str]] = {
    "repair": "repair (the operator must restore the damaged state)",
    "condition": "condition (the fault is held, then lifted; the operator must resume)",
}
MEASURED_TEXT: Final[dict[str, str]] = {
    "injection": "the injection",
    "lift": "the lift of the fault",
}


@dataclass(frozen=True)
class Segment:
    """A stretch of one lane in one state, from ``start_ms`` to ``end_ms``."""

    start_ms: int
    end_ms: int
    ok: bool
    state: str
    detail: str


@dataclass(frozen=True)
class LaneView:
    """One lane ready to draw: its label and its segments in time order."""

    name: str
    kind: str
    segments: tuple[Segment, ...]

    @property
    def label(self) -> str:
        """``kind: name``, the label shown beside the lane and in the tables."""
        return f"{self.kind}: {self.name}"


@dataclass(frozen=True)
class Milestone:
    """A moment of the run drawn as a marker (``key`` names the kind of marker)."""

    key: str
    at_ms: int
    label: str


@dataclass(frozen=True)
class Row:
    """One line of the timeline table."""

    at_ms: int
    time: str
    lane: str
    change: str
    detail: str


@dataclass(frozen=True)
class TimelineView:
    """Everything the renderers need to show one run's timeline."""

    zero_ms: int
    """The injection (or the origin when nothing was injected): time 0 for people."""
    zero_name: str
    """What time 0 is: ``injection``, or ``start`` when nothing was injected."""
    end_ms: int
    """The right end of the axis."""
    model: str | None
    fault_window: tuple[int, int] | None
    fault_open: bool
    """True when the fault window runs to the end: nothing lifted or repaired it."""
    stability: tuple[int, int] | None
    recovered_ms: int | None
    deadline_ms: int | None
    deadline_on_axis: bool
    milestones: tuple[Milestone, ...]
    lanes: tuple[LaneView, ...]
    rows: tuple[Row, ...]


def model(result: ExperimentResult) -> str | None:
    """The run's recovery model; for older results without one, inferred from the timeline."""
    if result.recovery_model is not None:
        return result.recovery_model.value
    timeline = result.timeline
    if timeline is None:
        return None
    if timeline.lifted_ms is not None:
        return RecoveryModel.CONDITION.value
    if timeline.repaired_ms is not None or timeline.restored_by_tool_ms is not None:
        return RecoveryModel.REPAIR.value
    return None


def since(ms: int, zero: int) -> str:
    """Signed time from ``zero``: ``-2.000 s``, ``0 ms``, ``+850 ms``, ``+12.345 s``."""
    delta = ms - zero
    sign = "-" if delta < 0 else "+" if delta > 0 else ""
    size = abs(delta)
    if size < 1000:
        return f"{sign}{size} ms"
    return f"{sign}{size // 1000}.{size % 1000:03d} s"


def exact_ms(ms: int) -> str:
    """``812 ms`` or ``12345 ms (12.3 s)``: exact for comparisons, readable when long."""
    return f"{ms} ms" if ms < 1000 else f"{ms} ms ({format_ms(ms)})"


def _fault_end(timeline: Timeline, kind: str | None) -> int | None:
    """When the fault stopped: its lift, or the first repair of the damage."""
    repairs = [m for m in (timeline.repaired_ms, timeline.restored_by_tool_ms) if m is not None]
    if kind == RecoveryModel.CONDITION.value:
        return timeline.lifted_ms
    if kind == RecoveryModel.REPAIR.value:
        return min(repairs, default=None)
    return timeline.lifted_ms if timeline.lifted_ms is not None else min(repairs, default=None)


def _observed_end(timeline: Timeline) -> int:
    """The last moment anything was seen (``endedMs``, or a later recorded moment)."""
    moments = [
        timeline.ended_ms,
        *(
            m
            for m in (
                timeline.injected_ms,
                timeline.lifted_ms,
                timeline.repaired_ms,
                timeline.recovered_ms,
                timeline.stable_until_ms,
                timeline.restored_by_tool_ms,
            )
            if m is not None
        ),
        *(t.at_ms for lane in timeline.lanes for t in lane.transitions),
    ]
    return max(1, *moments)


def _lane(name: str, kind: str, transitions: list[Transition], end: int) -> LaneView:
    """Segments from transitions: each lasts until the next one, the last until ``end``."""
    good, bad = STATES.get(kind, ("ok", "not ok"))
    ordered = sorted(transitions, key=lambda t: t.at_ms)
    segments = []
    for index, item in enumerate(ordered):
        stop = ordered[index + 1].at_ms if index + 1 < len(ordered) else max(end, item.at_ms)
        segments.append(Segment(item.at_ms, stop, item.ok, good if item.ok else bad, item.detail))
    return LaneView(name, kind, tuple(segments))


def _milestones(timeline: Timeline) -> list[Milestone]:
    candidates = [
        ("injected", timeline.injected_ms, "fault injected"),
        ("lifted", timeline.lifted_ms, "fault lifted"),
        ("repaired", timeline.repaired_ms, "operator repaired the damage"),
        ("restored", timeline.restored_by_tool_ms, "operator-chaos restored the damage"),
        ("recovered", timeline.recovered_ms, "recovered"),
        ("stable", timeline.stable_until_ms, "stability window ended"),
        ("deadline", timeline.deadline_ms, "recovery deadline"),
    ]
    return [Milestone(key, at, label) for key, at, label in candidates if at is not None]


def _deadline_detail(deadline: int, recovered: int | None, ended: int) -> str:
    if recovered is not None and recovered <= deadline:
        return "met: recovered before it"
    if deadline <= ended:
        return "missed: not recovered by then"
    return "not reached: the run ended before it"


def _rows(
    view_lanes: list[LaneView],
    milestones: list[Milestone],
    zero: int,
    recovered: int | None,
    ended: int,
) -> list[Row]:
    """Milestones and lane changes in time order (milestones first at equal times)."""
    keyed: list[tuple[int, int, int, Row]] = []
    for order, stone in enumerate(milestones):
        detail = ""
        if stone.key == "deadline":
            detail = _deadline_detail(stone.at_ms, recovered, ended)
        keyed.append(
            (
                stone.at_ms,
                0,
                order,
                Row(stone.at_ms, since(stone.at_ms, zero), "run", stone.label, detail),
            )
        )
    for order, lane in enumerate(view_lanes):
        previous: Segment | None = None
        for segment in lane.segments:
            if previous is None:
                change = f"{segment.state} (at start)"
            elif previous.ok == segment.ok:
                change = f"still {segment.state}"
            else:
                change = f"{previous.state} → {segment.state}"
            row = Row(
                segment.start_ms, since(segment.start_ms, zero), lane.label, change, segment.detail
            )
            keyed.append((segment.start_ms, 1, order, row))
            previous = segment
    return [row for *_, row in sorted(keyed, key=lambda item: item[:3])]


def view(result: ExperimentResult) -> TimelineView | None:
    """The timeline of ``result`` prepared for drawing, or None when the run recorded none."""
    timeline = result.timeline
    if timeline is None:
        return None
    kind = model(result)
    observed = _observed_end(timeline)
    deadline = timeline.deadline_ms
    on_axis = deadline is not None and deadline <= observed * DEADLINE_SLACK
    zero = timeline.injected_ms if timeline.injected_ms is not None else 0
    lanes = [_lane(lane.name, lane.kind, lane.transitions, observed) for lane in timeline.lanes]
    fault_window = None
    stop = _fault_end(timeline, kind)
    if timeline.injected_ms is not None:
        fault_window = (timeline.injected_ms, stop if stop is not None else observed)
    stability = None
    if timeline.recovered_ms is not None and timeline.stable_until_ms is not None:
        stability = (timeline.recovered_ms, timeline.stable_until_ms)
    milestones = _milestones(timeline)
    return TimelineView(
        zero_ms=zero,
        zero_name="injection" if timeline.injected_ms is not None else "start",
        end_ms=max(observed, deadline) if on_axis and deadline is not None else observed,
        model=kind,
        fault_window=fault_window,
        fault_open=fault_window is not None and stop is None,
        stability=stability,
        recovered_ms=timeline.recovered_ms,
        deadline_ms=deadline,
        deadline_on_axis=on_axis,
        milestones=tuple(milestones),
        lanes=tuple(lanes),
        rows=tuple(_rows(lanes, milestones, zero, timeline.recovered_ms, observed)),
    )


def axis_caption(timeline: TimelineView) -> str:
    """``time since injection`` (or ``since start`` for a run that injected nothing)."""
    return f"time since {timeline.zero_name}"


def table_header(timeline: TimelineView) -> tuple[str, str, str, str]:
    """The timeline table's header: the first column says what time 0 is."""
    return (f"Since {timeline.zero_name}", "Lane", "Change", "Detail")


def table_rows(timeline: TimelineView) -> list[tuple[str, str, str, str]]:
    """The timeline table's rows (header :func:`table_header`)."""
    return [(row.time, row.lane, row.change, row.detail) for row in timeline.rows]


def model_line(result: ExperimentResult) -> str | None:
    """``repair (...); recovery measured from the injection``, or None when unknown."""
    kind = model(result)
    measured = result.recovery.measured_from if result.recovery is not None else None
    if kind is None and measured is None:
        return None
    parts = []
    if kind is not None:
        parts.append(f"Recovery model: {MODEL_TEXT.get(kind, kind)}")
    if measured is not None:
        parts.append(f"recovery measured from {MEASURED_TEXT.get(measured, measured)}")
    return "; ".join(parts)


def impact_line(result: ExperimentResult) -> str | None:
    """One sentence about the fault's visible impact, or None when it was not assessed."""
    impact = result.impact
    if impact is None:
        return None
    if not impact.observed:
        return NO_IMPACT
    if impact.time_to_impact_ms is None:
        return "Impact observed"
    return f"Impact observed {exact_ms(impact.time_to_impact_ms)} after the injection"


def impact_details(result: ExperimentResult) -> list[str]:
    """What broke (one line each), as the observer recorded it."""
    return list(result.impact.broken) if result.impact is not None else []


def _timeout_text(result: ExperimentResult) -> str:
    """The recovery timeout for sentences (``60.0 s``), or ``in time`` when unknown."""
    if result.recovery is not None:
        return f"within {format_ms(result.recovery.timeout_ms)}"
    timeline = result.timeline
    if (
        timeline is not None
        and timeline.deadline_ms is not None
        and timeline.injected_ms is not None
    ):
        return f"within {format_ms(timeline.deadline_ms - timeline.injected_ms)}"
    return "in time"


def restoration_sentence(result: ExperimentResult, restoration: Restoration) -> str:
    """Who put one piece of damage back, as a sentence."""
    what = " ".join(part for part in (restoration.target, restoration.field) if part) or NONE
    after = f" after {exact_ms(restoration.at_ms)}" if restoration.at_ms is not None else ""
    if result.recovery_model is RecoveryModel.CONDITION:
        who = "operator-chaos" if restoration.restored_by == "operator-chaos" else "the operator"
        sentence = f"{what}: the condition was lifted by {who}{after}"
    elif restoration.restored_by == "operator":
        sentence = f"{what} restored by the operator{after}"
    elif restoration.restored_by == "operator-chaos":
        sentence = (
            f"The operator did not restore {what} {_timeout_text(result)};"
            f" operator-chaos restored it{after}"
        )
    else:
        sentence = (
            f"{what} was not restored: not by the operator {_timeout_text(result)},"
            " nor by operator-chaos"
        )
    return f"{sentence} ({restoration.detail})" if restoration.detail else sentence


def restoration_sentences(result: ExperimentResult) -> list[str]:
    """One sentence per restoration, in recorded order."""
    return [restoration_sentence(result, item) for item in result.restorations]


def has_story(result: ExperimentResult) -> bool:
    """True when the run has anything for a timeline section to show."""
    return bool(
        result.timeline is not None
        or result.impact is not None
        or result.restorations
        or result.recovery_model is not None
    )


def ticks(low: int, high: int, zero: int, count: int = 10) -> list[tuple[int, str]]:
    """Round axis ticks (1, 2, 5 x 10^n ms apart) between ``low`` and ``high``, at most about
    ``count`` of them, placed and labelled relative to ``zero``."""
    step = 1
    while max(1, high - low) / step > count:
        step = _next_step(step)
    first = zero - ((zero - low) // step) * step
    return [(value, tick_label(value - zero, step)) for value in range(first, high + 1, step)]


def _next_step(step: int) -> int:
    """The next of 1, 2, 5, 10, 20, 50, ... after ``step``."""
    scale = 1
    while scale * 10 <= step:
        scale *= 10
    lead = step // scale
    return (2 if lead == 1 else 5 if lead == 2 else 10) * scale


def tick_label(delta: int, step: int) -> str:
    """``0``, ``+500 ms``, ``-2 s``, ``+1.5 s``: as precise as the step needs."""
    if delta == 0:
        return "0"
    sign = "-" if delta < 0 else "+"
    size = abs(delta)
    if step < 1000 and size < 1000:
        return f"{sign}{size} ms"
    decimals = 0 if step % 1000 == 0 else 1 if step % 100 == 0 else 2 if step % 10 == 0 else 3
    whole, fraction = divmod(size, 1000)
    text = (
        f"{whole}" if decimals == 0 else f"{whole}.{fraction:03d}"[: len(str(whole)) + 1 + decimals]
    )
    return f"{sign}{text} s"
