"""The rollback ledger: how to undo every fault, stored on the cluster before the fault exists.

One ConfigMap per run (``chaos-run-<run-id>``) in the tool's own namespace, where the target's
operator never writes. It holds ``run.json`` (who runs it, until when, under which lease) and
one ``record-<id>.json`` per change. A record is written *before* its change is made (state
``pending``), is marked ``applied`` after it, and ``reverted`` once undone; ``revert`` treats a
pending record as possibly applied, so a crash between the two writes is harmless.

Each record carries a SHA-256 of its canonical JSON: a record edited by hand or truncated is
refused loudly instead of being "reverted" with wrong data.

A record that holds Secret data (its target is a v1 Secret, or its payload carries a Secret
object, as a deletion backup does) is kept in a second store, the Secret
``chaos-run-<run-id>-secrets`` (same labels, type Opaque, same namespace), created on the first
such record: a ConfigMap is readable by far more people than a Secret. Both stores hold
``run.json``; reading a run's ledger merges them, record by record.
"""

import base64
import builtins
import contextlib
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from operator_chaos.errors import RevertFailed
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.safety import labels
from operator_chaos.safety.owner import Owner

D = TypeVar("D", bound=BaseModel)
MAX_RECORD_BYTES = 200 * 1024
RecordState = Literal["pending", "applied", "reverted"]
STATE_ORDER: dict[str, int] = {"pending": 0, "applied": 1, "reverted": 2}
"""A record only moves forward: of two copies, the one further along is the newer."""


SECRET_SUFFIX = "-secrets"


def holds_secret(record: "RollbackRecord") -> bool:
    """True when ``record`` must live in the Secret ledger: its target is a v1 Secret or its
    payload holds a Secret object (or a list of them)."""
    if record.target.kind == "Secret" and record.target.api_version == "v1":
        return True
    return _has_secret(record.data)


def _has_secret(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("kind") == "Secret" and node.get("apiVersion") == "v1":
            return True
        return any(_has_secret(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_secret(v) for v in node)
    return False


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

    def payload(self, model: builtins.type[D]) -> D:
        """``data`` as the type's typed payload; a payload that does not fit is refused
        (:class:`RevertFailed`) instead of being reverted with wrong data."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "data"
            raise RevertFailed(
                f"rollback record {self.id} ({self.type} on {self.target.ref}): data.{where}:"
                f" {first['msg']}; inspect the ledger and revert by hand"
            ) from None

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

    @property
    def secret_ref(self) -> ResourceRef:
        """The Secret holding the records with Secret data (created on the first one)."""
        return ResourceRef("v1", "Secret", self.name + SECRET_SUFFIX, self.namespace)

    def _meta(self, name: str) -> RawObject:
        return {
            "name": name,
            "namespace": self.namespace,
            "labels": labels.managed(
                self.info.run_id, "ledger", **{labels.EXPERIMENT: self.info.experiment[:63]}
            ),
        }

    def _configmap(self, data: dict[str, str]) -> RawObject:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": self._meta(self.name),
            "data": data,
        }

    def _secret(self, data: dict[str, str]) -> RawObject:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": self._meta(self.secret_ref.name),
            "data": {k: _b64(v) for k, v in data.items()},
        }

    async def create(self) -> None:
        """Create the ledger (and the tool namespace on first use)."""
        await create_in_tool_namespace(
            self.kube, self._configmap({"run.json": self.info.model_dump_json()})
        )

    def new_record(
        self, injection_type: str, target: ResourceRef, data: BaseModel
    ) -> RollbackRecord:
        """A pending record for the next change (not written yet); ``data`` is the type's
        typed payload, stored by alias."""
        now = datetime.now(UTC)
        return RollbackRecord(
            id=f"{len(self.records) + 1:03d}",
            type=injection_type,
            target=Target.of(target),
            data=data.model_dump(mode="json", by_alias=True),
            created_at=now,
            expires_at=self.info.expires_at,
        )

    async def put(self, record: RollbackRecord) -> RollbackRecord:
        """Write (or overwrite) one record; only that key of its store changes.

        A record with Secret data goes to the Secret ledger, which its first (pending) record
        creates; a later state change never re-creates a Secret ledger somebody deleted.
        """
        sealed = record.sealed()
        body = sealed.model_dump_json()
        if len(body) > MAX_RECORD_BYTES:
            raise RevertFailed(
                f"rollback record for {record.target.ref} is {len(body)} bytes;"
                f" the limit is {MAX_RECORD_BYTES}: refusing to inject what could not be undone"
            )
        key = f"record-{sealed.id}.json"
        if not holds_secret(sealed):
            await self.kube.patch(self.ref, {"data": {key: body}})
        else:
            try:
                await self.kube.patch(self.secret_ref, {"data": {key: _b64(body)}})
            except kube_errors.NotFound:
                if sealed.state != "pending":
                    raise
                data = {"run.json": self.info.model_dump_json(), key: body}
                try:
                    await create_in_tool_namespace(self.kube, self._secret(data))
                except kube_errors.Conflict:
                    await self.kube.patch(self.secret_ref, {"data": {key: _b64(body)}})
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
        plain = {"run.json": self.info.model_dump_json()}
        secret = dict(plain)
        for record in self.records.values():
            store = secret if holds_secret(record) else plain
            store[f"record-{record.id}.json"] = record.sealed().model_dump_json()
        if len(secret) > 1:
            with contextlib.suppress(kube_errors.Conflict):
                await create_in_tool_namespace(self.kube, self._secret(secret))
        await create_in_tool_namespace(self.kube, self._configmap(plain))

    @property
    def has_secrets(self) -> bool:
        """True once a record of this run went to the Secret ledger."""
        return any(holds_secret(r) for r in self.records.values())

    async def delete(self) -> None:
        """Remove the ledger (the Secret store first, so that a failure leaves both for
        ``clean``) once every record is reverted."""
        if self.has_secrets:
            await self.kube.delete(self.secret_ref)
        await self.kube.delete(self.ref)
        self.deleted = True

    async def fetch(self) -> "Scanned | None":
        """This run's ledger as stored now (both stores, parsed with :meth:`scan`), or
        ``None`` when neither exists."""
        found = [await self.kube.get_or_none(self.ref)]
        try:
            found.append(await self.kube.get_or_none(self.secret_ref))
        except kube_errors.Forbidden:
            if self.has_secrets:
                raise
        stores = [obj for obj in found if obj is not None]
        return type(self).scan(self.kube, *stores) if stores else None

    @classmethod
    def from_configmap(cls, kube: KubeClient, cm: RawObject) -> "RunLedger":
        """Parse a ledger ConfigMap (or the Secret ledger); every record's checksum is
        verified."""
        data = _entries(cm)
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
    def scan(cls, kube: KubeClient, cm: RawObject, *more: RawObject) -> "Scanned":
        """Parse a run's ledger leniently: every valid record is kept, every damaged one
        (or an unreadable run.json) is described, so one bad record blocks nothing else.

        ``more``: the run's other store (its Secret ledger); records are merged, the copy
        further along (pending < applied < reverted) winning.
        """
        name = cm["metadata"]["name"].removesuffix(SECRET_SUFFIX)
        damaged: list[str] = []
        book: RunLedger | None = None
        problems: list[str] = []
        for store in (cm, *more):
            try:
                book = cls.from_configmap(kube, _only_run_json(store))
                break
            except RevertFailed as exc:
                problems.append(str(exc))
        if book is None:
            return Scanned(name, None, problems)
        damaged.extend(problems)
        for store in (cm, *more):
            where = store["metadata"]["name"]
            for key, value in sorted(_entries(store).items()):
                if not key.startswith("record-"):
                    continue
                try:
                    record = RollbackRecord.model_validate_json(value)
                    record.verify(f"{where}/{key}")
                except RevertFailed as exc:
                    damaged.append(str(exc))
                    continue
                except ValueError as exc:
                    damaged.append(f"ledger {where} {key}: unreadable record ({_short(exc)})")
                    continue
                mine = book.records.get(record.id)
                if mine is None or STATE_ORDER[record.state] > STATE_ORDER[mine.state]:
                    book.records[record.id] = record
        return Scanned(name, book, damaged)

    @classmethod
    async def scan_all(cls, kube: KubeClient, namespace: str) -> list["Scanned"]:
        """Every run ledger in the tool namespace (ConfigMap and Secret stores merged per
        run), parsed with :meth:`scan`. Secret ledgers that cannot be listed are reported
        as damaged: a fault recorded there could otherwise be missed silently."""
        problems: list[Scanned] = []
        runs = await _list_runs(kube, namespace, problems)
        return [*problems, *(cls.scan(kube, *stores) for stores in runs)]

    @classmethod
    async def list_all(cls, kube: KubeClient, namespace: str) -> list["RunLedger"]:
        """Every run ledger in the tool namespace (an absent namespace means none)."""
        problems: list[Scanned] = []
        books: list[RunLedger] = []
        for stores in await _list_runs(kube, namespace, problems):
            book = cls.from_configmap(kube, stores[0])
            for other in stores[1:]:
                for rid, record in cls.from_configmap(kube, other).records.items():
                    mine = book.records.get(rid)
                    if mine is None or STATE_ORDER[record.state] > STATE_ORDER[mine.state]:
                        book.records[rid] = record
            books.append(book)
        if problems:
            raise RevertFailed("; ".join(p for s in problems for p in s.damaged))
        return books


@dataclass
class Scanned:
    """One ledger ConfigMap as :meth:`RunLedger.scan` found it."""

    name: str
    ledger: RunLedger | None  # None when run.json is unreadable: nobody can tell whose it is
    damaged: list[str] = field(default_factory=list)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def _entries(obj: RawObject) -> dict[str, str]:
    """A store's keys as text (a Secret's data is base64; a key that does not decode is
    kept as it is and fails its parse, so it is reported, not dropped)."""
    data: dict[str, str] = dict(obj.get("data") or {})
    if obj.get("kind") != "Secret":
        return data
    decoded: dict[str, str] = {}
    for key, value in data.items():
        try:
            decoded[key] = base64.b64decode(value, validate=True).decode()
        except ValueError:
            decoded[key] = value
    return decoded


def _only_run_json(cm: RawObject) -> RawObject:
    kept = {k: v for k, v in _entries(cm).items() if not k.startswith("record-")}
    return {**cm, "kind": "ConfigMap", "data": kept}


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


async def _list_ledgers(
    kube: KubeClient, namespace: str, kind: str = "ConfigMap"
) -> list[RawObject]:
    try:
        listed = await kube.list(
            "v1",
            kind,
            namespace,
            label_selector=f"{labels.MANAGED_BY}={labels.MANAGED_BY_VALUE},{labels.ROLE}=ledger",
        )
    except kube_errors.NotFound:
        return []
    return listed.items


async def _list_runs(
    kube: KubeClient, namespace: str, problems: list["Scanned"]
) -> list[tuple[RawObject, ...]]:
    """Each run's stores (ConfigMap first, then its Secret ledger), grouped by name; a
    Secret ledger whose ConfigMap is gone is a run of its own. A Secret listing that is
    refused is added to ``problems``."""
    runs: dict[str, list[RawObject]] = {}
    for cm in await _list_ledgers(kube, namespace):
        runs.setdefault(cm["metadata"]["name"], []).append(cm)
    try:
        secrets_found = await _list_ledgers(kube, namespace, "Secret")
    except kube_errors.Forbidden as exc:
        problems.append(
            Scanned(
                f"secrets in {namespace}",
                None,
                [
                    f"cannot list Secret ledgers in {namespace} ({exc}); grant list/get on"
                    " secrets there (config/rbac) so that faults recorded in them are reverted"
                ],
            )
        )
        secrets_found = []
    for secret in secrets_found:
        name = secret["metadata"]["name"].removesuffix(SECRET_SUFFIX)
        runs.setdefault(name, []).append(secret)
    return [tuple(stores) for _, stores in sorted(runs.items())]


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
