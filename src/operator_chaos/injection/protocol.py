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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from operator_chaos.errors import OperatorChaosError

if TYPE_CHECKING:  # annotations only: `validate` imports the fault modules and must start fast
    from operator_chaos.api.v1alpha1 import PlannedChange
    from operator_chaos.injection.base import TypeSpec
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


S = TypeVar("S")
"""A type's own plan state (what ``plan`` learned and ``inject`` needs)."""


@dataclass(frozen=True, slots=True)
class Plan(Generic[S]):
    """What ``inject`` will do: the footprint for the gate and the changes for the audit."""

    footprint: Footprint
    changes: tuple[PlannedChange, ...]
    state: S
    """Private to the injector that made the plan, typed by it (``None`` when it needs none)."""
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


class RevertAction(StrEnum):
    """What a revert found and did: facts for the report and the verdict, not prose."""

    RESTORED = "restored"
    """The tool put the original back (the fault was still in place)."""
    ALREADY = "already"
    """The state was already back to the original (repaired by the operator or someone)."""
    LEFT = "left"
    """Somebody changed the state since the fault to something else: their change stands."""
    GONE = "gone"
    """The object no longer exists, so there is nothing to restore."""
    REPLACED = "replaced"
    """A new object (another uid) took the name: it is not ours to change."""
    REMOVED = "removed"
    """An object the fault created was deleted (a NetworkPolicy, a quota, a webhook...)."""
    RECREATED = "recreated"
    """An object the fault deleted was created again from the backup."""


@dataclass(frozen=True, slots=True)
class Reverted:
    """The structured outcome of one ``revert``: the target, what was done, and a short
    detail that never holds a Secret value."""

    target: str
    action: RevertAction
    field: str = ""
    detail: str = ""

    @property
    def line(self) -> str:
        """One log/report line: ``apps/v1 Deployment ns/x spec.replicas: restored 1``."""
        where = f"{self.target} {self.field}" if self.field else self.target
        return f"{where}: {self.action.value}" + (f" {self.detail}" if self.detail else "")

    @property
    def by_tool(self) -> bool:
        """True when this revert itself changed the cluster back."""
        return self.action in (RevertAction.RESTORED, RevertAction.REMOVED, RevertAction.RECREATED)


P = TypeVar("P", contravariant=True)


class Injector(Protocol[P]):
    """One fault type's behaviour over its own ``Params`` (static facts: :class:`TypeSpec`).

    ``plan`` returns a :class:`Plan` whose ``state`` only this injector reads back; records
    hold the type's ``TypeSpec.record`` payload, validated before every revert.
    """

    @property
    def spec(self) -> TypeSpec: ...

    async def plan(self, kube: KubeClient, params: P, scope: Scope) -> Plan[Any]: ...

    async def inject(
        self, kube: KubeClient, params: P, scope: Scope, plan: Plan[Any], ledger: RunLedger
    ) -> Sequence[str]: ...

    async def confirm(
        self, kube: KubeClient, params: P, scope: Scope, plan: Plan[Any]
    ) -> Sequence[str]: ...

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted: ...

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        """What ``record``'s change broke, as lanes to watch until it is restored."""
        ...


class InjectionFailed(OperatorChaosError):
    """An injector could not make its change (the lifecycle reverts what was recorded)."""
