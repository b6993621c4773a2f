"""The kinds Kubernetes itself serves, read from lightkube-models (the pinned Kubernetes minor).

lightkube-models ships one module per built-in group/version (``lightkube.resources.apps_v1``)
with one class per resource. We read them through lightkube's public surface only: module
names, the ``NamespacedResource``/``GlobalResource`` base classes and ``api_info()``. Module
names are listed without importing anything; a module is imported only when a file names a
kind of that group/version (about 10 ms each), so ``validate`` stays fast.
"""

import functools
import importlib
import pkgutil
from dataclasses import dataclass

_K8S_SUFFIX = ".k8s.io"


@dataclass(frozen=True, slots=True)
class GroupVersion:
    """The kinds one built-in group/version serves: kind -> namespaced."""

    api_version: str
    kinds: dict[str, bool]
    plurals: dict[str, str]


def _module_key(group: str) -> str:
    """The module-name stem lightkube-models uses for an API group ("" is the core group)."""
    if not group:
        return "core"
    return group.removesuffix(_K8S_SUFFIX).replace(".", "_").replace("-", "_").lower()


@functools.cache
def _modules() -> dict[str, list[str]]:
    """Module stem -> versions, from the file names in ``lightkube.resources`` (no import)."""
    import lightkube.resources

    found: dict[str, list[str]] = {}
    for info in pkgutil.iter_modules(lightkube.resources.__path__):
        stem, _, version = info.name.rpartition("_")
        if stem and version.startswith("v"):
            found.setdefault(stem, []).append(version)
    return found


def versions(group: str) -> list[str] | None:
    """The apiVersions Kubernetes serves for ``group``, or None when it is not a built-in group."""
    served = _modules().get(_module_key(group))
    if served is None:
        return None
    return sorted(f"{group}/{v}" if group else v for v in served)


@functools.cache
def group_version(api_version: str) -> GroupVersion | None:
    """The kinds of one built-in group/version, or None when lightkube-models has no such module.

    Also None when the module's classes belong to another group (a custom group whose name
    happens to map onto a built-in module stem).
    """
    from lightkube.core import resource

    group, _, version = api_version.rpartition("/")
    if version not in (_modules().get(_module_key(group)) or []):
        return None
    module = importlib.import_module(f"lightkube.resources.{_module_key(group)}_{version}")
    kinds: dict[str, bool] = {}
    plurals: dict[str, str] = {}
    for obj in vars(module).values():
        if not isinstance(obj, type) or not issubclass(
            obj, resource.NamespacedResource | resource.GlobalResource
        ):
            continue  # sub-resources (status, scale, eviction) are not kinds of their own
        info = resource.api_info(obj)
        if info.resource.group == group and info.resource.version == version:
            kinds[info.resource.kind] = issubclass(obj, resource.NamespacedResource)
            plurals[info.resource.kind] = info.plural
    return GroupVersion(api_version, kinds, plurals) if kinds else None


def resource_of(api_version: str, kind: str) -> tuple[str, bool] | None:
    """``(plural, namespaced)`` of a built-in kind, known without asking the API server
    (saves a discovery request per group/version and run); None for anything else."""
    served = group_version(api_version)
    if served is None or kind not in served.kinds:
        return None
    return served.plurals[kind], served.kinds[kind]
