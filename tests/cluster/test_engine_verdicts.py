"""Verdicts other than Resilient, each produced by what really happens on the cluster.

- Failed: a bare pod (no controller) is killed; nothing brings it back within the timeout.
- Inconclusive: the steady state does not hold before the fault; nothing is injected.
- Degraded: the operator recovers, but another component's check broke on the way
  (collateral damage), or it took more reconcile cycles than the knowledge model allows.
"""

import pytest
import yaml
from engine_support import (
    DATA,
    KNOWLEDGE,
    NS,
    QUICK,
    SEEDS,
    assert_pristine,
    diff,
    ledgers,
    leftovers,
    operator_pods,
    repair,
    result_configmap,
    run_tool,
    settle,
    snapshot,
)

from operator_chaos.exitcodes import ExitStatus
from operator_chaos.kube import wait
from operator_chaos.kube.port import ResourceRef
from operator_chaos.orchestrator import results

BARE_POD = "engine-bare-pod"
BARE_REF = ResourceRef("v1", "Pod", BARE_POD, NS)


@pytest.fixture
async def steady(kube, sandbox):
    await settle(kube)
    await assert_pristine(kube)
    yield
    await repair(kube, sandbox.kubeconfig)


@pytest.fixture
async def bare_pod(kube, steady):
    """A Running, Ready pod with no owner: once deleted, nobody recreates it."""
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": BARE_POD, "namespace": NS, "labels": {"engine-test": "bare-pod"}},
            "spec": {
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "main", "image": "registry.invalid/engine:never-pulled"}],
            },
        }
    )
    try:
        yield await wait.wait_for(
            kube, "v1", "Pod", BARE_POD, NS, lambda o: wait.condition_true(o, "Ready"), timeout=60
        )
    finally:
        await kube.delete(BARE_REF, grace_period_seconds=0)
        await wait.wait_for(kube, "v1", "Pod", BARE_POD, NS, lambda o: o is None, timeout=60)


def assert_stored(cm, run_id, verdict):
    assert cm is not None, f"no chaos-result-{run_id}"
    assert cm["metadata"]["labels"]["chaos.operatorchaos.io/verdict"] == verdict
    assert results.decode(cm).verdict == verdict


async def test_killed_pod_nobody_replaces_is_failed(kube, sandbox, bare_pod):
    uid = bare_pod["metadata"]["uid"]

    result = await run_tool(
        sandbox.kubeconfig,
        "run",
        str(DATA / "bare-pod-kill.yaml"),
        "--set",
        "spec.hypothesis.recoveryTimeout=3s",
        "--stability",
        "1s",
        "--format",
        "json",
    )

    assert result.rc == int(ExitStatus.FAILED), result.describe()
    report = result.report()
    assert report["verdict"] == "Failed"
    # A repair fault: nobody replaced the pod, and a deleted pod is not something the tool
    # can restore either; the verdict says exactly that.
    assert report["message"] == (
        f"the operator did not restore Pod {NS}/{BARE_POD} (pod) within 3s; nobody restored it"
    )
    (restoration,) = report["restorations"]
    assert restoration["restoredBy"] == "nobody"
    assert report["recoveryModel"] == "repair"
    assert report["injection"]["targets"] == [f"Pod {NS}/{BARE_POD}"]
    assert report["injection"]["confirmations"] in (
        [f"Pod {NS}/{BARE_POD}: gone"],
        [f"Pod {NS}/{BARE_POD}: terminating"],
    )
    recovery = report["recovery"]
    assert recovery["recovered"] is False
    assert recovery["recoveryTimeMs"] is None
    assert recovery["timeoutMs"] == 3000
    assert report["steadyStatePre"]["passed"] is True
    assert report["steadyStatePost"]["passed"] is False
    # The cluster agrees: the pod we made is gone for good.
    gone = await wait.wait_for(
        kube,
        "v1",
        "Pod",
        BARE_POD,
        NS,
        lambda o: o is None or o["metadata"]["uid"] != uid,
        timeout=30,
    )
    assert gone is None
    assert await leftovers(kube) == []
    assert_stored(await result_configmap(kube, report["runId"]), report["runId"], "Failed")


async def test_steady_state_not_met_is_inconclusive_and_injects_nothing(kube, sandbox, steady):
    before = await snapshot(kube)  # with pod identity: the operator pod must not be touched
    pods = {p["metadata"]["uid"] for p in await operator_pods(kube)}

    result = await run_tool(
        sandbox.kubeconfig,
        "run",
        str(DATA / "missing-steady-state.yaml"),
        "--stability",
        "1s",
        "--format",
        "json",
    )

    assert result.rc == int(ExitStatus.INCONCLUSIVE), result.describe()
    report = result.report()
    assert report["verdict"] == "Inconclusive"
    assert report["message"] == (
        "steady state not met before injection: ConfigMap opendatahub/engine-does-not-exist exists"
    )
    assert report["steadyStatePre"]["passed"] is False
    assert report["steadyStatePre"]["checks"][0]["error"] == "not found"
    assert report["injection"]["injectedAt"] is None
    assert report["injection"]["confirmations"] == []
    assert report["revert"] is None
    assert report["recovery"] is None
    phases = [p["phase"] for p in report["phases"]]
    assert phases == ["Pending", "SteadyStatePre", "Aborted"]
    assert await ledgers(kube) == []
    assert await leftovers(kube) == []
    assert {p["metadata"]["uid"] for p in await operator_pods(kube)} == pods
    after = await snapshot(kube)
    assert after == before, diff(before, after)
    # An aborted run says nothing about recovery: it is not stored as history.
    assert await result_configmap(kube, report["runId"]) is None


def knowledge_file(tmp_path, *, extra_component=None, max_cycles=None):
    data = yaml.safe_load(KNOWLEDGE.read_text())
    if extra_component is not None:
        data["components"].append(extra_component)
    if max_cycles is not None:
        data["recovery"]["maxReconcileCycles"] = max_cycles
    path = tmp_path / "training-operator.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


async def degraded_run(kube, sandbox, knowledge, seed="PodKill"):
    before = await snapshot(kube, pod_identity=seed != "PodKill")
    result = await run_tool(
        sandbox.kubeconfig,
        "run",
        str(SEEDS[seed]),
        *QUICK,
        "--knowledge",
        str(knowledge),
        "--format",
        "json",
    )
    assert result.rc == int(ExitStatus.DEGRADED), result.describe()
    report = result.report()
    assert report["verdict"] == "Degraded"
    assert report["recovery"]["recovered"] is True
    assert "recovered in " in report["message"]
    assert "with deviations" in report["message"]
    assert await leftovers(kube) == []
    await settle(kube)
    after = await snapshot(kube, pod_identity=seed != "PodKill")
    assert after == before, diff(before, after)
    assert_stored(await result_configmap(kube, report["runId"]), report["runId"], "Degraded")
    return report


async def test_collateral_damage_to_another_component_is_degraded(kube, sandbox, steady, tmp_path):
    # A second component that depends on the operator's Deployment being fully up: killing
    # the operator pod breaks its checks while the replacement starts.
    watchdog = {
        "name": "engine-watchdog",
        "controller": "Deployment",
        "managedResources": [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "name": "training-operator-controller-manager-metrics-service",
                "namespace": NS,
            }
        ],
        "steadyState": {
            "checks": [
                {
                    "type": "replicaCount",
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "training-operator-controller-manager",
                    "namespace": NS,
                    "expectedReplicas": 1,
                },
            ]
        },
    }
    report = await degraded_run(kube, sandbox, knowledge_file(tmp_path, extra_component=watchdog))

    damage = "Deployment opendatahub/training-operator-controller-manager ready replicas"
    assert report["collateral"] == [damage]
    assert report["deviations"] == [f"collateral damage: {damage}"]


async def test_more_reconcile_cycles_than_allowed_is_degraded(kube, sandbox, steady, tmp_path):
    report = await degraded_run(kube, sandbox, knowledge_file(tmp_path, max_cycles=1))

    cycles = report["recovery"]["reconcileCycles"]
    assert report["recovery"]["maxReconcileCycles"] == 1
    assert cycles > 1
    assert report["deviations"] == [f"{cycles} reconcile cycles, more than maxReconcileCycles 1"]
    assert report["collateral"] == []


async def test_collateral_damage_healed_by_the_revert_still_counts(kube, sandbox, steady, tmp_path):
    """Another component relies on the PyTorchJob webhook failing closed. WebhookDisrupt breaks
    that only while the fault is held; the revert heals it before observation begins, but
    the damage happened and must be reported."""
    admission = {
        "name": "engine-admission-policy",
        "controller": "Deployment",
        "managedResources": [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "name": "training-operator-controller-manager-metrics-service",
                "namespace": NS,
            }
        ],
        "steadyState": {
            "checks": [
                {
                    "type": "fieldEquals",
                    "apiVersion": "admissionregistration.k8s.io/v1",
                    "kind": "ValidatingWebhookConfiguration",
                    "name": "vpytorchjob.kubeflow.org",
                    "fieldPath": "webhooks[0].failurePolicy",
                    "expectedValue": "Fail",
                },
            ]
        },
    }
    report = await degraded_run(
        kube,
        sandbox,
        knowledge_file(tmp_path, extra_component=admission),
        seed="WebhookDisrupt",
    )

    damage = (
        "ValidatingWebhookConfiguration vpytorchjob.kubeflow.org"
        " webhooks[0].failurePolicy == 'Fail'"
    )
    assert report["collateral"] == [damage]
    assert report["deviations"] == [f"collateral damage: {damage}"]
    assert report["steadyStatePost"]["passed"] is True
