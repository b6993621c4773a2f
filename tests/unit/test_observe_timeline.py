"""The observer's lanes (pure logic): transitions are recorded only when a state flips,
impact is what broke after the injection (not before, not the fault itself), and the
timeline is expressed in milliseconds since the origin."""

from typing import Any, cast

from operator_chaos.kube.port import KubeClient
from operator_chaos.observe.recovery import NS_PER_MS, Observer, _LaneState


def lane(kind: Any, states: list[tuple[int, bool, str]], name: str = "") -> _LaneState:
    it = iter(states)
    current: list[tuple[bool, str]] = []

    def evaluate() -> tuple[bool, str]:
        return current[-1]

    state = _LaneState(name or kind, kind, evaluate)
    for at, ok, detail in it:
        current.append((ok, detail))
        state.update(at)
    return state


def test_a_lane_records_only_flips() -> None:
    s = lane(
        "check", [(1, True, "a"), (2, True, "b"), (3, False, "c"), (4, False, "d"), (5, True, "e")]
    )
    assert s.transitions == [(1, True, "a"), (3, False, "c"), (5, True, "e")]
    assert s.ok
    assert s.since_ns == 5


def test_broke_after_reports_each_failure_with_its_end() -> None:
    s = lane("check", [(0, True, ""), (10, False, "x"), (20, True, ""), (30, False, "y")])
    assert s.broke_after(5) == [(10, 20, "x"), (30, None, "y")]
    assert s.broke_after(15) == [(30, None, "y")]


def observer_with(lanes: dict[str, _LaneState]) -> Observer:
    observer = Observer(cast(KubeClient, None), [])
    observer.lanes = lanes
    return observer


def test_impact_counts_checks_managed_and_damage_but_not_the_fault_itself() -> None:
    injected = 100 * NS_PER_MS
    observer = observer_with(
        {
            "fault": lane("fault", [(0, True, ""), (injected, False, "held")]),
            "check": lane("check", [(0, True, ""), (injected + 50 * NS_PER_MS, False, "down")]),
            "before": lane("managed", [(0, False, "missing")]),  # broken before the fault
        }
    )
    impact = observer.impact(injected)
    assert impact.observed
    assert impact.time_to_impact_ms == 50
    assert impact.broken == ["check check: broke at +50 ms, until the end (down)"]


def test_no_impact_when_only_the_fault_lane_moves() -> None:
    injected = 100 * NS_PER_MS
    observer = observer_with(
        {
            "fault": lane("fault", [(0, True, ""), (injected, False, "held")]),
            "check": lane("check", [(0, True, "fine")]),
        }
    )
    impact = observer.impact(injected)
    assert not impact.observed
    assert impact.time_to_impact_ms is None
    assert impact.broken == []


def test_timeline_in_ms_since_origin_with_markers() -> None:
    observer = observer_with({"check": lane("check", [(0, True, "")])})
    observer.origin_ns = 1_000 * NS_PER_MS
    observer.lanes["check"].transitions = [(1_250 * NS_PER_MS, True, "ok")]
    observer.mark("injected", 1_500 * NS_PER_MS)
    observer.mark("repaired", 1_800 * NS_PER_MS)
    timeline = observer.timeline({"fault window": [(1_500 * NS_PER_MS, False, "in")]})
    assert timeline.injected_ms == 500
    assert timeline.repaired_ms == 800
    assert timeline.lifted_ms is None
    names = [(lane.name, lane.kind) for lane in timeline.lanes]
    assert names == [("fault window", "fault"), ("check", "check")]
    assert timeline.lanes[1].transitions[0].at_ms == 250
