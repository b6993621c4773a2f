"""Markdown report: the summary table, every detail section, escaping and determinism."""

from operator_chaos.api.v1alpha1 import CheckOutcome, CheckRound, Phase, Verdict
from operator_chaos.report.markdown import render, text
from report.factory import (
    NASTY,
    at,
    condition_run,
    make_result,
    make_suite,
    mixed_suite,
    no_impact_run,
    phases,
    repaired_run,
    tool_restored_run,
)


def test_summary_table_has_a_row_per_experiment() -> None:
    report = render(mixed_suite())
    assert "| Experiment | Type | Danger | Verdict | Recovery | Duration |" in report
    assert "| pod-kill | PodKill | low | Resilient | 1.2 s | 45.5 s |" in report
    assert "| network-partition | PodKill | low | Degraded | 48.0 s | 45.5 s |" in report
    assert "| rbac-revoke | PodKill | low | Failed | — | 45.5 s |" in report
    assert "| webhook-disrupt | — | — | Inconclusive | — | 45.5 s |" in report
    assert "| finalizer-block | PodKill | low | Dry run | — | 45.5 s |" in report
    assert (
        "**6 experiments: 1 Resilient, 1 Degraded, 1 Failed, 1 Inconclusive, 1 dry run," in report
    )


def test_experiment_details_cover_every_section() -> None:
    report = render(make_suite(make_result(deviations=["slow"], collateral=["ns/other pod"])))
    for heading in (
        "## pod-kill: Resilient",
        "### Phases",
        "### Steady state before injection",
        "### Steady state after recovery",
        "### Injection",
        "#### Planned changes",
        "### Revert",
        "### Recovery",
        "### Managed resources",
        "### Collateral",
        "### Deviations",
        "### Events",
    ):
        assert f"\n{heading}\n" in report, heading
    assert "**Hypothesis:** The controller Deployment is recreated within 60s." in report
    assert "| Holding | 2024-05-01T12:00:03.000Z | 2024-05-01T12:00:13.000Z | 10.0 s |" in report
    assert "| kubeflow/pod/training-operator-7d9f | metadata | present | deleted |" in report
    assert "- **Recovery time:** 1234 ms (1.2 s)" in report
    assert "- **Reconcile cycles:** 3 (max 10)" in report
    assert "- pod training-operator-7d9f gone" in report
    assert "| deleted pod | grace=0, uid=1234 |" in report


def test_sections_without_data_are_left_out() -> None:
    report = render(make_suite(make_result(injection=None, recovery=None, events=[])))
    assert "### Injection" not in report
    assert "### Recovery" not in report
    assert "### Events" not in report
    assert "### Deviations" not in report


def test_open_phase_ends_at_the_next_phase() -> None:
    records = phases((Phase.INJECTING, 0, None), (Phase.HOLDING, 4, 5))
    report = render(make_suite(make_result(phases=records)))
    assert (
        "| Injecting | 2024-05-01T12:00:00.000Z | 2024-05-01T12:00:04.000Z (open) | 4.0 s |"
        in report
    )


def test_failed_checks_are_marked() -> None:
    failing = CheckRound(
        passed=False,
        timestamp=at(50),
        checks=[CheckOutcome(check="Deployment x Available", passed=False, error="0/1 ready")],
    )
    report = render(make_suite(make_result(verdict=Verdict.FAILED, steady_state_post=failing)))
    assert "Result: **FAILED** at 2024-05-01T12:00:50.000Z" in report
    assert "| Deployment x Available | no | — | 0/1 ready |" in report


def test_text_is_escaped() -> None:
    assert text("a|b") == "a\\|b"
    assert text("<script>") == "&lt;script&gt;"
    assert text("*bold* [link](x) `code`") == "\\*bold\\* \\[link\\](x) \\`code\\`"
    assert text("# not a heading") == "\\# not a heading"
    assert text("1. not a list") == "1\\. not a list"
    assert text("two\nlines") == "two lines"
    assert text("") == "—"


def test_untrusted_text_cannot_break_the_table() -> None:
    report = render(make_suite(make_result(experiment="a|b\nc", hypothesis=NASTY)))
    row = next(line for line in report.splitlines() if line.startswith("| a"))
    assert row.startswith("| a\\|b c | PodKill |")
    assert "<b>" not in report
    assert "&lt;b&gt;&amp;amp;&lt;/b&gt;" in report
    assert "ü 日本 🚀" in report


def test_empty_suite() -> None:
    report = render(make_suite())
    assert "**0 experiments**" in report
    assert "| Experiment |" not in report
    assert report.endswith("\n")
    assert not report.endswith("\n\n")


def test_output_is_deterministic() -> None:
    assert render(mixed_suite()) == render(mixed_suite())


def test_timeline_section_for_a_repair_the_operator_made() -> None:
    report = render(make_suite(repaired_run()))
    assert "\n### Timeline\n\n**Impact observed 150 ms after the injection.**\n" in report
    assert (
        "- check Deployment kubeflow/training-operator Available failed at +150 ms for 750 ms"
        in report
    )
    assert (
        "Recovery model: repair (the operator must restore the damaged state);"
        " recovery measured from the injection." in report
    )
    assert (
        "#### Restorations\n\n- Deployment kubeflow/training-operator metadata.labels.app"
        " restored by the operator after 812 ms (label app=training-operator)." in report
    )
    assert "| Since injection | Lane | Change | Detail |" in report
    assert "| \\+812 ms | run | operator repaired the damage | — |" in report
    assert (
        "| \\+150 ms | check: Deployment kubeflow/training-operator Available"
        " | passing → failing | 0/1 |" in report
    )
    # The timeline comes before the phase details.
    assert report.index("### Timeline") < report.index("### Phases")


def test_timeline_section_when_the_tool_restored() -> None:
    report = render(make_suite(tool_restored_run()))
    assert (
        "- The operator did not restore PyTorchJob kubeflow/demo spec.runPolicy.suspend within"
        " 10.0 s; operator-chaos restored it after 10050 ms (10.0 s)." in report
    )
    assert "| \\+10.000 s | run | recovery deadline | missed: not recovered by then |" in report


def test_timeline_section_for_a_condition_fault() -> None:
    report = render(make_suite(condition_run()))
    assert "recovery measured from the lift of the fault." in report
    assert "| \\+10.000 s | run | fault lifted | — |" in report
    assert "#### Restorations" not in report


def test_no_impact_is_said_in_bold() -> None:
    report = render(make_suite(no_impact_run()))
    assert "\n**⚠ No impact observed: the checks do not see this fault.**\n" in report


def test_no_timeline_section_without_timeline_facts() -> None:
    assert "### Timeline" not in render(mixed_suite())
