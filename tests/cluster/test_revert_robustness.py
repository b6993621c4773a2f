"""Faults must never outlive the tool, even when the ledger or the API server lets it down.

Each test runs the real tool as a subprocess against the sandbox and breaks one thing the
revert depends on: the ledger ConfigMap is deleted while the fault holds; a second experiment
(naming another component) goes for the same object; a ledger record is tampered with; the
kube-apiserver is frozen (SIGSTOP) for longer than a request timeout right before the revert.
A paused run is resumed with SIGUSR1 (see ``orchestrator/checkpoints.py``).
"""

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine_support import (
    NS,
    QUICK,
    SEEDS,
    TOOL_NS,
    PausedRun,
    assert_pristine,
    diff,
    fault_in_effect,
    ledgers,
    leftovers,
    repair,
    run_tool,
    settle,
    snapshot,
)

from operator_chaos.errors import TargetLocked
from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import ResourceRef
from operator_chaos.safety import labels, lease, ledger
from operator_chaos.safety.owner import Owner
from operator_chaos.sandbox import processes
from operator_chaos.sandbox.cluster import Sandbox

VERDICT_EXIT = {"Resilient": 0, "Degraded": 10, "Failed": 11, "Inconclusive": 12}
SETTINGS = ResourceRef("v1", "ConfigMap", "chaos-revert-settings", NS)
DAMAGED_RUN = "20200101-000000-dead"
OUTAGE_SECONDS = 20.0  # longer than the client's 15 s request timeout


@pytest.fixture
async def steady(kube: LightkubeClient, sandbox: Sandbox) -> Any:
    await settle(kube)
    await assert_pristine(kube)
    yield
    await repair(kube, sandbox.kubeconfig)


async def resume(paused: PausedRun, timeout: float = 180.0) -> int:
    """SIGUSR1: the run carries on from its checkpoint; wait for it to exit."""
    paused.proc.send_signal(signal.SIGUSR1)
    out, err = await asyncio.wait_for(paused.proc.communicate(), timeout)
    paused.stderr_lines.append(err.decode())
    paused.stdout = out.decode()
    assert paused.proc.returncode is not None
    return paused.proc.returncode


async def kill_quietly(paused: PausedRun) -> None:
    if paused.proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            paused.proc.kill()
        await paused.proc.communicate()


def report_of(paused: PausedRun) -> dict[str, Any]:
    (result,) = json.loads(paused.stdout)["results"]
    assert isinstance(result, dict)
    return result


# -- 1. the ledger ConfigMap is deleted during the hold ---------------------------------------


async def test_a_run_whose_ledger_is_deleted_during_the_hold_still_reverts(
    kube: LightkubeClient, sandbox: Sandbox, steady: None
) -> None:
    before = await snapshot(kube)
    paused = await PausedRun.start(
        sandbox.kubeconfig, "holding", "run", str(SEEDS["RBACRevoke"]), *QUICK, "--format", "json"
    )
    try:
        (book,) = await ledgers(kube)
        assert await fault_in_effect(kube, "RBACRevoke")
        # What `clean --all` or a stray `kubectl delete` does to a live run.
        await kube.delete(ResourceRef("v1", "ConfigMap", book["metadata"]["name"], TOOL_NS))
        rc = await resume(paused)
    finally:
        await kill_quietly(paused)

    assert not await fault_in_effect(kube, "RBACRevoke"), paused.stderr
    result = report_of(paused)
    assert result["revert"]["reverted"] is True, result["revert"]
    assert [(c["field"], c["action"]) for c in result["revert"]["changes"]] == [
        ("subjects", "restored")
    ]
    assert "is gone" in paused.stderr, paused.stderr
    assert rc == VERDICT_EXIT[result["verdict"]], paused.stderr
    # Nothing was re-created that nobody needs: no ledger, no lease is left.
    assert await leftovers(kube) == []
    await settle(kube)
    after = await snapshot(kube)
    assert after == before, diff(before, after)


# -- 2. two experiments, two components, one object --------------------------------------------


def drift_experiment(path: Path, name: str, component: str, value: str) -> Path:
    doc = {
        "apiVersion": "chaos.operatorchaos.io/v1alpha1",
        "kind": "ChaosExperiment",
        "metadata": {"name": name},
        "spec": {
            "target": {"operator": "training-operator", "component": component},
            "steadyState": {
                "checks": [
                    {
                        "type": "resourceExists",
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "name": SETTINGS.name,
                        "namespace": NS,
                    }
                ],
                "timeout": "30s",
            },
            "injection": {
                "type": "ConfigDrift",
                "ttl": "60s",
                "parameters": {"name": SETTINGS.name, "key": "mode", "value": value},
            },
            "hypothesis": {"description": name, "recoveryTimeout": "5s"},
            "blastRadius": {"maxPodsAffected": 1, "allowedNamespaces": [NS]},
        },
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
async def settings(kube: LightkubeClient) -> Any:
    await kube.delete(SETTINGS)
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": SETTINGS.name, "namespace": NS},
            "data": {"mode": "safe"},
        }
    )
    yield SETTINGS
    await kube.delete(SETTINGS)


async def test_a_second_run_on_an_object_another_run_holds_is_refused(
    kube: LightkubeClient, sandbox: Sandbox, steady: None, settings: ResourceRef, tmp_path: Path
) -> None:
    first = drift_experiment(tmp_path / "a.yaml", "revert-drift-a", "component-a", "from-a")
    second = drift_experiment(tmp_path / "b.yaml", "revert-drift-b", "component-b", "from-b")
    # ConfigDrift is a repair fault: it stays on while the run waits for the operator.
    paused = await PausedRun.start(sandbox.kubeconfig, "observing", "run", str(first), *QUICK)
    try:
        (book,) = await ledgers(kube)
        holder = book["metadata"]["labels"][labels.RUN]
        assert (await kube.get(settings))["data"] == {"mode": "from-a"}

        refused = await run_tool(sandbox.kubeconfig, "run", str(second), *QUICK)

        assert refused.rc == 5, refused.describe()
        assert holder in refused.stderr, refused.describe()
        assert f"ConfigMap {NS}/{SETTINGS.name}" in refused.stderr, refused.describe()
        assert (await kube.get(settings))["data"] == {"mode": "from-a"}  # B changed nothing
        rc = await resume(paused)
    finally:
        await kill_quietly(paused)

    assert rc in VERDICT_EXIT.values(), paused.stderr  # nothing repairs this key: Failed
    assert (await kube.get(settings))["data"] == {"mode": "safe"}
    assert await leftovers(kube) == []


# -- 3. a tampered ledger next to a valid one ------------------------------------------------------


def dead_owner() -> Owner:
    """A process of this host that is certainly gone (pid 2**22 - 1 with a made-up start)."""
    return Owner(host=socket.gethostname(), pid=4_194_303, start_time=1)


def tampered_ledger() -> dict[str, Any]:
    now = datetime.now(UTC)
    info = ledger.RunInfo(
        run_id=DAMAGED_RUN,
        experiment="tampered",
        owner=dead_owner(),
        started_at=now - timedelta(hours=1),
        expires_at=now - timedelta(minutes=30),
    )
    record = ledger.RollbackRecord(
        id="001",
        type="ConfigDrift",
        target=ledger.Target.of(ResourceRef("v1", "ConfigMap", "chaos-revert-nowhere", NS)),
        data={"key": "mode"},
        created_at=info.started_at,
        expires_at=info.expires_at,
        state="applied",
    ).sealed()
    body = json.loads(record.model_dump_json())
    body["checksum"] = "0" * 64  # edited by hand
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"chaos-run-{DAMAGED_RUN}",
            "namespace": TOOL_NS,
            "labels": labels.managed(DAMAGED_RUN, "ledger", **{labels.EXPERIMENT: "tampered"}),
        },
        "data": {"run.json": info.model_dump_json(), "record-001.json": json.dumps(body)},
    }


async def test_a_tampered_ledger_is_kept_and_blocks_nothing_else(
    kube: LightkubeClient, sandbox: Sandbox, steady: None
) -> None:
    damaged = ResourceRef("v1", "ConfigMap", f"chaos-run-{DAMAGED_RUN}", TOOL_NS)
    before = await snapshot(kube, pod_identity=False)
    paused = await PausedRun.start(
        sandbox.kubeconfig, "holding", "run", str(SEEDS["RBACRevoke"]), *QUICK
    )
    try:
        assert await fault_in_effect(kube, "RBACRevoke")
    finally:
        assert await paused.kill() == -9
    await kube.create(tampered_ledger())
    try:
        cleaned = await run_tool(sandbox.kubeconfig, "clean")

        assert cleaned.rc == 7, cleaned.describe()
        out = cleaned.stdout
        assert "restored: training-operator-rbac-revoke: " in out, cleaned.describe()
        assert f"damaged ledger: {TOOL_NS}/chaos-run-{DAMAGED_RUN}" in out, out
        assert "checksum mismatch" in out, out
        assert not await fault_in_effect(kube, "RBACRevoke")
        assert await kube.get_or_none(damaged) is not None, "the damaged ledger was not kept"
        assert [b["metadata"]["name"] for b in await ledgers(kube)] == [damaged.name]

        # A later run on another target is not blocked by it: its sweep only warns.
        await settle(kube)
        later = await run_tool(
            sandbox.kubeconfig, "run", str(SEEDS["PodKill"]), *QUICK, "--format", "json"
        )
        assert later.rc == VERDICT_EXIT[later.report()["verdict"]], later.describe()
        assert later.rc != 7, later.describe()
        assert "damaged rollback ledger" in later.stderr, later.describe()
        assert await kube.get_or_none(damaged) is not None

        again = await run_tool(sandbox.kubeconfig, "clean", "--all")
        assert again.rc == 7, again.describe()
        assert "restored:" not in again.stdout, again.stdout
    finally:
        await kube.delete(damaged)
    assert await leftovers(kube) == []
    await settle(kube)
    after = await snapshot(kube, pod_identity=False)
    assert after == before, diff(before, after)


# -- 4. the API server is down when the revert starts -----------------------------------------


async def test_a_revert_outlasts_an_api_server_outage(
    kube: LightkubeClient, sandbox: Sandbox, steady: None
) -> None:
    apiserver = processes.read(sandbox.pids_dir / "kube-apiserver.pid")
    assert apiserver is not None
    assert apiserver.alive()
    paused = await PausedRun.start(
        sandbox.kubeconfig,
        "reverting",
        "run",
        str(SEEDS["NetworkPartition"]),
        *QUICK,
        "--format",
        "json",
    )
    try:
        assert await fault_in_effect(kube, "NetworkPartition")
        os.kill(apiserver.pid, signal.SIGSTOP)
        try:
            paused.proc.send_signal(signal.SIGUSR1)
            await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself: nothing to watch
        finally:
            os.kill(apiserver.pid, signal.SIGCONT)
        rc = await resume_finished(paused)
    finally:
        await kill_quietly(paused)

    result = report_of(paused)
    assert rc != 7, paused.stderr
    assert result["revert"]["reverted"] is True, result["revert"]
    assert rc == VERDICT_EXIT[result["verdict"]], paused.stderr
    assert not await fault_in_effect(kube, "NetworkPartition")
    # The retries said why: "cannot reach https://127.0.0.1:PORT: <cause>", never an empty cause.
    causes = re.findall(r"cannot reach https://127\.0\.0\.1:\d+: ([^;)\n]*)", paused.stderr)
    assert causes, paused.stderr
    assert all(c.strip() for c in causes), causes
    assert await leftovers(kube) == []


async def resume_finished(paused: PausedRun, timeout: float = 240.0) -> int:
    """Wait for a run already resumed (SIGUSR1 sent) to exit."""
    out, err = await asyncio.wait_for(paused.proc.communicate(), timeout)
    paused.stderr_lines.append(err.decode())
    paused.stdout = out.decode()
    assert paused.proc.returncode is not None
    return paused.proc.returncode


# -- the footprint lock itself, against the real API server -----------------------------------


def lease_ref(name: str) -> ResourceRef:
    return ResourceRef("coordination.k8s.io/v1", "Lease", name, TOOL_NS)


async def leases_of(kube: LightkubeClient, run_id: str) -> list[str]:
    listed = await kube.list(
        "coordination.k8s.io/v1", "Lease", TOOL_NS, label_selector=f"{labels.RUN}={run_id}"
    )
    return sorted(o["metadata"]["name"] for o in listed.items)


def cm(name: str) -> ResourceRef:
    return ResourceRef("v1", "ConfigMap", name, NS)


async def test_footprint_locks_are_all_or_nothing_and_name_the_holder(
    kube: LightkubeClient, sandbox: Sandbox
) -> None:
    until = datetime.now(UTC) + timedelta(minutes=2)
    shared = cm("lock-shared")
    # An object whose lock is taken *before* the shared one: it must be given back.
    early = next(
        cm(f"lock-early-{i}")
        for i in range(1000)
        if lease.footprint_lock_name(cm(f"lock-early-{i}")) < lease.footprint_lock_name(shared)
    )
    first = await lease.acquire_footprint(
        kube, TOOL_NS, [shared, cm("lock-a")], "revert-run-one", until=until
    )
    try:
        held = await kube.get(lease_ref(lease.footprint_lock_name(shared)))
        assert held["spec"]["holderIdentity"] == "revert-run-one"
        assert held["metadata"]["annotations"][lease.OBJECT] == f"ConfigMap {NS}/lock-shared"
        assert held["spec"]["leaseDurationSeconds"] >= 120  # covers the run: no renewals
        with pytest.raises(TargetLocked) as refused:
            await lease.acquire_footprint(
                kube, TOOL_NS, [early, shared], "revert-run-two", until=until
            )
        assert "revert-run-one" in str(refused.value)
        assert f"ConfigMap {NS}/lock-shared" in str(refused.value)
        assert await leases_of(kube, "revert-run-two") == []  # the early lock was released
    finally:
        await first.release()
    assert await leases_of(kube, "revert-run-one") == []
    second = await lease.acquire_footprint(
        kube, TOOL_NS, [early, shared], "revert-run-two", until=until
    )
    assert len(await leases_of(kube, "revert-run-two")) == 2
    await second.release()
    assert await leases_of(kube, "revert-run-two") == []


async def test_a_footprint_lock_of_a_dead_run_is_taken_over(
    kube: LightkubeClient, sandbox: Sandbox
) -> None:
    target = cm("lock-orphaned")
    name = lease.footprint_lock_name(target)
    now = datetime.now(UTC)
    await kube.delete(lease_ref(name))
    await ledger.create_in_tool_namespace(
        kube,
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": name,
                "namespace": TOOL_NS,
                "labels": labels.managed("revert-dead-run", "lease"),
                "annotations": {lease.OWNER: dead_owner().model_dump_json()},
            },
            "spec": {
                "holderIdentity": "revert-dead-run",
                "leaseDurationSeconds": 3600,
                "acquireTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "renewTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            },
        },
    )
    lock = await lease.acquire_footprint(
        kube, TOOL_NS, [target], "revert-run-three", until=now + timedelta(minutes=1)
    )
    try:
        assert (await kube.get(lease_ref(name)))["spec"]["holderIdentity"] == "revert-run-three"
    finally:
        await lock.release()
    assert await kube.get_or_none(lease_ref(name)) is None
