"""Steady-state checks evaluated on raw objects (observe.checks): lookup, evaluate, subset."""

from typing import Any

import pytest
from pydantic import TypeAdapter

from operator_chaos.api.v1alpha1 import SteadyStateCheck
from operator_chaos.observe.checks import describe, evaluate, lookup, ref_of, subset

CHECK = TypeAdapter(SteadyStateCheck)

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "op", "namespace": "ns", "labels": {"app": "op"}},
    "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
    "status": {
        "readyReplicas": 2,
        "conditions": [
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
        ],
    },
}
CONFIGMAP: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "cfg", "namespace": "ns"},
    "data": {"mode": "fast", "config.yaml": "a: 1", "count": "3", "flag": "true"},
}


def check(**fields: Any) -> Any:
    base = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "op", "namespace": "ns"}
    return CHECK.validate_python({**base, **fields})


# -- lookup ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("spec.replicas", (True, 2)),
        (".spec.replicas", (True, 2)),
        ("{.spec.replicas}", (True, 2)),
        ("$.spec.replicas", (True, 2)),
        ("status.conditions[1].type", (True, "Available")),
        ("spec.template.spec.containers[0].image", (True, "i")),
        ("metadata.labels.app", (True, "op")),
        ("metadata['labels']['app']", (True, "op")),
        ("spec", (True, DEPLOYMENT["spec"])),
        ("spec.missing", (False, None)),
        ("status.conditions[2]", (False, None)),  # out of range
        ("spec[0]", (False, None)),  # index into a mapping
        ("spec.replicas.deeper", (False, None)),  # through a scalar
    ],
)
def test_lookup(path: str, expected: tuple[bool, Any]) -> None:
    assert lookup(DEPLOYMENT, path) == expected


def test_lookup_present_null_is_found() -> None:
    assert lookup({"a": {"b": None}}, "a.b") == (True, None)


@pytest.mark.parametrize("path", ["data['config.yaml']", 'data["config.yaml"]'])
def test_lookup_bracketed_key_may_contain_dots(path: str) -> None:
    """ConfigMap keys are file names: ``data['config.yaml']`` must reach them."""
    assert lookup(CONFIGMAP, path) == (True, "a: 1")


# -- evaluate --------------------------------------------------------------------------------


def test_absent_object_fails_as_not_found() -> None:
    outcome = evaluate(check(type="resourceExists"), None)
    assert (outcome.passed, outcome.error) == (False, "not found")
    assert outcome.check == "Deployment ns/op exists"


def test_terminating_object_fails_every_check() -> None:
    terminating = {**DEPLOYMENT, "metadata": {**DEPLOYMENT["metadata"], "deletionTimestamp": "x"}}
    for c in (
        check(type="resourceExists"),
        check(type="replicaCount"),
        check(type="conditionTrue", conditionType="Progressing"),
    ):
        outcome = evaluate(c, terminating)
        assert (outcome.passed, outcome.value) == (False, "terminating")


def test_resource_exists() -> None:
    assert evaluate(check(type="resourceExists"), DEPLOYMENT).passed


@pytest.mark.parametrize(
    ("condition", "passed", "value", "error"),
    [
        ("Progressing", True, "True (NewReplicaSetAvailable)", ""),
        ("Available", False, "False (MinimumReplicasUnavailable)", ""),
        ("Ready", False, "", "no Ready condition"),
    ],
)
def test_condition_true(condition: str, passed: bool, value: str, error: str) -> None:
    c = check(type="conditionTrue", conditionType=condition)
    outcome = evaluate(c, DEPLOYMENT)
    assert (outcome.passed, outcome.value, outcome.error) == (passed, value, error)
    assert outcome.check == f"Deployment ns/op condition {condition}=True"


def test_condition_without_reason_shows_bare_status() -> None:
    obj = {"metadata": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    outcome = evaluate(check(type="conditionTrue", conditionType="Ready"), obj)
    assert (outcome.passed, outcome.value) == (True, "True")


@pytest.mark.parametrize(
    ("path", "expected", "passed"),
    [
        ("data.mode", "fast", True),
        ("data.mode", "FAST", True),  # compared as text, case-insensitively
        ("data.mode", "slow", False),
        ("data.count", 3, True),  # YAML `3` for the string "3"
        ("data.flag", True, True),  # YAML `true` for the string "true"
        ("data['config.yaml']", "a: 1", True),
    ],
)
def test_field_equals(path: str, expected: Any, passed: bool) -> None:
    c = CHECK.validate_python(
        {
            "type": "fieldEquals",
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": "cfg",
            "namespace": "ns",
            "fieldPath": path,
            "expectedValue": expected,
        }
    )
    assert evaluate(c, CONFIGMAP).passed is passed


def test_field_equals_on_a_missing_field_says_so() -> None:
    c = check(type="fieldEquals", fieldPath="spec.paused", expectedValue=False)
    outcome = evaluate(c, DEPLOYMENT)
    assert (outcome.passed, outcome.error) == (False, "spec.paused not set")


@pytest.mark.parametrize(
    ("expected_replicas", "status", "spec_replicas", "passed", "value"),
    [
        (None, {"readyReplicas": 2}, 2, True, "2/2 ready"),  # defaults to spec.replicas
        (None, {"readyReplicas": 1}, 2, False, "1/2 ready"),
        (None, {}, 2, False, "0/2 ready"),  # readyReplicas omitted when zero
        (3, {"readyReplicas": 2}, 2, False, "2/3 ready"),
        (0, {}, 0, True, "0/0 ready"),
        (None, {"readyReplicas": 1}, None, True, "1/1 ready"),  # spec.replicas defaults to 1
    ],
)
def test_replica_count(
    expected_replicas: int | None,
    status: dict[str, Any],
    spec_replicas: int | None,
    passed: bool,
    value: str,
) -> None:
    spec = {} if spec_replicas is None else {"replicas": spec_replicas}
    obj = {"metadata": {}, "spec": spec, "status": status}
    fields: dict[str, Any] = {"type": "replicaCount"}
    if expected_replicas is not None:
        fields["expectedReplicas"] = expected_replicas
    outcome = evaluate(check(**fields), obj)
    assert (outcome.passed, outcome.value) == (passed, value)


def test_ref_and_description() -> None:
    c = check(type="replicaCount")
    assert str(ref_of(c)) == "Deployment ns/op"
    assert describe(c) == "Deployment ns/op ready replicas"


# -- subset ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual", "result"),
    [
        ({}, {"a": 1}, True),
        ({"replicas": 1}, {"replicas": 1, "paused": False}, True),
        ({"replicas": 1}, {"replicas": 2}, False),
        ({"replicas": "1"}, {"replicas": 1}, True),  # loose scalar comparison, as checks do
        ({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}, True),
        ({"a": {"b": 1}}, {"a": {"c": 2}}, False),
        ({"a": {"b": 1}}, {"a": 5}, False),
        ({"missing": None}, {}, False),  # a key must be present, even to expect null
        ({"l": [1, 2]}, {"l": [1, 2]}, True),
        ({"l": [1, 2]}, {"l": [1, 2, 3]}, False),  # lists must match in length
        ({"l": [{"name": "c"}]}, {"l": [{"name": "c", "image": "i"}]}, True),  # item-wise
        ({"l": [1]}, {"l": {"0": 1}}, False),
        ({"a": 1}, None, False),
    ],
)
def test_subset(expected: Any, actual: Any, result: bool) -> None:
    assert subset(expected, actual) is result


def test_field_equals_on_a_secret_never_shows_its_value() -> None:
    token = "c2VjcmV0LXRva2Vu"  # base64 of a made-up value
    c = CHECK.validate_python(
        {
            "type": "fieldEquals",
            "apiVersion": "v1",
            "kind": "Secret",
            "name": "creds",
            "namespace": "ns",
            "fieldPath": "data.token",
            "expectedValue": token,
        }
    )
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}}
    right = evaluate(c, {**secret, "data": {"token": token}})
    wrong = evaluate(c, {**secret, "data": {"token": "b3RoZXI="}})
    assert (right.passed, wrong.passed) == (True, False)
    for text in (right.check, right.value, wrong.check, wrong.value, describe(c)):
        assert token not in text
        assert "b3RoZXI=" not in text
    assert wrong.value == "<secret value: 8 chars>"
