"""Bring your own operator, and pods that behave like pods (real control plane, real agent).

The test writes a scenario file of its own for ``tests/operators/probe_operator.py`` (a small
real operator: it writes a heartbeat ConfigMap as its ServiceAccount and serves /readyz) and
installs it through the user-facing command ``sandbox up --scenario PATH``. Then it breaks the
operator's pod the ways CrashLoopInject and ImageCorrupt would, and checks that the pod, its
container status and the Deployment's Available condition say so, and come back.
"""

import asyncio
import json
import os
import signal
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from operator_chaos.kube import wait
from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import PatchType, RawObject, ResourceRef
from operator_chaos.sandbox import cluster
from operator_chaos.sandbox.cluster import Sandbox

# tests/cluster is on sys.path (rootdir-relative test modules without __init__.py)
from sandbox_support import cli, eventually, pid_alive, wait_list  # isort: skip

REPO = Path(__file__).resolve().parents[2]
OPERATOR = REPO / "tests" / "operators" / "probe_operator.py"
NS = "probe-demo"
NAME = "probe-operator"
IMAGE = "example.com/probe-operator:v1"
LABELS = {"app": "probe-operator"}
DEPLOYMENT = ResourceRef("apps/v1", "Deployment", NAME, NS)
HEARTBEAT = ResourceRef("v1", "ConfigMap", "probe-operator-heartbeat", NS)

SCENARIO = """\
apiVersion: sandbox.operatorchaos.io/v1alpha1
kind: Scenario
metadata: {{name: probe-operator}}
spec:
  description: the pod-behaviour tests' own operator
  manifests: [{{path: manifests.yaml}}]
  operators:
    - name: probe-operator
      deployment: {{name: probe-operator, namespace: probe-demo}}
      container: manager
      binary: {{python: {operator}}}
      images: [{image}]
      command: [/manager]
      args:
        - --kubeconfig={{kubeconfig}}
        - --namespace={{namespace}}
        - --health-port={{port:health}}
        - --not-ready-file={not_ready}
      readiness: {{port: health, path: /readyz}}
"""

MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata: {name: probe-demo}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: probe-operator, namespace: probe-demo}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: probe-operator, namespace: probe-demo}
rules:
  - {apiGroups: [""], resources: [configmaps], verbs: [get, create, patch, update]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: probe-operator, namespace: probe-demo}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: probe-operator}
subjects: [{kind: ServiceAccount, name: probe-operator, namespace: probe-demo}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: probe-operator, namespace: probe-demo}
spec:
  replicas: 1
  strategy: {type: Recreate}   # a broken template replaces the only pod: Available goes False
  selector: {matchLabels: {app: probe-operator}}
  template:
    metadata: {labels: {app: probe-operator}}
    spec:
      serviceAccountName: probe-operator
      terminationGracePeriodSeconds: 2
      containers:
        - {name: manager, image: example.com/probe-operator:v1}
"""


@pytest.fixture(scope="module")
def not_ready_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("probe") / "not-ready"


@pytest.fixture(scope="module")
def probe(sandbox: Sandbox, not_ready_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scenario file, installed through ``sandbox up --scenario PATH``."""
    directory = tmp_path_factory.mktemp("scenario")
    scenario = directory / "scenario.yaml"
    scenario.write_text(SCENARIO.format(operator=OPERATOR, image=IMAGE, not_ready=not_ready_file))
    (directory / "manifests.yaml").write_text(MANIFESTS)
    up = cli("sandbox", "up", "--name", sandbox.name, "--scenario", str(scenario))
    assert up.returncode == 0, up.stdout + up.stderr
    assert "scenario probe-operator: ready" in up.stderr, up.stderr
    return scenario


@pytest.fixture
async def healthy(kube: LightkubeClient, sandbox: Sandbox, probe: Path) -> AsyncIterator[None]:
    """Each test starts and ends with the operator Available and its template as declared."""
    await _restore(kube)
    yield
    await _restore(kube)


async def _restore(kube: LightkubeClient) -> None:
    dep = await kube.get(DEPLOYMENT)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    if container.get("image") != IMAGE or "command" in container:
        patch = [
            {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": IMAGE}
        ]
        if "command" in container:
            patch.append({"op": "remove", "path": "/spec/template/spec/containers/0/command"})
        await kube.patch(DEPLOYMENT, patch, PatchType.JSON)
    await _wait_available(kube, True)


def _available(value: bool) -> Callable[[RawObject | None], bool]:
    def check(dep: RawObject | None) -> bool:
        if dep is None:
            return False
        status = dep.get("status") or {}
        current = status.get("observedGeneration", 0) >= dep["metadata"].get("generation", 0)
        return current and wait.condition_true(dep, "Available") == value

    return check


async def _wait_available(kube: LightkubeClient, value: bool, timeout: float = 60) -> None:
    await wait.wait_for(kube, "apps/v1", "Deployment", NAME, NS, _available(value), timeout=timeout)


def _status(pod: RawObject) -> dict[str, Any]:
    statuses = pod.get("status", {}).get("containerStatuses") or [{}]
    found: dict[str, Any] = statuses[0]
    return found


def _reason(pod: RawObject) -> str:
    return str(_status(pod).get("state", {}).get("waiting", {}).get("reason", ""))


def _agent(sandbox: Sandbox) -> dict[str, Any]:
    try:
        doc = json.loads((sandbox.dir / "agent-status.json").read_text())
    except (OSError, ValueError):
        return {}
    found: dict[str, Any] = doc.get("workloads", {}).get(NAME) or {}
    return found


async def _pods(
    kube: LightkubeClient, predicate: Callable[[RawObject], bool], what: str
) -> RawObject:
    items = await wait_list(
        kube,
        "v1",
        "Pod",
        NS,
        lambda pods: any(predicate(p) for p in pods),
        label_selector="app=probe-operator",
        timeout=60,
        what=what,
    )
    return next(p for p in items if predicate(p))


async def test_own_operator_runs_for_its_pod_as_its_service_account(
    kube: LightkubeClient, sandbox: Sandbox, healthy: None
) -> None:
    pod = await _pods(kube, lambda p: wait.condition_true(p, "Ready"), "a Ready pod")
    assert pod["spec"]["nodeName"] == cluster.AGENT_NODE
    heartbeat = await wait.wait_for(
        kube, "v1", "ConfigMap", HEARTBEAT.name, NS,
        lambda cm: bool(cm and cm["data"].get("pod") == pod["metadata"]["name"]), timeout=30,
    )  # fmt: skip
    assert heartbeat is not None
    assert heartbeat["metadata"]["managedFields"][0]["manager"] == "probe-operator"
    assert pid_alive(int(heartbeat["data"]["pid"]))
    assert _agent(sandbox)["pid"] == int(heartbeat["data"]["pid"])


async def test_readiness_comes_from_the_operator_endpoint(
    kube: LightkubeClient, sandbox: Sandbox, not_ready_file: Path, healthy: None
) -> None:
    pid = _agent(sandbox)["pid"]
    try:
        await asyncio.to_thread(not_ready_file.touch)
        await _wait_available(kube, False)
        pod = await _pods(kube, lambda p: not wait.condition_true(p, "Ready"), "a not-Ready pod")
        assert _status(pod)["state"].get("running")  # up, but not ready
        assert _agent(sandbox)["pid"] == pid  # the same process: nothing restarted
    finally:
        await asyncio.to_thread(not_ready_file.unlink, missing_ok=True)
    await _wait_available(kube, True)


async def test_a_dead_process_restarts_with_back_off_and_counts(
    kube: LightkubeClient, sandbox: Sandbox, healthy: None
) -> None:
    status = _agent(sandbox)
    before = status["pods"][status["pod"]]["restartCount"]
    os.kill(status["pid"], signal.SIGKILL)
    await _wait_available(kube, False)
    pod = await _pods(
        kube,
        lambda p: _status(p).get("lastState", {}).get("terminated", {}).get("exitCode") == 137,
        "the container's lastState to show the kill",
    )
    assert pod["metadata"]["uid"] == status["podUid"]  # same pod, restarted container
    await _wait_available(kube, True)
    pod = await _pods(
        kube, lambda p: _status(p).get("restartCount") == before + 1, "restartCount + 1"
    )
    assert wait.condition_true(pod, "Ready")
    new_pid = await eventually(lambda: _agent(sandbox).get("pid"), "the restarted process")
    assert new_pid != status["pid"]


async def test_an_undeclared_command_is_never_run_and_crash_loops(
    kube: LightkubeClient, sandbox: Sandbox, tmp_path: Path, healthy: None
) -> None:
    marker = tmp_path / "was-executed"
    command = ["/bin/sh", "-c", f"touch {marker}"]
    await kube.patch(
        DEPLOYMENT,
        [{"op": "add", "path": "/spec/template/spec/containers/0/command", "value": command}],
        PatchType.JSON,
    )
    await _wait_available(kube, False)

    def looping(p: RawObject) -> bool:
        return _reason(p) == "CrashLoopBackOff" and _status(p).get("restartCount", 0) >= 2

    pod = await _pods(kube, looping, "CrashLoopBackOff with restarts")
    terminated = _status(pod)["lastState"]["terminated"]
    assert terminated["exitCode"] == 127
    assert "not in the image" in terminated["message"]
    assert not wait.condition_true(pod, "Ready")
    assert pod["status"]["phase"] == "Running"
    assert not marker.exists()  # the pod's command never ran on this host
    name = pod["metadata"]["name"]
    # The agent's own record (its status file trails the pod status by one write).
    agent_pod = await eventually(
        lambda: (p := _agent(sandbox).get("pods", {}).get(name)) and p["restartCount"] >= 2 and p,
        "the agent to record the restarts",
    )
    assert agent_pod["pid"] is None


async def test_an_undeclared_image_is_not_pulled(
    kube: LightkubeClient, sandbox: Sandbox, healthy: None
) -> None:
    bad = "example.com/probe-operator:does-not-exist"
    await kube.patch(
        DEPLOYMENT,
        [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": bad}],
        PatchType.JSON,
    )
    await _wait_available(kube, False)
    seen: set[str] = set()

    def backing_off(p: RawObject) -> bool:
        if _status(p).get("image") == bad:
            seen.add(_reason(p))
        return {"ErrImagePull", "ImagePullBackOff"} <= seen

    pod = await _pods(kube, backing_off, "ErrImagePull, then ImagePullBackOff")
    assert pod["status"]["phase"] == "Pending"
    assert _status(pod)["restartCount"] == 0
    assert not wait.condition_true(pod, "Ready")
    assert _agent(sandbox)["pods"][pod["metadata"]["name"]]["pid"] is None  # never started


def test_unknown_scenario_name_is_one_line_and_starts_nothing() -> None:
    name = f"pytest-unknown-{os.getpid()}"
    box = Sandbox(name)
    result = cli("sandbox", "up", "--name", name, "--scenario", "no-such-operator")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "unknown scenario 'no-such-operator'" in lines[0]
    assert "training-operator" in lines[0]  # says what exists
    assert "Traceback" not in result.stderr
    assert not box.dir.exists()  # nothing started


def test_invalid_scenario_file_names_file_field_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            apiVersion: sandbox.operatorchaos.io/v1alpha1
            kind: Scenario
            metadata: {name: broken}
            spec:
              operators:
                - name: op
                  deployment: {name: op, namespace: ns}
                  container: manager
                  binary: {python: some.module}
                  images: [x:1]
                  args: ["--port={port:metrics}", "--dir={certdir}"]
            """
        )
    )
    name = f"pytest-invalid-{os.getpid()}"
    result = cli("sandbox", "up", "--name", name, "--scenario", str(path))
    assert result.returncode == 3, result.stderr
    assert f"{path}:11:" in result.stderr
    assert "unknown placeholder {certdir}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not Sandbox(name).dir.exists()
