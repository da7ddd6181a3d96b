"""redis-cli's cluster manager against bare rcsim cluster nodes (reference section 4: what
``--cluster create`` and ``--cluster check`` send), and a standalone node's refusals."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.procs import ServerProcess, free_port, start_rcsim
from tests.support.rawclient import RawClient

pytestmark = pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli missing")


@pytest.fixture
def bare_nodes(request) -> Iterator[list[ServerProcess]]:
    nodes: list[ServerProcess] = []
    try:
        for _ in range(getattr(request, "param", 3)):
            nodes.append(
                start_rcsim(
                    "--port",
                    str(free_port()),
                    "--cluster-enabled",
                    "yes",
                    "--cluster-node-timeout",
                    "2000",
                )
            )
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["redis-cli", *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def _state_ok(port: int) -> bool:
    with RawClient(port, timeout=5) as client:
        return b"cluster_state:ok\r\n" in client.call("CLUSTER", "INFO")


def test_cluster_create_then_check(bare_nodes: list[ServerProcess]) -> None:
    addrs = [f"127.0.0.1:{node.port}" for node in bare_nodes]
    created = _cli("--cluster", "create", *addrs, "--cluster-replicas", "0", "--cluster-yes")
    assert created.returncode == 0, created.stdout + created.stderr
    assert "[OK] All 16384 slots covered." in created.stdout
    assert "[ERR]" not in created.stdout

    checked = _cli("--cluster", "check", addrs[0])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "[OK] All nodes agree about slots configuration." in checked.stdout
    assert "[OK] All 16384 slots covered." in checked.stdout
    assert "[ERR]" not in checked.stdout and "[WARNING]" not in checked.stdout
    assert checked.stdout.count("slots | 0 slaves.") == 3

    deadline = time.monotonic() + 10
    while not all(_state_ok(node.port) for node in bare_nodes):
        assert time.monotonic() < deadline, "cluster_state never became ok"
        time.sleep(0.1)


def _knows(port: int, node_id: str, count: int) -> bool:
    """Every node knows ``count`` nodes, none in handshake, ``node_id`` among them."""
    with RawClient(port, timeout=5) as client:
        nodes = client.call("CLUSTER", "NODES").decode()
    lines = [line for line in nodes.split("\r\n", 1)[1].splitlines() if line.strip()]
    return len(lines) == count and "handshake" not in nodes and node_id in nodes


def _check_ok(addr: str, masters: int) -> str:
    checked = _cli("--cluster", "check", addr)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "[OK] All nodes agree about slots configuration." in checked.stdout
    assert "[OK] All 16384 slots covered." in checked.stdout
    assert "[ERR]" not in checked.stdout and "[WARNING]" not in checked.stdout
    assert f"in {masters} masters." in checked.stdout
    return checked.stdout


@pytest.mark.parametrize("bare_nodes", [4], indirect=True)
def test_add_node_and_reshard(bare_nodes: list[ServerProcess]) -> None:
    """add-node (FUNCTION DUMP/LIST/RESTORE, MEET) then reshard 100 empty slots to it
    (SETSLOT IMPORTING/MIGRATING, GETKEYSINSLOT, SETSLOT NODE on every master)."""
    addrs = [f"127.0.0.1:{node.port}" for node in bare_nodes]
    created = _cli("--cluster", "create", *addrs[:3], "--cluster-replicas", "0", "--cluster-yes")
    assert created.returncode == 0, created.stdout + created.stderr
    added = _cli("--cluster", "add-node", addrs[3], addrs[0])
    assert "[OK] New node added correctly." in added.stdout, added.stdout + added.stderr
    with RawClient(bare_nodes[3].port) as client:
        new_id = client.call("CLUSTER", "MYID").split(b"\r\n")[1].decode()
    deadline = time.monotonic() + 10
    while not all(_knows(node.port, new_id, 4) for node in bare_nodes):
        assert time.monotonic() < deadline, "the new node never joined"
        time.sleep(0.1)
    moved = _cli(
        "--cluster",
        "reshard",
        addrs[0],
        "--cluster-from",
        "all",
        "--cluster-to",
        new_id,
        "--cluster-slots",
        "100",
        "--cluster-yes",
    )
    assert moved.returncode == 0, moved.stdout + moved.stderr
    out = _check_ok(addrs[3], 4)
    assert "(100 slots) master" in out


def test_cluster_subcommands_disabled_like_redis(diff) -> None:
    """The shared servers are standalone: every CLUSTER subcommand is refused the same way,
    arity and unknown-subcommand errors coming first."""
    diff.check("CLUSTER", "INFO")
    diff.check("CLUSTER", "HELP")
    diff.check("CLUSTER", "NODES")
    diff.check("CLUSTER", "KEYSLOT", "foo")
    diff.check("CLUSTER", "MEET", "127.0.0.1", "7000")
    diff.check("CLUSTER", "ADDSLOTSRANGE", "1", "2", "3")
    diff.check("CLUSTER", "KEYSLOT")
    diff.check("CLUSTER", "NOSUCH")
    diff.check("CLUSTER", "MYSHARDID")
    diff.check("INFO", "cluster")
