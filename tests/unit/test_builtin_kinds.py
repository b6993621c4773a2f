"""Built-in kinds come from lightkube-models, not from a hand-written table."""

import pytest

from operator_chaos.knowledge.kinds import KindInfo, check_kind
from operator_chaos.kube import builtin


@pytest.mark.parametrize(
    ("api_version", "kind", "namespaced"),
    [
        ("v1", "ConfigMap", True),
        ("v1", "Namespace", False),
        ("apps/v1", "Deployment", True),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", False),
        ("networking.k8s.io/v1", "ServiceCIDR", False),
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", False),
        ("coordination.k8s.io/v1", "Lease", True),
    ],
)
def test_builtin_kinds_and_scope(api_version: str, kind: str, namespaced: bool) -> None:
    assert check_kind(api_version, kind) == (KindInfo(builtin=True, namespaced=namespaced), None)


def test_typos_and_unserved_versions_are_refused_with_the_fix() -> None:
    assert check_kind("apps/v1", "Deploymnet")[1] == (
        "apps/v1 does not serve kind 'Deploymnet'; did you mean 'Deployment'?"
    )
    assert check_kind("apps/v2", "Deployment")[1] == (
        "Kubernetes does not serve apiVersion 'apps/v2'; use apps/v1"
    )
    assert check_kind("apps/v1", "deployment")[1] is not None  # not CamelCase


@pytest.mark.parametrize(
    "api_version",
    ["kubeflow.org/v1", "gateway.networking.k8s.io/v1", "policy.k8s.io/v1", "example.com/v1"],
)
def test_custom_groups_are_free(api_version: str) -> None:
    assert check_kind(api_version, "Anything") == (KindInfo(builtin=False, namespaced=None), None)


def test_sub_resources_are_not_kinds() -> None:
    served = builtin.group_version("apps/v1")
    assert served is not None
    assert "DeploymentScale" not in served.kinds
    assert {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"} <= set(served.kinds)
