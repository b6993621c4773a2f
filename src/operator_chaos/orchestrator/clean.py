"""Revert every fault whose run is gone or whose TTL has passed, from the ledgers alone.

Knows nothing about fault types: each record names its type, and that type's injector's
``revert`` does the work. Safe to run any time and any number of times: a live run within
its TTL is left alone (unless ``--all``), and reverting twice is a no-op.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from operator_chaos.injection import registry
from operator_chaos.kube.port import KubeClient, ResourceRef
from operator_chaos.safety import lease, ledger


@dataclass
class CleanReport:
    """What ``clean`` did."""

    reverted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed_ledgers: list[str] = field(default_factory=list)


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
    for run in await ledger.RunLedger.list_all(kube, namespace):
        pending = [r for r in run.records.values() if r.state != "reverted"]
        expired = any(r.expires_at < now for r in pending)
        if not everything and not expired and await _alive(kube, run):
            report.skipped.append(f"run {run.info.run_id} ({run.info.experiment}) is still running")
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
    return report


async def sweep(kube: KubeClient, namespace: str) -> list[str]:
    """The start-of-run sweep: revert what dead or expired runs left behind."""
    return (await clean(kube, namespace)).reverted
