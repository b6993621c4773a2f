"""Leases that keep two experiments apart: one per operator component, one per touched object.

The Lease lives in the tool namespace, named after the target. ``acquire`` fails fast with
:class:`~operator_chaos.errors.TargetLocked` when another run holds an unexpired lease; an
expired lease (its holder crashed) is taken over with a resourceVersion precondition, so two
runs racing for it cannot both win. While held it is renewed in the background; the renewals
are also how another machine can tell that the run is alive.

Two experiments naming different components can still touch the same object (two ConfigDrift
faults on one key): then the second would record the first one's injected value as the
"original". :func:`acquire_footprint` closes that gap with one Lease per touched object.
"""

import asyncio
import contextlib
import hashlib
import logging
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from operator_chaos.errors import TargetLocked
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.safety import labels
from operator_chaos.safety.ledger import create_in_tool_namespace
from operator_chaos.safety.owner import Owner

log = logging.getLogger(__name__)
DURATION_SECONDS = 15
RENEW_EVERY = 5.0
OWNER = f"{labels.PREFIX}/owner"
"""Annotation holding the holder process (host, pid, start time) as JSON."""


def lease_name(operator: str, component: str) -> str:
    """``chaos-lock-<operator>-<component>`` made DNS-safe, with a hash when shortened."""
    raw = f"{operator}-{component}".lower()
    slug = re.sub(r"[^a-z0-9-]+", "-", raw).strip("-")
    if len(slug) > 40:
        slug = slug[:40].rstrip("-") + "-" + hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"chaos-lock-{slug}"


def _micro_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def expired(lease: RawObject, now: datetime | None = None) -> bool:
    """True when the holder stopped renewing (or released) the lease."""
    spec = lease.get("spec") or {}
    if not spec.get("holderIdentity"):
        return True
    renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
    if renewed is None:
        return True
    duration = timedelta(seconds=int(spec.get("leaseDurationSeconds") or DURATION_SECONDS))
    return renewed + duration < (now or datetime.now(UTC))


def owner_of(lease: RawObject) -> Owner | None:
    """The process that holds the lease, when it recorded itself (see :data:`OWNER`)."""
    raw = ((lease.get("metadata") or {}).get("annotations") or {}).get(OWNER)
    if not raw:
        return None
    try:
        return Owner.model_validate_json(raw)
    except ValueError:
        return None


def abandoned(lease: RawObject, now: datetime | None = None) -> bool:
    """True when nobody holds the lease any more: it expired, or its holder process on this
    host is dead (a SIGKILLed run stops renewing, but expiry would take up to 15 s)."""
    if expired(lease, now):
        return True
    owner = owner_of(lease)
    return owner is not None and owner.alive() is False


class TargetLease:
    """The lock one run holds on one target."""

    def __init__(self, kube: KubeClient, namespace: str, name: str, holder: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.holder = holder
        self._task: asyncio.Task[None] | None = None
        self._version: str | None = None
        self._duration = DURATION_SECONDS

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef("coordination.k8s.io/v1", "Lease", self.name, self.namespace)

    def _body(self, now: datetime) -> RawObject:
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": labels.managed(self.holder, "lease"),
                "annotations": {OWNER: Owner.current().model_dump_json()},
            },
            "spec": {
                "holderIdentity": self.holder,
                "leaseDurationSeconds": self._duration,
                "acquireTime": _micro_time(now),
                "renewTime": _micro_time(now),
            },
        }

    async def acquire(self, until: datetime | None = None) -> None:
        """Take the lease or raise :class:`TargetLocked`.

        With ``until`` (the latest moment the run can still be working), the lease lasts that
        long and is never renewed: one request to take it, one to drop it. A crashed run on
        this host is detected by its pid; elsewhere the lease expires at ``until``, the same
        moment its faults' records do. Without ``until`` it is renewed every few seconds.
        """
        now = datetime.now(UTC)
        if until is not None:
            margin = FOOTPRINT_MARGIN.total_seconds()
            self._duration = max(1, math.ceil((until - now).total_seconds() + margin))
        body = self._body(now)
        try:
            created = await create_in_tool_namespace(self.kube, body)
        except kube_errors.Conflict:
            current = await self.kube.get(self.ref)
            holder = (current.get("spec") or {}).get("holderIdentity")
            if not expired(current, now) and holder != self.holder:
                raise TargetLocked(
                    f"target is locked by run {holder} (Lease {self.namespace}/{self.name});"
                    " wait for it to finish, or run `operator-chaos clean` if that run crashed"
                ) from None
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            try:
                created = await self.kube.replace(body)
            except kube_errors.Conflict:
                raise TargetLocked(
                    f"another run took Lease {self.namespace}/{self.name} at the same moment"
                ) from None
        if until is None:
            self._task = asyncio.create_task(self._renew_forever(), name=f"lease-{self.name}")
        else:
            self._version = created["metadata"]["resourceVersion"]

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            try:
                await self.kube.patch(
                    self.ref, {"spec": {"renewTime": _micro_time(datetime.now(UTC))}}
                )
            except kube_errors.KubeError as exc:  # keep trying; the run decides what to do
                log.warning("renewing Lease %s failed: %s", self.name, exc)

    async def release(self) -> None:
        """Stop renewing and delete the lease (only if we still hold it)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._version is not None:
            # Nothing renewed it: unchanged since we took it, unless another run took it over
            # (then the precondition fails and it stays theirs).
            with contextlib.suppress(kube_errors.Conflict, kube_errors.NotFound):
                await self.kube.delete(self.ref, resource_version=self._version)
            self._version = None
            return
        current = await self.kube.get_or_none(self.ref)
        if current is not None and (current.get("spec") or {}).get("holderIdentity") == self.holder:
            await self.kube.delete(self.ref, uid=current["metadata"]["uid"])


# -- footprint locks: one Lease per object a run touches ------------------------------------

OBJECT = f"{labels.PREFIX}/object"
"""Annotation on a footprint lock: the locked object, readable (``Kind ns/name``)."""
HOLDER = f"{labels.PREFIX}/holder-run"
"""Annotation on a footprint lock: the run that holds it."""
FOOTPRINT_MARGIN = timedelta(seconds=30)


def object_key(ref: ResourceRef) -> str:
    """``apiVersion/kind/namespace/name``: what a footprint lock is named after."""
    return f"{ref.api_version}/{ref.kind}/{ref.namespace or ''}/{ref.name}"


def footprint_lock_name(ref: ResourceRef) -> str:
    """``chaos-lock-<12 hex>``: the same object always maps to the same Lease, whichever
    component an experiment names, so two runs touching it cannot both hold it."""
    return "chaos-lock-" + hashlib.sha256(object_key(ref).encode()).hexdigest()[:12]


def lock_order(refs: Iterable[ResourceRef]) -> list[tuple[str, ResourceRef]]:
    """Distinct objects with their lock names, in the one order every run takes them in
    (sorted by name), so two runs wanting overlapping sets cannot deadlock half-way."""
    named = {footprint_lock_name(ref): ref for ref in refs}
    return sorted(named.items())


class FootprintLock:
    """The Leases one run holds on the objects it touches; :meth:`release` drops them all."""

    def __init__(self, kube: KubeClient, namespace: str, run_id: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.run_id = run_id
        self.held: dict[str, str] = {}  # lease name -> our resourceVersion (delete precondition)

    def _ref(self, name: str) -> ResourceRef:
        return ResourceRef("coordination.k8s.io/v1", "Lease", name, self.namespace)

    def _body(self, name: str, target: ResourceRef, now: datetime, until: datetime) -> RawObject:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": labels.managed(self.run_id, "lease"),
                "annotations": {
                    OWNER: Owner.current().model_dump_json(),
                    OBJECT: str(target),
                    HOLDER: self.run_id,
                },
            },
            "spec": {
                "holderIdentity": self.run_id,
                "leaseDurationSeconds": seconds,
                "acquireTime": _micro_time(now),
                "renewTime": _micro_time(now),
            },
        }

    async def _take(self, name: str, target: ResourceRef, until: datetime) -> None:
        now = datetime.now(UTC)
        body = self._body(name, target, now, until)
        try:
            created = await create_in_tool_namespace(self.kube, body)
        except kube_errors.Conflict:
            current = await self.kube.get(self._ref(name))
            holder = (current.get("spec") or {}).get("holderIdentity") or ""
            if holder != self.run_id and not abandoned(current, now):
                raise TargetLocked(_locked_message(current, target, self.namespace)) from None
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            try:
                created = await self.kube.replace(body)
            except kube_errors.Conflict:
                raise TargetLocked(
                    f"{target} is being locked by another run at the same moment"
                    f" (Lease {self.namespace}/{name}); try again"
                ) from None
        self.held[name] = created["metadata"]["resourceVersion"]

    async def release(self) -> None:
        """Delete every Lease still held: one request each, with a resourceVersion
        precondition (nothing renews them), so a Lease another run took over after ours
        expired is left alone."""
        for name, version in sorted(self.held.items(), reverse=True):
            with contextlib.suppress(kube_errors.Conflict, kube_errors.NotFound):
                await self.kube.delete(self._ref(name), resource_version=version)
            del self.held[name]


def _locked_message(current: RawObject, target: ResourceRef, namespace: str) -> str:
    meta = current.get("metadata") or {}
    holder = (current.get("spec") or {}).get("holderIdentity") or "?"
    what = (meta.get("annotations") or {}).get(OBJECT) or str(target)
    return (
        f"{what} is locked by run {holder} (Lease {namespace}/{meta.get('name', '?')}):"
        " another experiment is changing it; wait for that run to finish, or run"
        " `operator-chaos clean` if it crashed"
    )


async def acquire_footprint(
    kube: KubeClient,
    namespace: str,
    refs: Iterable[ResourceRef],
    run_id: str,
    *,
    until: datetime,
) -> FootprintLock:
    """Lock every object in ``refs`` for ``run_id`` until ``until``, all or nothing.

    One Lease per object, taken in :func:`lock_order`; on the first one held by a live run,
    the ones already taken are released and :class:`TargetLocked` names the holder and the
    object. The Lease lasts until ``until`` (plus a margin), so nothing needs renewing: pass
    the latest moment the run can still be working on the objects (its fault expiry plus the
    recovery timeout). A holder that is dead (same host) or expired is taken over.
    """
    lock = FootprintLock(kube, namespace, run_id)
    try:
        for name, ref in lock_order(refs):
            await lock._take(name, ref, until + FOOTPRINT_MARGIN)
    except BaseException:
        await asyncio.shield(lock.release())
        raise
    return lock
