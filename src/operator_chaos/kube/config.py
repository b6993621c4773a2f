"""Which cluster to talk to, resolved the way kubectl does.

Order: an explicit ``--kubeconfig`` file, then the ``$KUBECONFIG`` list merged as kubectl
merges it, then ``~/.kube/config``, then the in-cluster service account, then a local sandbox
when exactly one is running. ``--context`` picks a context from whichever kubeconfig was
chosen. Nothing here opens a connection.
"""

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError as LightkubeConfigError

from operator_chaos.kube.errors import ConfigError

_IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")

# Fields holding file paths, resolved against the file that defines them (as client-go does).
_PATH_FIELDS = {
    "clusters": ("cluster", ("certificate-authority",)),
    "users": ("user", ("client-certificate", "client-key", "tokenFile")),
}


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """A resolved connection: the lightkube config plus where it came from (for messages)."""

    config: SingleConfig
    source: str
    context: str

    @property
    def server(self) -> str:
        """The API server URL."""
        return str(self.config.cluster.server)


@dataclass(frozen=True, slots=True)
class LocalCluster:
    """A running local sandbox: its name and admin kubeconfig."""

    name: str
    kubeconfig: Path


RunningSandboxes = Callable[[], Sequence[LocalCluster]]
"""Lists the running sandboxes; supplied by the caller (kube/ knows nothing of the sandbox)."""


def kubeconfig_paths() -> list[Path]:
    """The kubeconfig files kubectl would read: the existing ones of ``$KUBECONFIG`` in order,
    else ``~/.kube/config`` if it exists. Empty when there is none."""
    env = os.environ.get("KUBECONFIG", "")
    if env.strip(os.pathsep):
        paths = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
        unique = list(dict.fromkeys(paths))
        existing = [p for p in unique if p.is_file()]
        if not existing:
            raise ConfigError(f"KUBECONFIG={env}: none of these files exists")
        return existing
    home = Path("~/.kube/config").expanduser()
    return [home] if home.is_file() else []


def default_kubeconfig_path() -> Path | None:
    """The first kubeconfig kubectl would read, or None when there is none on this machine."""
    try:
        paths = kubeconfig_paths()
    except ConfigError:
        return None
    return paths[0] if paths else None


def in_cluster() -> bool:
    """True when running in a pod with a mounted service-account token."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and _IN_CLUSTER_TOKEN.is_file()


MAX_KUBECONFIG_BYTES = 8 * 1024 * 1024


def _read(path: Path) -> dict[str, Any]:
    """A kubeconfig file as a mapping: a regular file (a FIFO would block for ever, a device
    would never end), of bounded size, parsed with the safe loader."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ConfigError(f"kubeconfig {path}: not a regular file; pass a kubeconfig file")
        with path.open("rb") as handle:
            raw = handle.read(MAX_KUBECONFIG_BYTES + 1)
        if len(raw) > MAX_KUBECONFIG_BYTES:
            raise ConfigError(f"kubeconfig {path}: larger than {MAX_KUBECONFIG_BYTES} bytes")
        doc = yaml.safe_load(raw.decode("utf-8", errors="replace"))
    except OSError as exc:
        raise ConfigError(f"kubeconfig {path}: cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"kubeconfig {path}: not valid YAML") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"kubeconfig {path}: not a kubeconfig (expected a mapping)")
    return doc


def _absolute(entry: dict[str, Any], fields: Sequence[str], base: Path) -> dict[str, Any]:
    """A copy of ``entry`` whose relative file paths point next to its kubeconfig file."""
    out = dict(entry)
    for name in fields:
        value = out.get(name)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            out[name] = str(base / value)
    exec_ = out.get("exec")
    if isinstance(exec_, dict):
        command = exec_.get("command")
        if isinstance(command, str) and os.sep in command and not Path(command).is_absolute():
            out["exec"] = {**exec_, "command": str(base / command)}
    return out


def merge(paths: Sequence[Path]) -> dict[str, Any]:
    """Merge kubeconfig files like kubectl: for every cluster, user and context name the first
    file that defines it wins; ``current-context`` comes from the first file that sets it."""
    merged: dict[str, Any] = {"clusters": [], "users": [], "contexts": []}
    seen: dict[str, set[str]] = {key: set() for key in merged}
    for path in paths:
        doc = _read(path)
        if not merged.get("current-context") and doc.get("current-context"):
            merged["current-context"] = doc["current-context"]
        for key in ("clusters", "users", "contexts"):
            entries = doc.get(key) or []
            if not isinstance(entries, list):
                raise ConfigError(f"kubeconfig {path}: {key} must be a list")
            for raw in entries:
                if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
                    raise ConfigError(f"kubeconfig {path}: every entry of {key} needs a name")
                if raw["name"] in seen[key]:
                    continue
                seen[key].add(raw["name"])
                entry = dict(raw)
                if key in _PATH_FIELDS:
                    inner, fields = _PATH_FIELDS[key]
                    entry[inner] = _absolute(raw.get(inner) or {}, fields, path.parent)
                merged[key].append(entry)
    return merged


def context_names(kubeconfig: str | Path | None = None) -> tuple[str, list[str]] | None:
    """(source, context names) of the kubeconfig ``resolve`` would read (the merged
    ``$KUBECONFIG`` list included), or None when there is no kubeconfig at all."""
    if kubeconfig:
        path = Path(kubeconfig).expanduser()
        if not path.exists():
            raise ConfigError(f"kubeconfig {kubeconfig}: file not found")
        paths = [path]
    else:
        paths = kubeconfig_paths()
    if not paths:
        return None
    merged = merge(paths)
    return os.pathsep.join(str(p) for p in paths), [c["name"] for c in merged["contexts"]]


def _select(paths: Sequence[Path], context: str | None) -> ClusterConfig:
    source = os.pathsep.join(str(p) for p in paths)
    merged = merge(paths)
    names = [c["name"] for c in merged["contexts"]]
    if context is not None and context not in names:
        raise ConfigError(
            f"kubeconfig {source}: context {context!r} not found"
            f" (contexts: {', '.join(names) or 'none'})"
        )
    if context is None and not merged.get("current-context"):
        raise ConfigError(f"kubeconfig {source}: no current-context set; pass --context")
    try:
        single = KubeConfig.from_dict(merged, fname=paths[0]).get(context_name=context)
    except LightkubeConfigError as exc:
        raise ConfigError(f"kubeconfig {source}: {exc}") from exc
    except KeyError as exc:
        raise ConfigError(f"kubeconfig {source}: context refers to unknown {exc}") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"kubeconfig {source}: invalid ({exc})") from exc
    if single is None:  # pragma: no cover - lightkube raises instead
        raise ConfigError(f"kubeconfig {source}: no context {context!r}")
    return ClusterConfig(single, source, single.context_name or "")


def resolve(
    kubeconfig: str | Path | None = None,
    context: str | None = None,
    *,
    sandboxes: RunningSandboxes | None = None,
) -> ClusterConfig:
    """Resolve a cluster connection; raise :class:`ConfigError` with the fix when impossible.

    ``sandboxes`` lists the running local sandboxes; one of them is used only when nothing
    else is configured and it is the only one running, so a bare command never picks a
    cluster the user did not mean.
    """
    if kubeconfig:
        path = Path(kubeconfig).expanduser()
        if not path.exists():
            raise ConfigError(f"kubeconfig {kubeconfig}: file not found")
        return _select([path], context)
    paths = kubeconfig_paths()
    if paths:
        return _select(paths, context)
    if in_cluster():
        if context:
            raise ConfigError("--context needs a kubeconfig; none was found (in-cluster mode)")
        try:
            single = KubeConfig.from_service_account().get()
        except (LightkubeConfigError, OSError, KeyError) as exc:
            raise ConfigError(f"in-cluster service account: {exc}") from exc
        assert single is not None
        return ClusterConfig(single, "in-cluster service account", "in-cluster")
    running = list(sandboxes()) if sandboxes is not None else []
    if len(running) == 1 and not context:
        box = running[0]
        resolved = _select([box.kubeconfig], None)
        return ClusterConfig(resolved.config, f"sandbox {box.name}", resolved.context)
    if len(running) > 1:
        names = ", ".join(b.name for b in running)
        raise ConfigError(
            f"no kubeconfig, and {len(running)} sandboxes are running ({names}); choose one with"
            f" --kubeconfig $(operator-chaos sandbox kubeconfig --name {running[0].name})"
        )
    if context:
        raise ConfigError(f"--context {context}: no kubeconfig found (pass --kubeconfig)")
    raise ConfigError(
        "no cluster configured: pass --kubeconfig, set KUBECONFIG, or start the local sandbox"
        " with `operator-chaos sandbox up`"
    )
