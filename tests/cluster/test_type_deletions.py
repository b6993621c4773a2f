"""ResourceDeletion, SecretDeletion and NamespaceDeletion against the real API server.

The demo operator (tests/operators/demo_operator.py) re-creates what it owns, so a deletion it
repairs is Resilient and the same run with the operator paused is Failed, with the object put
back by operator-chaos from its backup. A run killed with SIGKILL while the object is deleted
leaves a ledger that ``operator-chaos clean`` reverts.
"""

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from demo_operator_support import (
    KNOWLEDGE,
    NAMESPACE,
    DemoOperator,
    demo_operator,  # noqa: F401  (fixture)
    demo_operator_process,  # noqa: F401  (fixture)
)
from engine_support import REPO, TOOL_NS, PausedRun, ToolResult, leftovers, run_tool

from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import RawObject, ResourceRef

SCRATCH = "deletions-scratch"
LEDGER_SELECTOR = "app.kubernetes.io/managed-by=operator-chaos,chaos.operatorchaos.io/role=ledger"

CHECKS = [
    {
        "type": "conditionTrue",
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "demo-app",
        "namespace": NAMESPACE,
        "conditionType": "Available",
    }
]

CASES: dict[str, dict[str, Any]] = {
    "SecretDeletion": {"type": "SecretDeletion", "parameters": {"name": "demo-secret"}},
    "ResourceDeletion": {
        "type": "ResourceDeletion",
        "parameters": {"apiVersion": "v1", "kind": "ConfigMap", "name": "demo-config"},
    },
    "ResourceDeletionSecret": {
        "type": "ResourceDeletion",
        "parameters": {"apiVersion": "v1", "kind": "Secret", "name": "demo-secret"},
    },
}
TARGETS = {
    "SecretDeletion": ResourceRef("v1", "Secret", "demo-secret", NAMESPACE),
    "ResourceDeletion": ResourceRef("v1", "ConfigMap", "demo-config", NAMESPACE),
    "ResourceDeletionSecret": ResourceRef("v1", "Secret", "demo-secret", NAMESPACE),
}


def experiment(
    tmp_path: Path,
    name: str,
    injection: dict[str, Any],
    timeout: str,
    namespaces: tuple[str, ...] = (NAMESPACE,),
) -> Path:
    doc = {
        "apiVersion": "chaos.operatorchaos.io/v1alpha1",
        "kind": "ChaosExperiment",
        "metadata": {"name": name},
        "spec": {
            "target": {"operator": "demo-operator", "component": "demo-operator"},
            "steadyState": {"checks": CHECKS, "timeout": "60s"},
            "injection": {"ttl": "180s", **injection},
            "hypothesis": {
                "description": "The demo operator re-creates what was deleted.",
                "recoveryTimeout": timeout,
            },
            "blastRadius": {
                "maxPodsAffected": 2,
                "allowedNamespaces": list(namespaces),
                "allowDangerous": True,
            },
        },
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def run_args(path: Path, *extra: str) -> tuple[str, ...]:
    return ("run", str(path), "--knowledge", str(KNOWLEDGE), "--stability", "1s", *extra)


async def run_case(sandbox: Any, path: Path, *extra: str) -> ToolResult:
    return await run_tool(
        sandbox.kubeconfig, *run_args(path, "--format", "json", *extra), timeout=300
    )


async def secret_ledgers(kube: LightkubeClient) -> list[str]:
    listed = await kube.list("v1", "Secret", TOOL_NS, label_selector=LEDGER_SELECTOR)
    return [s["metadata"]["name"] for s in listed.items]


async def all_clean(kube: LightkubeClient) -> None:
    assert await leftovers(kube) == []
    assert await secret_ledgers(kube) == []


@pytest.mark.parametrize("case", sorted(CASES))
async def test_operator_recreation_is_resilient(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811
    case: str,
    tmp_path: Path,
) -> None:
    before = await kube.get(TARGETS[case])
    result = await run_case(
        sandbox, experiment(tmp_path, f"del-{case.lower()}", CASES[case], "30s")
    )
    assert result.rc == 0, result.describe()
    report = result.report()
    assert report["verdict"] == "Resilient", result.describe()
    (restoration,) = report["restorations"]
    assert restoration["restoredBy"] == "operator", restoration
    after = await kube.get(TARGETS[case])
    assert after["metadata"]["uid"] != before["metadata"]["uid"]  # really deleted, re-created
    assert after.get("data") == before.get("data")
    assert any("already" in line for line in report["revert"]["details"]), report["revert"]
    await all_clean(kube)


@pytest.mark.parametrize("case", sorted(CASES))
async def test_unrepaired_deletion_fails_and_the_backup_is_restored(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811
    case: str,
    tmp_path: Path,
) -> None:
    before = await kube.get(TARGETS[case])
    await demo_operator.pause()
    try:
        path = experiment(tmp_path, f"del-{case.lower()}", CASES[case], "5s")
        result = await run_case(sandbox, path)
        # Still paused: what is back now, operator-chaos put back from its backup.
        after = await kube.get(TARGETS[case])
    finally:
        await demo_operator.resume()
    assert result.rc == 11, result.describe()  # verdict Failed
    report = result.report()
    assert report["verdict"] == "Failed", result.describe()
    assert any("recreated" in line for line in report["revert"]["details"]), report["revert"]
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert after.get("data") == before.get("data")
    assert after["metadata"]["labels"] == before["metadata"]["labels"]
    await all_clean(kube)


@pytest.mark.parametrize("case", sorted(CASES))
async def test_dry_run_deletes_nothing(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811
    case: str,
    tmp_path: Path,
) -> None:
    before = await kube.get(TARGETS[case])
    path = experiment(tmp_path, f"dry-{case.lower()}", CASES[case], "5s")
    result = await run_tool(sandbox.kubeconfig, *run_args(path, "--dry-run"))
    assert result.rc == 0, result.describe()
    assert "deleted" in result.stdout + result.stderr
    after = await kube.get(TARGETS[case])
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    await all_clean(kube)


@pytest.mark.parametrize("case", ["SecretDeletion", "ResourceDeletion"])
async def test_killed_run_is_reverted_by_clean(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811
    case: str,
    tmp_path: Path,
) -> None:
    ref = TARGETS[case]
    before = await kube.get(ref)
    await demo_operator.pause()
    try:
        path = experiment(tmp_path, f"kill-{case.lower()}", CASES[case], "60s")
        paused = await PausedRun.start(
            sandbox.kubeconfig, "observing", *run_args(path, "--format", "json")
        )
        assert await kube.get_or_none(ref) is None, "the fault is not active while held"
        secret_books = await secret_ledgers(kube)
        assert len(secret_books) == (1 if ref.kind == "Secret" else 0), secret_books
        assert await paused.kill() == -signal.SIGKILL
        cleaned = await run_tool(sandbox.kubeconfig, "clean")
        assert cleaned.rc == 0, cleaned.describe()
        after = await kube.get(ref)
    finally:
        await demo_operator.resume()
    assert after.get("data") == before.get("data")
    await all_clean(kube)


async def test_refusals(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811
    tmp_path: Path,
) -> None:
    # A ChaosExperiment is never deleted (refused at validation).
    chaos = {
        "type": "ResourceDeletion",
        "parameters": {
            "apiVersion": "chaos.operatorchaos.io/v1alpha1",
            "kind": "ChaosExperiment",
            "name": "x",
        },
    }
    result = await run_tool(sandbox.kubeconfig, *run_args(experiment(tmp_path, "c", chaos, "5s")))
    assert result.rc != 0
    assert "ChaosExperiment" in result.stderr, result.describe()
    # The tool's own objects are never deleted, even with allowDangerous.
    owned = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "owned-by-the-tool",
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "operator-chaos"},
        },
    }
    ref = ResourceRef.of(owned)
    await kube.delete(ref)
    await kube.create(owned)
    try:
        params = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owned-by-the-tool"}
        path = experiment(tmp_path, "o", {"type": "ResourceDeletion", "parameters": params}, "5s")
        result = await run_tool(sandbox.kubeconfig, *run_args(path))
        assert result.rc != 0
        assert "operator-chaos" in result.stderr, result.describe()
        assert await kube.get_or_none(ref) is not None
    finally:
        await kube.delete(ref)
    # Protected and tool namespaces are refused at validation.
    for namespace in ("kube-system", "default", TOOL_NS):
        injection = {"type": "NamespaceDeletion", "parameters": {"namespace": namespace}}
        path = experiment(tmp_path, "n", injection, "5s", namespaces=(namespace,))
        result = await run_tool(sandbox.kubeconfig, *run_args(path))
        assert result.rc == 3, result.describe()  # invalid
        assert "cannot be deleted" in result.stdout + result.stderr
    await all_clean(kube)


async def scratch_namespace(kube: LightkubeClient) -> RawObject:
    """A namespace nobody rebuilds, with a label and a ConfigMap in it."""
    ref = ResourceRef("v1", "Namespace", SCRATCH)
    current = await kube.get_or_none(ref)
    if current is not None and not current["metadata"].get("deletionTimestamp"):
        return current
    from operator_chaos.kube import wait

    await wait.wait_for(kube, "v1", "Namespace", SCRATCH, None, lambda o: o is None, timeout=120)
    created = await kube.create(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": SCRATCH, "labels": {"team": "chaos-tests"}},
        }
    )
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "content", "namespace": SCRATCH},
            "data": {"a": "b"},
        }
    )
    return created


async def test_namespace_deletion_waits_out_terminating_and_recreates(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811
    tmp_path: Path,
) -> None:
    before = await scratch_namespace(kube)
    injection = {"type": "NamespaceDeletion", "parameters": {"namespace": SCRATCH}}
    path = experiment(tmp_path, "ns-del", injection, "5s", namespaces=(SCRATCH,))
    dry = await run_tool(sandbox.kubeconfig, *run_args(path, "--dry-run"))
    assert dry.rc == 0, dry.describe()
    # Ours, plus kube-root-ca.crt once the controller-manager has published it there.
    configmaps = len((await kube.list("v1", "ConfigMap", SCRATCH)).items)
    plural = "ConfigMap" if configmaps == 1 else "ConfigMaps"
    assert f"{configmaps} {plural}" in dry.stdout + dry.stderr, dry.describe()
    unchanged = await kube.get(ResourceRef("v1", "Namespace", SCRATCH))
    assert unchanged["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]

    result = await run_case(sandbox, path)
    assert result.rc == 11, result.describe()  # verdict Failed
    report = result.report()
    assert report["verdict"] == "Failed", result.describe()  # nobody rebuilds it
    assert any("recreated" in line for line in report["revert"]["details"]), report["revert"]
    after = await kube.get(ResourceRef("v1", "Namespace", SCRATCH))
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert after["metadata"]["labels"]["team"] == "chaos-tests"
    assert not after["metadata"].get("deletionTimestamp")
    assert (after.get("status") or {}).get("phase") == "Active"
    # The contents were the operator's to rebuild: the ConfigMap went with the namespace.
    assert await kube.get_or_none(ResourceRef("v1", "ConfigMap", "content", SCRATCH)) is None
    await all_clean(kube)


async def test_namespace_deletion_is_resilient_when_its_owner_recreates_it(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The twin of the Failed run above: a real process that owns the namespace (the
    namespace keeper) creates it again once it has terminated, so the operator side did
    its part and the verdict is Resilient; the tool recreates nothing."""
    before = await scratch_namespace(kube)
    keeper = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "tests" / "operators" / "namespace_keeper.py"),
        str(sandbox.kubeconfig),
        SCRATCH,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        injection = {"type": "NamespaceDeletion", "parameters": {"namespace": SCRATCH}}
        path = experiment(tmp_path, "ns-kept", injection, "120s", namespaces=(SCRATCH,))
        result = await run_case(sandbox, path)
        report = result.report()
        assert report["verdict"] == "Resilient", result.describe()
        assert result.rc == 0, result.describe()
        assert [(c["action"]) for c in report["revert"]["changes"]] == ["already"]
        (restoration,) = report["restorations"]
        assert restoration["restoredBy"] == "operator", restoration
        after = await kube.get(ResourceRef("v1", "Namespace", SCRATCH))
        assert after["metadata"]["uid"] != before["metadata"]["uid"]
    finally:
        keeper.terminate()
        output, _ = await keeper.communicate()
    assert b"keeper: created Namespace deletions-scratch" in output, output
    await all_clean(kube)


async def test_namespace_deletion_killed_then_clean_recreates(
    kube: LightkubeClient,
    sandbox: Any,
    demo_operator: DemoOperator,  # noqa: F811
    tmp_path: Path,
) -> None:
    await scratch_namespace(kube)
    injection = {"type": "NamespaceDeletion", "parameters": {"namespace": SCRATCH}}
    path = experiment(tmp_path, "ns-kill", injection, "60s", namespaces=(SCRATCH,))
    paused = await PausedRun.start(
        sandbox.kubeconfig, "observing", *run_args(path, "--format", "json")
    )
    gone = await kube.get_or_none(ResourceRef("v1", "Namespace", SCRATCH))
    assert gone is None or gone["metadata"].get("deletionTimestamp"), "not deleted while held"
    assert await paused.kill() == -signal.SIGKILL
    cleaned = await run_tool(sandbox.kubeconfig, "clean", timeout=400)
    assert cleaned.rc == 0, cleaned.describe()
    after = await kube.get(ResourceRef("v1", "Namespace", SCRATCH))
    assert not after["metadata"].get("deletionTimestamp")
    assert after["metadata"]["labels"]["team"] == "chaos-tests"
    await all_clean(kube)
