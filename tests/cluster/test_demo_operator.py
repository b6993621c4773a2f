"""The demo operator itself, on the real sandbox and without operator-chaos: each kind of
damage the repair faults make is put back, quickly, and nothing is put back while paused.

The repair-fault verdict tests trust this operator to behave like a real one; these tests are
what earns that trust. Every wait watches the object (``wait.wait_for``) with a timeout.
"""

import base64
import time

import pytest
from demo_operator_support import (
    CONFIG_DATA,
    CONFIGMAP,
    DEPLOYMENT,
    LABELS,
    LEASE,
    REPLICAS,
    SECRET,
    SECRET_DATA,
    SECRET_TOKEN,
    TEST_MANAGER,
    WIDGET,
    WIDGET_SPEC,
    DemoOperator,
    demo_operator,
    demo_operator_process,
    ready_condition,
)
from sandbox_support import listeners_by_pid

from operator_chaos.kube import wait
from operator_chaos.kube.client import LightkubeClient
from operator_chaos.kube.port import PatchType, RawObject, ResourceRef

__all__ = ["demo_operator", "demo_operator_process"]  # fixtures, used by name

REPAIR_TIMEOUT = 5.0  # the operator repairs in well under a second; this is slack for CI


async def patch(kube: LightkubeClient, ref: ResourceRef, body: RawObject) -> RawObject:
    return await kube.patch(ref, body, PatchType.MERGE, field_manager=TEST_MANAGER)


async def wait_until(
    kube: LightkubeClient, ref: ResourceRef, predicate: wait.Predicate, what: str
) -> RawObject | None:
    try:
        return await wait.wait_for(
            kube,
            ref.api_version,
            ref.kind,
            ref.name,
            ref.namespace,
            predicate,
            timeout=REPAIR_TIMEOUT,
        )
    except TimeoutError:
        raise AssertionError(f"{ref}: {what} not seen within {REPAIR_TIMEOUT}s") from None


def repairs(log: str) -> list[str]:
    """The repair lines of a stretch of the operator's log ("HH:MM:SS.mmm repaired ...")."""
    return [line for line in log.splitlines() if line.partition(" ")[2].startswith("repaired ")]


def replicas(dep: RawObject | None) -> int | None:
    return None if dep is None else dep["spec"].get("replicas")


async def test_scaled_to_zero_is_scaled_back(
    kube: LightkubeClient, demo_operator: DemoOperator
) -> None:
    mark = demo_operator.mark()
    started = time.monotonic()
    damaged = await patch(kube, DEPLOYMENT, {"spec": {"replicas": 0}})
    assert damaged["spec"]["replicas"] == 0

    await wait_until(kube, DEPLOYMENT, lambda d: replicas(d) == REPLICAS, "replicas back at 2")
    elapsed = time.monotonic() - started
    line = await demo_operator.wait_log("repaired Deployment demo-app spec.replicas", since=mark)
    assert line.endswith("repaired Deployment demo-app spec.replicas 0 -> 2")
    assert elapsed < 2.0, f"repair took {elapsed:.2f}s"


async def test_paused_operator_repairs_nothing_until_resumed(
    kube: LightkubeClient, demo_operator: DemoOperator
) -> None:
    await demo_operator.pause()
    mark = demo_operator.mark()
    lease_before = (await kube.get(LEASE))["spec"]["renewTime"]
    await patch(kube, DEPLOYMENT, {"spec": {"replicas": 0}})

    # No repair for 3 s: a watch that must see nothing but replicas 0 in that window.
    with pytest.raises(TimeoutError):
        await wait.wait_for(
            kube,
            "apps/v1",
            "Deployment",
            DEPLOYMENT.name,
            DEPLOYMENT.namespace,
            lambda d: replicas(d) != 0,
            timeout=3.0,
        )
    log = demo_operator.log_since(mark)
    assert repairs(log) == [], log
    assert "paused: not repairing Deployment demo-app spec.replicas 0 -> 2" in log, log
    # It keeps watching and reporting: the Widget says why it is not Ready ...
    widget = await wait_until(
        kube,
        WIDGET,
        lambda w: ready_condition(w).get("reason") == "RepairPaused",
        "Ready=False/RepairPaused",
    )
    assert ready_condition(widget)["status"] == "False"
    assert "spec.replicas" in ready_condition(widget)["message"]
    # ... and it keeps renewing its Lease.
    await wait_until(
        kube,
        LEASE,
        lambda lease: (lease or {}).get("spec", {}).get("renewTime") != lease_before,
        "a Lease renewal while paused",
    )

    started = time.monotonic()
    demo_operator.pause_file.unlink()
    await wait_until(kube, DEPLOYMENT, lambda d: replicas(d) == REPLICAS, "replicas back at 2")
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"repair after resume took {elapsed:.2f}s (pause poll is 0.5 s)"
    await demo_operator.wait_log("repaired Deployment demo-app spec.replicas 0 -> 2", since=mark)


async def test_deleted_configmap_is_recreated(
    kube: LightkubeClient, demo_operator: DemoOperator
) -> None:
    old = await kube.get(CONFIGMAP)
    mark = demo_operator.mark()
    await kube.delete(CONFIGMAP, uid=old["metadata"]["uid"])

    def recreated(cm: RawObject | None) -> bool:
        return cm is not None and cm["metadata"]["uid"] != old["metadata"]["uid"]

    cm = await wait_until(kube, CONFIGMAP, recreated, "a new ConfigMap")
    assert cm is not None
    assert cm["data"] == CONFIG_DATA
    assert all(cm["metadata"]["labels"].get(k) == v for k, v in LABELS.items())
    await demo_operator.wait_log("repaired ConfigMap demo-config: re-created", since=mark)


async def test_changed_and_added_configmap_keys_are_restored(
    kube: LightkubeClient, demo_operator: DemoOperator
) -> None:
    await patch(kube, CONFIGMAP, {"data": {"mode": "chaos", "extra": "x"}})
    await wait_until(kube, CONFIGMAP, lambda cm: (cm or {}).get("data") == CONFIG_DATA, "data")


async def test_changed_secret_key_is_restored_without_logging_values(
    kube: LightkubeClient, demo_operator: DemoOperator
) -> None:
    injected = "chaos-value-never-logged"
    mark = demo_operator.mark()
    await patch(kube, SECRET, {"data": {"token": base64.b64encode(injected.encode()).decode()}})

    await wait_until(
        kube, SECRET, lambda s: (s or {}).get("data") == SECRET_DATA, "the original token"
    )
    line = await demo_operator.wait_log("repaired Secret demo-secret data.token", since=mark)
    log = demo_operator.log()
    for secret in (injected, SECRET_TOKEN, SECRET_DATA["token"]):
        assert secret not in log
        assert base64.b64encode(secret.encode()).decode() not in log
    assert "<hidden>" in line


@pytest.mark.parametrize("label", sorted(LABELS))
async def test_removed_deployment_label_is_restored(
    kube: LightkubeClient, demo_operator: DemoOperator, label: str
) -> None:
    mark = demo_operator.mark()
    damaged = await patch(kube, DEPLOYMENT, {"metadata": {"labels": {label: None}}})
    assert label not in damaged["metadata"]["labels"]

    await wait_until(
        kube,
        DEPLOYMENT,
        lambda d: ((d or {}).get("metadata", {}).get("labels") or {}).get(label) == LABELS[label],
        f"label {label} restored",
    )
    await demo_operator.wait_log(
        f"repaired Deployment demo-app metadata.labels.{label} <absent> -> {LABELS[label]}",
        since=mark,
    )


async def test_widget_spec_change_is_restored(
    kube: LightkubeClient, demo_operator: DemoOperator
) -> None:
    mark = demo_operator.mark()
    damaged = await patch(kube, WIDGET, {"spec": {"size": 7}})
    assert damaged["spec"]["size"] == 7

    widget = await wait_until(
        kube,
        WIDGET,
        lambda w: (w or {}).get("spec", {}).get("size") == WIDGET_SPEC["size"],
        "spec.size back at 3",
    )
    assert widget is not None
    assert widget["spec"] == WIDGET_SPEC
    await demo_operator.wait_log("repaired Widget demo-widget spec.size 7 -> 3", since=mark)


async def test_operator_binds_no_public_port(demo_operator: DemoOperator) -> None:
    found = listeners_by_pid({demo_operator.process.pid})
    if found is None:
        pytest.skip("cannot list listening sockets on this machine")
    public = [addr for addr in found[demo_operator.process.pid] if addr[0] != "127.0.0.1"]
    assert public == []
