"""Shared helpers of the engine tests (tests/cluster/test_engine_*.py).

Everything here talks to the real sandbox: the tool runs as a subprocess (``python -m
operator_chaos``) against the sandbox kubeconfig, and cluster state is read with our own async
client. Waits on cluster state use watches (``operator_chaos.kube.wait.wait_for``); the only
loop over a pipe is reading the tool's stderr line by line until it says it paused.
"""

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from operator_chaos.kube import wait
from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import RawObject, ResourceRef

REPO = Path(__file__).resolve().parents[2]
SEED_DIR = REPO / "experiments" / "training-operator"
DATA = REPO / "tests" / "data" / "engine"
KNOWLEDGE = REPO / "knowledge" / "training-operator.yaml"

NS = "opendatahub"
TOOL_NS = "operator-chaos"
DEPLOYMENT = "training-operator-controller-manager"
OPERATOR_SELECTOR = "control-plane=controller-manager,app.kubernetes.io/name=training-operator"
BINDING = "training-operator-manager-rolebinding"
WEBHOOK = "vpytorchjob.kubeflow.org"
JOB = "test-pytorchjob"
FINALIZER = "training-operator.kubeflow.org/finalizer"
SA_SUBJECT = {"kind": "ServiceAccount", "name": DEPLOYMENT, "namespace": NS}

SEEDS: dict[str, Path] = {
    "PodKill": SEED_DIR / "pod-kill.yaml",
    "NetworkPartition": SEED_DIR / "network-partition.yaml",
    "FinalizerBlock": SEED_DIR / "finalizer-block.yaml",
    "RBACRevoke": SEED_DIR / "rbac-revoke.yaml",
    "WebhookDisrupt": SEED_DIR / "webhook-disrupt.yaml",
}
HOLDING_TYPES = ("NetworkPartition", "FinalizerBlock", "RBACRevoke", "WebhookDisrupt")
QUICK = ("--hold", "2s", "--stability", "1s")

DEPLOYMENT_REF = ResourceRef("apps/v1", "Deployment", DEPLOYMENT, NS)
JOB_REF = ResourceRef("kubeflow.org/v1", "PyTorchJob", JOB, NS)
BINDING_REF = ResourceRef("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", BINDING)
WEBHOOK_REF = ResourceRef(
    "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", WEBHOOK
)

SERVER_FIELDS = frozenset(
    {"resourceVersion", "generation", "managedFields", "creationTimestamp", "selfLink"}
)
POD_IDENTITY_FIELDS = frozenset({"uid", "name", "generateName"})


# -- running the tool ----------------------------------------------------------------------


@dataclass
class ToolResult:
    """A finished ``operator-chaos`` process."""

    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str
    elapsed: float

    def report(self) -> dict[str, Any]:
        """The single experiment result of a ``--format json`` run."""
        doc = json.loads(self.stdout)
        (result,) = doc["results"]
        assert isinstance(result, dict)
        return result

    def describe(self) -> str:
        return (
            f"operator-chaos {' '.join(self.args)} -> rc={self.rc} in {self.elapsed:.1f}s\n"
            f"--- stderr\n{self.stderr}\n--- stdout\n{self.stdout[:4000]}"
        )

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error: ")]


def tool_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPERATOR_CHAOS_")}
    env.pop("KUBECONFIG", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def tool_cmd(kubeconfig: Path, args: Sequence[str]) -> list[str]:
    """``python -m operator_chaos <command> [FILES...] --kubeconfig K <options>``."""
    return [sys.executable, "-m", "operator_chaos", *args, "--kubeconfig", str(kubeconfig)]


async def run_tool(
    kubeconfig: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 240.0,
) -> ToolResult:
    """Run the tool to completion and capture everything."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *tool_cmd(kubeconfig, args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=tool_env(env),
        cwd=str(REPO),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(
            f"operator-chaos {' '.join(args)} did not finish in {timeout}s:\n{err.decode()}"
        ) from None
    assert proc.returncode is not None
    return ToolResult(
        tuple(args), proc.returncode, out.decode(), err.decode(), time.monotonic() - started
    )


@dataclass
class PausedRun:
    """A tool process stopped at a checkpoint (``OPERATOR_CHAOS_PAUSE_AT``)."""

    proc: asyncio.subprocess.Process
    args: tuple[str, ...]
    stderr_lines: list[str] = field(default_factory=list)
    stdout: str = ""

    @classmethod
    async def start(
        cls, kubeconfig: Path, checkpoint: str, *args: str, timeout: float = 90.0
    ) -> "PausedRun":
        proc = await asyncio.create_subprocess_exec(
            *tool_cmd(kubeconfig, args),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=tool_env({"OPERATOR_CHAOS_PAUSE_AT": checkpoint}),
            cwd=str(REPO),
        )
        run = cls(proc, tuple(args))
        assert proc.stderr is not None
        wanted = f"paused at {checkpoint}"

        async def until_paused() -> None:
            assert proc.stderr is not None
            while True:
                raw = await proc.stderr.readline()
                if not raw:  # EOF: the process ended without pausing
                    await proc.wait()
                    raise AssertionError(
                        f"operator-chaos {' '.join(args)} exited (rc={proc.returncode}) before"
                        f" '{wanted}':\n" + "".join(run.stderr_lines)
                    )
                line = raw.decode()
                run.stderr_lines.append(line)
                if line.strip() == wanted:
                    return

        try:
            await asyncio.wait_for(until_paused(), timeout)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.communicate()
            raise
        return run

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    async def kill(self) -> int:
        """SIGKILL: no ``finally`` runs, no revert, nothing released."""
        self.proc.send_signal(signal.SIGKILL)
        return await self._finish()

    async def interrupt(self, timeout: float = 60.0) -> int:
        """SIGINT (Ctrl-C): the tool must revert, release and exit 130."""
        self.proc.send_signal(signal.SIGINT)
        return await asyncio.wait_for(self._finish(), timeout)

    async def _finish(self) -> int:
        out, err = await self.proc.communicate()
        self.stderr_lines.append(err.decode())
        self.stdout = out.decode()
        assert self.proc.returncode is not None
        return self.proc.returncode


# -- cluster state -------------------------------------------------------------------------


def normalize(obj: RawObject | None, *, identity: bool = True) -> RawObject | None:
    """Spec + metadata of an object without what the server manages (and without status).

    ``identity=False`` also drops what a recreated object legitimately changes (uid, name).
    """
    if obj is None:
        return None
    drop = SERVER_FIELDS if identity else SERVER_FIELDS | POD_IDENTITY_FIELDS
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in drop}
    rest = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    return {**rest, "metadata": meta}


def _live(pod: RawObject) -> bool:
    return not pod["metadata"].get("deletionTimestamp")


async def operator_pods(kube: LightkubeClient) -> list[RawObject]:
    listed = await kube.list("v1", "Pod", NS, label_selector=OPERATOR_SELECTOR)
    return sorted(listed.items, key=lambda p: p["metadata"]["name"])


async def snapshot(kube: LightkubeClient, *, pod_identity: bool = True) -> dict[str, Any]:
    """Every object a seed experiment touches, normalized for comparison.

    With ``pod_identity=False`` (PodKill) the operator pods are compared by number, labels
    and owner only: a killed pod is legitimately replaced by a new one.
    """
    pods = [p for p in await operator_pods(kube) if _live(p)]
    if pod_identity:
        pod_view: Any = [normalize(p) for p in pods]
    else:
        pod_view = sorted(
            json.dumps(
                {
                    "labels": p["metadata"].get("labels") or {},
                    "owners": [
                        (o["kind"], o["name"]) for o in p["metadata"].get("ownerReferences") or []
                    ],
                    "serviceAccount": p["spec"].get("serviceAccountName"),
                },
                sort_keys=True,
            )
            for p in pods
        )
    policies = await kube.list("networking.k8s.io/v1", "NetworkPolicy", NS)
    return {
        "deployment": normalize(await kube.get_or_none(DEPLOYMENT_REF)),
        "operatorPods": pod_view,
        "operatorPodCount": len(pods),
        "networkPolicies": sorted(
            (normalize(p) for p in policies.items), key=lambda p: p["metadata"]["name"]
        ),
        "pytorchJob": normalize(await kube.get_or_none(JOB_REF)),
        "clusterRoleBinding": normalize(await kube.get_or_none(BINDING_REF)),
        "webhook": normalize(await kube.get_or_none(WEBHOOK_REF)),
    }


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """A readable description of what differs between two snapshots ('' when equal)."""
    return "\n".join(
        f"{key}:\n  before: {json.dumps(before.get(key), sort_keys=True)}\n"
        f"  after:  {json.dumps(after.get(key), sort_keys=True)}"
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    )


async def tool_objects(kube: LightkubeClient, namespace: str = TOOL_NS) -> dict[str, RawObject]:
    """ConfigMaps and Leases in the tool namespace, by ``Kind/name``."""
    found: dict[str, RawObject] = {}
    for api_version, kind in (("v1", "ConfigMap"), ("coordination.k8s.io/v1", "Lease")):
        listed = await kube.list(api_version, kind, namespace)
        for obj in listed.items:
            found[f"{kind}/{obj['metadata']['name']}"] = obj
    return found


async def leftovers(kube: LightkubeClient, namespace: str = TOOL_NS) -> list[str]:
    """Rollback ledgers (``chaos-run-*``) and Leases left in the tool namespace."""
    return sorted(
        key
        for key in await tool_objects(kube, namespace)
        if key.startswith("ConfigMap/chaos-run-") or key.startswith("Lease/")
    )


async def resource_versions(kube: LightkubeClient) -> dict[str, str]:
    """resourceVersion of every touched object and of every object in the tool namespace."""
    found: dict[str, str] = {}
    for ref in (DEPLOYMENT_REF, JOB_REF, BINDING_REF, WEBHOOK_REF):
        obj = await kube.get(ref)
        found[str(ref)] = obj["metadata"]["resourceVersion"]
    for pod in await operator_pods(kube):
        found[f"Pod {pod['metadata']['name']}"] = pod["metadata"]["resourceVersion"]
    for policy in (await kube.list("networking.k8s.io/v1", "NetworkPolicy", NS)).items:
        found[f"NetworkPolicy {policy['metadata']['name']}"] = policy["metadata"]["resourceVersion"]
    for key, obj in (await tool_objects(kube)).items():
        found[f"{TOOL_NS} {key}"] = obj["metadata"]["resourceVersion"]
    return found


def _deployment_settled(obj: RawObject | None) -> bool:
    if obj is None:
        return False
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = spec.get("replicas", 1)
    return (
        status.get("observedGeneration") == obj["metadata"].get("generation")
        and status.get("replicas") == want
        and status.get("readyReplicas") == want
        and status.get("availableReplicas") == want
        and status.get("updatedReplicas") == want
        and not status.get("unavailableReplicas")
        and wait.condition_true(obj, "Available")
    )


async def settle(kube: LightkubeClient, timeout: float = 120.0) -> None:
    """Wait (watching) until the scenario is in its steady state: the Deployment fully
    available, no operator pod terminating, exactly one live operator pod, the job Running."""
    await wait.wait_for(
        kube, "apps/v1", "Deployment", DEPLOYMENT, NS, _deployment_settled, timeout=timeout
    )
    for pod in await operator_pods(kube):
        if _live(pod):
            continue
        uid = pod["metadata"]["uid"]
        await wait.wait_for(
            kube,
            "v1",
            "Pod",
            pod["metadata"]["name"],
            NS,
            lambda o, uid=uid: o is None or o["metadata"]["uid"] != uid,
            timeout=timeout,
        )
    live = [p for p in await operator_pods(kube) if _live(p)]
    assert len(live) == 1, (
        f"expected one operator pod, found {[p['metadata']['name'] for p in live]}"
    )
    await wait.wait_for(
        kube,
        "kubeflow.org/v1",
        "PyTorchJob",
        JOB,
        NS,
        lambda o: wait.condition_true(o, "Running"),
        timeout=timeout,
    )


async def assert_pristine(kube: LightkubeClient) -> None:
    """The seed objects are as the scenario installed them (guards against a bad earlier test)."""
    crb = await kube.get(BINDING_REF)
    assert crb.get("subjects") == [SA_SUBJECT], crb.get("subjects")
    hook = await kube.get(WEBHOOK_REF)
    assert [h.get("failurePolicy") for h in hook["webhooks"]] == ["Fail"]
    job = await kube.get(JOB_REF)
    assert FINALIZER not in (job["metadata"].get("finalizers") or [])
    policies = await kube.list("networking.k8s.io/v1", "NetworkPolicy", NS)
    assert policies.items == [], [p["metadata"]["name"] for p in policies.items]
    assert await leftovers(kube) == []


async def fault_in_effect(kube: LightkubeClient, injection: str) -> bool:
    """Whether the seed fault of ``injection`` is applied on the cluster right now."""
    if injection == "NetworkPartition":
        policies = await kube.list("networking.k8s.io/v1", "NetworkPolicy", NS)
        return any(p["metadata"]["name"].startswith("chaos-partition-") for p in policies.items)
    if injection == "FinalizerBlock":
        job = await kube.get(JOB_REF)
        return FINALIZER in (job["metadata"].get("finalizers") or [])
    if injection == "RBACRevoke":
        return not (await kube.get(BINDING_REF)).get("subjects")
    if injection == "WebhookDisrupt":
        hook = await kube.get(WEBHOOK_REF)
        return any(h.get("failurePolicy") == "Ignore" for h in hook["webhooks"])
    raise ValueError(injection)


async def ledgers(kube: LightkubeClient, namespace: str = TOOL_NS) -> list[RawObject]:
    listed = await kube.list(
        "v1",
        "ConfigMap",
        namespace,
        label_selector="app.kubernetes.io/managed-by=operator-chaos,chaos.operatorchaos.io/role=ledger",
    )
    return listed.items


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def result_configmap(kube: LightkubeClient, run_id: str) -> RawObject | None:
    return await kube.get_or_none(ResourceRef("v1", "ConfigMap", f"chaos-result-{run_id}", TOOL_NS))


async def repair(kube: LightkubeClient, kubeconfig: Path) -> None:
    """Put the scenario back after a test that failed half-way (so one failure does not
    cascade): revert whatever the ledgers still record, then reset the seed objects."""
    from operator_chaos.kube.port import PatchType

    if await leftovers(kube):
        await run_tool(kubeconfig, "clean", "--all")
        for key in await leftovers(kube):  # leases of runs that are still alive
            if key.startswith("Lease/"):
                await kube.delete(
                    ResourceRef("coordination.k8s.io/v1", "Lease", key.split("/", 1)[1], TOOL_NS)
                )
    crb = await kube.get(BINDING_REF)
    if crb.get("subjects") != [SA_SUBJECT]:
        await kube.patch(BINDING_REF, {"subjects": [SA_SUBJECT]}, PatchType.MERGE)
    hook = await kube.get(WEBHOOK_REF)
    if any(h.get("failurePolicy") != "Fail" for h in hook["webhooks"]):
        ops = [
            {"op": "replace", "path": f"/webhooks/{i}/failurePolicy", "value": "Fail"}
            for i in range(len(hook["webhooks"]))
        ]
        await kube.patch(WEBHOOK_REF, ops, PatchType.JSON)
    job = await kube.get(JOB_REF)
    finalizers = job["metadata"].get("finalizers") or []
    if FINALIZER in finalizers:
        keep = [f for f in finalizers if f != FINALIZER]
        await kube.patch(JOB_REF, {"metadata": {"finalizers": keep or None}}, PatchType.MERGE)
    for policy in (await kube.list("networking.k8s.io/v1", "NetworkPolicy", NS)).items:
        if policy["metadata"]["name"].startswith("chaos-partition-"):
            await kube.delete(
                ResourceRef("networking.k8s.io/v1", "NetworkPolicy", policy["metadata"]["name"], NS)
            )
