"""Revert every fault whose run is gone or whose TTL has passed, from the ledgers alone.

Knows nothing about fault types: each record names its type, and that type's injector's
``revert`` does the work. Safe to run any time and any number of times: a live run within
its TTL is left alone (unless ``--all``), and reverting twice is a no-op.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from operator_chaos.injection import registry
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, ResourceRef
from operator_chaos.safety import labels, lease, ledger


@dataclass
class CleanReport:
    """What ``clean`` did."""

    reverted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed_ledgers: list[str] = field(default_factory=list)
    removed_leases: list[str] = field(default_factory=list)


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


async def clean(kube: KubeClient, namespace: str, *, everything: bool = False) -> CleanReport:
    """Revert stale runs (or all runs with ``everything``) and remove their ledgers."""
    report = CleanReport()
    now = datetime.now(UTC)
    running: set[str] = set()
    for run in await ledger.RunLedger.list_all(kube, namespace):
        pending = [r for r in run.records.values() if r.state != "reverted"]
        expired = any(r.expires_at < now for r in pending)
        if not everything and not expired and await _alive(kube, run):
            report.skipped.append(f"run {run.info.run_id} ({run.info.experiment}) is still running")
            running.add(run.info.run_id)
            continue
        for record in pending:
            outcome = await registry.injector_for(record.type).revert(kube, record)
            await run.mark(record, "reverted", outcome)
            report.reverted.append(f"{run.info.experiment}: {outcome}")
        await run.delete()
        report.removed_ledgers.append(f"{namespace}/{run.name}")
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
    """The start-of-run sweep: revert what dead or expired runs left behind."""
    return (await clean(kube, namespace)).reverted
