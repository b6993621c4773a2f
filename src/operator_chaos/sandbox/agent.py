"""The sandbox's kubelet stand-in: runs real operator processes for their pods.

For each workload spec (see :mod:`workload`) the agent watches the pods matching its
selector. When a pod is Ready it starts the process with a fresh TokenRequest token bound to
that pod (so the process authenticates as the pod's ServiceAccount); when the pod is deleted
it stops the process (SIGTERM, then SIGKILL after the grace period) and starts it again for
the replacement pod. A process that exits on its own is restarted with back-off, as a kubelet
would. It also runs the two relays of :mod:`proxy` and partitions them while a NetworkPolicy
isolates the pod. Everything it does is recorded in ``agent-status.json``.

Run as ``python -m operator_chaos.sandbox.agent SANDBOX_DIR``; ``sandbox up`` starts it.
"""

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from operator_chaos.kube import client as kube_client
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.sandbox import netpol, processes
from operator_chaos.sandbox.cluster import kubeconfig_yaml
from operator_chaos.sandbox.proxy import PartitionableRelay
from operator_chaos.sandbox.workload import WorkloadSpec, workloads_dir

log = logging.getLogger("operator_chaos.sandbox.agent")
TOKEN_SECONDS = 7 * 24 * 3600
MAX_GRACE = 10.0


def _ready(pod: RawObject) -> bool:
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return False
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


class Supervisor:
    """Keeps one workload's process in step with its pod and its network policies."""

    def __init__(self, spec: WorkloadSpec, kube: KubeClient, sandbox: Path, api_port: int) -> None:
        self.spec = spec
        self.kube = kube
        self.sandbox = sandbox
        self.egress = PartitionableRelay(f"{spec.name}-egress", spec.api_proxy_port, api_port)
        self.ingress = (
            PartitionableRelay(f"{spec.name}-ingress", spec.webhook_proxy_port, spec.webhook_port)
            if spec.webhook_proxy_port and spec.webhook_port
            else None
        )
        self.pods: dict[str, RawObject] = {}
        self.policies: dict[str, RawObject] = {}
        self.bound: RawObject | None = None
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.restarts = 0
        self.last_exit: int | None = None
        self._dirty = asyncio.Event()
        self._backoff_until = 0.0
        self._backoff = 1.0
        self.on_change: Any = None

    @property
    def work_dir(self) -> Path:
        return workloads_dir(self.sandbox) / self.spec.name

    async def run(self) -> None:
        await self.egress.start()
        if self.ingress is not None:
            await self.ingress.start()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._mirror("v1", "Pod", self.pods, self.spec.label_selector))
                tasks.create_task(
                    self._mirror("networking.k8s.io/v1", "NetworkPolicy", self.policies, None)
                )
                tasks.create_task(self._reconcile_loop())
        finally:
            await self.stop_process("agent stopping")
            await self.egress.close()
            if self.ingress is not None:
                await self.ingress.close()

    async def _mirror(
        self, api_version: str, kind: str, into: dict[str, RawObject], selector: str | None
    ) -> None:
        """Keep ``into`` equal to the live objects (list, then watch; re-list on 410)."""
        while True:
            try:
                listed = await self.kube.list(
                    api_version, kind, self.spec.namespace, label_selector=selector
                )
                into.clear()
                into.update({o["metadata"]["uid"]: o for o in listed.items})
                self._dirty.set()
                async for event in self.kube.watch(
                    api_version,
                    kind,
                    self.spec.namespace,
                    label_selector=selector,
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
                await asyncio.wait_for(self._dirty.wait(), timeout=1.0)
            self._dirty.clear()
            try:
                await self._reconcile()
            except kube_errors.KubeError as exc:
                log.warning("reconcile %s: %s", self.spec.name, exc)
            if self.on_change is not None:
                self.on_change()

    async def _reconcile(self) -> None:
        bound_uid = self.bound["metadata"]["uid"] if self.bound else None
        current = self.pods.get(bound_uid) if bound_uid else None
        if self.bound is not None and (
            current is None or current["metadata"].get("deletionTimestamp")
        ):
            await self.stop_process(f"pod {self.bound['metadata']['name']} deleted")
            self.bound = None
        if self.bound is None:
            ready = sorted(
                (p for p in self.pods.values() if _ready(p)),
                key=lambda p: p["metadata"].get("creationTimestamp", ""),
            )
            if ready:
                self.bound = ready[-1]
                self._backoff = 1.0
                await self.start_process()
        elif current is not None:
            self.bound = current
        labels = (self.bound or {}).get("metadata", {}).get("labels") or self.spec.selector
        ingress_blocked, egress_blocked = netpol.isolation(self.policies.values(), labels)
        self.egress.set_blocked(egress_blocked)
        if self.ingress is not None:
            self.ingress.set_blocked(ingress_blocked)
        if (
            self.bound is not None
            and self.process is not None
            and self.process.returncode is not None
        ):
            self.last_exit = self.process.returncode
            self.process = None
            if time.monotonic() >= self._backoff_until:
                log.warning("%s exited with %s; restarting", self.spec.name, self.last_exit)
                self.restarts += 1
                await self.start_process()
        elif (
            self.bound is not None
            and self.process is None
            and time.monotonic() >= self._backoff_until
        ):
            await self.start_process()

    async def start_process(self) -> None:
        assert self.bound is not None
        pod = self.bound["metadata"]
        token = await self.kube.create_subresource(
            ResourceRef("v1", "ServiceAccount", self.spec.service_account, self.spec.namespace),
            "token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {
                    "expirationSeconds": TOKEN_SECONDS,
                    "boundObjectRef": {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "name": pod["name"],
                        "uid": pod["uid"],
                    },
                },
            },
        )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        kubeconfig = self.work_dir / "kubeconfig"
        kubeconfig.write_text(
            kubeconfig_yaml(
                server=f"https://127.0.0.1:{self.spec.api_proxy_port}",
                ca=self.sandbox / "pki" / "ca.crt",
                context=self.spec.name,
                user={"token": token["status"]["token"]},
            )
        )
        kubeconfig.chmod(0o600)
        env = {
            **os.environ,
            **self.spec.env,
            "KUBECONFIG": str(kubeconfig),
            "POD_NAME": pod["name"],
            "POD_NAMESPACE": self.spec.namespace,
        }
        log_path = self.sandbox / "logs" / f"{self.spec.name}.log"
        with log_path.open("ab") as out:
            out.write(f"\n--- {time.strftime('%H:%M:%S')} start for pod {pod['name']}\n".encode())
            out.flush()
            self.process = await asyncio.create_subprocess_exec(
                *self.spec.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        processes.record(f"workload-{self.spec.name}", self.process.pid, self.sandbox / "pids")
        self.starts += 1
        self._backoff_until = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, 30.0)
        log.info("started %s (pid %s) for pod %s", self.spec.name, self.process.pid, pod["name"])

    async def stop_process(self, why: str) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.returncode is not None:
            return
        log.info("stopping %s (pid %s): %s", self.spec.name, proc.pid, why)
        grace = MAX_GRACE
        if self.bound is not None:
            grace = min(
                float(self.bound.get("spec", {}).get("terminationGracePeriodSeconds", 30)),
                MAX_GRACE,
            )
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        (self.sandbox / "pids" / f"workload-{self.spec.name}.pid").unlink(missing_ok=True)

    def status(self) -> dict[str, Any]:
        proc = self.process
        return {
            "pid": proc.pid if proc and proc.returncode is None else None,
            "pod": self.bound["metadata"]["name"] if self.bound else None,
            "podUid": self.bound["metadata"]["uid"] if self.bound else None,
            "starts": self.starts,
            "restarts": self.restarts,
            "lastExitCode": self.last_exit,
            "egressBlocked": self.egress.blocked,
            "ingressBlocked": self.ingress.blocked if self.ingress else False,
            "droppedConnections": self.egress.dropped
            + (self.ingress.dropped if self.ingress else 0),
        }


class Agent:
    """Owns the supervisors; reloads workload specs on SIGHUP, stops cleanly on SIGTERM."""

    def __init__(self, sandbox: Path) -> None:
        self.sandbox = sandbox
        state = json.loads((sandbox / "state.json").read_text())
        self.api_port = int(state["apiserver_port"])
        self.supervisors: dict[str, tuple[Supervisor, asyncio.Task[None]]] = {}
        self.status_file = sandbox / "agent-status.json"

    def write_status(self) -> None:
        doc = {
            "pid": os.getpid(),
            "updatedAt": time.time(),
            "workloads": {name: sup.status() for name, (sup, _) in self.supervisors.items()},
        }
        tmp = self.status_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        tmp.replace(self.status_file)

    def reload(self, kube: KubeClient) -> None:
        specs = {
            p.stem: WorkloadSpec.load(p) for p in sorted(workloads_dir(self.sandbox).glob("*.json"))
        }
        for name in list(self.supervisors):
            if name not in specs or specs[name] != self.supervisors[name][0].spec:
                self.supervisors.pop(name)[1].cancel()
        for name, spec in specs.items():
            if name not in self.supervisors:
                sup = Supervisor(spec, kube, self.sandbox, self.api_port)
                sup.on_change = self.write_status
                self.supervisors[name] = (sup, asyncio.create_task(sup.run()))
        self.write_status()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        async with kube_client.connect(str(self.sandbox / "kubeconfig")) as kube:
            loop.add_signal_handler(signal.SIGHUP, self.reload, kube)
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            loop.add_signal_handler(signal.SIGINT, stop.set)
            self.reload(kube)
            await stop.wait()
            tasks = [task for _, task in self.supervisors.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self.status_file.unlink(missing_ok=True)


def main() -> None:
    """Entry point: ``python -m operator_chaos.sandbox.agent SANDBOX_DIR``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(Agent(Path(sys.argv[1])).run())


if __name__ == "__main__":
    main()
