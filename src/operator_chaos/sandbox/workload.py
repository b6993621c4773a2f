"""What the agent runs for a pod: a real process bound to pods matching a label selector.

A scenario writes one ``workloads/<name>.json`` per operator into the sandbox directory and
signals the agent (SIGHUP). The spec is the contract between the two; both sides use it.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """One operator process tied to a Deployment's pod."""

    name: str
    namespace: str
    selector: dict[str, str]
    service_account: str
    command: list[str]
    api_proxy_port: int
    webhook_proxy_port: int | None = None
    webhook_port: int | None = None
    readyz_port: int | None = None
    env: dict[str, str] = field(default_factory=dict)

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
        return cls(**json.loads(path.read_text()))

    @property
    def label_selector(self) -> str:
        """The selector as a Kubernetes label-selector string."""
        return ",".join(f"{k}={v}" for k, v in sorted(self.selector.items()))


def workloads_dir(sandbox_dir: Path) -> Path:
    """Where workload specs live in a sandbox directory."""
    return sandbox_dir / "workloads"
