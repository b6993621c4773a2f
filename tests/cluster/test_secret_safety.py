"""No Secret value ever leaves the Secret: not in output, logs, reports, stored results, ledgers.

A Secret holding a fresh random value is damaged by each fault that touches Secret data
(ConfigDrift with resourceType Secret, SecretDeletion, ResourceDeletion of a Secret). Nobody
repairs it, so the run is Failed and operator-chaos restores it from its rollback record: every
path that handles the value is taken. While the fault is active, the record must be in the
run's Secret ledger (never a ConfigMap); afterwards no ledger is left. Then stdout, stderr,
every report format, the stored results (``results show``/``report``) and every ConfigMap in
the cluster are searched for the value, the injected value, and their base64 forms.
"""

import base64
import json
import secrets
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml
from demo_operator_support import (
    KNOWLEDGE,
    NAMESPACE,
    DemoOperator,
    demo_operator,  # noqa: F401  (fixture)
    demo_operator_process,  # noqa: F401  (fixture)
)
from engine_support import TOOL_NS, PausedRun, leftovers, run_tool

from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import ResourceRef

PROBE = ResourceRef("v1", "Secret", "leak-probe", NAMESPACE)
LEDGER_SELECTOR = "app.kubernetes.io/managed-by=operator-chaos,chaos.operatorchaos.io/role=ledger"
FORMATS = ("json", "junit", "markdown", "html")  # the text table is stdout


def injections(injected: str) -> dict[str, dict[str, Any]]:
    return {
        "ConfigDrift": {
            "type": "ConfigDrift",
            "parameters": {
                "name": PROBE.name,
                "key": "token",
                "value": injected,
                "resourceType": "Secret",
            },
        },
        "SecretDeletion": {"type": "SecretDeletion", "parameters": {"name": PROBE.name}},
        "ResourceDeletion": {
            "type": "ResourceDeletion",
            "parameters": {"apiVersion": "v1", "kind": "Secret", "name": PROBE.name},
        },
    }


def experiment(tmp_path: Path, case: str, injection: dict[str, Any]) -> Path:
    doc = {
        "apiVersion": "chaos.operatorchaos.io/v1alpha1",
        "kind": "ChaosExperiment",
        "metadata": {"name": f"leak-{case.lower()}"},
        "spec": {
            "target": {"operator": "demo-operator", "component": "demo-operator"},
            "steadyState": {
                "checks": [
                    {
                        "type": "resourceExists",
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "name": PROBE.name,
                        "namespace": NAMESPACE,
                    }
                ],
                "timeout": "30s",
            },
            "injection": {"ttl": "120s", "dangerLevel": "high", **injection},
            "hypothesis": {
                "description": "Nobody repairs the probe Secret; the tool restores it.",
                "recoveryTimeout": "4s",
            },
            "blastRadius": {
                "maxPodsAffected": 1,
                "allowedNamespaces": [NAMESPACE],
                "allowDangerous": True,
            },
        },
    }
    path = tmp_path / f"{case}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def forms(*values: str) -> list[str]:
    """Each value as written and as the API stores it (base64)."""
    return [f for v in values for f in (v, base64.b64encode(v.encode()).decode())]


def assert_absent(where: str, text: str, values: list[str]) -> None:
    for form in values:
        assert form not in text, f"a Secret value leaked into {where}"


async def configmaps_text(kube: LightkubeClient) -> str:
    return json.dumps((await kube.list("v1", "ConfigMap")).items)


@pytest.mark.parametrize("case", ["ConfigDrift", "SecretDeletion", "ResourceDeletion"])
async def test_no_secret_value_anywhere(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811  (the namespace and the tool's namespace exist)
    case: str,
    tmp_path: Path,
) -> None:
    value = "probe-" + secrets.token_hex(16)
    injected = "injected-" + secrets.token_hex(16)
    hidden = forms(value, injected)
    data = {"token": base64.b64encode(value.encode()).decode()}
    await kube.delete(PROBE)
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": PROBE.name, "namespace": NAMESPACE},
            "data": data,
        }
    )
    reports = tmp_path / "reports"
    path = experiment(tmp_path, case, injections(injected)[case])
    args = ["run", str(path), "--knowledge", str(KNOWLEDGE), "--stability", "1s"]
    args += ["--report-dir", str(reports)]
    for fmt in FORMATS:
        args += ["--format", fmt]
    try:
        run = await PausedRun.start(sandbox.kubeconfig, "observing", *args)
        # The fault is active: its record is in the run's Secret ledger, no ConfigMap has it.
        books = (await kube.list("v1", "Secret", TOOL_NS, label_selector=LEDGER_SELECTOR)).items
        assert len(books) == 1, [b["metadata"]["name"] for b in books]
        (book,) = books
        assert book["type"] == "Opaque"
        assert book["metadata"]["name"].endswith("-secrets")
        assert any(k.startswith("record-") for k in book["data"]), sorted(book["data"])
        assert_absent("a ConfigMap during the run", await configmaps_text(kube), hidden)
        run.proc.send_signal(signal.SIGUSR1)
        rc = await run._finish()
    finally:
        restored = await kube.get_or_none(PROBE)
        await kube.delete(PROBE)
    assert rc == 11, run.stderr  # Failed: nobody repaired it, the tool restored it
    assert restored is not None
    assert restored["data"] == data
    assert await leftovers(kube) == []
    assert (await kube.list("v1", "Secret", TOOL_NS, label_selector=LEDGER_SELECTOR)).items == []

    assert_absent("stdout/stderr", run.stdout + run.stderr, hidden)
    written = sorted(p for p in reports.rglob("*") if p.is_file())
    assert {p.suffix for p in written} >= {".json", ".xml", ".md", ".html"}, written
    for report in written:
        assert_absent(str(report), report.read_text(), hidden)
    (json_report,) = [p for p in written if p.suffix == ".json"]
    doc = json.loads(json_report.read_text())
    run_id = doc["results"][0]["runId"]
    for command in (
        ("results", "show", run_id),
        ("results", "show", run_id, "-o", "json"),
        ("results", "report", run_id, "--format", "html"),
        ("results", "list"),
    ):
        shown = await run_tool(sandbox.kubeconfig, *command)
        assert shown.rc == 0, shown.describe()
        assert_absent(" ".join(command), shown.stdout + shown.stderr, hidden)
    assert_absent("a ConfigMap after the run", await configmaps_text(kube), hidden)
