"""CrashLoopInject: point a Deployment's container at a command that does not exist.

Breaks: every new pod's container fails to start and is restarted with back-off
(CrashLoopBackOff), so the rollout stalls half-done; the operator should notice and restore its
own template. The container is found by name (default: the first container); revert restores
the original command (or removes the field when the image's entrypoint was used), unless
somebody changed it since the fault.
"""

from operator_chaos.api.v1alpha1 import DangerLevel, InjectionType, RecoveryModel
from operator_chaos.injection import podtemplate
from operator_chaos.injection.base import Access, TypeSpec
from operator_chaos.injection.protocol import Injector
from operator_chaos.kube.port import RawObject

COMMAND = ["/chaos-nonexistent-binary"]
"""The injected command: an absolute path no image has, so the container cannot start."""

FAILING = frozenset({"CrashLoopBackOff", "RunContainerError", "CreateContainerError", "StartError"})


class Params(podtemplate.ContainerParams):
    """The Deployment and container to break."""


Record = podtemplate.Record

SPEC = TypeSpec(
    injection_type=InjectionType.CRASH_LOOP_INJECT,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Replace a container's command so its pods crash-loop.",
    affects_pods=True,
    record=Record,
    access=(
        Access(("patch", "list", "watch"), why="set the command; confirm watches the template"),
        Access(
            ("list", "watch"),
            on="namespace",
            resource="pods",
            why="confirm sees a pod of the broken template crash",
        ),
    ),
    example=lambda component, namespace: {"name": component},
)


class CrashLoopInject(podtemplate.ContainerFault[Params]):
    """Sets ``containers[name=X].command`` to a binary that does not exist."""

    spec = SPEC
    field = "command"
    shows = "a crash loop"

    def new_value(self, params: Params) -> list[str]:
        return list(COMMAND)

    def failure(self, status: RawObject) -> str | None:
        """Waiting in CrashLoopBackOff (or a start error), or already exited with an error."""
        restarts = int(status.get("restartCount") or 0)
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in FAILING:
            return f"waiting: {waiting['reason']} ({restarts} restarts)"
        for key in ("state", "lastState"):
            ended = (status.get(key) or {}).get("terminated") or {}
            if ended and int(ended.get("exitCode") or 0) != 0:
                reason = ended.get("reason") or "Error"
                return f"exited with code {ended.get('exitCode')} ({reason}, {restarts} restarts)"
        return None


INJECTOR: Injector[Params] = CrashLoopInject()  # annotated so mypy checks the protocol
