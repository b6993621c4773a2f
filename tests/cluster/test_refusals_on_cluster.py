"""What a user sees when the tool refuses or skips, against the real cluster: the verdict
table and report paths on stdout, progress and errors on stderr, "Refused" and "Skipped" in
the table and in JUnit, and the documented exit codes."""

import xml.etree.ElementTree as ET
from pathlib import Path

from engine_support import SEED_DIR, SEEDS, run_tool

from operator_chaos.exitcodes import ExitStatus
from operator_chaos.sandbox.cluster import Sandbox


async def test_a_gate_refusal_says_refused_on_stdout(sandbox: Sandbox, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = await run_tool(
        sandbox.kubeconfig,
        "run",
        str(SEEDS["PodKill"]),
        "--dry-run",
        "--set",
        "spec.blastRadius.allowedNamespaces=[elsewhere]",
        "--report-dir",
        str(reports),
    )
    assert result.rc == ExitStatus.UNSAFE, result.describe()
    row = next(line for line in result.stdout.splitlines() if line.startswith("training-"))
    assert row.split()[1:3] == ["PodKill", "Refused"], result.describe()
    assert "1 experiment: 1 refused" in result.stdout
    assert f"report: {reports / 'operator-chaos-report.xml'}" in result.stdout
    assert "Refused" not in result.stderr  # the table is not duplicated on stderr
    assert result.error_lines()  # the gate's reason, on stderr
    case = ET.parse(reports / "operator-chaos-report.xml").getroot().find(".//testcase")
    assert case is not None
    error = case.find("error")
    assert error is not None
    assert error.get("type") == "Refused"


async def test_max_tier_skips_are_skipped_in_junit(sandbox: Sandbox) -> None:
    result = await run_tool(
        sandbox.kubeconfig,
        "suite",
        str(SEED_DIR),
        "--dry-run",
        "--max-tier",
        "1",
        "--format",
        "junit",
    )
    assert result.rc == ExitStatus.OK, result.describe()
    root = ET.fromstring(result.stdout)  # stdout is the JUnit document alone
    cases = {case.get("name"): case for case in root.iter("testcase")}
    shipped = sorted(SEED_DIR.glob("*.yaml"))
    assert len(cases) == len(shipped)
    skipped = {name: case.find("skipped") for name, case in cases.items()}
    messages = sorted(str(s.get("message")) for s in skipped.values() if s is not None)
    assert messages[0] == "dry run"
    assert [m.startswith("skipped: tier ") for m in messages[1:]] == [True] * (len(shipped) - 1)
    assert "Skipped" in result.stderr  # the verdict table moved to stderr
