"""Terminal verdict table: aligned columns and the one-line summary."""

from operator_chaos.api.v1alpha1 import Verdict
from operator_chaos.report.text import stories, story, verdict_table, width
from report.factory import (
    condition_run,
    make_result,
    make_suite,
    mixed_suite,
    no_impact_run,
    repaired_run,
    timeline_suite,
    tool_restored_run,
)


def test_summary_line_counts_verdicts_in_order() -> None:
    suite = make_suite(
        make_result("a"),
        make_result("b", Verdict.DEGRADED),
        make_result("c"),
        make_result("d"),
        make_result("e"),
    )
    assert verdict_table(suite).splitlines()[-1] == "5 experiments: 4 Resilient, 1 Degraded"


def test_singular_and_empty() -> None:
    assert verdict_table(make_suite(make_result())).endswith("\n1 experiment: 1 Resilient\n")
    assert verdict_table(make_suite()) == "0 experiments\n"


def test_table_rows_and_alignment() -> None:
    lines = verdict_table(mixed_suite()).splitlines()
    assert lines[0].split() == ["Experiment", "Type", "Verdict", "Recovery", "ms", "Duration"]
    assert set(lines[1]) == {"-", " "}
    rows = lines[2:8]
    assert rows[0].split() == ["pod-kill", "PodKill", "Resilient", "1234", "45.5", "s"]
    assert rows[3].split() == ["webhook-disrupt", "—", "Inconclusive", "—", "45.5", "s"]
    verdict_column = lines[0].index("Verdict")
    assert [row[verdict_column:].split()[0] for row in rows] == [
        "Resilient",
        "Degraded",
        "Failed",
        "Inconclusive",
        "Dry",
        "No",
    ]
    # Numbers are right-aligned: every recovery value ends in the same column.
    recovery_end = lines[0].index("Recovery ms") + len("Recovery ms")
    assert all(row[recovery_end - 1] != " " for row in rows)
    assert lines[8] == ""


def test_wide_characters_keep_columns_aligned() -> None:
    suite = make_suite(make_result("日本語"), make_result("abcdefgh"))
    lines = verdict_table(suite).splitlines()
    assert width("日本語") == 6
    assert width("é") == 1
    assert width("e\u0301") == 1
    assert {width(line[: line.index("PodKill")]) for line in lines[2:4]} == {12}


def test_newlines_in_names_do_not_break_rows() -> None:
    lines = verdict_table(make_suite(make_result("two\nlines"))).splitlines()
    assert lines[2].startswith("two lines")
    assert len(lines) == 5


def test_story_of_a_repair_the_operator_made() -> None:
    lines = story(repaired_run()).splitlines()
    assert lines[:5] == [
        "label-stomping: Resilient",
        "  Impact observed 150 ms after the injection",
        "    - check Deployment kubeflow/training-operator Available failed at +150 ms for 750 ms",
        "  Recovery model: repair (the operator must restore the damaged state);"
        " recovery measured from the injection",
        "  Deployment kubeflow/training-operator metadata.labels.app restored by the operator"
        " after 812 ms (label app=training-operator)",
    ]
    assert lines[5].split() == ["Since", "injection", "Lane", "Change", "Detail"]
    table = lines[7:]
    assert len(table) == 13
    # Times are right-aligned: every time ends in the same column.
    time_end = lines[5].index("Since injection") + len("Since injection")
    assert {row[time_end - 2 : time_end] for row in table} == {"ms", " s"}
    assert [row.split()[-2:] for row in table if row.endswith("recovered")] == [
        ["run", "recovered"]
    ]


def test_story_of_a_tool_restoration_and_a_condition_fault() -> None:
    restored = story(tool_restored_run())
    assert (
        "  The operator did not restore PyTorchJob kubeflow/demo spec.runPolicy.suspend within"
        " 10.0 s; operator-chaos restored it after 10050 ms (10.0 s)\n" in restored
    )
    assert "missed: not recovered by then" in restored
    condition = story(condition_run())
    assert "recovery measured from the lift of the fault" in condition
    assert "fault lifted" in condition


def test_story_says_when_nothing_was_impacted() -> None:
    assert "\n  No impact observed: the checks do not see this fault\n" in story(no_impact_run())


def test_stories_skip_runs_without_a_timeline() -> None:
    assert story(make_result()) == ""
    assert stories(mixed_suite()) == ""
    text = stories(timeline_suite())
    assert text.count(": Resilient\n") == 3
    assert "\n\ncrd-mutation: Failed\n" in text


def test_verdict_table_marks_runs_without_impact() -> None:
    from report.factory import make_suite, no_impact_run, repaired_run

    table = verdict_table(make_suite(no_impact_run(), repaired_run()))
    rows = table.splitlines()
    marked = [row for row in rows if "Resilient*" in row]
    assert len(marked) == 1, table
    assert "no impact observed" in table
    quiet = verdict_table(make_suite(repaired_run()))
    assert "*" not in quiet
    assert "no impact observed" not in quiet
