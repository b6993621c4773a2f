"""Scenarios: an operator and its resource graph, installed into a sandbox by one call."""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from operator_chaos.kube.port import KubeClient
    from operator_chaos.sandbox.cluster import Sandbox

Installer = Callable[["Sandbox", "KubeClient", Callable[[str], None]], Awaitable[None]]


def names() -> list[str]:
    """Scenario names accepted by ``operator-chaos sandbox scenario``."""
    return ["training-operator"]


def installer(name: str) -> Installer:
    """The install coroutine function of a scenario."""
    if name == "training-operator":
        from operator_chaos.sandbox.scenarios import training_operator

        return training_operator.install
    raise KeyError(name)
