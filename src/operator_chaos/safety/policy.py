"""The safety gate: may this experiment touch what its plan says it will touch?

Runs after planning (which only reads the cluster) and before anything is written. Every
refusal is a :class:`~operator_chaos.errors.SafetyViolation` whose message names the object,
the rule and the field to change; the gate never weakens a rule because a flag was passed on
the command line. This module is the one home of the rules; they come in three tiers:

* **never** (not even with ``allowDangerous``): the tool's own objects (anything in the tool
  namespace, that namespace itself, ``chaos-run-*``/``chaos-lock-*``/``chaos-result-*``,
  anything labelled ``app.kubernetes.io/managed-by=operator-chaos``) — breaking them breaks
  the revert of a live run; and the cluster's built-in objects that no operator owns and whose
  loss can lock everyone out, the tool included (built-in RBAC, platform webhooks, local
  APIServices, CRDs of the ``k8s.io``/``openshift.io`` groups).
* **allowDangerous**: protected namespaces (and their Namespace objects), every other
  cluster-scoped object (cluster RBAC, CRDs, webhook configurations, APIServices, ...), and
  high-danger faults.
* **allowedNamespaces / maxPodsAffected / forbiddenResources**: what the experiment declared.
"""

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec
from operator_chaos.errors import SafetyViolation
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.safety import danger, labels

PROTECTED_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "default"})
PROTECTED_NAMESPACE_PREFIXES = ("openshift-",)
TOOL_NAME_PREFIXES = ("chaos-run-", "chaos-lock-", "chaos-result-")
BUILTIN_CLUSTER_ROLES = frozenset({"cluster-admin", "admin", "edit", "view"})
BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping"  # "rbac-defaults" on every built-in RBAC object
PLATFORM_WEBHOOKS = frozenset(
    {
        "validate-policy.kyverno.io",
        "gatekeeper-validating-webhook-configuration",
        "gatekeeper-mutating-webhook-configuration",
        "cert-manager-webhook",
        "istio-sidecar-injector",
    }
)
PLATFORM_PREFIXES = ("system:", "openshift-")
PLATFORM_CRD_GROUPS = (".k8s.io", ".openshift.io")
RBAC_GROUP = "rbac.authorization.k8s.io"
CLUSTER_RBAC_KINDS = frozenset({"ClusterRole", "ClusterRoleBinding"})
WEBHOOK_KINDS = frozenset({"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"})

ALLOW = "set spec.blastRadius.allowDangerous: true to allow it"


@dataclass(frozen=True, slots=True)
class Footprint:
    """What a planned fault would touch, as computed by the injector's read-only ``plan``."""

    targets: tuple[ResourceRef, ...] = ()
    namespaces: frozenset[str] = frozenset()
    pods_affected: int = 0
    affects_pods: bool = False
    notes: tuple[str, ...] = field(default=())


def is_protected_namespace(namespace: str) -> bool:
    """A namespace the cluster itself lives in (``kube-*``, ``default``, ``openshift-*``)."""
    return (
        namespace in PROTECTED_NAMESPACES
        or namespace == "openshift"
        or namespace.startswith(PROTECTED_NAMESPACE_PREFIXES)
    )


def check_tool_namespace(tool_namespace: str) -> None:
    """The tool's ledgers must not live where the cluster's own objects live."""
    if is_protected_namespace(tool_namespace):
        raise SafetyViolation(
            f"--ledger-namespace {tool_namespace!r} is a system namespace: keep the tool's"
            f" ledgers, leases and results in a namespace of their own"
            f" (default {labels.DEFAULT_NAMESPACE})"
        )


def check_danger(spec: ExperimentSpec, level: DangerLevel) -> None:
    """High danger needs ``blastRadius.allowDangerous: true`` (the rule: :mod:`danger`)."""
    if danger.needs_opt_in(level, spec.blast_radius.allow_dangerous):
        raise SafetyViolation(
            f"{spec.injection.type} is high danger: set spec.blastRadius.allowDangerous: true"
            " to run it (or choose a less dangerous injection)"
        )


async def observe(kube: KubeClient, footprint: Footprint) -> dict[ResourceRef, RawObject]:
    """The live targets (read-only), so the gate can see their labels, subjects and roles.

    Targets the fault will create (a NetworkPartition's policy) do not exist yet and are
    simply absent; an unreadable target is judged by its reference alone.
    """
    found: dict[ResourceRef, RawObject] = {}
    for ref in footprint.targets:
        with contextlib.suppress(kube_errors.KubeError):
            obj = await kube.get_or_none(ref)
            if obj is not None:
                found[ref] = obj
    return found


async def gate(
    kube: KubeClient,
    spec: ExperimentSpec,
    danger: DangerLevel,
    footprint: Footprint,
    *,
    tool_namespace: str = labels.DEFAULT_NAMESPACE,
) -> None:
    """:func:`approve` with the live targets read first (the lifecycle and preflight call this)."""
    check_tool_namespace(tool_namespace)
    approve(
        spec,
        danger,
        footprint,
        tool_namespace=tool_namespace,
        live=await observe(kube, footprint),
    )


def approve(
    spec: ExperimentSpec,
    danger: DangerLevel,
    footprint: Footprint,
    *,
    tool_namespace: str = labels.DEFAULT_NAMESPACE,
    live: Mapping[ResourceRef, RawObject] | None = None,
) -> None:
    """Raise :class:`SafetyViolation` unless the footprint fits the blast radius.

    ``live`` holds the targets as read from the cluster; without it the rules that need an
    object's labels or subjects cannot fire, the others still do.
    """
    check_tool_namespace(tool_namespace)
    check_danger(spec, danger)
    live = live or {}
    for ref in footprint.targets:
        _never(ref, live.get(ref), tool_namespace)
    radius = spec.blast_radius
    allowed = set(radius.allowed_namespaces)
    touched = set(footprint.namespaces)
    touched.update(ref.namespace for ref in footprint.targets if ref.namespace)
    touched.update(ref.name for ref in footprint.targets if _is_namespace(ref))
    for ns in sorted(touched):
        if ns == tool_namespace:
            raise SafetyViolation(
                f"namespace {ns!r} is the tool's own (ledgers, leases, results): it is never"
                " a target, not even with allowDangerous"
            )
        if ns not in allowed:
            listed = ", ".join(sorted(allowed)) or "none"
            raise SafetyViolation(
                f"namespace {ns!r} is outside spec.blastRadius.allowedNamespaces ({listed}):"
                f" add it there to allow this experiment to touch it"
            )
        if is_protected_namespace(ns) and not radius.allow_dangerous:
            raise SafetyViolation(
                f"namespace {ns!r} is protected: it must be listed in allowedNamespaces and"
                " spec.blastRadius.allowDangerous must be true"
            )
    for ref in footprint.targets:
        if ref.namespace is None and not _is_namespace(ref) and not radius.allow_dangerous:
            raise SafetyViolation(
                f"{ref} is cluster-scoped ({_cluster_kind(ref)}): it affects every namespace;"
                f" {ALLOW}"
            )
    if footprint.affects_pods:
        if footprint.pods_affected == 0:
            raise SafetyViolation(
                f"{spec.injection.type}: the selector matches no pods; nothing to inject"
                " (check spec.injection.parameters.labelSelector and the namespace)"
            )
        if footprint.pods_affected > radius.max_pods_affected:
            raise SafetyViolation(
                f"{spec.injection.type} would affect {footprint.pods_affected} pods but"
                f" spec.blastRadius.maxPodsAffected is {radius.max_pods_affected}:"
                " narrow the labelSelector or raise the limit"
            )
    forbidden = set(radius.forbidden_resources)
    for ref in footprint.targets:
        names = {ref.kind, f"{ref.kind}/{ref.name}"}
        if ref.namespace:
            names.add(f"{ref.kind}/{ref.namespace}/{ref.name}")
        hit = names & forbidden
        if hit:
            raise SafetyViolation(
                f"{ref} is listed in spec.blastRadius.forbiddenResources ({sorted(hit)[0]})"
            )


def _is_namespace(ref: ResourceRef) -> bool:
    return ref.kind == "Namespace" and ref.api_version == "v1"


def _group(ref: ResourceRef) -> str:
    return ref.api_version.rpartition("/")[0]


def _never(ref: ResourceRef, obj: RawObject | None, tool_namespace: str) -> None:
    """Refuse the tool's own objects and the cluster's built-in ones, whatever the flags."""
    why = tool_owned(ref, obj, tool_namespace) or builtin(ref, obj)
    if why:
        raise SafetyViolation(f"{ref} {why}: it is never a target, not even with allowDangerous")


def tool_owned(ref: ResourceRef, obj: RawObject | None, tool_namespace: str) -> str:
    """Why ``ref`` is the tool's own object ('' if it is not)."""
    meta: Mapping[str, Any] = (obj or {}).get("metadata") or {}
    if ref.namespace == tool_namespace:
        return f"is in the tool namespace {tool_namespace!r} (ledgers, leases, results)"
    if _is_namespace(ref) and ref.name == tool_namespace:
        return "is the tool's namespace (ledgers, leases, results)"
    if ref.name.startswith(TOOL_NAME_PREFIXES):
        return "is named like the tool's own ledger, lease or result"
    if (meta.get("labels") or {}).get(labels.MANAGED_BY) == labels.MANAGED_BY_VALUE:
        return f"is labelled {labels.MANAGED_BY}={labels.MANAGED_BY_VALUE} (the tool's own)"
    return ""


def builtin(ref: ResourceRef, obj: RawObject | None) -> str:
    """Why ``ref`` is a built-in cluster object no operator owns ('' if it is not)."""
    body: Mapping[str, Any] = obj or {}
    meta: Mapping[str, Any] = body.get("metadata") or {}
    group = _group(ref)
    if group == RBAC_GROUP and ref.kind in CLUSTER_RBAC_KINDS:
        if ref.name.startswith("system:") or ref.name in BUILTIN_CLUSTER_ROLES:
            return "is built-in cluster RBAC"
        if (meta.get("labels") or {}).get(BOOTSTRAP_LABEL) == "rbac-defaults":
            return f"is built-in cluster RBAC (labelled {BOOTSTRAP_LABEL}=rbac-defaults)"
        for subject in body.get("subjects") or []:
            if _system_subject(subject):
                return f"binds the system subject {subject.get('name')}"
    if ref.kind in WEBHOOK_KINDS and (
        ref.name in PLATFORM_WEBHOOKS or ref.name.startswith(PLATFORM_PREFIXES)
    ):
        return "is a platform admission webhook other workloads rely on"
    if ref.kind == "APIService":
        spec: Mapping[str, Any] = body.get("spec") or {}
        if obj is not None and not spec.get("service"):
            return "is a built-in (local) API group"
        service_ns = (spec.get("service") or {}).get("namespace", "")
        if service_ns and is_protected_namespace(service_ns):
            return f"is served from the system namespace {service_ns}"
    if ref.kind == "CustomResourceDefinition":
        crd_group = ref.name.partition(".")[2]
        if crd_group.endswith(PLATFORM_CRD_GROUPS) or crd_group in ("k8s.io", "openshift.io"):
            return f"defines a platform API group ({crd_group})"
    return ""


def _system_subject(subject: Mapping[str, Any]) -> bool:
    """``system:`` users and groups, and service accounts of the ``kube-*`` namespaces.

    (Service accounts of ``openshift-*`` are not: OLM installs operators under test into
    ``openshift-operators``; their bindings need ``allowDangerous`` like any cluster RBAC.)
    """
    kind, name = subject.get("kind"), str(subject.get("name", ""))
    if kind == "ServiceAccount":
        return str(subject.get("namespace", "")).startswith("kube-")
    if name.startswith("system:serviceaccount:"):
        return name.removeprefix("system:serviceaccount:").startswith("kube-")
    return name.startswith("system:")


def _cluster_kind(ref: ResourceRef) -> str:
    if _group(ref) == RBAC_GROUP:
        return "cluster RBAC"
    if ref.kind in WEBHOOK_KINDS:
        return "admission configuration"
    if ref.kind == "CustomResourceDefinition":
        return "an API definition"
    if ref.kind == "APIService":
        return "an aggregated API"
    return "not in any namespace"
