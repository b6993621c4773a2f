"""The five seed experiments, run for real: each is Resilient and leaves no trace.

For every run: exit code 0; the JSON report's phases come in lifecycle order with contiguous
timestamps, the recovery time is recorded, and the confirmations prove the fault was really in
effect; afterwards every object a seed experiment touches is as it was before (spec and
metadata, minus what the API server manages), no rollback ledger or Lease is left in the tool
namespace, and the run's result is stored as ConfigMap ``chaos-result-<run>``.
"""

import itertools
import re
from datetime import timedelta

import pytest
from engine_support import (
    QUICK,
    SEEDS,
    assert_pristine,
    diff,
    leftovers,
    operator_pods,
    parse_time,
    repair,
    result_configmap,
    run_tool,
    settle,
    snapshot,
)

from operator_chaos.orchestrator import results

PHASES_HELD = [
    "Pending",
    "SteadyStatePre",
    "Injecting",
    "Holding",
    "Reverting",
    "Observing",
    "SteadyStatePost",
    "Evaluating",
    "Complete",
]
# Repair faults (PodKill): the damage stays until the operator repairs it; the tool reverts
# (here: nothing to restore) only after observing.
PHASES_REPAIR = [
    "Pending",
    "SteadyStatePre",
    "Injecting",
    "Observing",
    "Reverting",
    "SteadyStatePost",
    "Evaluating",
    "Complete",
]

# What each confirmation must say: proof, read back from the cluster, that the fault took.
CONFIRMATIONS = {
    "PodKill": [r"^Pod opendatahub/training-operator-controller-manager-\S+: (gone|terminating)$"],
    "NetworkPartition": [
        r"^NetworkPolicy opendatahub/chaos-partition-{run} denies Ingress\+Egress for 1 pod\(s\)$"
    ],
    "FinalizerBlock": [
        r"^PyTorchJob opendatahub/test-pytorchjob (present|Terminating), finalizer"
        r" training-operator\.kubeflow\.org/finalizer present$"
    ],
    "RBACRevoke": [
        r"^ClusterRoleBinding training-operator-manager-rolebinding now has 0 subject\(s\)$",
        r"^\[ServiceAccount:opendatahub/training-operator-controller-manager\] may no longer"
        r" \S+ \S+ \(SubjectAccessReview\)$",
    ],
    "WebhookDisrupt": [
        r"^ValidatingWebhookConfiguration vpytorchjob\.kubeflow\.org webhook"
        r" vpytorchjob\.kubeflow\.org: effective failurePolicy Ignore$"
    ],
}
REVERTS = {  # (target, field, action) of the structured revert outcome
    "PodKill": (r"^Pod opendatahub/", "", "gone"),
    "NetworkPartition": (r"NetworkPolicy opendatahub/chaos-partition-{run}$", "", "removed"),
    "FinalizerBlock": (
        r"PyTorchJob opendatahub/test-pytorchjob",
        "finalizer training-operator.kubeflow.org/finalizer",
        "removed",
    ),
    "RBACRevoke": (
        r"ClusterRoleBinding training-operator-manager-rolebinding",
        "subjects",
        "restored",
    ),
    "WebhookDisrupt": (r"vpytorchjob\.kubeflow\.org", "failurePolicy", "restored"),
}


@pytest.fixture
async def steady(kube, sandbox):
    """Start from the scenario's steady state, with no fault and no tool state left over."""
    await settle(kube)
    await assert_pristine(kube)
    yield
    await repair(kube, sandbox.kubeconfig)


@pytest.mark.parametrize("injection", list(SEEDS))
async def test_seed_experiment_is_resilient_and_leaves_no_trace(injection, kube, sandbox, steady):
    instant = injection == "PodKill"
    before = await snapshot(kube, pod_identity=not instant)
    old_pods = {p["metadata"]["uid"] for p in await operator_pods(kube)}

    result = await run_tool(
        sandbox.kubeconfig, "run", str(SEEDS[injection]), *QUICK, "--format", "json"
    )

    assert result.rc == 0, result.describe()
    report = result.report()
    run_id = report["runId"]
    assert report["verdict"] == "Resilient", result.describe()
    assert report["phase"] == "Complete"
    assert report["injection"]["type"] == injection

    # Phases in lifecycle order, each closed, each starting where the previous one ended.
    phases = report["phases"]
    assert [p["phase"] for p in phases] == (PHASES_REPAIR if instant else PHASES_HELD)
    for phase in phases:
        assert parse_time(phase["startedAt"]) <= parse_time(phase["endedAt"]), phase
    for prev, nxt in itertools.pairwise(phases):
        assert prev["endedAt"] == nxt["startedAt"], (prev, nxt)
    assert parse_time(report["startedAt"]) <= parse_time(phases[0]["startedAt"])
    assert parse_time(phases[-1]["endedAt"]) <= parse_time(report["endedAt"])
    stamps = [parse_time(e["timestamp"]) for e in report["events"]]
    assert stamps == sorted(stamps)

    injected = report["injection"]
    by_name = {p["phase"]: p for p in phases}
    inject_phase = by_name["Injecting"]
    assert (
        parse_time(inject_phase["startedAt"])
        <= parse_time(injected["injectedAt"])
        <= parse_time(inject_phase["endedAt"])
    )
    if not instant:
        hold = by_name["Holding"]
        held = parse_time(hold["endedAt"]) - parse_time(hold["startedAt"])
        assert held >= timedelta(seconds=2), held
        assert injected["holdMs"] == 2000
        reverting = by_name["Reverting"]
        assert (
            parse_time(reverting["startedAt"])
            <= parse_time(injected["revertedAt"])
            <= parse_time(by_name["Observing"]["startedAt"])
        )

    # Proof that the fault took effect, and of how it was undone.
    confirmations = injected["confirmations"]
    for pattern in CONFIRMATIONS[injection]:
        regex = re.compile(pattern.format(run=re.escape(run_id)))
        assert any(regex.search(c) for c in confirmations), (pattern, confirmations)
    assert report["revert"]["reverted"] is True
    target, field, action = REVERTS[injection]
    target_re = re.compile(target.format(run=re.escape(run_id)))
    assert any(
        target_re.search(c["target"]) and c["field"] == field and c["action"] == action
        for c in report["revert"]["changes"]
    ), report["revert"]

    # Who undid the fault, and what recovery was timed from.
    timeline = report["timeline"]
    (restoration,) = report["restorations"]
    if instant:
        assert report["recoveryModel"] == "repair"
        assert report["recovery"]["measuredFrom"] == "injection"
        assert restoration["restoredBy"] == "operator", restoration
        assert timeline["repairedMs"] is not None
        assert timeline["liftedMs"] is None
        assert timeline["injectedMs"] <= timeline["repairedMs"] <= timeline["recoveredMs"]
    else:
        assert report["recoveryModel"] == "condition"
        assert report["recovery"]["measuredFrom"] == "lift"
        assert restoration["restoredBy"] == "operator-chaos", restoration
        assert timeline["liftedMs"] - timeline["injectedMs"] >= 2000
        assert timeline["liftedMs"] <= timeline["recoveredMs"]
    fault = next(lane for lane in timeline["lanes"] if lane["kind"] == "fault")
    assert [t["ok"] for t in fault["transitions"]][:3] == [True, False, True], fault
    if not report["impact"]["observed"]:
        assert "no impact observed" in report["message"], report["message"]

    recovery = report["recovery"]
    assert recovery["recovered"] is True
    assert isinstance(recovery["recoveryTimeMs"], int)
    assert 0 <= recovery["recoveryTimeMs"] <= recovery["timeoutMs"]
    assert recovery["stabilityWindowMs"] == 1000
    assert report["steadyStatePre"]["passed"]
    assert report["steadyStatePost"]["passed"]
    assert all(m["reconciled"] for m in report["managedResources"]), report["managedResources"]
    assert report["deviations"] == []
    assert report["collateral"] == []

    # The cluster: exactly as before, and nothing of the tool's left but its result.
    await settle(kube)
    after = await snapshot(kube, pod_identity=not instant)
    assert after == before, diff(before, after)
    if instant:
        killed = injected["targets"]
        assert len(killed) == 1
        now = {p["metadata"]["uid"] for p in await operator_pods(kube)}
        assert not (now & old_pods), "the operator pod was not replaced"
    assert await leftovers(kube) == []
    stored = await result_configmap(kube, run_id)
    assert stored is not None, f"no chaos-result-{run_id}"
    assert stored["metadata"]["labels"]["chaos.operatorchaos.io/verdict"] == "Resilient"
    body = results.decode(stored).model_dump(mode="json", by_alias=True)
    assert body["runId"] == run_id
    assert body["verdict"] == "Resilient"
    assert body["experiment"] == report["experiment"]
