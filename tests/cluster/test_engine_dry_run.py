"""``run --dry-run`` plans against the real cluster and changes nothing at all.

Checked by resourceVersion: every object a seed experiment touches, and every object in the
tool namespace, keeps its resourceVersion (a write of any kind would bump it); with a fresh
``--ledger-namespace`` the namespace is not even created. The printed plan names each object
and its before -> after values.
"""

import re
import uuid

import pytest
from engine_support import (
    SEEDS,
    assert_pristine,
    repair,
    resource_versions,
    run_tool,
    settle,
)

from operator_chaos.kube.port import ResourceRef

# One line per planned change: "<Kind> <ns/name> <field>: <before> -> <after>".
PLANS = {
    "PodKill": r"Pod opendatahub/training-operator-controller-manager-\S+ \(pod\):"
    r" running -> deleted",
    "NetworkPartition": r"NetworkPolicy opendatahub/chaos-partition-\S+ \(object\):"
    r" absent -> deny all Ingress\+Egress for pods control-plane=controller-manager,"
    r"app\.kubernetes\.io/name=training-operator",
    "FinalizerBlock": r"PyTorchJob opendatahub/test-pytorchjob metadata\.finalizers: \[\] ->"
    r' \["training-operator\.kubeflow\.org/finalizer"\]',
    "RBACRevoke": r"ClusterRoleBinding training-operator-manager-rolebinding subjects:"
    r" \[ServiceAccount:opendatahub/training-operator-controller-manager\] -> \[\]",
    "WebhookDisrupt": r"ValidatingWebhookConfiguration vpytorchjob\.kubeflow\.org"
    r" webhooks\[name=vpytorchjob\.kubeflow\.org\]\.failurePolicy: Fail -> Ignore",
}


@pytest.fixture
async def steady(kube, sandbox):
    await settle(kube)
    await assert_pristine(kube)
    yield
    await repair(kube, sandbox.kubeconfig)


@pytest.mark.parametrize("injection", list(SEEDS))
async def test_dry_run_changes_nothing(injection, kube, sandbox, steady):
    before = await resource_versions(kube)

    result = await run_tool(
        sandbox.kubeconfig, "run", str(SEEDS[injection]), "--dry-run", "--format", "json"
    )

    assert result.rc == 0, result.describe()
    assert re.search(PLANS[injection], result.stderr), result.describe()
    assert "planning against" in result.stderr
    report = result.report()
    assert report["dryRun"] is True
    assert report["phase"] == "Complete"
    assert [p["phase"] for p in report["phases"]] == ["Pending", "Complete"]
    plan = report["injection"]["plan"]
    assert plan
    assert all(c["before"] != c["after"] for c in plan), plan
    assert await resource_versions(kube) == before


@pytest.mark.parametrize("injection", list(SEEDS))
async def test_dry_run_does_not_create_the_tool_namespace(injection, kube, sandbox, steady):
    namespace = f"engine-dry-{uuid.uuid4().hex[:8]}"
    ns_ref = ResourceRef("v1", "Namespace", namespace)
    assert await kube.get_or_none(ns_ref) is None
    before = await resource_versions(kube)

    result = await run_tool(
        sandbox.kubeconfig,
        "run",
        str(SEEDS[injection]),
        "--dry-run",
        "--ledger-namespace",
        namespace,
    )

    assert result.rc == 0, result.describe()
    assert re.search(PLANS[injection], result.stderr), result.describe()
    assert await kube.get_or_none(ns_ref) is None, f"--dry-run created namespace {namespace}"
    assert await resource_versions(kube) == before
