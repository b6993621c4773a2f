"""Install a scenario (:mod:`scenario`) into a running sandbox and wait for its steady state.

Order: binaries (built or found), then manifests applied server-side (Namespaces, then CRDs
until Established, then the rest), the operators' Deployments last and scheduled onto the
agent's node, the webhook configurations once every operator is Ready (rewired to loopback
URLs in ``url`` mode), then the ``after`` objects and the ``waitFor`` conditions. Installing
twice converges to the same state (server-side apply; ``after`` objects are created once).
"""

import base64
import copy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from operator_chaos.errors import OperatorChaosError
from operator_chaos.kube import client as kube_client
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube import wait
from operator_chaos.kube.port import KubeClient, PatchType, RawObject, ResourceRef
from operator_chaos.load import yamlmap
from operator_chaos.sandbox import build, pki, ports, versions
from operator_chaos.sandbox.cluster import AGENT_NODE_LABEL, AGENT_TAINT, Sandbox
from operator_chaos.sandbox.scenario import Operator, Scenario, Source
from operator_chaos.sandbox.workload import WorkloadSpec, workloads_dir

Progress = Callable[[str], None]
FIELD_MANAGER = "operator-chaos-sandbox"
WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
KUSTOMIZE_UNSUPPORTED = (
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "configMapGenerator",
    "secretGenerator",
    "components",
    "images",
    "namePrefix",
    "nameSuffix",
    "replacements",
)


class ScenarioError(OperatorChaosError):
    """A scenario could not be installed; the message names the object or file and the fix."""


def go_target(scenario: Scenario, op: Operator) -> build.Target:
    """The build of an operator's Go binary, cached per scenario and module version."""
    go = op.binary.go
    assert go is not None
    name = scenario.name if op.name == scenario.name else f"{scenario.name}-{op.name}"
    version = go.version

    def bin_dir() -> Path:
        return versions.cache_root() / f"{scenario.name}-{version}" / "bin"

    package = go.module if go.package in (".", "./") else f"{go.module}/{go.package.lstrip('./')}"
    if go.dir is not None:
        source = scenario.resolve(go.dir)
        local = go.package if (source / go.package).exists() else package
        return build.Target(
            name, f"scenario-{name}", (local,), (op.name,), "-s -w", bin_dir, source=source
        )
    go_mod = (
        f"module operatorchaos.local/scenario/{name}\n\ngo 1.24\n\nrequire {go.module} {version}\n"
    )
    pinned = scenario.base / "go.sum"
    generated = {"go.mod": go_mod, "go.sum": pinned.read_text() if pinned.is_file() else ""}
    return build.Target(
        name, f"scenario-{name}", (package,), (op.name,), "-s -w", bin_dir, generated=generated
    )


def program(scenario: Scenario, op: Operator, progress: Progress) -> list[str]:
    """The command line that runs the operator's real binary (building it if needed)."""
    binary = op.binary
    if binary.go is not None:
        return [str(build.ensure(go_target(scenario, op), progress))]
    if binary.path is not None:
        return [str(scenario.resolve(binary.path))]
    assert binary.python is not None
    if binary.python.endswith(".py"):
        return [sys.executable, str(scenario.resolve(binary.python))]
    return [sys.executable, "-m", binary.python]


def read_objects(path: Path) -> list[RawObject]:
    """Every object of a YAML file, or of a directory (its kustomization's plain ``resources``
    list, else every .yaml/.yml file in name order)."""
    if path.is_dir():
        kustomization = next(
            (path / n for n in ("kustomization.yaml", "kustomization.yml") if (path / n).is_file()),
            None,
        )
        if kustomization is None:
            files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
            return [obj for f in files for obj in read_objects(f)]
        docs = _documents(kustomization)
        spec = docs[0] if docs else {}
        unsupported = [k for k in KUSTOMIZE_UNSUPPORTED if k in spec]
        if unsupported:
            raise ScenarioError(
                f"{kustomization}: {', '.join(unsupported)} not supported (the sandbox applies"
                " a plain `resources:` list): render it with `kustomize build` into a file and"
                " list that file in the scenario instead"
            )
        return [obj for r in spec.get("resources") or [] for obj in read_objects(path / r)]
    return [d for d in _documents(path) if d]


def _documents(path: Path) -> list[dict[str, Any]]:
    docs = yamlmap.parse(yamlmap.read_text(path), str(path))
    out = []
    for doc in docs:
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict) or (
            "kind" not in doc.data and path.name not in ("kustomization.yaml", "kustomization.yml")
        ):
            raise ScenarioError(f"{path}: every YAML document must be a Kubernetes object")
        out.append(doc.data)
    return out


class Installer:
    """One scenario installation into one sandbox."""

    def __init__(self, sandbox: Sandbox, scenario: Scenario, progress: Progress) -> None:
        self.sandbox = sandbox
        self.scenario = scenario
        self.progress = progress
        self.spec = scenario.doc.spec
        self._module_dirs: dict[str, Path] = {}

    def say(self, message: str) -> None:
        self.progress(f"scenario {self.scenario.name}: {message}")

    def source_objects(self, sources: list[Source]) -> list[RawObject]:
        objects = []
        for source in sources:
            if source.path is not None:
                objects += read_objects(self.scenario.resolve(source.path))
            else:
                assert source.module is not None
                objects += read_objects(self._module_dir(source.operator) / source.module)
        return objects

    def _module_dir(self, operator: str | None) -> Path:
        ops = [o for o in self.spec.operators if o.binary.go is not None]
        op = next((o for o in ops if o.name == operator), ops[0]) if operator else ops[0]
        if op.name not in self._module_dirs:
            go = op.binary.go
            assert go is not None
            self._module_dirs[op.name] = build.module_source(
                go_target(self.scenario, op), go.module, go.version
            )
        return self._module_dirs[op.name]

    async def run(self, kube: KubeClient) -> None:
        programs = {}
        for op in self.spec.operators:
            programs[op.name] = program(self.scenario, op, self.progress)
        objects = self.source_objects(self.spec.manifests)
        hooks = {h.configuration for h in self.spec.webhooks}
        # url-mode configurations wait until the operator serves; service-mode ones (operators
        # that inject their own caBundle) go in with the rest.
        url_hooks = {h.configuration for h in self.spec.webhooks if h.mode == "url"}
        missing = hooks - {_name(o) for o in objects if o.get("kind") in WEBHOOK_KINDS}
        if missing:
            raise ScenarioError(
                f"{self.scenario.file}: spec.webhooks names {sorted(missing)}, which no manifest"
                " defines: add the webhook configuration to spec.manifests"
            )
        held = [o for o in objects if o.get("kind") in WEBHOOK_KINDS and _name(o) in url_hooks]
        found = {_deployment_key(o): o for o in objects if _deployment_key(o) is not None}
        deployments: dict[str, RawObject] = {}
        for op in self.spec.operators:
            key = (op.deployment.namespace, op.deployment.name)
            if key not in found:
                raise ScenarioError(
                    f"{self.scenario.file}: operator {op.name}: no manifest defines Deployment"
                    f" {key[0]}/{key[1]}: add it to spec.manifests"
                )
            deployments[op.name] = found[key]
            template = found[key].get("spec", {}).get("template", {}).get("spec", {})
            names = [c.get("name") for c in template.get("containers") or []]
            if op.container not in names:
                raise ScenarioError(
                    f"{self.scenario.file}: operator {op.name}: Deployment {key[0]}/{key[1]} has"
                    f" no container {op.container!r} (it has {names}): fix `container`"
                )
        skip = {id(o) for o in [*held, *deployments.values()]}
        rest = [o for o in objects if id(o) not in skip]
        self.say(f"applying {len(objects)} objects server-side ...")
        for obj in (o for o in rest if o.get("kind") == "Namespace"):
            await apply(kube, obj)
        for obj in (o for o in rest if o.get("kind") == "CustomResourceDefinition"):
            await apply(kube, obj)
        await self._crds_established(kube, objects)
        for obj in rest:
            if obj.get("kind") not in ("Namespace", "CustomResourceDefinition"):
                await apply(kube, obj)

        specs = [
            self._workload(op, deployments[op.name], programs[op.name])
            for op in self.spec.operators
        ]
        self.sandbox.signal_agent()
        for op in self.spec.operators:
            await apply(kube, on_agent_node(deployments[op.name]))
        for op in self.spec.operators:
            self.say(f"waiting for Deployment {op.deployment.namespace}/{op.deployment.name} ...")
            try:
                await wait.wait_for(
                    kube, "apps/v1", "Deployment", op.deployment.name, op.deployment.namespace,
                    lambda o: wait.condition_true(o, "Available"), timeout=180,
                )  # fmt: skip
            except TimeoutError:
                raise ScenarioError(
                    f"operator {op.name}: Deployment {op.deployment.namespace}/"
                    f"{op.deployment.name} not Available after 180s; see"
                    f" {self.sandbox.logs_dir / (op.name + '.log')} and"
                    f" {self.sandbox.dir / 'agent-status.json'}"
                ) from None
        relays = {s.name: s.relays for s in specs}
        ca = (self.sandbox.pki_dir / "ca.crt").read_bytes()
        for obj in held:
            hook = next(h for h in self.spec.webhooks if h.configuration == _name(obj))
            op = self.scenario.webhook_operator(hook)
            if hook.mode == "url":
                assert op.webhook is not None
                obj = rewire(obj, relays[op.name][op.webhook.port], ca)
            await apply(kube, obj)
        for obj in self.source_objects(self.spec.after):
            try:
                await kube.create(obj)
            except kube_errors.Conflict as exc:
                if not exc.already_exists:
                    raise
        for check in self.spec.wait_for:
            self.say(f"waiting for {check.kind} {check.name} {check.condition} ...")
            condition = check.condition

            def holds(obj: RawObject | None, condition: str = condition) -> bool:
                return wait.condition_true(obj, condition)

            try:
                await wait.wait_for(
                    kube, check.api_version, check.kind, check.name, check.namespace, holds,
                    timeout=check.timeout,
                )  # fmt: skip
            except TimeoutError:
                raise ScenarioError(
                    f"{check.kind} {check.name}: condition {check.condition} not True after"
                    f" {check.timeout:.0f}s (spec.waitFor of {self.scenario.file})"
                ) from None
        self.say("ready")

    async def _crds_established(self, kube: KubeClient, objects: list[RawObject]) -> None:
        for crd in (o for o in objects if o.get("kind") == "CustomResourceDefinition"):
            await wait.wait_for(
                kube, "apiextensions.k8s.io/v1", "CustomResourceDefinition", _name(crd), None,
                lambda o: wait.condition_true(o, "Established"), timeout=60,
            )  # fmt: skip

    def _workload(self, op: Operator, deployment: RawObject, prog: list[str]) -> WorkloadSpec:
        """Write (or keep: ports stay stable) the agent's spec of one operator."""
        directory = workloads_dir(self.sandbox.dir)
        path = directory / f"{op.name}.json"
        previous = WorkloadSpec.load(path) if path.is_file() else None
        certs = directory / op.name / "certs"
        self._certificates(op, certs)
        selector = dict(deployment["spec"]["selector"].get("matchLabels") or {})
        relays = dict(previous.relays) if previous else {}
        for name in op.port_names():
            relays.setdefault(name, ports.free_port())
        spec = WorkloadSpec(
            name=op.name,
            scenario=self.scenario.name,
            namespace=op.deployment.namespace,
            deployment=op.deployment.name,
            selector=selector,
            container=op.container,
            images=list(op.images),
            command=list(op.command) if op.command is not None else None,
            program=prog,
            args=list(op.args),
            cert_dir=str(certs),
            api_proxy_port=previous.api_proxy_port if previous else ports.free_port(),
            relays=relays,
            env=dict(op.env),
            readiness=op.readiness.model_dump() if op.readiness else None,
            webhook_port=op.webhook.port if op.webhook else None,
            volumes=op.volume_names(),
        )
        if spec != previous:
            spec.save(directory)
        return spec

    def _certificates(self, op: Operator, certs: Path) -> None:
        """A serving certificate for the operator, signed by the sandbox CA."""
        if (certs / "tls.crt").is_file():
            return
        certs.mkdir(parents=True, exist_ok=True)
        ca = pki.KeyPair(self.sandbox.pki_dir / "ca.crt", self.sandbox.pki_dir / "ca.key")
        ns = op.deployment.namespace
        names = [f"{op.deployment.name}.{ns}.svc", f"{op.name}.{ns}.svc", "localhost"]
        pki.issue(
            ca, certs, "tls", common_name=names[0], dns_names=tuple(names),
            ip_addresses=("127.0.0.1",), server=True,
        )  # fmt: skip
        (certs / "ca.crt").write_bytes(ca.cert.read_bytes())


def _name(obj: RawObject) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def _deployment_key(obj: RawObject) -> tuple[str, str] | None:
    if obj.get("kind") != "Deployment":
        return None
    meta = obj.get("metadata", {})
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def on_agent_node(deployment: RawObject) -> RawObject:
    """The Deployment with its pods pinned to the agent's node (a nodeSelector and a
    toleration of the node's taint), where the agent, not kwok, is their kubelet."""
    out = copy.deepcopy(deployment)
    pod = out.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})
    pod["nodeSelector"] = {**(pod.get("nodeSelector") or {}), AGENT_NODE_LABEL: "agent"}
    tolerations = [t for t in pod.get("tolerations") or [] if t.get("key") != AGENT_TAINT]
    pod["tolerations"] = [
        *tolerations,
        {"key": AGENT_TAINT, "operator": "Exists", "effect": "NoSchedule"},
    ]
    return out


def rewire(config: RawObject, relay_port: int, ca_bundle: bytes) -> RawObject:
    """A webhook configuration whose ``service`` references become loopback URLs (through the
    agent's relay, so a NetworkPolicy on the operator pod cuts them)."""
    out = copy.deepcopy(config)
    for hook in out.get("webhooks") or []:
        client = hook.get("clientConfig") or {}
        path = (client.get("service") or {}).get("path") or ""
        hook["clientConfig"] = {
            "url": f"https://127.0.0.1:{relay_port}{path}",
            "caBundle": base64.b64encode(ca_bundle).decode(),
        }
    return out


async def apply(kube: KubeClient, obj: RawObject) -> RawObject:
    """Server-side apply (no last-applied annotation, so CRDs of any size fit)."""
    return await kube.patch(
        ResourceRef.of(obj), obj, PatchType.APPLY, field_manager=FIELD_MANAGER, force=True
    )


async def install(sandbox: Sandbox, scenario: Scenario, progress: Progress) -> None:
    """Install ``scenario`` into the running ``sandbox``."""
    async with kube_client.connect(str(sandbox.kubeconfig)) as kube:
        await Installer(sandbox, scenario, progress).run(kube)
