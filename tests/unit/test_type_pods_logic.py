"""CrashLoopInject and ImageCorrupt: parameters, the container path, the record round trip,
how pods show each fault, and the two damage lanes (pure logic; the cluster side is in
tests/cluster/test_type_pods.py)."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from operator_chaos.injection import fieldswap, podtemplate, registry, targets
from operator_chaos.injection.builtin import crash_loop_inject, image_corrupt
from operator_chaos.kube.port import RawObject, ResourceRef, Selection
from operator_chaos.safety import ledger

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DEP = ResourceRef("apps/v1", "Deployment", "demo-app", "demo")


def deployment(*containers: dict[str, Any], **status: Any) -> RawObject:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "demo-app", "namespace": "demo", "uid": "u1", "generation": 3},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "demo"}},
            "template": {"spec": {"containers": list(containers)}},
        },
        "status": status,
    }


class View:
    """A StateView over fixed objects."""

    def __init__(self, *objs: RawObject) -> None:
        self.objs = {ResourceRef.of(o): o for o in objs}

    def get(self, ref: ResourceRef) -> RawObject | None:
        return self.objs.get(ref)

    def select(self, selection: Selection) -> list[RawObject]:
        return []


# -- parameters ------------------------------------------------------------------------------


def test_reference_parameters_validate_with_their_defaults() -> None:
    crash = crash_loop_inject.Params.model_validate({"name": "kubeflow-training-operator"})
    assert crash.container_name is None
    image = image_corrupt.Params.model_validate({"name": "x", "containerName": "manager"})
    assert image.container_name == "manager"
    assert image.image == "registry.invalid/nonexistent:chaos"


@pytest.mark.parametrize(
    "params",
    [
        {"name": "x", "containerName": "Manager"},  # not a DNS label
        {"name": "x", "command": "/bin/false"},  # unknown parameter
        {"name": "chaos-result-x"},  # the tool's own objects
        {"containerName": "manager"},  # no Deployment
    ],
)
def test_bad_parameters_are_refused(params: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        crash_loop_inject.Params.model_validate(params)


def test_an_image_with_spaces_is_refused() -> None:
    with pytest.raises(ValidationError):
        image_corrupt.Params.model_validate({"name": "x", "image": "a b"})


@pytest.mark.parametrize("module", [crash_loop_inject, image_corrupt])
def test_spec_is_runnable_and_its_example_validates(module: Any) -> None:
    spec = module.SPEC
    assert spec.record is podtemplate.Record
    spec.params.model_validate(spec.example("demo-app", "demo"))
    assert registry.injector_for(spec.injection_type) is module.INJECTOR
    assert any(a.resource == "pods" and "watch" in a.verbs for a in spec.access)


# -- the container -------------------------------------------------------------------------


def test_container_defaults_to_the_first_and_is_found_by_name() -> None:
    obj = deployment({"name": "app", "image": "a"}, {"name": "sidecar", "image": "s"})
    assert podtemplate.pick_container(DEP, obj, None) == "app"
    assert podtemplate.pick_container(DEP, obj, "sidecar") == "sidecar"


def test_a_missing_container_is_refused_with_the_names_there_are() -> None:
    obj = deployment({"name": "app", "image": "a"}, {"name": "sidecar", "image": "s"})
    with pytest.raises(targets.InjectionRefused, match=r"no container 'db' \(containers: app"):
        podtemplate.pick_container(DEP, obj, "db")
    with pytest.raises(targets.InjectionRefused, match="no containers"):
        podtemplate.pick_container(DEP, deployment(), None)


def test_the_plan_line_names_the_container_not_an_index() -> None:
    obj = deployment({"name": "sidecar", "image": "s"}, {"name": "app", "image": "a:1"})
    path = podtemplate.container_path("app", "image")
    line = fieldswap.change(DEP, obj, path, "registry.invalid/x:y")
    assert line.field == "spec.template.spec.containers[name=app].image"
    assert (line.before, line.after) == ("'a:1'", "'registry.invalid/x:y'")
    command = fieldswap.change(DEP, obj, podtemplate.container_path("app", "command"), ["/x"])
    assert (command.before, command.after) == ("unset", "['/x']")


def test_selector_text_covers_labels_and_expressions() -> None:
    selector = {
        "matchLabels": {"b": "2", "a": "1"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["x", "y"]},
            {"key": "env", "operator": "NotIn", "values": ["prod"]},
            {"key": "has", "operator": "Exists"},
            {"key": "not", "operator": "DoesNotExist"},
        ],
    }
    assert podtemplate.selector_text(DEP, selector) == (
        "a=1,b=2,tier in (x,y),env notin (prod),has,!not"
    )
    with pytest.raises(targets.InjectionRefused, match="empty pod selector"):
        podtemplate.selector_text(DEP, {})


# -- the record --------------------------------------------------------------------------------


def record(data: podtemplate.Record) -> ledger.RollbackRecord:
    return ledger.RollbackRecord(
        id="001",
        type="ImageCorrupt",
        target=ledger.Target.of(DEP),
        data=data.model_dump(mode="json", by_alias=True),
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
        state="applied",
    ).sealed()


def image_record() -> ledger.RollbackRecord:
    return record(
        podtemplate.Record(
            path=list(podtemplate.container_path("app", "image")),
            had_original=True,
            original="a:1",
            injected_present=True,
            injected="registry.invalid/x:y",
            uid="u1",
        )
    )


def test_the_record_keeps_the_container_key_through_json() -> None:
    stored = image_record()
    again = ledger.RollbackRecord.model_validate_json(stored.model_dump_json())
    again.verify("test")
    data = again.payload(podtemplate.Record)
    assert data.path[4] == fieldswap.Item(key="name", value="app")
    assert {"key": "name", "value": "app"} in json.loads(stored.model_dump_json())["data"]["path"]
    assert fieldswap.dotted(data.path) == "spec.template.spec.containers[name=app].image"


# -- the damage lanes ------------------------------------------------------------------------


def test_the_field_lane_finds_the_container_after_a_reorder() -> None:
    (field, rollout) = image_corrupt.INJECTOR.damage(image_record())
    assert rollout.role == "invariant"
    broken = deployment({"name": "app", "image": "registry.invalid/x:y"}, {"name": "s"})
    assert field.restored(View(broken)) == (False, "'registry.invalid/x:y'")
    reordered = deployment({"name": "s"}, {"name": "app", "image": "a:1"})
    assert field.restored(View(reordered)) == (True, "'a:1'")
    assert field.restored(View())[0] is False


def test_the_rollout_lane_needs_every_replica_of_the_current_template() -> None:
    lane = podtemplate.rolled_out(DEP)
    healthy = {
        "observedGeneration": 3,
        "replicas": 2,
        "updatedReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "conditions": [{"type": "Available", "status": "True"}],
    }
    ok, text = lane.restored(View(deployment({"name": "app"}, **healthy)))
    assert ok, text
    stalled = {**healthy, "replicas": 3, "updatedReplicas": 1, "unavailableReplicas": 1}
    ok, text = lane.restored(View(deployment({"name": "app"}, **stalled)))
    assert not ok
    assert text == "1 updated, 2 ready, 2 available of 2 (3 pods in all)"
    stale = {**healthy, "observedGeneration": 2}
    assert lane.restored(View(deployment({"name": "app"}, **stale)))[0] is False
    assert lane.restored(View()) == (False, "Deployment deleted")


# -- how pods show the fault -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (
            {"restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
            "waiting: CrashLoopBackOff (3 restarts)",
        ),
        (
            {"restartCount": 0, "state": {"terminated": {"exitCode": 127, "reason": "Error"}}},
            "exited with code 127 (Error, 0 restarts)",
        ),
        (
            {
                "restartCount": 1,
                "state": {"running": {}},
                "lastState": {"terminated": {"exitCode": 1}},
            },
            "exited with code 1 (Error, 1 restarts)",
        ),
        ({"restartCount": 0, "state": {"running": {}}, "ready": True}, None),
        ({"restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}, None),
    ],
)
def test_crash_loop_is_seen_in_the_container_status(status: RawObject, shown: str | None) -> None:
    assert crash_loop_inject.CrashLoopInject().failure(status) == shown


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        ("ErrImagePull", "waiting: ErrImagePull"),
        ("ImagePullBackOff", "waiting: ImagePullBackOff"),
        ("ContainerCreating", None),
        ("CrashLoopBackOff", None),
    ],
)
def test_image_pull_failure_is_seen_in_the_container_status(reason: str, shown: str | None) -> None:
    status = {"state": {"waiting": {"reason": reason}}}
    assert image_corrupt.ImageCorrupt().failure(status) == shown


def test_container_status_is_found_by_name() -> None:
    pod = {"status": {"containerStatuses": [{"name": "s"}, {"name": "app", "restartCount": 2}]}}
    assert podtemplate.container_status(pod, "app") == {"name": "app", "restartCount": 2}
    assert podtemplate.container_status({}, "app") is None
