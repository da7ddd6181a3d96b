"""``rcsim up`` / ``status`` / ``check`` / ``down`` on real processes, driven by real clients:
redis-py's RedisCluster (RESP3 and RESP2) and ``redis-cli -c``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.cluster import RedisCluster
from redis.exceptions import ClusterCrossSlotError

from tests.support.cluster import free_port_run, rcsim, rcsim_cluster

MASTERS = 3


def pids(run_dir: Path) -> list[int]:
    return [int(p.read_text()) for p in run_dir.glob("*/node.pid")]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[int, Path]]:
    with rcsim_cluster(MASTERS) as started:
        yield started


def test_up_prints_the_nodes_and_how_to_connect(cluster: tuple[int, Path]) -> None:
    base, run_dir = cluster
    status = rcsim("status", "--dir", str(run_dir))
    assert status.returncode == 0, status.stdout + status.stderr
    assert "slot map: all 3 nodes agree" in status.stdout
    for port in range(base, base + MASTERS):
        assert f"127.0.0.1:{port}" in status.stdout
    check = rcsim("check", "--dir", str(run_dir))
    assert check.returncode == 0, check.stdout
    assert "[OK] All 16384 slots covered." in check.stdout
    assert "[ERR]" not in check.stdout and "[WARNING]" not in check.stdout


@pytest.mark.parametrize("protocol", [3, 2])
def test_redis_py_cluster_client(cluster: tuple[int, Path], protocol: int) -> None:
    base, _run_dir = cluster
    rc = RedisCluster(host="127.0.0.1", port=base, protocol=protocol)
    try:
        assert len(rc.get_primaries()) == MASTERS
        for i in range(1000):
            rc.set(f"p{protocol}:key:{i}", i)
        for i in range(1000):
            assert rc.get(f"p{protocol}:key:{i}") == str(i).encode()
        assert rc.execute_command("MSET", "{user1}a", "1", "{user1}b", "2")
        assert rc.mget("{user1}a", "{user1}b") == [b"1", b"2"]
        node = rc.get_node_from_key("a")
        with pytest.raises(ClusterCrossSlotError):
            rc.execute_command("MSET", "a", "1", "foo", "2", target_nodes=node)
    finally:
        rc.close()


def test_redis_cli_follows_moved(cluster: tuple[int, Path]) -> None:
    base, _run_dir = cluster
    if shutil.which("redis-cli") is None:
        pytest.skip("redis-cli is not installed")
    for port in range(base, base + MASTERS):  # at least two of these must redirect
        out = subprocess.run(
            ["redis-cli", "-c", "-p", str(port), "SET", "cli:foo", f"v{port}"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert out.stdout.strip() == "OK"
        got = subprocess.run(
            ["redis-cli", "-c", "-p", str(port), "GET", "cli:foo"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert got.stdout.strip() == f"v{port}"
    plain = [
        subprocess.run(
            ["redis-cli", "-p", str(p), "GET", "cli:foo"], capture_output=True, text=True
        ).stdout
        for p in range(base, base + MASTERS)
    ]
    assert sum("MOVED" in out for out in plain) == MASTERS - 1


def test_down_stops_every_process() -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="rcsim-down-"))
    try:
        base = free_port_run(2)
        up = ("up", "--masters", "2", "--replicas", "0", "--port", str(base), "--dir", str(run_dir))
        started = rcsim(*up)
        assert started.returncode == 0, started.stdout + started.stderr
        running = pids(run_dir)
        assert len(running) == 2 and all(alive(p) for p in running)
        again = rcsim(*up)
        assert again.returncode != 0 and "rcsim down" in again.stderr
        stopped = rcsim("down", "--dir", str(run_dir))
        assert stopped.returncode == 0
        deadline = time.monotonic() + 10
        while any(alive(p) for p in running) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(p) for p in running)
        assert rcsim("status", "--dir", str(run_dir)).returncode != 0
    finally:
        rcsim("down", "--dir", str(run_dir))
        shutil.rmtree(run_dir, ignore_errors=True)
