"""The sandbox's kubelet for one node: runs real operator processes for their pods.

kwok plays the kubelet for the fake node ``kwok-node-0`` and marks every pod there Running and
Ready whatever its image or command. Scenario operators' pods are scheduled instead onto the
node ``sandbox-agent`` (the installer adds a nodeSelector and a toleration of its taint to
the operator's Deployment), which kwok does not manage. This agent is that node's kubelet:

- it keeps the Node Ready (status heartbeat every 10 s);
- for each pod bound to the node that belongs to a scenario operator (see :mod:`workload`):
  an image the scenario does not declare gives ``ErrImagePull`` then ``ImagePullBackOff`` and
  no process; a container command other than the declared one "starts" and terminates with
  exit 127 (nothing is ever executed from a pod spec); otherwise it runs the operator's real
  binary with the scenario's arguments, as the pod's ServiceAccount (a TokenRequest token
  bound to the pod). A container that terminates is restarted with back-off (1 s doubling to
  30 s) and shows ``CrashLoopBackOff``, ``restartCount`` and ``lastState``; readiness comes
  from the operator's readiness endpoint (probed every second, 3 failures = not ready) or,
  without one, from the process being up. It writes the pod status, so the Deployment's
  Available condition follows the operator's health;
- a deleted pod's process gets SIGTERM (SIGKILL after the grace period), then the agent
  completes the deletion, as a kubelet does;
- pods of anything else that land on the node are simply marked Running and Ready (kwok's
  behaviour);
- the operator's API traffic and the stable port relays (webhooks) pass through
  :mod:`proxy` relays, partitioned while a NetworkPolicy isolates the serving pod.

Everything it does is recorded in ``agent-status.json``.
Run as ``python -m operator_chaos.sandbox.agent SANDBOX_DIR``; ``sandbox up`` starts it.
"""

import asyncio
import contextlib
import json
import logging
import os
import signal
import ssl
import sys
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from operator_chaos.kube import client as kube_client
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.sandbox import egress, netpol, ports, processes, volumes
from operator_chaos.sandbox.cluster import AGENT_NODE, agent_node, kubeconfig_yaml
from operator_chaos.sandbox.proxy import ApiRelay, PartitionableRelay
from operator_chaos.sandbox.scenario import expand, named_placeholders
from operator_chaos.sandbox.workload import WorkloadSpec, workloads_dir

log = logging.getLogger("operator_chaos.sandbox.agent")
TOKEN_SECONDS = 7 * 24 * 3600
VOLUME_WAIT_S = 10.0
"""How long a process start waits for its projected volumes before starting anyway."""
MAX_GRACE = 10.0
BACKOFF_BASE = 1.0
BACKOFF_MAX = 30.0
BACKOFF_RESET_AFTER = 30.0  # a container that ran this long starts its back-off afresh
PROBE_PERIOD = 1.0
PROBE_FAILURES = 3
PULL_ERROR_SHOWN = 1.0  # ErrImagePull is shown this long, then ImagePullBackOff
HEARTBEAT = 10.0
NOT_IN_IMAGE = 127
_STARTED = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> str:
    """An RFC 3339 timestamp, as Kubernetes writes them."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class Container:
    """The runtime state of one pod's operator container (what a container runtime knows)."""

    ports: dict[str, int] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=lambda: {"waiting": {"reason": "Pending"}})
    last_state: dict[str, Any] = field(default_factory=dict)
    restart_count: int = 0
    attempts: int = 0
    ready: bool = False
    process: asyncio.subprocess.Process | None = None
    started_mono: float = 0.0
    next_attempt: float = 0.0
    backoff: float = BACKOFF_BASE
    pull_failed_at: float | None = None
    probe_failures: int = 0
    last_probe: float = 0.0
    probing: bool = False
    last_exit: int | None = None


@dataclass(slots=True)
class PodRuntime:
    """One pod bound to the agent's node."""

    pod: RawObject
    pod_ip: str
    workload: str | None = None
    container: Container = field(default_factory=Container)
    written: dict[str, Any] | None = None
    transitions: dict[str, tuple[str, str]] = field(default_factory=dict)
    deleting: bool = False
    volumes: dict[str, "asyncio.Task[None]"] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.pod["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.pod["metadata"]["namespace"])

    @property
    def uid(self) -> str:
        return str(self.pod["metadata"]["uid"])

    def running(self) -> bool:
        proc = self.container.process
        return proc is not None and proc.returncode is None


@dataclass(slots=True)
class Relays:
    """A workload's loopback relays: its API traffic and one stable port per named port."""

    egress: PartitionableRelay
    ports: dict[str, PartitionableRelay]

    def all(self) -> list[PartitionableRelay]:
        return [self.egress, *self.ports.values()]


class Agent:
    """The kubelet of node ``sandbox-agent``: pods, processes, relays, node heartbeat."""

    def __init__(self, sandbox: Path) -> None:
        self.sandbox = sandbox
        state = json.loads((sandbox / "state.json").read_text())
        self.api_port = int(state["apiserver_port"])
        self.status_file = sandbox / "agent-status.json"
        self.workloads: dict[str, WorkloadSpec] = {}
        self.relays: dict[str, Relays] = {}
        self.pods: dict[str, RawObject] = {}
        self.policies: dict[str, RawObject] = {}
        self.runtimes: dict[str, PodRuntime] = {}
        self.starts: dict[str, int] = {}
        self._dirty = asyncio.Event()
        self._ip_counter = 1
        self._kube: KubeClient | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()  # reloads and reconciles never interleave

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background, keeping a reference until it ends."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def kube(self) -> KubeClient:
        assert self._kube is not None
        return self._kube

    # -- workloads -----------------------------------------------------------------------

    async def reload(self) -> None:
        """Re-read the workload specs (on start and on SIGHUP)."""
        async with self._lock:
            await self._reload()

    async def _reload(self) -> None:
        specs = {
            p.stem: WorkloadSpec.load(p) for p in sorted(workloads_dir(self.sandbox).glob("*.json"))
        }
        changed = [n for n in self.workloads if n not in specs or specs[n] != self.workloads[n]]
        for name in changed:
            self.workloads.pop(name)
            for relay in self.relays.pop(name).all():
                await relay.close()
        for name, spec in specs.items():
            if name in self.workloads:
                continue
            relays = Relays(
                # The operator's API traffic: TLS terminated here so ClientFault's table (the
                # reference SDK's ConfigMaps in its namespace) applies to its own calls.
                ApiRelay(
                    f"{name}-egress",
                    spec.api_proxy_port,
                    self.api_port,
                    self.sandbox / "pki",
                    kube=self.kube,
                    namespace=spec.namespace,
                ),
                {
                    port: PartitionableRelay(f"{name}-{port}", listen, 9)
                    for port, listen in spec.relays.items()
                },
            )
            for relay in relays.all():
                await relay.start()
            self.workloads[name] = spec
            self.relays[name] = relays
        for runtime in self.runtimes.values():
            runtime.workload = self._workload_of(runtime.pod)
        # A changed command line: the operator's processes start again with the new one (the
        # new spec is in place first, so nothing restarts them with the old one meanwhile).
        for runtime in [r for r in self.runtimes.values() if r.workload in changed]:
            await self._stop_process(runtime, "scenario changed")
            runtime.container.next_attempt = 0.0
        self._dirty.set()

    def _workload_of(self, pod: RawObject) -> str | None:
        return next((n for n, w in self.workloads.items() if w.matches(pod)), None)

    # -- main loop -----------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        async with kube_client.connect(str(self.sandbox / "kubeconfig")) as kube:
            self._kube = kube
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            loop.add_signal_handler(signal.SIGINT, stop.set)
            await self.reload()
            proxy: egress.EgressProxy | None = None
            try:
                proxy = egress.EgressProxy(
                    egress.socket_path(self.sandbox), kube, self._egress_backends
                )
                await proxy.start()
            except (egress.EgressError, OSError) as exc:
                log.warning("no egress proxy for Service webhooks: %s", exc)
                proxy = None
            tasks = [
                asyncio.create_task(self._heartbeat()),
                asyncio.create_task(
                    self._mirror(
                        "v1", "Pod", self.pods, field_selector=f"spec.nodeName={AGENT_NODE}"
                    )
                ),
                asyncio.create_task(
                    self._mirror("networking.k8s.io/v1", "NetworkPolicy", self.policies)
                ),
                asyncio.create_task(self._reconcile_loop()),
            ]
            self.write_status()
            await stop.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for runtime in list(self.runtimes.values()):
                await self._stop_process(runtime, "agent stopping")
            for relays in self.relays.values():
                for relay in relays.all():
                    await relay.close()
            if proxy is not None:
                await proxy.close()
        self.status_file.unlink(missing_ok=True)

    def _egress_backends(self) -> list[egress.Backend]:
        """The serving pod of each workload, reached through its stable port relays."""
        backends = []
        for name in self.workloads:
            active = self.serving(name)
            if active is not None:
                listen = {p: r.listen_port for p, r in self.relays[name].ports.items()}
                backends.append(egress.backend_for(active.pod, listen))
        return backends

    async def _heartbeat(self) -> None:
        """Keep the node registered and Ready (a kubelet's node status updates)."""
        while True:
            try:
                node = ResourceRef("v1", "Node", AGENT_NODE)
                try:
                    await self.kube.patch(node, {"status": _node_status()}, subresource="status")
                except kube_errors.NotFound:  # first start, or someone deleted the node
                    with contextlib.suppress(kube_errors.Conflict):
                        await self.kube.create(agent_node())
                    await self.kube.patch(node, {"status": _node_status()}, subresource="status")
            except kube_errors.KubeError as exc:
                log.warning("node heartbeat failed: %s", exc)
            await asyncio.sleep(HEARTBEAT)

    async def _mirror(
        self,
        api_version: str,
        kind: str,
        into: dict[str, RawObject],
        *,
        field_selector: str | None = None,
    ) -> None:
        """Keep ``into`` equal to the live objects (list, then watch; re-list on 410)."""
        while True:
            try:
                listed = await self.kube.list(api_version, kind, field_selector=field_selector)
                into.clear()
                into.update({o["metadata"]["uid"]: o for o in listed.items})
                self._dirty.set()
                async for event in self.kube.watch(
                    api_version,
                    kind,
                    field_selector=field_selector,
                    resource_version=listed.resource_version,
                ):
                    if event.type == "BOOKMARK":
                        continue
                    uid = event.object["metadata"]["uid"]
                    if event.type == "DELETED":
                        into.pop(uid, None)
                    else:
                        into[uid] = event.object
                    self._dirty.set()
            except kube_errors.Gone:
                continue
            except kube_errors.KubeError as exc:
                log.warning("%s watch failed (%s); retrying", kind, exc)
                await asyncio.sleep(1.0)

    async def _reconcile_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), timeout=0.5)
            self._dirty.clear()
            try:
                async with self._lock:
                    await self._reconcile()
            except kube_errors.KubeError as exc:
                log.warning("reconcile: %s", exc)
            self.write_status()

    async def _reconcile(self) -> None:
        for uid in [u for u in self.runtimes if u not in self.pods]:
            runtime = self.runtimes.pop(uid)  # deleted outright (grace 0 or by us)
            await self._stop_process(runtime, "pod deleted")
        for uid, pod in list(self.pods.items()):
            if uid not in self.runtimes:
                self.runtimes[uid] = PodRuntime(pod, self._next_ip(), self._workload_of(pod))
            runtime = self.runtimes[uid]
            runtime.pod = pod
            with contextlib.suppress(kube_errors.NotFound):
                await self._sync(runtime)
        self._route()

    def _next_ip(self) -> str:
        self._ip_counter = self._ip_counter % 250 + 1
        return f"10.244.1.{self._ip_counter + 1}"

    # -- one pod -------------------------------------------------------------------------

    async def _sync(self, runtime: PodRuntime) -> None:
        meta = runtime.pod["metadata"]
        if meta.get("deletionTimestamp"):
            if not runtime.deleting:
                runtime.deleting = True
                self._spawn(self._finish_deletion(runtime))
            return
        spec = self.workloads.get(runtime.workload or "")
        if spec is not None:
            await self._sync_container(runtime, spec)
        await self._write_status(runtime, spec)

    async def _finish_deletion(self, runtime: PodRuntime) -> None:
        """SIGTERM, wait up to the grace period, then remove the pod (the kubelet's part)."""
        await self._stop_process(runtime, "pod deleted")
        with contextlib.suppress(kube_errors.NotFound, kube_errors.Conflict):
            await self.kube.delete(
                ResourceRef("v1", "Pod", runtime.name, runtime.namespace),
                grace_period_seconds=0,
                uid=runtime.uid,
            )
        self._dirty.set()

    async def _sync_container(self, runtime: PodRuntime, spec: WorkloadSpec) -> None:
        c = runtime.container
        template = _container(runtime.pod, spec.container)
        now = time.monotonic()
        if c.process is not None and c.process.returncode is not None:
            # A container killed by a signal reports 128 + the signal, as runtimes do.
            code = c.process.returncode if c.process.returncode >= 0 else 128 - c.process.returncode
            c.process = None
            log.warning("%s/%s exited with %s", spec.name, runtime.name, code)
            self._terminated(runtime, code, "Error" if code else "Completed", "")
            (self.sandbox / "pids" / _pid_name(spec, runtime)).unlink(missing_ok=True)
        if runtime.running():
            await self._probe_if_due(runtime, spec, now)
            return
        image = str(template.get("image", ""))
        if image not in spec.images:
            self._image_missing(runtime, spec, image, now)
            return
        c.pull_failed_at = None
        if now < c.next_attempt:
            return
        if c.attempts > 0:
            c.restart_count += 1
        c.attempts += 1
        command = template.get("command")
        if command and command != spec.command:
            text = " ".join(str(part) for part in command)
            self._terminated(
                runtime,
                NOT_IN_IMAGE,
                "Error",
                f'exec: "{command[0]}": not in the image (the sandbox runs only'
                f" {' '.join(spec.command or ['the entrypoint'])} for {image}); command: {text}",
            )
            return
        await self._start_process(runtime, spec)

    def _image_missing(
        self, runtime: PodRuntime, spec: WorkloadSpec, image: str, now: float
    ) -> None:
        c = runtime.container
        if now >= c.next_attempt:
            c.pull_failed_at = now
            c.next_attempt = now + c.backoff
            c.backoff = min(c.backoff * 2, BACKOFF_MAX)
            message = (
                f'Failed to pull image "{image}": not present in the sandbox (scenario'
                f" {spec.scenario} declares {', '.join(spec.images)})"
            )
            c.state = {"waiting": {"reason": "ErrImagePull", "message": message}}
            log.warning("%s/%s: %s", spec.name, runtime.name, message)
        elif c.pull_failed_at is not None and now - c.pull_failed_at >= PULL_ERROR_SHOWN:
            c.state = {
                "waiting": {
                    "reason": "ImagePullBackOff",
                    "message": f'Back-off pulling image "{image}"',
                }
            }
        c.ready = False

    def _terminated(self, runtime: PodRuntime, code: int, reason: str, message: str) -> None:
        c = runtime.container
        now = time.monotonic()
        if c.started_mono and now - c.started_mono >= BACKOFF_RESET_AFTER:
            c.backoff = BACKOFF_BASE
        terminated: dict[str, Any] = {
            "exitCode": code,
            "reason": reason,
            "startedAt": c.state.get("running", {}).get("startedAt", _now()),
            "finishedAt": _now(),
        }
        if message:
            terminated["message"] = message
        c.last_state = {"terminated": terminated}
        c.last_exit = code
        c.ready = False
        c.next_attempt = now + c.backoff
        c.state = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off {c.backoff:.0f}s restarting failed container",
            }
        }
        c.backoff = min(c.backoff * 2, BACKOFF_MAX)
        c.started_mono = 0.0

    async def _start_process(self, runtime: PodRuntime, spec: WorkloadSpec) -> None:
        c = runtime.container
        for name in spec.relays:
            c.ports.setdefault(name, ports.free_port())
        work = workloads_dir(self.sandbox) / spec.name / "pods" / runtime.name
        work.mkdir(parents=True, exist_ok=True)
        account = runtime.pod["spec"].get("serviceAccountName") or "default"
        token = await self.kube.create_subresource(
            ResourceRef("v1", "ServiceAccount", account, runtime.namespace),
            "token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {
                    "expirationSeconds": TOKEN_SECONDS,
                    "boundObjectRef": {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "name": runtime.name,
                        "uid": runtime.uid,
                    },
                },
            },
        )
        kubeconfig = work / "kubeconfig"
        kubeconfig.write_text(
            kubeconfig_yaml(
                server=f"https://127.0.0.1:{spec.api_proxy_port}",
                ca=self.sandbox / "pki" / "ca.crt",
                context=spec.name,
                user={"token": token["status"]["token"]},
            )
        )
        kubeconfig.chmod(0o600)
        values = {
            "kubeconfig": str(kubeconfig),
            "certDir": spec.cert_dir,
            "namespace": runtime.namespace,
            "podName": runtime.name,
            "sandboxDir": str(self.sandbox),
        }
        volumes, synced = self._project_volumes(runtime, spec, work, values)
        # As a kubelet, start the container only once its volumes are mounted (Kueue reads
        # its config file and certificates at start-up); bounded, so a broken API server
        # cannot hang the agent: the process then starts with what is there.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in synced)), VOLUME_WAIT_S)
        args = [expand(a, values, c.ports, volumes) for a in spec.args]
        env = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig),
            "POD_NAME": runtime.name,
            "POD_NAMESPACE": runtime.namespace,
            **{k: expand(v, values, c.ports, volumes) for k, v in spec.env.items()},
        }
        log_path = self.sandbox / "logs" / f"{spec.name}.log"
        with log_path.open("ab") as out:
            out.write(f"\n--- {time.strftime('%H:%M:%S')} start for pod {runtime.name}\n".encode())
            out.flush()
            c.process = await asyncio.create_subprocess_exec(
                *spec.program,
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=work,
                start_new_session=True,
            )
        processes.record(_pid_name(spec, runtime)[:-4], c.process.pid, self.sandbox / "pids")
        self.starts[spec.name] = self.starts.get(spec.name, 0) + 1
        c.started_mono = time.monotonic()
        c.state = {"running": {"startedAt": _now()}}
        c.probe_failures = 0
        c.ready = spec.readiness is None
        log.info("started %s (pid %s) for pod %s", spec.name, c.process.pid, runtime.name)

    def _project_volumes(
        self, runtime: PodRuntime, spec: WorkloadSpec, work: Path, values: dict[str, str]
    ) -> tuple[dict[str, str], list[asyncio.Event]]:
        """Project each ``{volume:NAME}`` the operator uses (a Secret or ConfigMap volume of
        the pod) into a directory, kept in sync like the kubelet does; return NAME -> dir and
        the events set once each new projection has been written."""
        named = named_placeholders([*spec.args, *spec.env.values()], "volume")
        wanted = list(dict.fromkeys([*named, *spec.volumes]))
        declared = {v.get("name"): v for v in runtime.pod["spec"].get("volumes") or []}
        found: dict[str, str] = {}
        synced: list[asyncio.Event] = []
        ports_now = runtime.container.ports

        def undeclared(placeholder: str) -> None:
            if placeholder not in warned:
                warned.add(placeholder)
                log.warning(
                    "%s: a mounted ConfigMap names %s, which the scenario does not declare: add"
                    " its NAME to the operator's `ports:` or `volumes:`; left as written",
                    spec.name,
                    placeholder,
                )

        warned: set[str] = set()

        def rewrite(text: str) -> str:
            return expand(text, values, ports_now, found, undeclared)

        for name in wanted:
            dest = work / "volumes" / name
            found[name] = str(dest)
            volume = declared.get(name)
            if name in runtime.volumes or volume is None or volumes.source(volume) is None:
                if volume is None:
                    log.warning("pod %s has no volume %r; {volume:%s} is empty", runtime.name,
                                name, name)  # fmt: skip
                dest.mkdir(parents=True, exist_ok=True)
                continue
            done = asyncio.Event()
            synced.append(done)
            runtime.volumes[name] = asyncio.create_task(
                volumes.project(self.kube, runtime.namespace, volume, dest, rewrite, done)
            )
        return found, synced

    async def _probe_if_due(self, runtime: PodRuntime, spec: WorkloadSpec, now: float) -> None:
        c = runtime.container
        if spec.readiness is None:
            c.ready = True
            return
        if c.probing or now - c.last_probe < PROBE_PERIOD:
            return
        c.last_probe, c.probing = now, True

        async def probe() -> None:
            try:
                assert spec.readiness is not None
                ok = await _http_ok(
                    c.ports[spec.readiness["port"]],
                    spec.readiness.get("path", "/readyz"),
                    spec.readiness.get("scheme", "http") == "https",
                )
            finally:
                c.probing = False
            if ok:
                c.probe_failures, changed = 0, not c.ready
                c.ready = True
            else:
                c.probe_failures += 1
                changed = c.ready and c.probe_failures >= PROBE_FAILURES
                if changed:
                    c.ready = False
            if changed:
                self._dirty.set()

        self._spawn(probe())

    async def _stop_process(self, runtime: PodRuntime, why: str, *, final: bool = True) -> None:
        if final:
            for task in runtime.volumes.values():
                task.cancel()
            runtime.volumes.clear()
        c = runtime.container
        proc, c.process = c.process, None
        c.ready = False
        if proc is None or proc.returncode is not None:
            return
        log.info("stopping pid %s of pod %s: %s", proc.pid, runtime.name, why)
        spec = runtime.pod.get("spec", {})
        grace = min(float(spec.get("terminationGracePeriodSeconds", 30)), MAX_GRACE)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        workload = self.workloads.get(runtime.workload or "")
        if workload is not None:
            (self.sandbox / "pids" / _pid_name(workload, runtime)).unlink(missing_ok=True)

    async def _write_status(self, runtime: PodRuntime, spec: WorkloadSpec | None) -> None:
        pod = runtime.pod
        containers = pod["spec"].get("containers") or []
        statuses = []
        started_any = True
        for tmpl in containers:
            if spec is not None and tmpl["name"] == spec.container:
                c = runtime.container
                started_any = c.attempts > 0
                statuses.append(
                    {
                        "name": tmpl["name"],
                        "image": tmpl.get("image", ""),
                        "imageID": "",
                        "ready": c.ready,
                        "started": runtime.running(),
                        "restartCount": c.restart_count,
                        "state": c.state if c.attempts or c.pull_failed_at else _creating(),
                        "lastState": c.last_state,
                    }
                )
            else:  # not an operator container: simulated as kwok would
                statuses.append(
                    {
                        "name": tmpl["name"],
                        "image": tmpl.get("image", ""),
                        "imageID": "",
                        "ready": True,
                        "started": True,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": pod["metadata"]["creationTimestamp"]}},
                        "lastState": {},
                    }
                )
        ready = all(s["ready"] for s in statuses)
        wanted = {
            "PodScheduled": "True",
            "Initialized": "True",
            "ContainersReady": "True" if ready else "False",
            "Ready": "True" if ready else "False",
        }
        conditions = []
        for kind, value in wanted.items():
            previous = runtime.transitions.get(kind)
            if previous is None or previous[0] != value:
                runtime.transitions[kind] = (value, _now())
            conditions.append(
                {"type": kind, "status": value, "lastTransitionTime": runtime.transitions[kind][1]}
            )
        status = {
            "phase": "Running" if started_any else "Pending",
            "conditions": conditions,
            "hostIP": "127.0.0.1",
            "podIP": runtime.pod_ip,
            "podIPs": [{"ip": runtime.pod_ip}],
            "startTime": pod["metadata"]["creationTimestamp"],
            "containerStatuses": statuses,
            "initContainerStatuses": [
                {
                    "name": tmpl["name"],
                    "image": tmpl.get("image", ""),
                    "imageID": "",
                    "ready": True,
                    "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                }
                for tmpl in pod["spec"].get("initContainers") or []
            ],
        }
        if status == runtime.written:
            return
        await self.kube.patch(
            ResourceRef("v1", "Pod", runtime.name, runtime.namespace),
            {"status": status},
            subresource="status",
        )
        runtime.written = status

    # -- relays and network policies -----------------------------------------------------

    def serving(self, name: str) -> PodRuntime | None:
        """The pod the workload's relays point at: the newest Ready one, else the newest
        with a running process."""
        candidates = [
            r
            for r in self.runtimes.values()
            if r.workload == name and not r.deleting and r.running()
        ]
        candidates.sort(
            key=lambda r: (r.container.ready, r.pod["metadata"].get("creationTimestamp", ""))
        )
        return candidates[-1] if candidates else None

    def _route(self) -> None:
        for name, spec in self.workloads.items():
            relays = self.relays[name]
            active = self.serving(name)
            if active is not None:
                for port, relay in relays.ports.items():
                    relay.upstream_port = active.container.ports.get(port, relay.upstream_port)
            labels = (active.pod if active else {}).get("metadata", {}).get("labels") or dict(
                spec.selector
            )
            policies = [
                p
                for p in self.policies.values()
                if p["metadata"].get("namespace") == spec.namespace
            ]
            ingress_blocked, egress_blocked = netpol.isolation(policies, labels)
            relays.egress.set_blocked(egress_blocked)
            for relay in relays.ports.values():
                relay.set_blocked(ingress_blocked)

    # -- status file ---------------------------------------------------------------------

    def write_status(self) -> None:
        doc = {
            "pid": os.getpid(),
            "updatedAt": time.time(),
            "node": AGENT_NODE,
            "workloads": {name: self._workload_status(name) for name in self.workloads},
        }
        tmp = self.status_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        tmp.replace(self.status_file)

    def _workload_status(self, name: str) -> dict[str, Any]:
        relays = self.relays[name]
        active = self.serving(name)
        mine = [r for r in self.runtimes.values() if r.workload == name]
        proc = active.container.process if active else None
        return {
            "pid": proc.pid if proc is not None else None,
            "pod": active.name if active else None,
            "podUid": active.uid if active else None,
            "ready": bool(active and active.container.ready),
            "ports": dict(active.container.ports) if active else {},
            "relays": {port: relay.listen_port for port, relay in relays.ports.items()},
            "starts": self.starts.get(name, 0),
            "restarts": sum(r.container.restart_count for r in mine),
            "lastExitCode": next(
                (r.container.last_exit for r in mine if r.container.last_exit is not None), None
            ),
            "egressBlocked": relays.egress.blocked,
            "clientFaults": relays.egress.status() if isinstance(relays.egress, ApiRelay) else {},
            "ingressBlocked": any(r.blocked for r in relays.ports.values()),
            "droppedConnections": sum(r.dropped for r in relays.all()),
            "pods": {
                r.name: {
                    "uid": r.uid,
                    "pid": r.container.process.pid if r.running() and r.container.process else None,
                    "ready": r.container.ready,
                    "restartCount": r.container.restart_count,
                    "state": next(iter(r.container.state), ""),
                    "reason": _reason(r.container.state),
                    "ports": dict(r.container.ports),
                }
                for r in mine
            },
        }


def _container(pod: RawObject, name: str) -> dict[str, Any]:
    containers = pod.get("spec", {}).get("containers") or [{}]
    found: dict[str, Any] = next((c for c in containers if c.get("name") == name), containers[0])
    return found


def _reason(state: dict[str, Any]) -> str:
    detail: dict[str, Any] = next(iter(state.values()), {})
    return str(detail.get("reason", ""))


def _creating() -> dict[str, Any]:
    return {"waiting": {"reason": "ContainerCreating"}}


def _pid_name(spec: WorkloadSpec, runtime: PodRuntime) -> str:
    return f"workload-{spec.name}-{runtime.name}.pid"


def _node_status() -> dict[str, Any]:
    now = _now()
    conditions = [
        ("Ready", "True", "KubeletReady", "operator-chaos agent is posting ready status"),
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", ""),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", ""),
        ("PIDPressure", "False", "KubeletHasSufficientPID", ""),
        ("NetworkUnavailable", "False", "RouteCreated", ""),
    ]
    resources = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    return {
        "conditions": [
            {
                "type": kind,
                "status": value,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": now,
                "lastTransitionTime": _STARTED,
            }
            for kind, value, reason, message in conditions
        ],
        "addresses": [
            {"type": "InternalIP", "address": "127.0.0.1"},
            {"type": "Hostname", "address": AGENT_NODE},
        ],
        "allocatable": resources,
        "capacity": resources,
        "nodeInfo": {
            "kubeletVersion": "operator-chaos-agent",
            "operatingSystem": "linux",
            "architecture": "amd64",
            "containerRuntimeVersion": "operator-chaos://agent",
            "kubeProxyVersion": "",
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
            "kernelVersion": "",
            "osImage": "",
        },
    }


async def _http_ok(port: int, path: str, tls: bool) -> bool:
    """One readiness probe: GET ``path`` on loopback; 2xx/3xx within 1 s is success."""
    context: ssl.SSLContext | None = None
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # like a kubelet's HTTPS probe: no verification
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=context), 1.0
        )
    except (OSError, TimeoutError, ssl.SSLError):
        return False
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 1.0)
        parts = line.split()
        return len(parts) >= 2 and parts[1][:1] in (b"2", b"3")
    except (OSError, TimeoutError, ssl.SSLError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def main() -> None:
    """Entry point: ``python -m operator_chaos.sandbox.agent SANDBOX_DIR``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(Agent(Path(sys.argv[1])).run())


if __name__ == "__main__":
    main()
