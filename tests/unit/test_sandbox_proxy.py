"""The partitionable loopback relay that stands in for the pod network (no cluster)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from operator_chaos.sandbox import ports
from operator_chaos.sandbox.proxy import PartitionableRelay

SILENCE = 0.5  # how long "no reply" must last to count as black-holed


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@pytest.fixture
async def relay() -> AsyncIterator[PartitionableRelay]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    upstream = server.sockets[0].getsockname()[1]
    relay = PartitionableRelay("test", ports.free_port(), upstream)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.close()
        server.close()
        await server.wait_closed()
        await asyncio.sleep(0)  # let cancelled relay tasks finish


async def _connect(
    relay: PartitionableRelay,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", relay.listen_port)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def _roundtrip(relay: PartitionableRelay, payload: bytes) -> bytes:
    reader, writer = await _connect(relay)
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(payload)), 5)
    finally:
        await _close(writer)


async def test_forwards_bytes_both_ways(relay: PartitionableRelay) -> None:
    assert await _roundtrip(relay, b"hello") == b"hello"
    big = bytes(range(256)) * 2048  # 512 KiB: several chunks and back-pressure
    assert await _roundtrip(relay, big) == big
    assert relay.forwarded == 2
    assert relay.dropped == 0
    assert not relay.blocked


async def test_listens_on_loopback_only(relay: PartitionableRelay) -> None:
    assert relay._server is not None
    hosts = {sock.getsockname()[0] for sock in relay._server.sockets}
    assert hosts == {"127.0.0.1"}


async def test_blocked_black_holes_new_connections_then_heals(relay: PartitionableRelay) -> None:
    relay.set_blocked(True)
    assert relay.blocked

    # Accepted (like a SYN that got through), but nothing ever comes back.
    reader, writer = await _connect(relay)
    writer.write(b"anyone there?")
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1), SILENCE)
    assert relay.dropped == 1
    assert relay.forwarded == 0

    relay.set_blocked(False)
    assert not relay.blocked
    # The held connection is closed on healing, so the client reconnects at once...
    assert await asyncio.wait_for(reader.read(100), 5) == b""
    await _close(writer)
    # ...and new connections are forwarded again.
    assert await _roundtrip(relay, b"back") == b"back"
    assert relay.forwarded == 1


async def test_partition_stops_an_open_stream(relay: PartitionableRelay) -> None:
    reader, writer = await _connect(relay)
    try:
        writer.write(b"one")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(3), 5) == b"one"

        relay.set_blocked(True)
        await asyncio.sleep(0)  # the relay task observes its cancellation
        writer.write(b"two")
        await writer.drain()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), SILENCE)

        relay.set_blocked(False)
        assert await asyncio.wait_for(reader.read(100), 5) == b""  # closed on heal
    finally:
        await _close(writer)
    assert await _roundtrip(relay, b"three") == b"three"


async def test_set_blocked_is_idempotent(relay: PartitionableRelay) -> None:
    relay.set_blocked(False)
    assert await _roundtrip(relay, b"x") == b"x"
    relay.set_blocked(True)
    relay.set_blocked(True)
    reader, writer = await _connect(relay)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1), SILENCE)
    relay.set_blocked(False)
    relay.set_blocked(False)
    assert await asyncio.wait_for(reader.read(1), 5) == b""
    await _close(writer)
    assert await _roundtrip(relay, b"y") == b"y"


async def test_unreachable_upstream_closes_the_client() -> None:
    relay = PartitionableRelay("dead-end", ports.free_port(), ports.free_port())
    await relay.start()
    try:
        reader, writer = await _connect(relay)
        assert await asyncio.wait_for(reader.read(1), 5) == b""
        await _close(writer)
        assert relay.forwarded == 0
    finally:
        await relay.close()
