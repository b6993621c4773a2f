"""The demo operator (tests/operators/demo_operator.py) running against the sandbox.

Fixtures:

- ``demo_operator_process`` (session): creates namespace ``demo``, installs the Widget CRD (as
  an admin installs an operator's CRDs; the operator itself only waits for it), starts the
  operator with the sandbox's admin kubeconfig and waits until everything it owns is in its
  steady state. Stops it (SIGTERM, which must exit 0) at the end of the session.
- ``demo_operator`` (function): the same handle, resumed and back in steady state.

Use them from a test module with ``from demo_operator_support import demo_operator,
demo_operator_process`` (both names: pytest looks fixtures up in the module). Cluster state is
awaited by watching (``operator_chaos.kube.wait.wait_for``); only the operator's own log file
and process are polled (nothing can watch them).
"""

import asyncio
import base64
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube import wait
from operator_chaos.kube.port import KubeClient, PatchType, RawObject, ResourceRef
from operator_chaos.sandbox.cluster import Sandbox

REPO = Path(__file__).resolve().parents[2]
OPERATOR = REPO / "tests" / "operators" / "demo_operator.py"
CRD_FILE = REPO / "tests" / "operators" / "widget-crd.yaml"
KNOWLEDGE = REPO / "tests" / "data" / "demo-operator" / "knowledge.yaml"

NAMESPACE = "demo"
CRD_NAME = "widgets.demo.operatorchaos.io"
WIDGET_API = "demo.operatorchaos.io/v1"
TEST_MANAGER = "demo-operator-tests"

# What the operator promises (stated here independently of its source, so tests can fail).
REPLICAS = 2
LABELS = {"app.kubernetes.io/name": "demo-app", "app.kubernetes.io/managed-by": "demo-operator"}
CONFIG_DATA = {"mode": "normal", "level": "3"}
SECRET_TOKEN = "demo-operator-test-token"  # the fixed test value the operator writes
SECRET_DATA = {"token": base64.b64encode(SECRET_TOKEN.encode()).decode()}
WIDGET_SPEC = {"size": 3, "mode": "normal"}

DEPLOYMENT = ResourceRef("apps/v1", "Deployment", "demo-app", NAMESPACE)
CONFIGMAP = ResourceRef("v1", "ConfigMap", "demo-config", NAMESPACE)
SECRET = ResourceRef("v1", "Secret", "demo-secret", NAMESPACE)
WIDGET = ResourceRef(WIDGET_API, "Widget", "demo-widget", NAMESPACE)
LEASE = ResourceRef("coordination.k8s.io/v1", "Lease", "demo-operator-leader", NAMESPACE)

PAUSED_LINE = "paused: pause file present"
RESUMED_LINE = "resumed: pause file removed"

T = TypeVar("T")


# -- steady-state predicates (None = the object is absent) --------------------------------


def labels_ok(obj: RawObject | None) -> bool:
    labels = (obj or {}).get("metadata", {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in LABELS.items())


def deployment_steady(dep: RawObject | None) -> bool:
    """Owned fields right, every replica updated, ready and available, Available=True."""
    if dep is None or not labels_ok(dep):
        return False
    status = dep.get("status") or {}
    return (
        dep["spec"].get("replicas") == REPLICAS
        and status.get("observedGeneration", 0) >= dep["metadata"].get("generation", 0)
        and status.get("updatedReplicas") == REPLICAS
        and status.get("readyReplicas") == REPLICAS
        and status.get("availableReplicas") == REPLICAS
        and wait.condition_true(dep, "Available")
    )


def configmap_steady(cm: RawObject | None) -> bool:
    return cm is not None and labels_ok(cm) and (cm.get("data") or {}) == CONFIG_DATA


def secret_steady(secret: RawObject | None) -> bool:
    return secret is not None and labels_ok(secret) and (secret.get("data") or {}) == SECRET_DATA


def widget_spec_ok(widget: RawObject | None) -> bool:
    spec = (widget or {}).get("spec") or {}
    return widget is not None and all(spec.get(k) == v for k, v in WIDGET_SPEC.items())


def ready_condition(widget: RawObject | None) -> dict[str, Any]:
    for cond in (widget or {}).get("status", {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return dict(cond)
    return {}


def widget_steady(widget: RawObject | None) -> bool:
    """Spec as owned and Ready=True for the current generation."""
    if widget is None or not widget_spec_ok(widget) or not labels_ok(widget):
        return False
    cond = ready_condition(widget)
    return cond.get("status") == "True" and cond.get("observedGeneration") == widget[
        "metadata"
    ].get("generation")


# -- the handle -----------------------------------------------------------------------------


class DemoOperator:
    """The running operator process: pause/resume switch, log, steady-state wait."""

    def __init__(
        self,
        process: "subprocess.Popen[bytes]",
        log_path: Path,
        pause_file: Path,
        identity: str,
    ) -> None:
        self.process = process
        self.log_path = log_path
        self.pause_file = pause_file
        self.identity = identity
        self.namespace = NAMESPACE

    # -- local process and log (polled: nothing to watch) ----------------------------------

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        """Everything the operator printed so far."""
        return self.log_since(0)

    def mark(self) -> int:
        """A position in the log; pass it to ``log_since``/``wait_log``."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, mark: int) -> str:
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(mark)
                return fh.read().decode(errors="replace")
        except OSError:
            return ""

    async def wait_log(self, text: str, *, since: int = 0, timeout: float = 5.0) -> str:
        """Return the first log line (after ``since``) that contains ``text``."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log_since(since).splitlines():
                if text in line:
                    return line
            if not self.alive():
                raise AssertionError(f"demo operator exited; log:\n{self.tail()}")
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"no {text!r} in the demo operator log after {timeout:.0f}s:\n{self.tail()}"
                )
            await asyncio.sleep(0.05)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    @property
    def paused(self) -> bool:
        return self.pause_file.exists()

    async def pause(self) -> None:
        """Create the pause file and wait until the operator says it stopped repairing."""
        if self.paused:
            return
        mark = self.mark()
        self.pause_file.touch()
        await self.wait_log(PAUSED_LINE, since=mark)

    async def resume(self) -> None:
        """Remove the pause file and wait until the operator says it repairs again."""
        if not self.paused:
            return
        mark = self.mark()
        self.pause_file.unlink()
        await self.wait_log(RESUMED_LINE, since=mark)

    async def guard(self, step: Awaitable[T]) -> T:
        """Await ``step``, failing at once (with the log) if the operator process exits."""
        task = asyncio.ensure_future(step)
        try:
            while not task.done():
                if not self.alive():
                    task.cancel()
                    raise AssertionError(
                        f"demo operator exited with {self.process.returncode}; log:\n{self.tail()}"
                    )
                await asyncio.wait([task], timeout=0.2)
            return task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def wait_steady(self, kube: KubeClient, *, timeout: float = 60.0) -> None:
        """Watch until every owned object is in its steady state and the Lease is ours."""
        deadline = time.monotonic() + timeout
        steps: list[tuple[ResourceRef, Callable[[RawObject | None], bool]]] = [
            (DEPLOYMENT, deployment_steady),
            (CONFIGMAP, configmap_steady),
            (SECRET, secret_steady),
            (WIDGET, widget_steady),
            (LEASE, lambda o: (o or {}).get("spec", {}).get("holderIdentity") == self.identity),
        ]
        for ref, predicate in steps:
            left = max(1.0, deadline - time.monotonic())
            try:
                await self.guard(
                    wait.wait_for(
                        kube,
                        ref.api_version,
                        ref.kind,
                        ref.name,
                        ref.namespace,
                        predicate,
                        timeout=left,
                    )
                )
            except TimeoutError:
                current = await kube.get_or_none(ref)
                raise AssertionError(
                    f"{ref} not in steady state after {timeout:.0f}s: {describe(current)}\n"
                    f"operator log:\n{self.tail()}"
                ) from None

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then wait; SIGKILL only if it hangs. Returns the exit code."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
                return -signal.SIGKILL
        return self.process.returncode


def describe(obj: RawObject | None) -> str:
    """The parts of an owned object a steady-state failure message needs (no Secret data)."""
    if obj is None:
        return "absent"
    shown: dict[str, Any] = {"labels": obj.get("metadata", {}).get("labels")}
    if obj.get("kind") == "Secret":
        shown["dataKeys"] = sorted(obj.get("data") or {})
    elif "data" in obj:
        shown["data"] = obj["data"]
    if "spec" in obj:
        spec = obj["spec"]
        shown["spec"] = {k: spec.get(k) for k in ("replicas", "size", "mode", "holderIdentity")}
    if "status" in obj:
        status = obj["status"]
        shown["status"] = {k: v for k, v in status.items() if k != "conditions"}
        shown["conditions"] = [
            (c.get("type"), c.get("status"), c.get("reason"))
            for c in status.get("conditions") or []
        ]
    return str(shown)


# -- set-up ---------------------------------------------------------------------------------


async def ensure_namespace(kube: KubeClient, name: str = NAMESPACE) -> None:
    """Create the namespace if absent; wait for its ``default`` ServiceAccount (pods need it)."""
    with contextlib.suppress(kube_errors.Conflict):
        await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    await wait.wait_for(
        kube,
        "v1",
        "Namespace",
        name,
        None,
        lambda o: o is not None and o.get("status", {}).get("phase") == "Active",
        timeout=60,
    )
    await wait.wait_for(
        kube, "v1", "ServiceAccount", "default", name, lambda o: o is not None, timeout=60
    )


async def install_crd(kube: KubeClient) -> None:
    """Server-side apply the Widget CRD and wait until it is Established and served."""
    crd = yaml.safe_load(CRD_FILE.read_text())
    ref = ResourceRef("apiextensions.k8s.io/v1", "CustomResourceDefinition", CRD_NAME)
    await kube.patch(ref, crd, PatchType.APPLY, field_manager=TEST_MANAGER, force=True)
    await wait.wait_for(
        kube,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        CRD_NAME,
        None,
        lambda o: wait.condition_true(o, "Established"),
        timeout=60,
    )


def start(kubeconfig: Path, workdir: Path, *extra_args: str) -> DemoOperator:
    """Start the operator process; its stdout and stderr go to ``workdir/operator.log``.

    ``extra_args`` go to the operator, e.g. ``"--repair-delay", "1"``."""
    identity = f"demo-operator-pytest-{os.getpid()}"
    log_path = workdir / "operator.log"
    pause_file = workdir / "pause"
    pause_file.unlink(missing_ok=True)
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                str(OPERATOR),
                "--kubeconfig",
                str(kubeconfig),
                "--namespace",
                NAMESPACE,
                "--pause-file",
                str(pause_file),
                "--identity",
                identity,
                "--parent-pid",
                str(os.getpid()),
                *extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
    return DemoOperator(process, log_path, pause_file, identity)


# Importing the fixtures into several test modules makes pytest register one session fixture
# per module; they share one process (two would fight over the Lease and the objects).
_shared: list[DemoOperator] = []
_users = [0]


@pytest.fixture(scope="session")
async def demo_operator_process(
    kube: KubeClient, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DemoOperator]:
    """One operator process for the session, started once its namespace and CRD exist."""
    if not _shared or not _shared[0].alive():
        await ensure_namespace(kube)
        await install_crd(kube)
        handle = start(sandbox.kubeconfig, tmp_path_factory.mktemp("demo-operator"))
        _shared[:] = [handle]
        try:
            await handle.wait_steady(kube, timeout=120)
        except BaseException:
            handle.stop()
            raise
    handle = _shared[0]
    _users[0] += 1
    try:
        yield handle
    finally:
        _users[0] -= 1
    if _users[0] == 0:
        code = handle.stop()
        print(f"demo operator log ({handle.log_path}):\n{handle.tail(15)}")
        assert code == 0, f"demo operator exited with {code} on SIGTERM:\n{handle.tail()}"


@pytest.fixture
async def demo_operator(demo_operator_process: DemoOperator, kube: KubeClient) -> DemoOperator:
    """The operator, repairing again and with everything it owns back in steady state."""
    handle = demo_operator_process
    assert handle.alive(), f"demo operator is not running; log:\n{handle.tail()}"
    await handle.resume()
    await handle.wait_steady(kube, timeout=60)
    return handle
