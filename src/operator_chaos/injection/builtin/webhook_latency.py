"""WebhookLatency: register a slow admission webhook in front of the chosen resources.

Breaks: every create/update of those resources waits for the delay, as a struggling webhook
would make them, so the operator's writes time out or crawl. Revert deletes the webhook
configuration and its backing pods.
"""

from datetime import timedelta

from pydantic import Field

from operator_chaos.api.v1alpha1 import DangerLevel, Duration, InjectionType, RecoveryModel
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.fields import CommaList

MIN_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(seconds=29)


class Params(InjectionParams):
    """Which requests to slow down and by how much."""

    resources: CommaList = Field(
        description="Comma-separated plural resource names to intercept, e.g. deployments,services"
    )
    api_groups: CommaList = Field(
        description="Comma-separated API groups of those resources, e.g. apps or *"
    )
    delay: Duration = Field(
        default=timedelta(seconds=10),
        ge=MIN_DELAY,
        le=MAX_DELAY,
        description="Delay per request, 1s to 29s (the API server gives up at 30s)",
    )


SPEC = TypeSpec(
    injection_type=InjectionType.WEBHOOK_LATENCY,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Slow every write to the chosen resources with a delaying admission webhook.",
)
