"""A tiny real operator that owns one namespace: whenever it is gone, it creates it again
(with its label and its ConfigMap). The Resilient twin of the NamespaceDeletion tests.

Run as ``python -m tests.operators.namespace_keeper KUBECONFIG NAMESPACE`` (or by path); it
watches the Namespace through the API server and exits on SIGTERM.
"""

import asyncio
import contextlib
import signal
import sys

from operator_chaos.kube import client
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import RawObject, ResourceRef


def desired(namespace: str) -> list[RawObject]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {"team": "chaos-tests"}},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "content", "namespace": namespace},
            "data": {"a": "b"},
        },
    ]


async def keep(kubeconfig: str, namespace: str) -> None:
    """Reconcile on every watch event of the namespace (and on start): absent -> create."""
    ref = ResourceRef("v1", "Namespace", namespace)
    async with client.connect(kubeconfig) as kube:
        while True:
            current = await kube.get_or_none(ref)
            if current is None:
                for obj in desired(namespace):
                    try:
                        await kube.create(obj)
                        print(f"keeper: created {ResourceRef.of(obj)}", flush=True)
                    except kube_errors.Conflict:
                        pass  # already there (or still terminating: the next event retries)
            version = current["metadata"]["resourceVersion"] if current else None
            async for _ in kube.watch(
                "v1",
                "Namespace",
                None,
                field_selector=f"metadata.name={namespace}",
                resource_version=version,
            ):
                break  # any change: reconcile again


def main() -> None:
    kubeconfig, namespace = sys.argv[1], sys.argv[2]
    loop = asyncio.new_event_loop()
    task = loop.create_task(keep(kubeconfig, namespace))
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        loop.run_until_complete(task)


if __name__ == "__main__":
    main()
