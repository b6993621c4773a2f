"""Revert every fault whose run is gone or whose TTL has passed, from the ledgers alone.

Knows nothing about fault types: each record names its type, and that type's injector's
``revert`` does the work. Safe to run any time and any number of times: a live run within
its TTL is left alone (unless ``--all``), and reverting twice is a no-op.

:func:`revert_record` is the one undo path for the run itself, the start-of-run sweep and
``clean``: an API server that is briefly unreachable does not leave a fault behind, because
the revert is retried with capped, jittered exponential back-off until the record expires.
A damaged ledger (edited or truncated) is reported and kept for a human, and never stops the
valid ledgers next to it from being reverted.
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from operator_chaos.errors import OperatorChaosError, RevertFailed
from operator_chaos.injection import registry
from operator_chaos.injection.protocol import Reverted
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, ResourceRef
from operator_chaos.safety import labels, lease, ledger

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_BASE = 0.5
"""Seconds before the first retry."""
BACKOFF_CAP = 8.0
"""No wait between two attempts is longer than this, however long the outage."""
MIN_RETRY_WINDOW = timedelta(seconds=30)
"""How long a record already past its TTL (found by ``clean`` after a crash) is retried."""
_TRANSIENT_REASONS = frozenset(
    {"TooManyRequests", "Timeout", "ServerTimeout", "ServiceUnavailable", "InternalError"}
)

Notify = Callable[[str], None]


@dataclass
class CleanReport:
    """What ``clean`` did."""

    reverted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed_ledgers: list[str] = field(default_factory=list)
    removed_leases: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    """Ledgers (or records) that failed their checksum or could not be parsed: kept as they are."""
    failed: list[str] = field(default_factory=list)
    """Records whose revert could not be confirmed: their ledger stays for the next ``clean``."""

    @property
    def ok(self) -> bool:
        """False when something is left for a human (exit 7)."""
        return not (self.damaged or self.failed)


# -- retrying ----------------------------------------------------------------------------------


def backoff_delay(attempt: int, *, rand: float | None = None) -> float:
    """Seconds to wait after failed attempt ``attempt`` (0-based): the exponential step,
    capped at :data:`BACKOFF_CAP`, then scaled by a jitter in [0.5, 1) so that several
    clients retrying after the same outage do not hit the API server in lock-step."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(attempt, 32))
    jitter = random.random() if rand is None else rand
    return step * (0.5 + jitter / 2)


def transient(exc: Exception) -> bool:
    """Errors a later attempt can get past: the server unreachable or overloaded, a race."""
    if isinstance(exc, kube_errors.Unreachable | kube_errors.ServerError):
        return True
    if isinstance(exc, kube_errors.Conflict):
        return not exc.already_exists
    if isinstance(exc, kube_errors.KubeError):
        return exc.reason in _TRANSIENT_REASONS or exc.status.get("code") == 429
    return False


def retry_until(expires_at: datetime, now: datetime | None = None) -> datetime:
    """Retry until the record expires, but never give up on an expired one without trying
    for :data:`MIN_RETRY_WINDOW`."""
    return max(expires_at, (now or datetime.now(UTC)) + MIN_RETRY_WINDOW)


async def with_retry(
    what: str,
    call: Callable[[], Awaitable[T]],
    *,
    until: datetime,
    notify: Notify | None = None,
) -> T:
    """``await call()``, retrying transient API errors with back-off until ``until``.

    The last error is re-raised when the next attempt would start after ``until``.
    """
    attempt = 0
    while True:
        try:
            return await call()
        except kube_errors.KubeError as exc:
            if not transient(exc):
                raise
            delay = backoff_delay(attempt)
            left = (until - datetime.now(UTC)).total_seconds()
            if left < delay:
                raise
            attempt += 1
            message = f"{what}: attempt {attempt} failed ({exc}); retrying in {delay:.1f}s"
            if notify is not None:
                notify(message)
            else:
                log.warning("%s", message)
            await asyncio.sleep(delay)


async def revert_record(
    kube: KubeClient,
    record: ledger.RollbackRecord,
    *,
    until: datetime,
    notify: Notify | None = None,
) -> Reverted:
    """Undo one recorded change, retrying through API outages until ``until``.

    The record's payload is validated against its type's ``TypeSpec.record`` first: a payload
    this version cannot read is refused rather than reverted with wrong data. Raises
    :class:`RevertFailed` (naming the object and the last cause) when the revert could not
    be confirmed; the caller keeps the record for ``clean``.
    """
    injector = registry.injector_for(record.type)
    record.payload(injector.spec.record)
    try:
        return await with_retry(
            f"revert {record.type} on {record.target.ref}",
            lambda: injector.revert(kube, record),
            until=until,
            notify=notify,
        )
    except kube_errors.KubeError as exc:
        raise RevertFailed(
            f"could not revert {record.type} on {record.target.ref}"
            f" (tried until {until:%H:%M:%S} UTC): {exc}"
        ) from exc


# -- clean -------------------------------------------------------------------------------------


async def _alive(kube: KubeClient, run: ledger.RunLedger) -> bool:
    same_host = run.info.owner.alive()
    if same_host is not None:
        return same_host
    if not run.info.lease:
        return False
    current = await kube.get_or_none(
        ResourceRef("coordination.k8s.io/v1", "Lease", run.info.lease, run.namespace)
    )
    if current is None:
        return False
    holder = (current.get("spec") or {}).get("holderIdentity")
    return holder == run.info.run_id and not lease.expired(current)


async def clean(
    kube: KubeClient,
    namespace: str,
    *,
    everything: bool = False,
    notify: Notify | None = None,
) -> CleanReport:
    """Revert stale runs (or all runs with ``everything``) and remove their ledgers.

    A damaged ledger is reported in ``damaged`` and kept; its valid records are reverted
    when its run is gone. A revert that cannot be confirmed is reported in ``failed`` and
    its ledger kept; every other ledger is still reverted.
    """
    report = CleanReport()
    now = datetime.now(UTC)
    running: set[str] = set()
    for scanned in await ledger.RunLedger.scan_all(kube, namespace):
        run = scanned.ledger
        where = f"{namespace}/{scanned.name}"
        report.damaged.extend(
            f"{where}: {problem}; kept for inspection (revert by hand, then delete it)"
            for problem in scanned.damaged
        )
        if run is None:
            continue
        pending = [r for r in run.records.values() if r.state != "reverted"]
        expired = any(r.expires_at < now for r in pending)
        if not everything and not expired and await _alive(kube, run):
            report.skipped.append(f"run {run.info.run_id} ({run.info.experiment}) is still running")
            running.add(run.info.run_id)
            continue
        failures = 0
        for record in pending:
            try:
                outcome = await revert_record(
                    kube, record, until=retry_until(record.expires_at, now), notify=notify
                )
            except (RevertFailed, kube_errors.KubeError) as exc:
                failures += 1
                report.failed.append(f"{run.info.experiment}: {exc}; ledger {where} kept")
                continue
            report.reverted.append(f"{run.info.experiment}: {outcome.line}")
            with contextlib.suppress(kube_errors.KubeError, OperatorChaosError):
                await _mark_reverted(run, record, outcome.line, until=now + MIN_RETRY_WINDOW)
        if failures or scanned.damaged:
            running.add(run.info.run_id)  # its lease stays with its ledger
            continue
        await run.delete()
        report.removed_ledgers.append(where)
        if run.info.lease:
            ref = ResourceRef("coordination.k8s.io/v1", "Lease", run.info.lease, namespace)
            current = await kube.get_or_none(ref)
            if current and (current.get("spec") or {}).get("holderIdentity") == run.info.run_id:
                await kube.delete(ref, uid=current["metadata"]["uid"])
                report.removed_leases.append(
                    f"{namespace}/{run.info.lease} (held by run {run.info.run_id})"
                )
    await _remove_abandoned_leases(kube, namespace, running, report)
    return report


async def _mark_reverted(
    run: ledger.RunLedger, record: ledger.RollbackRecord, outcome: str, *, until: datetime
) -> None:
    """Record the revert (a ledger left behind because this failed is reverted again: no-op)."""

    async def mark() -> None:
        await run.mark(record, "reverted", outcome)

    await with_retry(f"mark {run.name} record {record.id} reverted", mark, until=until)


async def _remove_abandoned_leases(
    kube: KubeClient, namespace: str, running: set[str], report: CleanReport
) -> None:
    """Delete target leases whose holder is gone but left no ledger behind.

    A run holds its lease before it writes a ledger and after it deletes it (it is killed
    while observing, say): without this, the dead run's lease would lock its target until it
    expires, and ``clean`` would report nothing to clean.
    """
    try:
        listed = await kube.list(
            "coordination.k8s.io/v1",
            "Lease",
            namespace,
            label_selector=f"{labels.MANAGED_BY}={labels.MANAGED_BY_VALUE},{labels.ROLE}=lease",
        )
    except kube_errors.NotFound:
        return
    for current in listed.items:
        meta = current["metadata"]
        holder = (current.get("spec") or {}).get("holderIdentity") or ""
        if holder in running or not lease.abandoned(current):
            continue
        ref = ResourceRef("coordination.k8s.io/v1", "Lease", meta["name"], namespace)
        # Preconditions: a run that took the lease over in the meantime keeps it.
        with contextlib.suppress(kube_errors.Conflict):
            deleted = await kube.delete(
                ref, uid=meta["uid"], resource_version=meta["resourceVersion"]
            )
            if deleted is not None:
                report.removed_leases.append(
                    f"{namespace}/{meta['name']} (held by run {holder or '-'}, which is gone)"
                )


async def sweep(kube: KubeClient, namespace: str) -> list[str]:
    """The start-of-run sweep: revert what dead or expired runs left behind.

    A damaged ledger only earns a warning here: it must not stop an experiment on another
    target (``clean`` reports it with exit 7). A stale fault that cannot be reverted does
    stop the run (:class:`RevertFailed`): it would distort what the experiment observes.
    """
    report = await clean(kube, namespace)
    for line in report.damaged:
        log.warning("damaged rollback ledger left alone: %s", line)
    if report.failed:
        raise RevertFailed(
            "a stale fault left by an earlier run could not be reverted: "
            + "; ".join(report.failed)
            + "; run `operator-chaos clean`"
        )
    return report.reverted
