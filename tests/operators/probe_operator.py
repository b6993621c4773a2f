"""probe-operator: the smallest real operator for the sandbox's pod-behaviour tests.

Run by the sandbox agent for the pod of its Deployment (see tests/cluster/test_sandbox_pods.py,
which writes the scenario file that declares it)::

    python tests/operators/probe_operator.py --kubeconfig K --namespace NS --health-port P \
        --not-ready-file F

On start it records itself in ConfigMap ``probe-operator-heartbeat`` (``data.pod`` = its pod,
from ``$POD_NAME``), using the kubeconfig it was given: proof that it runs and can write as
its ServiceAccount. It serves ``GET /readyz`` on 127.0.0.1:P: 200, or 503 while the not-ready
file exists (an operator that is up but not ready). SIGTERM: exit 0.
"""

import argparse
import asyncio
import os
import signal
from pathlib import Path

from lightkube import AsyncClient, KubeConfig
from lightkube.resources.core_v1 import ConfigMap
from lightkube.types import PatchType

HEARTBEAT = "probe-operator-heartbeat"


async def serve(port: int, not_ready: Path) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readline()
            while (await reader.readline()).strip():
                pass
            path = request.split()[1].decode() if len(request.split()) > 1 else "/"
            ok = path == "/healthz" or (path == "/readyz" and not os.path.exists(not_ready))  # noqa: ASYNC240 - a local flag file
            status = (
                "200 OK"
                if ok
                else ("503 Service Unavailable" if path == "/readyz" else "404 Not Found")
            )
            body = b"ok" if ok else b"not ready"
            writer.write(
                f"HTTP/1.0 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
            )
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


async def amain(args: argparse.Namespace) -> int:
    config = KubeConfig.from_file(args.kubeconfig)
    client = AsyncClient(
        config, namespace=args.namespace, field_manager="probe-operator", trust_env=False
    )
    pod = os.environ.get("POD_NAME", "")
    body: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": HEARTBEAT, "namespace": args.namespace},
        "data": {"pod": pod, "pid": str(os.getpid())},
    }
    await client.patch(ConfigMap, HEARTBEAT, body, patch_type=PatchType.APPLY, force=True)
    print(f"heartbeat written for pod {pod}", flush=True)
    server = await serve(args.health_port, args.not_ready_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    server.close()
    await client.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--health-port", required=True, type=int)
    parser.add_argument("--not-ready-file", required=True, type=Path)
    return asyncio.run(amain(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
