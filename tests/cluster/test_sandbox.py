"""The sandbox against itself: a real control plane, the real training-operator, real faults.

Every test starts from the scenario's steady state (operator Ready, leading, webhook up) and
puts it back in a ``finally``: the same sandbox serves the other test files.
"""

import dataclasses
import json
import os
import signal
import time
from pathlib import Path

import pytest

from operator_chaos.kube import client as kube_client
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube import wait
from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import PatchType, RawObject, ResourceRef
from operator_chaos.sandbox import cluster, ports, processes
from operator_chaos.sandbox.cluster import Sandbox

# tests/cluster is on sys.path (rootdir-relative test modules without __init__.py)
from sandbox_support import (  # isort: skip
    BINDING,
    DEPLOYMENT,
    JOB_NAME_LABEL,
    LEASE,
    SELECTOR,
    WEBHOOK,
    agent_status,
    cli,
    delete_job_and_wait,
    descendants,
    eventually,
    file_size,
    job_ref,
    listeners_by_pid,
    log_since,
    operator_ports,
    pid_alive,
    pod_ready,
    process_environ,
    process_exe,
    pytorchjob,
    scenario,
    service_account_kubeconfig,
    stays,
    wait_list,
    wait_operator_ready,
    workload_process,
)

NS = scenario.NAMESPACE
OPERATOR_BINARY = "training-operator"
INVALID_MESSAGE = "must have at least one container with name pytorch"
GC_TIMEOUT = 180.0


def _job_selector(name: str) -> str:
    return f"{JOB_NAME_LABEL}={name}"


def _owned_by(obj: RawObject, owner: RawObject) -> bool:
    return any(
        ref.get("uid") == owner["metadata"]["uid"] and ref.get("controller")
        for ref in obj["metadata"].get("ownerReferences") or []
    )


async def _job_pods(kube: LightkubeClient, name: str, count: int = 2) -> list[RawObject]:
    """Wait for the real operator to create the job's ``count`` pods."""
    return await wait_list(
        kube,
        "v1",
        "Pod",
        NS,
        lambda items: len(items) >= count,
        label_selector=_job_selector(name),
        timeout=90,
        what=f"{count} pods of PyTorchJob {name}",
    )


async def _wait_job_running(kube: LightkubeClient, name: str, timeout: float = 90) -> RawObject:
    job = await wait.wait_for(
        kube,
        "kubeflow.org/v1",
        "PyTorchJob",
        name,
        NS,
        lambda o: wait.condition_true(o, "Running"),
        timeout=timeout,
    )
    assert job is not None
    return job


# -- steady state ---------------------------------------------------------------------------


async def test_operator_deployment_available_and_process_running(
    kube: LightkubeClient, sandbox: Sandbox
) -> None:
    status = await wait_operator_ready(kube, sandbox)

    deployment = await kube.get(DEPLOYMENT)
    assert wait.condition_true(deployment, "Available")
    pods = (await kube.list("v1", "Pod", NS, label_selector=SELECTOR)).items
    ready = [p for p in pods if pod_ready(p)]
    assert len(ready) == 1, [p["metadata"]["name"] for p in pods]
    pod = ready[0]
    assert pod["spec"]["nodeName"] == cluster.AGENT_NODE
    assert pod["spec"]["serviceAccountName"] == scenario.NAME

    # The agent runs the real operator binary for exactly this pod.
    pid = status["pid"]
    assert pid_alive(pid)
    assert status["pod"] == pod["metadata"]["name"]
    assert status["podUid"] == pod["metadata"]["uid"]
    assert not status["egressBlocked"]
    assert not status["ingressBlocked"]
    assert process_exe(pid) == OPERATOR_BINARY
    environ = process_environ(pid)
    assert environ["POD_NAME"] == pod["metadata"]["name"]
    assert environ["POD_NAMESPACE"] == NS
    tracked = workload_process(sandbox)
    assert tracked is not None
    assert tracked.pid == pid
    assert tracked.alive()

    # ...and that process is the leader and has reconciled the scenario's job.
    job = await kube.get(job_ref(scenario.JOB))
    assert wait.condition_true(job, "Running")
    lease = await kube.get(LEASE)
    assert lease["spec"]["holderIdentity"]


# -- pod kill --------------------------------------------------------------------------------


async def test_pod_deletion_restarts_operator_for_new_pod(
    kube: LightkubeClient, sandbox: Sandbox
) -> None:
    before = await wait_operator_ready(kube, sandbox)
    old_process = workload_process(sandbox)
    assert old_process is not None
    assert old_process.pid == before["pid"]
    old_holder = (await kube.get(LEASE))["spec"]["holderIdentity"]
    old_uid = before["podUid"]
    try:
        await kube.delete(ResourceRef("v1", "Pod", before["pod"], NS))

        pods = await wait_list(
            kube,
            "v1",
            "Pod",
            NS,
            lambda items: any(pod_ready(p) and p["metadata"]["uid"] != old_uid for p in items),
            label_selector=SELECTOR,
            timeout=60,
            what="a new Ready operator pod",
        )
        new_pod = next(p for p in pods if pod_ready(p) and p["metadata"]["uid"] != old_uid)
        new_uid = new_pod["metadata"]["uid"]

        after = await eventually(
            lambda: (
                (s := agent_status(sandbox)).get("podUid") == new_uid
                and pid_alive(s.get("pid"))
                and s
            ),
            "the agent to start the operator for the new pod",
            timeout=60,
        )
        assert after["pod"] == new_pod["metadata"]["name"]
        assert after["starts"] == before["starts"] + 1
        # A clean hand-over, not a crash: the new pod's container never restarted (its
        # restartCount is its own; the old pod may have restarted in earlier tests).
        fresh = await kube.get(ResourceRef("v1", "Pod", new_pod["metadata"]["name"], NS))
        statuses = (fresh.get("status") or {}).get("containerStatuses") or []
        assert [c.get("restartCount", 0) for c in statuses] == [0] * len(statuses)
        assert after["pid"] != before["pid"]
        # As a kubelet does, the agent removes the old pod only once its process has exited
        # (SIGTERM, SIGKILL after the grace period); the new pod may be Ready before that.
        await wait_list(
            kube,
            "v1",
            "Pod",
            NS,
            lambda items: all(p["metadata"]["uid"] != old_uid for p in items),
            label_selector=SELECTOR,
            timeout=30,
            what="the old pod to be removed",
        )
        assert not old_process.alive()
        assert process_exe(after["pid"]) == OPERATOR_BINARY

        lease = await wait.wait_for(
            kube,
            "coordination.k8s.io/v1",
            "Lease",
            scenario.LEASE,
            NS,
            lambda o: bool(o and o["spec"].get("holderIdentity") not in (None, "", old_holder)),
            timeout=60,
        )
        assert lease is not None
        assert lease["spec"]["holderIdentity"] != old_holder
    finally:
        await wait_operator_ready(kube, sandbox)


# -- RBAC revoke -----------------------------------------------------------------------------


async def test_rbac_revoke_forbids_operator_identity_until_restored(
    kube: LightkubeClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    await wait_operator_ready(kube, sandbox)
    binding = await kube.get(BINDING)
    subjects = binding["subjects"]
    assert subjects == [{"kind": "ServiceAccount", "name": scenario.NAME, "namespace": NS}]
    kubeconfig = await service_account_kubeconfig(kube, sandbox, tmp_path / "sa.kubeconfig")
    operator_log = sandbox.logs_dir / "training-operator.log"
    probe_job = "rbac-probe-job"
    await delete_job_and_wait(kube, probe_job)  # leftover of an interrupted run

    async with kube_client.connect(str(kubeconfig)) as as_operator:

        async def can_list_pods() -> bool:
            try:
                await as_operator.list("v1", "Pod", NS)
            except kube_errors.Forbidden:
                return False
            return True

        assert await can_list_pods()  # 200 with the binding in place
        try:
            log_offset = file_size(operator_log)
            await kube.patch(BINDING, {"subjects": []})
            assert not (await kube.get(BINDING)).get("subjects")

            async def forbidden() -> kube_errors.Forbidden | None:
                try:
                    await as_operator.list("v1", "Pod", NS)
                except kube_errors.Forbidden as exc:
                    return exc
                return None

            # RBAC changes reach the authorizer through its informer: nothing to watch.
            denied = await eventually(forbidden, "403 for the operator's identity", timeout=15)
            assert denied.code == 403
            assert "system:serviceaccount:opendatahub:training-operator-controller-manager" in str(
                denied
            )

            # The real operator hits the same wall when it reconciles a new job.
            await kube.create(pytorchjob(probe_job))
            logged = await eventually(
                lambda: [
                    line
                    for line in log_since(operator_log, log_offset).splitlines()
                    if "forbidden" in line and probe_job in line
                ],
                "a 'forbidden' error in the operator's log",
                timeout=30,
            )
            assert any("cannot create resource" in line for line in logged), logged[:3]
            assert not (
                await kube.list("v1", "Pod", NS, label_selector=_job_selector(probe_job))
            ).items

            await kube.patch(BINDING, {"subjects": subjects})
            assert (await kube.get(BINDING))["subjects"] == subjects
            await eventually(can_list_pods, "200 again for the operator's identity", timeout=15)
            # Once allowed again, the operator catches up on the job it could not reconcile.
            await _job_pods(kube, probe_job)
            await _wait_job_running(kube, probe_job)
        finally:
            await kube.patch(BINDING, {"subjects": subjects})
            await delete_job_and_wait(kube, probe_job)
            await wait_operator_ready(kube, sandbox)


# -- webhook ---------------------------------------------------------------------------------


async def _set_failure_policy(kube: LightkubeClient, policy: str) -> None:
    await kube.patch(
        WEBHOOK,
        [{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": policy}],
        PatchType.JSON,
    )


async def _scale(kube: LightkubeClient, replicas: int) -> None:
    await kube.patch(DEPLOYMENT, {"spec": {"replicas": replicas}})


async def test_webhook_down_fail_rejects_ignore_admits_and_up_validates(
    kube: LightkubeClient, sandbox: Sandbox
) -> None:
    await wait_operator_ready(kube, sandbox)
    operator = workload_process(sandbox)
    assert operator is not None
    assert operator.alive()
    webhook_port = operator_ports(sandbox)["webhook"]
    config = await kube.get(WEBHOOK)
    assert config["webhooks"][0]["failurePolicy"] == "Fail"
    names = ("webhook-down-fail", "webhook-down-ignore", "webhook-up-invalid")
    for name in names:  # leftovers of an interrupted run against a reused sandbox
        await delete_job_and_wait(kube, name)
    try:
        # Stop the webhook server: no pod, so the agent stops the operator process.
        await _scale(kube, 0)
        await wait_list(
            kube,
            "v1",
            "Pod",
            NS,
            lambda items: not items,
            label_selector=SELECTOR,
            timeout=60,
            what="the operator pod to go away",
        )
        await eventually(
            lambda: (
                agent_status(sandbox).get("pod") is None
                and agent_status(sandbox).get("pid") is None
            ),
            "the agent to stop the operator process",
            timeout=30,
        )
        assert not operator.alive()
        assert not ports.is_listening(webhook_port)

        # failurePolicy Fail: the API server cannot call the webhook, so it rejects.
        with pytest.raises(kube_errors.KubeError) as rejected:
            await kube.create(pytorchjob("webhook-down-fail"))
        assert 'failed calling webhook "vpytorchjob.kubeflow.org"' in str(rejected.value)
        assert await kube.get_or_none(job_ref("webhook-down-fail")) is None

        # failurePolicy Ignore: the same request is admitted without the webhook.
        await _set_failure_policy(kube, "Ignore")

        async def admitted() -> RawObject | None:
            try:
                return await kube.create(pytorchjob("webhook-down-ignore"))
            except kube_errors.KubeError as exc:
                # Until the API server's webhook cache sees Ignore (nothing to watch).
                if "failed calling webhook" not in str(exc):
                    raise
                return None

        job = await eventually(admitted, "admission under failurePolicy Ignore", timeout=15)
        assert job["metadata"]["name"] == "webhook-down-ignore"
        assert await kube.get(job_ref("webhook-down-ignore"))
        await _set_failure_policy(kube, "Fail")
        await delete_job_and_wait(kube, "webhook-down-ignore")

        # Webhook back: the upstream validation rejects an invalid job.
        await _scale(kube, 1)
        await wait_operator_ready(kube, sandbox)
        new_port = operator_ports(sandbox)["webhook"]  # a new pod has ports of its own
        await eventually(lambda: ports.is_listening(new_port), "the webhook server")
        with pytest.raises(kube_errors.KubeError) as invalid:
            await kube.create(pytorchjob("webhook-up-invalid", valid=False))
        message = str(invalid.value)
        assert 'admission webhook "vpytorchjob.kubeflow.org" denied the request' in message
        assert INVALID_MESSAGE in message
        assert await kube.get_or_none(job_ref("webhook-up-invalid")) is None
    finally:
        await _set_failure_policy(kube, "Fail")
        await _scale(kube, 1)
        for name in names:
            await delete_job_and_wait(kube, name)
        await wait_operator_ready(kube, sandbox)
        assert (await kube.get(WEBHOOK))["webhooks"][0]["failurePolicy"] == "Fail"


# -- finalizer -------------------------------------------------------------------------------


async def test_finalizer_holds_deletion_then_dependents_are_collected(
    kube: LightkubeClient, sandbox: Sandbox
) -> None:
    await wait_operator_ready(kube, sandbox)
    name, finalizer = "finalizer-job", "operator-chaos.test/hold"
    manifest = pytorchjob(name)
    manifest["metadata"]["finalizers"] = [finalizer]
    await delete_job_and_wait(kube, name)  # leftover of an interrupted run
    try:
        job = await kube.create(manifest)
        pods = await _job_pods(kube, name)
        services = await wait_list(
            kube,
            "v1",
            "Service",
            NS,
            lambda items: len(items) >= 2,
            label_selector=_job_selector(name),
            what=f"services of {name}",
        )
        assert all(_owned_by(o, job) for o in [*pods, *services])

        await kube.delete(job_ref(name))
        held = await kube.get(job_ref(name))
        assert held["metadata"]["deletionTimestamp"]
        assert held["metadata"]["finalizers"] == [finalizer]
        # Still there a few seconds later (the watch would report its removal at once).
        await stays(
            kube,
            "kubeflow.org/v1",
            "PyTorchJob",
            NS,
            lambda items: any(o["metadata"]["name"] == name for o in items),
            seconds=3,
        )
        assert (await kube.get(job_ref(name)))["metadata"]["uid"] == job["metadata"]["uid"]

        await kube.patch(
            job_ref(name), [{"op": "remove", "path": "/metadata/finalizers"}], PatchType.JSON
        )
        await wait.wait_for(
            kube, "kubeflow.org/v1", "PyTorchJob", name, NS, lambda o: o is None, timeout=30
        )
        # The garbage collector deletes what the operator created (ownerReferences). It
        # discovers a CRD created after it started only at its next 30 s sync and then
        # from a backed-off queue: right after `sandbox up` that can take a minute or more.
        for kind in ("Pod", "Service"):
            await wait_list(
                kube,
                "v1",
                kind,
                NS,
                lambda items: not items,
                label_selector=_job_selector(name),
                timeout=GC_TIMEOUT,
                what=f"{kind}s of {name} to be garbage-collected",
            )
    finally:
        await delete_job_and_wait(kube, name)
        await wait_operator_ready(kube, sandbox)


# -- network partition -----------------------------------------------------------------------


async def test_egress_network_policy_stops_reconciliation_until_removed(
    kube: LightkubeClient, sandbox: Sandbox
) -> None:
    before = await wait_operator_ready(kube, sandbox)
    job_name = "netpol-job"
    policy_ref = ResourceRef(
        "networking.k8s.io/v1", "NetworkPolicy", "sandbox-test-isolate-operator", NS
    )
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": policy_ref.name, "namespace": NS},
        "spec": {"podSelector": {"matchLabels": dict(scenario.LABELS)}, "policyTypes": ["Egress"]},
    }
    await kube.delete(policy_ref)  # leftovers of an interrupted run
    await delete_job_and_wait(kube, job_name)
    try:
        await kube.create(policy)
        status = await eventually(
            lambda: (s := agent_status(sandbox)).get("egressBlocked") and s,
            "the agent to partition the operator's egress",
            timeout=30,
        )
        assert status["ingressBlocked"] is False
        assert status["pid"] == before["pid"]

        # The webhook (ingress) still answers, so the job is admitted...
        await kube.create(pytorchjob(job_name))
        # ...but the isolated operator never sees it: no pods, no status.
        await stays(
            kube,
            "v1",
            "Pod",
            NS,
            lambda items: not items,
            label_selector=_job_selector(job_name),
            seconds=4,
        )
        assert not (await kube.get(job_ref(job_name))).get("status")
        assert agent_status(sandbox)["egressBlocked"] is True

        await kube.delete(policy_ref)
        await eventually(
            lambda: agent_status(sandbox).get("egressBlocked") is False,
            "the agent to heal the partition",
            timeout=30,
        )
        pods = await _job_pods(kube, job_name)
        assert len(pods) == 2
        job = await _wait_job_running(kube, job_name)
        assert all(_owned_by(p, job) for p in pods)
    finally:
        await kube.delete(policy_ref)
        await eventually(
            lambda: agent_status(sandbox).get("egressBlocked") is False,
            "the partition to heal",
            timeout=30,
        )
        await delete_job_and_wait(kube, job_name)
        await wait_operator_ready(kube, sandbox)


# -- lifecycle (CLI) -------------------------------------------------------------------------


def test_up_reuses_a_running_sandbox_and_status_is_healthy(sandbox: Sandbox) -> None:
    state_before = sandbox.state_file.read_text()
    apiserver = processes.read(sandbox.pids_dir / "kube-apiserver.pid")

    up = cli("sandbox", "up", "--name", sandbox.name)
    assert up.returncode == 0, up.stdout + up.stderr
    output = up.stdout + up.stderr
    assert "already running" in output
    assert "reusing" in output
    assert sandbox.state_file.read_text() == state_before  # same ports, same start
    assert processes.read(sandbox.pids_dir / "kube-apiserver.pid") == apiserver

    status = cli("sandbox", "status", "--name", sandbox.name, "-o", "json")
    assert status.returncode == 0, status.stdout + status.stderr
    rows = json.loads(status.stdout)
    assert [r["name"] for r in rows] == list(cluster.COMPONENTS)
    for row in rows:
        assert row["running"], row
        assert row["healthy"], row
        assert pid_alive(row["pid"]), row


def test_down_after_crash_ends_leftovers_by_pid_file() -> None:
    name = f"pytest-throwaway-{os.getpid()}"
    box = Sandbox(name)
    try:
        up = cli("sandbox", "up", "--name", name, "--scenario", "training-operator")
        assert up.returncode == 0, up.stdout + up.stderr
        state = box.state()
        assert state is not None
        status = agent_status(box)
        operator = f"workload-training-operator-{status['pod']}"
        tracked = {t.name: t for t in processes.tracked_in(box.pids_dir)}
        assert set(tracked) == {*cluster.COMPONENTS, operator}
        assert all(t.alive() for t in tracked.values())
        state_ports = [v for k, v in dataclasses.asdict(state).items() if k.endswith("_port")]
        workload_ports = [*status["ports"].values(), *status["relays"].values()]

        # A crash: the agent and etcd die hard, leaving everything else orphaned.
        for victim in ("agent", "etcd"):
            os.kill(tracked[victim].pid, signal.SIGKILL)
        for victim in ("agent", "etcd"):
            _wait_dead(tracked[victim])
        assert tracked[operator].alive()  # outlives its agent
        assert tracked["kube-apiserver"].alive()

        down = cli("sandbox", "down", "--name", name)
        assert down.returncode == 0, down.stdout + down.stderr
        for proc in ("kube-apiserver", "kube-scheduler", "kwok", operator):
            assert proc in down.stdout + down.stderr

        alive = [t.name for t in tracked.values() if t.alive()]
        assert not alive, f"still running after down: {alive}"
        assert not [p for p in tracked.values() if pid_alive(p.pid) and p.alive()]
        listening = [p for p in [*state_ports, *workload_ports] if ports.is_listening(p)]
        assert not listening, f"still listening after down: {listening}"
        assert not box.dir.exists()
    finally:
        box.down(lambda _msg: None)


def _wait_dead(tracked: processes.Tracked, timeout: float = 10.0) -> None:
    """A local process we just SIGKILLed: nothing to watch, so a short bounded wait."""
    deadline = time.monotonic() + timeout
    while tracked.alive():
        assert time.monotonic() < deadline, f"{tracked.name} survived SIGKILL"
        time.sleep(0.05)


def test_every_component_listens_on_loopback_only(sandbox: Sandbox) -> None:
    tracked = processes.tracked_in(sandbox.pids_dir)
    assert {t.name for t in tracked} >= set(cluster.COMPONENTS)
    roots = {t.pid: t.name for t in tracked if t.alive()}
    assert set(roots.values()) >= set(cluster.COMPONENTS)
    every_pid = descendants(set(roots))
    sockets = listeners_by_pid(every_pid)
    if sockets is None:
        pytest.skip("neither /proc/net/tcp nor `ss -ltnp` is readable here")
    for pid, name in roots.items():
        assert sockets.get(pid), f"{name} (pid {pid}) listens on nothing: check is vacuous"
    offenders = {
        pid: [addr for addr in addrs if addr[0] not in ("127.0.0.1", "::ffff:127.0.0.1")]
        for pid, addrs in sockets.items()
    }
    offenders = {pid: bad for pid, bad in offenders.items() if bad}
    assert not offenders, {roots.get(pid, pid): bad for pid, bad in offenders.items()}
