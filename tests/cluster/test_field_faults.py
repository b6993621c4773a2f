"""The field-setting faults (DeploymentScaleZero, ConfigDrift, LabelStomping, CRDMutation)
against the real API server: each runs to a verdict, leaves the object exactly as it was, and
a revert never overwrites a value somebody changed after the fault."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from operator_chaos.api.v1alpha1 import Verdict
from operator_chaos.injection import registry
from operator_chaos.injection.protocol import RevertAction, Scope
from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import ResourceRef
from operator_chaos.load.experiments import load_text
from operator_chaos.orchestrator.lifecycle import RunOptions, run_experiment
from operator_chaos.safety import ledger
from operator_chaos.safety.owner import Owner

NS = "opendatahub"
DEPLOYMENT = ResourceRef("apps/v1", "Deployment", "training-operator-controller-manager", NS)
JOB = ResourceRef("kubeflow.org/v1", "PyTorchJob", "test-pytorchjob", NS)
AVAILABLE = {
    "type": "conditionTrue",
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "name": DEPLOYMENT.name,
    "namespace": NS,
    "conditionType": "Available",
}


def experiment(name: str, injection: dict[str, Any], *, dangerous: bool = False) -> str:
    doc = {
        "apiVersion": "chaos.operatorchaos.io/v1alpha1",
        "kind": "ChaosExperiment",
        "metadata": {"name": name},
        "spec": {
            "target": {
                "operator": "training-operator",
                "component": "training-operator-controller-manager",
            },
            "steadyState": {"checks": [AVAILABLE], "timeout": "30s"},
            "injection": {"ttl": "60s", **injection},
            "hypothesis": {"description": name, "recoveryTimeout": "4s"},
            "blastRadius": {
                "maxPodsAffected": 1,
                "allowedNamespaces": [NS],
                "allowDangerous": dangerous,
            },
        },
    }
    return yaml.safe_dump(doc)


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "labels": meta.get("labels"),
        "annotations": {
            k: v for k, v in (meta.get("annotations") or {}).items() if "last-applied" not in k
        },
        "spec": obj.get("spec"),
        "data": obj.get("data"),
    }


async def run(kube: LightkubeClient, text: str, tmp_path: Path) -> Any:
    (loaded,) = load_text(text, tmp_path / "experiment.yaml")
    options = RunOptions(hold=timedelta(seconds=1), stability=timedelta(seconds=1))
    return await run_experiment(kube, loaded, options)


@pytest.fixture
async def configmap(kube: LightkubeClient) -> Any:
    ref = ResourceRef("v1", "ConfigMap", "chaos-test-settings", NS)
    await kube.delete(ref)
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": ref.name, "namespace": NS},
            "data": {"mode": "safe"},
        }
    )
    yield ref
    await kube.delete(ref)


CASES = {
    "scale-zero": (
        DEPLOYMENT,
        {
            "type": "DeploymentScaleZero",
            "dangerLevel": "high",
            "parameters": {"name": DEPLOYMENT.name},
        },
        True,
    ),
    "label-stomp": (
        DEPLOYMENT,
        {
            "type": "LabelStomping",
            "parameters": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": DEPLOYMENT.name,
                "labelKey": "control-plane",
                "action": "delete",
            },
        },
        False,
    ),
    "crd-mutation": (
        JOB,
        {
            "type": "CRDMutation",
            "parameters": {
                "apiVersion": "kubeflow.org/v1",
                "kind": "PyTorchJob",
                "name": JOB.name,
                "path": "spec.elasticPolicy.maxRestarts",
                "value": "3",
            },
        },
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_unmanaged_field_fault_fails_and_the_tool_restores_the_object(
    kube: LightkubeClient, tmp_path: Path, case: str
) -> None:
    """Nothing in the training-operator scenario reconciles these fields (the Deployment's
    replicas and labels, the PyTorchJob's spec are the user's), so nobody repairs them: the
    verdict is Failed and it is operator-chaos that puts the object back as it was.
    (tests/cluster/test_repair_verdicts.py has the twin, with an operator that repairs.)"""
    ref, injection, dangerous = CASES[case]
    before = comparable(await kube.get(ref))
    outcome = await run(kube, experiment(f"field-{case}", injection, dangerous=dangerous), tmp_path)
    assert outcome.error is None, outcome.error
    result = outcome.result
    assert result.verdict is Verdict.FAILED, result.message
    assert result.message.endswith("within 4s; operator-chaos restored it"), result.message
    assert [r.restored_by for r in result.restorations] == ["operator-chaos"]
    assert result.injection is not None
    assert result.injection.confirmations, "the fault was not confirmed"
    assert result.revert
    assert result.revert.reverted
    assert comparable(await kube.get(ref)) == before


async def test_config_drift_sets_the_key_while_held_and_restores_it(
    kube: LightkubeClient, tmp_path: Path, configmap: ResourceRef
) -> None:
    text = experiment(
        "field-config-drift",
        {
            "type": "ConfigDrift",
            "parameters": {"name": configmap.name, "key": "mode", "value": "unsafe"},
        },
    )
    outcome = await run(kube, text, tmp_path)
    assert outcome.result.verdict is Verdict.FAILED, outcome.result.message
    assert outcome.result.injection is not None
    assert any("'unsafe'" in line for line in outcome.result.injection.confirmations)
    assert (await kube.get(configmap))["data"] == {"mode": "safe"}


async def test_revert_leaves_a_value_changed_after_the_fault_alone(
    kube: LightkubeClient, configmap: ResourceRef
) -> None:
    """The operator 'repairs' the key to a third value while the fault holds: revert keeps it."""
    injector = registry.injector_for("ConfigDrift")
    spec_text = experiment(
        "field-no-clobber",
        {
            "type": "ConfigDrift",
            "parameters": {"name": configmap.name, "key": "mode", "value": "unsafe"},
        },
    )
    (loaded,) = load_text(spec_text, Path("no-clobber.yaml"))
    params = registry.parse_params(loaded.experiment.spec)
    run_id = ledger.new_run_id()
    scope = Scope(NS, 1, run_id, "field-no-clobber", datetime.now(UTC) + timedelta(minutes=5))
    run_ledger = ledger.RunLedger(
        kube,
        "operator-chaos-test",
        ledger.RunInfo(
            run_id=run_id,
            experiment="field-no-clobber",
            owner=Owner.current(),
            started_at=datetime.now(UTC),
            expires_at=scope.expires_at,
        ),
    )
    await run_ledger.create()
    try:
        plan = await injector.plan(kube, params, scope)
        await injector.inject(kube, params, scope, plan, run_ledger)
        assert (await kube.get(configmap))["data"]["mode"] == "unsafe"
        await kube.patch(configmap, {"data": {"mode": "repaired"}})
        (record,) = run_ledger.records.values()
        outcome = await injector.revert(kube, record)
        assert outcome.action is RevertAction.LEFT
        assert "'repaired'" in outcome.detail
        assert (await kube.get(configmap))["data"]["mode"] == "repaired"
        again = await injector.revert(kube, record)
        assert again.action is RevertAction.LEFT
    finally:
        await run_ledger.delete()
