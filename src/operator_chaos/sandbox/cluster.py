"""Start, inspect and stop one sandbox control plane (all processes on 127.0.0.1).

State lives in ``~/.cache/operator-chaos/sandbox/<name>/``: ``state.json`` (ports, versions),
``pki/``, ``etcd/`` data, ``logs/`` (one file per component), ``pids/`` and the admin
``kubeconfig``. A second ``up`` reuses a running sandbox; ``up``/``down`` after a crash end
the leftover processes through their pid files.
"""

import asyncio
import contextlib
import http.client
import json
import os
import shutil
import signal
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from operator_chaos.errors import OperatorChaosError
from operator_chaos.sandbox import build, egress, pki, ports, processes, versions

Progress = Callable[[str], None]
SERVICE_CIDR = "10.96.0.0/16"  # fake; nothing ever dials it
POD_CIDR = "10.244.0.1/24"  # fake; kwok hands these out to pods
NODE_NAME = "kwok-node-0"
AGENT_NODE = "sandbox-agent"
"""The node whose kubelet is the agent: scenario operators' pods run there (see agent.py)."""
AGENT_TAINT = "operator-chaos.io/agent"
AGENT_NODE_LABEL = "operator-chaos.io/node"
COMPONENTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "agent",
)


class SandboxError(OperatorChaosError):
    """A component did not start; the message names it and its log file."""


@dataclass(slots=True)
class State:
    """What a running sandbox looks like from outside: versions and ports."""

    name: str
    k8s_version: str
    etcd_port: int
    etcd_peer_port: int
    apiserver_port: int
    controller_manager_port: int
    scheduler_port: int
    kwok_port: int
    started_at: float

    @property
    def server(self) -> str:
        """The API server URL."""
        return f"https://127.0.0.1:{self.apiserver_port}"


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    """One row of ``sandbox status``."""

    name: str
    pid: int | None
    running: bool
    healthy: bool
    detail: str


class Sandbox:
    """One named local control plane."""

    def __init__(self, name: str = "default", root: Path | None = None) -> None:
        self.name = name
        self.dir = (root or versions.sandboxes_dir()) / name
        self.pki_dir = self.dir / "pki"
        self.logs_dir = self.dir / "logs"
        self.pids_dir = self.dir / "pids"
        self.kubeconfig = self.dir / "kubeconfig"
        self.state_file = self.dir / "state.json"

    # -- queries ---------------------------------------------------------------------------

    def state(self) -> State | None:
        """The recorded state, or None when this sandbox was never started (or is gone)."""
        try:
            return State(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def running(self) -> bool:
        """True when the state file exists and the API server process is alive and ready."""
        state = self.state()
        if state is None:
            return False
        apiserver = processes.read(self.pids_dir / "kube-apiserver.pid")
        return bool(apiserver and apiserver.alive() and self._readyz(state))

    def status(self) -> list[ComponentStatus]:
        """Health of every component (pid alive + its health endpoint)."""
        state = self.state()
        rows = []
        for name in COMPONENTS:
            tracked = processes.read(self.pids_dir / f"{name}.pid")
            alive = bool(tracked and tracked.alive())
            healthy, detail = (False, "not running")
            if alive and state is not None:
                healthy, detail = self._health(name, state)
            rows.append(
                ComponentStatus(name, tracked.pid if tracked else None, alive, healthy, detail)
            )
        return rows

    def workloads(self) -> dict[str, dict[str, Any]]:
        """What the agent reports about each operator process (empty when it reports nothing)."""
        try:
            doc = json.loads((self.dir / "agent-status.json").read_text())
        except (OSError, ValueError):
            return {}
        workloads = doc.get("workloads")
        return workloads if isinstance(workloads, dict) else {}

    # -- lifecycle -------------------------------------------------------------------------

    def up(self, progress: Progress = print) -> State:
        """Start everything (building binaries first if needed) or reuse a running sandbox."""
        if self.running():
            state = self.state()
            assert state is not None
            progress(f"sandbox {self.name!r} is already running at {state.server}; reusing it")
            return state
        leftovers = self._end_leftovers()
        if leftovers:
            progress(f"ended {len(leftovers)} leftover process(es): {', '.join(leftovers)}")
        if build.missing():
            build.build_all(progress)
        shutil.rmtree(self.dir, ignore_errors=True)
        for d in (self.pki_dir, self.logs_dir, self.pids_dir):
            d.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        state = State(
            name=self.name,
            k8s_version=versions.K8S_VERSION,
            etcd_port=ports.free_port(),
            etcd_peer_port=ports.free_port(),
            apiserver_port=ports.free_port(),
            controller_manager_port=ports.free_port(),
            scheduler_port=ports.free_port(),
            kwok_port=ports.free_port(),
            started_at=time.time(),
        )
        try:
            self._make_pki()
            self._write_kubeconfig(state)
            self._start_etcd(state)
            self._wait("etcd", lambda: self._health("etcd", state)[0], 30)
            self._start_apiserver(state)
            self._wait("kube-apiserver", lambda: self._readyz(state), 90)
            self.state_file.write_text(json.dumps(asdict(state), indent=2))
            self._start_rest(state)
            asyncio.run(self._bootstrap())
        except BaseException:
            self.down(lambda _msg: None)
            raise
        progress(
            f"sandbox {self.name!r} ready at {state.server} in {time.monotonic() - started:.1f}s"
        )
        return state

    def down(self, progress: Progress = print, *, keep_state: bool = False) -> list[str]:
        """End every recorded process (reverse start order) and remove the state directory."""
        order = {name: i for i, name in enumerate(COMPONENTS)}
        tracked = processes.tracked_in(self.pids_dir)
        by_reverse_start = sorted(tracked, key=lambda t: -order.get(t.name, len(order)))
        stopped = [proc.name for proc in by_reverse_start if processes.stop(proc)]
        if not keep_state:
            shutil.rmtree(self.dir, ignore_errors=True)
        progress(f"sandbox {self.name!r}: stopped {', '.join(stopped) or 'nothing (not running)'}")
        return stopped

    def signal_agent(self) -> None:
        """Ask the agent to re-read the workload specs (SIGHUP)."""
        agent = processes.read(self.pids_dir / "agent.pid")
        if agent is None or not agent.alive():
            raise SandboxError(
                f"the sandbox agent is not running; see {self.logs_dir / 'agent.log'}"
            )
        os.kill(agent.pid, signal.SIGHUP)

    def install_scenario(self, name_or_path: str, progress: Progress = print) -> float:
        """Install a scenario (a shipped name or a scenario file); return the seconds it took."""
        from operator_chaos.sandbox import install, scenario

        loaded = scenario.load(name_or_path)
        started = time.monotonic()
        asyncio.run(install.install(self, loaded, progress))
        return time.monotonic() - started

    def _end_leftovers(self) -> list[str]:
        return [p.name for p in processes.tracked_in(self.pids_dir) if processes.stop(p)]

    # -- start-up steps --------------------------------------------------------------------

    def _make_pki(self) -> None:
        ca = pki.create_ca(self.pki_dir)
        pki.issue(
            ca,
            self.pki_dir,
            "apiserver",
            common_name="kube-apiserver",
            dns_names=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"),
            ip_addresses=("127.0.0.1",),
            server=True,
        )
        pki.issue(
            ca,
            self.pki_dir,
            "admin",
            common_name="operator-chaos-admin",
            organizations=("system:masters",),
            client=True,
        )
        pki.create_service_account_keys(self.pki_dir)

    def _write_kubeconfig(self, state: State) -> None:
        self.kubeconfig.write_text(
            kubeconfig_yaml(
                server=state.server,
                ca=self.pki_dir / "ca.crt",
                context=f"sandbox-{self.name}",
                user={
                    "client-certificate": str(self.pki_dir / "admin.crt"),
                    "client-key": str(self.pki_dir / "admin.key"),
                },
            )
        )
        self.kubeconfig.chmod(0o600)

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        processes.spawn(
            name, cmd, pid_dir=self.pids_dir, log_path=self.logs_dir / f"{name}.log", env=env
        )

    def _start_etcd(self, state: State) -> None:
        peer = f"http://127.0.0.1:{state.etcd_peer_port}"
        client = f"http://127.0.0.1:{state.etcd_port}"
        self._spawn(
            "etcd",
            [
                str(versions.k8s_bin_dir() / "etcd"),
                "--name=sandbox",
                f"--data-dir={self.dir / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=sandbox={peer}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )

    def _start_apiserver(self, state: State) -> None:
        p = self.pki_dir
        self._spawn(
            "kube-apiserver",
            [
                str(versions.k8s_bin_dir() / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{state.etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={state.apiserver_port}",
                f"--tls-cert-file={p / 'apiserver.crt'}",
                f"--tls-private-key-file={p / 'apiserver.key'}",
                f"--client-ca-file={p / 'ca.crt'}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={p / 'sa.pub'}",
                f"--service-account-signing-key-file={p / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                # Endpoints may not hold loopback addresses, so the `kubernetes` Service's
                # endpoint reconciler would error forever; nothing in-cluster needs it.
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--enable-priority-and-fairness=false",
                # Service webhooks (and other `cluster` traffic) go through the agent's
                # CONNECT proxy on a Unix socket: see egress.py.
                f"--egress-selector-config-file={egress.write_selector_config(self.dir)}",
                "--profiling=false",
                "--v=1",
            ],
        )

    def _start_rest(self, state: State) -> None:
        kc = str(self.kubeconfig)
        bin_dir = versions.k8s_bin_dir()
        auth = [f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}"]
        self._spawn(
            "kube-controller-manager",
            [
                str(bin_dir / "kube-controller-manager"),
                f"--kubeconfig={kc}",
                *auth,
                "--bind-address=127.0.0.1",
                f"--secure-port={state.controller_manager_port}",
                "--leader-elect=false",
                f"--service-account-private-key-file={self.pki_dir / 'sa.key'}",
                f"--root-ca-file={self.pki_dir / 'ca.crt'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--profiling=false",
            ],
        )
        self._spawn(
            "kube-scheduler",
            [
                str(bin_dir / "kube-scheduler"),
                f"--kubeconfig={kc}",
                *auth,
                "--bind-address=127.0.0.1",
                f"--secure-port={state.scheduler_port}",
                "--leader-elect=false",
                "--profiling=false",
            ],
        )
        kwok_config = self.dir / "kwok.yaml"
        kwok_config.write_text(
            "apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n"
        )
        self._spawn(
            "kwok",
            [
                str(bin_dir / "kwok"),
                f"--kubeconfig={kc}",
                f"--config={kwok_config}",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--cidr={POD_CIDR}",
                "--node-ip=127.0.0.1",
                f"--server-address=127.0.0.1:{state.kwok_port}",
                "--node-lease-duration-seconds=40",
            ],
        )
        self._spawn(
            "agent",
            [sys.executable, "-m", "operator_chaos.sandbox.agent", str(self.dir)],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    async def _bootstrap(self) -> None:
        """Create the fake node and wait (by watching) until the cluster can run pods."""
        from operator_chaos.kube import client as kube_client
        from operator_chaos.kube import errors as kube_errors
        from operator_chaos.kube import wait

        async with kube_client.connect(str(self.kubeconfig)) as kube:
            with contextlib.suppress(kube_errors.Conflict):
                await kube.create(fake_node(NODE_NAME))

            def schedulable(node: dict[str, Any] | None) -> bool:
                taints = (node or {}).get("spec", {}).get("taints") or []
                return wait.condition_true(node, "Ready") and not any(
                    t.get("key") == "node.kubernetes.io/not-ready" for t in taints
                )

            await wait.wait_for(kube, "v1", "Node", NODE_NAME, None, schedulable, timeout=90)
            # The agent registers its node itself, as a kubelet does.
            await wait.wait_for(kube, "v1", "Node", AGENT_NODE, None, schedulable, timeout=90)
            await wait.wait_for(
                kube,
                "v1",
                "ServiceAccount",
                "default",
                "default",
                lambda o: o is not None,
                timeout=60,
            )

    # -- health ----------------------------------------------------------------------------

    def _wait(self, name: str, ready: Callable[[], bool], timeout: float) -> None:
        """Poll a process health endpoint (no watch exists for a process starting up)."""
        deadline = time.monotonic() + timeout
        tracked = processes.read(self.pids_dir / f"{name}.pid")
        while time.monotonic() < deadline:
            if ready():
                return
            if tracked is not None and not tracked.alive():
                raise SandboxError(f"{name} exited during start-up; see {self.logs_dir / name}.log")
            time.sleep(0.2)
        raise SandboxError(f"{name} not ready after {timeout:.0f}s; see {self.logs_dir / name}.log")

    def _tls(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki_dir / "ca.crt"))
        ctx.load_cert_chain(str(self.pki_dir / "admin.crt"), str(self.pki_dir / "admin.key"))
        return ctx

    def _get(self, port: int, path: str, *, tls: bool, verify: bool = True) -> tuple[int, str]:
        try:
            if tls:
                ctx = self._tls() if verify else ssl._create_unverified_context()
                conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                    "127.0.0.1", port, timeout=2, context=ctx
                )
            else:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                return response.status, response.read().decode(errors="replace")[:200]
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            return 0, str(exc)

    def _readyz(self, state: State) -> bool:
        return self._get(state.apiserver_port, "/readyz", tls=True)[0] == 200

    def _health(self, name: str, state: State) -> tuple[bool, str]:
        if name == "etcd":
            code, body = self._get(state.etcd_port, "/health", tls=False)
            return code == 200 and '"true"' in body, f"http://127.0.0.1:{state.etcd_port}/health"
        if name == "kube-apiserver":
            return self._readyz(state), f"{state.server}/readyz"
        if name in ("kube-controller-manager", "kube-scheduler"):
            port = state.controller_manager_port if "controller" in name else state.scheduler_port
            # Self-signed serving certs: we only ask "are you healthy", not who they are.
            code, _ = self._get(port, "/healthz", tls=True, verify=False)
            return code == 200, f"https://127.0.0.1:{port}/healthz"
        if name == "kwok":
            code, _ = self._get(state.kwok_port, "/healthz", tls=False)
            return code == 200, f"http://127.0.0.1:{state.kwok_port}/healthz"
        status_file = self.dir / "agent-status.json"
        return status_file.is_file(), str(status_file)


def kubeconfig_yaml(*, server: str, ca: Path, context: str, user: dict[str, str]) -> str:
    """A one-context kubeconfig (JSON is valid YAML; no YAML dumper needed)."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": context, "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [{"name": context, "user": user}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
    }
    return json.dumps(doc, indent=2) + "\n"


def fake_node(name: str) -> dict[str, Any]:
    """A Node kwok manages (no NoSchedule taint, so ordinary pods land on it)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
        },
    }


def agent_node() -> dict[str, Any]:
    """The node the agent is kubelet of: tainted, so only scenario operators' pods (which the
    installer makes tolerate it and select it) land there; kwok does not manage it."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": AGENT_NODE,
            "labels": {
                "kubernetes.io/hostname": AGENT_NODE,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                AGENT_NODE_LABEL: "agent",
            },
        },
        "spec": {
            "podCIDR": "10.244.1.0/24",
            "taints": [{"key": AGENT_TAINT, "value": "agent", "effect": "NoSchedule"}],
        },
    }
