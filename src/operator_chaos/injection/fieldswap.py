"""Faults that set one field of one object: record the original, set, and put it back only if
the field still holds what we wrote.

Used by DeploymentScaleZero, ConfigDrift, LabelStomping, CRDMutation, CrashLoopInject and
ImageCorrupt. A path may address a list item by a key (``containers[name=manager]``, written
``Item("name", "manager")``): the record keeps the key, never an index, and every read resolves
the index again, so an operator that reorders the list does not make us patch the wrong item.
The record holds the path, whether the field existed, its original value and the injected
value; revert compares the live value with the injected one, so a repair by the operator (or
anyone) is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from operator_chaos.api.v1alpha1 import PlannedChange
from operator_chaos.injection import targets
from operator_chaos.injection.base import InjectionParams, RecordData, TypeSpec
from operator_chaos.injection.protocol import Damage, Plan, RevertAction, Reverted, Scope
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef, StateView
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger


class Item(BaseModel):
    """A path element naming the list item whose ``key`` is ``value`` (``[name=manager]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    value: str

    def __str__(self) -> str:
        return f"[{self.key}={self.value}]"


Step = str | Item
Path = Sequence[Step]


def dotted(path: Path) -> str:
    """``spec.template.spec.containers[name=manager].image``."""
    text = ""
    for step in path:
        text += str(step) if isinstance(step, Item) else ("." if text else "") + step
    return text


def resolve(obj: RawObject, path: Path) -> list[str | int] | None:
    """``path`` with each :class:`Item` replaced by its current index, as far as the object
    has it (``None`` when a list item is missing: nothing to point at)."""
    node: Any = obj
    resolved: list[str | int] = []
    for step in path:
        if isinstance(step, Item):
            if not isinstance(node, list):
                return None
            index = _index(node, step)
            if index is None:
                return None
            resolved.append(index)
            node = node[index]
        else:
            resolved.append(step)
            node = node.get(step) if isinstance(node, dict) else None
    return resolved


def _index(items: list[Any], item: Item) -> int | None:
    """Where the item named by ``item`` is in ``items`` (the first match), if anywhere."""
    return next(
        (i for i, x in enumerate(items) if isinstance(x, dict) and x.get(item.key) == item.value),
        None,
    )


def pointer(path: Sequence[str | int]) -> str:
    """A JSON pointer (RFC 6901): ``/metadata/labels/app.kubernetes.io~1name``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def lookup(obj: RawObject, path: Path) -> tuple[bool, Any]:
    """``(present, value)`` of the field at ``path``."""
    node: Any = obj
    for step in path:
        if isinstance(step, Item):
            if not isinstance(node, list):
                return False, None
            index = _index(node, step)
            if index is None:
                return False, None
            node = node[index]
        else:
            if not isinstance(node, dict) or step not in node:
                return False, None
            node = node[step]
    return True, node


def describe(present: bool, value: Any, *, secret: bool = False) -> str:
    """How a field value reads in a plan, a log line or a report.

    A Secret's value is never shown: only its length and a short hash, enough to tell
    "changed" from "restored" without revealing anything.
    """
    if not present:
        return "unset"
    if secret:
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        return f"<secret value: {len(text)} chars, sha256 {digest}>"
    return repr(value)


def is_secret(ref: ResourceRef) -> bool:
    """Values of this object must never be printed."""
    return ref.kind == "Secret" and ref.api_version == "v1"


def change(
    ref: ResourceRef, obj: RawObject, path: Path, new: Any, *, remove: bool = False
) -> PlannedChange:
    """The plan line for setting (or removing) ``path``."""
    present, value = lookup(obj, path)
    secret = is_secret(ref)
    return PlannedChange(
        target=str(ref),
        field=dotted(path),
        before=describe(present, value, secret=secret),
        after="unset" if remove else describe(True, new, secret=secret),
    )


class FieldRecord(RecordData):
    """The rollback payload of a field fault."""

    path: list[str | Item]
    had_original: bool
    original: Any = None
    injected_present: bool
    injected: Any = None
    created_from: int | None = None
    """Depth of the first parent the injection created (removed again on revert)."""
    uid: str


@dataclass(frozen=True, slots=True)
class FieldState:
    """What ``plan`` saw: the object's uid, so ``inject`` never touches a replacement."""

    uid: str


class TargetGone(targets.InjectionRefused):
    """A list item the path names is not in the object."""


def _ops(obj: RawObject, path: Path, present: bool, value: Any) -> list[dict[str, Any]]:
    """JSON-patch ops setting ``path`` to ``value`` (or removing it), creating parents."""
    ops: list[dict[str, Any]] = []
    if not present:
        if lookup(obj, path)[0]:
            ops.append({"op": "remove", "path": pointer(_need(obj, path))})
        return ops
    resolved = _need(obj, path)
    ops.extend(
        {"op": "add", "path": pointer(resolved[:depth]), "value": {}}
        for depth in range(1, len(path))
        if not lookup(obj, path[:depth])[0]
    )
    ops.append({"op": "add", "path": pointer(resolved), "value": value})
    return ops


def _need(obj: RawObject, path: Path) -> list[str | int]:
    """``resolve`` for a path whose list items must exist (missing mappings keep their names:
    the ops before create them); a missing list item is refused."""
    resolved = resolve(obj, path)
    if resolved is None:
        raise TargetGone(f"{dotted(path)}: a list item it names is not in the object")
    return resolved


async def inject(
    kube: KubeClient,
    ledger: RunLedger,
    injection_type: str,
    ref: ResourceRef,
    uid: str,
    path: Path,
    new: Any,
    *,
    remove: bool = False,
) -> str:
    """Record the original value of ``path``, then set it (or remove it)."""
    obj = await kube.get(ref)
    if obj["metadata"]["uid"] != uid:
        raise targets.InjectionRefused(f"{ref} was replaced since planning; not touching it")
    _need(obj, path)  # a list item that vanished since planning: refuse before recording
    present, original = lookup(obj, path)
    missing_parents = [d for d in range(1, len(path)) if not lookup(obj, path[:d])[0]]
    data = FieldRecord(
        path=list(path),
        had_original=present,
        original=original,
        injected_present=not remove,
        injected=None if remove else new,
        created_from=missing_parents[0] if missing_parents and not remove else None,
        uid=uid,
    )
    record = await ledger.put(ledger.new_record(injection_type, ref, data))

    async def apply() -> None:
        current = await kube.get(ref)
        await targets.patch_unchanged(kube, ref, current, _ops(current, path, not remove, new))

    await targets.retry_stale(apply)
    await ledger.mark(record, "applied")
    secret = is_secret(ref)
    after = "removed" if remove else f"set to {describe(True, new, secret=secret)}"
    return f"{ref} {dotted(path)}: {describe(present, original, secret=secret)} -> {after}"


async def revert(kube: KubeClient, record: RollbackRecord) -> Reverted:
    """Put the original back if the field still holds the injected value."""
    ref = record.target.ref
    data = record.payload(FieldRecord)
    path = data.path
    secret = is_secret(ref)

    def outcome(action: RevertAction, detail: str = "") -> Reverted:
        return Reverted(target=str(ref), action=action, field=dotted(path), detail=detail)

    async def restore() -> Reverted:
        obj = await kube.get_or_none(ref)
        if obj is None:
            return outcome(RevertAction.GONE, "nothing to restore")
        if obj["metadata"]["uid"] != data.uid:
            return outcome(RevertAction.REPLACED, "a new object has the name; left alone")
        live = _state(*lookup(obj, path))
        original = _state(data.had_original, data.original)
        injected = _state(data.injected_present, data.injected)
        if live == original:
            return outcome(RevertAction.ALREADY, describe(*original, secret=secret))
        if live != injected:
            return outcome(
                RevertAction.LEFT, f"changed since the fault to {describe(*live, secret=secret)}"
            )
        ops = _ops(obj, path, original[0], original[1])
        if not original[0] and data.created_from is not None:
            # We created empty parents to hold the field; remove them again if nothing else
            # was put there since (the outermost one that holds only our field).
            for depth in range(data.created_from, len(path)):
                parent = lookup(obj, path[:depth])[1]
                if isinstance(parent, dict) and _only_child(parent, path[depth:]):
                    ops = [{"op": "remove", "path": pointer(_need(obj, path[:depth]))}]
                    break
        await targets.patch_unchanged(kube, ref, obj, ops)
        return outcome(RevertAction.RESTORED, describe(*original, secret=secret))

    return await targets.retry_stale(restore)


def _only_child(node: dict[str, Any], rest: Path) -> bool:
    """True when ``node`` holds nothing but the chain of fields ``rest``."""
    first = rest[0]
    if isinstance(first, Item) or list(node) != [first]:
        return False
    return len(rest) == 1 or (isinstance(node[first], dict) and _only_child(node[first], rest[1:]))


def _state(present: bool, value: Any) -> tuple[bool, Any]:
    """A field's presence and value, with absent fields compared equal whatever was stored."""
    return (present, value if present else None)


async def read_back(kube: KubeClient, ref: ResourceRef, path: Path) -> str:
    """For ``confirm``: the live value of the field."""
    obj = await kube.get_or_none(ref)
    if obj is None:
        return f"{ref} is gone"
    return f"{ref} {dotted(path)} is now {describe(*lookup(obj, path), secret=is_secret(ref))}"


def damage(record: RollbackRecord) -> Damage:
    """The field, restored when it holds its original value again (on the same object or
    on one the operator recreated under the same name).

    A Secret's key is also restored when the operator wrote a new value of its own: an
    operator that owns a credential (a webhook serving certificate, a token) regenerates it
    rather than bringing the old bytes back, and that is the repair.
    """
    ref = record.target.ref
    data = record.payload(FieldRecord)
    path = data.path
    original = _state(data.had_original, data.original)
    injected = _state(data.injected_present, data.injected)
    secret = is_secret(ref)

    def restored(view: StateView) -> tuple[bool, str]:
        obj = view.get(ref)
        if obj is None:
            return False, "object deleted"
        live = _state(*lookup(obj, path))
        recreated = " (recreated)" if obj["metadata"].get("uid") != data.uid else ""
        text = describe(*live, secret=secret) + recreated
        if secret and live[0] and live not in (original, injected):
            return True, text + " (regenerated by its owner)"
        return live == original, text

    return Damage(target=str(ref), field=dotted(path), watch=(ref,), restored=restored)


P = TypeVar("P", bound=InjectionParams)


class FieldFault(Generic[P]):
    """The whole fault behaviour for "set one field of one object"; a type says which object
    (:meth:`target`), which field (:meth:`field_path`) and what to write (:meth:`new_value`)."""

    spec: TypeSpec

    async def target(
        self, kube: KubeClient, params: P, scope: Scope
    ) -> tuple[ResourceRef, RawObject]:
        raise NotImplementedError

    def field_path(self, params: P) -> tuple[Step, ...]:
        raise NotImplementedError

    def new_value(self, params: P) -> Any:
        raise NotImplementedError

    def removes(self, params: P) -> bool:
        """True when the fault deletes the field instead of setting it."""
        return False

    def footprint(self, ref: ResourceRef, obj: RawObject) -> Footprint:
        return Footprint(targets=(ref,), namespaces=targets.namespaces_of(ref))

    async def plan(self, kube: KubeClient, params: P, scope: Scope) -> Plan[FieldState]:
        ref, obj = await self.target(kube, params, scope)
        path = self.field_path(params)
        _need(obj, path)  # a list item the path names must exist
        return Plan(
            footprint=self.footprint(ref, obj),
            changes=(change(ref, obj, path, self.new_value(params), remove=self.removes(params)),),
            state=FieldState(uid=obj["metadata"]["uid"]),
        )

    async def inject(
        self, kube: KubeClient, params: P, scope: Scope, plan: Plan[FieldState], ledger: RunLedger
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        line = await inject(
            kube,
            ledger,
            self.spec.injection_type,
            ref,
            plan.state.uid,
            self.field_path(params),
            self.new_value(params),
            remove=self.removes(params),
        )
        return [line]

    async def confirm(
        self, kube: KubeClient, params: P, scope: Scope, plan: Plan[FieldState]
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        return [await read_back(kube, ref, self.field_path(params))]

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted:
        return await revert(kube, record)

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        return [damage(record)]
