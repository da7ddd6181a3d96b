"""Cluster mode on real processes: CLUSTER subcommands against a real Redis cluster node, and
three rcsim nodes that find each other over the bus, agree on the slot map, survive SIGKILL
(nodes.conf) and shrug off garbage on their bus ports."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import (
    ServerProcess,
    free_port,
    redis_server_path,
    start_rcsim,
    start_redis,
)
from tests.support.rawclient import RawClient

CLUSTER_ARGS = ("--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]
DEADLINE_S = 15.0

# Single-node subcommands and errors, in order: each reply must be byte-identical to Redis's.
SINGLE_NODE_SCRIPT = """
cluster help
cluster info
cluster keyslot foo
cluster keyslot {user}.x
cluster countkeysinslot 5
cluster countkeysinslot x
cluster countkeysinslot 16384
cluster countkeysinslot -1
cluster getkeysinslot 5 10
cluster getkeysinslot 5 -1
cluster getkeysinslot x 1
cluster getkeysinslot 16384 1
cluster meet 127.0.0.1 x
cluster meet 127.0.0.1 1 x
cluster meet 1.2.3 5
cluster meet 127.0.0.1 70000
cluster meet 127.0.0.1 0
cluster meet 127.0.0.1 5 6 7
cluster set-config-epoch x
cluster set-config-epoch -1
cluster reset foo
cluster reset soft x
cluster count-failure-reports abc
cluster links
cluster replicas abc
cluster slaves abc
cluster replicate abc
cluster forget abc
cluster slots
cluster foo
cluster myshardid
cluster setslot 1 foo
cluster setslot x stable
cluster setslot 1
cluster addslotsrange 1
cluster addslotsrange 1 2 3
cluster addslotsrange 5 1
cluster addslots x
cluster addslots 1 1
cluster delslots 7
cluster failover
cluster failover x
info cluster
cluster addslotsrange 0 100 200 300
cluster addslots 5000
cluster addslots 5000
cluster delslotsrange 0 10
cluster delslots 5000
cluster delslots 5000
cluster setslot 50 stable
cluster setslot 5000 migrating abc
cluster setslot 50 importing abc
cluster set-config-epoch 7
cluster set-config-epoch 8
cluster info
cluster bumpepoch
cluster saveconfig
set foo bar
cluster countkeysinslot 12182
cluster getkeysinslot 12182 5
cluster getkeysinslot 12182 0
cluster flushslots
cluster reset
del foo
cluster flushslots
cluster reset hard
cluster bumpepoch
cluster info
"""


def _wait(predicate, what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _call(port: int, *args: str | int) -> bytes:
    with RawClient(port, timeout=5) as client:
        return client.call(*args)


def _bulk_text(reply: bytes) -> str:
    """The text of a bulk or verbatim reply."""
    body = reply.split(b"\r\n", 1)[1][:-2]
    if reply.startswith(b"="):
        body = body[4:]
    return body.decode()


def _slot_map(port: int) -> list[tuple[str, str]]:
    """(node id, slot ranges) of every node that owns slots, sorted."""
    lines = _bulk_text(_call(port, "CLUSTER", "NODES")).splitlines()
    return sorted((f[0], " ".join(f[8:])) for f in (line.split() for line in lines) if f[8:])


def _state_ok(port: int) -> bool:
    return "cluster_state:ok\r\n" in _bulk_text(_call(port, "CLUSTER", "INFO"))


def _converged(ports: list[int]) -> bool:
    try:
        if not all(_state_ok(p) for p in ports):
            return False
        maps = [_slot_map(p) for p in ports]
    except OSError:
        return False
    return len(maps[0]) == len(ports) and all(m == maps[0] for m in maps)


def _start_node(port: int, *extra: str) -> ServerProcess:
    return start_rcsim("--port", str(port), *CLUSTER_ARGS, *extra)


# -- one node against Redis ----------------------------------------------------------------


@pytest.mark.skipif(redis_server_path() is None, reason="redis-server not installed")
def test_single_node_subcommands_match_redis() -> None:
    ours = _start_node(free_port())
    theirs = start_redis("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
    try:
        script = [line.split() for line in SINGLE_NODE_SCRIPT.strip().splitlines()]
        for protocol in (2, 3):
            with RawClient(ours.port) as a, RawClient(theirs.port) as b:
                if protocol == 3:
                    a.call("HELLO", "3")
                    b.call("HELLO", "3")
                for argv in script:
                    assert a.call(*argv) == b.call(*argv), (protocol, argv)
    finally:
        ours.stop()
        theirs.stop()


def test_fresh_node_nodes_myid_and_nodes_conf() -> None:
    port = free_port()
    node = _start_node(port)
    try:
        myid = _bulk_text(_call(port, "CLUSTER", "MYID"))
        assert re.fullmatch(r"[0-9a-f]{40}", myid)
        line = f"{myid} :{port}@{port + 10000} myself,master - 0 0 0 connected\n"
        assert _call(port, "CLUSTER", "NODES") == b"$%d\r\n%s\r\n" % (len(line), line.encode())
        with RawClient(port) as client:
            client.call("HELLO", "3")
            assert client.call("CLUSTER", "NODES") == b"=%d\r\ntxt:%s\r\n" % (
                len(line) + 4,
                line.encode(),
            )
        conf = node.workdir / "nodes.conf"
        _wait(conf.exists, "nodes.conf")
        assert conf.read_text() == line + "vars currentEpoch 0 lastVoteEpoch 0\n"
        assert b"cluster_enabled:1\r\n" in _call(port, "INFO")
        # SET-CONFIG-EPOCH is saved (fsync, rename): the file always parses whole.
        assert _call(port, "CLUSTER", "SET-CONFIG-EPOCH", 4) == b"+OK\r\n"
        _wait(lambda: "vars currentEpoch 4 " in conf.read_text(), "epoch saved")
    finally:
        node.stop()


def test_non_cluster_node_refuses_every_subcommand() -> None:
    node = start_rcsim()
    try:
        for argv in (
            ["HELP"],
            ["INFO"],
            ["NODES"],
            ["MEET", "127.0.0.1", "7000"],
            ["KEYSLOT", "a"],
        ):
            assert (
                _call(node.port, "CLUSTER", *argv)
                == b"-ERR This instance has cluster support disabled\r\n"
            )
        assert b"cluster_enabled:0\r\n" in _call(node.port, "INFO", "cluster")
    finally:
        node.stop()


# -- three nodes over the bus ------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[list[ServerProcess]]:
    nodes: list[ServerProcess] = []
    try:
        for _ in range(3):
            nodes.append(_start_node(free_port()))
        ports = [n.port for n in nodes]
        for i, node in enumerate(nodes):
            assert _call(node.port, "CLUSTER", "ADDSLOTSRANGE", *RANGES[i]) == b"+OK\r\n"
            assert _call(node.port, "CLUSTER", "SET-CONFIG-EPOCH", i + 1) == b"+OK\r\n"
        for node in nodes[1:]:
            assert _call(node.port, "CLUSTER", "MEET", "127.0.0.1", ports[0]) == b"+OK\r\n"
        _wait(lambda: _converged(ports), "the cluster to converge")
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def test_three_nodes_converge(cluster: list[ServerProcess]) -> None:
    ports = [n.port for n in cluster]
    slot_map = _slot_map(ports[0])
    assert sorted(r for _id, r in slot_map) == ["0-5460", "10923-16383", "5461-10922"]
    for port in ports:
        info = _bulk_text(_call(port, "CLUSTER", "INFO"))
        assert "cluster_known_nodes:3\r\n" in info
        assert "cluster_size:3\r\n" in info
        assert "cluster_current_epoch:3\r\n" in info
        lines = _bulk_text(_call(port, "CLUSTER", "NODES")).splitlines()
        assert all(line.split()[7] == "connected" for line in lines)
        assert all(f"127.0.0.1:{p}@{p + 10000}" in "\n".join(lines) for p in ports)


def test_garbage_and_stalled_peers_leave_nodes_serving(cluster: list[ServerProcess]) -> None:
    ports = [n.port for n in cluster]
    stalled = []
    try:
        for port in ports:
            with socket.create_connection(("127.0.0.1", port + 10000), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.1\r\n\r\n" + bytes(range(256)) * 8)
                s.settimeout(5)
                assert s.recv(100) == b""  # the node closed the link
            peer = socket.create_connection(("127.0.0.1", port + 10000), timeout=5)
            peer.sendall(b"RCmb\x01\x00\x00\x10\x00\x93\x01")  # a frame header, then silence
            stalled.append(peer)
        for node in cluster:
            assert _call(node.port, "PING") == b"+PONG\r\n"
            _wait(lambda node=node: "Closing cluster bus link" in node.log_text(), "log line")
        assert _converged(ports)
    finally:
        for peer in stalled:
            peer.close()


def test_frozen_peer_is_failed_then_rejoins(cluster: list[ServerProcess]) -> None:
    """SIGSTOP one node: it stops answering (mid-stream, its socket buffers fill); the others
    keep serving, mark it failed after the node timeout, and take it back after SIGCONT."""
    ports = [n.port for n in cluster]
    frozen = cluster[1]
    frozen_id = _bulk_text(_call(frozen.port, "CLUSTER", "MYID"))

    def flags_of_frozen(port: int) -> str:
        lines = _bulk_text(_call(port, "CLUSTER", "NODES")).splitlines()
        return next(line.split()[2] for line in lines if line.startswith(frozen_id))

    os.kill(frozen.pid, signal.SIGSTOP)
    try:
        for port in (ports[0], ports[2]):
            _wait(lambda port=port: "fail" in flags_of_frozen(port).split(","), "FAIL flag")
            assert _call(port, "PING") == b"+PONG\r\n"
            assert not _state_ok(port)
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    _wait(lambda: _converged(ports), "the frozen node to rejoin")
    assert all(flags_of_frozen(p) == "master" for p in (ports[0], ports[2]))


def test_sigkill_restart_keeps_identity_and_rejoins(cluster: list[ServerProcess]) -> None:
    ports = [n.port for n in cluster]
    victim = cluster[2]
    before = _bulk_text(_call(victim.port, "CLUSTER", "NODES"))
    myself = next(line.split() for line in before.splitlines() if "myself" in line)
    victim.proc.kill()
    victim.proc.wait(5)
    workdir: Path = victim.workdir
    restarted = _start_node(
        victim.port, "--dir", str(workdir), "--logfile", str(workdir / "node2.log")
    )
    cluster[2] = restarted  # the fixture stops it
    restarted.workdir, victim.workdir = workdir, restarted.workdir
    after = _bulk_text(_call(victim.port, "CLUSTER", "NODES"))
    me = next(line.split() for line in after.splitlines() if "myself" in line)
    assert (me[0], me[6], me[8:]) == (myself[0], myself[6], myself[8:])
    assert "cluster_current_epoch:3\r\n" in _bulk_text(_call(victim.port, "CLUSTER", "INFO"))
    _wait(lambda: _converged(ports), "the restarted node to rejoin")
    victim.stop()  # the dead process: closes its pipes, removes the new process's spare dir


def test_corrupted_nodes_conf_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "nodes.conf").write_text("not a nodes.conf line\n")
    with pytest.raises(RuntimeError):
        node = _start_node(
            free_port(), "--dir", str(tmp_path), "--logfile", str(tmp_path / "node.log")
        )
        node.stop()  # only reached if it started, which fails the test
    log = (tmp_path / "node.log").read_text()
    assert "Unrecoverable error: corrupted cluster config file." in log


def test_publish_on_one_node_reaches_subscribers_on_every_node(
    cluster: list[ServerProcess],
) -> None:
    """PUBLISH travels over the bus (clusterPropagatePublish); the reply counts local receivers."""
    subscribers = [RawClient(node.port) for node in cluster[1:]]
    try:
        for sub in subscribers:
            assert sub.call("SUBSCRIBE", "news").startswith(b"*3\r\n$9\r\nsubscribe")
        assert _call(cluster[0].port, "PUBLISH", "news", "hello") == b":0\r\n"
        for sub in subscribers:
            assert sub.read_reply() == b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
    finally:
        for sub in subscribers:
            sub.close()
