"""ImageCorrupt: point a Deployment's container at an image that cannot be pulled.

Breaks: new pods sit in ImagePullBackOff, so a rollout stalls; the operator should report it and
restore the image it manages. Revert restores the original image.
"""

from pydantic import Field

from operator_chaos.api.v1alpha1 import DangerLevel, InjectionType, RecoveryModel
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.fields import NamespaceName, ObjectName

DEFAULT_IMAGE = "registry.invalid/nonexistent:chaos"


class Params(InjectionParams):
    """The Deployment, the container and the bad image."""

    name: ObjectName = Field(description="Name of the Deployment in the target namespace")
    container_name: NamespaceName | None = Field(
        default=None, description="Container to break (default: the first container)"
    )
    image: str = Field(
        default=DEFAULT_IMAGE,
        min_length=1,
        max_length=512,
        pattern=r"^\S+$",
        description="Image reference that cannot be pulled",
    )


SPEC = TypeSpec(
    injection_type=InjectionType.IMAGE_CORRUPT,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Swap a container image for one that cannot be pulled.",
    affects_pods=True,
)
