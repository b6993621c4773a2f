"""What every injection type declares: its parameters, its default danger, what it touches.

Each module under ``operator_chaos.injection.builtin`` defines a ``Params`` model (validation
lives next to the fault, not in a central validator) and a module-level ``SPEC``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from operator_chaos.api.v1alpha1 import DangerLevel, InjectionType, RecoveryModel

if TYPE_CHECKING:
    from operator_chaos.api.v1alpha1 import ExperimentSpec

FieldPath = tuple[str | int, ...]


class InjectionParams(BaseModel):
    """Base of every ``Params`` model.

    Experiments written for the Go implementation carry every parameter as a string
    (``map[string]string``), so lax mode stays on: ``"2"`` validates as ``int`` and ``"true"``
    as ``bool``; a bare YAML number given for a text parameter (``cpu: 1``) becomes its text.
    Unknown parameters are refused so that a typo never silently does nothing.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        coerce_numbers_to_str=True,
    )

    def cross_check(self, spec: "ExperimentSpec") -> Sequence[tuple[FieldPath, str]]:
        """Rules that need the rest of the experiment; returns (path from spec, message) pairs."""
        return ()


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """Static facts about one injection type, used by validation, the catalog and docs."""

    injection_type: InjectionType
    danger: DangerLevel
    params: type[InjectionParams]
    summary: str
    recovery_model: RecoveryModel
    """repair: the operator must restore what the fault damaged; condition: the tool lifts
    the fault after the hold and the operator must resume (see :class:`RecoveryModel`)."""
    affects_pods: bool = False
    instantaneous: bool = False
