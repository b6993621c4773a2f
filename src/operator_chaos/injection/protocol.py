"""The runtime contract of a fault: plan (read-only), inject (write-ahead), confirm, revert.

Rules every injector follows:

1. ``plan`` only reads the cluster. Its :class:`Plan` feeds the safety gate and ``--dry-run``.
2. ``inject`` writes a rollback record to the run ledger *before* each change, holding the
   original values, then makes the change.
3. ``damage`` describes, from the record alone, what the change broke and how to see it
   restored; the observer watches it (repair faults: until the operator restores it).
4. ``revert`` is the only way back and reads nothing but the record: the lifecycle's
   ``finally``, the TTL sweep and ``clean`` after a ``kill -9`` all call it the same way. It
   is idempotent, and it never overwrites a change somebody else made after ours (when the
   operator already repaired the field, the repair stands).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from operator_chaos.errors import OperatorChaosError

if TYPE_CHECKING:  # annotations only: `validate` imports the fault modules and must start fast
    from operator_chaos.api.v1alpha1 import PlannedChange
    from operator_chaos.injection.base import InjectionParams, TypeSpec
    from operator_chaos.kube.port import KubeClient, StateView, WatchKey
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger
    from operator_chaos.safety.policy import Footprint


@dataclass(frozen=True, slots=True)
class Scope:
    """Where and as whom an injection acts, resolved from the experiment before planning."""

    namespace: str | None
    count: int
    run_id: str
    experiment: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Plan:
    """What ``inject`` will do: the footprint for the gate and the changes for the audit."""

    footprint: Footprint
    changes: tuple[PlannedChange, ...]
    state: Mapping[str, Any] = field(default_factory=dict)  # private to the injector
    watch: tuple[WatchKey, ...] = ()
    """What to watch from before the injection so the damage is seen as it happens
    (default: the footprint's targets)."""

    @property
    def watch_keys(self) -> tuple[WatchKey, ...]:
        return self.watch or tuple(self.footprint.targets)


@dataclass(frozen=True, slots=True)
class Damage:
    """One piece of state a fault changed, and how to see from watched state that it is
    back. For repair faults the operator must bring it back; for condition faults it is the
    fault itself (held, then lifted by the tool)."""

    target: str
    field: str
    watch: tuple[WatchKey, ...]
    restored: Callable[[StateView], tuple[bool, str]]
    """``(restored?, what the state is now)``; the text never holds a Secret value."""
    role: Literal["fault", "invariant"] = "fault"
    """``fault``: the change itself (restored = undone). ``invariant``: something the
    hypothesis says must hold once the fault is over (e.g. no leaked dependants); it is a
    check of its own, required for recovery whatever the model."""


class Injector(Protocol):
    """One fault type's behaviour (its static facts are in :class:`TypeSpec`)."""

    @property
    def spec(self) -> TypeSpec: ...

    async def plan(self, kube: KubeClient, params: InjectionParams, scope: Scope) -> Plan: ...

    async def inject(
        self, kube: KubeClient, params: InjectionParams, scope: Scope, plan: Plan, ledger: RunLedger
    ) -> Sequence[str]: ...

    async def confirm(
        self, kube: KubeClient, params: InjectionParams, scope: Scope, plan: Plan
    ) -> Sequence[str]: ...

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> str: ...

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        """What ``record``'s change broke, as lanes to watch until it is restored."""
        ...


class InjectionFailed(OperatorChaosError):
    """An injector could not make its change (the lifecycle reverts what was recorded)."""
