"""The safety gate's rules (pure: a footprint and the live targets in, a verdict out), and the
shipped least-privilege RBAC (config/rbac/) held against what preflight asks for."""

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType
from operator_chaos.errors import SafetyViolation
from operator_chaos.injection import registry
from operator_chaos.kube.port import RawObject, ResourceRef
from operator_chaos.load import yamlmap
from operator_chaos.load.experiments import load_file, load_text
from operator_chaos.orchestrator import preflight
from operator_chaos.orchestrator.preflight import Permission
from operator_chaos.safety import policy
from operator_chaos.safety.policy import Footprint

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "experiments" / "training-operator"
RBAC_DIR = REPO / "config" / "rbac"
NS = "opendatahub"
TOOL_NS = "operator-chaos"
RBAC_V1 = "rbac.authorization.k8s.io/v1"
OPERATOR_SA = {"kind": "ServiceAccount", "name": "training-operator-controller-manager"}
BINDING = ResourceRef(RBAC_V1, "ClusterRoleBinding", "training-operator-manager-rolebinding")
BINDING_OBJ: RawObject = {
    "metadata": {"name": BINDING.name, "labels": {"app.kubernetes.io/name": "training-operator"}},
    "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "training-operator-manager-role",
    },
    "subjects": [{**OPERATOR_SA, "namespace": NS}],
}
WEBHOOK = ResourceRef(
    "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "vpytorchjob.kubeflow.org"
)
JOB = ResourceRef("kubeflow.org/v1", "PyTorchJob", "test-pytorchjob", NS)
DEPLOYMENT = ResourceRef("apps/v1", "Deployment", "training-operator-controller-manager", NS)
POD = ResourceRef("v1", "Pod", "training-operator-controller-manager-abc12", NS)
POLICY = ResourceRef("networking.k8s.io/v1", "NetworkPolicy", "chaos-partition-20250101-x", NS)


def seed(file: str) -> ExperimentSpec:
    (loaded,) = load_file(SEEDS / file)
    return loaded.experiment.spec


def spec(allowed: list[str], *, dangerous: bool = False) -> ExperimentSpec:
    """A valid LabelStomping experiment with the given blast radius (the gate reads only that
    and the danger it is given)."""
    doc = {
        "apiVersion": "chaos.operatorchaos.io/v1alpha1",
        "kind": "ChaosExperiment",
        "metadata": {"name": "gate"},
        "spec": {
            "target": {"operator": "o", "component": "c"},
            "steadyState": {"checks": [], "timeout": "30s"},
            "injection": {
                "type": "LabelStomping",
                "ttl": "60s",
                "parameters": {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "name": "whatever",
                    "labelKey": "team",
                    "action": "delete",
                },
            },
            "hypothesis": {"description": "gate", "recoveryTimeout": "60s"},
            "blastRadius": {
                "maxPodsAffected": 1,
                "allowedNamespaces": allowed,
                "allowDangerous": dangerous,
            },
        },
    }
    (loaded,) = load_text(yaml.safe_dump(doc), Path("gate.yaml"))
    return loaded.experiment.spec


def approve(
    s: ExperimentSpec,
    *targets: ResourceRef,
    live: Mapping[ResourceRef, RawObject] | None = None,
    tool_namespace: str = TOOL_NS,
    danger: DangerLevel = DangerLevel.MEDIUM,
) -> None:
    footprint = Footprint(
        targets=targets, namespaces=frozenset(t.namespace for t in targets if t.namespace)
    )
    policy.approve(s, danger, footprint, tool_namespace=tool_namespace, live=live)


def refused(*args: Any, **kwargs: Any) -> str:
    with pytest.raises(SafetyViolation) as caught:
        approve(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def namespace(name: str) -> ResourceRef:
    return ResourceRef("v1", "Namespace", name)


def cluster_role(name: str) -> ResourceRef:
    return ResourceRef(RBAC_V1, "ClusterRole", name)


# -- the seeds pass as they are ----------------------------------------------------------------

SEED_FOOTPRINTS: dict[str, tuple[Footprint, dict[ResourceRef, RawObject]]] = {
    "pod-kill.yaml": (
        Footprint((POD,), frozenset({NS}), pods_affected=1, affects_pods=True),
        {POD: {"metadata": {"name": POD.name, "labels": {"control-plane": "controller-manager"}}}},
    ),
    "network-partition.yaml": (
        Footprint((POLICY,), frozenset({NS}), pods_affected=1, affects_pods=True),
        {},  # the policy does not exist until the fault creates it
    ),
    "finalizer-block.yaml": (Footprint((JOB,), frozenset({NS})), {JOB: {"metadata": {}}}),
    "rbac-revoke.yaml": (Footprint((BINDING,)), {BINDING: BINDING_OBJ}),
    "webhook-disrupt.yaml": (
        Footprint((WEBHOOK,)),
        {WEBHOOK: {"metadata": {"name": WEBHOOK.name}, "webhooks": [{"name": "v"}]}},
    ),
}


@pytest.mark.parametrize("file", sorted(SEED_FOOTPRINTS))
def test_every_seed_experiment_is_approved_as_it_is(file: str) -> None:
    s = seed(file)
    footprint, live = SEED_FOOTPRINTS[file]
    policy.approve(s, registry.effective_danger(s), footprint, tool_namespace=TOOL_NS, live=live)


def test_every_seed_of_the_seed_page_is_shipped() -> None:
    assert set(SEED_FOOTPRINTS) <= {p.name for p in SEEDS.glob("*.yaml")}


def test_cluster_scoped_seeds_are_approved_because_they_say_allow_dangerous() -> None:
    """The RBACRevoke and WebhookDisrupt seeds touch cluster-scoped objects of the operator;
    they pass because they set allowDangerous (needed for their high danger anyway)."""
    for file in ("rbac-revoke.yaml", "webhook-disrupt.yaml"):
        s = seed(file)
        footprint, live = SEED_FOOTPRINTS[file]
        safe = s.model_copy(
            update={"blast_radius": s.blast_radius.model_copy(update={"allow_dangerous": False})}
        )
        with pytest.raises(SafetyViolation, match="allowDangerous"):
            policy.approve(safe, DangerLevel.LOW, footprint, live=live)


# -- Namespace objects -------------------------------------------------------------------------


def test_namespace_object_outside_allowed_namespaces_is_refused() -> None:
    message = refused(spec([NS]), namespace("kube-system"))
    assert message == (
        "namespace 'kube-system' is outside spec.blastRadius.allowedNamespaces (opendatahub):"
        " add it there to allow this experiment to touch it"
    )


@pytest.mark.parametrize(
    "name", ["kube-system", "kube-public", "kube-node-lease", "default", "openshift-monitoring"]
)
def test_protected_namespace_object_needs_allow_dangerous(name: str) -> None:
    message = refused(spec([name]), namespace(name))
    assert f"namespace {name!r} is protected" in message
    assert "allowDangerous must be true" in message
    approve(spec([name], dangerous=True), namespace(name))  # the explicit opt-in unlocks it


def test_namespace_object_of_an_allowed_namespace_is_approved() -> None:
    approve(spec([NS]), namespace(NS))


def test_objects_in_protected_namespaces_need_allow_dangerous() -> None:
    secret = ResourceRef("v1", "ConfigMap", "cfg", "openshift-config")
    assert "is protected" in refused(spec(["openshift-config"]), secret)


# -- the tool's own objects: never -------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "live", "why"),
    [
        (ResourceRef("v1", "ConfigMap", "chaos-run-20250101-ab", TOOL_NS), None, "tool namespace"),
        (
            ResourceRef("coordination.k8s.io/v1", "Lease", "chaos-lock-x", TOOL_NS),
            None,
            "tool namespace",
        ),
        (ResourceRef("v1", "ConfigMap", "settings", TOOL_NS), None, "tool namespace"),
        (namespace(TOOL_NS), None, "the tool's namespace"),
        (ResourceRef("v1", "ConfigMap", "chaos-result-x", NS), None, "named like the tool's"),
        (ResourceRef("v1", "ConfigMap", "chaos-lock-x", NS), None, "named like the tool's"),
        (
            ResourceRef("v1", "ConfigMap", "anything", NS),
            {"metadata": {"labels": {"app.kubernetes.io/managed-by": "operator-chaos"}}},
            "app.kubernetes.io/managed-by=operator-chaos",
        ),
    ],
)
def test_the_tools_own_objects_are_never_targets(
    target: ResourceRef, live: RawObject | None, why: str
) -> None:
    allowed = [NS, TOOL_NS]
    for dangerous in (False, True):
        message = refused(
            spec(allowed, dangerous=dangerous), target, live={target: live} if live else None
        )
        assert why in message, message
        assert "never a target, not even with allowDangerous" in message


def test_a_custom_tool_namespace_is_the_protected_one() -> None:
    ledger = ResourceRef("v1", "ConfigMap", "x", "chaos-tools")
    assert "tool namespace 'chaos-tools'" in refused(
        spec(["chaos-tools"], dangerous=True), ledger, tool_namespace="chaos-tools"
    )
    approve(spec([TOOL_NS]), ResourceRef("v1", "ConfigMap", "x", TOOL_NS), tool_namespace="t")


@pytest.mark.parametrize(
    "name", ["kube-system", "kube-public", "kube-node-lease", "default", "openshift-operators"]
)
def test_a_system_namespace_as_ledger_namespace_is_refused(name: str) -> None:
    with pytest.raises(SafetyViolation) as caught:
        policy.check_tool_namespace(name)
    assert str(caught.value) == (
        f"--ledger-namespace {name!r} is a system namespace: keep the tool's ledgers, leases"
        " and results in a namespace of their own (default operator-chaos)"
    )
    assert "--ledger-namespace" in refused(spec([NS]), DEPLOYMENT, tool_namespace=name)


# -- cluster-scoped objects --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cluster-admin", "admin", "edit", "view", "system:node"])
def test_built_in_cluster_roles_are_never_targets(name: str) -> None:
    for dangerous in (False, True):
        message = refused(spec([NS], dangerous=dangerous), cluster_role(name))
        assert message == (
            f"ClusterRole {name} is built-in cluster RBAC: it is never a target, not even with"
            " allowDangerous"
        )


@pytest.mark.parametrize(
    ("obj", "why"),
    [
        (
            {"metadata": {"labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}}},
            "kubernetes.io/bootstrapping=rbac-defaults",
        ),
        (
            {"subjects": [{"kind": "Group", "name": "system:authenticated"}]},
            "system subject system:authenticated",
        ),
        (
            {"subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": "kube-system"}]},
            "system subject x",
        ),
        (
            {"subjects": [{"kind": "User", "name": "system:kube-scheduler"}]},
            "system subject system:kube-scheduler",
        ),
    ],
)
def test_bindings_of_the_system_are_never_targets(obj: RawObject, why: str) -> None:
    ref = ResourceRef(RBAC_V1, "ClusterRoleBinding", "innocent-name")
    message = refused(spec([NS], dangerous=True), ref, live={ref: obj})
    assert why in message
    assert "not even with allowDangerous" in message


def test_other_cluster_rbac_needs_allow_dangerous() -> None:
    role = cluster_role("my-operator-role")
    assert refused(spec([NS]), role) == (
        "ClusterRole my-operator-role is cluster-scoped (cluster RBAC): it affects every"
        " namespace; set spec.blastRadius.allowDangerous: true to allow it"
    )
    approve(spec([NS], dangerous=True), role)
    live = {BINDING: BINDING_OBJ}
    assert "cluster-scoped (cluster RBAC)" in refused(spec([NS]), BINDING, live=live)
    approve(spec([NS], dangerous=True), BINDING, live=live)


@pytest.mark.parametrize(
    ("ref", "obj", "message"),
    [
        (
            ResourceRef(
                "admissionregistration.k8s.io/v1",
                "MutatingWebhookConfiguration",
                "openshift-sdn-webhook",
            ),
            None,
            "platform admission webhook",
        ),
        (
            ResourceRef(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "validate-policy.kyverno.io",
            ),
            None,
            "platform admission webhook",
        ),
        (
            ResourceRef("apiextensions.k8s.io/v1", "CustomResourceDefinition", "x.example.k8s.io"),
            None,
            "platform API group (example.k8s.io)",
        ),
        (
            ResourceRef(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "clusterversions.config.openshift.io",
            ),
            None,
            "platform API group",
        ),
        (
            ResourceRef("apiregistration.k8s.io/v1", "APIService", "v1.apps"),
            {"spec": {"group": "apps", "version": "v1"}},
            "built-in (local) API group",
        ),
        (
            ResourceRef("apiregistration.k8s.io/v1", "APIService", "v1beta1.metrics.k8s.io"),
            {"spec": {"service": {"name": "metrics-server", "namespace": "kube-system"}}},
            "served from the system namespace kube-system",
        ),
    ],
)
def test_platform_objects_are_never_targets(
    ref: ResourceRef, obj: RawObject | None, message: str
) -> None:
    text = refused(spec([NS], dangerous=True), ref, live={ref: obj} if obj else None)
    assert message in text
    assert "not even with allowDangerous" in text


@pytest.mark.parametrize(
    ("ref", "kind"),
    [
        (WEBHOOK, "admission configuration"),
        (
            ResourceRef(
                "apiextensions.k8s.io/v1", "CustomResourceDefinition", "pytorchjobs.kubeflow.org"
            ),
            "an API definition",
        ),
        (
            ResourceRef("apiregistration.k8s.io/v1", "APIService", "v1.custom.example.com"),
            "an aggregated API",
        ),
        (ResourceRef("v1", "Node", "worker-1"), "not in any namespace"),
    ],
)
def test_other_cluster_scoped_objects_need_allow_dangerous(ref: ResourceRef, kind: str) -> None:
    live = {ref: {"spec": {"service": {"name": "s", "namespace": NS}}}}
    assert refused(spec([NS]), ref, live=live) == (
        f"{ref} is cluster-scoped ({kind}): it affects every namespace;"
        " set spec.blastRadius.allowDangerous: true to allow it"
    )
    approve(spec([NS], dangerous=True), ref, live=live)


def test_high_danger_is_still_refused_first() -> None:
    message = refused(spec([NS]), DEPLOYMENT, danger=DangerLevel.HIGH)
    assert "is high danger: set spec.blastRadius.allowDangerous: true" in message


# -- the shipped least-privilege RBAC ----------------------------------------------------------

SUBJECT = ("ServiceAccount", "operator-chaos", TOOL_NS)


def shipped(*, opt_in: bool = False) -> list[dict[str, Any]]:
    """The roles of config/rbac (and, with ``opt_in``, of config/rbac/opt-in)."""
    docs: list[dict[str, Any]] = []
    paths = sorted(RBAC_DIR.glob("*.yaml"))
    if opt_in:
        paths += sorted((RBAC_DIR / "opt-in").glob("*.yaml"))
    for path in paths:
        docs.extend(d.data for d in yamlmap.parse(path.read_text(), str(path)) if d.data)
    return docs


def _match(values: list[str], wanted: str) -> bool:
    return "*" in values or wanted in values


def granted(docs: list[dict[str, Any]], p: Permission) -> bool:
    """A small RBAC authorizer: does any binding of SUBJECT grant ``p``?"""
    roles = {
        (d["kind"], d["metadata"]["name"], d["metadata"].get("namespace")): d
        for d in docs
        if d["kind"] in ("Role", "ClusterRole")
    }
    for binding in docs:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        subjects = {(s["kind"], s["name"], s.get("namespace")) for s in binding["subjects"]}
        if SUBJECT not in subjects:
            continue
        binding_ns = binding["metadata"].get("namespace")
        if binding["kind"] == "RoleBinding" and p.namespace != binding_ns:
            continue  # a RoleBinding grants only inside its namespace
        ref = binding["roleRef"]
        role = roles[(ref["kind"], ref["name"], binding_ns if ref["kind"] == "Role" else None)]
        for rule in role.get("rules") or []:
            names = rule.get("resourceNames") or []
            if (
                _match(rule.get("verbs") or [], p.verb)
                and _match(rule.get("apiGroups") or [], p.group)
                and _match(rule.get("resources") or [], p.resource)
                and (not names or p.name in names)
            ):
                return True
    return False


SECRET = ResourceRef("v1", "Secret", "training-operator-webhook-cert", NS)
CONFIGMAP = ResourceRef("v1", "ConfigMap", "training-operator-config", NS)
RUNNABLE_CASES: dict[InjectionType, list[tuple[ResourceRef, str, str]]] = {
    InjectionType.POD_KILL: [(POD, "", "pods")],
    InjectionType.NETWORK_PARTITION: [(POLICY, "networking.k8s.io", "networkpolicies")],
    InjectionType.FINALIZER_BLOCK: [(JOB, "kubeflow.org", "pytorchjobs")],
    InjectionType.RBAC_REVOKE: [(BINDING, "rbac.authorization.k8s.io", "clusterrolebindings")],
    InjectionType.WEBHOOK_DISRUPT: [
        (WEBHOOK, "admissionregistration.k8s.io", "validatingwebhookconfigurations")
    ],
    InjectionType.DEPLOYMENT_SCALE_ZERO: [(DEPLOYMENT, "apps", "deployments")],
    InjectionType.CONFIG_DRIFT: [(CONFIGMAP, "", "configmaps"), (SECRET, "", "secrets")],
    InjectionType.LABEL_STOMPING: [(DEPLOYMENT, "apps", "deployments")],
    InjectionType.CRD_MUTATION: [(JOB, "kubeflow.org", "pytorchjobs")],
    InjectionType.CLIENT_FAULT: [
        (ResourceRef("v1", "ConfigMap", "operator-chaos-config", NS), "", "configmaps")
    ],
    InjectionType.OWNER_REF_ORPHAN: [(POD, "", "pods")],
    InjectionType.QUOTA_EXHAUSTION: [
        (ResourceRef("v1", "ResourceQuota", "chaos-quota", NS), "", "resourcequotas")
    ],
    InjectionType.WEBHOOK_LATENCY: [
        (
            ResourceRef(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "chaos-webhook-latency-20250101-x",
            ),
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
        )
    ],
    InjectionType.NAMESPACE_DELETION: [(ResourceRef("v1", "Namespace", NS), "", "namespaces")],
    InjectionType.SECRET_DELETION: [(SECRET, "", "secrets")],
    InjectionType.LEADER_ELECTION_DISRUPT: [
        (
            ResourceRef("coordination.k8s.io/v1", "Lease", "training-operator-leader", NS),
            "coordination.k8s.io",
            "leases",
        )
    ],
    InjectionType.CRASH_LOOP_INJECT: [(DEPLOYMENT, "apps", "deployments")],
    InjectionType.IMAGE_CORRUPT: [(DEPLOYMENT, "apps", "deployments")],
    InjectionType.RESOURCE_DELETION: [
        (ResourceRef("v1", "Service", "test-pytorchjob-worker-0", NS), "", "services")
    ],
    InjectionType.PDB_BLOCK: [
        (
            ResourceRef("policy/v1", "PodDisruptionBudget", "chaos-pdb-x", NS),
            "policy",
            "poddisruptionbudgets",
        )
    ],
}


def test_the_cases_cover_every_runnable_type() -> None:
    assert sorted(RUNNABLE_CASES) == sorted(registry.runnable_types())


@pytest.mark.parametrize("injection_type", sorted(RUNNABLE_CASES))
def test_the_shipped_role_grants_every_permission_preflight_checks(
    injection_type: InjectionType,
) -> None:
    docs = shipped(opt_in=injection_type is InjectionType.NAMESPACE_DELETION)
    targets = RUNNABLE_CASES[injection_type]
    needs = preflight.fault_permissions(
        injection_type, SimpleNamespace(delete_after_inject=False), targets, NS
    )
    needs += preflight.tool_permissions(TOOL_NS, secrets=True)
    needs += [Permission(v, "apps", "deployments", NS) for v in ("get", "list", "watch")]
    for ref, _, _ in targets:
        rbac = preflight.rbac_permission(ref, BINDING_OBJ if ref == BINDING else {})
        if rbac is not None:
            needs.append(rbac)
    missing = [p.describe() for p in needs if not granted(docs, p)]
    assert missing == []


def test_preflight_asks_for_bind_on_the_bound_role() -> None:
    need = preflight.rbac_permission(BINDING, BINDING_OBJ)
    assert need == Permission(
        "bind",
        "rbac.authorization.k8s.io",
        "clusterroles",
        None,
        "training-operator-manager-role",
        why=f"change {BINDING}",
    )
    role = preflight.rbac_permission(cluster_role("r"), {})
    assert role is not None
    assert (role.verb, role.name) == ("escalate", "r")
    rolebinding = ResourceRef(RBAC_V1, "RoleBinding", "rb", NS)
    obj = {"roleRef": {"kind": "Role", "name": "leader"}}
    assert preflight.rbac_permission(rolebinding, obj) == Permission(
        "bind", "rbac.authorization.k8s.io", "roles", NS, "leader", why=f"change {rolebinding}"
    )
    assert preflight.rbac_permission(DEPLOYMENT, {}) is None


def test_the_shipped_role_does_not_grant_what_no_fault_needs() -> None:
    docs = shipped()
    for p in [
        Permission("bind", "rbac.authorization.k8s.io", "clusterroles", None, "cluster-admin"),
        Permission("escalate", "rbac.authorization.k8s.io", "clusterroles", None, "x"),
        Permission("delete", "", "pods", "kube-system"),
        Permission("patch", "apps", "deployments", "default"),
        Permission("list", "", "secrets", NS),
        Permission("create", "", "namespaces"),
    ]:
        assert not granted(docs, p), p.describe()


def test_a_missing_permission_reads_as_one_line_with_the_fix() -> None:
    p = Permission("bind", "rbac.authorization.k8s.io", "clusterroles", None, "r")
    assert p.describe() == "bind clusterroles.rbac.authorization.k8s.io/r"
    assert p.fix() == (
        "grant verb bind on clusterroles (apiGroup rbac.authorization.k8s.io)"
        " (resourceNames: [r]) in a ClusterRole to this identity;"
        " see config/rbac/ and README 'Running with least privilege'"
    )
