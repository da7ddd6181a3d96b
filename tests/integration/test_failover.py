"""Failover with real processes: 3 masters x 1 replica from ``rcsim up`` with
``cluster-node-timeout 1000``.

- SIGKILL a master: its replica is promoted and every live node reports cluster_state:ok again
  (real Redis 7.0.15 took 2.2 s on this machine; the bound here is 2x the 3 s target);
- the killed master, restarted, rejoins as a replica of the winner and syncs from it;
- CLUSTER FAILOVER under a RedisCluster write loop loses no acknowledged write;
- DEBUG BUS-ISOLATE a master from everyone: it refuses writes (CLUSTERDOWN) within 2 x node
  timeout (bound here with headroom), the majority promotes its replica, and after BUS-HEAL
  the old master rejoins as a replica of the new one.

Measured times are printed (``pytest -s``) for the report.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from node.protocol.keyslot import key_slot
from tests.support.cluster import rcsim, rcsim_cluster

NODE_TIMEOUT_MS = 1000
RECOVERY_BOUND_S = 6.0  # target 3 s (Redis: 2.2 s); 2x headroom for a loaded CI box
CLUSTERDOWN_BOUND_S = 2 * NODE_TIMEOUT_MS / 1000 + 1.0


def _client(port: int) -> redis.Redis:
    return redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=2)


def _nodes(port: int) -> list[dict]:
    """CLUSTER NODES as dicts: id, port, flags, master, slots (list of (start, end))."""
    text = _client(port).execute_command("CLUSTER", "NODES", NEVER_DECODE=True).decode()
    out = []
    for line in text.strip().splitlines():
        fields = line.split()
        slots = []
        for item in fields[8:]:
            if item.startswith("["):
                continue
            start, _, end = item.partition("-")
            slots.append((int(start), int(end or start)))
        out.append(
            {
                "id": fields[0],
                "port": int(fields[1].split("@")[0].rsplit(":", 1)[1]),
                "flags": fields[2].split(","),
                "master": fields[3],
                "slots": slots,
            }
        )
    return out


def _state_ok(port: int) -> bool:
    try:
        info = _client(port).execute_command("CLUSTER", "INFO", NEVER_DECODE=True)
    except redis.RedisError:
        return False
    return b"cluster_state:ok" in info


def _owner_port(port: int, slot: int) -> int | None:
    try:
        nodes = _nodes(port)
    except redis.RedisError:
        return None
    for node in nodes:
        if "master" in node["flags"] and any(a <= slot <= b for a, b in node["slots"]):
            return node["port"]
    return None


def _shard(base: int) -> tuple[dict, dict, list[dict]]:
    """The master owning slot 0, its replica, and every node."""
    nodes = _nodes(base)
    master = next(
        n for n in nodes if "master" in n["flags"] and n["slots"] and n["slots"][0][0] == 0
    )
    replica = next(n for n in nodes if n["master"] == master["id"])
    return master, replica, nodes


def _key_in(slot_range: tuple[int, int]) -> bytes:
    for i in range(100_000):
        key = f"k{i}".encode()
        if slot_range[0] <= key_slot(key) <= slot_range[1]:
            return key
    raise AssertionError("no key found")


def _wait(predicate, timeout_s: float, step_s: float = 0.02) -> float:
    start = time.monotonic()
    while not predicate():
        elapsed = time.monotonic() - start
        assert elapsed < timeout_s, f"not reached within {timeout_s} s"
        time.sleep(step_s)
    return time.monotonic() - start


def _role(port: int) -> tuple[str, str]:
    """("master"|"slave", master id or "-") of the node on ``port``, from its CLUSTER NODES."""
    try:
        me = next(n for n in _nodes(port) if "myself" in n["flags"])
    except (redis.RedisError, StopIteration):
        return ("", "")
    return ("slave" if "slave" in me["flags"] else "master", me["master"])


def _readonly_get(port: int, key: bytes) -> bytes | None:
    client = _client(port)
    try:
        client.execute_command("READONLY")
        return client.get(key)
    except redis.RedisError:
        return None
    finally:
        client.close()


def _pid(run_dir: Path, port: int) -> int:
    return int((run_dir / str(port) / "node.pid").read_text().split()[0])


@pytest.mark.timeout(120)
def test_sigkill_master_replica_is_promoted_and_cluster_recovers() -> None:
    with rcsim_cluster(3, 1, "--node-timeout", str(NODE_TIMEOUT_MS)) as (base, run_dir):
        master, replica, nodes = _shard(base)
        others = [n["port"] for n in nodes if n["port"] != master["port"]]
        _wait(lambda: all(_state_ok(p) for p in others + [master["port"]]), 10)
        key = _key_in(master["slots"][0])
        m = _client(master["port"])
        m.set(key, b"before-kill")
        assert m.execute_command("WAIT", 1, 1000) == 1

        os.kill(_pid(run_dir, master["port"]), signal.SIGKILL)
        killed = time.monotonic()
        promoted = _wait(
            lambda: _owner_port(replica["port"], 0) == replica["port"], 2 * RECOVERY_BOUND_S
        )
        recovered = _wait(
            lambda: all(_state_ok(p) and _owner_port(p, 0) == replica["port"] for p in others),
            2 * RECOVERY_BOUND_S,
        )
        total = time.monotonic() - killed
        print(f"\nSIGKILL -> replica promoted {promoted:.2f} s, all nodes ok {total:.2f} s")
        assert total < RECOVERY_BOUND_S
        assert _client(replica["port"]).get(key) == b"before-kill"  # acknowledged by WAIT
        del recovered

        # The killed master, restarted (same nodes.conf), rejoins as a replica of the winner.
        restarted = rcsim("restart", str(master["port"]), "--dir", str(run_dir))
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        _wait(lambda: _role(master["port"]) == ("slave", replica["id"]), 2 * RECOVERY_BOUND_S)
        _wait(lambda: _readonly_get(master["port"], key) == b"before-kill", 10)


@pytest.mark.timeout(120)
def test_manual_failover_under_a_write_loop_loses_no_acknowledged_write() -> None:
    with rcsim_cluster(3, 1, "--node-timeout", str(NODE_TIMEOUT_MS)) as (base, _run_dir):
        master, replica, nodes = _shard(base)
        _wait(lambda: all(_state_ok(n["port"]) for n in nodes), 10)
        acked: list[bytes] = []
        stop = threading.Event()
        errors: list[Exception] = []

        def writer() -> None:
            client = RedisCluster(host="127.0.0.1", port=base, socket_timeout=5)
            i = 0
            try:
                while not stop.is_set():
                    key = f"mf:{i}".encode()
                    client.set(key, key)
                    acked.append(key)
                    i += 1
            except Exception as error:
                errors.append(error)
            finally:
                client.close()

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            _wait(lambda: len(acked) >= 50, 10)  # the loop is writing
            before = len(acked)
            assert _client(replica["port"]).execute_command("CLUSTER", "FAILOVER") == b"OK"
            switched = _wait(lambda: _role(replica["port"])[0] == "master", 10)
            _wait(lambda: _role(master["port"]) == ("slave", replica["id"]), 10)
            _wait(lambda: len(acked) >= before + 50, 10)  # and writes again after the switch
        finally:
            stop.set()
            thread.join(30)
        print(f"\nCLUSTER FAILOVER: switched after {switched:.2f} s, {len(acked)} writes")
        assert errors == [] and len(acked) > before
        reader = RedisCluster(host="127.0.0.1", port=base, socket_timeout=5)
        try:
            values = [reader.get(key) for key in acked]
        finally:
            reader.close()
        assert [k for k, v in zip(acked, values, strict=True) if v != k] == []


@pytest.mark.timeout(120)
def test_bus_isolated_master_goes_down_then_rejoins_as_replica() -> None:
    with rcsim_cluster(3, 1, "--node-timeout", str(NODE_TIMEOUT_MS)) as (base, _run_dir):
        master, replica, nodes = _shard(base)
        ports = [n["port"] for n in nodes]
        _wait(lambda: all(_state_ok(p) for p in ports), 10)
        key = _key_in(master["slots"][0])
        m = _client(master["port"])  # a client that stays connected to the old master
        assert m.set(key, b"v")

        assert m.execute_command("DEBUG", "BUS-ISOLATE", master["id"]) == b"OK"
        cut = time.monotonic()

        def refuses_writes() -> bool:
            try:
                m.set(key, b"during-cut")
            except redis.exceptions.ClusterDownError:
                return True
            except redis.ResponseError as error:
                return str(error).startswith("CLUSTERDOWN")
            return False

        down = _wait(refuses_writes, 2 * CLUSTERDOWN_BOUND_S)
        print(f"\nBUS-ISOLATE -> CLUSTERDOWN on the isolated master after {down:.2f} s")
        assert down < CLUSTERDOWN_BOUND_S
        others = [p for p in ports if p != master["port"]]
        _wait(lambda: _owner_port(replica["port"], 0) == replica["port"], 2 * RECOVERY_BOUND_S)
        assert m.execute_command("DEBUG", "BUS-HEAL") == b"OK"
        healed = _wait(
            lambda: any(
                "myself" in n["flags"] and n["master"] == replica["id"]
                for n in _nodes(master["port"])
            ),
            2 * RECOVERY_BOUND_S,
        )
        print(f"BUS-HEAL -> old master is a replica of the new one after {healed:.2f} s")
        _wait(lambda: all(_state_ok(p) for p in others + [master["port"]]), 10)
        del cut
