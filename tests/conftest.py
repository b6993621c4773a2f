"""Test-wide settings: tests under tests/cluster/ run against a real local control plane.

One sandbox (etcd, kube-apiserver, controller-manager, scheduler, kwok, the agent and the
real training-operator) is started per test session and torn down at the end. For fast local
iteration, set ``OPERATOR_CHAOS_TEST_SANDBOX=<name>`` to reuse (or start and keep) the named
sandbox instead: ``operator-chaos sandbox up --name dev --scenario training-operator``, then
``OPERATOR_CHAOS_TEST_SANDBOX=dev pytest tests/cluster``.
"""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from operator_chaos.kube.client import LightkubeClient
from operator_chaos.sandbox.cluster import Sandbox

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/cluster/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """A running sandbox with the training-operator scenario installed."""
    reuse = os.environ.get("OPERATOR_CHAOS_TEST_SANDBOX")
    box = Sandbox(reuse or f"pytest-{os.getpid()}")
    box.up(print)
    box.install_scenario("training-operator", print)
    try:
        yield box
    finally:
        if not reuse:
            box.down(print)


@pytest.fixture(scope="session")
async def kube(sandbox: Sandbox) -> "AsyncIterator[LightkubeClient]":
    """An admin client for the sandbox (the same adapter the tool uses)."""
    from operator_chaos.kube import client

    async with client.connect(str(sandbox.kubeconfig)) as connection:
        yield connection
