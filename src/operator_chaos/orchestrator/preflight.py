"""Before the first experiment: can we reach the cluster, do we have every permission we will
need (asked with SelfSubjectAccessReview, so nothing is attempted), do the targets exist?

The permissions a run needs are computed by pure functions (:func:`tool_permissions`,
:func:`fault_permissions`, :func:`rbac_permission`) so that a unit test can hold the shipped
least-privilege role (``config/rbac/``) against exactly what preflight asks for.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from operator_chaos.api.v1alpha1 import InjectionType
from operator_chaos.errors import OperatorChaosError
from operator_chaos.injection import registry
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.load.experiments import LoadedExperiment
from operator_chaos.observe import checks as check_eval
from operator_chaos.orchestrator.lifecycle import checked, plan_and_gate
from operator_chaos.safety import policy

RBAC = "rbac.authorization.k8s.io"
FIX = "see config/rbac/ and README 'Running with least privilege'"
MAX_ROLE_CHECKS = 200  # SelfSubjectAccessReviews spent proving we hold a role's permissions


@dataclass(frozen=True, slots=True)
class Permission:
    """One verb on one resource (optionally one object, in one namespace) a run needs."""

    verb: str
    group: str
    resource: str
    namespace: str | None = None
    name: str | None = None
    why: str = ""

    def describe(self) -> str:
        """``patch clusterrolebindings.rbac.authorization.k8s.io/x in ns``."""
        what = f"{self.resource}.{self.group}" if self.group else self.resource
        if self.name:
            what += f"/{self.name}"
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {what}{where}"

    def fix(self) -> str:
        """What to grant, as one clause."""
        scope = f"a Role in {self.namespace}" if self.namespace else "a ClusterRole"
        names = f" (resourceNames: [{self.name}])" if self.name else ""
        group = self.group or '""'
        return (
            f"grant verb {self.verb} on {self.resource} (apiGroup {group}){names} in {scope}"
            f" to this identity; {FIX}"
        )


@dataclass
class Finding:
    """One preflight line."""

    ok: bool
    what: str
    detail: str = ""


@dataclass
class PreflightReport:
    server: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)


# -- what a run needs (pure) -------------------------------------------------------------------


def tool_permissions(tool_namespace: str, *, secrets: bool = False) -> list[Permission]:
    """What the tool itself does in its namespace: ledgers and results (ConfigMaps), target
    leases (Leases), and for faults that back up Secret data, Secret-backed records."""
    needs: list[tuple[str, str, tuple[str, ...], str]] = [
        ("", "configmaps", ("get", "list", "create", "update", "patch", "delete"), "ledgers"),
        (
            "coordination.k8s.io",
            "leases",
            ("get", "list", "create", "update", "patch", "delete"),
            "target locks",
        ),
    ]
    if secrets:
        needs.append(
            ("", "secrets", ("get", "list", "create", "patch", "delete"), "Secret backups")
        )
    return [
        Permission(verb, group, resource, tool_namespace, why=why)
        for group, resource, verbs, why in needs
        for verb in verbs
    ]


def fault_permissions(
    injection_type: InjectionType,
    params: BaseModel,
    targets: Sequence[tuple[ResourceRef, str, str]],
    namespace: str | None,
) -> list[Permission]:
    """What one fault does to its targets (``(ref, group, plural)`` each), in ``namespace``.

    The gate reads every target (``get``); the rest is the type's declared ``access``
    (:class:`~operator_chaos.injection.base.Access`): no per-type code here. RBAC's own rule
    for bindings and roles is :func:`rbac_permission`.
    """
    spec = registry.spec_for(injection_type)
    why = str(injection_type)
    found: list[Permission] = []
    for ref, group, plural in targets:
        found.append(Permission("get", group, plural, ref.namespace, why=why))
    for access in spec.access:
        if not access.applies(params):
            continue
        reason = access.why or why
        if access.on == "target":
            found.extend(
                Permission(verb, group, plural, ref.namespace, why=reason)
                for ref, group, plural in targets
                for verb in access.verbs
            )
        elif access.on == "namespace":
            if namespace:
                found.extend(
                    Permission(verb, access.group, access.resource, namespace, why=reason)
                    for verb in access.verbs
                )
        else:
            found.extend(
                Permission(verb, access.group, access.resource, None, why=reason)
                for verb in access.verbs
            )
    return sorted(set(found), key=lambda p: (p.group, p.resource, p.namespace or "", p.verb))


def rbac_permission(ref: ResourceRef, obj: Mapping[str, Any]) -> Permission | None:
    """Kubernetes' escalation rule for changing an RBAC object, as the permission to hold.

    Updating a (Cluster)RoleBinding needs ``bind`` on the role it references (in the
    binding's namespace) unless the caller already holds every permission of that role;
    updating a (Cluster)Role needs ``escalate`` on it unless the caller holds all its rules
    (kube-apiserver pkg/registry/rbac/*/policybased). The alternative is checked separately.
    """
    if ref.api_version.rpartition("/")[0] != RBAC:
        return None
    if ref.kind in ("ClusterRoleBinding", "RoleBinding"):
        role = obj.get("roleRef") or {}
        resource = "clusterroles" if role.get("kind") == "ClusterRole" else "roles"
        return Permission(
            "bind", RBAC, resource, ref.namespace, role.get("name"), why=f"change {ref}"
        )
    if ref.kind in ("ClusterRole", "Role"):
        resource = "clusterroles" if ref.kind == "ClusterRole" else "roles"
        return Permission("escalate", RBAC, resource, ref.namespace, ref.name, why=f"change {ref}")
    return None


def role_rules_as_permissions(
    rules: Sequence[Mapping[str, Any]], namespace: str | None
) -> list[Permission]:
    """Every (verb, group, resource, name) a role grants; wildcards stay literal ``*``, which
    an access review only allows to someone who holds the wildcard too."""
    return [
        Permission(verb, group, resource, namespace, name)
        for rule in rules
        if not rule.get("nonResourceURLs")  # not expressible as resource attributes; rare
        for verb in rule.get("verbs") or []
        for group in rule.get("apiGroups") or [""]
        for resource in rule.get("resources") or []
        for name in rule.get("resourceNames") or [None]
    ]


# -- asking the cluster -----------------------------------------------------------------------


class _Access:
    """SelfSubjectAccessReviews, each asked once per preflight."""

    def __init__(self, kube: KubeClient) -> None:
        self.kube = kube
        self.answers: dict[tuple[str, str, str, str | None, str | None], tuple[bool, str]] = {}
        self.reported: set[tuple[str, str, str, str | None, str | None]] = set()

    async def can(self, p: Permission) -> tuple[bool, str]:
        key = (p.verb, p.group, p.resource, p.namespace, p.name)
        if key not in self.answers:
            attrs: dict[str, Any] = {"verb": p.verb, "group": p.group, "resource": p.resource}
            if p.namespace:
                attrs["namespace"] = p.namespace
            if p.name:
                attrs["name"] = p.name
            review = await self.kube.create(
                {
                    "apiVersion": "authorization.k8s.io/v1",
                    "kind": "SelfSubjectAccessReview",
                    "spec": {"resourceAttributes": attrs},
                }
            )
            status = review.get("status") or {}
            self.answers[key] = (bool(status.get("allowed")), str(status.get("reason") or ""))
        return self.answers[key]

    async def report(self, report: PreflightReport, needs: Iterable[Permission]) -> None:
        for p in needs:
            key = (p.verb, p.group, p.resource, p.namespace, p.name)
            if key in self.reported:
                continue  # one line per permission, however many experiments need it
            self.reported.add(key)
            allowed, reason = await self.can(p)
            detail = (reason or p.why) if allowed else f"missing: {p.fix()}"
            report.findings.append(Finding(allowed, f"may {p.describe()}", detail))


async def _resource_of(kube: KubeClient, ref: ResourceRef) -> tuple[str, str]:
    kind = await kube.discover(ref.api_version, ref.kind)
    return kind.group, kind.plural


async def preflight(
    kube: KubeClient, items: list[LoadedExperiment], tool_namespace: str
) -> PreflightReport:
    """Check everything that can be checked without changing the cluster.

    Raises :class:`~operator_chaos.errors.SafetyViolation` (exit 4) for a system namespace as
    ``--ledger-namespace``, before contacting the cluster.
    """
    policy.check_tool_namespace(tool_namespace)
    report = PreflightReport(kube.server)
    try:
        version = await kube.raw("GET", "/version")
    except kube_errors.KubeError as exc:
        report.findings.append(Finding(False, "cluster reachable", str(exc)))
        return report
    report.findings.append(
        Finding(True, "cluster reachable", f"Kubernetes {version.get('gitVersion')}")
    )
    try:
        review = await kube.create(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        )
        user = review.get("status", {}).get("userInfo", {})
        report.findings.append(Finding(True, "identity", str(user.get("username"))))
    except kube_errors.KubeError as exc:
        report.findings.append(Finding(True, "identity", f"unknown ({exc})"))
    access = _Access(kube)
    await _tool_namespace(kube, report, access, tool_namespace, _stores_secrets(items))
    for item in items:
        await _experiment(kube, report, access, item, tool_namespace)
    return report


def _stores_secrets(items: Sequence[LoadedExperiment]) -> bool:
    """Whether some fault backs up Secret data (kept in Secret-backed records)."""
    for item in items:
        injection = item.experiment.spec.injection
        params = injection.parameters or {}
        if str(params.get("resourceType", "")) == "Secret" or injection.type == "SecretDeletion":
            return True
        if str(params.get("kind", "")) == "Secret" and str(params.get("apiVersion")) == "v1":
            return True  # ResourceDeletion of a Secret
    return False


async def _tool_namespace(
    kube: KubeClient, report: PreflightReport, access: _Access, namespace: str, secrets: bool
) -> None:
    """The namespace is created on first use only: ``create namespaces`` matters only then."""
    try:
        exists = await kube.get_or_none(ResourceRef("v1", "Namespace", namespace)) is not None
    except kube_errors.KubeError:
        exists = True  # may not read Namespaces; a missing one shows as a failed create later
    if not exists:
        create = Permission("create", "", "namespaces", why=f"first run creates {namespace}")
        await access.report(report, [create])
    await access.report(report, tool_permissions(namespace, secrets=secrets))


async def _experiment(
    kube: KubeClient,
    report: PreflightReport,
    access: _Access,
    item: LoadedExperiment,
    tool_namespace: str,
) -> None:
    exp = item.experiment
    name = exp.metadata.name
    for check in exp.spec.steady_state.checks:
        ref = check_eval.ref_of(check)
        try:
            obj = await kube.get_or_none(ref)
            report.findings.append(
                Finding(obj is not None, f"{name}: {ref} exists", "" if obj else "not found")
            )
            group, plural = await _resource_of(kube, ref)
            await access.report(
                report,
                [Permission(v, group, plural, ref.namespace) for v in ("get", "list", "watch")],
            )
        except kube_errors.KubeError as exc:
            report.findings.append(Finding(False, f"{name}: {ref} readable", str(exc)))
    try:
        injector, params, _ = checked(item, tool_namespace)
        scope, plan = await plan_and_gate(
            kube,
            item,
            injector,
            params,
            run_id="preflight",
            expires_at=datetime.now(UTC),
            tool_namespace=tool_namespace,
        )
        namespace = scope.namespace
        targets = ", ".join(str(t) for t in plan.footprint.targets) or "none"
        report.findings.append(
            Finding(True, f"{name}: targets resolved and within blast radius", targets)
        )
        resolved = [(t, *await _resource_of(kube, t)) for t in plan.footprint.targets]
        await access.report(
            report, fault_permissions(exp.spec.injection.type, params, resolved, namespace)
        )
        if exp.spec.injection.type is not InjectionType.FINALIZER_BLOCK:  # GC fields: exempt
            for target in plan.footprint.targets:
                obj = await kube.get_or_none(target)
                if obj is not None:
                    await _rbac_rule(kube, report, access, name, target, obj)
    except OperatorChaosError as exc:
        report.findings.append(Finding(False, f"{name}: plan", str(exc)))


async def _rbac_rule(
    kube: KubeClient,
    report: PreflightReport,
    access: _Access,
    name: str,
    target: ResourceRef,
    obj: RawObject,
) -> None:
    """Kubernetes refuses to change a binding (role) unless we may ``bind`` its role
    (``escalate`` it) or already hold every permission in it: check both ways."""
    need = rbac_permission(target, obj)
    if need is None:
        return
    allowed, _ = await access.can(need)
    if allowed:
        report.findings.append(Finding(True, f"{name}: may {need.describe()}", need.why))
        return
    if need.verb == "bind":
        role_ref = obj.get("roleRef") or {}
        kind = str(role_ref.get("kind", "ClusterRole"))
        role_ns = target.namespace if kind == "Role" else None
        role_ref_obj = ResourceRef(f"{RBAC}/v1", kind, str(role_ref.get("name")), role_ns)
    else:
        role_ref_obj = target
    try:
        role = await kube.get_or_none(role_ref_obj)
    except kube_errors.KubeError:
        role = None
    missing: Permission | None = None
    if role is None:
        missing = Permission("get", RBAC, need.resource, role_ref_obj.namespace, need.name)
    else:
        # A ClusterRole bound by a RoleBinding grants its rules only in that namespace.
        wanted = role_rules_as_permissions(role.get("rules") or [], target.namespace)
        for p in wanted[:MAX_ROLE_CHECKS]:
            if not (await access.can(p))[0]:
                missing = p
                break
        else:
            if len(wanted) > MAX_ROLE_CHECKS:
                missing = wanted[MAX_ROLE_CHECKS]
    if missing is None:
        report.findings.append(
            Finding(True, f"{name}: holds every permission of {role_ref_obj}", need.why)
        )
        return
    report.findings.append(
        Finding(
            False,
            f"{name}: may {need.describe()}",
            f"missing: Kubernetes refuses to {need.why} without {need.verb} on"
            f" {need.resource}/{need.name} or every permission of {role_ref_obj}"
            f" (this identity lacks {missing.describe()}); {need.fix()}",
        )
    )
