"""The danger rule, in one place: loading, the registry and the gate all ask here.

An experiment may raise its type's danger (``injection.dangerLevel``), never lower it; a
high-danger experiment runs only with ``blastRadius.allowDangerous: true``. Kept free of
Kubernetes imports: ``validate`` uses it and must start fast.
"""

from operator_chaos.api.v1alpha1 import DangerLevel


def effective(default: DangerLevel, explicit: DangerLevel | None) -> DangerLevel:
    """The danger a run is judged at: the higher of the type's and the experiment's."""
    if explicit is None or explicit.rank < default.rank:
        return default
    return explicit


def lowered(default: DangerLevel, explicit: DangerLevel | None) -> bool:
    """True when the experiment tries to lower its type's danger (refused when loading)."""
    return explicit is not None and explicit.rank < default.rank


def needs_opt_in(danger: DangerLevel, allow_dangerous: bool) -> bool:
    """True when ``danger`` needs ``allowDangerous`` and the experiment did not give it."""
    return danger is DangerLevel.HIGH and not allow_dangerous
