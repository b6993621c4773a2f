"""Evaluate steady-state checks and managed-resource expectations on raw objects (pure)."""

import re
from collections.abc import Mapping
from typing import Any

from operator_chaos.api.v1alpha1 import (
    CheckOutcome,
    ConditionTrueCheck,
    FieldEqualsCheck,
    ReplicaCountCheck,
    ResourceExistsCheck,
    SteadyStateCheck,
)
from operator_chaos.kube.port import RawObject, ResourceRef


def ref_of(check: SteadyStateCheck) -> ResourceRef:
    """The object a check looks at."""
    return ResourceRef(check.api_version, check.kind, check.name, check.namespace)


def describe(check: SteadyStateCheck) -> str:
    """``Deployment ns/name Available`` style text for reports."""
    base = check.describe()
    if isinstance(check, ConditionTrueCheck):
        return f"{base} condition {check.condition_type}=True"
    if isinstance(check, FieldEqualsCheck):
        expected = "<secret value>" if _secret(check) else repr(check.expected_value)
        return f"{base} {check.field_path} == {expected}"
    if isinstance(check, ReplicaCountCheck):
        return f"{base} ready replicas"
    return f"{base} exists"


def lookup(obj: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """Follow a dotted / JSONPath-like path (``.spec.replicas``, ``data.KEY``, ``a[0].b``)."""
    current: Any = obj
    for part in _split(path):
        if isinstance(part, int):
            if not isinstance(current, list) or part >= len(current):
                return False, None
            current = current[part]
        elif isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return False, None
    return True, current


def _split(path: str) -> list[str | int]:
    text = path.strip().removeprefix("{").removesuffix("}").removeprefix("$").lstrip(".")
    parts: list[str | int] = []
    # Brackets first: a quoted key may hold dots (``data['config.yaml']``).
    for n, chunk in enumerate(re.split(r"(\[[^\]]*\])", text)):
        if n % 2:
            index = chunk[1:-1].strip()
            parts.append(int(index) if index.isdigit() else index.strip("'\""))
        else:
            parts += [segment for segment in chunk.split(".") if segment]
    return parts


def evaluate(check: SteadyStateCheck, obj: RawObject | None) -> CheckOutcome:
    """One check against the current object (``None`` = absent)."""
    text = describe(check)
    if obj is None:
        return CheckOutcome(check=text, passed=False, error="not found")
    if obj.get("metadata", {}).get("deletionTimestamp"):
        return CheckOutcome(check=text, passed=False, value="terminating")
    if isinstance(check, ResourceExistsCheck):
        return CheckOutcome(check=text, passed=True, value="exists")
    if isinstance(check, ConditionTrueCheck):
        for cond in obj.get("status", {}).get("conditions") or []:
            if cond.get("type") == check.condition_type:
                status = str(cond.get("status"))
                detail = f"{status} ({cond.get('reason', '')})" if cond.get("reason") else status
                return CheckOutcome(check=text, passed=status == "True", value=detail)
        return CheckOutcome(check=text, passed=False, error=f"no {check.condition_type} condition")
    if isinstance(check, FieldEqualsCheck):
        found, value = lookup(obj, check.field_path)
        if not found:
            return CheckOutcome(check=text, passed=False, error=f"{check.field_path} not set")
        shown = f"<secret value: {len(str(value))} chars>" if _secret(check) else str(value)
        return CheckOutcome(check=text, passed=_equal(value, check.expected_value), value=shown)
    ready = int(obj.get("status", {}).get("readyReplicas") or 0)
    want = check.expected_replicas
    if want is None:
        want = int(obj.get("spec", {}).get("replicas", 1))
    return CheckOutcome(check=text, passed=ready == want, value=f"{ready}/{want} ready")


def _secret(check: SteadyStateCheck) -> bool:
    """A Secret's values never reach a report, a timeline or a stored result."""
    return check.kind == "Secret" and check.api_version == "v1"


def _equal(actual: Any, expected: Any) -> bool:
    if actual == expected:
        return True
    # YAML authors write `expectedValue: 1` for "1" and vice versa; compare as text too.
    return str(actual).lower() == str(expected).lower()


def subset(expected: Any, actual: Any) -> bool:
    """True when every key/value of ``expected`` is present in ``actual`` (recursively)."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and subset(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(subset(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return _equal(actual, expected)
