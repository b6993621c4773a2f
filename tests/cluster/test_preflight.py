"""`operator-chaos preflight` against the real API server: it passes for the seed experiments,
names what is missing when a target does not exist or a permission is lacking, and changes
nothing either way. The shipped least-privilege RBAC (config/rbac/) is applied for real and a
ServiceAccount token is used as the tool's identity."""

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine_support import BINDING_REF, QUICK, SEED_DIR, SEEDS, run_tool, settle

from operator_chaos.exitcodes import ExitStatus
from operator_chaos.kube import client
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import PatchType, RawObject, ResourceRef
from operator_chaos.load import yamlmap
from operator_chaos.sandbox.cluster import Sandbox, kubeconfig_yaml

RBAC_DIR = Path(__file__).resolve().parents[2] / "config" / "rbac"
TOOL_SA = ResourceRef("v1", "ServiceAccount", "operator-chaos", "operator-chaos")
BIND_GRANT = ResourceRef(
    "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "operator-chaos-training-operator-bind"
)


async def test_preflight_passes_for_the_seed_experiments(sandbox: Sandbox) -> None:
    result = await run_tool(sandbox.kubeconfig, "preflight", str(SEED_DIR), "-o", "json")
    assert result.rc == ExitStatus.OK, result.describe()
    report = json.loads(result.stdout)
    assert report["ok"] is True
    whats = [f["what"] for f in report["findings"]]
    assert "cluster reachable" in whats
    assert any("may patch clusterrolebindings" in w for w in whats)
    assert any("may delete pods in opendatahub" in w for w in whats)
    assert any("targets resolved and within blast radius" in w for w in whats)


async def test_preflight_names_a_missing_webhook_and_fails(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    doc = yaml.safe_load((SEED_DIR / "webhook-disrupt.yaml").read_text())
    doc["spec"]["injection"]["parameters"]["webhookName"] = "no-such-webhook.example.com"
    experiment = tmp_path / "missing-webhook.yaml"
    experiment.write_text(yaml.safe_dump(doc))
    result = await run_tool(sandbox.kubeconfig, "preflight", str(experiment), "-o", "json")
    assert result.rc == ExitStatus.UNREACHABLE, result.describe()
    failed = [f for f in json.loads(result.stdout)["findings"] if not f["ok"]]
    assert len(failed) == 1
    assert "no-such-webhook.example.com" in failed[0]["detail"]
    assert "not found" in failed[0]["detail"]


async def test_preflight_creates_nothing(sandbox: Sandbox) -> None:
    namespace = "preflight-untouched"
    result = await run_tool(
        sandbox.kubeconfig, "preflight", str(SEED_DIR), "--ledger-namespace", namespace
    )
    assert result.rc == ExitStatus.OK, result.describe()
    assert "preflight passed" in result.stdout
    async with client.connect(str(sandbox.kubeconfig)) as kube:
        assert await kube.get_or_none(ResourceRef("v1", "Namespace", namespace)) is None


async def test_demo_on_a_given_cluster_runs_the_seed_and_writes_every_report(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`demo --kubeconfig` skips the sandbox start-up and runs the seed suite on that cluster."""
    reports = tmp_path / "reports"
    result = await run_tool(
        sandbox.kubeconfig,
        "demo",
        "--experiments",
        str(SEED_DIR),
        "--hold",
        "1s",
        "--report-dir",
        str(reports),
        timeout=300,
    )
    assert result.rc == ExitStatus.OK, result.describe()
    assert "5 experiments: 5 Resilient" in result.stdout
    assert "starting the local sandbox" not in result.stderr
    assert sorted(p.suffix for p in reports.iterdir()) == [".html", ".json", ".md", ".xml"]


# -- least privilege: the shipped RBAC, a real ServiceAccount token -----------------------------


def _ref(doc: RawObject) -> ResourceRef:
    return ResourceRef.of(doc)


@pytest.fixture
async def least_privilege(
    kube: LightkubeClient, sandbox: Sandbox, tmp_path: Path
) -> AsyncIterator[Path]:
    """Apply config/rbac/ (what is not there yet), yield a kubeconfig for the tool's
    ServiceAccount, and delete what was created (the tool namespace stays: runs use it)."""
    created: list[ResourceRef] = []
    for path in sorted(RBAC_DIR.glob("*.yaml")):
        for doc in yamlmap.parse(path.read_text(), str(path)):
            obj: dict[str, Any] = doc.data
            if await kube.get_or_none(_ref(obj)) is None:
                await kube.create(obj)
                if obj["kind"] != "Namespace":
                    created.append(_ref(obj))
    token = await kube.create_subresource(
        TOOL_SA,
        "token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 600},
        },
    )
    state = sandbox.state()
    assert state is not None
    config = tmp_path / "least-privilege.kubeconfig"
    config.write_text(
        kubeconfig_yaml(
            server=state.server,
            ca=sandbox.pki_dir / "ca.crt",
            context="operator-chaos-sa",
            user={"token": token["status"]["token"]},
        )
    )
    config.chmod(0o600)
    try:
        yield config
    finally:
        for ref in reversed(created):
            with contextlib.suppress(kube_errors.NotFound):
                await kube.delete(ref)


async def test_preflight_passes_with_only_the_shipped_least_privilege_role(
    least_privilege: Path,
) -> None:
    result = await run_tool(least_privilege, "preflight", str(SEED_DIR), "-o", "json")
    assert result.rc == ExitStatus.OK, result.describe()
    report = json.loads(result.stdout)
    identity = next(f for f in report["findings"] if f["what"] == "identity")
    assert identity["detail"] == "system:serviceaccount:operator-chaos:operator-chaos"
    whats = [f["what"] for f in report["findings"]]
    assert (
        "training-operator-rbac-revoke: may bind"
        " clusterroles.rbac.authorization.k8s.io/training-operator-manager-role"
    ) in whats
    assert "may create configmaps in operator-chaos" in whats
    assert "may update leases.coordination.k8s.io in operator-chaos" in whats


async def test_the_rbac_revoke_seed_runs_with_the_least_privilege_role(
    kube: LightkubeClient, least_privilege: Path
) -> None:
    """Preflight's list is enough for a real run: inject, hold, revert, observe, store."""
    await settle(kube)
    result = await run_tool(
        least_privilege, "run", str(SEEDS["RBACRevoke"]), *QUICK, "--format", "json"
    )
    assert result.rc == ExitStatus.OK, result.describe()
    assert result.report()["verdict"] == "Resilient"


async def test_preflight_fails_for_rbac_revoke_without_bind_on_the_role(
    kube: LightkubeClient, least_privilege: Path
) -> None:
    await kube.delete(BIND_GRANT)  # the fixture recreates nothing: it only deletes at the end
    result = await run_tool(least_privilege, "preflight", str(SEEDS["RBACRevoke"]), "-o", "json")
    assert result.rc == ExitStatus.UNREACHABLE, result.describe()
    failed = [f for f in json.loads(result.stdout)["findings"] if not f["ok"]]
    assert len(failed) == 1, failed
    (line,) = failed
    assert line["what"] == (
        "training-operator-rbac-revoke: may bind"
        " clusterroles.rbac.authorization.k8s.io/training-operator-manager-role"
    )
    assert "Kubernetes refuses to change ClusterRoleBinding" in line["detail"]
    assert "grant verb bind on clusterroles" in line["detail"]
    assert "resourceNames: [training-operator-manager-role]" in line["detail"]
    # The text output is one line per finding.
    text = await run_tool(least_privilege, "preflight", str(SEEDS["RBACRevoke"]))
    fails = [ln for ln in text.stdout.splitlines() if ln.strip().startswith("FAIL")]
    assert len(fails) == 1, text.describe()
    assert "bind clusterroles" in fails[0]
    # And the API server agrees: this identity may patch the binding, but not its subjects
    # (a no-op patch would pass: it changes nothing the escalation check looks at).
    extra = {"kind": "ServiceAccount", "name": "chaos-test-nobody", "namespace": "opendatahub"}
    before = await kube.get(BINDING_REF)
    try:
        async with client.connect(str(least_privilege)) as limited:
            with pytest.raises(kube_errors.Forbidden, match=r"escalat|bind"):
                await limited.patch(
                    BINDING_REF,
                    [{"op": "add", "path": "/subjects/-", "value": extra}],
                    PatchType.JSON,
                )
    finally:
        if extra in ((await kube.get(BINDING_REF)).get("subjects") or []):
            await kube.patch(BINDING_REF, {"subjects": before["subjects"]}, PatchType.MERGE)


async def test_preflight_refuses_a_system_ledger_namespace(sandbox: Sandbox) -> None:
    result = await run_tool(
        sandbox.kubeconfig, "preflight", str(SEED_DIR), "--ledger-namespace", "kube-system"
    )
    assert result.rc == ExitStatus.UNSAFE, result.describe()
    assert result.error_lines() == [
        "error: --ledger-namespace 'kube-system' is a system namespace: keep the tool's"
        " ledgers, leases and results in a namespace of their own (default operator-chaos)"
    ]
