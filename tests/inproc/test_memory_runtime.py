"""The in-memory runtime pieces Tier T tests stand on: MemoryNetwork (refused and unreachable
connects, partitions that stall and heal, delay and loss in virtual time, order kept) and
MemoryStorage (a crash loses what was not fsynced)."""

from __future__ import annotations

import errno

import pytest
import trio

from node.runtime import MemoryNetwork, MemoryStorage, Runtime, TrioClock
from node.runtime.clock import VIRTUAL_EPOCH_MS
from node.runtime.transport import listener_port, stream_addresses


async def _pair(network: MemoryNetwork, port: int = 7000):
    """A connection from host "a" to host "b": (a's end, b's end)."""
    (listener,) = await network.transport("b").listen("b", port)
    client = await network.transport("a").connect("b", port)
    server = await listener.accept()
    return client, server


async def test_connect_to_nobody_is_refused_at_once(autojump_clock) -> None:
    network = MemoryNetwork(seed=1)
    started = trio.current_time()
    with pytest.raises(ConnectionRefusedError):
        await network.transport("a").connect("b", 7000)
    assert trio.current_time() == started


async def test_bytes_flow_in_order_with_addresses(autojump_clock) -> None:
    network = MemoryNetwork(seed=1)
    client, server = await _pair(network)
    assert stream_addresses(client) == (("b", 7000), client.local)
    assert stream_addresses(server) == (client.local, ("b", 7000))
    for chunk in (b"one ", b"two ", b"three"):
        await client.send_all(chunk)
    received = b""
    while len(received) < len(b"one two three"):
        received += await server.receive_some(4)  # a read may take part of a write
    assert received == b"one two three"
    await client.aclose()
    assert await server.receive_some(100) == b""  # EOF


async def test_partition_refuses_new_links_stalls_old_ones_and_heal_delivers(
    autojump_clock,
) -> None:
    network = MemoryNetwork(seed=1, unreachable_s=2.0)
    client, server = await _pair(network)
    network.partition("a", "b")
    await client.send_all(b"in flight")
    with trio.move_on_after(30):
        await server.receive_some(100)
        raise AssertionError("bytes crossed a partition")
    started = trio.current_time()
    with pytest.raises(OSError) as caught:
        await network.transport("a").connect("b", 7000)
    assert caught.value.errno == errno.EHOSTUNREACH
    assert trio.current_time() - started == pytest.approx(2.0)  # like an unreachable host
    network.heal()
    with trio.fail_after(1):
        assert await server.receive_some(100) == b"in flight"  # what waited arrives
    fresh = await network.transport("a").connect("b", 7000)
    await fresh.aclose()


async def test_delay_and_loss_in_virtual_time(autojump_clock) -> None:
    network = MemoryNetwork(seed=7, retransmit_s=0.2)
    network.set_link("a", "b", delay_s=0.05)
    client, server = await _pair(network)
    sent = trio.current_time()
    await client.send_all(b"x")
    assert await server.receive_some(10) == b"x"
    assert trio.current_time() - sent == pytest.approx(0.05)
    # Loss: a lost write comes one retransmission later (or more) and holds back the next,
    # like TCP: nothing is dropped or reordered.
    network.set_link("a", "b", loss=0.5)
    sent = trio.current_time()
    for i in range(50):
        await client.send_all(b"%02d," % i)
    received = b""
    while len(received) < 150:
        received += await server.receive_some(1000)
    assert received == b"".join(b"%02d," % i for i in range(50))
    assert trio.current_time() - sent >= 0.05 + 0.2  # at least one of 50 writes was lost


async def test_listener_port_zero_and_close(autojump_clock) -> None:
    network = MemoryNetwork(seed=1)
    (listener,) = await network.transport("b").listen("b", 0)
    port = listener_port(listener)
    assert port > 0
    await listener.aclose()
    with pytest.raises(ConnectionRefusedError):
        await network.transport("a").connect("b", port)


def test_memory_storage_crash_loses_unsynced_writes() -> None:
    storage = MemoryStorage()
    conf = storage.open_in_place("nodes.conf")
    conf.save("epoch 1\n", fsync=True)
    conf.save("epoch 2\n", fsync=False)
    storage.write_text("redis.conf", "port 7000\n")  # CONFIG REWRITE fsyncs
    assert storage.read_text("nodes.conf") == "epoch 2\n"
    storage.crash()
    assert storage.read_text("nodes.conf") == "epoch 1\n"
    assert storage.read_text("redis.conf") == "port 7000\n"
    assert storage.read_text("missing") is None


async def test_virtual_runtime_clock_follows_trio(autojump_clock) -> None:
    runtime = Runtime.virtual(MemoryNetwork(seed=1), "a", seed=3, mock_clock=autojump_clock)
    clock = runtime.clock
    assert isinstance(clock, TrioClock)
    start = clock.wall_ms()
    assert start >= VIRTUAL_EPOCH_MS
    await trio.sleep(1.5)
    assert clock.wall_ms() - start == 1500
    clock.block(2.0)  # DEBUG SLEEP: virtual time jumps
    assert clock.wall_ms() - start == 3500
    assert runtime.host.read_text("x") is None
    runtime.host.write_text("x", "y")
    assert runtime.storage.read_text("x") == "y"
