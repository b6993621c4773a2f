"""Engine figures, measured on a running sandbox with the training-operator scenario.

    operator-chaos sandbox up --name bench --scenario training-operator
    python benchmarks/engine.py --sandbox bench [--samples 200] [--hold 5s]

(a) Recovery-detection latency: how long after the cluster event that completes recovery the
    tool has it recorded. A Deployment no controller reconciles (0 replicas, its own namespace)
    carries a condition ``EngineBench``; an :class:`~operator_chaos.observe.recovery.Observer`
    waits on a ``conditionTrue`` check while the condition is flipped False -> True with a
    status PATCH. Stamps, all ``time.monotonic_ns``: PATCH sent, PATCH response, the watch
    event's receive stamp (what recovery times are computed from) and the moment
    ``Observer.wait_steady`` returned (the decision). Latency = receive stamp - PATCH response
    (negative when the event overtakes the response); p50/p95/max over ``--samples``.
(b) API requests of one PodKill run: ``apiserver_request_total`` from the API server's
    /metrics, diffed around a real ``operator-chaos run`` (cluster-wide: the pod replacement
    and the operator's restart are in it), next to an idle window of the same length, and the
    tool's own requests counted client-side (the same run in-process, through a counting
    client).
(c) Wall time of each seed experiment (``--hold``, default stability), as a user runs it.

Prints tables; always exits 0 unless the sandbox is unusable.
"""

import argparse
import asyncio
import collections
import re
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any

from bench_common import REPO, SEEDS, operator_settled, pct, run_cli, seed_wall_times

from operator_chaos.kube import client as kube_client
from operator_chaos.kube import wait
from operator_chaos.kube.port import PatchType, ResourceRef

NAMESPACE = "engine-bench"
NAME = "engine-bench"
CONDITION = "EngineBench"
NS_PER_MS = 1_000_000
_METRIC = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


async def _bench_objects(kube: kube_client.LightkubeClient) -> ResourceRef:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    if await kube.get_or_none(ResourceRef("v1", "Namespace", NAMESPACE)) is None:
        await kube.create(ns)
    labels = {"app": NAME}
    ref = ResourceRef("apps/v1", "Deployment", NAME, NAMESPACE)
    if await kube.get_or_none(ref) is None:
        await kube.create(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": NAME, "namespace": NAMESPACE},
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "c", "image": "registry.invalid/x"}]},
                    },
                },
            }
        )
    # Let the deployment controller write its own status first, so it stays quiet later.
    await wait.wait_for(
        kube,
        "apps/v1",
        "Deployment",
        NAME,
        NAMESPACE,
        lambda o: bool(o and (o.get("status") or {}).get("observedGeneration")),
        timeout=30,
    )
    return ref


async def _set_condition(
    kube: kube_client.LightkubeClient, ref: ResourceRef, status: str
) -> tuple[int, int, str]:
    """Strategic-merge the condition (conditions merge by type): (sent, response) stamps and
    the resourceVersion the write produced."""
    body = {
        "status": {
            "conditions": [
                {"type": CONDITION, "status": status, "reason": "Bench", "message": status}
            ]
        }
    }
    sent = time.monotonic_ns()
    written = await kube.patch(ref, body, PatchType.STRATEGIC, subresource="status")
    return sent, time.monotonic_ns(), str(written["metadata"]["resourceVersion"])


async def detection_latency(kubeconfig: str, samples: int) -> dict[str, list[float]]:
    from operator_chaos.api.v1alpha1 import ConditionTrueCheck
    from operator_chaos.observe.recovery import Observer

    check = ConditionTrueCheck.model_validate(
        {
            "type": "conditionTrue",
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": NAME,
            "namespace": NAMESPACE,
            "conditionType": CONDITION,
        }
    )
    figures: dict[str, list[float]] = {"event": [], "decision": [], "since_sent": []}
    # Two connections: the writer's PATCH never queues behind the observer's watch stream.
    async with (
        kube_client.connect(kubeconfig) as writer,
        kube_client.connect(kubeconfig) as reader,
    ):
        ref = await _bench_objects(writer)
        observer = Observer(reader, [check])
        await observer.start()
        try:
            for _ in range(samples):
                await _set_condition(writer, ref, "False")
                # Wait (by watching) until the observer has seen the check fail.
                while observer.check_round().passed:
                    await observer.watcher.wait_change(10.0)
                seen = len(observer.watcher.changes)
                waiter = asyncio.create_task(observer.wait_steady(10.0))
                await asyncio.sleep(0)  # let the waiter evaluate once and start waiting
                sent, response, version = await _set_condition(writer, ref, "True")
                verdict = await waiter
                decided = time.monotonic_ns()
                if not verdict.passed:
                    raise RuntimeError("the observer missed the condition turning True")
                flipped = next(
                    c for c in observer.watcher.changes[seen:] if c.resource_version == version
                )
                figures["event"].append((flipped.received_ns - response) / NS_PER_MS)
                figures["decision"].append((decided - response) / NS_PER_MS)
                figures["since_sent"].append((flipped.received_ns - sent) / NS_PER_MS)
        finally:
            await observer.stop()
            await writer.delete(ResourceRef("v1", "Namespace", NAMESPACE))
    return figures


# -- (b) API requests of one PodKill run ---------------------------------------------------


async def scrape(kube: kube_client.LightkubeClient) -> collections.Counter[tuple[str, str]]:
    text = await kube.raw("GET", "/metrics")
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    for line in str(text).splitlines():
        match = _METRIC.match(line)
        if not match:
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        resource = labels.get("resource") or labels.get("subresource") or "-"
        if labels.get("resource") and labels.get("subresource"):
            resource += "/" + labels["subresource"]
        counts[(labels.get("verb", "?"), resource)] += int(float(match["value"]))
    return counts


class CountingClient:
    """Wraps the real client and counts each call by (verb, kind)."""

    def __init__(self, inner: kube_client.LightkubeClient) -> None:
        self.inner = inner
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        verbs = {"get": "GET", "get_or_none": "GET", "list": "LIST", "create": "POST"}
        verbs |= {"replace": "PUT", "patch": "PATCH", "delete": "DELETE", "raw": "RAW"}
        verbs |= {"create_subresource": "POST"}
        if name not in verbs:
            return attr

        async def counted(*args: Any, **kwargs: Any) -> Any:
            first = args[0] if args else None
            if isinstance(first, ResourceRef):
                kind = first.kind
            elif isinstance(first, dict):
                kind = str(first.get("kind"))
            else:
                kind = str(args[1]) if len(args) > 1 else str(first)
            self.counts[(verbs[name], kind)] += 1
            result: Awaitable[Any] = attr(*args, **kwargs)
            return await result

        return counted

    def watch(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        self.counts[("WATCH", str(args[1]))] += 1
        return self.inner.watch(*args, **kwargs)

    async def discover(self, *args: Any) -> Any:  # cached after the first call per API
        return await self.inner.discover(*args)


async def tool_requests(kubeconfig: str) -> collections.Counter[tuple[str, str]]:
    from operator_chaos.knowledge import loader
    from operator_chaos.load.experiments import load_file
    from operator_chaos.orchestrator.lifecycle import RunOptions, run_experiment

    (loaded,) = load_file(SEEDS / "pod-kill.yaml")
    knowledge = loader.load_file(REPO / "knowledge" / "training-operator.yaml").model
    async with kube_client.connect(kubeconfig) as kube:
        counting = CountingClient(kube)
        outcome = await run_experiment(
            counting,  # type: ignore[arg-type]
            loaded,
            RunOptions(knowledge=knowledge, stability=_seconds(1)),
        )
        if outcome.result.verdict is None or outcome.result.verdict.value != "Resilient":
            print(
                f"  (in-process PodKill ended {outcome.result.verdict}: {outcome.result.message})"
            )
    return counting.counts


def _seconds(n: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=n)


async def request_counts(kubeconfig: str) -> None:
    async with kube_client.connect(kubeconfig) as kube:
        await operator_settled(kube)
        before = await scrape(kube)
        rc, elapsed, _ = await asyncio.to_thread(
            run_cli, kubeconfig, "run", str(SEEDS / "pod-kill.yaml"), "--stability", "1s"
        )
        after = await scrape(kube)
        run_delta = after - before
        await operator_settled(kube)
        idle_before = await scrape(kube)
        await asyncio.sleep(elapsed)  # an idle window as long as the run: the background rate
        idle_delta = await scrape(kube) - idle_before
    own = await tool_requests(kubeconfig)
    print(f"\n(b) API requests during one PodKill run (exit {rc}, {elapsed:.1f} s)")
    print(f"    {'verb':<8} {'resource':<34} {'run':>6} {'idle':>6} {'net':>6}")
    keys = sorted(set(run_delta) | set(idle_delta), key=lambda k: (-run_delta[k], k))
    for key in keys:
        net = run_delta[key] - idle_delta[key]
        if run_delta[key] or idle_delta[key]:
            print(f"    {key[0]:<8} {key[1]:<34} {run_delta[key]:>6} {idle_delta[key]:>6} {net:>6}")
    total_run, total_idle = sum(run_delta.values()), sum(idle_delta.values())
    print(f"    {'total':<43} {total_run:>6} {total_idle:>6} {total_run - total_idle:>6}")
    print("    the tool's own calls (client-side count, same run in-process):")
    for (verb, kind), n in sorted(own.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"      {verb:<8} {kind:<32} {n:>4}")
    print(f"      {'total':<41} {sum(own.values()):>4}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--sandbox", help="name of a running sandbox")
    where.add_argument("--kubeconfig", help="kubeconfig of the cluster")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--hold", default="5s")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: a,b,c")
    args = parser.parse_args(argv)
    if args.sandbox:
        from operator_chaos.sandbox.cluster import Sandbox

        kubeconfig = str(Sandbox(args.sandbox).kubeconfig)
    else:
        kubeconfig = args.kubeconfig
    skip = set(args.skip.split(","))
    samples = max(1, min(args.samples, 1000))  # bounded

    if "a" not in skip:
        figures = asyncio.run(detection_latency(kubeconfig, samples))
        print(f"(a) recovery-detection latency, {samples} samples (ms; goal p95 < 50)")
        print(f"    {'measure':<44} {'p50':>7} {'p95':>7} {'max':>7} {'min':>7}")
        names = {
            "event": "watch event received - PATCH response",
            "decision": "observer decided - PATCH response",
            "since_sent": "watch event received - PATCH sent",
        }
        for key, label in names.items():
            xs = figures[key]
            print(
                f"    {label:<44} {statistics.median(xs):>7.2f} {pct(xs, 0.95):>7.2f}"
                f" {max(xs):>7.2f} {min(xs):>7.2f}"
            )
    if "b" not in skip:
        asyncio.run(request_counts(kubeconfig))
    if "c" not in skip:
        seed_wall_times(kubeconfig, title="(c)", hold=args.hold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
