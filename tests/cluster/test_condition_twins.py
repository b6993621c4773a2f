"""Condition faults, judged on whether the operator resumes: the twins.

For each condition type added with protocol v2 (QuotaExhaustion, PDBBlock, ClientFault,
WebhookLatency) the same experiment runs twice against the demo operator
(tests/operators/demo_operator.py). While the fault is held, its ConfigMap is drifted (the
kind of damage a condition lets pile up); after the lift the operator must bring the
ConfigMap back. With the operator running the run is Resilient, with the operator paused it
is Failed: the only difference is the operator's pause switch, so a verdict that did not
depend on the operator resuming its work could not pass both.
"""

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from demo_operator_support import (
    CONFIGMAP,
    KNOWLEDGE,
    NAMESPACE,
    DemoOperator,
    demo_operator,  # noqa: F401  (fixture)
    demo_operator_process,  # noqa: F401  (fixture)
)
from engine_support import PausedRun, ToolResult, leftovers

from operator_chaos.exitcodes import ExitStatus
from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import PatchType

CASES: dict[str, dict[str, Any]] = {
    "QuotaExhaustion": {
        "type": "QuotaExhaustion",
        "parameters": {"quotaName": "chaos-twin-quota", "pods": "0"},
    },
    "PDBBlock": {
        "type": "PDBBlock",
        "dangerLevel": "high",
        "parameters": {"labelSelector": "app.kubernetes.io/name=demo-app"},
    },
    "ClientFault": {
        "type": "ClientFault",
        "parameters": {"faults": '{"get": {"errorRate": 0.5, "error": "twin"}}'},
    },
    "WebhookLatency": {
        "type": "WebhookLatency",
        "dangerLevel": "high",
        "parameters": {"resources": "secrets", "apiGroups": "core", "delay": "2s"},
    },
}
CHECKS = [
    {
        "type": "fieldEquals",
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": CONFIGMAP.name,
        "namespace": NAMESPACE,
        "fieldPath": "data.mode",
        "expectedValue": "normal",
    }
]


def experiment(case: str, tmp_path: Path) -> Path:
    doc = {
        "apiVersion": "chaos.operatorchaos.io/v1alpha1",
        "kind": "ChaosExperiment",
        "metadata": {"name": f"twin-{case.lower()}"},
        "spec": {
            "target": {"operator": "demo-operator", "component": "demo-operator"},
            "steadyState": {"checks": CHECKS, "timeout": "60s"},
            "injection": {"ttl": "120s", **CASES[case]},
            "hypothesis": {
                "description": f"The demo operator resumes its repairs once {case} is lifted.",
                "recoveryTimeout": "8s",
            },
            "blastRadius": {
                "maxPodsAffected": 2,
                "allowedNamespaces": [NAMESPACE],
                "allowDangerous": True,
            },
        },
    }
    path = tmp_path / f"{case}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


async def run_with_drift(sandbox: Any, kube: LightkubeClient, path: Path) -> ToolResult:
    """Run, pause at the hold, drift the ConfigMap, let the run finish."""
    paused = await PausedRun.start(
        sandbox.kubeconfig,
        "holding",
        "run",
        str(path),
        "--knowledge",
        str(KNOWLEDGE),
        "--hold",
        "3s",
        "--stability",
        "1s",
        "--format",
        "json",
    )
    try:
        await kube.patch(CONFIGMAP, {"data": {"mode": "drifted"}}, PatchType.MERGE)
    except BaseException:
        await paused.kill()
        raise
    started = time.monotonic()
    paused.proc.send_signal(signal.SIGUSR1)  # carry on from the checkpoint
    rc = await asyncio.wait_for(paused._finish(), 180)
    return ToolResult(paused.args, rc, paused.stdout, paused.stderr, time.monotonic() - started)


@pytest.mark.parametrize("case", sorted(CASES))
async def test_operator_resuming_after_the_lift_is_resilient(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811
    case: str,
    tmp_path: Path,
) -> None:
    result = await run_with_drift(sandbox, kube, experiment(case, tmp_path))
    assert result.rc == ExitStatus.OK, result.describe()
    report = result.report()
    assert (report["verdict"], report["recoveryModel"]) == ("Resilient", "condition")
    assert report["recovery"]["measuredFrom"] == "lift"
    assert report["impact"]["observed"] is True, report["impact"]
    assert (await kube.get(CONFIGMAP))["data"]["mode"] == "normal"
    assert await leftovers(kube) == []


@pytest.mark.parametrize("case", sorted(CASES))
async def test_operator_not_resuming_after_the_lift_is_failed(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811
    case: str,
    tmp_path: Path,
) -> None:
    await demo_operator.pause()
    try:
        result = await run_with_drift(sandbox, kube, experiment(case, tmp_path))
        assert result.rc == ExitStatus.FAILED, result.describe()
        report = result.report()
        assert (report["verdict"], report["recoveryModel"]) == ("Failed", "condition")
        assert report["recovery"]["recovered"] is False
        # The fault itself was lifted by the tool all the same: nothing of it is left.
        assert await leftovers(kube) == []
    finally:
        await demo_operator.resume()
        await demo_operator.wait_steady(kube)
