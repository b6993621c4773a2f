"""Does a set of NetworkPolicies cut a pod off from the API server / webhook callers?

The sandbox has no CNI, so the agent evaluates policies itself, for the two paths it relays:
egress from the operator to the API server and ingress from the API server to the operator's
webhook. A policy that selects the pod and lists the direction in its policyTypes isolates that
direction unless one of its rules has no peers (which allows every source/destination); rules
naming peers (pods, namespaces, ipBlocks) are taken not to cover the API server, whose address
is not a pod's. Ports in rules are ignored.
"""

from collections.abc import Iterable, Mapping
from typing import Any


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Evaluate a LabelSelector (matchLabels + matchExpressions) against pod labels."""
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def isolation(
    policies: Iterable[Mapping[str, Any]], labels: Mapping[str, str]
) -> tuple[bool, bool]:
    """Return ``(ingress_blocked, egress_blocked)`` for a pod with ``labels``."""
    selected = {"Ingress": False, "Egress": False}
    open_path = {"Ingress": False, "Egress": False}
    for policy in policies:
        spec = policy.get("spec") or {}
        if policy.get("metadata", {}).get("deletionTimestamp"):
            continue
        if not selects(spec.get("podSelector") or {}, labels):
            continue
        types = spec.get("policyTypes") or (
            ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]
        )
        for direction, rules_key, peers_key in (
            ("Ingress", "ingress", "from"),
            ("Egress", "egress", "to"),
        ):
            if direction not in types:
                continue
            selected[direction] = True
            if any(not (rule or {}).get(peers_key) for rule in spec.get(rules_key) or []):
                open_path[direction] = True
    return (
        selected["Ingress"] and not open_path["Ingress"],
        selected["Egress"] and not open_path["Egress"],
    )
