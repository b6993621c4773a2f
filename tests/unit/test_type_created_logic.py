"""Pure logic of QuotaExhaustion, PDBBlock, OwnerRefOrphan, LeaderElectionDisrupt and the shared
"create an object, delete it on revert" module: records, names, plan helpers, damage lanes.

Cluster behaviour is tested against the sandbox in tests/cluster/test_type_created.py.
"""

from datetime import UTC, datetime
from typing import Any

import pytest

from operator_chaos.injection import created
from operator_chaos.injection.builtin import (
    leader_election_disrupt as led,
)
from operator_chaos.injection.builtin import (
    owner_ref_orphan as orphan,
)
from operator_chaos.injection.builtin import (
    pdb_block as pdb,
)
from operator_chaos.injection.builtin import (
    quota_exhaustion as quota,
)
from operator_chaos.kube.port import RawObject, ResourceRef, Selection
from operator_chaos.safety import labels
from operator_chaos.safety.ledger import RollbackRecord, Target

REF = ResourceRef("v1", "ResourceQuota", "q", "ns")


class View:
    """A StateView over a fixed set of objects (what the watcher would hold)."""

    def __init__(self, *objects: RawObject) -> None:
        self.objects = {ResourceRef.of(o): o for o in objects}

    def get(self, ref: ResourceRef) -> RawObject | None:
        return self.objects.get(ref)

    def select(self, selection: Selection) -> list[RawObject]:
        return []


def record_of(ref: ResourceRef, data: Any, injection_type: str) -> RollbackRecord:
    now = datetime.now(UTC)
    return RollbackRecord(
        id="001",
        type=injection_type,
        target=Target.of(ref),
        data=data.model_dump(mode="json", by_alias=True),
        created_at=now,
        expires_at=now,
    )


def obj(ref: ResourceRef, **meta: Any) -> RawObject:
    return {
        "apiVersion": ref.api_version,
        "kind": ref.kind,
        "metadata": {"name": ref.name, "namespace": ref.namespace, **meta},
    }


# -- created ---------------------------------------------------------------------------------


def test_created_record_round_trips_by_alias() -> None:
    data = quota.Record(run_id="r1", uid="u1")
    record = record_of(REF, data, "QuotaExhaustion")
    assert record.data == {"runId": "r1", "uid": "u1"}
    assert record.payload(quota.Record) == data


def test_only_an_object_with_our_run_label_and_uid_is_ours() -> None:
    ours = owned = created.owned_labels("r1", "QuotaExhaustion")
    assert owned[labels.MANAGED_BY] == labels.MANAGED_BY_VALUE
    data = created.CreatedRecord(run_id="r1", uid="u1")
    assert created.is_ours(obj(REF, labels=ours, uid="u1"), data)
    assert not created.is_ours(obj(REF, labels=ours, uid="u2"), data)  # a namesake
    assert not created.is_ours(obj(REF, labels={labels.RUN: "r1"}, uid="u1"), data)
    other = created.owned_labels("r2", "QuotaExhaustion")
    assert not created.is_ours(obj(REF, labels=other, uid="u1"), data)
    # Before the uid is recorded (a crash right after the create) the labels decide.
    assert created.is_ours(obj(REF, labels=ours, uid="u9"), created.CreatedRecord(run_id="r1"))


def test_presence_lane_is_ok_once_our_object_is_gone_or_not_ours() -> None:
    record = record_of(REF, quota.Record(run_id="r1", uid="u1"), "QuotaExhaustion")
    (lane,) = quota.INJECTOR.damage(record)
    ours = obj(REF, labels=created.owned_labels("r1", "QuotaExhaustion"), uid="u1")
    assert lane.restored(View(ours)) == (False, "quota in place")
    assert lane.restored(View()) == (True, "deleted")
    assert lane.restored(View(obj(REF, uid="u2")))[0] is True


# -- QuotaExhaustion -------------------------------------------------------------------------


def test_quota_hard_keeps_the_reference_resource_names() -> None:
    params = quota.Params.model_validate({"quotaName": "q", "pods": "0", "cpu": "0", "memory": "0"})
    assert params.hard() == {"cpu": "0", "memory": "0", "pods": "0"}
    assert quota.INJECTOR.content(params) == {"spec": {"hard": params.hard()}}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0.0), ("100m", 0.1), ("1Gi", 2.0**30), ("2k", 2000.0), ("1.5", 1.5), ("1e3", 1000.0)],
)
def test_quantities(text: str, value: float) -> None:
    assert quota.quantity(text) == pytest.approx(value)


def test_usage_marks_full_resources() -> None:
    text = quota.usage(
        {"status": {"hard": {"pods": "0", "configmaps": "5"}, "used": {"pods": "3"}}}
    )
    assert text == "configmaps 0/5, pods 3/0 (full: new ones refused)"


# -- PDBBlock --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "name"),
    [
        # The reference's naming: the value of the first label by key.
        (
            "control-plane=controller-manager,app.kubernetes.io/name=training-operator",
            "chaos-pdb-training-operator",
        ),
        ("app=My_App", "chaos-pdb-my-app"),
        ("app!=x,tier in (web)", "chaos-pdb-web"),
    ],
)
def test_pdb_default_name(selector: str, name: str) -> None:
    assert pdb.default_name(selector) == name


def test_pdb_blocks_every_disruption_of_the_selected_pods() -> None:
    params = pdb.Params.model_validate({"labelSelector": "app=x,tier!=db"})
    spec = pdb.INJECTOR.content(params)["spec"]  # type: ignore[attr-defined]
    assert spec["maxUnavailable"] == 0
    assert spec["selector"] == {
        "matchLabels": {"app": "x"},
        "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}],
    }


# -- OwnerRefOrphan --------------------------------------------------------------------------

OWNER = {
    "apiVersion": "kubeflow.org/v1",
    "kind": "PyTorchJob",
    "name": "j",
    "uid": "o1",
    "controller": True,
}
POD = ResourceRef("v1", "Pod", "p", "ns")


def test_orphan_record_and_lane() -> None:
    data = orphan.Record(uid="u1", owner_references=[OWNER])
    record = record_of(POD, data, "OwnerRefOrphan")
    assert record.data == {"uid": "u1", "ownerReferences": [OWNER]}
    (lane,) = orphan.INJECTOR.damage(record)
    assert lane.restored(View(obj(POD, uid="u1"))) == (False, "owners: none")
    assert lane.restored(View(obj(POD, uid="u1", ownerReferences=[OWNER])))[0]
    # Another owner is not a re-adoption; a replacement owned by the same owner is.
    other = {**OWNER, "uid": "o2"}
    assert not lane.restored(View(obj(POD, uid="u1", ownerReferences=[other])))[0]
    ok, text = lane.restored(View(obj(POD, uid="u2", ownerReferences=[OWNER])))
    assert ok
    assert text.endswith("(recreated)")
    assert lane.restored(View()) == (False, "object deleted")


def test_orphan_record_needs_owners() -> None:
    with pytest.raises(ValueError, match="at least 1 item"):
        orphan.Record(uid="u1", owner_references=[])


# -- LeaderElectionDisrupt -------------------------------------------------------------------

LEASE = ResourceRef("coordination.k8s.io/v1", "Lease", "l", "ns")
ORIGINAL = {
    "holderIdentity": "pod_1",
    "leaseDurationSeconds": 15,
    "acquireTime": "2026-01-01T00:00:00.000000Z",
    "renewTime": "2026-01-01T00:00:10.000000Z",
}


def test_taking_and_giving_back_the_lease() -> None:
    spec = {**ORIGINAL, "leaseTransitions": 2}
    taken = led.taken_spec(spec, "operator-chaos-r1", 30, "NOW")
    assert taken == {
        "holderIdentity": "operator-chaos-r1",
        "leaseDurationSeconds": 30,
        "acquireTime": "NOW",
        "renewTime": "NOW",
        "leaseTransitions": 3,
    }
    back = led.given_back(taken, ORIGINAL)
    assert back == {**ORIGINAL, "leaseTransitions": 3}  # the counter only counts up
    # A field the Lease did not have is removed again.
    partial = {"holderIdentity": "pod_1"}
    assert led.given_back(taken, partial) == {"holderIdentity": "pod_1", "leaseTransitions": 3}


def test_micro_time_format() -> None:
    moment = datetime(2026, 12, 1, 22, 26, 24, 123456, tzinfo=UTC)
    assert led.micro_time(moment) == "2026-12-01T22:26:24.123456Z"


def test_lease_lane_is_restored_when_someone_else_leads() -> None:
    data = led.Record(uid="u1", holder="operator-chaos-r1", original=ORIGINAL)
    record = record_of(LEASE, data, "LeaderElectionDisrupt")
    assert record.payload(led.Record) == data
    (lane,) = led.INJECTOR.damage(record)

    def lease(holder: str | None) -> RawObject:
        return {**obj(LEASE, uid="u1"), "spec": {"holderIdentity": holder}}

    assert lane.restored(View(lease("operator-chaos-r1"))) == (False, "held by operator-chaos")
    assert lane.restored(View(lease(None))) == (False, "no holder")
    assert lane.restored(View(lease("pod_2"))) == (True, "held by pod_2")
    assert lane.restored(View()) == (False, "Lease deleted")


# -- specs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [quota, pdb, orphan, led])
def test_examples_validate_and_records_are_declared(module: Any) -> None:
    spec = module.SPEC
    spec.params.model_validate(spec.example("my-operator", "my-ns"))
    assert spec.record is module.Record
    assert module.INJECTOR.spec is spec
