"""A loopback TCP relay that can be partitioned, standing in for the pod network.

The operator's API traffic (egress) and the API server's webhook calls to the operator
(ingress) each pass through one relay. While a NetworkPolicy isolates the operator's pod the
relay black-holes traffic: open connections stop carrying bytes and new ones are accepted but
never forwarded, as with dropped packets. When the partition lifts, the held connections are
closed so clients reconnect at once. TLS passes through untouched.
"""

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)
_CHUNK = 65536


class PartitionableRelay:
    """Relay ``127.0.0.1:listen_port`` to ``127.0.0.1:upstream_port``."""

    def __init__(self, name: str, listen_port: int, upstream_port: int) -> None:
        self.name = name
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self._blocked = False
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._held: set[asyncio.StreamWriter] = set()
        self.forwarded = 0
        self.dropped = 0

    @property
    def blocked(self) -> bool:
        """True while traffic is black-holed."""
        return self._blocked

    async def start(self) -> None:
        """Listen on loopback only."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        self._release_held()

    def set_blocked(self, blocked: bool) -> None:
        """Start or end the partition."""
        if blocked == self._blocked:
            return
        self._blocked = blocked
        log.info("relay %s: %s", self.name, "PARTITIONED" if blocked else "healed")
        if blocked:
            for task in list(self._connections):  # in-flight streams stop carrying bytes
                task.cancel()
        else:
            self._release_held()

    def _release_held(self) -> None:
        for writer in list(self._held):
            writer.close()
        self._held.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._blocked:
            self.dropped += 1
            self._held.add(writer)  # accepted, never answered: looks like packet loss
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        upstream_writer: asyncio.StreamWriter | None = None
        hold = False
        try:
            up_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port
            )
            self.forwarded += 1
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Partitioned mid-stream: keep the client side open without forwarding anything,
            # like a dead network path; it is closed when the partition lifts.
            hold = self._blocked
        finally:
            self._connections.discard(task)
            if upstream_writer is not None:
                upstream_writer.close()
            if hold:
                self._held.add(writer)
            else:
                with contextlib.suppress(Exception):
                    writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(_CHUNK):
        writer.write(data)
        await writer.drain()
    # Pass a half-close on only at a real end of stream: when a partition cancels the pipe,
    # the client must see silence (a dead path), not an EOF that makes it reconnect at once.
    with contextlib.suppress(Exception):
        writer.write_eof()
