"""Helpers for the sandbox tests: watch-based waits, the agent's view, local processes.

Cluster state is always awaited through list+watch. Bounded retry loops are used only for
things nothing can watch: the agent's status file, a local process, the API server's
authorizer and admission caches.
"""

import asyncio
import contextlib
import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube import wait
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.sandbox import processes
from operator_chaos.sandbox.cluster import Sandbox, kubeconfig_yaml


class scenario:  # noqa: N801 - a namespace of the shipped scenario's names, stated independently
    """What the training-operator scenario installs (its scenario.yaml says the same)."""

    NAMESPACE = "opendatahub"
    NAME = "training-operator-controller-manager"
    LABELS = {"control-plane": "controller-manager", "app.kubernetes.io/name": "training-operator"}
    BINDING = "training-operator-manager-rolebinding"
    WEBHOOK = "vpytorchjob.kubeflow.org"
    LEASE = "training-operator-controller-manager-leader-election"
    JOB = "test-pytorchjob"


def pytorchjob(name: str, *, valid: bool = True) -> RawObject:
    """A small PyTorchJob (master + one worker); ``valid=False`` breaks the container name,
    which the upstream validating webhook rejects."""
    container = {
        "name": "pytorch" if valid else "not-pytorch",
        "image": "docker.io/kubeflowkatib/pytorch-mnist:v1",
    }
    template = {"spec": {"containers": [container]}}
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": name, "namespace": scenario.NAMESPACE},
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {"replicas": 1, "restartPolicy": "OnFailure", "template": template},
                "Worker": {"replicas": 1, "restartPolicy": "OnFailure", "template": template},
            }
        },
    }


WORKLOAD = "training-operator"
SELECTOR = ",".join(f"{k}={v}" for k, v in sorted(scenario.LABELS.items()))
JOB_NAME_LABEL = "training.kubeflow.org/job-name"
DEPLOYMENT = ResourceRef("apps/v1", "Deployment", scenario.NAME, scenario.NAMESPACE)
BINDING = ResourceRef("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", scenario.BINDING)
WEBHOOK = ResourceRef(
    "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", scenario.WEBHOOK
)
LEASE = ResourceRef("coordination.k8s.io/v1", "Lease", scenario.LEASE, scenario.NAMESPACE)
SERVICE_ACCOUNT = ResourceRef("v1", "ServiceAccount", scenario.NAME, scenario.NAMESPACE)


class WaitTimeout(AssertionError):
    """A watched condition did not come true in time."""


def job_ref(name: str) -> ResourceRef:
    return ResourceRef("kubeflow.org/v1", "PyTorchJob", name, scenario.NAMESPACE)


# -- local state (nothing to watch: bounded retries) ------------------------------------------


async def eventually(
    check: Callable[[], Any], what: str, *, timeout: float = 30.0, interval: float = 0.1
) -> Any:
    """Return ``check()``'s first truthy value; fail after ``timeout`` seconds.

    Only for state no watch can report (files and processes of this machine, the API
    server's internal caches)."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})"
            )
        await asyncio.sleep(interval)


def agent_status(sandbox: Sandbox) -> dict[str, Any]:
    """The agent's record of the training-operator workload (``{}`` if not yet written)."""
    try:
        doc = json.loads((sandbox.dir / "agent-status.json").read_text())
    except (OSError, ValueError):
        return {}
    workload: dict[str, Any] = doc.get("workloads", {}).get(WORKLOAD) or {}
    return workload


def operator_ports(sandbox: Sandbox) -> dict[str, int]:
    """The serving pod's own loopback ports (``{port:NAME}``), as the agent reports them."""
    found: dict[str, int] = agent_status(sandbox).get("ports") or {}
    return found


def pid_alive(pid: int | None) -> bool:
    """True when ``pid`` runs and is not a zombie."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"


def workload_process(sandbox: Sandbox) -> processes.Tracked | None:
    """The serving pod's operator process as recorded by the agent's pid file."""
    pod = agent_status(sandbox).get("pod")
    if not pod:
        return None
    return processes.read(sandbox.pids_dir / f"workload-{WORKLOAD}-{pod}.pid")


def http_ok(port: int, path: str = "/readyz") -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", path)
            return conn.getresponse().status == 200
        finally:
            conn.close()
    except (OSError, http.client.HTTPException):
        return False


def log_since(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


# -- cluster state (list + watch) -----------------------------------------------------------


async def wait_list(
    kube: KubeClient,
    api_version: str,
    kind: str,
    namespace: str | None,
    predicate: Callable[[list[RawObject]], bool],
    *,
    label_selector: str | None = None,
    timeout: float = 60.0,
    what: str = "",
) -> list[RawObject]:
    """Watch a collection until ``predicate(items)`` holds; return those items."""
    seen: dict[str, RawObject] = {}

    async def run() -> list[RawObject]:
        while True:
            listed = await kube.list(api_version, kind, namespace, label_selector=label_selector)
            seen.clear()
            seen.update({o["metadata"]["uid"]: o for o in listed.items})
            if predicate(list(seen.values())):
                return list(seen.values())
            stream = kube.watch(
                api_version,
                kind,
                namespace,
                label_selector=label_selector,
                resource_version=listed.resource_version,
            )
            try:
                async with contextlib.aclosing(stream) as events:  # type: ignore[type-var]
                    async for event in events:
                        if event.type == "BOOKMARK":
                            continue
                        uid = event.object["metadata"]["uid"]
                        if event.type == "DELETED":
                            seen.pop(uid, None)
                        else:
                            seen[uid] = event.object
                        if predicate(list(seen.values())):
                            return list(seen.values())
            except kube_errors.Gone:
                continue

    try:
        return await asyncio.wait_for(run(), timeout)
    except TimeoutError:
        names = sorted(o["metadata"]["name"] for o in seen.values())
        raise WaitTimeout(
            f"timed out after {timeout:.0f}s waiting for {what or kind} (have: {names})"
        ) from None


async def stays(
    kube: KubeClient,
    api_version: str,
    kind: str,
    namespace: str | None,
    predicate: Callable[[list[RawObject]], bool],
    *,
    seconds: float,
    label_selector: str | None = None,
) -> list[RawObject]:
    """Watch for ``seconds`` and fail as soon as ``predicate(items)`` stops holding."""
    violated: list[RawObject] = []

    def broken(items: list[RawObject]) -> bool:
        if predicate(items):
            return False
        violated[:] = items
        return True

    try:
        await wait_list(
            kube,
            api_version,
            kind,
            namespace,
            broken,
            label_selector=label_selector,
            timeout=seconds,
        )
    except WaitTimeout:
        return []  # no violation before the time ran out: it stayed
    names = sorted(o["metadata"]["name"] for o in violated)
    raise AssertionError(f"{kind} changed within {seconds}s: {names}")


def pod_ready(pod: RawObject) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    return wait.condition_true(pod, "Ready")


async def wait_operator_ready(
    kube: KubeClient, sandbox: Sandbox, *, timeout: float = 120.0
) -> dict[str, Any]:
    """Deployment Available with one Ready pod, the agent running the operator process for
    that pod, the process' readyz answering and the leader Lease held. Returns the agent's
    status for the workload."""
    started = time.monotonic()

    def left() -> float:
        return max(1.0, timeout - (time.monotonic() - started))

    def available(dep: RawObject | None) -> bool:
        if dep is None:
            return False
        spec, status = dep.get("spec", {}), dep.get("status", {})
        return (
            spec.get("replicas") == 1
            and status.get("observedGeneration", 0) >= dep["metadata"].get("generation", 0)
            and status.get("readyReplicas") == 1
            and status.get("updatedReplicas") == 1
            and wait.condition_true(dep, "Available")
        )

    await wait.wait_for(
        kube, "apps/v1", "Deployment", scenario.NAME, scenario.NAMESPACE, available, timeout=left()
    )
    pods = await wait_list(
        kube,
        "v1",
        "Pod",
        scenario.NAMESPACE,
        lambda items: len([p for p in items if pod_ready(p)]) == 1,
        label_selector=SELECTOR,
        timeout=left(),
        what="one Ready operator pod",
    )
    pod = next(p for p in pods if pod_ready(p))
    uid = pod["metadata"]["uid"]

    def bound() -> dict[str, Any] | None:
        status = agent_status(sandbox)
        if status.get("podUid") == uid and pid_alive(status.get("pid")):
            return status
        return None

    status: dict[str, Any] = await eventually(
        bound, f"the agent to run the operator for pod {pod['metadata']['name']}", timeout=left()
    )
    readyz_port = operator_ports(sandbox)["health"]
    await eventually(lambda: http_ok(readyz_port), "operator readyz", timeout=left())
    await wait.wait_for(
        kube,
        "coordination.k8s.io/v1",
        "Lease",
        scenario.LEASE,
        scenario.NAMESPACE,
        lambda lease: bool(lease and lease.get("spec", {}).get("holderIdentity")),
        timeout=left(),
    )
    return status


async def delete_job_and_wait(kube: KubeClient, name: str, *, timeout: float = 60.0) -> None:
    """Delete a PyTorchJob (dropping any finalizer) and its pods and services; wait until
    they are gone.

    The pods and services are deleted explicitly rather than left to the garbage collector:
    the collector learns about a CRD created after it started only at its next 30-second
    discovery sync (and then from a backed-off queue), so on a fresh sandbox it may take a
    minute; a clean-up need not wait for that."""
    ref = job_ref(name)
    job = await kube.get_or_none(ref)
    if job is not None and job["metadata"].get("finalizers"):
        # An UPDATE, so it passes the validating webhook: only when there is a finalizer.
        with contextlib.suppress(kube_errors.NotFound):
            await kube.patch(ref, {"metadata": {"finalizers": None}})
    await kube.delete(ref)
    await wait.wait_for(
        kube,
        "kubeflow.org/v1",
        "PyTorchJob",
        name,
        scenario.NAMESPACE,
        lambda o: o is None,
        timeout=timeout,
    )
    selector = f"{JOB_NAME_LABEL}={name}"
    for kind in ("Pod", "Service"):
        for obj in (await kube.list("v1", kind, scenario.NAMESPACE, label_selector=selector)).items:
            await kube.delete(ResourceRef("v1", kind, obj["metadata"]["name"], scenario.NAMESPACE))
        await wait_list(
            kube,
            "v1",
            kind,
            scenario.NAMESPACE,
            lambda items: not items,
            label_selector=selector,
            timeout=timeout,
            what=f"{kind}s of {name} to be deleted",
        )


async def service_account_kubeconfig(kube: KubeClient, sandbox: Sandbox, path: Path) -> Path:
    """A kubeconfig for the operator's ServiceAccount with a fresh TokenRequest token."""
    token = await kube.create_subresource(
        SERVICE_ACCOUNT,
        "token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 600},
        },
    )
    return _write_kubeconfig(sandbox, path, token["status"]["token"])


def _write_kubeconfig(sandbox: Sandbox, path: Path, token: str) -> Path:
    state = sandbox.state()
    assert state is not None
    path.write_text(
        kubeconfig_yaml(
            server=state.server,
            ca=sandbox.pki_dir / "ca.crt",
            context="training-operator-sa",
            user={"token": token},
        )
    )
    path.chmod(0o600)
    return path


def process_exe(pid: int) -> str:
    """The file name of the executable ``pid`` runs."""
    return Path(os.readlink(f"/proc/{pid}/exe")).name


def process_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


async def ignore_missing(call: Awaitable[Any]) -> None:
    with contextlib.suppress(kube_errors.NotFound):
        await call


# -- the CLI and listening sockets ----------------------------------------------------------


def cli(*args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    """Run ``operator-chaos ARGS`` in a fresh process (as a user would)."""
    return subprocess.run(
        [sys.executable, "-m", "operator_chaos", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _proc_net_listeners() -> dict[int, tuple[str, int]]:
    """inode -> (address, port) of every listening TCP socket, from /proc/net/tcp{,6}."""
    found: dict[int, tuple[str, int]] = {}
    for path, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            lines = Path(path).read_text().splitlines()[1:]
        except OSError:
            if family == socket.AF_INET:
                raise
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A":  # TCP_LISTEN
                continue
            addr_hex, port_hex = fields[1].split(":")
            words = [int(addr_hex[i : i + 8], 16) for i in range(0, len(addr_hex), 8)]
            raw = b"".join(struct.pack("<I", w) for w in words)  # each word is host-endian
            found[int(fields[9])] = (socket.inet_ntop(family, raw), int(port_hex, 16))
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return inodes


def listeners_by_pid(pids: set[int]) -> dict[int, list[tuple[str, int]]] | None:
    """Listening TCP sockets of ``pids``: from /proc, else from ``ss -ltnp``; None if
    neither can tell."""
    try:
        table = _proc_net_listeners()
        result: dict[int, list[tuple[str, int]]] = {}
        for pid in pids:
            result[pid] = sorted(table[i] for i in _socket_inodes(pid) if i in table)
        return result
    except (OSError, ValueError, IndexError):
        pass
    try:
        out = subprocess.run(
            ["ss", "-H", "-ltnp"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    result = {pid: [] for pid in pids}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 6:
            continue
        host, _, port = fields[3].rpartition(":")
        for pid in pids:
            if f"pid={pid}," in fields[5]:
                result[pid].append((host.strip("[]"), int(port)))
    return result


def descendants(pids: set[int]) -> set[int]:
    """``pids`` and every process whose ancestry leads to one of them."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                parent[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    result = set(pids)
    grew = True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in result and pid not in result:
                result.add(pid)
                grew = True
    return result
