"""QuotaExhaustion, PDBBlock, OwnerRefOrphan and LeaderElectionDisrupt on the real sandbox.

Each type: its refusals; ``--dry-run`` changes nothing; the fault is really in effect while held
(a Pod create refused by quota admission, a dry-run eviction refused for the budget, the owner
references gone, the Lease held by operator-chaos); ``kill -9`` during the hold, then ``clean``,
leaves every touched object as before (or as the operator reconciled it); the verdict follows
the recovery model. Condition faults are held and lifted (Resilient). For the repair faults,
the Resilient and Failed runs differ in one thing each: who must repair (kube's deployment
controller re-adopts an orphaned ReplicaSet, the training-operator does not re-adopt its job's
pod) and how long our Lease holder claims the Lease (15 s, or longer than the recovery timeout).
"""

from pathlib import Path
from typing import Any

import pytest
import yaml
from engine_support import (
    NS,
    OPERATOR_SELECTOR,
    SEED_DIR,
    PausedRun,
    ToolResult,
    leftovers,
    run_tool,
    settle,
)

from operator_chaos.exitcodes import ExitStatus
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube import wait
from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import RawObject, ResourceRef

TYPES = ("QuotaExhaustion", "PDBBlock", "OwnerRefOrphan", "LeaderElectionDisrupt")
SEEDS = {
    "QuotaExhaustion": SEED_DIR / "quota-exhaustion.yaml",
    "PDBBlock": SEED_DIR / "pdb-block.yaml",
    "OwnerRefOrphan": SEED_DIR / "owner-ref-orphan.yaml",
    "LeaderElectionDisrupt": SEED_DIR / "leader-election-disrupt.yaml",
}
CONDITION = ("QuotaExhaustion", "PDBBlock")
QUOTA = ResourceRef("v1", "ResourceQuota", "chaos-quota-training-operator", NS)
PDB = ResourceRef("policy/v1", "PodDisruptionBudget", "chaos-pdb-training-operator", NS)
WORKER = ResourceRef("v1", "Pod", "test-pytorchjob-worker-0", NS)
LEASE = ResourceRef(
    "coordination.k8s.io/v1", "Lease", "training-operator-controller-manager-leader-election", NS
)
CHAOS_HOLDER = "operator-chaos-"


# -- helpers ----------------------------------------------------------------------------------


def variant(case: str, tmp_path: Path, **changes: Any) -> Path:
    """The seed experiment of ``case`` with ``changes`` merged into its spec (dotted keys)."""
    doc = yaml.safe_load(SEEDS[case].read_text())
    for dotted, value in changes.items():
        node = doc["spec"]
        *parents, last = dotted.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    path = tmp_path / f"{case}-{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


async def run(sandbox: Any, path: Path, *extra: str) -> ToolResult:
    return await run_tool(
        sandbox.kubeconfig, "run", str(path), "--stability", "1s", *extra, timeout=240
    )


def holder(lease: RawObject | None) -> str:
    return str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")


async def state(kube: LightkubeClient) -> dict[str, Any]:
    """What the four faults touch, normalized: the objects we create must be absent, the
    worker pod owned as before, the Lease led by the operator (any of its identities)."""
    quotas = await kube.list("v1", "ResourceQuota", NS)
    budgets = await kube.list("policy/v1", "PodDisruptionBudget", NS)
    worker = await kube.get(WORKER)
    lease = await kube.get(LEASE)
    return {
        "quotas": sorted(q["metadata"]["name"] for q in quotas.items),
        "budgets": sorted(b["metadata"]["name"] for b in budgets.items),
        "worker": (worker["metadata"]["uid"], worker["metadata"].get("ownerReferences")),
        "leaseLedByOperator": bool(holder(lease)) and not holder(lease).startswith(CHAOS_HOLDER),
    }


async def operator_leads(kube: LightkubeClient, timeout: float = 90.0) -> None:
    """Wait (watching) until a holder that is not ours has the Lease."""
    await wait.wait_for(
        kube,
        LEASE.api_version,
        LEASE.kind,
        LEASE.name,
        NS,
        lambda o: bool(holder(o)) and not holder(o).startswith(CHAOS_HOLDER),
        timeout=timeout,
    )


async def in_effect(kube: LightkubeClient, case: str) -> str:
    """Proof from the API server that the fault of ``case`` acts right now ('' if not)."""
    if case == "QuotaExhaustion":
        probe = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "quota-probe", "namespace": NS},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/probe:1"}]},
        }
        try:
            await kube.create(probe)
        except kube_errors.Forbidden as exc:
            return str(exc) if "exceeded quota" in str(exc) else ""
        await kube.delete(ResourceRef("v1", "Pod", "quota-probe", NS), grace_period_seconds=0)
        return ""
    if case == "PDBBlock":
        pods = await kube.list("v1", "Pod", NS, label_selector=OPERATOR_SELECTOR)
        pod = ResourceRef("v1", "Pod", pods.items[0]["metadata"]["name"], NS)
        eviction = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod.name, "namespace": NS},
            "deleteOptions": {"dryRun": ["All"]},
        }
        try:
            await kube.create_subresource(pod, "eviction", eviction)
        except kube_errors.KubeError as exc:
            return str(exc) if exc.status.get("code") == 429 else ""
        return ""
    if case == "OwnerRefOrphan":
        refs = (await kube.get(WORKER))["metadata"].get("ownerReferences")
        return "" if refs else "worker pod has no ownerReferences"
    lease_holder = holder(await kube.get(LEASE))
    return lease_holder if lease_holder.startswith(CHAOS_HOLDER) else ""


@pytest.fixture
async def steady(kube: LightkubeClient, sandbox: Any) -> Any:
    await settle(kube)
    await operator_leads(kube)
    before = await state(kube)
    assert before["quotas"] == [], before
    assert before["budgets"] == [], before
    assert before["worker"][1], before
    assert await leftovers(kube) == []
    yield before
    if await leftovers(kube):  # a failed test: put things back for the next one
        await run_tool(sandbox.kubeconfig, "clean", "--all")


# -- refusals -----------------------------------------------------------------------------------

REFUSALS: dict[str, tuple[str, dict[str, Any], ExitStatus, str]] = {
    "pdb-no-pods": (
        "PDBBlock",
        {"injection__parameters__labelSelector": "app=no-such-pods"},
        ExitStatus.UNSAFE,
        "matches no pods",
    ),
    "orphan-no-owner": (
        "OwnerRefOrphan",
        {
            "injection__parameters__kind": "Service",
            "injection__parameters__name": "training-operator-controller-manager-metrics-service",
        },
        ExitStatus.NOT_APPLICABLE,
        "has no ownerReferences",
    ),
    "lease-missing": (
        "LeaderElectionDisrupt",
        {"injection__parameters__name": "no-such-lease"},
        ExitStatus.NOT_APPLICABLE,
        "not found",
    ),
    "quota-tool-namespace": (
        "QuotaExhaustion",
        {"blastRadius__allowedNamespaces": ["operator-chaos"]},
        ExitStatus.UNSAFE,
        "in the tool namespace",
    ),
    "quota-system-namespace": (
        "QuotaExhaustion",
        {"blastRadius__allowedNamespaces": ["kube-system"]},
        ExitStatus.UNSAFE,
        "protected",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
async def test_refusals_change_nothing(
    name: str, kube: LightkubeClient, sandbox: Any, steady: Any, tmp_path: Path
) -> None:
    case, changes, status, words = REFUSALS[name]
    result = await run(sandbox, variant(case, tmp_path, **changes))
    assert result.rc == status, result.describe()
    assert words in result.stderr, result.describe()
    assert await state(kube) == steady
    assert await leftovers(kube) == []


async def test_a_taken_quota_name_is_refused_and_left_alone(
    kube: LightkubeClient, sandbox: Any, steady: Any, tmp_path: Path
) -> None:
    theirs = await kube.create(
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": QUOTA.name, "namespace": NS},
            "spec": {"hard": {"pods": "100"}},
        }
    )
    try:
        result = await run(sandbox, SEEDS["QuotaExhaustion"], "--hold", "2s")
        assert result.rc == ExitStatus.NOT_APPLICABLE, result.describe()
        assert "is not operator-chaos's" in result.stderr, result.describe()
        after = await kube.get(QUOTA)
        assert after["metadata"]["uid"] == theirs["metadata"]["uid"]
        assert after["spec"] == theirs["spec"]
        assert await leftovers(kube) == []
    finally:
        await kube.delete(QUOTA)


# -- dry run ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", TYPES)
async def test_dry_run_changes_nothing(
    case: str, kube: LightkubeClient, sandbox: Any, steady: Any
) -> None:
    worker_rv = (await kube.get(WORKER))["metadata"]["resourceVersion"]
    result = await run(sandbox, SEEDS[case], "--dry-run")
    assert result.rc == 0, result.describe()
    assert "Dry run" in result.stdout, result.describe()
    assert await state(kube) == steady
    assert (await kube.get(WORKER))["metadata"]["resourceVersion"] == worker_rv
    assert await leftovers(kube) == []


# -- in effect while held; SIGKILL, then clean ------------------------------------------------


@pytest.mark.parametrize("case", TYPES)
async def test_active_while_held_and_clean_after_sigkill(
    case: str, kube: LightkubeClient, sandbox: Any, steady: Any
) -> None:
    checkpoint = "holding" if case in CONDITION else "observing"
    paused = await PausedRun.start(
        sandbox.kubeconfig, checkpoint, "run", str(SEEDS[case]), "--hold", "60s"
    )
    try:
        proof = await in_effect(kube, case)
        assert proof, f"{case} is not in effect at {checkpoint}:\n{paused.stderr}"
    finally:
        assert await paused.kill() == -9
    assert await in_effect(kube, case), "the fault vanished without a revert"

    cleaned = await run_tool(sandbox.kubeconfig, "clean")

    assert cleaned.rc == 0, cleaned.describe()
    assert not await in_effect(kube, case)
    after = await state(kube)
    assert after == steady, (steady, after)
    assert await leftovers(kube) == []
    again = await run_tool(sandbox.kubeconfig, "clean")
    assert again.stdout.strip() == "nothing to clean", again.describe()


# -- verdicts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CONDITION)
async def test_condition_faults_are_held_lifted_and_resilient(
    case: str, kube: LightkubeClient, sandbox: Any, steady: Any
) -> None:
    result = await run(sandbox, SEEDS[case], "--hold", "3s", "--format", "json")
    assert result.rc == 0, result.describe()
    report = result.report()
    assert report["verdict"] == "Resilient", result.describe()
    assert report["recoveryModel"] == "condition"
    assert report["recovery"]["measuredFrom"] == "lift"
    confirmations = " ".join(report["injection"]["confirmations"])
    if case == "QuotaExhaustion":
        assert "quota controller status" in confirmations, confirmations
        assert "pods" in confirmations
    else:
        assert "disruptionsAllowed 0" in confirmations, confirmations
        assert "is refused by the API server" in confirmations, confirmations
    assert [c["action"] for c in report["revert"]["changes"]] == ["removed"]
    assert await state(kube) == steady
    assert await leftovers(kube) == []


async def test_orphaned_replicaset_is_readopted_resilient(
    kube: LightkubeClient, sandbox: Any, steady: Any, tmp_path: Path
) -> None:
    (rs,) = (await kube.list("apps/v1", "ReplicaSet", NS, label_selector=OPERATOR_SELECTOR)).items
    owners = rs["metadata"]["ownerReferences"]
    path = variant(
        "OwnerRefOrphan",
        tmp_path,
        injection__parameters__apiVersion="apps/v1",
        injection__parameters__kind="ReplicaSet",
        injection__parameters__name=rs["metadata"]["name"],
    )
    result = await run(sandbox, path, "--format", "json")
    assert result.rc == 0, result.describe()
    report = result.report()
    assert report["verdict"] == "Resilient", result.describe()
    (restoration,) = report["restorations"]
    assert restoration["restoredBy"] == "operator", restoration
    assert [c["action"] for c in report["revert"]["changes"]] == ["already"]
    after = await kube.get(ResourceRef("apps/v1", "ReplicaSet", rs["metadata"]["name"], NS))
    assert [o["uid"] for o in after["metadata"]["ownerReferences"]] == [o["uid"] for o in owners]
    assert await leftovers(kube) == []


async def test_orphaned_job_pod_is_not_readopted_failed(
    kube: LightkubeClient, sandbox: Any, steady: Any, tmp_path: Path
) -> None:
    path = variant("OwnerRefOrphan", tmp_path, hypothesis__recoveryTimeout="8s")
    result = await run(sandbox, path, "--format", "json")
    assert result.rc == ExitStatus.FAILED, result.describe()
    report = result.report()
    assert report["verdict"] == "Failed", result.describe()
    (restoration,) = report["restorations"]
    assert restoration["restoredBy"] == "operator-chaos", restoration
    assert [c["action"] for c in report["revert"]["changes"]] == ["restored"]
    assert await state(kube) == steady  # the same owner references, put back by the tool
    assert await leftovers(kube) == []


async def test_leader_reacquires_the_lease_resilient(
    kube: LightkubeClient, sandbox: Any, steady: Any
) -> None:
    before = holder(await kube.get(LEASE))
    result = await run(sandbox, SEEDS["LeaderElectionDisrupt"], "--format", "json")
    assert result.rc == 0, result.describe()
    report = result.report()
    assert report["verdict"] == "Resilient", result.describe()
    (restoration,) = report["restorations"]
    assert restoration["restoredBy"] == "operator", restoration
    # The leader stepped down and a restarted process (a new identity) took over.
    now = holder(await kube.get(LEASE))
    assert now != before
    assert not now.startswith(CHAOS_HOLDER)
    assert [c["action"] for c in report["revert"]["changes"]] == ["already"]
    assert await leftovers(kube) == []


async def test_lease_held_past_the_timeout_fails_and_is_given_back(
    kube: LightkubeClient, sandbox: Any, steady: Any, tmp_path: Path
) -> None:
    path = variant(
        "LeaderElectionDisrupt",
        tmp_path,
        injection__parameters__leaseDurationSeconds=600,
        hypothesis__recoveryTimeout="8s",
    )
    result = await run(sandbox, path, "--format", "json")
    assert result.rc == ExitStatus.FAILED, result.describe()
    report = result.report()
    assert report["verdict"] == "Failed", result.describe()
    (restoration,) = report["restorations"]
    assert restoration["restoredBy"] == "operator-chaos", restoration
    assert [c["action"] for c in report["revert"]["changes"]] == ["restored"]
    assert not holder(await kube.get(LEASE)).startswith(CHAOS_HOLDER)
    await operator_leads(kube)  # and the operator leads again on its own after that
    assert await leftovers(kube) == []
