"""A Lease per target: at most one experiment touches an operator component at a time.

The Lease lives in the tool namespace, named after the target. ``acquire`` fails fast with
:class:`~operator_chaos.errors.TargetLocked` when another run holds an unexpired lease; an
expired lease (its holder crashed) is taken over with a resourceVersion precondition, so two
runs racing for it cannot both win. While held it is renewed in the background; the renewals
are also how another machine can tell that the run is alive.
"""

import asyncio
import contextlib
import hashlib
import logging
import re
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
                "leaseDurationSeconds": DURATION_SECONDS,
                "acquireTime": _micro_time(now),
                "renewTime": _micro_time(now),
            },
        }

    async def acquire(self) -> None:
        """Take the lease or raise :class:`TargetLocked`; then keep renewing it."""
        now = datetime.now(UTC)
        body = self._body(now)
        try:
            await create_in_tool_namespace(self.kube, body)
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
                await self.kube.replace(body)
            except kube_errors.Conflict:
                raise TargetLocked(
                    f"another run took Lease {self.namespace}/{self.name} at the same moment"
                ) from None
        self._task = asyncio.create_task(self._renew_forever(), name=f"lease-{self.name}")

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
        current = await self.kube.get_or_none(self.ref)
        if current is not None and (current.get("spec") or {}).get("holderIdentity") == self.holder:
            await self.kube.delete(self.ref, uid=current["metadata"]["uid"])
