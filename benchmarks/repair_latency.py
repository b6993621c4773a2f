"""Repair-fault figures, measured on a running sandbox with the training-operator scenario.

    operator-chaos sandbox up --name bench --scenario training-operator
    python benchmarks/repair_latency.py --sandbox bench [--samples 30] [--seeds] [--runs 3]

(a) Repair-detection latency per repair fault. Repair faults are judged by watching the damaged
    state until the operator restores it, so what matters is how long after the operator's
    repair the tool has it. In namespace ``bench-repair`` (deleted at the end, with the CRD of
    kind ``Bench`` in group ``bench.operatorchaos.io``) the benchmark builds, per type, the
    rollback record ``fieldswap.inject`` writes (path, hadOriginal, original, injectedPresent,
    injected, uid), asks the type's injector for its ``damage(record)``, adds it to an
    :class:`~operator_chaos.observe.recovery.Observer` as a Probe (as ``lifecycle._inject``
    does), makes the damage, waits for the lane to fail, then plays the operator: it patches
    the field back and stamps ``time.monotonic_ns()`` when the PATCH response is in, i.e. when
    the API server had accepted the repair. Per sample, in ms:
      recorded = the lane's ok transition (the watch event's receive stamp) - PATCH response
      decided  = when a waiter looping on ``watcher.wait_change`` sees ``lane_ok`` - PATCH response
    Negative values mean the watch event was read before the PATCH response (both race on
    loopback). Types and fields:
      DeploymentScaleZero  Deployment spec.replicas 1 -> 0
      ConfigDrift          ConfigMap data.mode "original" -> "drifted"
      LabelStomping        ConfigMap metadata.labels.app.kubernetes.io/managed-by -> chaos-stomped
      CRDMutation          Bench spec.size 3 -> 7
    PodKill has no operator write to stamp: a one-replica Deployment's pod is deleted (uid
    precondition, as PodKill does) and the figures are end-to-end from the DELETE response:
    the replacement pod's first watch event (the ReplicaSet controller's create) and the lane
    turning ok (kwok's Ready status, as received), plus the decision.
(b) ``--seeds``: wall time of each seed experiment in experiments/training-operator/ run as a
    user runs it (``python -m operator_chaos run FILE --kubeconfig K --hold 5s --stability 1s``),
    ``--runs`` runs each (default 3), median; the operator is let settle between runs (not
    timed).

Prints tables; exits 0 unless the sandbox is unusable.
"""

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bench_common import pct, seed_wall_times

from operator_chaos.kube import client as kube_client
from operator_chaos.kube import wait
from operator_chaos.kube.port import PatchType, ResourceRef, Selection

NAMESPACE = "bench-repair"
GROUP = "bench.operatorchaos.io"
CRD_NAME = f"benches.{GROUP}"
NS_PER_MS = 1_000_000
WAIT_S = 30.0
NS_REF = ResourceRef("v1", "Namespace", NAMESPACE)
CRD_REF = ResourceRef("apiextensions.k8s.io/v1", "CustomResourceDefinition", CRD_NAME)

Figures = dict[str, list[float]]


def _deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "c", "image": "registry.invalid/bench"}],
                    "terminationGracePeriodSeconds": 0,
                },
            },
        },
    }


_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": CRD_NAME},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": "benches", "singular": "bench", "kind": "Bench"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {"size": {"type": "integer"}},
                            }
                        },
                    }
                },
            }
        ],
    },
}


async def _setup(kube: kube_client.LightkubeClient) -> None:
    """The namespace, the CRD (Established) and one object per fault type."""
    if await kube.get_or_none(NS_REF) is None:
        await kube.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        )
    if await kube.get_or_none(CRD_REF) is None:
        await kube.create(_CRD)
    await wait.wait_for(
        kube,
        CRD_REF.api_version,
        CRD_REF.kind,
        CRD_NAME,
        None,
        lambda o: wait.condition_true(o, "Established"),
        timeout=WAIT_S,
    )
    # The service account controller must have made "default" before pods can be created.
    await wait.wait_for(
        kube, "v1", "ServiceAccount", "default", NAMESPACE, lambda o: o is not None, timeout=WAIT_S
    )
    objects: list[dict[str, Any]] = [
        _deployment("bench-scale", 1),
        _deployment("bench-pod", 1),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "bench-config", "namespace": NAMESPACE},
            "data": {"mode": "original"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "bench-labels",
                "namespace": NAMESPACE,
                "labels": {"app.kubernetes.io/managed-by": "bench"},
            },
        },
        {
            "apiVersion": f"{GROUP}/v1",
            "kind": "Bench",
            "metadata": {"name": "bench-cr", "namespace": NAMESPACE},
            "spec": {"size": 3},
        },
    ]
    for obj in objects:
        for attempt in range(20):  # a fresh CRD can take a moment to be served
            try:
                await kube.create(obj)
                break
            except Exception:
                if attempt == 19:
                    raise
                await asyncio.sleep(0.5)
    await _pods_ready(kube, "bench-pod")


async def _pods_ready(kube: kube_client.LightkubeClient, deployment: str) -> None:
    await wait.wait_for(
        kube,
        "apps/v1",
        "Deployment",
        deployment,
        NAMESPACE,
        lambda o: bool(
            o
            and (o.get("status") or {}).get("readyReplicas") == 1
            and (o.get("status") or {}).get("replicas") == 1
            and (o.get("status") or {}).get("observedGeneration") == o["metadata"]["generation"]
        ),
        timeout=WAIT_S,
    )


async def _teardown(kube: kube_client.LightkubeClient) -> None:
    await kube.delete(NS_REF)
    await kube.delete(CRD_REF)
    await wait.wait_for(kube, "v1", "Namespace", NAMESPACE, None, lambda o: o is None, timeout=120)


# -- records ---------------------------------------------------------------------------------


def _record(injection_type: str, ref: ResourceRef, data: dict[str, Any]) -> Any:
    """The rollback record the injector would have written (not stored: only read here)."""
    from operator_chaos.safety.ledger import RollbackRecord, Target

    now = datetime.now(UTC)
    return RollbackRecord(
        id="001",
        type=injection_type,
        target=Target.of(ref),
        data=data,
        created_at=now,
        expires_at=now + timedelta(hours=1),
        state="applied",
    ).sealed()


def _field_record(
    injection_type: str, ref: ResourceRef, obj: dict[str, Any], path: Sequence[str], new: Any
) -> Any:
    """As ``fieldswap.inject`` records it."""
    from operator_chaos.injection import fieldswap

    present, original = fieldswap.lookup(obj, path)
    return _record(
        injection_type,
        ref,
        {
            "path": list(path),
            "hadOriginal": present,
            "original": original,
            "injectedPresent": True,
            "injected": new,
            "createdFrom": None,
            "uid": obj["metadata"]["uid"],
        },
    )


def _nested(path: Sequence[str], value: Any) -> dict[str, Any]:
    """A merge patch setting ``path`` to ``value``."""
    body: Any = value
    for part in reversed(path):
        body = {part: body}
    assert isinstance(body, dict)
    return body


async def _probe_lane(observer: Any, injection_type: str, record: Any) -> str:
    """Add the injector's damage for ``record`` as lanes, as ``lifecycle._inject`` does."""
    from operator_chaos.injection import registry
    from operator_chaos.observe.recovery import Probe

    (damage,) = registry.injector_for(injection_type).damage(record)
    probe = Probe(f"{damage.target} {damage.field}", "damage", damage.watch, damage.restored)
    (name,) = await observer.add_probes([probe])
    return str(name)


async def _until(observer: Any, name: str, ok: bool) -> int:
    """Wait (by watching) until lane ``name`` is ``ok``; the monotonic stamp when seen."""
    deadline = time.monotonic() + WAIT_S
    while observer.lane_ok(name) != ok:
        if not await observer.watcher.wait_change(deadline - time.monotonic()):
            raise RuntimeError(f"lane {name} did not turn {'ok' if ok else 'failing'}")
    return time.monotonic_ns()


# -- (a) field faults ------------------------------------------------------------------------

FIELD_FAULTS: list[tuple[str, ResourceRef, tuple[str, ...], Any]] = [
    (
        "DeploymentScaleZero",
        ResourceRef("apps/v1", "Deployment", "bench-scale", NAMESPACE),
        ("spec", "replicas"),
        0,
    ),
    (
        "ConfigDrift",
        ResourceRef("v1", "ConfigMap", "bench-config", NAMESPACE),
        ("data", "mode"),
        "drifted",
    ),
    (
        "LabelStomping",
        ResourceRef("v1", "ConfigMap", "bench-labels", NAMESPACE),
        ("metadata", "labels", "app.kubernetes.io/managed-by"),
        "chaos-stomped",
    ),
    (
        "CRDMutation",
        ResourceRef(f"{GROUP}/v1", "Bench", "bench-cr", NAMESPACE),
        ("spec", "size"),
        7,
    ),
]


async def field_fault(
    writer: kube_client.LightkubeClient,
    reader: kube_client.LightkubeClient,
    injection_type: str,
    ref: ResourceRef,
    path: tuple[str, ...],
    injected: Any,
    samples: int,
) -> Figures:
    from operator_chaos.injection import fieldswap
    from operator_chaos.observe.recovery import Observer

    obj = await writer.get(ref)
    record = _field_record(injection_type, ref, obj, path, injected)
    original = fieldswap.lookup(obj, path)[1]
    figures: Figures = {"recorded": [], "decided": [], "recorded_since_sent": []}
    observer = Observer(reader, [])  # one observer per run, as the lifecycle has
    await observer.start()
    try:
        name = await _probe_lane(observer, injection_type, record)
        for _ in range(samples):
            await writer.patch(ref, _nested(path, injected), PatchType.MERGE)  # the fault
            await _until(observer, name, False)
            lane = observer.lanes[name]
            before = len(lane.transitions)
            waiter = asyncio.create_task(_until(observer, name, True))
            await asyncio.sleep(0)  # the waiter evaluates once and starts waiting
            sent = time.monotonic_ns()
            await writer.patch(ref, _nested(path, original), PatchType.MERGE)  # the "operator"
            accepted = time.monotonic_ns()
            decided = await waiter
            at, ok, _ = lane.transitions[-1]
            if not ok or len(lane.transitions) != before + 1:
                raise RuntimeError(f"{injection_type}: unexpected lane history {lane.transitions}")
            figures["recorded"].append((at - accepted) / NS_PER_MS)
            figures["decided"].append((decided - accepted) / NS_PER_MS)
            figures["recorded_since_sent"].append((at - sent) / NS_PER_MS)
    finally:
        await observer.stop()
    return figures


# -- (a) PodKill -----------------------------------------------------------------------------


def _live(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


async def pod_kill(
    writer: kube_client.LightkubeClient, reader: kube_client.LightkubeClient, samples: int
) -> Figures:
    from operator_chaos.observe.recovery import Observer

    selector = "app=bench-pod"
    selection = Selection("v1", "Pod", NAMESPACE, selector)
    figures: Figures = {"created": [], "recorded": [], "decided": []}
    observer = Observer(reader, [], extra_watch=[selection])
    await observer.start()
    try:
        for _ in range(samples):
            await _pods_ready(writer, "bench-pod")
            deadline = time.monotonic() + WAIT_S
            while len(live := _live(observer.watcher.select(selection))) != 1:
                if not await observer.watcher.wait_change(deadline - time.monotonic()):
                    raise RuntimeError(f"PodKill: {len(live)} live pods, expected 1")
            (pod,) = live
            ref = ResourceRef("v1", "Pod", pod["metadata"]["name"], NAMESPACE)
            uid = pod["metadata"]["uid"]
            record = _record("PodKill", ref, {"uid": uid, "selector": selector, "readyBefore": 1})
            name = await _probe_lane(observer, "PodKill", record)  # failing: the pod is excluded
            lane = observer.lanes[name]
            seen = len(observer.watcher.changes)
            waiter = asyncio.create_task(_until(observer, name, True))
            await asyncio.sleep(0)
            await writer.delete(ref, uid=uid)
            deleted = time.monotonic_ns()
            decided = await waiter
            at, ok, _ = lane.transitions[-1]
            if not ok:
                raise RuntimeError(f"PodKill: unexpected lane history {lane.transitions}")
            created = next(
                c.received_ns
                for c in observer.watcher.changes[seen:]
                if c.type == "ADDED" and c.ref.name != ref.name
            )
            figures["created"].append((created - deleted) / NS_PER_MS)
            figures["recorded"].append((at - deleted) / NS_PER_MS)
            figures["decided"].append((decided - deleted) / NS_PER_MS)
    finally:
        await observer.stop()
    return figures


async def repair_latency(kubeconfig: str, samples: int) -> dict[str, Figures]:
    results: dict[str, Figures] = {}
    # Two connections: the "operator's" PATCH never queues behind the observer's watches.
    async with (
        kube_client.connect(kubeconfig) as writer,
        kube_client.connect(kubeconfig) as reader,
    ):
        try:
            await _setup(writer)
            for injection_type, ref, path, injected in FIELD_FAULTS:
                results[injection_type] = await field_fault(
                    writer, reader, injection_type, ref, path, injected, samples
                )
            results["PodKill"] = await pod_kill(writer, reader, samples)
        finally:
            await _teardown(writer)
    return results


def print_repair(results: dict[str, Figures], samples: int) -> None:
    print(f"(a) repair-detection latency, {samples} samples per type (ms; p50 / p95 / max / min)")
    labels = {
        "recorded": "lane ok (event received) - repair PATCH response",
        "decided": "decision (lane_ok seen) - repair PATCH response",
        "recorded_since_sent": "lane ok (event received) - repair PATCH sent",
    }
    pod_labels = {
        "created": "replacement pod's first event - DELETE response",
        "recorded": "lane ok (Ready event received) - DELETE response",
        "decided": "decision (lane_ok seen) - DELETE response",
    }
    for injection_type, figures in results.items():
        names = pod_labels if injection_type == "PodKill" else labels
        suffix = (
            "  (end-to-end replacement: no operator write)" if injection_type == "PodKill" else ""
        )
        print(f"  {injection_type}{suffix}")
        for key, label in names.items():
            xs = figures[key]
            print(
                f"    {label:<52} {statistics.median(xs):>8.2f} {pct(xs, 0.95):>8.2f}"
                f" {max(xs):>8.2f} {min(xs):>8.2f}"
            )


# -- (b) seed wall times ---------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--sandbox", help="name of a running sandbox")
    where.add_argument("--kubeconfig", help="kubeconfig of the cluster")
    parser.add_argument("--samples", type=int, default=30, help="per type (1-200)")
    parser.add_argument("--seeds", action="store_true", help="also time the seed experiments")
    parser.add_argument("--seeds-only", action="store_true", help="only time the seeds")
    parser.add_argument("--runs", type=int, default=3, help="runs per seed (1-10)")
    args = parser.parse_args(argv)
    if args.sandbox:
        from operator_chaos.sandbox.cluster import Sandbox

        kubeconfig = str(Sandbox(args.sandbox).kubeconfig)
    else:
        kubeconfig = args.kubeconfig
    samples = max(1, min(args.samples, 200))  # bounded
    if not args.seeds_only:
        print_repair(asyncio.run(repair_latency(kubeconfig, samples)), samples)
    if args.seeds or args.seeds_only:
        runs = max(1, min(args.runs, 10))
        seed_wall_times(kubeconfig, title="(b)", hold="5s", stability="1s", runs=runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
