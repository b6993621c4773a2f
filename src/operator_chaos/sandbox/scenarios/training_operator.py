"""The seed scenario: the Kubeflow training-operator in ``opendatahub``, named as the seed's
experiments expect, with the real upstream controller and webhook running behind its pod.

Installed objects (names from the seed page): namespace ``opendatahub``; ServiceAccount,
ClusterRole and ClusterRoleBinding ``training-operator-manager-rolebinding``; a leader-election
Role/RoleBinding; the upstream PyTorchJob CRD (kubeflow.org/v1); the metrics Service;
Deployment ``training-operator-controller-manager``; ValidatingWebhookConfiguration
``vpytorchjob.kubeflow.org`` (failurePolicy Fail, called at a loopback URL through the
agent's ingress relay); PyTorchJob ``test-pytorchjob``.
"""

import asyncio
import base64
import http.client
import time
from collections.abc import Callable
from typing import Any

import yaml

from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube import wait
from operator_chaos.kube.port import KubeClient, PatchType, RawObject, ResourceRef
from operator_chaos.sandbox import pki, ports, versions
from operator_chaos.sandbox.cluster import Sandbox
from operator_chaos.sandbox.workload import WorkloadSpec, workloads_dir

NAMESPACE = "opendatahub"
NAME = "training-operator-controller-manager"
LABELS = {"control-plane": "controller-manager", "app.kubernetes.io/name": "training-operator"}
BINDING = "training-operator-manager-rolebinding"
CLUSTER_ROLE = "training-operator-manager-role"
WEBHOOK = "vpytorchjob.kubeflow.org"
WEBHOOK_PATH = "/validate-kubeflow-org-v1-pytorchjob"
LEASE = "training-operator-controller-manager-leader-election"
METRICS_SERVICE = "training-operator-controller-manager-metrics-service"
JOB = "test-pytorchjob"
FIELD_MANAGER = "operator-chaos-sandbox"
# Never pulled (kwok runs no containers); it documents what the pod stands for.
IMAGE = f"kubeflow/training-operator:{versions.TRAINING_OPERATOR_VERSION}"


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
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {"replicas": 1, "restartPolicy": "OnFailure", "template": template},
                "Worker": {"replicas": 1, "restartPolicy": "OnFailure", "template": template},
            }
        },
    }


def _objects(cluster_role_rules: list[dict[str, Any]]) -> list[RawObject]:
    meta = {"namespace": NAMESPACE, "labels": dict(LABELS)}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, **meta}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": CLUSTER_ROLE, "labels": dict(LABELS)},
            "rules": cluster_role_rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": BINDING, "labels": dict(LABELS)},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": CLUSTER_ROLE,
            },
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "training-operator-leader-election-role", **meta},
            "rules": [
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
                },
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "training-operator-leader-election-rolebinding", **meta},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "training-operator-leader-election-role",
            },
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": METRICS_SERVICE, **meta},
            "spec": {
                "selector": dict(LABELS),
                "ports": [{"name": "metrics", "port": 8080, "targetPort": 8080}],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": NAME, **meta},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": dict(LABELS)},
                "template": {
                    "metadata": {"labels": dict(LABELS)},
                    "spec": {
                        "serviceAccountName": NAME,
                        "terminationGracePeriodSeconds": 5,
                        "containers": [
                            {
                                "name": "training-operator",
                                "image": IMAGE,
                                "ports": [
                                    {"containerPort": 8080, "name": "metrics"},
                                    {"containerPort": 9443, "name": "webhook-server"},
                                ],
                            }
                        ],
                    },
                },
            },
        },
    ]


def _webhook(ca_bundle: bytes, port: int) -> RawObject:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": WEBHOOK, "labels": dict(LABELS)},
        "webhooks": [
            {
                "name": WEBHOOK,
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Fail",
                "timeoutSeconds": 5,
                "clientConfig": {
                    # Loopback URL through the agent's ingress relay, never a Service IP.
                    "url": f"https://127.0.0.1:{port}{WEBHOOK_PATH}",
                    "caBundle": base64.b64encode(ca_bundle).decode(),
                },
                "rules": [
                    {
                        "apiGroups": ["kubeflow.org"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["pytorchjobs"],
                    }
                ],
            }
        ],
    }


async def _apply(kube: KubeClient, obj: RawObject) -> RawObject:
    """Server-side apply (idempotent, so installing twice is harmless)."""
    return await kube.patch(
        ResourceRef.of(obj), obj, PatchType.APPLY, field_manager=FIELD_MANAGER, force=True
    )


def _wait_local_ready(port: int, timeout: float) -> None:
    """Poll the operator process' own readyz (a local process, not cluster state)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            try:
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return
            finally:
                conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"training-operator not ready on 127.0.0.1:{port} after {timeout:.0f}s")


async def install(sandbox: Sandbox, kube: KubeClient, progress: Callable[[str], None]) -> None:
    """Install (or re-converge) the whole scenario and wait until it is in steady state."""
    manifests = versions.operator_dir() / "manifests"
    crd = yaml.safe_load((manifests / "kubeflow.org_pytorchjobs.yaml").read_text())
    rules = yaml.safe_load((manifests / "role.yaml").read_text())["rules"]
    progress("scenario training-operator: CRD, RBAC, Deployment ...")
    await _apply(kube, crd)
    await wait.wait_for(
        kube,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        crd["metadata"]["name"],
        None,
        lambda o: wait.condition_true(o, "Established"),
        timeout=30,
    )
    objects = _objects(rules)
    await _apply(kube, objects[0])
    for obj in objects[1:-1]:
        await _apply(kube, obj)

    work = workloads_dir(sandbox.dir) / "training-operator"
    certs = work / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    ca = pki.KeyPair(sandbox.pki_dir / "ca.crt", sandbox.pki_dir / "ca.key")
    serving = pki.issue(
        ca,
        certs,
        "tls",
        common_name="training-operator.opendatahub.svc",
        dns_names=("training-operator.opendatahub.svc", "localhost"),
        ip_addresses=("127.0.0.1",),
        server=True,
    )
    assert serving.cert.name == "tls.crt"
    existing = workloads_dir(sandbox.dir) / "training-operator.json"
    spec = WorkloadSpec.load(existing) if existing.is_file() else None
    if spec is None:
        webhook_port, probe_port = ports.free_port(), ports.free_port()
        spec = WorkloadSpec(
            name="training-operator",
            namespace=NAMESPACE,
            selector=dict(LABELS),
            service_account=NAME,
            command=[
                str(versions.operator_dir() / "bin" / "training-operator"),
                "--webhook-host=127.0.0.1",
                f"--webhook-port={webhook_port}",
                f"--cert-dir={certs}",
                "--metrics-bind-address=0",
                f"--health-probe-bind-address=127.0.0.1:{probe_port}",
                "--leader-elect",
                f"--leader-election-namespace={NAMESPACE}",
                f"--leader-election-id={LEASE}",
            ],
            api_proxy_port=ports.free_port(),
            webhook_proxy_port=ports.free_port(),
            webhook_port=webhook_port,
            readyz_port=probe_port,
        )
        spec.save(workloads_dir(sandbox.dir))
    sandbox.signal_agent()
    await _apply(kube, objects[-1])
    await wait.wait_for(
        kube,
        "apps/v1",
        "Deployment",
        NAME,
        NAMESPACE,
        lambda o: wait.condition_true(o, "Available"),
        timeout=60,
    )
    progress("scenario training-operator: waiting for the operator process ...")
    assert spec.readyz_port is not None
    assert spec.webhook_proxy_port is not None
    await asyncio.to_thread(_wait_local_ready, spec.readyz_port, 60)
    await _apply(kube, _webhook(ca.cert.read_bytes(), spec.webhook_proxy_port))
    job = pytorchjob(JOB)
    try:
        await kube.create(job)
    except kube_errors.Conflict as exc:
        if not exc.already_exists:
            raise
    await wait.wait_for(
        kube,
        "kubeflow.org/v1",
        "PyTorchJob",
        JOB,
        NAMESPACE,
        lambda o: wait.condition_true(o, "Running"),
        timeout=60,
    )
    progress("scenario training-operator: ready (PyTorchJob test-pytorchjob Running)")
