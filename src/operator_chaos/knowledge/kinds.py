"""Which kinds the built-in Kubernetes API groups serve, and whether they are namespaced.

A knowledge file that says ``apiVersion: apps/v1, kind: Deploymnet`` would otherwise load and
only fail much later, against a cluster. For the API groups Kubernetes itself serves we know
the complete list of kinds from lightkube-models (pinned to the Kubernetes minor the sandbox
runs), so we can refuse typos and wrong group/version pairs at load time. Groups of custom
resources (anything lightkube-models does not know, including ``gateway.networking.k8s.io``)
are free: their kinds come from CRDs we cannot see.
"""

import difflib
import re
from dataclasses import dataclass

from operator_chaos.kube import builtin

_CAMEL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*$")


@dataclass(frozen=True, slots=True)
class KindInfo:
    """What we know about an apiVersion/kind pair; ``namespaced`` is None for custom groups."""

    builtin: bool
    namespaced: bool | None


def check_kind(api_version: str, kind: str) -> tuple[KindInfo | None, str | None]:
    """Return (info, None) when the pair is plausible, else (None, a message saying what to fix)."""
    if not _CAMEL_CASE.match(kind):
        return None, f"kind {kind!r} must be CamelCase (letters and digits, starting upper-case)"
    group = api_version.rpartition("/")[0]
    versions = builtin.versions(group)
    if versions is None:
        return KindInfo(builtin=False, namespaced=None), None
    served = builtin.group_version(api_version)
    if served is None:
        if api_version in versions:  # a custom group whose name maps onto a built-in module
            return KindInfo(builtin=False, namespaced=None), None
        return None, (
            f"Kubernetes does not serve apiVersion {api_version!r}; use {' or '.join(versions)}"
        )
    if kind not in served.kinds:
        names = sorted(served.kinds)
        hint = difflib.get_close_matches(kind, names, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else f" (it serves: {', '.join(names)})"
        return None, f"{api_version} does not serve kind {kind!r}{suggestion}"
    return KindInfo(builtin=True, namespaced=served.kinds[kind]), None
