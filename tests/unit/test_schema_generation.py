"""JSON Schema for editors and the CRD for clusters, both generated from the models."""

from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import pytest
import yaml

from operator_chaos.api.v1alpha1 import InjectionType
from operator_chaos.injection.registry import all_specs
from operator_chaos.load.schema import crd_manifest, crd_yaml, experiment_schema, parameter_info

DATA = Path(__file__).parents[1] / "data"
SHIPPED = Path(__file__).parents[2] / "experiments"
VALID = yaml.safe_load((DATA / "valid" / "pod-kill.yaml").read_text())
# apiextensions.k8s.io/v1 refuses these in a structural schema (or they are not OpenAPI v3.0)
FORBIDDEN_IN_CRD = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "const", "if", "then"}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = experiment_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def seed_documents() -> list[Any]:
    files = [DATA / "valid" / "pod-kill.yaml", *sorted(SHIPPED.glob("**/*.yaml"))]
    return [doc for path in files for doc in yaml.safe_load_all(path.read_text())]


def test_schema_accepts_the_seed_experiments(validator: jsonschema.Draft202012Validator) -> None:
    documents = seed_documents()
    assert len(documents) > 1
    for document in documents:
        assert not list(validator.iter_errors(document)), document["metadata"]["name"]


def with_parameters(injection_type: str, parameters: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(yaml.safe_dump(VALID))
    document["spec"]["injection"] = {"type": injection_type, "parameters": parameters}
    return document


def test_schema_checks_parameters_per_type(validator: jsonschema.Draft202012Validator) -> None:
    assert validator.is_valid(with_parameters("PodKill", {"labelSelector": "a=b", "count": "2"}))
    assert validator.is_valid(with_parameters("PodKill", {"labelSelector": "a=b", "count": 2}))
    assert not validator.is_valid(with_parameters("PodKill", {"labelSelector": "a=b", "cout": 2}))
    assert not validator.is_valid(with_parameters("PodKill", {}))
    network = {"labelSelector": "a=b", "direction": "ingress"}
    assert validator.is_valid(with_parameters("NetworkPartition", network))
    assert not validator.is_valid(
        with_parameters("NetworkPartition", {**network, "direction": "up"})
    )


def test_schema_rejects_envelope_mistakes(validator: jsonschema.Draft202012Validator) -> None:
    document = yaml.safe_load(yaml.safe_dump(VALID))
    document["spec"]["tier"] = 9
    assert not validator.is_valid(document)
    document = yaml.safe_load(yaml.safe_dump(VALID))
    document["spec"]["steadyState"]["timeout"] = "30 seconds"
    assert not validator.is_valid(document)


def test_schema_has_a_branch_per_type() -> None:
    schema = experiment_schema()
    branches = schema["$defs"]["InjectionSpec"]["allOf"]
    assert {b["if"]["properties"]["type"]["const"] for b in branches} == {
        t.value for t in InjectionType
    }
    assert schema["$defs"]["HypothesisSpec"]["properties"]["recoveryTimeout"]["default"] == "1m0s"


def walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, value in node.get("properties", {}).items():
            found += walk(value, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            found += walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            found += walk(node["additionalProperties"], f"{path}{{}}")
    return found


def test_crd_schema_is_structural() -> None:
    (version,) = crd_manifest()["spec"]["versions"]
    schema = version["schema"]["openAPIV3Schema"]
    nodes = walk(schema)
    assert len(nodes) > 40
    for path, node in nodes:
        assert not FORBIDDEN_IN_CRD & set(node), f"{path}: {sorted(FORBIDDEN_IN_CRD & set(node))}"
        assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), path
        assert node.get("additionalProperties") is not False, path
        assert "title" not in node, path
        assert "default" not in node, path
        if "exclusiveMinimum" in node:
            assert isinstance(node["exclusiveMinimum"], bool), path
    paths = {path for path, _ in nodes}
    assert {".spec.injection.parameters", ".spec.steadyState.checks[]", ".status.phase"} <= paths


def test_crd_metadata_and_columns() -> None:
    manifest = crd_manifest()
    spec = manifest["spec"]
    assert manifest["metadata"]["name"] == "chaosexperiments.chaos.operatorchaos.io"
    assert spec["group"] == "chaos.operatorchaos.io"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["shortNames"] == ["chaos", "ce"]
    (version,) = spec["versions"]
    assert version["subresources"] == {"status": {}}
    columns = [(c["name"], c["jsonPath"]) for c in version["additionalPrinterColumns"]]
    assert [name for name, _ in columns] == ["Phase", "Verdict", "Type", "Tier", "Target", "Age"]
    assert ("Type", ".spec.injection.type") in columns
    checks = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["steadyState"]
    item = checks["properties"]["checks"]["items"]
    assert item["properties"]["type"]["enum"] == [
        "conditionTrue",
        "resourceExists",
        "fieldEquals",
        "replicaCount",
    ]


def test_crd_yaml_round_trips() -> None:
    assert yaml.safe_load(crd_yaml()) == crd_manifest()


def test_parameter_info_names_wire_fields_and_defaults() -> None:
    rows = {spec.injection_type.value: parameter_info(spec) for spec in all_specs()}
    network = {row.name: row for row in rows["NetworkPartition"]}
    assert network["labelSelector"].type == "selector"
    assert network["labelSelector"].required
    assert network["direction"].type == "Ingress|Egress|Both"
    assert network["direction"].default == "Both"
    assert network["duration"].type == "duration"
    finalizer = {row.name: row for row in rows["FinalizerBlock"]}
    assert finalizer["deleteAfterInject"].default == "false"
    assert all(row.description for spec_rows in rows.values() for row in spec_rows)
