"""What the agent runs for a pod: the contract between the scenario installer and the agent.

The installer writes one ``workloads/<name>.json`` per scenario operator into the sandbox
directory and signals the agent (SIGHUP). The agent runs ``program + args`` (placeholders
expanded per pod) for every pod of the Deployment that lands on its node, when the pod's image
is one of ``images`` and its command is ``command`` (or absent).
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """One scenario operator as the agent sees it."""

    name: str
    scenario: str
    namespace: str
    deployment: str
    selector: dict[str, str]
    container: str
    images: list[str]
    command: list[str] | None
    program: list[str]
    args: list[str]
    cert_dir: str
    api_proxy_port: int
    relays: dict[str, int] = field(default_factory=dict)
    """A stable loopback port per ``{port:NAME}``, relayed to the serving pod's own port."""
    env: dict[str, str] = field(default_factory=dict)
    readiness: dict[str, str] | None = None
    webhook_port: str | None = None
    volumes: list[str] = field(default_factory=list)
    """Every ``{volume:NAME}`` to project, including those only the manifests name."""

    def save(self, directory: Path) -> Path:
        """Write ``<directory>/<name>.json`` atomically."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> "WorkloadSpec":
        """Read one spec file."""
        data: dict[str, Any] = json.loads(path.read_text())
        return cls(**data)

    @property
    def label_selector(self) -> str:
        """The selector as a Kubernetes label-selector string."""
        return ",".join(f"{k}={v}" for k, v in sorted(self.selector.items()))

    def matches(self, pod: dict[str, Any]) -> bool:
        """True when ``pod`` belongs to this operator's Deployment."""
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        return meta.get("namespace") == self.namespace and all(
            labels.get(k) == v for k, v in self.selector.items()
        )


def workloads_dir(sandbox_dir: Path) -> Path:
    """Where workload specs live in a sandbox directory."""
    return sandbox_dir / "workloads"
