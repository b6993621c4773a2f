"""NetworkPolicy evaluation the sandbox agent does in place of a CNI (pure logic)."""

from typing import Any

import pytest

from operator_chaos.sandbox import netpol

POD = {"app": "op", "tier": "control"}


def policy(spec: dict[str, Any], *, deleting: bool = False, name: str = "p") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, True),
        ({}, True),
        ({"matchLabels": {"app": "op"}}, True),
        ({"matchLabels": {"app": "op", "tier": "control"}}, True),
        ({"matchLabels": {"app": "other"}}, False),
        ({"matchLabels": {"missing": "x"}}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["op", "x"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["x"]}]}, False),
        ({"matchExpressions": [{"key": "nope", "operator": "In", "values": ["op"]}]}, False),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["x"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["op"]}]}, False),
        # NotIn matches pods that lack the key altogether.
        ({"matchExpressions": [{"key": "nope", "operator": "NotIn", "values": ["op"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "nope", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "nope", "operator": "DoesNotExist"}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, False),
        # matchLabels and matchExpressions are ANDed.
        (
            {
                "matchLabels": {"app": "op"},
                "matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}],
            },
            False,
        ),
        (
            {
                "matchLabels": {"app": "op"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["control"]},
                    {"key": "zone", "operator": "DoesNotExist"},
                ],
            },
            True,
        ),
    ],
)
def test_selects(selector: dict[str, Any] | None, expected: bool) -> None:
    assert netpol.selects(selector, POD) is expected


DENY_ALL_EGRESS = {"podSelector": {}, "policyTypes": ["Egress"]}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        # policyTypes defaulting: Ingress always, Egress only when egress rules exist.
        ({"podSelector": {}}, (True, False)),
        ({"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}, (True, False)),
        ({"podSelector": {}, "egress": [{"to": [{"podSelector": {}}]}]}, (True, True)),
        ({"podSelector": {}, "egress": [{}]}, (True, False)),
        # explicit policyTypes
        (DENY_ALL_EGRESS, (False, True)),
        ({"podSelector": {}, "policyTypes": ["Ingress"]}, (True, False)),
        ({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, (True, True)),
        # a rule without peers allows everything in its direction
        ({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}, (False, False)),
        (
            {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 443}]}]},
            (False, False),
        ),
        (
            {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": []}]},
            (False, False),
        ),
        # rules naming peers do not cover the API server
        (
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}],
            },
            (False, True),
        ),
        (
            {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"namespaceSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}, {}],
            },
            (True, False),
        ),
        # a policy that does not select the pod changes nothing
        (
            {"podSelector": {"matchLabels": {"app": "other"}}, "policyTypes": ["Egress"]},
            (False, False),
        ),
        (
            {
                "podSelector": {
                    "matchExpressions": [{"key": "app", "operator": "In", "values": ["op"]}]
                },
                "policyTypes": ["Egress"],
            },
            (False, True),
        ),
    ],
)
def test_isolation_single_policy(spec: dict[str, Any], expected: tuple[bool, bool]) -> None:
    assert netpol.isolation([policy(spec)], POD) == expected


def test_no_policies_isolate_nothing() -> None:
    assert netpol.isolation([], POD) == (False, False)


def test_policies_being_deleted_are_ignored() -> None:
    assert netpol.isolation([policy(DENY_ALL_EGRESS, deleting=True)], POD) == (False, False)
    live_and_deleting = [
        policy({"podSelector": {}, "policyTypes": ["Ingress"]}, name="live"),
        policy(DENY_ALL_EGRESS, deleting=True, name="gone"),
    ]
    assert netpol.isolation(live_and_deleting, POD) == (True, False)


def test_policies_are_additive_any_open_rule_wins() -> None:
    deny = policy(DENY_ALL_EGRESS, name="deny")
    allow = policy({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}, name="allow")
    assert netpol.isolation([deny], POD) == (False, True)
    assert netpol.isolation([deny, allow], POD) == (False, False)
    assert netpol.isolation([allow, deny], POD) == (False, False)


def test_allow_rule_in_a_policy_that_does_not_select_the_pod_opens_nothing() -> None:
    deny = policy(DENY_ALL_EGRESS, name="deny")
    other = policy(
        {"podSelector": {"matchLabels": {"app": "x"}}, "policyTypes": ["Egress"], "egress": [{}]},
        name="other",
    )
    assert netpol.isolation([deny, other], POD) == (False, True)


def test_missing_spec_and_metadata_are_tolerated() -> None:
    # An empty spec selects every pod (empty podSelector) and defaults to Ingress.
    assert netpol.isolation([{"metadata": {}}], POD) == (True, False)
    assert netpol.isolation([{}], POD) == (True, False)
