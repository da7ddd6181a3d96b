"""The node side of the cluster core's outbox (node.cluster_glue), nodes.conf writing
(node.runtime.storage.DiskInPlaceFile) and the bus driver's pump, without sockets."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import trio

from gossip.config import GossipConfig
from gossip.messages import Ping
from gossip.nodesconf import load_nodes_conf, render_nodes_conf
from gossip.outbox import (
    Connect,
    DeleteKeysInSlots,
    FlushAllData,
    PublishReceived,
    SaveConfig,
    StateChanged,
)
from gossip.ping import build_header
from gossip.state import ClusterState
from node.cluster_glue import ClusterGlue, gossip_config, propagate_publish
from node.config import Config
from node.core import execute
from node.drivers.bus import BusDriver, _Link
from node.protocol.keyslot import key_slot
from node.protocol.resp import encode
from node.runtime import Runtime
from node.runtime.storage import DiskInPlaceFile as NodesConfFile
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

NOW = 1_700_000_000_000


def _cluster_node() -> tuple[NodeState, ClusterGlue]:
    config = Config()
    config.set("cluster-enabled", "yes", startup=True)
    config.set("cluster-node-timeout", "2000", startup=True)
    node = make_node(config, rng=random.Random(1), now_ms=NOW)
    glue = ClusterGlue.create(config, 7000, node.rng, NOW)
    glue.attach(node)
    return node, glue


def test_gossip_config_from_directives() -> None:
    config = Config()
    config.set("cluster-announce-hostname", "n1.local", startup=True)
    config.set("cluster-node-timeout", "1234", startup=True)
    gconf = gossip_config(config, 7000)
    assert (gconf.port, gconf.cport, gconf.hostname, gconf.node_timeout_ms) == (
        7000,
        17000,
        "n1.local",
        1234,
    )
    config.set("cluster-port", "9000", startup=True)
    config.set("cluster-announce-port", "8000", startup=True)
    assert (gossip_config(config, 7000).port, gossip_config(config, 7000).cport) == (8000, 9000)


def test_fresh_node_first_tick_asks_to_save() -> None:
    node, glue = _cluster_node()
    glue.state.on_tick(NOW)
    effects = glue.drain(node)
    assert any(type(e) is SaveConfig for e in effects)


def test_events_apply_to_the_node() -> None:
    node, glue = _cluster_node()
    db = node.dbs[0]
    for key in (b"a", b"b", b"{a}x"):
        db.set(key, b"v")
    connect = Connect(1, "x" * 40, "127.0.0.1", 17001)
    effects = glue.apply(node, [connect, DeleteKeysInSlots((key_slot(b"a"),)), StateChanged(True)])
    assert effects == [connect]
    assert sorted(db.data) == [b"b"]
    assert glue.state_ok is True

    sub = Session(node, node.new_client_id())
    node.clients[sub.id] = sub
    execute(sub, [b"SUBSCRIBE", b"ch"])
    sub.out_queue.clear()
    glue.apply(node, [PublishReceived(b"ch", b"hello", False)])
    assert sub.out_queue == [b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"]

    node.dbs[1].set(b"k", b"v")
    glue.apply(node, [FlushAllData()])
    assert node.key_count() == 0


def test_cluster_commands_poke_the_driver() -> None:
    node, glue = _cluster_node()
    pokes = []
    glue.poke = lambda: pokes.append(1)
    session = Session(node, node.new_client_id())
    assert encode(execute(session, [b"CLUSTER", b"ADDSLOTSRANGE", b"0", b"99"]), False) == (
        b"+OK\r\n"
    )
    assert pokes == [1]
    assert node.cluster.myself.num_slots == 100
    # A refusal is Redis's error and changes nothing (no poke).
    reply = execute(session, [b"CLUSTER", b"ADDSLOTS", b"5"])
    assert encode(reply, False) == b"-ERR Slot 5 is already busy\r\n"
    assert pokes == [1]


def test_nodes_conf_save_over_a_longer_file_reloads(tmp_path: Path) -> None:
    node, glue = _cluster_node()
    glue.state.add_slot_ranges([(0, 10)], NOW)
    glue.state.set_config_epoch(5, NOW)
    path = tmp_path / "nodes.conf"
    path.write_text("old contents that are much longer than the new file " * 100)
    conf = NodesConfFile(path)
    conf.save(render_nodes_conf(glue.state), fsync=True)
    conf.close()
    assert [p.name for p in tmp_path.iterdir()] == ["nodes.conf"]
    loaded = load_nodes_conf(
        path.read_text(), gossip_config(node.config, 7000), random.Random(2), NOW
    )
    assert loaded.my_id == glue.state.my_id
    assert loaded.myself.config_epoch == 5 and loaded.myself.num_slots == 11


def test_propagate_publish_queues_bus_messages_and_pokes() -> None:
    node, glue = _cluster_node()
    pokes = []
    glue.poke = lambda: pokes.append(1)
    propagate_publish(node, b"ch", b"hi", False)
    assert pokes == [1]
    standalone = make_node(Config())
    propagate_publish(standalone, b"ch", b"hi", False)  # no cluster: nothing happens


def test_nodes_conf_file_rewrites_in_place_and_reopens_after_an_error(tmp_path: Path) -> None:
    """The kept-open nodes.conf: longer and shorter texts leave exactly the last one (padding
    truncated), a longer file left by an earlier run too, and an I/O error closes the file so
    the next save reopens it."""
    path = tmp_path / "nodes.conf"
    path.write_text("x" * 500 + "\n")
    conf = NodesConfFile(path)
    try:
        for text in ("first line\nvars currentEpoch 1\n", "a much longer text\n" * 40, "short\n"):
            conf.save(text, fsync=False)
            assert path.read_text() == text
        conf.save("with fsync\n", fsync=True)
        assert path.read_text() == "with fsync\n"
        os.close(conf._fd)  # the descriptor goes bad under it
        with pytest.raises(OSError):
            conf.save("lost\n", fsync=False)
        assert conf._fd is None
        conf.save("reopened and rewritten\n", fsync=False)
        assert path.read_text() == "reopened and rewritten\n"
    finally:
        conf.close()


def _driver(tmp_path: Path) -> tuple[BusDriver, list[bool]]:
    node, glue = _cluster_node()
    driver = BusDriver(node, glue, Runtime.real(1), tmp_path / "nodes.conf")
    saves: list[bool] = []
    driver.conf_file.save = lambda text, fsync: saves.append(fsync)  # type: ignore[method-assign]
    return driver, saves


def test_pump_saves_nodes_conf_once_per_drain(tmp_path: Path) -> None:
    """Several commands' SaveConfig effects in one outbox are one save (fsync if any asked),
    as Redis's beforeSleep writes nodes.conf once per event loop iteration."""
    driver, saves = _driver(tmp_path)
    state = driver.state
    state.add_slot_ranges([(0, 10)], NOW)
    state.set_config_epoch(3, NOW)  # SET-CONFIG-EPOCH asks for an fsync
    state.add_slot_ranges([(20, 30)], NOW)
    driver.pump()
    assert saves == [True]
    driver.pump()
    assert saves == [True]  # nothing new asked


def test_bus_read_batch_is_one_pump(tmp_path: Path) -> None:
    """The messages of one read go to the core one by one, then its effects are carried out
    once: with Nagle on the outbound links, PONGs arrive in bursts during a reshard."""
    driver, _saves = _driver(tmp_path)
    peer = ClusterState(
        GossipConfig(port=7001, cport=17001, node_timeout_ms=2000), random.Random(3), NOW
    )
    link_id = driver.state.on_link_accepted("127.0.0.1", "127.0.0.1", NOW)
    link = _Link(link_id, *trio.open_memory_channel(10))
    seen, pumps = [], []
    on_message = driver.state.on_message
    driver.state.on_message = lambda *a: (seen.append(a[1]), on_message(*a))  # type: ignore[method-assign]
    driver.pump = lambda: pumps.append(1)  # type: ignore[method-assign]
    pings = [Ping(build_header(peer), ()) for _ in range(3)]
    driver._deliver(link, pings)
    assert seen == pings and pumps == [1]
    driver._deliver(link, [])
    assert pumps == [1]


def test_pokes_during_a_client_batch_are_flushed_by_the_client_loop(tmp_path: Path) -> None:
    """A command's poke while the client loop serves a batch only marks the outbox: the loop
    flushes it after writing the replies (no wake of the driver's timer task); outside a batch
    a poke wakes the timer task as before."""
    driver, _saves = _driver(tmp_path)
    glue = driver.cluster
    pumps: list[int] = []
    driver.pump = lambda: pumps.append(1)  # type: ignore[method-assign]
    glue.batch_open = True
    glue.poke()
    glue.poke()
    assert glue.poke_pending and not driver._wakeup.is_set() and pumps == []
    glue.batch_open = False
    glue.flush()
    assert pumps == [1] and not glue.poke_pending
    glue.flush()
    assert pumps == [1]  # nothing pending
    glue.poke()
    assert driver._wakeup.is_set()
