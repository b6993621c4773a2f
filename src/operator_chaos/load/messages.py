"""Turn pydantic validation errors into located, actionable :class:`Problem`s.

pydantic reports where a value failed inside its own model graph (union branches, tagged-union
tags, validator names); users need the YAML path they wrote and a message naming the fix. So
each error location is re-walked against the document data, decorations that are not keys of
the document are dropped, and messages are rewritten ("did you mean ...?").
"""

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from operator_chaos.api.v1alpha1 import names
from operator_chaos.api.v1alpha1.durations import format_duration
from operator_chaos.load.errors import Problem
from operator_chaos.load.yamlmap import Document, FieldPath

_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "none": "null",
    "dict": "a mapping",
    "list": "a list",
}
_PLAIN_TYPES = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}
_PATTERN_HINTS = {
    names.KIND_PATTERN: "write the Kind in CamelCase, e.g. Deployment",
    names.API_VERSION_PATTERN: "write an API version such as apps/v1, v1 or example.com/v1beta1",
    r"^\S+$": "remove the whitespace",
}
_BOUNDS = {"le": "at most", "ge": "at least", "lt": "less than", "gt": "greater than"}
_DECORATION = re.compile(r"^(str|int|float|bool|none|dict|list|.*\[.*\]|[a-z-]+\[.*)$")
_QUOTED = re.compile(r"'([^']*)'")
_MAX_SHOWN = 40


def problems_from(
    error: ValidationError,
    doc: Document,
    data: Any,
    model: type[BaseModel],
    prefix: FieldPath = (),
) -> list[Problem]:
    """One problem per distinct location in ``error``; ``data`` is what ``model`` validated."""
    grouped: dict[FieldPath, list[tuple[ErrorDetails, list[str]]]] = {}
    inner: dict[FieldPath, str] = {}
    for detail in error.errors(include_url=False):
        path, dropped, within = _clean(detail, data)
        grouped.setdefault(path, []).append((detail, dropped))
        if within:
            inner.setdefault(path, within)
    problems = []
    for path, details in grouped.items():
        message = _message(details, path, data, model)
        if path in inner:
            message = f"{inner[path]}: {message}"
        problems.append(doc.problem((*prefix, *path), message))
    return problems


def _clean(detail: ErrorDetails, data: Any) -> tuple[FieldPath, list[str], str]:
    """Split an error location into the path that exists in ``data``, pydantic's decorations
    (union branches, tags), and a path *inside* a text value (a JSON parameter's keys)."""
    kept: list[str | int] = []
    dropped: list[str] = []
    within: list[str] = []
    node = data
    loc = detail["loc"]
    for index, segment in enumerate(loc):
        last = index == len(loc) - 1
        if _has(node, segment):
            kept.append(segment)
            node = node[segment]
        elif last and detail["type"] in {"missing", "union_tag_not_found"}:
            kept.append(segment)
        else:
            dropped.append(str(segment))
            if isinstance(node, str) and not _DECORATION.match(str(segment)):
                within.append(str(segment))
    if detail["type"] in {"union_tag_not_found", "union_tag_invalid"}:
        kept.append("type")
    return tuple(kept), dropped, ".".join(within)


def _has(node: Any, segment: str | int) -> bool:
    if isinstance(node, Mapping):
        return isinstance(segment, str) and segment in node
    return isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node)


def _message(
    details: list[tuple[ErrorDetails, list[str]]],
    path: FieldPath,
    data: Any,
    model: type[BaseModel],
) -> str:
    if len(details) > 1:
        expected = [
            _TYPE_WORDS.get(dropped[-1].split("[")[0], dropped[-1])
            for _, dropped in details
            if dropped
        ]
        if len(expected) == len(details):
            return f"must be {_either(_unique(expected))}, got {_describe(details[0][0]['input'])}"
    detail = details[0][0]
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    given = detail["input"]
    if kind == "missing":
        return f"missing required field '{path[-1] if path else ''}'"
    if kind == "union_tag_not_found":
        return "missing required field 'type'"
    if kind == "extra_forbidden":
        return _unknown_field(path, data, model)
    if kind in {"enum", "literal_error"}:
        return _not_one_of(given, ctx)
    if kind == "value_error":
        return str(ctx.get("error", detail["msg"]))
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        hint = _PATTERN_HINTS.get(pattern, f"match the pattern {pattern}")
        return f"{_describe(given)} is not valid: {hint}"
    if kind == "union_tag_invalid":
        return _not_one_of(ctx.get("tag"), ctx)
    if kind in _PLAIN_TYPES:
        return f"must be {_PLAIN_TYPES[kind]}, got {_describe(given)}"
    for bound, words in _BOUNDS.items():
        if bound in ctx and isinstance(given, timedelta):
            limit = ctx[bound]
            shown = format_duration(limit) if isinstance(limit, timedelta) else str(limit)
            return f"must be {words} {shown}, got {format_duration(given)}"
        if bound in ctx and _is_scalar(given):
            return f"must be {words} {ctx[bound]}, got {_describe(given)}"
    text = detail["msg"]
    if text.startswith("Input should be "):
        text = "must be " + text.removeprefix("Input should be ")
    elif text.startswith("Value error, "):
        text = text.removeprefix("Value error, ")
    if _is_scalar(given) and "got" not in text:
        text = f"{text}, got {_describe(given)}"
    return text


def _unknown_field(path: FieldPath, data: Any, model: type[BaseModel]) -> str:
    name = str(path[-1]) if path else ""
    allowed = sorted(allowed_keys(model, path[:-1], data))
    message = f"unknown field '{name}'"
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if not close:
        lowered = {key.lower(): key for key in allowed}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    if close:
        return f"{message}; did you mean '{close[0]}'?"
    if allowed and len(allowed) <= 12:
        return f"{message}; allowed: {', '.join(allowed)}"
    return f"{message}; remove it"


def _not_one_of(given: Any, ctx: Mapping[str, Any]) -> str:
    expected_text = str(ctx.get("expected") or ctx.get("expected_tags") or "")
    options = _QUOTED.findall(expected_text) or [expected_text]
    if isinstance(given, str):
        close = difflib.get_close_matches(given, options, n=1, cutoff=0.6)
        lowered = {option.lower(): option for option in options}
        if not close and given.lower() in lowered:
            close = [lowered[given.lower()]]
        if close:
            return f"{_describe(given)} is not allowed; did you mean '{close[0]}'?"
    shown = ", ".join(options)
    return f"{_describe(given)} is not allowed; use one of: {shown}"


def allowed_keys(model: type[BaseModel], path: FieldPath, data: Any) -> set[str]:
    """The wire names a mapping at ``path`` may contain, by walking the model's annotations."""
    candidates: list[Any] = [model]
    node = data
    for segment in path:
        next_candidates: list[Any] = []
        for annotation in _members(candidates):
            if isinstance(segment, int) and typing.get_origin(annotation) is list:
                next_candidates.extend(typing.get_args(annotation)[:1])
            elif isinstance(segment, str) and _is_model(annotation):
                field = _fields_by_alias(annotation, node).get(segment)
                if field is not None:
                    next_candidates.append(field)
            elif isinstance(segment, str) and typing.get_origin(annotation) is dict:
                next_candidates.extend(typing.get_args(annotation)[1:2])
        candidates = next_candidates
        node = _child(node, segment)
    keys: set[str] = set()
    for annotation in _members(candidates):
        if _is_model(annotation):
            keys.update(_fields_by_alias(annotation, node))
    return keys


def booleans_for_integers(
    model: type[BaseModel], data: Any, candidates: Iterable[FieldPath] | None = None
) -> list[FieldPath]:
    """Paths in ``data`` where ``true``/``false`` stands for an integer field of ``model``.

    pydantic's lax mode (needed for the Go format's string parameters such as ``count: "2"``)
    also takes ``count: true`` as 1; a boolean is never a count, so the loader refuses it.
    ``candidates`` are the paths of every boolean in ``data`` when the parser knows them:
    then only those paths are followed, instead of the whole document.
    """
    if candidates is not None:
        return [path for path in candidates if _int_field_holds_bool(model, data, path, 0)]
    found: list[FieldPath] = []
    _walk_booleans(model, data, (), found)
    return found


def _int_field_holds_bool(annotation: Any, value: Any, path: FieldPath, depth: int) -> bool:
    """What :func:`_walk_booleans` would find at ``path``, following that path alone."""
    shape = _shape(annotation)
    if depth == len(path):
        return isinstance(value, bool) and shape.bool_is_int
    if not shape.may_hold_int:
        return False
    segment = path[depth]
    for kind, member in shape.members:
        if kind == "model" and isinstance(value, Mapping):
            fields = _model_fields(member, value)
            if fields:
                field = fields.get(segment) if isinstance(segment, str) else None
                return (
                    field is not None
                    and segment in value
                    and _int_field_holds_bool(field, value[segment], path, depth + 1)
                )
        elif kind == "dict" and isinstance(value, Mapping):
            return segment in value and _int_field_holds_bool(
                member, value[segment], path, depth + 1
            )
        elif kind == "list" and isinstance(value, list):
            return (
                isinstance(segment, int)
                and 0 <= segment < len(value)
                and _int_field_holds_bool(member, value[segment], path, depth + 1)
            )
    return False


_SHAPES: dict[int, tuple[Any, "_Shape"]] = {}
"""annotation id -> (annotation, its shape): the walk visits every node of every file, so what
``typing`` says about an annotation is worked out once (kept alive, so ids stay unique)."""


class _Shape:
    """What the boolean walk needs to know about one annotation."""

    __slots__ = ("bool_is_int", "may_hold_int", "members")

    def __init__(self, annotation: Any) -> None:
        members = _members([annotation])
        self.bool_is_int = int in members and bool not in members
        # (kind, model or item annotation) per member, in order: "model", "dict", "list".
        self.members: list[tuple[str, Any]] = []
        for member in members:
            origin = typing.get_origin(member)
            if _is_model(member):
                self.members.append(("model", member))
            elif origin is dict:
                self.members.append(("dict", (typing.get_args(member)[1:2] or [Any])[0]))
            elif origin is list:
                self.members.append(("list", (typing.get_args(member)[:1] or [Any])[0]))
        self.may_hold_int = True  # refined by _may_hold_int


def _shape(annotation: Any) -> _Shape:
    hit = _SHAPES.get(id(annotation))
    if hit is None or hit[0] is not annotation:
        hit = (annotation, _Shape(annotation))
        _SHAPES[id(annotation)] = hit
        hit[1].may_hold_int = _may_hold_int(annotation, set())
    return hit[1]


def _may_hold_int(annotation: Any, visiting: set[int]) -> bool:
    """Whether an integer field can appear anywhere under ``annotation`` (else the walk skips
    it: most of a document is strings)."""
    if id(annotation) in visiting:
        return False  # a cycle adds nothing new
    visiting.add(id(annotation))
    members = _members([annotation])
    if int in members or Any in members or object in members:
        return True
    for member in members:
        if _is_model(member):
            children = [info.annotation for info in member.model_fields.values()]
        elif typing.get_origin(member) in (dict, list):
            children = list(typing.get_args(member)) or [Any]
        else:
            continue
        if any(_may_hold_int(child, visiting) for child in children):
            return True
    return False


_PLAIN_FIELDS: dict[type[BaseModel], dict[str, Any]] = {}


def _model_fields(model: type[BaseModel], value: Mapping[str, Any]) -> dict[str, Any]:
    fields = _PLAIN_FIELDS.get(model)
    if fields is None:
        fields = _fields_by_alias(model, value)
        if "type" not in model.model_fields:  # not a tagged variant: same every time
            _PLAIN_FIELDS[model] = fields
    return fields


def _walk_booleans(annotation: Any, value: Any, path: FieldPath, found: list[FieldPath]) -> None:
    shape = _shape(annotation)
    if isinstance(value, bool):
        if shape.bool_is_int:
            found.append(path)
        return
    if not shape.may_hold_int:
        return
    for kind, member in shape.members:
        if kind == "model" and isinstance(value, Mapping):
            fields = _model_fields(member, value)
            if fields:
                for key, child in value.items():
                    if key in fields:
                        _walk_booleans(fields[key], child, (*path, key), found)
                return
        elif kind == "dict" and isinstance(value, Mapping):
            for key, child in value.items():
                _walk_booleans(member, child, (*path, str(key)), found)
            return
        elif kind == "list" and isinstance(value, list):
            for index, child in enumerate(value):
                _walk_booleans(member, child, (*path, index), found)
            return


def _members(annotations: Iterable[Any]) -> list[Any]:
    """Flatten Optional/Union/Annotated so each concrete type can be inspected."""
    out: list[Any] = []
    for annotation in annotations:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            out.extend(_members([typing.get_args(annotation)[0]]))
        elif origin is typing.Union or origin is types.UnionType:
            out.extend(_members(typing.get_args(annotation)))
        else:
            out.append(annotation)
    return out


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _fields_by_alias(model: type[BaseModel], node: Any) -> dict[str, Any]:
    """Alias -> annotation; for a tagged variant only when ``node``'s tag selects it."""
    fields = model.model_fields
    tag_field = fields.get("type")
    if tag_field is not None and isinstance(node, Mapping) and "type" in node:
        choices = typing.get_args(tag_field.annotation)
        if (
            choices
            and all(not isinstance(c, type) for c in choices)
            and node["type"] not in choices
        ):
            return {}
    return {(info.alias or name): info.annotation for name, info in fields.items()}


def _child(node: Any, segment: str | int) -> Any:
    if isinstance(node, Mapping) and isinstance(segment, str):
        return node.get(segment)
    if isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
        return node[segment]
    return None


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 4] + "...'"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _either(options: list[str]) -> str:
    if len(options) == 1:
        return options[0]
    return ", ".join(options[:-1]) + f" or {options[-1]}"
