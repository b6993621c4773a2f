"""Schemas generated from the models: JSON Schema for editors, the CRD for clusters, and the
parameter table behind ``operator-chaos types``.

Everything derives from the pydantic models and the injection registry, so a new parameter or
fault type shows up in the editor schema, the CRD and the catalog without a second definition.
"""

import copy
import types
import typing
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import PydanticUndefined

from operator_chaos import API_GROUP
from operator_chaos.api.v1alpha1 import ChaosExperiment
from operator_chaos.api.v1alpha1.durations import format_duration
from operator_chaos.injection.base import TypeSpec
from operator_chaos.injection.fields import WireType
from operator_chaos.injection.registry import all_specs

JSON = dict[str, Any]
SCHEMA_ID = f"https://{API_GROUP}/schemas/v1alpha1/chaosexperiment.json"
_DROPPED = frozenset({"title", "default", "discriminator", "$defs", "examples", "$schema"})
_KEPT_FORMATS = frozenset({"date-time", "int32", "int64", "double", "float", "byte"})


@dataclass(frozen=True, slots=True)
class ParameterInfo:
    """One parameter of an injection type, as shown by ``types`` and the docs."""

    name: str
    type: str
    required: bool
    default: str | None
    description: str


def parameter_info(spec: TypeSpec) -> list[ParameterInfo]:
    """The parameters of ``spec``'s type, in declaration order."""
    rows = []
    for name, field in spec.params.model_fields.items():
        rows.append(
            ParameterInfo(
                name=field.alias or name,
                type=_type_name(field.annotation, field.metadata),
                required=field.is_required(),
                default=None if field.is_required() else _default_text(field.default),
                description=field.description or "",
            )
        )
    return rows


def _type_name(annotation: Any, metadata: list[Any]) -> str:
    """A reader's name for a parameter type: ``selector``, ``duration``, ``Fail|Ignore``..."""
    for marker in metadata:
        if isinstance(marker, WireType):
            return marker.name
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return _type_name(inner, [*extra, *metadata])
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " | ".join(_type_name(member, []) for member in members)
    if origin is typing.Literal:
        return "|".join(str(value) for value in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "|".join(str(member.value) for member in annotation)
    return _PLAIN_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


_PLAIN_NAMES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    timedelta: "duration",
}


def _resolve(prop: JSON, defs: JSON) -> JSON:
    """Follow a local ``$ref`` (or a single-entry ``allOf``), keeping sibling keywords."""
    ref = prop.get("$ref")
    if isinstance(ref, str):
        siblings = {k: v for k, v in prop.items() if k != "$ref"}
        return {**_resolve(defs.get(ref.rsplit("/", 1)[-1], {}), defs), **siblings}
    all_of = prop.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        siblings = {k: v for k, v in prop.items() if k != "allOf"}
        return {**_resolve(all_of[0], defs), **siblings}
    return prop


def _default_text(value: Any) -> str | None:
    if value is PydanticUndefined or value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _GoDefaults(GenerateJsonSchema):
    """Write duration defaults as Go durations ("1m0s"), the way experiment files spell them."""

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


def experiment_schema() -> JSON:
    """JSON Schema (2020-12) of a ChaosExperiment file, with typed parameters per fault type.

    ``spec.injection.parameters`` is constrained with one ``if``/``then`` per type, which
    yaml-language-server and other editors understand. Parameters also accept the quoted-string
    form the Go implementation writes (``count: "2"``, ``deleteAfterInject: "true"``).
    """
    schema = ChaosExperiment.model_json_schema(by_alias=True, schema_generator=_GoDefaults)
    defs: JSON = schema.setdefault("$defs", {})
    conditions = []
    for spec in all_specs():
        name = spec.injection_type.value
        params = spec.params.model_json_schema(
            by_alias=True, ref_template=f"#/$defs/{name}.{{model}}", schema_generator=_GoDefaults
        )
        for def_name, definition in params.pop("$defs", {}).items():
            defs[f"{name}.{def_name}"] = definition
        params["description"] = f"Parameters of {name}: {spec.summary}"
        defs[f"{name}.Params"] = _accept_strings(params)
        conditions.append(
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": {"properties": {"parameters": {"$ref": f"#/$defs/{name}.Params"}}},
            }
        )
    defs["InjectionSpec"]["allOf"] = conditions
    schema = _strip_titles(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "ChaosExperiment",
        **schema,
    }


def _accept_strings(params: JSON) -> JSON:
    """Let integer and boolean parameters also be written as strings (map[string]string)."""
    for name, prop in list(params.get("properties", {}).items()):
        params["properties"][name] = _lax(prop)
    return params


def _lax(prop: JSON) -> JSON:
    if "anyOf" in prop:
        return {**prop, "anyOf": [_lax(branch) for branch in prop["anyOf"]]}
    if prop.get("type") == "integer":
        keep = {k: v for k, v in prop.items() if k in {"description", "default"}}
        number = {k: v for k, v in prop.items() if k not in keep}
        return {**keep, "anyOf": [number, {"type": "string", "pattern": r"^-?[0-9]+$"}]}
    if prop.get("type") == "boolean":
        keep = {k: v for k, v in prop.items() if k in {"description", "default"}}
        words = ["true", "false", "True", "False", "TRUE", "FALSE"]
        return {**keep, "anyOf": [{"type": "boolean"}, {"type": "string", "enum": words}]}
    return prop


def _strip_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (_strip_titles(value) if key != "properties" else _strip_property_map(value))
            for key, value in node.items()
            if key != "title"
        }
    if isinstance(node, list):
        return [_strip_titles(item) for item in node]
    return node


def _strip_property_map(properties: JSON) -> JSON:
    return {name: _strip_titles(schema) for name, schema in properties.items()}


def crd_manifest() -> JSON:
    """The ChaosExperiment CustomResourceDefinition with a structural openAPIV3Schema."""
    schema = ChaosExperiment.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})
    root = _structural(schema, defs)
    root["properties"]["apiVersion"] = {"type": "string"}
    root["properties"]["kind"] = {"type": "string"}
    root["properties"]["metadata"] = {"type": "object"}
    root["required"] = ["spec"]
    columns = [
        ("Phase", "string", ".status.phase"),
        ("Verdict", "string", ".status.verdict"),
        ("Type", "string", ".spec.injection.type"),
        ("Tier", "integer", ".spec.tier"),
        ("Target", "string", ".spec.target.component"),
        ("Age", "date", ".metadata.creationTimestamp"),
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"chaosexperiments.{API_GROUP}"},
        "spec": {
            "group": API_GROUP,
            "names": {
                "kind": "ChaosExperiment",
                "listKind": "ChaosExperimentList",
                "plural": "chaosexperiments",
                "singular": "chaosexperiment",
                "shortNames": ["chaos", "ce"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": name, "type": kind, "jsonPath": path}
                        for name, kind, path in columns
                    ],
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


def crd_yaml() -> str:
    """:func:`crd_manifest` as YAML."""
    import yaml

    return yaml.safe_dump(crd_manifest(), sort_keys=False, allow_unicode=True, width=100)


def _structural(node: JSON, defs: JSON) -> JSON:
    """Inline references and rewrite unions into what apiextensions/v1 calls structural."""
    node = _resolve(copy.deepcopy(node), defs)
    description = node.get("description")
    branches = node.pop("anyOf", None) or node.pop("oneOf", None)
    if branches:
        resolved = [_resolve(branch, defs) for branch in branches]
        concrete = [b for b in resolved if b.get("type") != "null"]
        if len(concrete) == 1:
            out = _structural(concrete[0], defs)
            if len(concrete) < len(resolved):
                out["nullable"] = True
        elif all(b.get("type") == "object" for b in concrete):
            out = _merge_objects([_structural(b, defs) for b in concrete])
        else:
            out = {"x-kubernetes-preserve-unknown-fields": True}
            if len(concrete) < len(resolved):
                out["nullable"] = True
        if description:
            out["description"] = description
        return out
    out = {}
    for key, value in node.items():
        if key in _DROPPED or (key == "format" and value not in _KEPT_FORMATS):
            continue
        if key == "const":
            out["enum"] = [value]
        elif key in {"exclusiveMinimum", "exclusiveMaximum"} and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "properties":
            out[key] = {name: _structural(prop, defs) for name, prop in value.items()}
        elif key == "items":
            out[key] = _structural(value, defs)
        elif key == "additionalProperties":
            if isinstance(value, dict):
                out[key] = _structural(value, defs)
        else:
            out[key] = value
    extra = out.get("additionalProperties")
    if isinstance(extra, dict) and "type" not in extra:
        out.pop("additionalProperties")
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _merge_objects(variants: list[JSON]) -> JSON:
    """One object schema accepting every variant of a tagged union (tags become an enum)."""
    properties: JSON = {}
    for variant in variants:
        for name, prop in variant.get("properties", {}).items():
            if name in properties and "enum" in prop and "enum" in properties[name]:
                merged = properties[name]["enum"] + prop["enum"]
                properties[name] = {**properties[name], "enum": list(dict.fromkeys(merged))}
            else:
                properties.setdefault(name, prop)
    required = set.intersection(*(set(v.get("required", [])) for v in variants))
    out: JSON = {"type": "object", "properties": properties}
    if required:
        out["required"] = sorted(required)
    return out
