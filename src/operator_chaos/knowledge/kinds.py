"""Which kinds the built-in Kubernetes API groups serve, and whether they are namespaced.

A knowledge file that says ``apiVersion: apps/v1, kind: Deploymnet`` would otherwise load and
only fail much later, against a cluster. For the API groups Kubernetes itself serves we know
the complete list of kinds (as of Kubernetes 1.33), so we can refuse typos and wrong
group/version pairs at load time. Groups of custom resources (anything not listed here,
including ``gateway.networking.k8s.io``) are free: their kinds come from CRDs we cannot see.
"""

import difflib
import re
from dataclasses import dataclass

_CAMEL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*$")

# group/version -> {kind: namespaced}
_NS = True
_CLUSTER = False
BUILTIN_KINDS: dict[str, dict[str, bool]] = {
    "v1": {
        "Binding": _NS,
        "ComponentStatus": _CLUSTER,
        "ConfigMap": _NS,
        "Endpoints": _NS,
        "Event": _NS,
        "LimitRange": _NS,
        "Namespace": _CLUSTER,
        "Node": _CLUSTER,
        "PersistentVolume": _CLUSTER,
        "PersistentVolumeClaim": _NS,
        "Pod": _NS,
        "PodTemplate": _NS,
        "ReplicationController": _NS,
        "ResourceQuota": _NS,
        "Secret": _NS,
        "Service": _NS,
        "ServiceAccount": _NS,
    },
    "admissionregistration.k8s.io/v1": {
        "MutatingWebhookConfiguration": _CLUSTER,
        "ValidatingAdmissionPolicy": _CLUSTER,
        "ValidatingAdmissionPolicyBinding": _CLUSTER,
        "ValidatingWebhookConfiguration": _CLUSTER,
    },
    "apiextensions.k8s.io/v1": {"CustomResourceDefinition": _CLUSTER},
    "apiregistration.k8s.io/v1": {"APIService": _CLUSTER},
    "apps/v1": {
        "ControllerRevision": _NS,
        "DaemonSet": _NS,
        "Deployment": _NS,
        "ReplicaSet": _NS,
        "StatefulSet": _NS,
    },
    "autoscaling/v1": {"HorizontalPodAutoscaler": _NS},
    "autoscaling/v2": {"HorizontalPodAutoscaler": _NS},
    "batch/v1": {"CronJob": _NS, "Job": _NS},
    "certificates.k8s.io/v1": {"CertificateSigningRequest": _CLUSTER},
    "coordination.k8s.io/v1": {"Lease": _NS},
    "discovery.k8s.io/v1": {"EndpointSlice": _NS},
    "events.k8s.io/v1": {"Event": _NS},
    "flowcontrol.apiserver.k8s.io/v1": {
        "FlowSchema": _CLUSTER,
        "PriorityLevelConfiguration": _CLUSTER,
    },
    "networking.k8s.io/v1": {
        "IPAddress": _CLUSTER,
        "Ingress": _NS,
        "IngressClass": _CLUSTER,
        "NetworkPolicy": _NS,
        "ServiceCIDR": _CLUSTER,
    },
    "node.k8s.io/v1": {"RuntimeClass": _CLUSTER},
    "policy/v1": {"PodDisruptionBudget": _NS},
    "rbac.authorization.k8s.io/v1": {
        "ClusterRole": _CLUSTER,
        "ClusterRoleBinding": _CLUSTER,
        "Role": _NS,
        "RoleBinding": _NS,
    },
    "scheduling.k8s.io/v1": {"PriorityClass": _CLUSTER},
    "storage.k8s.io/v1": {
        "CSIDriver": _CLUSTER,
        "CSINode": _CLUSTER,
        "CSIStorageCapacity": _NS,
        "StorageClass": _CLUSTER,
        "VolumeAttachment": _CLUSTER,
    },
}


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


BUILTIN_GROUPS: frozenset[str] = frozenset(_group(gv) for gv in BUILTIN_KINDS)
"""API groups owned by Kubernetes itself ("" is the core group)."""


@dataclass(frozen=True, slots=True)
class KindInfo:
    """What we know about an apiVersion/kind pair; ``namespaced`` is None for custom groups."""

    builtin: bool
    namespaced: bool | None


def check_kind(api_version: str, kind: str) -> tuple[KindInfo | None, str | None]:
    """Return (info, None) when the pair is plausible, else (None, a message saying what to fix)."""
    if not _CAMEL_CASE.match(kind):
        return None, f"kind {kind!r} must be CamelCase (letters and digits, starting upper-case)"
    group = _group(api_version)
    if group not in BUILTIN_GROUPS:
        return KindInfo(builtin=False, namespaced=None), None
    served = BUILTIN_KINDS.get(api_version)
    if served is None:
        versions = sorted(gv for gv in BUILTIN_KINDS if _group(gv) == group)
        return None, (
            f"Kubernetes does not serve apiVersion {api_version!r}; use {' or '.join(versions)}"
        )
    if kind not in served:
        hint = difflib.get_close_matches(kind, served, n=1)
        suggestion = (
            f"; did you mean {hint[0]!r}?" if hint else f" (it serves: {', '.join(served)})"
        )
        return None, f"{api_version} does not serve kind {kind!r}{suggestion}"
    return KindInfo(builtin=True, namespaced=served[kind]), None
