"""Pure parts of the revert path: the back-off schedule, which errors are retried, the names
of footprint locks, and reading a ledger that has one damaged record."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from operator_chaos.errors import RevertFailed
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import ResourceRef
from operator_chaos.orchestrator import clean
from operator_chaos.safety import lease, ledger
from operator_chaos.safety.owner import Owner

NOW = datetime(2026, 11, 25, 14, 0, 0, tzinfo=UTC)
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# -- back-off --------------------------------------------------------------------------------


def test_backoff_doubles_from_the_base_and_stops_at_the_cap() -> None:
    top = [clean.backoff_delay(n, rand=0.999999) for n in range(10)]
    assert top[:5] == pytest.approx([0.5, 1.0, 2.0, 4.0, 8.0], rel=1e-5)
    assert all(d == pytest.approx(clean.BACKOFF_CAP, rel=1e-5) for d in top[4:])
    assert clean.backoff_delay(10_000, rand=0.0) == clean.BACKOFF_CAP / 2  # no overflow


@pytest.mark.parametrize("attempt", [0, 1, 3, 7])
def test_backoff_jitter_stays_within_half_to_full_step(attempt: int) -> None:
    step = min(clean.BACKOFF_CAP, clean.BACKOFF_BASE * 2**attempt)
    assert clean.backoff_delay(attempt, rand=0.0) == step / 2
    delays = {clean.backoff_delay(attempt) for _ in range(200)}
    assert all(step / 2 <= d < step for d in delays)
    assert len(delays) > 1, "no jitter: retries after one outage would run in lock-step"


def test_the_retry_window_is_the_record_expiry_but_never_nothing() -> None:
    later = NOW + timedelta(minutes=3)
    assert clean.retry_until(later, NOW) == later
    # clean finds a record long expired after a crash: it still gets a real chance.
    assert clean.retry_until(NOW - timedelta(days=1), NOW) == NOW + clean.MIN_RETRY_WINDOW


@pytest.mark.parametrize(
    ("exc", "retried"),
    [
        (kube_errors.Unreachable("get x: cannot reach https://127.0.0.1:1: ReadTimeout"), True),
        (kube_errors.ServerError("get x: etcdserver: request timed out"), True),
        (kube_errors.Conflict("patch x: the object has been modified"), True),
        (kube_errors.Conflict("create x: exists", status={"reason": "AlreadyExists"}), False),
        (kube_errors.KubeError("get x: slow down", status={"code": 429}), True),
        (kube_errors.KubeError("get x", status={"reason": "ServiceUnavailable"}), True),
        (kube_errors.Forbidden("patch x: forbidden"), False),
        (kube_errors.Invalid("patch x: invalid"), False),
        (kube_errors.NotFound("get x: not found"), False),
        (RevertFailed("checksum mismatch"), False),
    ],
)
def test_only_errors_a_later_attempt_can_get_past_are_retried(
    exc: Exception, retried: bool
) -> None:
    assert clean.transient(exc) is retried


async def test_with_retry_outlasts_an_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clean, "BACKOFF_BASE", 0.001)
    calls: list[int] = []
    said: list[str] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise kube_errors.Unreachable("get x: cannot reach https://127.0.0.1:1: ConnectError")
        return "restored"

    until = datetime.now(UTC) + timedelta(seconds=10)
    assert await clean.with_retry("revert x", flaky, until=until, notify=said.append) == "restored"
    assert len(calls) == 4
    assert len(said) == 3
    assert "attempt 1 failed (get x: cannot reach https://127.0.0.1:1: ConnectError)" in said[0]


async def test_with_retry_gives_up_at_the_deadline_with_the_last_cause() -> None:
    calls: list[int] = []

    async def down() -> None:
        calls.append(1)
        raise kube_errors.Unreachable("get x: cannot reach https://127.0.0.1:1: ReadTimeout")

    with pytest.raises(kube_errors.Unreachable, match="ReadTimeout"):
        await clean.with_retry("revert x", down, until=datetime.now(UTC))
    assert len(calls) == 1


async def test_with_retry_does_not_retry_a_refusal() -> None:
    calls: list[int] = []

    async def forbidden() -> None:
        calls.append(1)
        raise kube_errors.Forbidden("patch x: forbidden")

    with pytest.raises(kube_errors.Forbidden):
        await clean.with_retry("revert x", forbidden, until=datetime.now(UTC) + timedelta(hours=1))
    assert len(calls) == 1


def test_a_transport_error_without_a_message_still_names_its_cause() -> None:
    class ReadTimeout(Exception):
        pass

    assert kube_errors.cause(ReadTimeout("")) == "ReadTimeout"
    assert kube_errors.cause(ReadTimeout("timed out")) == "ReadTimeout: timed out"


# -- footprint lock names --------------------------------------------------------------------

CM = ResourceRef("v1", "ConfigMap", "settings", "opendatahub")


def test_lock_name_is_a_stable_short_hash_of_the_object() -> None:
    name = lease.footprint_lock_name(CM)
    assert re.fullmatch(r"chaos-lock-[0-9a-f]{12}", name), name
    assert DNS_LABEL.match(name)
    assert lease.footprint_lock_name(ResourceRef("v1", "ConfigMap", "settings", "opendatahub")) == (
        name
    )
    assert lease.object_key(CM) == "v1/ConfigMap/opendatahub/settings"


@pytest.mark.parametrize(
    "other",
    [
        ResourceRef("v1", "ConfigMap", "settings", "other-ns"),
        ResourceRef("v1", "ConfigMap", "settings-2", "opendatahub"),
        ResourceRef("v1", "Secret", "settings", "opendatahub"),
        ResourceRef("v2", "ConfigMap", "settings", "opendatahub"),
        ResourceRef("v1", "ConfigMap", "settings"),
    ],
)
def test_every_part_of_the_object_identity_changes_the_lock(other: ResourceRef) -> None:
    assert lease.footprint_lock_name(other) != lease.footprint_lock_name(CM)


def test_lock_name_does_not_depend_on_the_component() -> None:
    # The whole point: two experiments naming different components, one object, one lock.
    assert lease.footprint_lock_name(CM) != lease.lease_name("training-operator", "a")
    assert lease.footprint_lock_name(CM) == lease.footprint_lock_name(CM)


def test_locks_are_taken_once_each_in_one_global_order() -> None:
    a = ResourceRef("v1", "ConfigMap", "a", "ns")
    b = ResourceRef("apps/v1", "Deployment", "b", "ns")
    c = ResourceRef("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "c")
    forward = lease.lock_order([a, b, c, a])
    assert [ref for _, ref in forward].count(a) == 1
    assert len(forward) == 3
    assert forward == lease.lock_order([c, b, a])
    assert [name for name, _ in forward] == sorted(name for name, _ in forward)


# -- damaged ledgers -------------------------------------------------------------------------


def info() -> ledger.RunInfo:
    return ledger.RunInfo(
        run_id="20261125-140000-abcd",
        experiment="exp",
        owner=Owner(host="h", pid=1, start_time=2),
        started_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
    )


def sealed(rid: str) -> ledger.RollbackRecord:
    return ledger.RollbackRecord(
        id=rid,
        type="ConfigDrift",
        target=ledger.Target.of(CM),
        data={"key": "mode", "original": "safe"},
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
        state="applied",
    ).sealed()


def configmap(data: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "chaos-run-x", "namespace": "operator-chaos"}, "data": data}


def test_scan_keeps_the_valid_records_and_describes_the_damaged_one() -> None:
    good = sealed("001")
    bad = json.loads(sealed("002").model_dump_json())
    bad["data"]["original"] = "evil"
    cm = configmap(
        {
            "run.json": info().model_dump_json(),
            "record-001.json": good.model_dump_json(),
            "record-002.json": json.dumps(bad),
            "record-003.json": "{truncated",
        }
    )
    scanned = ledger.RunLedger.scan(None, cm)  # type: ignore[arg-type]
    assert scanned.ledger is not None
    assert scanned.ledger.records == {"001": good}
    assert len(scanned.damaged) == 2
    assert "record-002.json: checksum mismatch" in scanned.damaged[0]
    assert "record-003.json: unreadable record" in scanned.damaged[1]


def test_scan_of_an_unreadable_run_json_has_no_ledger() -> None:
    scanned = ledger.RunLedger.scan(None, configmap({"run.json": "{}"}))  # type: ignore[arg-type]
    assert scanned.ledger is None
    assert "unreadable run.json" in scanned.damaged[0]


def test_the_copy_further_along_is_the_newer() -> None:
    order = ledger.STATE_ORDER
    assert order["pending"] < order["applied"] < order["reverted"]


def test_remember_moves_a_record_in_memory_with_a_valid_checksum() -> None:
    book = ledger.RunLedger(None, "operator-chaos", info())  # type: ignore[arg-type]
    record = sealed("001")
    book.records[record.id] = record
    book.remember(record, "reverted", "restored")
    moved = book.records["001"]
    assert (moved.state, moved.outcome) == ("reverted", "restored")
    moved.verify("memory")
