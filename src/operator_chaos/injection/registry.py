"""Injection type -> :class:`TypeSpec`, built from the modules listed in ``injection.builtin``.

The mapping is built on first use, not at import, so commands that never look at a fault type
do not pay for importing twenty parameter models.
"""

import importlib
import re
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.builtin import MODULES
from operator_chaos.safety import danger

if TYPE_CHECKING:
    from operator_chaos.injection.protocol import Injector

_PACKAGE = "operator_chaos.injection.builtin"


class RegistryError(LookupError):
    """The registry is inconsistent (a wiring bug) or was asked for an unknown type."""


def build(modules: tuple[str, ...] = MODULES) -> dict[InjectionType, TypeSpec]:
    """Import ``modules`` and map their ``SPEC``s; a type declared twice is an error."""
    specs: dict[InjectionType, TypeSpec] = {}
    for name in modules:
        module = importlib.import_module(f"{_PACKAGE}.{name}")
        spec = getattr(module, "SPEC", None)
        if not isinstance(spec, TypeSpec):
            raise RegistryError(f"{_PACKAGE}.{name} has no SPEC of type TypeSpec")
        if spec.injection_type in specs:
            raise RegistryError(
                f"injection type {spec.injection_type} is declared twice ({_PACKAGE}.{name})"
            )
        specs[spec.injection_type] = spec
    return specs


@cache
def _registry() -> dict[InjectionType, TypeSpec]:
    return build()


def module_name(injection_type: InjectionType) -> str:
    """The builtin module of a type: its wire name in snake_case (``PDBBlock``: ``pdb_block``)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", injection_type.value)
    return spaced.lower()


@cache
def _spec_of(injection_type: InjectionType) -> TypeSpec:
    # Only this type's module is imported: validating one file stays fast (CLI cold start).
    module = importlib.import_module(f"{_PACKAGE}.{module_name(injection_type)}")
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, TypeSpec) or spec.injection_type is not injection_type:
        raise RegistryError(f"{module.__name__} does not declare {injection_type}")
    return spec


def spec_for(injection_type: InjectionType | str) -> TypeSpec:
    """The spec of ``injection_type``; unknown types raise an error that lists the known ones."""
    try:
        key = InjectionType(injection_type)
    except ValueError:
        known = ", ".join(sorted(t.value for t in InjectionType))
        raise RegistryError(
            f"unknown injection type {str(injection_type)!r}; known types: {known}"
        ) from None
    return _spec_of(key)


def all_specs() -> list[TypeSpec]:
    """Every registered spec, sorted by type name."""
    return sorted(_registry().values(), key=lambda spec: spec.injection_type.value)


def effective_danger(spec: ExperimentSpec) -> DangerLevel:
    """The experiment's danger: its explicit ``injection.dangerLevel``, else the type's default."""
    return danger.effective(spec_for(spec.injection.type).danger, spec.injection.danger_level)


def parse_params(spec: ExperimentSpec) -> InjectionParams:
    """The experiment's parameters as its type's typed model (raises pydantic's error if bad).

    Call this on experiments that came through the loader, where it cannot fail.
    """
    return spec_for(spec.injection.type).params.model_validate(spec.injection.parameters)


def injector_for(injection_type: InjectionType | str) -> "Injector[Any]":
    """The runtime behaviour of a type; types without one cannot be run (only validated)."""
    from operator_chaos.errors import OperatorChaosError

    spec = spec_for(injection_type)
    module = importlib.import_module(f"{_PACKAGE}.{module_name(spec.injection_type)}")
    injector = getattr(module, "INJECTOR", None)
    if injector is None:
        runnable = ", ".join(sorted(t.value for t in runnable_types()))
        raise OperatorChaosError(
            f"injection type {spec.injection_type} can be validated and documented but not run"
            f" yet; runnable types: {runnable}"
        )
    return cast("Injector[Any]", injector)


def runnable_types() -> list[InjectionType]:
    """Types whose module provides an ``INJECTOR``."""
    found = []
    for name in MODULES:
        module = importlib.import_module(f"{_PACKAGE}.{name}")
        if getattr(module, "INJECTOR", None) is not None:
            found.append(module.SPEC.injection_type)
    return found
