"""The safety gate: may this experiment touch what its plan says it will touch?

Runs after planning (which only reads the cluster) and before anything is written. Every
refusal is a :class:`~operator_chaos.errors.SafetyViolation` whose message names the field to
change; the gate never weakens a rule because a flag was passed on the command line.
"""

from dataclasses import dataclass, field

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec
from operator_chaos.errors import SafetyViolation
from operator_chaos.kube.port import ResourceRef
from operator_chaos.safety import labels

PROTECTED_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})


@dataclass(frozen=True, slots=True)
class Footprint:
    """What a planned fault would touch, as computed by the injector's read-only ``plan``."""

    targets: tuple[ResourceRef, ...] = ()
    namespaces: frozenset[str] = frozenset()
    pods_affected: int = 0
    affects_pods: bool = False
    notes: tuple[str, ...] = field(default=())


def check_danger(spec: ExperimentSpec, danger: DangerLevel) -> None:
    """High danger needs ``blastRadius.allowDangerous: true``."""
    if danger is DangerLevel.HIGH and not spec.blast_radius.allow_dangerous:
        raise SafetyViolation(
            f"{spec.injection.type} is high danger: set spec.blastRadius.allowDangerous: true"
            " to run it (or choose a less dangerous injection)"
        )


def approve(
    spec: ExperimentSpec,
    danger: DangerLevel,
    footprint: Footprint,
    *,
    tool_namespace: str = labels.DEFAULT_NAMESPACE,
) -> None:
    """Raise :class:`SafetyViolation` unless the footprint fits the blast radius."""
    check_danger(spec, danger)
    radius = spec.blast_radius
    allowed = set(radius.allowed_namespaces)
    for ns in sorted(footprint.namespaces):
        if ns not in allowed:
            listed = ", ".join(sorted(allowed)) or "none"
            raise SafetyViolation(
                f"namespace {ns!r} is outside spec.blastRadius.allowedNamespaces ({listed}):"
                f" add it there to allow this experiment to touch it"
            )
        if (ns in PROTECTED_NAMESPACES or ns == tool_namespace) and not radius.allow_dangerous:
            raise SafetyViolation(
                f"namespace {ns!r} is protected: it must be listed in allowedNamespaces and"
                " spec.blastRadius.allowDangerous must be true"
            )
    if footprint.affects_pods:
        if footprint.pods_affected == 0:
            raise SafetyViolation(
                f"{spec.injection.type}: the selector matches no pods; nothing to inject"
                " (check spec.injection.parameters.labelSelector and the namespace)"
            )
        if footprint.pods_affected > radius.max_pods_affected:
            raise SafetyViolation(
                f"{spec.injection.type} would affect {footprint.pods_affected} pods but"
                f" spec.blastRadius.maxPodsAffected is {radius.max_pods_affected}:"
                " narrow the labelSelector or raise the limit"
            )
    forbidden = set(radius.forbidden_resources)
    for ref in footprint.targets:
        names = {ref.kind, f"{ref.kind}/{ref.name}"}
        if ref.namespace:
            names.add(f"{ref.kind}/{ref.namespace}/{ref.name}")
        hit = names & forbidden
        if hit:
            raise SafetyViolation(
                f"{ref} is listed in spec.blastRadius.forbiddenResources ({sorted(hit)[0]})"
            )
