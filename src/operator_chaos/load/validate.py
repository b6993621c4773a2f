"""Validate one parsed YAML document as a ChaosExperiment: envelope, parameters, policy.

The layers run as far as they can so that one pass reports everything wrong with a document:
parameter checks still run when an unrelated envelope field is broken, and the static policy
(danger levels, cross-field rules) runs as soon as the envelope is valid.
"""

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from operator_chaos.api.v1alpha1 import (
    KIND,
    ChaosExperiment,
    DangerLevel,
    ExperimentSpec,
    InjectionType,
)
from operator_chaos.injection.base import TypeSpec
from operator_chaos.injection.registry import spec_for
from operator_chaos.load.errors import Problem
from operator_chaos.load.messages import booleans_for_integers, problems_from
from operator_chaos.load.yamlmap import Document, FieldPath
from operator_chaos.safety import danger

PARAMETERS: FieldPath = ("spec", "injection", "parameters")
_KNOWN_TYPES = frozenset(t.value for t in InjectionType)


def check_document(doc: Document) -> tuple[ChaosExperiment | None, list[Problem]]:
    """The experiment in ``doc`` (``None`` when invalid) and every problem found in it."""
    data = doc.data
    if not isinstance(data, Mapping):
        found = type(data).__name__ if data is not None else "null"
        return None, [doc.problem((), f"expected a ChaosExperiment mapping, got {found}")]
    kind = data.get("kind")
    if isinstance(kind, str) and kind != KIND:
        return None, [
            doc.problem(
                ("kind",),
                f"kind {kind!r} is not a {KIND}; only experiments are validated here"
                " (knowledge models: validate --knowledge)",
            )
        ]
    problems = _booleans(doc, (), ChaosExperiment, data)
    experiment: ChaosExperiment | None = None
    try:
        experiment = ChaosExperiment.model_validate(data)
    except ValidationError as exc:
        problems += problems_from(exc, doc, data, ChaosExperiment)
    problems += _check_parameters(doc, data, experiment)
    if experiment is not None:
        problems += _check_policy(doc, experiment.spec)
    return (experiment if not problems else None), _dedupe(problems)


def _check_parameters(
    doc: Document, data: Mapping[str, Any], experiment: ChaosExperiment | None
) -> list[Problem]:
    injection = _get(data, "spec", "injection")
    if not isinstance(injection, Mapping):
        return []
    injection_type = injection.get("type")
    if not isinstance(injection_type, str) or injection_type not in _KNOWN_TYPES:
        return []
    parameters = injection.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, Mapping):
        return []  # the envelope already reported it
    type_spec = spec_for(injection_type)
    wrong = _booleans(doc, PARAMETERS, type_spec.params, parameters)
    try:
        params = type_spec.params.model_validate(parameters)
    except ValidationError as exc:
        return wrong + problems_from(exc, doc, parameters, type_spec.params, PARAMETERS)
    if experiment is None or wrong:
        return wrong
    return [
        doc.problem(("spec", *path), message)
        for path, message in params.cross_check(experiment.spec)
    ]


def _booleans(doc: Document, prefix: FieldPath, model: type[Any], data: Any) -> list[Problem]:
    """``count: true`` and the like: lax validation would read it as 1."""
    candidates = None
    if doc.booleans is not None:  # the parser listed every boolean: check only those
        depth = len(prefix)
        candidates = [path[depth:] for path in doc.booleans if path[:depth] == prefix]
    return [
        doc.problem((*prefix, *path), f"must be an integer, got {_get(data, *path)!r}")
        for path in booleans_for_integers(model, data, candidates)
    ]


def _check_policy(doc: Document, spec: ExperimentSpec) -> list[Problem]:
    return _check_danger(doc, spec, spec_for(spec.injection.type)) + _check_placeholder(doc, spec)


PLACEHOLDER = re.compile(r"\b(?:TODO|FIXME|TBD)\b")
"""Markers ``init`` writes where a person must fill in text (docs would publish them as is)."""


def _check_placeholder(doc: Document, spec: ExperimentSpec) -> list[Problem]:
    """A hypothesis still saying TODO is no hypothesis: refuse it before it reaches the docs."""
    marker = PLACEHOLDER.search(spec.hypothesis.description)
    if marker is None:
        return []
    message = (
        f"is still a placeholder ({marker[0]}): write what the operator should do when the"
        " fault hits and what recovered looks like"
    )
    return [doc.problem(("spec", "hypothesis", "description"), message)]


def _check_danger(doc: Document, spec: ExperimentSpec, type_spec: TypeSpec) -> list[Problem]:
    """A spec may raise its type's danger, never lower it; high needs an explicit opt-in."""
    problems = []
    default = type_spec.danger
    explicit = spec.injection.danger_level
    name = type_spec.injection_type.value
    if explicit is not None and danger.lowered(default, explicit):
        problems.append(
            doc.problem(
                ("spec", "injection", "dangerLevel"),
                f"{explicit.value} is below {name}'s danger ({default.value}); an experiment may"
                f" raise its danger, not lower it: remove dangerLevel or set {default.value}",
            )
        )
    level = danger.effective(default, explicit)
    if danger.needs_opt_in(level, spec.blast_radius.allow_dangerous):
        if default is DangerLevel.HIGH:
            reason = f"{name} is a high-danger fault"
            fix = "set blastRadius.allowDangerous: true, or pick a less dangerous fault"
        else:
            reason = "dangerLevel is high"
            fix = "set blastRadius.allowDangerous: true, or lower injection.dangerLevel"
        problems.append(doc.problem(("spec", "blastRadius", "allowDangerous"), f"{reason}: {fix}"))
    return problems


def _get(data: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
            continue
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _dedupe(problems: list[Problem]) -> list[Problem]:
    """One problem per field: the envelope and the parameter model may both flag a value."""
    seen: set[tuple[int, int, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.line, problem.column, problem.field)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique
