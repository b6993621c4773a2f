"""``results list|show|report --dir``: reading back a report directory (no cluster involved)."""

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result
from report.factory import at, make_result, make_suite, mixed_suite

from operator_chaos.api.v1alpha1 import SuiteResult, Verdict
from operator_chaos.cli.app import cli
from operator_chaos.errors import UsageError
from operator_chaos.report import base


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["results", *args], catch_exceptions=True)


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    base.write_reports(mixed_suite(), tmp_path / "reports", ["json", "html"])
    return tmp_path / "reports"


def test_list_reads_a_report_directory(report_dir: Path) -> None:
    result = invoke("list", "--dir", str(report_dir))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["Run", "ID", "Experiment", "Verdict", "Recovery", "ms", "Started"]
    assert any("run-pod-kill-0001" in line and "Resilient" in line for line in lines)
    assert lines[-1] == f"{len(mixed_suite().results)} runs"


def test_list_json_can_filter_by_experiment(report_dir: Path) -> None:
    result = invoke("list", "--dir", str(report_dir), "--experiment", "pod-kill", "-o", "json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert row["runId"] == "run-pod-kill-0001"
    assert row["verdict"] == "Resilient"
    assert row["recoveryMs"] == make_result().recovery.recovery_time_ms  # type: ignore[union-attr]


def test_show_prints_one_run(report_dir: Path) -> None:
    result = invoke("show", "run-pod-kill-0001", "--dir", str(report_dir))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("pod-kill: Resilient\n")
    assert "Run ID:      run-pod-kill-0001" in result.output
    assert "Phases:" in result.output
    assert "Events:" in result.output

    as_json = invoke("show", "run-pod-kill-0001", "--dir", str(report_dir), "-o", "json")
    assert json.loads(as_json.output)["runId"] == "run-pod-kill-0001"


def test_show_names_a_missing_run(report_dir: Path) -> None:
    result = invoke("show", "nope", "--dir", str(report_dir))
    assert isinstance(result.exception, UsageError)
    assert str(result.exception) == f"no run nope in {report_dir}"


def test_report_rerenders_the_directory_unchanged(report_dir: Path) -> None:
    for fmt in base.FORMATS:
        result = invoke("report", "--dir", str(report_dir), "--format", fmt)
        assert result.exit_code == 0, result.output
        assert result.output == base.FORMATS[fmt].render(mixed_suite())


def test_report_of_chosen_runs_to_a_file(report_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "two.xml"
    result = invoke(
        "report",
        "run-pod-kill-0001",
        "run-rbac-revoke-0001",
        "--dir",
        str(report_dir),
        "--format",
        "junit",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    cases = ElementTree.parse(out).getroot().iter("testcase")
    assert sorted(c.get("name") or "" for c in cases) == ["pod-kill", "rbac-revoke"]


def test_report_rebuilds_the_suite_around_the_runs(tmp_path: Path) -> None:
    first = make_result("a", run_id="r1", started_at=at(100), ended_at=at(110))
    second = make_result("a", Verdict.DEGRADED, run_id="r2", started_at=at(10), ended_at=at(20))
    base.write_reports(make_suite(first), tmp_path / "one", ["json"])
    base.write_reports(make_suite(second), tmp_path / "one", ["json"], stem="later")
    result = invoke(
        "report", "--dir", str(tmp_path / "one"), "--experiment", "a", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    suite = SuiteResult.model_validate_json(result.output)
    assert [r.run_id for r in suite.results] == ["r2", "r1"]  # by start time
    assert (suite.started_at, suite.ended_at) == (at(10), at(110))
    assert suite.cluster == first.cluster


def test_a_directory_without_a_json_report_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("{}")
    result = invoke("list", "--dir", str(tmp_path))
    assert isinstance(result.exception, UsageError)
    assert "no JSON report found" in str(result.exception)


def test_report_needs_something_to_report() -> None:
    result = invoke("report", "--format", "html")
    assert result.exit_code == 2
    assert "name RUN_IDs, --experiment NAME or --dir DIR" in result.output
