"""JSON report: lossless round trip, camelCase wire names, and the committed JSON Schema."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from operator_chaos.api.v1alpha1 import SuiteResult
from operator_chaos.report.json import render, report_json_schema, schema_text
from report.factory import NASTY, make_result, make_suite, mixed_suite, timeline_suite

REPO = Path(__file__).resolve().parents[3]
SCHEMA_FILE = REPO / "docs" / "report-schema.json"
REGENERATE = "python -m operator_chaos.report.json > docs/report-schema.json"

SUITES = {
    "empty": make_suite(),
    "one": make_suite(make_result()),
    "mixed": mixed_suite(),
    "nasty": make_suite(make_result(hypothesis=NASTY, message=NASTY, deviations=[NASTY])),
    "timelines": timeline_suite(),
}


@pytest.mark.parametrize("name", SUITES)
def test_round_trips_through_the_model(name: str) -> None:
    suite = SUITES[name]
    assert SuiteResult.model_validate_json(render(suite)) == suite


def test_uses_camel_case_wire_names_and_keeps_defaults() -> None:
    data = json.loads(render(make_suite(make_result(), cluster="")))
    result = data["results"][0]
    assert "runId" in result
    assert "run_id" not in result
    assert result["recovery"]["recoveryTimeMs"] == 1234
    assert data["schemaVersion"] == "operator-chaos.io/report/v1"
    assert data["cluster"] == ""  # defaults are written, readers need not know them


def test_is_indented_deterministic_and_newline_terminated() -> None:
    first, second = render(mixed_suite()), render(mixed_suite())
    assert first == second
    assert first.startswith('{\n  "')
    assert first.endswith("}\n")


@pytest.mark.parametrize("name", SUITES)
def test_rendered_reports_validate_against_the_schema(name: str) -> None:
    validator = jsonschema.Draft202012Validator(report_json_schema())
    errors = [e.message for e in validator.iter_errors(json.loads(render(SUITES[name])))]
    assert errors == []


def test_schema_rejects_a_report_with_a_wrong_verdict() -> None:
    data = json.loads(render(make_suite(make_result())))
    data["results"][0]["verdict"] = "Fine"
    validator = jsonschema.Draft202012Validator(report_json_schema())
    assert not validator.is_valid(data)


def test_committed_schema_is_up_to_date() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    assert committed == schema_text(), (
        f"{SCHEMA_FILE.relative_to(REPO)} is out of date with the result models;"
        f" regenerate it from the repository root with: {REGENERATE}"
    )


def test_module_prints_the_schema() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "operator_chaos.report.json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert completed.stdout == schema_text()
    assert completed.stderr == ""


def test_timeline_fields_use_wire_names() -> None:
    data = json.loads(render(timeline_suite()))
    result = data["results"][0]
    assert result["recoveryModel"] == "repair"
    assert result["recovery"]["measuredFrom"] == "injection"
    assert result["impact"] == {
        "observed": True,
        "timeToImpactMs": 150,
        "broken": [
            "check Deployment kubeflow/training-operator Available failed at +150 ms for 750 ms"
        ],
    }
    assert result["restorations"][0]["restoredBy"] == "operator"
    timeline = result["timeline"]
    assert (timeline["injectedMs"], timeline["repairedMs"], timeline["stableUntilMs"]) == (
        2000,
        2812,
        7900,
    )
    assert timeline["lanes"][1]["transitions"][1] == {"atMs": 2150, "ok": False, "detail": "0/1"}
