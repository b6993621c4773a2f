"""Faults that set one field of one object: record the original, set, and put it back only if
the field still holds what we wrote.

Used by DeploymentScaleZero, ConfigDrift, LabelStomping and CRDMutation. The record holds the
field's path, whether it existed, its original value and the injected value; revert compares the
live value with the injected one, so a repair by the operator (or anyone) is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from operator_chaos.api.v1alpha1 import PlannedChange
from operator_chaos.injection import targets
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.protocol import Damage, Plan, Scope
from operator_chaos.kube.port import KubeClient, PatchType, RawObject, ResourceRef, StateView
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger

Path = Sequence[str]


def pointer(path: Path) -> str:
    """A JSON pointer (RFC 6901) for ``path``: ``/metadata/labels/app.kubernetes.io~1name``."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path)


def lookup(obj: RawObject, path: Path) -> tuple[bool, Any]:
    """``(present, value)`` of the field at ``path``."""
    node: Any = obj
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
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
        field=".".join(path),
        before=describe(present, value, secret=secret),
        after="unset" if remove else describe(True, new, secret=secret),
    )


def _ops(obj: RawObject, path: Path, present: bool, value: Any) -> list[dict[str, Any]]:
    """JSON-patch ops setting ``path`` to ``value`` (or removing it), creating parents."""
    ops: list[dict[str, Any]] = [
        {
            "op": "test",
            "path": "/metadata/resourceVersion",
            "value": obj["metadata"]["resourceVersion"],
        }
    ]
    if not present:
        if lookup(obj, path)[0]:
            ops.append({"op": "remove", "path": pointer(path)})
        return ops
    ops.extend(
        {"op": "add", "path": pointer(path[:depth]), "value": {}}
        for depth in range(1, len(path))
        if not lookup(obj, path[:depth])[0]
    )
    ops.append({"op": "add", "path": pointer(path), "value": value})
    return ops


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
    present, original = lookup(obj, path)
    missing_parents = [d for d in range(1, len(path)) if not lookup(obj, path[:d])[0]]
    record = await ledger.put(
        ledger.new_record(
            injection_type,
            ref,
            {
                "path": list(path),
                "hadOriginal": present,
                "original": original,
                "injectedPresent": not remove,
                "injected": None if remove else new,
                "createdFrom": missing_parents[0] if missing_parents and not remove else None,
                "uid": uid,
            },
        )
    )

    async def apply() -> None:
        current = await kube.get(ref)
        await kube.patch(ref, _ops(current, path, not remove, new), PatchType.JSON)

    await targets.retry_stale(apply)
    await ledger.mark(record, "applied")
    secret = is_secret(ref)
    after = "removed" if remove else f"set to {describe(True, new, secret=secret)}"
    return f"{ref} {'.'.join(path)}: {describe(present, original, secret=secret)} -> {after}"


async def revert(kube: KubeClient, record: RollbackRecord) -> str:
    """Put the original back if the field still holds the injected value."""
    ref = record.target.ref
    data = record.data
    path = [str(p) for p in data["path"]]
    field_name = ".".join(path)
    secret = is_secret(ref)

    async def restore() -> str:
        obj = await kube.get_or_none(ref)
        if obj is None:
            return f"{ref}: gone; nothing to restore"
        if obj["metadata"]["uid"] != data.get("uid"):
            return f"{ref}: replaced by a new object; leaving it alone"
        live = _state(*lookup(obj, path))
        original = _state(bool(data["hadOriginal"]), data.get("original"))
        injected = _state(bool(data["injectedPresent"]), data.get("injected"))
        if live == original:
            return f"{ref} {field_name}: already {describe(*original, secret=secret)}"
        if live != injected:
            return (
                f"{ref} {field_name}: changed since the fault"
                f" (now {describe(*live, secret=secret)}); left as it is"
            )
        ops = _ops(obj, path, original[0], original[1])
        created = data.get("createdFrom")
        if not original[0] and created is not None:
            # We created empty parents to hold the field; remove them again if nothing else
            # was put there since (the outermost one that holds only our field).
            for depth in range(int(created), len(path)):
                parent = lookup(obj, path[:depth])[1]
                if isinstance(parent, dict) and _only_child(parent, path[depth:]):
                    ops = [ops[0], {"op": "remove", "path": pointer(path[:depth])}]
                    break
        await kube.patch(ref, ops, PatchType.JSON)
        return f"{ref} {field_name}: restored {describe(*original, secret=secret)}"

    return await targets.retry_stale(restore)


def _only_child(node: dict[str, Any], rest: Path) -> bool:
    """True when ``node`` holds nothing but the chain of fields ``rest``."""
    if list(node) != [rest[0]]:
        return False
    return len(rest) == 1 or (
        isinstance(node[rest[0]], dict) and _only_child(node[rest[0]], rest[1:])
    )


def _state(present: bool, value: Any) -> tuple[bool, Any]:
    """A field's presence and value, with absent fields compared equal whatever was stored."""
    return (present, value if present else None)


async def read_back(kube: KubeClient, ref: ResourceRef, path: Path) -> str:
    """For ``confirm``: the live value of the field."""
    obj = await kube.get_or_none(ref)
    if obj is None:
        return f"{ref} is gone"
    return f"{ref} {'.'.join(path)} is now {describe(*lookup(obj, path), secret=is_secret(ref))}"


def damage(record: RollbackRecord) -> Damage:
    """The field, restored when it holds its original value again (on the same object or
    on one the operator recreated under the same name)."""
    ref = record.target.ref
    data = record.data
    path = [str(p) for p in data["path"]]
    original = _state(bool(data["hadOriginal"]), data.get("original"))
    secret = is_secret(ref)

    def restored(view: StateView) -> tuple[bool, str]:
        obj = view.get(ref)
        if obj is None:
            return False, "object deleted"
        live = _state(*lookup(obj, path))
        recreated = " (recreated)" if obj["metadata"].get("uid") != data.get("uid") else ""
        text = describe(*live, secret=secret) + recreated
        return live == original, text

    return Damage(target=str(ref), field=".".join(path), watch=(ref,), restored=restored)


class FieldFault:
    """The whole fault behaviour for "set one field of one object"; a type says which object
    (:meth:`target`), which field (:meth:`field_path`) and what to write (:meth:`new_value`)."""

    spec: TypeSpec
    verbs: tuple[str, ...] = ("get", "patch")  # on the target's resource; `preflight` checks

    async def target(
        self, kube: KubeClient, params: InjectionParams, scope: Scope
    ) -> tuple[ResourceRef, RawObject]:
        raise NotImplementedError

    def field_path(self, params: InjectionParams) -> tuple[str, ...]:
        raise NotImplementedError

    def new_value(self, params: InjectionParams) -> Any:
        raise NotImplementedError

    def removes(self, params: InjectionParams) -> bool:
        """True when the fault deletes the field instead of setting it."""
        return False

    def footprint(self, ref: ResourceRef, obj: RawObject) -> Footprint:
        return Footprint(targets=(ref,), namespaces=targets.namespaces_of(ref))

    async def plan(self, kube: KubeClient, params: InjectionParams, scope: Scope) -> Plan:
        ref, obj = await self.target(kube, params, scope)
        path = self.field_path(params)
        return Plan(
            footprint=self.footprint(ref, obj),
            changes=(change(ref, obj, path, self.new_value(params), remove=self.removes(params)),),
            state={"uid": obj["metadata"]["uid"]},
        )

    async def inject(
        self, kube: KubeClient, params: InjectionParams, scope: Scope, plan: Plan, ledger: RunLedger
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        line = await inject(
            kube,
            ledger,
            self.spec.injection_type,
            ref,
            plan.state["uid"],
            self.field_path(params),
            self.new_value(params),
            remove=self.removes(params),
        )
        return [line]

    async def confirm(
        self, kube: KubeClient, params: InjectionParams, scope: Scope, plan: Plan
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        return [await read_back(kube, ref, self.field_path(params))]

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> str:
        return await revert(kube, record)

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        return [damage(record)]
