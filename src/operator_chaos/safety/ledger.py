"""The rollback ledger: how to undo every fault, stored on the cluster before the fault exists.

One ConfigMap per run (``chaos-run-<run-id>``) in the tool's own namespace, where the target's
operator never writes. It holds ``run.json`` (who runs it, until when, under which lease) and
one ``record-<id>.json`` per change. A record is written *before* its change is made (state
``pending``), is marked ``applied`` after it, and ``reverted`` once undone; ``revert`` treats a
pending record as possibly applied, so a crash between the two writes is harmless.

Each record carries a SHA-256 of its canonical JSON: a record edited by hand or truncated is
refused loudly instead of being "reverted" with wrong data.
"""

import contextlib
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from operator_chaos.errors import RevertFailed
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.safety import labels
from operator_chaos.safety.owner import Owner

MAX_RECORD_BYTES = 200 * 1024
RecordState = Literal["pending", "applied", "reverted"]
STATE_ORDER: dict[str, int] = {"pending": 0, "applied": 1, "reverted": 2}
"""A record only moves forward: of two copies, the one further along is the newer."""


def new_run_id() -> str:
    """A sortable, DNS-safe run id: ``20261125-140512-3f9a``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


class Target(BaseModel):
    """The object a record changes."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    @classmethod
    def of(cls, ref: ResourceRef) -> "Target":
        return cls(
            api_version=ref.api_version, kind=ref.kind, name=ref.name, namespace=ref.namespace
        )

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.api_version, self.kind, self.name, self.namespace)


class RollbackRecord(BaseModel):
    """How to undo one change. ``data`` is the injector's own typed payload, as JSON."""

    version: int = 1
    id: str
    type: str
    target: Target
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    expires_at: datetime
    state: RecordState = "pending"
    outcome: str = ""
    checksum: str = ""

    def sealed(self) -> "RollbackRecord":
        """A copy with the checksum filled in."""
        return self.model_copy(update={"checksum": _digest(self)})

    def verify(self, where: str) -> None:
        """Raise :class:`RevertFailed` when the checksum does not match the content."""
        if self.checksum != _digest(self):
            raise RevertFailed(
                f"rollback record {where}: checksum mismatch (edited or truncated);"
                " inspect it and revert by hand, then delete the ledger ConfigMap"
            )


def _digest(record: RollbackRecord) -> str:
    body = record.model_dump(mode="json", exclude={"checksum", "state", "outcome"})
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class RunInfo(BaseModel):
    """Who owns a run and how long its faults may live."""

    run_id: str
    experiment: str
    operator: str = ""
    component: str = ""
    owner: Owner
    lease: str = ""
    started_at: datetime
    expires_at: datetime


class RunLedger:
    """Reads and writes one run's ledger ConfigMap."""

    def __init__(self, kube: KubeClient, namespace: str, info: RunInfo) -> None:
        self.kube = kube
        self.namespace = namespace
        self.info = info
        self.records: dict[str, RollbackRecord] = {}
        self.revert_failed = False
        """Set once a revert of this run could not be confirmed: later tries are single shots."""
        self.deleted = False
        """Set once this run deleted its ledger with every record reverted: nothing is left."""

    @property
    def name(self) -> str:
        return f"chaos-run-{self.info.run_id}"

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef("v1", "ConfigMap", self.name, self.namespace)

    def _configmap(self, data: dict[str, str]) -> RawObject:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": labels.managed(
                    self.info.run_id, "ledger", **{labels.EXPERIMENT: self.info.experiment[:63]}
                ),
            },
            "data": data,
        }

    async def create(self) -> None:
        """Create the ledger (and the tool namespace on first use)."""
        await create_in_tool_namespace(
            self.kube, self._configmap({"run.json": self.info.model_dump_json()})
        )

    def new_record(
        self, injection_type: str, target: ResourceRef, data: dict[str, Any]
    ) -> RollbackRecord:
        """A pending record for the next change (not written yet)."""
        now = datetime.now(UTC)
        return RollbackRecord(
            id=f"{len(self.records) + 1:03d}",
            type=injection_type,
            target=Target.of(target),
            data=data,
            created_at=now,
            expires_at=self.info.expires_at,
        )

    async def put(self, record: RollbackRecord) -> RollbackRecord:
        """Write (or overwrite) one record; only that key of the ConfigMap changes."""
        sealed = record.sealed()
        body = sealed.model_dump_json()
        if len(body) > MAX_RECORD_BYTES:
            raise RevertFailed(
                f"rollback record for {record.target.ref} is {len(body)} bytes;"
                f" the limit is {MAX_RECORD_BYTES}: refusing to inject what could not be undone"
            )
        await self.kube.patch(self.ref, {"data": {f"record-{sealed.id}.json": body}})
        self.records[sealed.id] = sealed
        return sealed

    async def mark(self, record: RollbackRecord, state: RecordState, outcome: str = "") -> None:
        """Move a record to ``state`` (applied / reverted)."""
        await self.put(record.model_copy(update={"state": state, "outcome": outcome}))

    def remember(self, record: RollbackRecord, state: RecordState, outcome: str = "") -> None:
        """Move a record to ``state`` in memory only: for when the ConfigMap is gone and
        writing it back would re-create a ledger nobody needs."""
        moved = record.model_copy(update={"state": state, "outcome": outcome})
        self.records[moved.id] = moved.sealed()

    async def recreate(self) -> None:
        """Write the ledger back from memory (run.json and every record), so that ``clean``
        can still find faults this run could not revert after its ConfigMap was lost."""
        data = {"run.json": self.info.model_dump_json()}
        for record in self.records.values():
            data[f"record-{record.id}.json"] = record.sealed().model_dump_json()
        await create_in_tool_namespace(self.kube, self._configmap(data))

    async def delete(self) -> None:
        """Remove the ledger once every record is reverted."""
        await self.kube.delete(self.ref)
        self.deleted = True

    @classmethod
    def from_configmap(cls, kube: KubeClient, cm: RawObject) -> "RunLedger":
        """Parse a ledger ConfigMap; every record's checksum is verified."""
        data = cm.get("data") or {}
        name = cm["metadata"]["name"]
        try:
            info = RunInfo.model_validate_json(data["run.json"])
        except (KeyError, ValueError) as exc:
            raise RevertFailed(f"ledger ConfigMap {name}: unreadable run.json ({exc})") from exc
        ledger = cls(kube, cm["metadata"]["namespace"], info)
        for key, value in sorted(data.items()):
            if not key.startswith("record-"):
                continue
            try:
                record = RollbackRecord.model_validate_json(value)
            except ValueError as exc:
                raise RevertFailed(f"ledger {name} {key}: unreadable record ({exc})") from exc
            record.verify(f"{name}/{key}")
            ledger.records[record.id] = record
        return ledger

    @classmethod
    def scan(cls, kube: KubeClient, cm: RawObject) -> "Scanned":
        """Parse a ledger ConfigMap leniently: every valid record is kept, every damaged one
        (or an unreadable run.json) is described, so one bad record blocks nothing else."""
        name = cm["metadata"]["name"]
        damaged: list[str] = []
        try:
            book: RunLedger | None = cls.from_configmap(kube, _only_run_json(cm))
        except RevertFailed as exc:
            return Scanned(name, None, [str(exc)])
        assert book is not None
        for key, value in sorted((cm.get("data") or {}).items()):
            if not key.startswith("record-"):
                continue
            try:
                record = RollbackRecord.model_validate_json(value)
                record.verify(f"{name}/{key}")
            except RevertFailed as exc:
                damaged.append(str(exc))
                continue
            except ValueError as exc:
                damaged.append(f"ledger {name} {key}: unreadable record ({_short(exc)})")
                continue
            book.records[record.id] = record
        return Scanned(name, book, damaged)

    @classmethod
    async def scan_all(cls, kube: KubeClient, namespace: str) -> list["Scanned"]:
        """Every run ledger in the tool namespace, parsed with :meth:`scan`."""
        return [cls.scan(kube, cm) for cm in await _list_ledgers(kube, namespace)]

    @classmethod
    async def list_all(cls, kube: KubeClient, namespace: str) -> list["RunLedger"]:
        """Every run ledger in the tool namespace (an absent namespace means none)."""
        return [cls.from_configmap(kube, cm) for cm in await _list_ledgers(kube, namespace)]


@dataclass
class Scanned:
    """One ledger ConfigMap as :meth:`RunLedger.scan` found it."""

    name: str
    ledger: RunLedger | None  # None when run.json is unreadable: nobody can tell whose it is
    damaged: list[str] = field(default_factory=list)


def _only_run_json(cm: RawObject) -> RawObject:
    data = cm.get("data") or {}
    kept = {k: v for k, v in data.items() if not k.startswith("record-")}
    return {**cm, "data": kept}


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


async def _list_ledgers(kube: KubeClient, namespace: str) -> list[RawObject]:
    try:
        listed = await kube.list(
            "v1",
            "ConfigMap",
            namespace,
            label_selector=f"{labels.MANAGED_BY}={labels.MANAGED_BY_VALUE},{labels.ROLE}=ledger",
        )
    except kube_errors.NotFound:
        return []
    return listed.items


async def create_in_tool_namespace(kube: KubeClient, obj: RawObject) -> RawObject:
    """Create ``obj``; the first time, create the tool's namespace too.

    Trying the create first costs one request per object instead of a namespace lookup each
    time; the namespace is only made when the API server says it is missing.
    """
    try:
        return await kube.create(obj)
    except kube_errors.NotFound:
        namespace = obj["metadata"]["namespace"]
        with contextlib.suppress(kube_errors.Conflict):
            await kube.create(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {
                        "name": namespace,
                        "labels": {labels.MANAGED_BY: labels.MANAGED_BY_VALUE},
                    },
                }
            )
        return await kube.create(obj)
