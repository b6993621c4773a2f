"""`operator-chaos preflight` against the real API server: it passes for the seed experiments,
names what is missing when a target does not exist, and changes nothing either way."""

import json
from pathlib import Path

import yaml
from engine_support import SEED_DIR, run_tool

from operator_chaos.exitcodes import ExitStatus
from operator_chaos.kube import client
from operator_chaos.kube.port import ResourceRef
from operator_chaos.sandbox.cluster import Sandbox


async def test_preflight_passes_for_the_seed_experiments(sandbox: Sandbox) -> None:
    result = await run_tool(sandbox.kubeconfig, "preflight", str(SEED_DIR), "-o", "json")
    assert result.rc == ExitStatus.OK, result.describe()
    report = json.loads(result.stdout)
    assert report["ok"] is True
    whats = [f["what"] for f in report["findings"]]
    assert "cluster reachable" in whats
    assert any("may patch clusterrolebindings" in w for w in whats)
    assert any("may delete pods in opendatahub" in w for w in whats)
    assert any("targets resolved and within blast radius" in w for w in whats)


async def test_preflight_names_a_missing_webhook_and_fails(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    doc = yaml.safe_load((SEED_DIR / "webhook-disrupt.yaml").read_text())
    doc["spec"]["injection"]["parameters"]["webhookName"] = "no-such-webhook.example.com"
    experiment = tmp_path / "missing-webhook.yaml"
    experiment.write_text(yaml.safe_dump(doc))
    result = await run_tool(sandbox.kubeconfig, "preflight", str(experiment), "-o", "json")
    assert result.rc == ExitStatus.UNREACHABLE, result.describe()
    failed = [f for f in json.loads(result.stdout)["findings"] if not f["ok"]]
    assert len(failed) == 1
    assert "no-such-webhook.example.com" in failed[0]["detail"]
    assert "not found" in failed[0]["detail"]


async def test_preflight_creates_nothing(sandbox: Sandbox) -> None:
    namespace = "preflight-untouched"
    result = await run_tool(
        sandbox.kubeconfig, "preflight", str(SEED_DIR), "--ledger-namespace", namespace
    )
    assert result.rc == ExitStatus.OK, result.describe()
    assert "preflight passed" in result.stdout
    async with client.connect(str(sandbox.kubeconfig)) as kube:
        assert await kube.get_or_none(ResourceRef("v1", "Namespace", namespace)) is None


async def test_demo_on_a_given_cluster_runs_the_seed_and_writes_every_report(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`demo --kubeconfig` skips the sandbox start-up and runs the seed suite on that cluster."""
    reports = tmp_path / "reports"
    result = await run_tool(
        sandbox.kubeconfig,
        "demo",
        "--experiments",
        str(SEED_DIR),
        "--hold",
        "1s",
        "--report-dir",
        str(reports),
        timeout=300,
    )
    assert result.rc == ExitStatus.OK, result.describe()
    assert "5 experiments: 5 Resilient" in result.stderr
    assert "starting the local sandbox" not in result.stderr
    assert sorted(p.suffix for p in reports.iterdir()) == [".html", ".json", ".md", ".xml"]
