"""Pure parts of the safety layer: lease names and expiry, lease owners, ledger records."""

import json
import os
import re
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from operator_chaos.errors import RevertFailed
from operator_chaos.kube.port import ResourceRef
from operator_chaos.safety import lease, ledger
from operator_chaos.safety.owner import Owner

NOW = datetime(2026, 11, 25, 14, 0, 0, tzinfo=UTC)


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- lease_name ------------------------------------------------------------------------------

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def test_short_names_are_kept_readable() -> None:
    assert lease.lease_name("my-op", "manager") == "chaos-lock-my-op-manager"


def test_names_are_made_dns_safe() -> None:
    assert lease.lease_name("My_Op", "Ctrl.Manager") == "chaos-lock-my-op-ctrl-manager"
    assert lease.lease_name("-op-", "--x--") == "chaos-lock-op----x"  # no leading/trailing -


def test_long_names_are_shortened_with_a_hash() -> None:
    name = lease.lease_name("training-operator", "training-operator-controller-manager")
    assert name == "chaos-lock-training-operator-training-operator-cont-ebb78a11"
    assert len(name) <= 63
    assert DNS_LABEL.match(name)


def test_shortened_names_stay_distinct() -> None:
    a = lease.lease_name("operator", "a-very-long-component-name-that-is-cut-off-one")
    b = lease.lease_name("operator", "a-very-long-component-name-that-is-cut-off-two")
    assert a != b
    assert a[:-9] == b[:-9]  # same readable prefix, different hash
    assert lease.lease_name("operator", "a-very-long-component-name-that-is-cut-off-one") == a


@pytest.mark.parametrize(
    ("operator", "component"),
    [("x" * 60, "y" * 60), ("a.b.c", "D_E_F"), ("op", "-" * 50 + "z"), ("Ünïcode", "comp")],
)
def test_names_are_always_valid(operator: str, component: str) -> None:
    name = lease.lease_name(operator, component)
    assert name.startswith("chaos-lock-")
    assert len(name) <= 63, name
    assert DNS_LABEL.match(name), name


# -- expired ---------------------------------------------------------------------------------


def a_lease(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "l"}, "spec": spec}


@pytest.mark.parametrize(
    ("spec", "is_expired"),
    [
        ({}, True),  # nobody holds it
        ({"holderIdentity": ""}, True),
        ({"holderIdentity": "run"}, True),  # held but never stamped
        ({"holderIdentity": "run", "renewTime": stamp(NOW - timedelta(seconds=5))}, False),
        ({"holderIdentity": "run", "renewTime": stamp(NOW - timedelta(seconds=15))}, False),
        ({"holderIdentity": "run", "renewTime": stamp(NOW - timedelta(seconds=16))}, True),
        (
            {
                "holderIdentity": "run",
                "renewTime": stamp(NOW - timedelta(seconds=50)),
                "leaseDurationSeconds": 60,
            },
            False,
        ),
        (
            {
                "holderIdentity": "run",
                "renewTime": stamp(NOW - timedelta(seconds=2)),
                "leaseDurationSeconds": 1,
            },
            True,
        ),
        # No renewal yet: the acquire time counts.
        ({"holderIdentity": "run", "acquireTime": stamp(NOW - timedelta(seconds=3))}, False),
        ({"holderIdentity": "run", "acquireTime": stamp(NOW - timedelta(seconds=30))}, True),
        # A renewal wins over an old acquire time.
        (
            {
                "holderIdentity": "run",
                "acquireTime": stamp(NOW - timedelta(hours=1)),
                "renewTime": stamp(NOW - timedelta(seconds=1)),
            },
            False,
        ),
    ],
)
def test_expired(spec: dict[str, Any], is_expired: bool) -> None:
    assert lease.expired(a_lease(**spec), NOW) is is_expired


def test_expired_reads_what_the_server_returns() -> None:
    # The API server echoes MicroTime with microseconds and a Z suffix.
    fresh = a_lease(holderIdentity="run", renewTime=stamp(datetime.now(UTC)))
    assert lease.expired(fresh) is False


# -- lease owners (who may be declared dead without waiting for expiry) -----------------------


def owned(owner: Owner | None, renewed: datetime) -> dict[str, Any]:
    obj = a_lease(holderIdentity="run", renewTime=stamp(renewed))
    if owner is not None:
        obj["metadata"]["annotations"] = {lease.OWNER: owner.model_dump_json()}
    return obj


def test_lease_of_this_live_process_is_not_abandoned() -> None:
    assert not lease.abandoned(owned(Owner.current(), datetime.now(UTC)))


def test_lease_of_a_dead_process_on_this_host_is_abandoned_before_it_expires() -> None:
    me = Owner.current()
    dead = me.model_copy(update={"start_time": me.start_time + 1})  # pid reused / gone
    assert lease.abandoned(owned(dead, datetime.now(UTC)))


def test_lease_of_another_host_waits_for_expiry() -> None:
    remote = Owner(host=socket.gethostname() + "-elsewhere", pid=os.getpid(), start_time=1)
    assert not lease.abandoned(owned(remote, datetime.now(UTC)))
    assert lease.abandoned(owned(remote, datetime.now(UTC) - timedelta(minutes=5)))


def test_lease_without_an_owner_waits_for_expiry() -> None:
    assert not lease.abandoned(owned(None, datetime.now(UTC)))
    garbled = owned(None, datetime.now(UTC))
    garbled["metadata"]["annotations"] = {lease.OWNER: "{not json"}
    assert lease.owner_of(garbled) is None
    assert not lease.abandoned(garbled)


def test_owner_of_round_trips() -> None:
    me = Owner.current()
    assert lease.owner_of(owned(me, NOW)) == me


def test_owner_without_a_start_time_is_unknown_not_dead() -> None:
    # Where /proc is unreadable the start time is recorded as 0: liveness cannot be told
    # from the pid, so the caller must fall back to the lease (None), not call it dead.
    unknown = Owner(host=socket.gethostname(), pid=os.getpid(), start_time=0)
    assert unknown.alive() is None
    assert Owner.current().alive() is True


# -- ledger records ------------------------------------------------------------------------


def info(run_id: str = "20261125-140000-abcd") -> ledger.RunInfo:
    return ledger.RunInfo(
        run_id=run_id,
        experiment="exp",
        operator="op",
        component="comp",
        owner=Owner(host="h", pid=1, start_time=2),
        lease="chaos-lock-op-comp",
        started_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
    )


class Payload(BaseModel):
    """Any payload: the ledger stores what a type's record model dumps."""

    model_config = ConfigDict(extra="allow")


def record(**data: Any) -> ledger.RollbackRecord:
    book = ledger.RunLedger(None, "operator-chaos", info())  # type: ignore[arg-type]
    ref = ResourceRef("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "binding")
    payload = Payload(**(data or {"subjects": [{"kind": "User", "name": "u"}]}))
    return book.new_record("RBACRevoke", ref, payload)


def test_new_run_id_is_sortable_and_dns_safe() -> None:
    run_id = ledger.new_run_id()
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", run_id)
    assert DNS_LABEL.match(f"chaos-run-{run_id}")


def test_new_record_carries_the_run_expiry_and_a_sequence_id() -> None:
    r = record()
    assert (r.id, r.state, r.expires_at, r.checksum) == (
        "001",
        "pending",
        NOW + timedelta(minutes=5),
        "",
    )
    assert r.target.ref == ResourceRef(
        "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "binding"
    )


def test_sealed_record_verifies() -> None:
    sealed = record().sealed()
    assert len(sealed.checksum) == 64
    sealed.verify("here")


def test_state_and_outcome_may_change_without_resealing() -> None:
    """Marking a record applied/reverted rewrites it, but its undo data is what is sealed."""
    sealed = record().sealed()
    sealed.model_copy(update={"state": "reverted", "outcome": "restored"}).verify("here")


@pytest.mark.parametrize(
    "tamper",
    [
        {"data": {"subjects": [{"kind": "User", "name": "attacker"}]}},
        {"data": {}},
        {"target": ledger.Target(api_version="v1", kind="Secret", name="x", namespace="ns")},
        {"type": "PodKill"},
        {"expires_at": NOW + timedelta(days=365)},
        {"checksum": ""},
    ],
)
def test_tampering_is_detected(tamper: dict[str, Any]) -> None:
    edited = record().sealed().model_copy(update=tamper)
    with pytest.raises(RevertFailed, match="checksum mismatch"):
        edited.verify("chaos-run-x/record-001.json")


def ledger_configmap(records: dict[str, str], run_json: str | None = None) -> dict[str, Any]:
    data = {"run.json": run_json if run_json is not None else info().model_dump_json(), **records}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "chaos-run-20261125-140000-abcd", "namespace": "operator-chaos"},
        "data": data,
    }


def test_from_configmap_parses_every_record() -> None:
    first = record().sealed()
    second = record(finalizer="x").model_copy(update={"id": "002", "state": "applied"}).sealed()
    cm = ledger_configmap(
        {
            "record-001.json": first.model_dump_json(),
            "record-002.json": second.model_dump_json(),
            "notes": "ignored: not a record",
        }
    )
    book = ledger.RunLedger.from_configmap(None, cm)  # type: ignore[arg-type]
    assert book.info == info()
    assert book.name == cm["metadata"]["name"]
    assert book.namespace == "operator-chaos"
    assert book.records == {"001": first, "002": second}
    assert book.ref == ResourceRef("v1", "ConfigMap", book.name, "operator-chaos")


def test_from_configmap_refuses_a_tampered_record() -> None:
    body = json.loads(record().sealed().model_dump_json())
    body["data"]["subjects"] = []
    cm = ledger_configmap({"record-001.json": json.dumps(body)})
    with pytest.raises(RevertFailed, match=r"record-001\.json: checksum mismatch"):
        ledger.RunLedger.from_configmap(None, cm)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    ["{truncated", "[]", json.dumps({"id": "001"}), ""],
)
def test_from_configmap_refuses_an_unreadable_record(bad: str) -> None:
    cm = ledger_configmap(
        {"record-001.json": record().sealed().model_dump_json(), "record-002.json": bad}
    )
    with pytest.raises(RevertFailed, match=r"record-002\.json: unreadable record"):
        ledger.RunLedger.from_configmap(None, cm)  # type: ignore[arg-type]


@pytest.mark.parametrize("run_json", ["", "{}", "nonsense"])
def test_from_configmap_refuses_an_unreadable_run_json(run_json: str) -> None:
    with pytest.raises(RevertFailed, match=r"unreadable run\.json"):
        ledger.RunLedger.from_configmap(None, ledger_configmap({}, run_json))  # type: ignore[arg-type]


def test_from_configmap_refuses_a_missing_run_json() -> None:
    cm = ledger_configmap({})
    del cm["data"]["run.json"]
    with pytest.raises(RevertFailed, match=r"unreadable run\.json"):
        ledger.RunLedger.from_configmap(None, cm)  # type: ignore[arg-type]
