"""Pure parts of the deletion faults: backups, plan lines, damage lanes, Secret-ledger routing."""

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from operator_chaos.injection import backup
from operator_chaos.injection.builtin import namespace_deletion, resource_deletion, secret_deletion
from operator_chaos.kube.port import RawObject, ResourceRef, Selection
from operator_chaos.safety import ledger
from operator_chaos.safety.owner import Owner

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
VALUE = "s3cr3t-value-never-shown"
SECRET = ResourceRef("v1", "Secret", "creds", "demo")
SERVICE = ResourceRef("v1", "Service", "web", "demo")


def live_secret(uid: str = "u-1") -> RawObject:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": "creds",
            "namespace": "demo",
            "uid": uid,
            "resourceVersion": "42",
            "creationTimestamp": "2026-12-01T11:00:00Z",
            "generation": 1,
            "managedFields": [{"manager": "demo-operator"}],
            "labels": {"app": "demo"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "x"}],
            "finalizers": ["demo/keep"],
        },
        "data": {"token": base64.b64encode(VALUE.encode()).decode()},
    }


def test_manifest_strips_server_fields_and_status_but_keeps_ownership() -> None:
    obj = {**live_secret(), "status": {"x": 1}}
    body = backup.manifest(obj)
    meta = body["metadata"]
    assert not set(meta) & backup.SERVER_SET
    assert meta["ownerReferences"] == obj["metadata"]["ownerReferences"]
    assert meta["labels"] == {"app": "demo"}
    assert meta["finalizers"] == ["demo/keep"]
    assert "status" not in body
    assert body["data"] == obj["data"]
    assert obj["metadata"]["uid"] == "u-1"  # the live object is not changed


@pytest.mark.parametrize(("ip", "kept"), [("10.0.0.7", False), ("None", True)])
def test_service_addresses_are_reallocated_but_headless_stays_headless(ip: str, kept: bool) -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "demo", "uid": "u"},
        "spec": {"clusterIP": ip, "clusterIPs": [ip], "ports": [{"port": 80}]},
    }
    spec = backup.manifest(obj)["spec"]
    assert ("clusterIP" in spec) is kept
    assert spec["ports"] == [{"port": 80}]


def test_a_secret_plan_line_shows_no_value() -> None:
    line = backup.planned_change(SECRET, live_secret())
    text = line.model_dump_json()
    assert VALUE not in text
    assert base64.b64encode(VALUE.encode()).decode() not in text
    assert "1 key" in line.before


class View:
    """A StateView over a fixed dict (the observer's state is plain data)."""

    def __init__(self, objects: dict[ResourceRef, RawObject]) -> None:
        self.objects = objects

    def get(self, ref: ResourceRef) -> RawObject | None:
        return self.objects.get(ref)

    def select(self, selection: Selection) -> list[RawObject]:
        return []


@pytest.mark.parametrize(
    ("live", "restored", "text"),
    [
        (None, False, "deleted"),
        (live_secret("u-1"), False, "not deleted yet"),
        (
            {**live_secret("u-1"), "metadata": {"uid": "u-1", "deletionTimestamp": "t"}},
            False,
            "being deleted",
        ),
        (
            {**live_secret("u-2"), "metadata": {"uid": "u-2", "deletionTimestamp": "t"}},
            False,
            "recreated, but being deleted",
        ),
        (live_secret("u-2"), True, "recreated"),
    ],
)
def test_damage_lane_counts_only_a_live_recreation(
    live: RawObject | None, restored: bool, text: str
) -> None:
    view = View({SECRET: live} if live else {})
    assert backup.restored_in(view, SECRET, "u-1") == (restored, text)


def info() -> ledger.RunInfo:
    return ledger.RunInfo(
        run_id="20261201-120000-abcd",
        experiment="exp",
        owner=Owner(host="h", pid=1, start_time=1),
        started_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
    )


def new_record(ref: ResourceRef, data: Any) -> ledger.RollbackRecord:
    return ledger.RunLedger(None, "operator-chaos", info()).new_record(  # type: ignore[arg-type]
        "SecretDeletion", ref, data
    )


def test_backup_round_trips_through_a_record() -> None:
    data = backup.Backup(uid="u-1", manifest=backup.manifest(live_secret()))
    record = new_record(SECRET, data)
    assert record.payload(backup.Backup) == data
    assert set(record.data) == {"uid", "manifest"}


@pytest.mark.parametrize(
    ("ref", "manifest", "secret"),
    [
        (SECRET, {}, True),
        (SERVICE, {"apiVersion": "v1", "kind": "Service"}, False),
        (ResourceRef("v1", "Namespace", "demo"), {"items": [live_secret()]}, True),
        (ResourceRef("v1", "ConfigMap", "c", "demo"), {"kind": "Secret"}, False),
    ],
)
def test_records_with_secret_data_are_routed_to_the_secret_ledger(
    ref: ResourceRef, manifest: RawObject, secret: bool
) -> None:
    record = new_record(ref, backup.Backup(uid="u", manifest=manifest))
    assert ledger.holds_secret(record) is secret


def store(kind: str, records: dict[str, ledger.RollbackRecord]) -> RawObject:
    data = {"run.json": info().model_dump_json()}
    data.update({f"record-{r.id}.json": r.model_dump_json() for r in records.values()})
    name = "chaos-run-20261201-120000-abcd" + ("-secrets" if kind == "Secret" else "")
    if kind == "Secret":
        data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "oc"},
        "data": data,
    }


def test_scan_merges_the_configmap_and_the_secret_ledger() -> None:
    plain = new_record(SERVICE, backup.Backup(uid="a", manifest={})).sealed()
    secret = (
        new_record(SECRET, backup.Backup(uid="b", manifest=backup.manifest(live_secret())))
        .model_copy(update={"id": "002", "state": "applied"})
        .sealed()
    )
    stale = secret.model_copy(update={"state": "pending"})  # an older copy elsewhere
    scanned = ledger.RunLedger.scan(
        None,  # type: ignore[arg-type]
        store("ConfigMap", {"001": plain, "002": stale}),
        store("Secret", {"002": secret}),
    )
    assert scanned.damaged == []
    assert scanned.ledger is not None
    assert scanned.name == "chaos-run-20261201-120000-abcd"
    assert {k: r.state for k, r in scanned.ledger.records.items()} == {
        "001": "pending",
        "002": "applied",
    }
    assert scanned.ledger.has_secrets


def test_a_secret_ledger_alone_is_a_run() -> None:
    secret = new_record(SECRET, backup.Backup(uid="b", manifest={})).sealed()
    scanned = ledger.RunLedger.scan(None, store("Secret", {"001": secret}))  # type: ignore[arg-type]
    assert scanned.ledger is not None
    assert list(scanned.ledger.records) == ["001"]


def test_a_tampered_secret_record_is_reported() -> None:
    secret = new_record(SECRET, backup.Backup(uid="b", manifest={})).sealed()
    bad = store("Secret", {"001": secret.model_copy(update={"data": {"uid": "x", "manifest": {}}})})
    scanned = ledger.RunLedger.scan(None, bad)  # type: ignore[arg-type]
    assert scanned.ledger is not None
    assert scanned.ledger.records == {}
    assert "checksum mismatch" in scanned.damaged[0]


@pytest.mark.parametrize(
    "namespace",
    ["kube-system", "default", "openshift-operators", "operator-chaos", "kube-public"],
)
def test_namespace_deletion_refuses_protected_namespaces(namespace: str) -> None:
    with pytest.raises(ValidationError, match="cannot be deleted"):
        namespace_deletion.Params.model_validate({"namespace": namespace})


@pytest.mark.parametrize("module", [resource_deletion, secret_deletion, namespace_deletion])
def test_init_examples_validate_and_records_are_backups(module: Any) -> None:
    module.Params.model_validate(dict(module.SPEC.example("demo-operator", "demo")))
    assert module.SPEC.record is backup.Backup
    assert module.SPEC.instantaneous


def test_resource_deletion_refuses_chaos_experiments_by_kind() -> None:
    params = resource_deletion.Params.model_validate(
        {"apiVersion": "chaos.operatorchaos.io/v1alpha1", "kind": "ChaosExperiment", "name": "x"}
    )
    assert params.kind == "ChaosExperiment"  # refused by cross_check and by plan
