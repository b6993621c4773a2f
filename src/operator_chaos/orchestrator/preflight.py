"""Before the first experiment: can we reach the cluster, do we have every permission we will
need (asked with SelfSubjectAccessReview, so nothing is attempted), do the targets exist?"""

from dataclasses import dataclass, field
from typing import Any

from operator_chaos.errors import OperatorChaosError
from operator_chaos.injection import registry
from operator_chaos.injection.protocol import Scope
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, ResourceRef
from operator_chaos.load.experiments import LoadedExperiment
from operator_chaos.observe import checks as check_eval
from operator_chaos.orchestrator.lifecycle import resolve_namespace
from operator_chaos.safety import policy

# What the tool itself does in its namespace: ledgers, results, leases.
TOOL_ACCESS = (
    ("", "namespaces", ("get", "create"), False),
    ("", "configmaps", ("get", "list", "create", "patch", "update", "delete"), True),
    ("coordination.k8s.io", "leases", ("get", "list", "create", "update", "patch", "delete"), True),
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


async def _can(
    kube: KubeClient, verb: str, group: str, resource: str, namespace: str | None
) -> tuple[bool, str]:
    attrs: dict[str, Any] = {"verb": verb, "group": group, "resource": resource}
    if namespace:
        attrs["namespace"] = namespace
    review = await kube.create(
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attrs},
        }
    )
    status = review.get("status") or {}
    return bool(status.get("allowed")), str(status.get("reason") or "")


async def _access(
    kube: KubeClient,
    report: PreflightReport,
    verbs: tuple[str, ...],
    group: str,
    resource: str,
    namespace: str | None,
) -> None:
    for verb in verbs:
        allowed, reason = await _can(kube, verb, group, resource, namespace)
        where = f" in {namespace}" if namespace else ""
        report.findings.append(
            Finding(allowed, f"may {verb} {resource}{'.' + group if group else ''}{where}", reason)
        )


async def _resource_of(kube: KubeClient, ref: ResourceRef) -> tuple[str, str]:
    kind = await kube.discover(ref.api_version, ref.kind)
    return kind.group, kind.plural


async def preflight(
    kube: KubeClient, items: list[LoadedExperiment], tool_namespace: str
) -> PreflightReport:
    """Check everything that can be checked without changing the cluster."""
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
    for group, resource, verbs, namespaced in TOOL_ACCESS:
        await _access(kube, report, verbs, group, resource, tool_namespace if namespaced else None)
    for item in items:
        await _experiment(kube, report, item, tool_namespace)
    return report


async def _experiment(
    kube: KubeClient, report: PreflightReport, item: LoadedExperiment, tool_namespace: str
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
            await _access(kube, report, ("get", "list", "watch"), group, plural, ref.namespace)
        except kube_errors.KubeError as exc:
            report.findings.append(Finding(False, f"{name}: {ref} readable", str(exc)))
    try:
        injector = registry.injector_for(exp.spec.injection.type)
        params = registry.parse_params(exp.spec)
        from datetime import UTC, datetime

        scope = Scope(
            resolve_namespace(item, params),
            exp.spec.injection.count,
            "preflight",
            name,
            datetime.now(UTC),
        )
        plan = await injector.plan(kube, params, scope)
        policy.approve(
            exp.spec,
            registry.effective_danger(exp.spec),
            plan.footprint,
            tool_namespace=tool_namespace,
        )
        targets = ", ".join(str(t) for t in plan.footprint.targets) or "none"
        report.findings.append(
            Finding(True, f"{name}: targets resolved and within blast radius", targets)
        )
        verbs: tuple[str, ...] = getattr(injector, "verbs", ("get", "patch"))
        seen: set[tuple[str, str, str | None]] = set()
        for target in plan.footprint.targets:
            group, plural = await _resource_of(kube, target)
            if (group, plural, target.namespace) in seen:
                continue
            seen.add((group, plural, target.namespace))
            await _access(kube, report, verbs, group, plural, target.namespace)
    except OperatorChaosError as exc:
        report.findings.append(Finding(False, f"{name}: plan", str(exc)))
