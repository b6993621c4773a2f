"""Parameter models: the Go corpus writes every value as a string; lax coercion keeps working."""

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from operator_chaos.injection.builtin import (
    client_fault,
    crd_mutation,
    finalizer_block,
    network_partition,
    pod_kill,
    quota_exhaustion,
    rbac_revoke,
    webhook_disrupt,
    webhook_latency,
)


def test_string_numbers_and_booleans_are_coerced() -> None:
    assert pod_kill.Params.model_validate({"labelSelector": "a=b", "count": "2"}).count == 2
    params = finalizer_block.Params.model_validate(
        {"apiVersion": "v1", "kind": "Pod", "name": "p", "deleteAfterInject": "true"}
    )
    assert params.delete_after_inject is True
    assert params.finalizer == finalizer_block.DEFAULT_FINALIZER


def test_bare_numbers_are_accepted_for_text_parameters() -> None:
    params = quota_exhaustion.Params.model_validate({"quotaName": "q", "cpu": 0, "pods": "0"})
    assert params.cpu == "0"
    assert params.pods == 0


@pytest.mark.parametrize("spelling", ["ingress", "Ingress", "INGRESS", " ingress "])
def test_network_direction_is_case_insensitive(spelling: str) -> None:
    params = network_partition.Params.model_validate(
        {"labelSelector": "a=b", "direction": spelling}
    )
    assert params.direction is network_partition.Direction.INGRESS


def test_network_defaults() -> None:
    params = network_partition.Params.model_validate({"labelSelector": "a=b", "duration": "60s"})
    assert params.direction is network_partition.Direction.BOTH
    assert params.duration == timedelta(seconds=60)


def test_webhook_defaults_and_literal_action() -> None:
    params = webhook_disrupt.Params.model_validate({"webhookName": "vfoo.example.io"})
    assert params.webhook_type is webhook_disrupt.WebhookType.VALIDATING
    assert params.action == "setFailurePolicy"
    assert params.value is webhook_disrupt.FailurePolicy.FAIL
    with pytest.raises(ValidationError):
        webhook_disrupt.Params.model_validate({"webhookName": "x", "value": "Maybe"})


def test_rbac_binding_names_may_be_mixed_case_but_not_system() -> None:
    name = "rhods-operator.3.3.2-aD1Yzlmi2CnLw2t7BBo3a5nWzRk"
    rbac_revoke.Params.model_validate({"bindingName": name, "bindingType": "ClusterRoleBinding"})
    for bad in ("system:node", "cluster-admin", "operator-chaos-x", "bad name"):
        with pytest.raises(ValidationError):
            rbac_revoke.Params.model_validate({"bindingName": bad, "bindingType": "RoleBinding"})


def test_client_fault_parses_the_json_table() -> None:
    faults = '{"get": {"errorRate": 0.5, "error": "not found", "delay": "2s"}}'
    params = client_fault.Params.model_validate({"faults": faults})
    fault = params.faults[client_fault.Operation.GET]
    assert fault.error_rate == 0.5
    assert fault.delay == timedelta(seconds=2)


@pytest.mark.parametrize(
    "faults",
    [
        "{}",
        "[]",
        '{"fetch": {"errorRate": 0.1}}',
        '{"get": {"errorRate": 2}}',
        '{"get": {"errorRate": 0.1, "delay": "10m"}}',
        '{"get": {"errorRate": 0.1, "colour": "red"}}',
        "[" * 10000,
    ],
)
def test_client_fault_refuses_bad_tables(faults: str) -> None:
    with pytest.raises(ValidationError):
        client_fault.Params.model_validate({"faults": faults})


def test_client_fault_config_map_prefix() -> None:
    with pytest.raises(ValidationError, match="operator-chaos-"):
        client_fault.Params.model_validate(
            {"faults": '{"get": {"errorRate": 1}}', "configMapName": "x"}
        )


def test_crd_mutation_leaf_and_container_values() -> None:
    base: dict[str, Any] = {"apiVersion": "example.com/v1", "kind": "X", "name": "x", "value": "1"}
    assert (
        crd_mutation.Params.model_validate({**base, "path": "spec.a.replicas"}).leaf == "replicas"
    )
    assert crd_mutation.Params.model_validate({**base, "field": "mode"}).leaf == "mode"
    assert crd_mutation._is_container("[" * 100000)
    assert not crd_mutation._is_container("not json")
    with pytest.raises(ValidationError, match="segment"):
        crd_mutation.Params.model_validate({**base, "path": "spec..a"})


def test_webhook_latency_lists_and_delay_bounds() -> None:
    params = webhook_latency.Params.model_validate(
        {"resources": "deployments, services", "apiGroups": "apps,"}
    )
    assert params.resources == ["deployments", "services"]
    assert params.api_groups == ["apps"]
    with pytest.raises(ValidationError):
        webhook_latency.Params.model_validate(
            {"resources": "a", "apiGroups": "b", "delay": "500ms"}
        )
    with pytest.raises(ValidationError):
        webhook_latency.Params.model_validate({"resources": " , ", "apiGroups": "b"})


@pytest.mark.parametrize("quantity", ["0", "1m", "100m", "1Mi", "2Gi", "1.5", "1e3"])
def test_quota_quantities(quantity: str) -> None:
    quota_exhaustion.Params.model_validate({"quotaName": "q", "cpu": quantity})


@pytest.mark.parametrize("quantity", ["-1", "1 Gi", "lots", "1MB"])
def test_quota_refuses_bad_quantities(quantity: str) -> None:
    with pytest.raises(ValidationError, match="quantity"):
        quota_exhaustion.Params.model_validate({"quotaName": "q", "memory": quantity})


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        pod_kill.Params.model_validate({"labelSelector": "a=b", "gracePeriod": "0"})
