"""Timeline preparation shared by the renderers: windows, segments, rows, sentences, ticks."""

import pytest

from operator_chaos.api.v1alpha1 import Impact, Restoration, Timeline
from operator_chaos.report.timeline import (
    NO_IMPACT,
    axis_caption,
    has_story,
    impact_line,
    model,
    model_line,
    restoration_sentences,
    since,
    table_header,
    tick_label,
    ticks,
    view,
)
from report.factory import (
    CHECK,
    T0,
    condition_run,
    lane,
    make_result,
    no_impact_run,
    repaired_run,
    tool_restored_run,
)


def test_repair_run_the_operator_repaired() -> None:
    prepared = view(repaired_run())
    assert prepared is not None
    assert prepared.model == "repair"
    assert prepared.zero_ms == 2_000
    assert prepared.fault_window == (2_000, 2_812)  # injection to the operator's repair
    assert not prepared.fault_open
    assert prepared.stability == (2_900, 7_900)
    # A 60 s timeout would squash 8 s of run into a sliver: it stays off the axis.
    assert (prepared.end_ms, prepared.deadline_on_axis) == (8_100, False)
    check = next(item for item in prepared.lanes if item.kind == "check")
    assert check.label == f"check: {CHECK}"
    assert [(s.start_ms, s.end_ms, s.ok, s.state) for s in check.segments] == [
        (0, 2_150, True, "passing"),
        (2_150, 2_900, False, "failing"),
        (2_900, 8_100, True, "passing"),
    ]


def test_repair_run_the_tool_restored() -> None:
    prepared = view(tool_restored_run())
    assert prepared is not None
    assert prepared.fault_window == (2_000, 12_050)
    assert prepared.stability is None
    assert prepared.recovered_ms is None
    assert (prepared.end_ms, prepared.deadline_on_axis) == (12_600, True)
    rows = {row.change: row for row in prepared.rows if row.lane == "run"}
    assert rows["recovery deadline"].detail == "missed: not recovered by then"
    assert rows["operator-chaos restored the damage"].time == "+10.050 s"


def test_condition_run_window_ends_at_the_lift() -> None:
    prepared = view(condition_run())
    assert prepared is not None
    assert prepared.model == "condition"
    assert prepared.fault_window == (2_000, 12_000)
    fault = prepared.lanes[0]
    assert [s.state for s in fault.segments] == ["not in effect", "in effect", "not in effect"]


def test_a_fault_nothing_ended_runs_to_the_end() -> None:
    result = make_result(
        timeline=Timeline(origin=T0, injected_ms=1_000, ended_ms=9_000),
        recovery_model="repair",
    )
    prepared = view(result)
    assert prepared is not None
    assert prepared.fault_window == (1_000, 9_000)
    assert prepared.fault_open


def test_model_is_inferred_for_results_without_one() -> None:
    lifted = make_result(timeline=Timeline(origin=T0, injected_ms=0, lifted_ms=5))
    repaired = make_result(timeline=Timeline(origin=T0, injected_ms=0, repaired_ms=5))
    assert (model(lifted), model(repaired), model(make_result())) == ("condition", "repair", None)


def test_rows_are_in_time_order_with_milestones_first() -> None:
    prepared = view(repaired_run())
    assert prepared is not None
    times = [row.at_ms for row in prepared.rows]
    assert times == sorted(times)
    at_injection = [(row.lane, row.change) for row in prepared.rows if row.at_ms == 2_000]
    assert at_injection == [
        ("run", "fault injected"),
        ("damage: Deployment kubeflow/training-operator label app", "intact → damaged"),
    ]
    first = prepared.rows[0]
    assert (first.time, first.change, first.detail) == (
        "-2.000 s",
        "intact (at start)",
        "app=training-operator",
    )


def test_same_state_transitions_say_still() -> None:
    result = make_result(
        timeline=Timeline(
            origin=T0,
            injected_ms=0,
            ended_ms=10,
            lanes=[lane("x", "check", (0, False, "a"), (5, False, "b"))],
        )
    )
    prepared = view(result)
    assert prepared is not None
    assert [row.change for row in prepared.rows if row.lane == "check: x"] == [
        "failing (at start)",
        "still failing",
    ]


def test_restoration_sentences() -> None:
    assert restoration_sentences(repaired_run()) == [
        "Deployment kubeflow/training-operator metadata.labels.app restored by the operator"
        " after 812 ms (label app=training-operator)"
    ]
    assert restoration_sentences(tool_restored_run()) == [
        "The operator did not restore PyTorchJob kubeflow/demo spec.runPolicy.suspend within"
        " 10.0 s; operator-chaos restored it after 10050 ms (10.0 s)"
    ]
    nobody = make_result(restorations=[Restoration(target="ConfigMap a/b", restored_by="nobody")])
    assert restoration_sentences(nobody) == [
        "ConfigMap a/b was not restored: not by the operator within 1 m 00 s, nor by operator-chaos"
    ]


def test_impact_lines() -> None:
    assert impact_line(no_impact_run()) == NO_IMPACT
    assert impact_line(repaired_run()) == "Impact observed 150 ms after the injection"
    assert impact_line(make_result(impact=Impact(observed=True))) == "Impact observed"
    assert impact_line(make_result()) is None


def test_model_lines() -> None:
    assert model_line(condition_run()) == (
        "Recovery model: condition (the fault is held, then lifted; the operator must resume);"
        " recovery measured from the lift of the fault"
    )
    assert model_line(repaired_run()) == (
        "Recovery model: repair (the operator must restore the damaged state);"
        " recovery measured from the injection"
    )


def test_results_without_timeline_facts_have_no_story() -> None:
    assert not has_story(make_result())
    assert view(make_result()) is None
    assert has_story(no_impact_run())


@pytest.mark.parametrize(
    ("ms", "shown"),
    [(2_000, "0 ms"), (2_850, "+850 ms"), (0, "-2.000 s"), (14_345, "+12.345 s")],
)
def test_since_is_signed_and_exact(ms: int, shown: str) -> None:
    assert since(ms, 2_000) == shown


def test_ticks_are_round_include_zero_and_stay_few() -> None:
    marks = ticks(0, 8_100, 2_000)
    assert [label for _, label in marks] == [
        "-2 s",
        "-1 s",
        "0",
        "+1 s",
        "+2 s",
        "+3 s",
        "+4 s",
        "+5 s",
        "+6 s",
    ]
    assert all(0 <= value <= 8_100 for value, _ in marks)
    assert len(ticks(0, 123_456, 0)) <= 11
    assert [label for _, label in ticks(0, 700, 100)][:3] == ["-100 ms", "0", "+100 ms"]


@pytest.mark.parametrize(
    ("delta", "step", "shown"),
    [(0, 500, "0"), (1_500, 500, "+1.5 s"), (-2_000, 1_000, "-2 s"), (250, 50, "+250 ms")],
)
def test_tick_labels(delta: int, step: int, shown: str) -> None:
    assert tick_label(delta, step) == shown


def test_a_run_that_injected_nothing_counts_from_the_start() -> None:
    result = make_result(
        timeline=Timeline(
            origin=T0, ended_ms=1_500, lanes=[lane(CHECK, "check", (0, False, "0/1"))]
        )
    )
    prepared = view(result)
    assert prepared is not None
    assert (prepared.zero_ms, prepared.fault_window) == (0, None)
    assert table_header(prepared)[0] == "Since start"
    assert axis_caption(prepared) == "time since start"
    assert [row.time for row in prepared.rows] == ["0 ms"]
