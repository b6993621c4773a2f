"""``kill -9`` at every checkpoint, then ``operator-chaos clean`` puts everything back.

The tool is started with ``OPERATOR_CHAOS_PAUSE_AT=<checkpoint>``; once it prints ``paused at
<checkpoint>`` the cluster is checked (the ledger and the fault are in the state that point
implies) and the process is SIGKILLed, so no ``finally`` runs. ``clean`` (not ``--all``) must
find the dead owner from its pid, revert exactly what the ledger records, remove the ledger and
the Lease, and a second ``clean`` must have nothing left to do.
"""

import json

import pytest
from engine_support import (
    BINDING_REF,
    HOLDING_TYPES,
    NS,
    QUICK,
    SA_SUBJECT,
    SEEDS,
    PausedRun,
    assert_pristine,
    diff,
    fault_in_effect,
    ledgers,
    leftovers,
    operator_pods,
    repair,
    run_tool,
    settle,
    snapshot,
    tool_objects,
)

from operator_chaos.kube.port import PatchType

CHECKPOINTS = ("injecting:recorded", "holding", "observing")
# PodKill is instantaneous: it never holds, so it cannot pause at "holding".
CASES = [(t, c) for t in HOLDING_TYPES for c in CHECKPOINTS] + [
    ("PodKill", "injecting:recorded"),
    ("PodKill", "observing"),
]
EXPERIMENT = {
    "PodKill": "training-operator-pod-kill",
    "NetworkPartition": "training-operator-network-partition",
    "FinalizerBlock": "training-operator-finalizer-block",
    "RBACRevoke": "training-operator-rbac-revoke",
    "WebhookDisrupt": "training-operator-webhook-disrupt",
}
# What `clean` reports restoring: before the change (only the record exists) or during it.
CLEAN_SAYS = {  # "<target> <field>: <action> [detail]", the line of a structured outcome
    ("PodKill", "injecting:recorded"): ": gone",
    # A repair fault is observed before anything is reverted: the ledger is still there.
    ("PodKill", "observing"): ": gone",
    ("NetworkPartition", "injecting:recorded"): ": gone",
    ("NetworkPartition", "holding"): ": removed",
    ("FinalizerBlock", "injecting:recorded"): "finalizer training-operator.kubeflow.org/finalizer:"
    " already",
    ("FinalizerBlock", "holding"): "finalizer training-operator.kubeflow.org/finalizer: removed",
    ("RBACRevoke", "injecting:recorded"): "subjects: already",
    ("RBACRevoke", "holding"): "subjects: restored"
    " [ServiceAccount:opendatahub/training-operator-controller-manager]",
    ("WebhookDisrupt", "injecting:recorded"): "failurePolicy: already",
    (
        "WebhookDisrupt",
        "holding",
    ): "failurePolicy: restored vpytorchjob.kubeflow.org: Ignore -> Fail",
}


@pytest.fixture
async def steady(kube, sandbox):
    await settle(kube)
    await assert_pristine(kube)
    yield
    await repair(kube, sandbox.kubeconfig)


def record_states(ledger_cm):
    data = ledger_cm.get("data") or {}
    return [json.loads(v)["state"] for k, v in sorted(data.items()) if k.startswith("record-")]


async def held_leases(kube):
    return {
        k: (o.get("spec") or {}).get("holderIdentity")
        for k, o in (await tool_objects(kube)).items()
        if k.startswith("Lease/")
    }


@pytest.mark.parametrize(("injection", "checkpoint"), CASES)
async def test_sigkill_at_checkpoint_then_clean_restores_everything(
    injection, checkpoint, kube, sandbox, steady
):
    pod_identity = injection != "PodKill"
    before = await snapshot(kube, pod_identity=pod_identity)
    pods_before = {p["metadata"]["uid"] for p in await operator_pods(kube)}

    paused = await PausedRun.start(
        sandbox.kubeconfig, checkpoint, "run", str(SEEDS[injection]), *QUICK
    )
    try:
        books = await ledgers(kube)
        leases = await held_leases(kube)
        # The component's Lease and one footprint lock per touched object (one target here).
        assert len(leases) == 2, leases
        assert all(leases.values()), leases
        assert sum(1 for k in leases if k.startswith("Lease/chaos-lock-")) == 2, leases
        if checkpoint == "injecting:recorded":
            # Write-ahead: the record exists, the change does not yet.
            assert len(books) == 1, books
            assert record_states(books[0]) == ["pending"]
            if injection == "PodKill":
                assert {p["metadata"]["uid"] for p in await operator_pods(kube)} == pods_before
            else:
                assert not await fault_in_effect(kube, injection)
        elif checkpoint == "holding":
            assert len(books) == 1, books
            assert record_states(books[0]) == ["applied"]
            assert await fault_in_effect(kube, injection)
        elif injection == "PodKill":  # observing a repair fault: nothing reverted yet
            assert len(books) == 1, books
        else:  # observing: the run reverted and dropped its ledger; only its Leases are left
            assert books == []
            if injection != "PodKill":
                assert not await fault_in_effect(kube, injection)
    finally:
        rc = await paused.kill()
    assert rc == -9, paused.stderr

    cleaned = await run_tool(sandbox.kubeconfig, "clean")

    assert cleaned.rc == 0, cleaned.describe()
    out = cleaned.stdout
    assert "skipped" not in out, out
    if checkpoint == "observing" and injection != "PodKill":
        assert "restored:" not in out, out
        assert "removed ledger" not in out, out
    else:
        expected = f"restored: {EXPERIMENT[injection]}: "
        lines = [line for line in out.splitlines() if line.startswith(expected)]
        assert len(lines) == 1, out
        assert CLEAN_SAYS[(injection, checkpoint)] in lines[0], out
        assert "removed ledger operator-chaos/chaos-run-" in out
    assert "removed lease operator-chaos/chaos-lock-" in out, out
    assert await leftovers(kube) == []

    await settle(kube)
    after = await snapshot(kube, pod_identity=pod_identity)
    assert after == before, diff(before, after)
    if injection == "PodKill" and checkpoint == "injecting:recorded":
        assert {p["metadata"]["uid"] for p in await operator_pods(kube)} == pods_before

    again = await run_tool(sandbox.kubeconfig, "clean")
    assert again.rc == 0, again.describe()
    assert again.stdout.strip() == "nothing to clean"


async def test_clean_does_not_clobber_subjects_set_after_the_fault(kube, sandbox, steady):
    theirs = [
        dict(SA_SUBJECT),
        {"kind": "ServiceAccount", "name": "engine-conflict", "namespace": NS},
    ]
    paused = await PausedRun.start(
        sandbox.kubeconfig, "holding", "run", str(SEEDS["RBACRevoke"]), *QUICK
    )
    try:
        assert await fault_in_effect(kube, "RBACRevoke")
    finally:
        assert await paused.kill() == -9
    try:
        # "The operator" repairs the binding its own way before anybody runs clean.
        await kube.patch(BINDING_REF, {"subjects": theirs}, PatchType.MERGE)

        cleaned = await run_tool(sandbox.kubeconfig, "clean")

        assert cleaned.rc == 0, cleaned.describe()
        assert "subjects: left changed since the fault to [" in cleaned.stdout, cleaned.stdout
        assert (await kube.get(BINDING_REF))["subjects"] == theirs
        assert await leftovers(kube) == []
        again = await run_tool(sandbox.kubeconfig, "clean")
        assert again.stdout.strip() == "nothing to clean"
    finally:
        await kube.patch(BINDING_REF, {"subjects": [SA_SUBJECT]}, PatchType.MERGE)


@pytest.mark.parametrize("second", ["WebhookDisrupt", "RBACRevoke"])
async def test_next_run_reverts_a_stale_fault_first(kube, sandbox, steady, second):
    """A killed RBACRevoke leaves the binding empty. The next run, on another target or on the
    same one, reverts it *before* planning: a plan of the same RBACRevoke would otherwise
    refuse ("nothing to revoke") and the fault would stay for good."""
    before = await snapshot(kube)
    paused = await PausedRun.start(
        sandbox.kubeconfig, "holding", "run", str(SEEDS["RBACRevoke"]), *QUICK
    )
    try:
        assert await fault_in_effect(kube, "RBACRevoke")
    finally:
        assert await paused.kill() == -9

    result = await run_tool(
        sandbox.kubeconfig, "run", str(SEEDS[second]), *QUICK, "--format", "json"
    )

    assert result.rc == 0, result.describe()
    stale = [line for line in result.stderr.splitlines() if "reverted a stale fault first" in line]
    assert len(stale) == 1, result.describe()
    assert (
        "training-operator-rbac-revoke: ClusterRoleBinding training-operator-manager-rolebinding"
        " subjects: restored" in stale[0]
    )
    report = result.report()
    assert report["verdict"] == "Resilient"
    assert any(e["action"] == "clean" for e in report["events"])
    assert await leftovers(kube) == []
    await settle(kube)
    after = await snapshot(kube)
    assert after == before, diff(before, after)
    again = await run_tool(sandbox.kubeconfig, "clean")
    assert again.stdout.strip() == "nothing to clean"


async def test_next_run_is_not_locked_out_by_a_run_killed_after_its_revert(kube, sandbox, steady):
    """Killed while observing, a run has no ledger left but still holds the target's Lease:
    the next run's sweep must see that its holder is dead instead of waiting for expiry."""
    before = await snapshot(kube)
    paused = await PausedRun.start(
        sandbox.kubeconfig, "observing", "run", str(SEEDS["NetworkPartition"]), *QUICK
    )
    assert await paused.kill() == -9
    assert len(await held_leases(kube)) == 2  # the component lease and a footprint lock

    result = await run_tool(
        sandbox.kubeconfig, "run", str(SEEDS["FinalizerBlock"]), *QUICK, "--format", "json"
    )

    assert result.rc == 0, result.describe()
    assert result.report()["verdict"] == "Resilient"
    assert await leftovers(kube) == []
    await settle(kube)
    after = await snapshot(kube)
    assert after == before, diff(before, after)
