"""Refusals and where output goes: types that cannot run yet, unknown contexts, safety-gate
refusals and ``--max-tier`` skips in the verdict table and JUnit, stdout versus stderr.

Everything here is decided before the cluster is contacted, or after the runs from their
results, so no cluster is needed (the runs themselves are tested in tests/cluster/).
"""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from operator_chaos.api.v1alpha1 import ExperimentResult, Phase, PhaseRecord, SuiteResult, Verdict
from operator_chaos.cli import common, run
from operator_chaos.cli.app import main
from operator_chaos.cli.scaffold import skeleton
from operator_chaos.errors import SafetyViolation
from operator_chaos.exitcodes import ExitStatus
from operator_chaos.load.experiments import load_file
from operator_chaos.orchestrator.lifecycle import RunOutcome
from operator_chaos.report import junit, text

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI in-process like the console script; return (exit code, stdout, stderr)."""
    try:
        code = int(main(args) or 0)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def experiment(directory: Path, injection_type: str, tier: int = 1) -> Path:
    """A valid experiment of ``injection_type`` (the skeleton with its to-dos filled in)."""
    text = skeleton(injection_type, "ctl", "op", "op-system")
    document = yaml.safe_load(text)
    document["metadata"]["name"] = f"{injection_type.lower()}-{tier}"
    document["spec"]["tier"] = tier
    document["spec"]["hypothesis"]["description"] = "The operator recreates what was lost."
    document["spec"]["blastRadius"]["allowDangerous"] = True
    path = directory / f"{injection_type.lower()}-{tier}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
    "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
    "contexts": [
        {"name": "prod", "context": {"cluster": "c", "user": "u"}},
        {"name": "dev", "context": {"cluster": "c", "user": "u"}},
    ],
    "current-context": "dev",
}


@pytest.mark.parametrize("command", ["preflight", "run", "clean"])
def test_an_unknown_context_is_invalid_input_naming_the_real_ones(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(yaml.safe_dump(KUBECONFIG))
    args = [command, "--kubeconfig", str(kubeconfig), "--context", "nope"]
    if command == "run":
        args.insert(1, str(experiment(tmp_path, "PodKill")))
    code, out, err = cli(args, capsys)
    assert code == ExitStatus.INVALID
    assert out == ""
    assert err == f"error: --context nope: no such context in {kubeconfig}; available: dev, prod\n"
    assert "not-a-real-token" not in err


def _result(name: str, *, dry_run: bool, verdict: Verdict | None) -> ExperimentResult:
    return ExperimentResult(
        run_id=f"run-{name}",
        experiment=name,
        operator="op",
        component="ctl",
        dry_run=dry_run,
        verdict=verdict,
        phase=Phase.ABORTED,
        message="refused by the gate",
        started_at=T0,
        ended_at=T0,
        phases=[PhaseRecord(phase=Phase.PENDING, started_at=T0)],
    )


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_gate_refusal_and_a_tier_skip_are_named_in_table_and_junit(
    dry_run: bool, tmp_path: Path
) -> None:
    # What the lifecycle returns for a gate refusal: a dry run keeps no verdict, a real run
    # gets Inconclusive; either way the error carries exit code 4.
    refused = RunOutcome(
        _result("gated", dry_run=dry_run, verdict=None if dry_run else Verdict.INCONCLUSIVE),
        SafetyViolation("namespace 'x' is outside spec.blastRadius.allowedNamespaces"),
    )
    ok = RunOutcome(_result("fine", dry_run=dry_run, verdict=Verdict.RESILIENT))
    high = load_file(experiment(tmp_path, "PodKill", tier=4))
    results = common.report_results([refused, ok], [], high, max_tier=3)
    suite = SuiteResult(started_at=T0, ended_at=T0, results=results)
    rows = {line.split()[0]: line for line in text.verdict_table(suite).splitlines()[2:] if line}
    assert "Refused" in rows["gated"]
    assert "Dry run" not in rows["gated"]
    assert "Skipped" in rows["podkill-4"]
    assert results[0].verdict is None  # a refusal says nothing about the operator
    cases = {case.get("name"): case for case in ET.fromstring(junit.render(suite)).iter("testcase")}
    assert len(cases) == 3
    error = cases["gated"].find("error")
    assert error is not None
    assert error.get("type") == "Refused"
    skipped = cases["podkill-4"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "skipped: tier 4 is above --max-tier 3"
    assert common.exit_status([refused, ok], dry_run) is ExitStatus.UNSAFE


def test_verdict_table_and_report_paths_go_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes = [RunOutcome(_result("fine", dry_run=False, verdict=Verdict.RESILIENT))]
    results = [o.result for o in outcomes]
    run._report(outcomes, results, T0, "https://127.0.0.1:6443", str(tmp_path), ("json",))
    captured = capsys.readouterr()
    assert captured.out.startswith("Experiment ")
    assert "1 experiment: 1 Resilient" in captured.out
    assert f"report: {tmp_path / 'operator-chaos-report.json'}" in captured.out
    assert captured.err == ""


def test_a_report_on_stdout_keeps_stdout_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = [RunOutcome(_result("fine", dry_run=False, verdict=Verdict.RESILIENT))]
    results = [o.result for o in outcomes]
    run._report(outcomes, results, T0, "https://127.0.0.1:6443", None, ("junit",))
    captured = capsys.readouterr()
    ET.fromstring(captured.out)  # the JUnit document and nothing else
    assert captured.err.startswith("Experiment ")
