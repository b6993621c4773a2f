"""Repair faults, judged on who repaired: a real operator (tests/operators/demo_operator.py)
repairs the damage and the run is Resilient, timed from the injection to the repair; the same
experiment with the operator paused is Failed, and the report says operator-chaos restored it.

Each Resilient case has its Failed twin: the only difference is the operator's pause switch,
so a verdict that did not depend on the operator's repair could not pass both.
"""

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from demo_operator_support import (
    CONFIGMAP,
    DEPLOYMENT,
    KNOWLEDGE,
    NAMESPACE,
    SECRET,
    SECRET_TOKEN,
    WIDGET,
    WIDGET_API,
    DemoOperator,
    demo_operator,  # noqa: F401  (fixture)
    demo_operator_process,  # noqa: F401  (fixture)
)
from engine_support import ToolResult, leftovers, run_tool

from operator_chaos.kube.client import LightkubeClient

INJECTED_SECRET = "not-the-real-token"

CHECKS = [
    {
        "type": "conditionTrue",
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "demo-app",
        "namespace": NAMESPACE,
        "conditionType": "Available",
    }
]

CASES: dict[str, dict[str, Any]] = {
    "DeploymentScaleZero": {"type": "DeploymentScaleZero", "parameters": {"name": "demo-app"}},
    "ConfigDrift": {
        "type": "ConfigDrift",
        "parameters": {"name": "demo-config", "key": "mode", "value": "chaos"},
    },
    "ConfigDriftSecret": {
        "type": "ConfigDrift",
        "dangerLevel": "high",
        "parameters": {
            "name": "demo-secret",
            "key": "token",
            "value": INJECTED_SECRET,
            "resourceType": "Secret",
        },
    },
    "LabelStomping": {
        "type": "LabelStomping",
        "dangerLevel": "high",  # app.kubernetes.io/name is a well-known label
        "parameters": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "demo-app",
            "labelKey": "app.kubernetes.io/name",
            "action": "delete",
        },
    },
    "CRDMutation": {
        "type": "CRDMutation",
        "parameters": {
            "apiVersion": WIDGET_API,
            "kind": "Widget",
            "name": "demo-widget",
            "path": "spec.size",
            "value": "7",
        },
    },
}

# The field each case damages, read back to check who left it how.
FIELDS = {
    "DeploymentScaleZero": (DEPLOYMENT, ("spec", "replicas"), 2),
    "ConfigDrift": (CONFIGMAP, ("data", "mode"), "normal"),
    "ConfigDriftSecret": (
        SECRET,
        ("data", "token"),
        base64.b64encode(SECRET_TOKEN.encode()).decode(),
    ),
    "LabelStomping": (DEPLOYMENT, ("metadata", "labels", "app.kubernetes.io/name"), "demo-app"),
    "CRDMutation": (WIDGET, ("spec", "size"), 3),
}


def experiment(case: str, tmp_path: Path, timeout: str) -> Path:
    doc = {
        "apiVersion": "chaos.operatorchaos.io/v1alpha1",
        "kind": "ChaosExperiment",
        "metadata": {"name": f"demo-{case.lower()}"},
        "spec": {
            "target": {"operator": "demo-operator", "component": "demo-operator"},
            "steadyState": {"checks": CHECKS, "timeout": "60s"},
            "injection": {"ttl": "120s", **CASES[case]},
            "hypothesis": {
                "description": f"The demo operator repairs {case} damage by itself.",
                "recoveryTimeout": timeout,
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


async def run_case(sandbox: Any, case: str, tmp_path: Path, timeout: str) -> ToolResult:
    return await run_tool(
        sandbox.kubeconfig,
        "run",
        str(experiment(case, tmp_path, timeout)),
        "--knowledge",
        str(KNOWLEDGE),
        "--stability",
        "1s",
        "--format",
        "json",
        timeout=180,
    )


async def field_of(kube: LightkubeClient, case: str) -> Any:
    ref, path, _ = FIELDS[case]
    node: Any = await kube.get(ref)
    for part in path:
        node = (node or {}).get(part)
    return node


def assert_no_secret(result: ToolResult) -> None:
    text = result.stdout + result.stderr
    for value in (SECRET_TOKEN, INJECTED_SECRET):
        for form in (value, base64.b64encode(value.encode()).decode()):
            assert form not in text, f"a Secret value leaked into the output: {form}"


@pytest.mark.parametrize("case", sorted(CASES))
async def test_operator_repair_is_resilient(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811  (the fixture imported above)
    case: str,
    tmp_path: Path,
) -> None:
    mark = demo_operator.mark()
    result = await run_case(sandbox, case, tmp_path, "30s")
    assert result.rc == 0, result.describe()
    report = result.report()
    assert report["verdict"] == "Resilient", result.describe()
    assert report["recoveryModel"] == "repair"
    assert report["recovery"]["measuredFrom"] == "injection"
    assert "the operator restored the damage" in report["message"]
    (restoration,) = report["restorations"]
    assert restoration["restoredBy"] == "operator", restoration
    repaired_ms = restoration["atMs"]
    recovery_ms = report["recovery"]["recoveryTimeMs"]
    # Recovery is timed from the injection to the repair (or a later check transition),
    # never from a revert of ours: it cannot precede the operator's repair event.
    assert 0 <= repaired_ms <= recovery_ms < 30_000, (repaired_ms, recovery_ms)
    assert report["impact"]["observed"] is True
    lanes = {lane["kind"] for lane in report["timeline"]["lanes"]}
    assert {"fault", "damage", "check", "managed"} <= lanes
    timeline = report["timeline"]
    assert timeline["injectedMs"] <= timeline["repairedMs"] <= timeline["recoveredMs"]
    assert timeline["restoredByToolMs"] is None
    assert "repaired" in demo_operator.log_since(mark), demo_operator.tail()
    assert await field_of(kube, case) == FIELDS[case][2]
    assert await leftovers(kube) == []
    assert_no_secret(result)


@pytest.mark.parametrize("case", sorted(CASES))
async def test_unrepaired_damage_fails_and_the_tool_restores_it(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811  (the fixture imported above)
    case: str,
    tmp_path: Path,
) -> None:
    await demo_operator.pause()
    try:
        result = await run_case(sandbox, case, tmp_path, "6s")
        # The operator is still paused: whatever is back now, operator-chaos put it back.
        restored = await field_of(kube, case)
    finally:
        await demo_operator.resume()
    assert result.rc == 11, result.describe()
    report = result.report()
    assert report["verdict"] == "Failed"
    assert "the operator did not restore" in report["message"], report["message"]
    assert report["message"].endswith("operator-chaos restored it"), report["message"]
    (restoration,) = report["restorations"]
    assert restoration["restoredBy"] == "operator-chaos", restoration
    assert report["timeline"]["restoredByToolMs"] is not None
    assert report["timeline"]["repairedMs"] is None
    assert restored == FIELDS[case][2]
    assert await leftovers(kube) == []
    assert_no_secret(result)
    # every report format says who restored it
    text = json.dumps(report)
    assert "operator-chaos" in text


@pytest.mark.parametrize(
    "injection", ["FinalizerBlock", "NetworkPartition", "RBACRevoke", "WebhookDisrupt"]
)
async def test_a_condition_fault_judged_as_repair_fails_when_nobody_repairs(
    kube: LightkubeClient, sandbox: Any, injection: str
) -> None:
    """The seed experiments' condition faults, run as repair faults (what the knowledge model
    does when the component owns the object): nothing in the sandbox restores the policy,
    the binding or the webhook, so the same experiment that is Resilient as a condition
    (tests/cluster/test_engine_seed.py) is Failed here, and operator-chaos restores it."""
    from engine_support import SEEDS, fault_in_effect, settle

    await settle(kube)
    result = await run_tool(
        sandbox.kubeconfig,
        "run",
        str(SEEDS[injection]),
        "--set",
        "spec.injection.recoveryModel=repair",
        "--set",
        "spec.hypothesis.recoveryTimeout=3s",
        "--stability",
        "1s",
        "--format",
        "json",
    )
    assert result.rc == 11, result.describe()
    report = result.report()
    assert report["recoveryModel"] == "repair"
    assert report["verdict"] == "Failed"
    assert "the operator did not restore" in report["message"]
    assert report["message"].endswith("within 3s; operator-chaos restored it")
    assert [r["restoredBy"] for r in report["restorations"]] == ["operator-chaos"]
    assert not await fault_in_effect(kube, injection)
    assert await leftovers(kube) == []
