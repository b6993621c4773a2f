"""Secret and ConfigMap volumes projected into a directory, kept in sync as a kubelet does.

Operators that manage their own serving certificate write it into a Secret and then wait for
the kubelet to mount it (Kueue's cert rotator polls its cert dir); their configuration often
comes from a ConfigMap volume. The agent runs :func:`project` for each ``{volume:NAME}`` a
container uses. Updates are atomic the kubelet way: the files live in a fresh timestamped
directory and ``..data`` is swapped to it with one rename, each key being a symlink through
``..data``, so file watchers (controller-runtime's certwatcher) see a consistent set. When the
object is deleted the last content stays mounted, as with a kubelet; a missing object at the
start gives an empty directory. Values are written to files only, never logged.
"""

import asyncio
import base64
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube import wait
from operator_chaos.kube.port import KubeClient, RawObject

log = logging.getLogger(__name__)
_DATA = "..data"


def source(volume: RawObject) -> tuple[str, str, bool] | None:
    """(kind, name, optional) of a Secret or ConfigMap volume; None for other volume types."""
    if "secret" in volume:
        spec = volume["secret"] or {}
        return "Secret", str(spec.get("secretName", "")), bool(spec.get("optional", False))
    if "configMap" in volume:
        spec = volume["configMap"] or {}
        return "ConfigMap", str(spec.get("name", "")), bool(spec.get("optional", False))
    return None


def files_of(
    volume: RawObject, obj: RawObject | None, expand: Callable[[str], str] | None = None
) -> dict[str, tuple[bytes, int]]:
    """Relative path -> (content, mode) the kubelet would mount for ``obj`` (pure).

    ``expand`` rewrites the text of ConfigMap ``data`` (the args' placeholders: in a real pod
    ``:9443`` is the pod's own port, here every pod shares loopback); Secrets never.
    """
    if obj is None:
        return {}
    kind = "secret" if "secret" in volume else "configMap"
    spec = volume.get(kind) or {}
    default_mode = int(spec.get("defaultMode", 0o644))
    data: dict[str, bytes] = {}
    if obj.get("kind") == "Secret":
        for key, value in (obj.get("data") or {}).items():
            data[key] = base64.b64decode(value)
    else:
        for key, text in (obj.get("data") or {}).items():
            data[key] = (expand(str(text)) if expand else str(text)).encode()
        for key, value in (obj.get("binaryData") or {}).items():
            data[key] = base64.b64decode(value)
    items = spec.get("items")
    if not items:
        return {key: (value, default_mode) for key, value in data.items()}
    out: dict[str, tuple[bytes, int]] = {}
    for item in items:
        key, rel = item.get("key"), item.get("path")
        if key in data and rel and not rel.startswith("/") and ".." not in rel.split("/"):
            out[rel] = (data[key], int(item.get("mode", default_mode)))
    return out


def write_atomically(dest: Path, files: dict[str, tuple[bytes, int]]) -> None:
    """Replace the projected content of ``dest`` with ``files`` in one rename."""
    dest.mkdir(parents=True, exist_ok=True)
    stamp = dest / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    stamp.mkdir()
    for rel, (content, mode) in files.items():
        path = stamp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)
    tmp_link = dest / "..data_tmp"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(stamp.name)
    old = os.readlink(dest / _DATA) if (dest / _DATA).is_symlink() else None
    tmp_link.replace(dest / _DATA)
    tops = {rel.split("/", 1)[0] for rel in files}
    for top in tops:
        link = dest / top
        if not link.is_symlink():
            link.symlink_to(f"{_DATA}/{top}")
    for entry in dest.iterdir():
        if entry.name.startswith(".."):
            continue
        if entry.name not in tops:
            entry.unlink(missing_ok=True)
    if old and old != stamp.name:
        shutil.rmtree(dest / old, ignore_errors=True)


async def project(
    kube: KubeClient,
    namespace: str,
    volume: RawObject,
    dest: Path,
    expand: Callable[[str], str] | None = None,
    synced: asyncio.Event | None = None,
) -> None:
    """Keep ``dest`` equal to the volume's Secret/ConfigMap until cancelled (list, watch).

    ``synced`` is set after the first projection: a kubelet starts the container only once
    its volumes are mounted (Kueue reads its config file at start-up)."""
    found = source(volume)
    if found is None:
        raise ValueError(f"volume {volume.get('name')!r} is neither a Secret nor a ConfigMap")
    kind, name, _optional = found
    last: dict[str, tuple[bytes, int]] | None = None

    def sync(obj: RawObject | None) -> None:
        nonlocal last
        files = files_of(volume, obj, expand)
        if files != last:
            write_atomically(dest, files)
            last = files
            log.info(
                "projected %s %s/%s into %s (%d files)", kind, namespace, name, dest, len(files)
            )

    while True:
        try:
            async for obj, listed in wait.follow(kube, "v1", kind, name, namespace):
                if obj is not None or listed:  # a kubelet keeps the last content on deletion
                    sync(obj)
                if listed and synced is not None:
                    synced.set()
        except kube_errors.KubeError as exc:
            log.warning("volume %s %s/%s: %s; retrying", kind, namespace, name, exc)
            await asyncio.sleep(1.0)


def cleanup(dest: Path) -> None:
    """Remove a projected directory (the pod went away)."""
    with contextlib.suppress(OSError):
        shutil.rmtree(dest)
