"""ImageCorrupt: point a Deployment's container at an image that cannot be pulled.

Breaks: every new pod sits in ErrImagePull / ImagePullBackOff, so the rollout stalls; the
operator should notice and restore the image it manages. The container is found by name
(default: the first container); revert restores the original image unless somebody changed it
since the fault.
"""

from typing import Any

from pydantic import Field

from operator_chaos.api.v1alpha1 import DangerLevel, InjectionType, RecoveryModel
from operator_chaos.injection import podtemplate, targets
from operator_chaos.injection.base import Access, TypeSpec
from operator_chaos.injection.protocol import Injector
from operator_chaos.kube.port import RawObject, ResourceRef

DEFAULT_IMAGE = "registry.invalid/nonexistent:chaos"
"""``.invalid`` is reserved (RFC 2606): the name never resolves, so the pull always fails."""

FAILING = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})


class Params(podtemplate.ContainerParams):
    """The Deployment, the container and the bad image."""

    image: str = Field(
        default=DEFAULT_IMAGE,
        min_length=1,
        max_length=512,
        pattern=r"^\S+$",
        description="Image reference that cannot be pulled",
    )


Record = podtemplate.Record

SPEC = TypeSpec(
    injection_type=InjectionType.IMAGE_CORRUPT,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Swap a container image for one that cannot be pulled.",
    affects_pods=True,
    record=Record,
    access=(
        Access(("patch", "list", "watch"), why="set the image; confirm watches the template"),
        Access(
            ("list", "watch"),
            on="namespace",
            resource="pods",
            why="confirm sees a pod of the broken template fail to pull",
        ),
    ),
    example=lambda component, namespace: {"name": component},
)


class ImageCorrupt(podtemplate.ContainerFault[Params]):
    """Sets ``containers[name=X].image`` to an image that cannot be pulled."""

    spec = SPEC
    field = "image"
    shows = "an image pull failure"

    def new_value(self, params: Params) -> str:
        return params.image

    def refuse(self, ref: ResourceRef, container: str, current: tuple[bool, Any], new: Any) -> None:
        if current == (True, new):
            raise targets.InjectionRefused(
                f"{ref} container {container!r} already uses image {new!r}: nothing would"
                " change (a fault left over? run operator-chaos clean; or set parameters.image"
                " to another unpullable image)"
            )

    def failure(self, status: RawObject) -> str | None:
        """Waiting because the image cannot be pulled."""
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in FAILING:
            return f"waiting: {waiting['reason']}"
        return None


INJECTOR: Injector[Params] = ImageCorrupt()  # annotated so mypy checks the protocol
