"""Which cluster to talk to, resolved the way kubectl does.

Order: an explicit ``--kubeconfig`` path, then ``$KUBECONFIG`` (first file of the list),
then ``~/.kube/config``, then the in-cluster service account. ``--context`` picks a context
from whichever kubeconfig was chosen. Nothing here opens a connection.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError as LightkubeConfigError

from operator_chaos.kube.errors import ConfigError

_IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


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


def default_kubeconfig_path() -> Path | None:
    """The kubeconfig kubectl would use, or None when there is none on this machine."""
    env = os.environ.get("KUBECONFIG", "")
    for part in env.split(os.pathsep):
        if part and Path(part).expanduser().is_file():
            return Path(part).expanduser()
    home = Path("~/.kube/config").expanduser()
    return home if home.is_file() else None


def in_cluster() -> bool:
    """True when running in a pod with a mounted service-account token."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and _IN_CLUSTER_TOKEN.is_file()


def resolve(kubeconfig: str | Path | None = None, context: str | None = None) -> ClusterConfig:
    """Resolve a cluster connection; raise :class:`ConfigError` with the fix when impossible."""
    path = Path(kubeconfig).expanduser() if kubeconfig else default_kubeconfig_path()
    if kubeconfig and not (path and path.is_file()):
        raise ConfigError(f"kubeconfig {kubeconfig}: file not found")
    try:
        if path is not None:
            loaded = KubeConfig.from_file(path)
            single = loaded.get(context_name=context)
            if single is None:  # pragma: no cover - lightkube raises instead
                raise ConfigError(f"kubeconfig {path}: no context {context!r}")
            return ClusterConfig(single, str(path), single.context_name or "")
        if in_cluster():
            if context:
                raise ConfigError("--context needs a kubeconfig; none was found (in-cluster mode)")
            single = KubeConfig.from_service_account().get()
            assert single is not None
            return ClusterConfig(single, "in-cluster service account", "in-cluster")
    except LightkubeConfigError as exc:
        raise ConfigError(f"kubeconfig {path}: {exc}") from exc
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"kubeconfig {path}: cannot be read ({exc})") from exc
    raise ConfigError(
        "no cluster configured: pass --kubeconfig, set KUBECONFIG, or start the local sandbox"
        " with `operator-chaos sandbox up`"
    )
