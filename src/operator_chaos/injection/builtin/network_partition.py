"""NetworkPartition: cut the selected pods off the network with a deny-all NetworkPolicy.

Breaks: traffic to and/or from the pods (including to the API server) stops, so watches stall
and status goes stale. Revert deletes the policy, and the operator must resync on its own.
"""

from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema

from operator_chaos.api.v1alpha1 import DangerLevel, Duration, ExperimentSpec, InjectionType
from operator_chaos.api.v1alpha1.durations import format_duration
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import PARAMS, PodSelector


class Direction(StrEnum):
    """Which traffic the policy blocks."""

    INGRESS = "Ingress"
    EGRESS = "Egress"
    BOTH = "Both"


def _direction(value: object) -> object:
    """Accept ``ingress``/``INGRESS`` as well as ``Ingress``: the corpus spells it in lowercase."""
    if isinstance(value, str):
        for member in Direction:
            if member.value.lower() == value.strip().lower():
                return member
    return value


_SPELLINGS = [form for d in Direction for form in (d.value, d.value.lower(), d.value.upper())]


class Params(InjectionParams):
    """Which pods to isolate and in which direction."""

    label_selector: PodSelector = Field(description="Pods to isolate, e.g. app=my-operator")
    direction: Annotated[
        Direction,
        BeforeValidator(_direction),
        WithJsonSchema({"type": "string", "enum": _SPELLINGS}),
    ] = Field(
        default=Direction.BOTH,
        description="Traffic to block: Ingress, Egress or Both (case-insensitive)",
    )
    duration: Duration | None = Field(
        default=None,
        description="How long the partition lasts before it is lifted (default: the ttl)",
    )

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        if self.duration is not None and self.duration > spec.injection.ttl:
            return [
                (
                    (*PARAMS, "duration"),
                    f"duration {format_duration(self.duration)} exceeds injection.ttl"
                    f" {format_duration(spec.injection.ttl)}; shorten it or raise the ttl",
                )
            ]
        if self.duration is not None and self.duration <= timedelta(0):
            return [((*PARAMS, "duration"), "duration must be positive, e.g. 60s")]
        return []


SPEC = TypeSpec(
    injection_type=InjectionType.NETWORK_PARTITION,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Isolate pods with a deny-all NetworkPolicy until the fault is reverted.",
    affects_pods=True,
)
