"""ClientFault and WebhookLatency against the sandbox's real training-operator.

ClientFault: the tool writes the reference SDK's fault table (ConfigMap
``operator-chaos-config``); the agent's API relay, between the operator process and the API
server, applies it to the operator's own calls. With every create refused, a job Service the
test deletes is not re-created while the fault is held, and is re-created after the lift.

WebhookLatency: the ``run`` process serves a delaying webhook on a loopback port; while it is
held a dry-run create of a matching object in the target namespace takes the delay (and
elsewhere it does not). After SIGKILL the endpoint is dead, the cluster keeps working
(``failurePolicy: Ignore``), and ``clean`` removes the configuration.
"""

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine_support import (
    JOB,
    NS,
    TOOL_NS,
    PausedRun,
    ToolResult,
    leftovers,
    repair,
    run_tool,
    settle,
)
from sandbox_support import agent_status

from operator_chaos.exitcodes import ExitStatus
from operator_chaos.kube import wait
from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import RawObject, ResourceRef

CONFIG_MAP = ResourceRef("v1", "ConfigMap", "operator-chaos-config", NS)
WORKER_SERVICE = ResourceRef("v1", "Service", f"{JOB}-worker-0", NS)
WEBHOOKS = ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration")
AVAILABLE = {
    "type": "conditionTrue",
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "name": "training-operator-controller-manager",
    "namespace": NS,
    "conditionType": "Available",
}
SERVICE_EXISTS = {
    "type": "resourceExists",
    "apiVersion": "v1",
    "kind": "Service",
    "name": WORKER_SERVICE.name,
    "namespace": NS,
}
CREATES_FAIL = '{"create":{"errorRate":1.0,"error":"injected create failure"}}'


def experiment(
    tmp_path: Path,
    name: str,
    injection: dict[str, Any],
    *,
    checks: tuple[dict[str, Any], ...] = (AVAILABLE,),
    namespaces: tuple[str, ...] = (NS,),
) -> Path:
    doc = {
        "apiVersion": "chaos.operatorchaos.io/v1alpha1",
        "kind": "ChaosExperiment",
        "metadata": {"name": name},
        "spec": {
            "target": {
                "operator": "training-operator",
                "component": "training-operator-controller-manager",
            },
            "steadyState": {"checks": list(checks), "timeout": "60s"},
            "injection": {"ttl": "180s", **injection},
            "hypothesis": {
                "description": "The training-operator copes and converges afterwards.",
                "recoveryTimeout": "90s",
            },
            "blastRadius": {
                "maxPodsAffected": 1,
                "allowedNamespaces": list(namespaces),
                "allowDangerous": True,
            },
        },
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def client_fault(faults: str = CREATES_FAIL) -> dict[str, Any]:
    return {"type": "ClientFault", "parameters": {"faults": faults}}


def webhook_latency(resources: str, groups: str, delay: str = "3s") -> dict[str, Any]:
    return {
        "type": "WebhookLatency",
        "dangerLevel": "high",
        "parameters": {"resources": resources, "apiGroups": groups, "delay": delay},
    }


async def latency_configs(kube: LightkubeClient) -> list[RawObject]:
    listed = await kube.list(*WEBHOOKS)
    return [c for c in listed.items if c["metadata"]["name"].startswith("chaos-webhook-latency-")]


async def finish(paused: PausedRun, timeout: float = 240.0) -> ToolResult:
    """SIGUSR1: the run carries on from its checkpoint; wait for it to exit."""
    started = time.monotonic()
    paused.proc.send_signal(signal.SIGUSR1)
    rc = await asyncio.wait_for(paused._finish(), timeout)
    return ToolResult(paused.args, rc, paused.stdout, paused.stderr, time.monotonic() - started)


async def dry_run_create_seconds(kube: LightkubeClient, namespace: str) -> float:
    """How long a dry-run create of a ConfigMap in ``namespace`` takes (nothing is stored)."""
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "latency-probe", "namespace": namespace},
        "data": {"k": "v"},
    }
    started = time.monotonic()
    await kube.raw("POST", f"/api/v1/namespaces/{namespace}/configmaps?dryRun=All", body)
    return time.monotonic() - started


async def clean_twice(sandbox: Any, expect: str) -> None:
    cleaned = await run_tool(sandbox.kubeconfig, "clean")
    assert cleaned.rc == 0, cleaned.describe()
    assert expect in cleaned.stdout, cleaned.describe()
    again = await run_tool(sandbox.kubeconfig, "clean")
    assert again.stdout.strip() == "nothing to clean", again.describe()


@pytest.fixture
async def steady(kube: LightkubeClient, sandbox: Any) -> AsyncIterator[None]:
    await settle(kube)
    assert await leftovers(kube) == []
    assert await kube.get_or_none(CONFIG_MAP) is None
    assert await latency_configs(kube) == []
    yield
    await repair(kube, sandbox.kubeconfig)
    for config in await latency_configs(kube):
        await kube.delete(ResourceRef.of(config))
    leftover = await kube.get_or_none(CONFIG_MAP)
    if leftover is not None:
        await kube.delete(CONFIG_MAP)
    await settle(kube)


# -- ClientFault ------------------------------------------------------------------------------


async def test_client_fault_refuses_a_table_it_does_not_own(
    kube: LightkubeClient, sandbox: Any, steady: None, tmp_path: Path
) -> None:
    theirs = await kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": CONFIG_MAP.name, "namespace": NS},
            "data": {"config": '{"active":false,"faults":{}}'},
        }
    )
    try:
        result = await run_tool(
            sandbox.kubeconfig, "run", str(experiment(tmp_path, "cf-taken", client_fault()))
        )
        assert result.rc != ExitStatus.OK, result.describe()
        assert "already exists and is not operator-chaos's" in result.stderr, result.describe()
        still = await kube.get(CONFIG_MAP)
        assert still["metadata"]["resourceVersion"] == theirs["metadata"]["resourceVersion"]
    finally:
        await kube.delete(CONFIG_MAP)
    tool_ns = await run_tool(
        sandbox.kubeconfig,
        "run",
        str(experiment(tmp_path, "cf-tool-ns", client_fault(), namespaces=(TOOL_NS,))),
    )
    assert tool_ns.rc == ExitStatus.UNSAFE, tool_ns.describe()
    assert "is in the tool namespace" in tool_ns.stderr, tool_ns.describe()
    assert await leftovers(kube) == []


async def test_client_fault_dry_run_changes_nothing(
    kube: LightkubeClient, sandbox: Any, steady: None, tmp_path: Path
) -> None:
    result = await run_tool(
        sandbox.kubeconfig,
        "run",
        str(experiment(tmp_path, "cf-dry", client_fault())),
        "--dry-run",
        "--format",
        "json",
    )
    assert result.rc == ExitStatus.OK, result.describe()
    (change,) = result.report()["injection"]["plan"]
    assert change["target"] == str(CONFIG_MAP)
    assert change["before"] == "absent"
    assert "create: 100% errors" in change["after"]
    assert await kube.get_or_none(CONFIG_MAP) is None
    assert await leftovers(kube) == []


async def test_client_fault_holds_the_operators_creates_then_lifts(
    kube: LightkubeClient, sandbox: Any, steady: None, tmp_path: Path
) -> None:
    path = experiment(tmp_path, "cf-held", client_fault(), checks=(AVAILABLE, SERVICE_EXISTS))
    service_uid = (await kube.get(WORKER_SERVICE))["metadata"]["uid"]
    paused = await PausedRun.start(
        sandbox.kubeconfig,
        "holding",
        "run",
        path.as_posix(),
        "--hold",
        "3s",
        "--stability",
        "1s",
        "--format",
        "json",
    )
    try:
        table = json.loads((await kube.get(CONFIG_MAP))["data"]["config"])
        # The reference SDK's shape: active, one entry per operation, Go-decodable fields.
        assert table == {
            "active": True,
            "faults": {"create": {"errorRate": 1.0, "error": "injected create failure"}},
        }

        def relay_has_table() -> bool:
            faults = agent_status(sandbox).get("clientFaults") or {}
            return "create" in (faults.get("table") or {})

        deadline = time.monotonic() + 10
        while not relay_has_table():  # the agent's status file: nothing to watch
            assert time.monotonic() < deadline, agent_status(sandbox)
            await asyncio.sleep(0.1)

        await kube.delete(WORKER_SERVICE)
        with pytest.raises(TimeoutError):  # not re-created while creates fail
            await wait.wait_for(
                kube,
                "v1",
                "Service",
                WORKER_SERVICE.name,
                NS,
                lambda o: o is not None,
                timeout=8,
            )
        errors = (agent_status(sandbox).get("clientFaults") or {}).get("errors") or {}
        assert errors.get("create", 0) > 0, agent_status(sandbox)
        log = (sandbox.dir / "logs" / "training-operator.log").read_text(errors="replace")
        assert "chaos(create): injected create failure" in log
    except BaseException:
        await paused.kill()
        raise
    result = await finish(paused)

    assert result.rc == ExitStatus.OK, result.describe()
    report = result.report()
    assert report["verdict"] == "Resilient", result.describe()
    assert report["recoveryModel"] == "condition"
    assert any("carries the active fault table" in c for c in report["injection"]["confirmations"])
    impact = report["impact"]  # the deleted Service stayed missing while the fault was held
    assert impact["observed"], impact
    assert any("Service" in line for line in impact["broken"]), impact
    recreated = await kube.get(WORKER_SERVICE)
    assert recreated["metadata"]["uid"] != service_uid
    assert await kube.get_or_none(CONFIG_MAP) is None
    assert await leftovers(kube) == []


async def test_client_fault_sigkill_then_clean(
    kube: LightkubeClient, sandbox: Any, steady: None, tmp_path: Path
) -> None:
    path = experiment(tmp_path, "cf-kill", client_fault())
    paused = await PausedRun.start(sandbox.kubeconfig, "holding", "run", path.as_posix())
    try:
        assert await kube.get_or_none(CONFIG_MAP) is not None
    finally:
        assert await paused.kill() == -9
    assert await kube.get_or_none(CONFIG_MAP) is not None  # nothing ran a finally

    await clean_twice(sandbox, "restored: cf-kill: ")

    assert await kube.get_or_none(CONFIG_MAP) is None
    assert await leftovers(kube) == []
    await settle(kube)


# -- WebhookLatency ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resources", "groups", "says"),
    [
        ("chaosexperiments", "chaos.operatorchaos.io", "never intercepts chaosexperiments"),
        ("clusterroles", "rbac.authorization.k8s.io", "is cluster-scoped"),
        ("widgetz", "core", "serves no resource 'widgetz'"),
    ],
)
async def test_webhook_latency_refusals(
    kube: LightkubeClient,
    sandbox: Any,
    steady: None,
    tmp_path: Path,
    resources: str,
    groups: str,
    says: str,
) -> None:
    path = experiment(tmp_path, "wl-refused", webhook_latency(resources, groups))
    result = await run_tool(sandbox.kubeconfig, "run", str(path))
    assert result.rc != ExitStatus.OK, result.describe()
    assert says in result.stderr, result.describe()
    assert await latency_configs(kube) == []
    assert await leftovers(kube) == []


async def test_webhook_latency_dry_run_changes_nothing(
    kube: LightkubeClient, sandbox: Any, steady: None, tmp_path: Path
) -> None:
    path = experiment(tmp_path, "wl-dry", webhook_latency("configmaps", "core"))
    result = await run_tool(sandbox.kubeconfig, "run", str(path), "--dry-run", "--format", "json")
    assert result.rc == ExitStatus.OK, result.describe()
    (change,) = result.report()["injection"]["plan"]
    assert "delay 3s on CREATE/UPDATE of configmaps" in change["after"]
    assert await latency_configs(kube) == []
    assert await leftovers(kube) == []


async def test_webhook_latency_slows_matching_writes_while_held(
    kube: LightkubeClient, sandbox: Any, steady: None, tmp_path: Path
) -> None:
    path = experiment(tmp_path, "wl-held", webhook_latency("configmaps", "core"))
    assert await dry_run_create_seconds(kube, NS) < 2.0
    paused = await PausedRun.start(
        sandbox.kubeconfig,
        "holding",
        "run",
        path.as_posix(),
        "--hold",
        "1s",
        "--stability",
        "1s",
        "--format",
        "json",
    )
    try:
        (config,) = await latency_configs(kube)
        (hook,) = config["webhooks"]
        assert hook["failurePolicy"] == "Ignore"
        assert hook["timeoutSeconds"] == 4
        assert hook["clientConfig"]["url"].startswith("https://127.0.0.1:")
        assert hook["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": NS}}
        assert await dry_run_create_seconds(kube, NS) >= 3.0
        assert await dry_run_create_seconds(kube, TOOL_NS) < 2.0  # other namespaces: untouched
    except BaseException:
        await paused.kill()
        raise
    result = await finish(paused)

    assert result.rc == ExitStatus.OK, result.describe()
    report = result.report()
    assert report["verdict"] == "Resilient", result.describe()
    confirmations = " ".join(report["injection"]["confirmations"])
    assert "the webhook was called" in confirmations, confirmations
    assert await latency_configs(kube) == []
    assert await dry_run_create_seconds(kube, NS) < 2.0
    assert await leftovers(kube) == []


async def test_webhook_latency_sigkill_leaves_the_cluster_working_until_clean(
    kube: LightkubeClient, sandbox: Any, steady: None, tmp_path: Path
) -> None:
    path = experiment(tmp_path, "wl-kill", webhook_latency("configmaps", "core"))
    paused = await PausedRun.start(sandbox.kubeconfig, "holding", "run", path.as_posix())
    try:
        assert len(await latency_configs(kube)) == 1
    finally:
        assert await paused.kill() == -9
    # The endpoint died with the process; failurePolicy Ignore lets every write through.
    assert len(await latency_configs(kube)) == 1
    assert await dry_run_create_seconds(kube, NS) < 2.0
    created = await kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "written-meanwhile", "namespace": NS},
        }
    )
    await kube.delete(ResourceRef.of(created))

    await clean_twice(sandbox, "restored: wl-kill: ")

    assert await latency_configs(kube) == []
    assert await leftovers(kube) == []
