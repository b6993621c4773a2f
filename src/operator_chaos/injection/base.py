"""What every injection type declares: its parameters, its default danger, what it touches.

Each module under ``operator_chaos.injection.builtin`` defines a ``Params`` model (validation
lives next to the fault, not in a central validator) and a module-level ``SPEC``.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

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

    def explicit_namespace(self) -> str | None:
        """The namespace the parameters name themselves (their ``namespace`` field), if any;
        the engine falls back to the experiment's namespace, then the blast radius."""
        value = getattr(self, "namespace", None)
        return value if isinstance(value, str) and value else None

    def hold(self) -> timedelta | None:
        """How long the fault stays on when the type has its own ``duration`` parameter."""
        value = getattr(self, "duration", None)
        return value if isinstance(value, timedelta) else None


class RecordData(BaseModel):
    """Base of a type's rollback payload (``RollbackRecord.data``), validated when a record is
    read back, so that ``clean`` never reverts from a payload it does not understand.

    Stored by alias (camelCase) and frozen; unknown keys are refused.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class NoRecord(RecordData):
    """For types that cannot run yet (nothing is ever recorded)."""


@dataclass(frozen=True, slots=True)
class Access:
    """One permission a fault needs, for ``preflight``.

    ``on="target"``: the verbs on each target's own resource; ``"namespace"``/``"cluster"``:
    on ``group``/``resource`` in the target namespace or cluster-wide. ``when`` names a boolean
    parameter that must be true for the need to exist (e.g. ``delete_after_inject``).
    """

    verbs: tuple[str, ...]
    on: Literal["target", "namespace", "cluster"] = "target"
    group: str = ""
    resource: str = ""
    why: str = ""
    when: str | None = None

    def applies(self, params: BaseModel) -> bool:
        return self.when is None or bool(getattr(params, self.when, False))


Example = Callable[[str, str], Mapping[str, str]]
"""``(component, namespace) -> parameters`` that validate, for ``init`` skeletons."""


def _no_example(component: str, namespace: str) -> Mapping[str, str]:
    return {}


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
    """The change happens once (a kill, a deletion) and has no hold of its own."""
    record: type[RecordData] = NoRecord
    """The typed payload of this type's rollback records."""
    access: tuple[Access, ...] = (Access(("get", "patch")),)
    """Permissions beyond ``get`` on each target that plan/inject/confirm/revert use."""
    example: Example = _no_example
