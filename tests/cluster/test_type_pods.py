"""CrashLoopInject and ImageCorrupt against the real sandbox.

The training-operator's Deployment belongs to a scenario operator: its pods run on the agent's
node, where an image the scenario does not declare cannot be pulled (ErrImagePull, then
ImagePullBackOff) and a command other than the declared one exits 127 and is restarted with
back-off (CrashLoopBackOff). Nothing in the sandbox reconciles that Deployment's template (no
OLM, no meta-operator), so there a run is Failed by design and operator-chaos restores it; the
old pod keeps running throughout (one replica, no unavailable pod allowed by the rollout).

Covered per type: refusals, ``--dry-run`` changes nothing, the fault is really active while
held (a pod of the broken template shows it), SIGKILL of ``run`` then ``clean`` puts the
template back, and the verdict of an unrepaired run. The Resilient twin (an operator that
restores its template) is in :func:`test_operator_repair_is_resilient`.
"""

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from demo_operator_support import (
    demo_operator,  # noqa: F401  (fixture)
    demo_operator_process,  # noqa: F401  (fixture)
)
from engine_support import (
    DEPLOYMENT_REF,
    NS,
    OPERATOR_SELECTOR,
    SEED_DIR,
    PausedRun,
    assert_pristine,
    ledgers,
    leftovers,
    operator_pods,
    repair,
    resource_versions,
    run_tool,
    settle,
)

from operator_chaos.exitcodes import ExitStatus
from operator_chaos.injection import targets
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube import wait
from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import PatchType, RawObject, ResourceRef

TYPES = ("CrashLoopInject", "ImageCorrupt")
SEED = {
    "CrashLoopInject": SEED_DIR / "crash-loop-inject.yaml",
    "ImageCorrupt": SEED_DIR / "image-corrupt.yaml",
}
EXPERIMENT = {
    "CrashLoopInject": "training-operator-crash-loop-inject",
    "ImageCorrupt": "training-operator-image-corrupt",
}
CONTAINER = "training-operator"
FIELD = {"CrashLoopInject": "command", "ImageCorrupt": "image"}
INJECTED: dict[str, Any] = {
    "CrashLoopInject": ["/chaos-nonexistent-binary"],
    "ImageCorrupt": "registry.invalid/nonexistent:chaos",
}
SHOWS = {
    "CrashLoopInject": {"CrashLoopBackOff"},
    "ImageCorrupt": {"ErrImagePull", "ImagePullBackOff"},
}
PLAN = {
    "CrashLoopInject": "Deployment opendatahub/training-operator-controller-manager"
    " spec.template.spec.containers[name=training-operator].command:"
    " unset -> ['/chaos-nonexistent-binary']",
    "ImageCorrupt": "Deployment opendatahub/training-operator-controller-manager"
    " spec.template.spec.containers[name=training-operator].image:"
    " 'kubeflow/training-operator:v1.9.0' -> 'registry.invalid/nonexistent:chaos'",
}
QUICK = ("--stability", "1s")
REFUSED = targets.InjectionRefused.exit_status  # a plan that refuses: nothing was changed
REVISION = "deployment.kubernetes.io/revision"


# -- cluster state -------------------------------------------------------------------------


def container(obj: RawObject | None, name: str = CONTAINER) -> RawObject:
    """A container of a Deployment's template or of a pod, by name."""
    spec: RawObject = (obj or {}).get("spec") or {}
    spec = (spec.get("template") or {}).get("spec") or spec
    found: RawObject = next((c for c in spec.get("containers") or [] if c.get("name") == name), {})
    return found


def deployment_view(obj: RawObject | None) -> RawObject | None:
    """What the user owns of the Deployment: spec, labels, annotations (without the revision
    counter the Deployment controller bumps on every rollout, ours and the revert's)."""
    if obj is None:
        return None
    meta = obj["metadata"]
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != REVISION}
    return {
        "uid": meta["uid"],
        "labels": meta.get("labels"),
        "annotations": annotations,
        "spec": obj["spec"],
    }


async def live_operator_pods(kube: LightkubeClient) -> dict[str, str]:
    """uid -> name of the operator pods not being deleted."""
    return {
        p["metadata"]["uid"]: p["metadata"]["name"]
        for p in await operator_pods(kube)
        if not p["metadata"].get("deletionTimestamp")
    }


def waiting_reason(pod: RawObject) -> str:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == CONTAINER:
            return str(((status.get("state") or {}).get("waiting") or {}).get("reason", ""))
    return ""


async def wait_pods(
    kube: LightkubeClient,
    found: Callable[[list[RawObject]], Any],
    *,
    timeout: float,
    namespace: str = NS,
    selector: str = OPERATOR_SELECTOR,
) -> Any:
    """Watch pods (default: the operator's) until ``found(pods)`` is truthy; return it."""

    async def run() -> Any:
        while True:
            listed = await kube.list("v1", "Pod", namespace, label_selector=selector)
            pods = {p["metadata"]["name"]: p for p in listed.items}
            if value := found(list(pods.values())):
                return value
            with contextlib.suppress(kube_errors.Gone):
                async for event in kube.watch(
                    "v1",
                    "Pod",
                    namespace,
                    label_selector=selector,
                    resource_version=listed.resource_version,
                ):
                    if event.type == "BOOKMARK":
                        continue
                    name = event.object["metadata"]["name"]
                    if event.type == "DELETED":
                        pods.pop(name, None)
                    else:
                        pods[name] = event.object
                    if value := found(list(pods.values())):
                        return value

    return await asyncio.wait_for(run(), timeout)


def broken_and_showing(injection: str) -> Callable[[list[RawObject]], list[str]]:
    """Pods running the broken template whose container shows the fault."""

    def found(pods: list[RawObject]) -> list[str]:
        return [
            f"{p['metadata']['name']}: {waiting_reason(p)}"
            for p in pods
            if container(p).get(FIELD[injection]) == INJECTED[injection]
            and waiting_reason(p) in SHOWS[injection]
        ]

    return found


async def template_field(kube: LightkubeClient, injection: str) -> Any:
    return container(await kube.get(DEPLOYMENT_REF)).get(FIELD[injection])


@pytest.fixture
async def steady(kube: LightkubeClient, sandbox: Any) -> Any:
    """The scenario settled and pristine; afterwards, whatever a failed test left is undone
    (the tool's ledgers by ``clean``, then the template itself)."""
    await settle(kube)
    await assert_pristine(kube)
    original = container(await kube.get(DEPLOYMENT_REF))
    yield original
    await repair(kube, sandbox.kubeconfig)
    now = container(await kube.get(DEPLOYMENT_REF))
    if now != original:
        dep = await kube.get(DEPLOYMENT_REF)
        containers = dep["spec"]["template"]["spec"]["containers"]
        index = next(i for i, c in enumerate(containers) if c.get("name") == CONTAINER)
        ops = [
            {"op": "replace", "path": f"/spec/template/spec/containers/{index}", "value": original}
        ]
        await kube.patch(DEPLOYMENT_REF, ops, PatchType.JSON)
    await settle(kube)


# -- refusals and dry runs -----------------------------------------------------------------


@pytest.mark.parametrize("injection", TYPES)
async def test_dry_run_changes_nothing(
    injection: str, kube: LightkubeClient, sandbox: Any, steady: Any
) -> None:
    before = await resource_versions(kube)

    result = await run_tool(
        sandbox.kubeconfig, "run", str(SEED[injection]), "--dry-run", "--format", "json"
    )

    assert result.rc == 0, result.describe()
    assert PLAN[injection] in result.stderr, result.describe()
    report = result.report()
    assert report["dryRun"] is True
    assert [p["phase"] for p in report["phases"]] == ["Pending", "Complete"]
    assert await resource_versions(kube) == before


REFUSALS: dict[str, tuple[str, tuple[str, ...], int, str]] = {
    "no-such-container": (
        "CrashLoopInject",
        ("--set", "spec.injection.parameters.containerName=manager"),
        REFUSED,
        "has no container 'manager' (containers: training-operator)",
    ),
    "no-such-deployment": (
        "ImageCorrupt",
        ("--set", "spec.injection.parameters.name=not-there"),
        REFUSED,
        "Deployment opendatahub/not-there not found",
    ),
    "same-image": (
        "ImageCorrupt",
        ("--set", "spec.injection.parameters.image=kubeflow/training-operator:v1.9.0"),
        REFUSED,
        "already uses image 'kubeflow/training-operator:v1.9.0': nothing would change",
    ),
    "forbidden-resource": (
        "CrashLoopInject",
        ("--set", "spec.blastRadius.forbiddenResources=[Deployment]"),
        ExitStatus.UNSAFE,
        "is listed in spec.blastRadius.forbiddenResources (Deployment)",
    ),
    "not-dangerous": (
        "ImageCorrupt",
        ("--set", "spec.blastRadius.allowDangerous=false"),
        ExitStatus.INVALID,
        "ImageCorrupt is a high-danger fault: set blastRadius.allowDangerous: true",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
async def test_refusals_change_nothing(
    case: str, kube: LightkubeClient, sandbox: Any, steady: Any
) -> None:
    injection, overrides, rc, says = REFUSALS[case]
    before = await resource_versions(kube)

    result = await run_tool(sandbox.kubeconfig, "run", str(SEED[injection]), *overrides)

    assert result.rc == rc, result.describe()
    assert says in result.stderr, result.describe()
    assert await resource_versions(kube) == before
    assert await leftovers(kube) == []


SCRATCH_NS = "pods-scratch"
SCRATCH = ResourceRef("apps/v1", "Deployment", "scratch", SCRATCH_NS)


def scratch_experiment(tmp_path: Path, injection: str) -> Path:
    doc = {
        "apiVersion": "chaos.operatorchaos.io/v1alpha1",
        "kind": "ChaosExperiment",
        "metadata": {"name": f"scratch-{injection.lower()}"},
        "spec": {
            "target": {"operator": "scratch", "component": "scratch"},
            "steadyState": {"checks": [], "timeout": "10s"},
            "injection": {"type": injection, "ttl": "60s", "parameters": {"name": "scratch"}},
            "hypothesis": {"description": "refused", "recoveryTimeout": "5s"},
            "blastRadius": {
                "maxPodsAffected": 3,
                "allowedNamespaces": [SCRATCH_NS],
                "allowDangerous": True,
            },
        },
    }
    path = tmp_path / "scratch.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"replicas": 0}, "has 0 replicas: no pod would run the broken template"),
        ({"replicas": 1, "paused": True}, "has its rollouts paused (spec.paused)"),
    ],
)
@pytest.mark.parametrize("injection", TYPES)
async def test_a_deployment_that_cannot_show_the_fault_is_refused(
    injection: str, spec: RawObject, says: str, kube: LightkubeClient, sandbox: Any, tmp_path: Path
) -> None:
    from demo_operator_support import ensure_namespace

    await ensure_namespace(kube, SCRATCH_NS)
    await kube.delete(SCRATCH)
    await wait.wait_for(
        kube, "apps/v1", "Deployment", "scratch", SCRATCH_NS, lambda o: o is None, timeout=30
    )
    await kube.create(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "scratch", "namespace": SCRATCH_NS},
            "spec": {
                **spec,
                "selector": {"matchLabels": {"app": "scratch"}},
                "template": {
                    "metadata": {"labels": {"app": "scratch"}},
                    "spec": {"containers": [{"name": "app", "image": "scratch:1"}]},
                },
            },
        }
    )
    try:
        # The Deployment controller writes its status meanwhile: compare what we could touch.
        before = deployment_view(await kube.get(SCRATCH))
        result = await run_tool(
            sandbox.kubeconfig, "run", str(scratch_experiment(tmp_path, injection))
        )
        assert result.rc == REFUSED, result.describe()
        assert says in result.stderr, result.describe()
        assert deployment_view(await kube.get(SCRATCH)) == before
        assert await leftovers(kube) == []
    finally:
        await kube.delete(SCRATCH)


# -- the fault, held, killed, cleaned --------------------------------------------------------


@pytest.mark.parametrize("injection", TYPES)
async def test_fault_is_active_then_sigkill_and_clean_restore_the_template(
    injection: str, kube: LightkubeClient, sandbox: Any, steady: Any
) -> None:
    before = deployment_view(await kube.get(DEPLOYMENT_REF))
    pods_before = await live_operator_pods(kube)
    assert len(pods_before) == 1

    paused = await PausedRun.start(
        sandbox.kubeconfig, "observing", "run", str(SEED[injection]), *QUICK, timeout=120
    )
    try:
        # confirm() has run: the template is broken and a pod of it shows the fault.
        assert "fault active: Pod opendatahub/" in paused.stderr, paused.stderr
        assert await template_field(kube, injection) == INJECTED[injection]
        showing = await wait_pods(kube, broken_and_showing(injection), timeout=30)
        assert showing, showing
        # The old pod keeps serving: the rollout may not take it down before a new one is
        # ready, and none ever is.
        assert set(pods_before) <= set(await live_operator_pods(kube))
        dep = await kube.get(DEPLOYMENT_REF)
        assert wait.condition_true(dep, "Available")
        assert (dep.get("status") or {}).get("unavailableReplicas") == 1
        assert len(await ledgers(kube)) == 1
    finally:
        rc = await paused.kill()
    assert rc == -9, paused.stderr

    cleaned = await run_tool(sandbox.kubeconfig, "clean")

    assert cleaned.rc == 0, cleaned.describe()
    expected = (
        f"restored: {EXPERIMENT[injection]}: Deployment opendatahub/"
        f"training-operator-controller-manager spec.template.spec.containers"
        f"[name=training-operator].{FIELD[injection]}: restored"
    )
    assert expected in cleaned.stdout, cleaned.stdout
    assert await leftovers(kube) == []
    await settle(kube)
    assert deployment_view(await kube.get(DEPLOYMENT_REF)) == before
    assert await live_operator_pods(kube) == pods_before  # the same pod served throughout
    again = await run_tool(sandbox.kubeconfig, "clean")
    assert again.stdout.strip() == "nothing to clean", again.describe()


@pytest.mark.parametrize("injection", TYPES)
async def test_sigkill_before_the_change_leaves_nothing_to_restore(
    injection: str, kube: LightkubeClient, sandbox: Any, steady: Any
) -> None:
    before = deployment_view(await kube.get(DEPLOYMENT_REF))
    paused = await PausedRun.start(
        sandbox.kubeconfig, "injecting:recorded", "run", str(SEED[injection]), *QUICK
    )
    try:
        assert await template_field(kube, injection) != INJECTED[injection]
    finally:
        assert await paused.kill() == -9

    cleaned = await run_tool(sandbox.kubeconfig, "clean")

    assert cleaned.rc == 0, cleaned.describe()
    assert f"[name=training-operator].{FIELD[injection]}: already" in cleaned.stdout, cleaned.stdout
    assert await leftovers(kube) == []
    await settle(kube)
    assert deployment_view(await kube.get(DEPLOYMENT_REF)) == before


# -- verdicts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("injection", TYPES)
async def test_unrepaired_template_fails_and_the_tool_restores_it(
    injection: str, kube: LightkubeClient, sandbox: Any, steady: Any
) -> None:
    """Nothing reconciles the training-operator's Deployment: Failed by design."""
    before = deployment_view(await kube.get(DEPLOYMENT_REF))
    pods_before = await live_operator_pods(kube)

    result = await run_tool(
        sandbox.kubeconfig,
        "run",
        str(SEED[injection]),
        "--set",
        "spec.hypothesis.recoveryTimeout=8s",
        *QUICK,
        "--format",
        "json",
    )

    assert result.rc == 11, result.describe()
    report = result.report()
    assert report["verdict"] == "Failed"
    assert report["recoveryModel"] == "repair"
    assert report["message"].endswith("operator-chaos restored it"), report["message"]
    confirmations = report["injection"]["confirmations"]
    assert any(c.startswith("fault active: Pod opendatahub/") for c in confirmations), confirmations
    assert any(r in " ".join(confirmations) for r in SHOWS[injection]), confirmations
    assert [r["restoredBy"] for r in report["restorations"]] == ["operator-chaos"]
    assert await leftovers(kube) == []
    await settle(kube)
    assert deployment_view(await kube.get(DEPLOYMENT_REF)) == before
    assert await live_operator_pods(kube) == pods_before


# -- the Resilient twin: an operator that restores its template --------------------------------
#
# The demo operator (tests/operators/demo_operator.py) owns Deployment demo/demo-app, including
# its container's image and command. Its pods are made to behave like pods: they are scheduled
# onto the agent's node and declared to the agent as a workload (image registry.invalid/demo:1,
# no command; the "binary" is a process that sleeps), so a broken image or command shows there
# exactly as on the training-operator's pods.

DEMO_IMAGE = "registry.invalid/demo:1"
DEMO_WORKLOAD = "demo-app"
SLEEPER = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "time.sleep(10**9)\n"
)
DEMO_FIELD_LINE = {
    "CrashLoopInject": "spec.template.spec.containers[name=app].command",
    "ImageCorrupt": "spec.template.spec.containers[name=app].image",
}


def on_agent_node(on: bool) -> RawObject:
    """A merge patch putting demo-app's pods on the agent's node (or back on kwok's)."""
    from operator_chaos.sandbox.cluster import AGENT_NODE_LABEL, AGENT_TAINT

    toleration = {"key": AGENT_TAINT, "operator": "Exists", "effect": "NoSchedule"}
    return {
        "spec": {
            "template": {
                "spec": {
                    "nodeSelector": {AGENT_NODE_LABEL: "agent"} if on else None,
                    "tolerations": [toleration] if on else None,
                }
            }
        }
    }


@pytest.fixture
async def demo_on_agent(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: Any,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> Any:
    """The running demo operator, with demo-app's pods run by the agent."""
    import sys

    from demo_operator_support import DEPLOYMENT as DEMO_DEPLOYMENT
    from demo_operator_support import NAMESPACE as DEMO_NS

    from operator_chaos.sandbox import ports
    from operator_chaos.sandbox.workload import WorkloadSpec, workloads_dir

    spec = WorkloadSpec(
        name=DEMO_WORKLOAD,
        scenario="tests/cluster/test_type_pods.py",
        namespace=DEMO_NS,
        deployment=DEMO_DEPLOYMENT.name,
        selector={"app.kubernetes.io/name": "demo-app"},
        container="app",
        images=[DEMO_IMAGE],
        command=None,
        program=[sys.executable, "-c", SLEEPER],
        args=[],
        cert_dir=str(tmp_path),
        api_proxy_port=ports.free_port(),
    )
    path = spec.save(workloads_dir(sandbox.dir))
    sandbox.signal_agent()
    try:
        await kube.patch(DEMO_DEPLOYMENT, on_agent_node(True), PatchType.MERGE)
        await demo_operator.wait_steady(kube, timeout=90)
        await wait_pods(kube, only_on("sandbox-agent"), timeout=60, **DEMO_PODS)
        yield demo_operator
    finally:
        await demo_operator.resume()
        await kube.patch(DEMO_DEPLOYMENT, on_agent_node(False), PatchType.MERGE)
        path.unlink(missing_ok=True)
        sandbox.signal_agent()
        await demo_operator.wait_steady(kube, timeout=90)
        await wait_pods(kube, only_on("kwok-node-0"), timeout=60, **DEMO_PODS)


DEMO_PODS = {"namespace": "demo", "selector": "app.kubernetes.io/name=demo-app"}


def only_on(node: str) -> Callable[[list[RawObject]], bool]:
    """Every pod is on ``node`` and none is terminating (a finished rollout)."""

    def found(pods: list[RawObject]) -> bool:
        return bool(pods) and all(
            p["spec"].get("nodeName") == node and not p["metadata"].get("deletionTimestamp")
            for p in pods
        )

    return found


def demo_experiment(tmp_path: Path, injection: str, timeout: str) -> Path:
    from demo_operator_support import NAMESPACE as DEMO_NS

    doc = {
        "apiVersion": "chaos.operatorchaos.io/v1alpha1",
        "kind": "ChaosExperiment",
        "metadata": {"name": f"demo-{injection.lower()}"},
        "spec": {
            "target": {"operator": "demo-operator", "component": "demo-operator"},
            "steadyState": {
                "checks": [
                    {
                        "type": "conditionTrue",
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": "demo-app",
                        "namespace": DEMO_NS,
                        "conditionType": "Available",
                    }
                ],
                "timeout": "60s",
            },
            "injection": {
                "type": injection,
                "dangerLevel": "high",
                "ttl": "120s",
                "parameters": {"name": "demo-app", "containerName": "app"},
            },
            "hypothesis": {
                "description": f"The demo operator restores its template after {injection}.",
                "recoveryTimeout": timeout,
            },
            "blastRadius": {
                "maxPodsAffected": 2,
                "allowedNamespaces": [DEMO_NS],
                "allowDangerous": True,
            },
        },
    }
    path = tmp_path / f"demo-{injection}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


async def demo_run(sandbox: Any, tmp_path: Path, injection: str, timeout: str) -> Any:
    from demo_operator_support import KNOWLEDGE

    return await run_tool(
        sandbox.kubeconfig,
        "run",
        str(demo_experiment(tmp_path, injection, timeout)),
        "--knowledge",
        str(KNOWLEDGE),
        *QUICK,
        "--format",
        "json",
        timeout=180,
    )


async def demo_container(kube: LightkubeClient) -> RawObject:
    from demo_operator_support import DEPLOYMENT as DEMO_DEPLOYMENT

    return container(await kube.get(DEMO_DEPLOYMENT), "app")


@pytest.mark.parametrize("injection", TYPES)
async def test_operator_repair_is_resilient(
    injection: str, kube: LightkubeClient, sandbox: Any, demo_on_agent: Any, tmp_path: Path
) -> None:
    before = await demo_container(kube)
    mark = demo_on_agent.mark()

    result = await demo_run(sandbox, tmp_path, injection, "30s")

    assert result.rc == 0, result.describe()
    report = result.report()
    assert report["verdict"] == "Resilient", result.describe()
    assert report["recoveryModel"] == "repair"
    assert [r["restoredBy"] for r in report["restorations"]] == ["operator"]
    # Not asserted: report["impact"]["observed"]. The demo operator may repair within the
    # few ms before the damage lane's first look (the lane then starts "intact"); its own log
    # line below is the proof that the template was broken and repaired by it.
    assert report["timeline"]["restoredByToolMs"] is None
    line = await demo_on_agent.wait_log(
        f"repaired Deployment demo-app {DEMO_FIELD_LINE[injection]}", since=mark
    )
    assert line
    assert await demo_container(kube) == before
    assert await leftovers(kube) == []


@pytest.mark.parametrize("injection", TYPES)
async def test_paused_operator_fails_and_the_tool_restores_the_template(
    injection: str, kube: LightkubeClient, sandbox: Any, demo_on_agent: Any, tmp_path: Path
) -> None:
    before = await demo_container(kube)
    await demo_on_agent.pause()
    try:
        result = await demo_run(sandbox, tmp_path, injection, "6s")
        # Still paused: whatever is back now, operator-chaos put it back.
        after = await demo_container(kube)
    finally:
        await demo_on_agent.resume()

    assert result.rc == 11, result.describe()
    report = result.report()
    assert report["verdict"] == "Failed"
    assert report["message"].endswith("operator-chaos restored it"), report["message"]
    confirmations = " ".join(report["injection"]["confirmations"])
    assert "fault active: Pod demo/demo-app-" in confirmations, confirmations
    assert any(r in confirmations for r in SHOWS[injection]), confirmations
    assert [r["restoredBy"] for r in report["restorations"]] == ["operator-chaos"]
    assert after == before
    assert await leftovers(kube) == []
