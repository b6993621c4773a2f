"""Terminal verdict table: aligned columns and the one-line summary."""

from operator_chaos.api.v1alpha1 import Verdict
from operator_chaos.report.text import verdict_table, width
from report.factory import make_result, make_suite, mixed_suite


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
