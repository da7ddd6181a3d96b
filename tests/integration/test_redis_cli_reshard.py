"""Issue #6 acceptance with redis-cli's own cluster manager against an rcsim cluster: reshard
(while a RedisCluster client reads and writes), rebalance (weights, empty masters, simulate),
add-node, del-node, fix of a slot left open by an interrupted migration, and check. After each
step every key exists exactly once, on the node owning its slot, with its value and TTL."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from redis.cluster import RedisCluster

from node.protocol.keyslot import key_slot
from tests.support.cluster import rcsim_cluster
from tests.support.procs import ServerProcess, free_port, start_rcsim
from tests.support.rawclient import RawClient

pytestmark = pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli missing")

KEYS = 6000
TTL_EVERY = 7  # every 7th key has a TTL
LIVE_KEYS = 200


class Cluster:
    """The keys we loaded (name -> value) and the cluster's nodes (port -> id)."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.values: dict[str, str] = {}
        self.ttl_keys: set[str] = set()
        self.extra: list[ServerProcess] = []

    def ids(self) -> dict[int, str]:
        """Client port -> node id, for every node the entry node knows."""
        with RawClient(self.base) as client:
            text = client.call("CLUSTER", "NODES").split(b"\r\n", 1)[1].decode()
        out = {}
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 8:
                continue
            out[int(fields[1].split("@")[0].rsplit(":", 1)[1])] = fields[0]
        return out

    def addr(self, port: int | None = None) -> str:
        return f"127.0.0.1:{port or self.base}"


def cli(*args: str, timeout: float = 300, answer: str | None = None) -> subprocess.CompletedProcess:
    """``redis-cli --cluster ...``; ``answer`` is typed at its prompts (some ignore --cluster-yes)."""
    return subprocess.run(
        ["redis-cli", "--cluster", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=answer,
        stdin=None if answer is not None else subprocess.DEVNULL,
    )


def _ok(result: subprocess.CompletedProcess) -> str:
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "[ERR]" not in out, out[-3000:]
    return out


def _slot_owners(port: int) -> dict[int, int]:
    """slot -> client port of its master, from CLUSTER SLOTS."""
    rc = redis.Redis(port=port)
    try:
        owners = {}
        for start, end, master, *_replicas in rc.execute_command("CLUSTER", "SLOTS"):
            for slot in range(start, end + 1):
                owners[slot] = master[1]
        return owners
    finally:
        rc.close()


def _state_ok(port: int) -> bool:
    with RawClient(port) as client:
        return b"cluster_state:ok\r\n" in client.call("CLUSTER", "INFO")


def _wait_agree(cluster: Cluster, masters: int, timeout: float = 20) -> None:
    """Wait until ``redis-cli --cluster check`` passes (configs agree, no open slot) and every
    node says ``cluster_state:ok`` (a new node waits ~2 s, as Redis's CLUSTER_WRITABLE_DELAY)."""
    deadline = time.monotonic() + timeout
    while True:
        result = cli("check", cluster.addr())
        if (
            result.returncode == 0
            and result.stdout.count("M: ") == masters
            and all(_state_ok(port) for port in cluster.ids())
        ):
            return
        assert time.monotonic() < deadline, result.stdout[-2000:]
        time.sleep(0.3)


def verify_keys(cluster: Cluster) -> None:
    """Every key exactly once, on the master owning its slot, with its value and TTL."""
    owners = _slot_owners(cluster.base)
    seen: dict[str, int] = {}
    for port in set(owners.values()):
        conn = redis.Redis(port=port, decode_responses=True)
        try:
            for key in conn.scan_iter(count=1000):
                assert key not in seen, f"{key} on {seen[key]} and {port}"
                seen[key] = port
            names = [k for k, p in seen.items() if p == port]
            for i in range(0, len(names), 500):
                batch = names[i : i + 500]
                pipe = conn.pipeline(transaction=False)
                for key in batch:
                    pipe.get(key)
                    pipe.pttl(key)
                replies = pipe.execute()
                for j, key in enumerate(batch):
                    value, pttl = replies[2 * j], replies[2 * j + 1]
                    if key in cluster.values:
                        assert value == cluster.values[key], key
                    if key in cluster.ttl_keys:
                        assert 0 < pttl <= 3_600_000, (key, pttl)
                    else:
                        assert pttl == -1, (key, pttl)
        finally:
            conn.close()
    assert set(cluster.values) <= set(seen), set(cluster.values) - set(seen)
    for key, port in seen.items():
        assert owners[key_slot(key.encode())] == port, (key, port)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with rcsim_cluster(3, 0, "--node-timeout", "3000") as (base, _run_dir):
        state = Cluster(base)
        rc = RedisCluster(host="127.0.0.1", port=base, decode_responses=True)
        pipe = rc.pipeline()
        for i in range(KEYS):
            key, value = f"key:{i}", f"value-{i}"
            state.values[key] = value
            if i % TTL_EVERY == 0:
                pipe.set(key, value, ex=3600)
                state.ttl_keys.add(key)
            else:
                pipe.set(key, value)
        pipe.execute()
        rc.close()
        try:
            yield state
        finally:
            for server in state.extra:
                server.stop()


class LiveClient(threading.Thread):
    """A RedisCluster client reading and writing all the time; any exception is kept."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.counts = [0] * LIVE_KEYS
        self.ops = 0

    def run(self) -> None:
        rc = RedisCluster(host="127.0.0.1", port=self.cluster.base, decode_responses=True)
        values = self.cluster.values
        try:
            i = 0
            while not self.stop.is_set():
                n = i % LIVE_KEYS
                rc.incr(f"live:{n}")
                self.counts[n] += 1
                key = f"key:{(i * 7919) % KEYS}"
                got = rc.get(key)
                if got != values[key]:
                    raise AssertionError(f"{key}: {got!r}")
                i += 1
                self.ops += 2
        except BaseException as error:
            self.errors.append(error)
        finally:
            rc.close()


def _wait_ops(live: LiveClient, ops: int, timeout: float = 10.0) -> None:
    """Wait until the live client has done ``ops`` operations (or failed)."""
    deadline = time.monotonic() + timeout
    while live.ops < ops and not live.errors:
        assert time.monotonic() < deadline, f"the live client stalled at {live.ops} ops"
        time.sleep(0.01)


def test_reshard_4096_slots_with_a_live_client(cluster: Cluster) -> None:
    ids = cluster.ids()
    ports = sorted(ids)
    live = LiveClient(cluster)
    live.start()
    try:
        _wait_ops(live, 20)
        result = cli(
            "reshard",
            cluster.addr(),
            "--cluster-from",
            ids[ports[0]],
            "--cluster-to",
            ids[ports[1]],
            "--cluster-slots",
            "4096",
            "--cluster-yes",
        )
        _ok(result)
        _wait_ops(live, live.ops + 20)  # still reading and writing after the reshard
    finally:
        live.stop.set()
        live.join(30)
    assert not live.errors, live.errors
    assert live.ops > 100
    for n, count in enumerate(live.counts):
        if count:
            cluster.values[f"live:{n}"] = str(count)
    _wait_agree(cluster, 3)
    owners = _slot_owners(cluster.base)
    assert sum(1 for port in owners.values() if port == ports[1]) == 5462 + 4096
    verify_keys(cluster)


def test_rebalance_simulate_changes_nothing(cluster: Cluster) -> None:
    before = _slot_owners(cluster.base)
    out = _ok(cli("rebalance", cluster.addr(), "--cluster-simulate"))
    assert "Moving" in out
    assert _slot_owners(cluster.base) == before


def test_rebalance_evens_out(cluster: Cluster) -> None:
    _ok(cli("rebalance", cluster.addr()))
    _wait_agree(cluster, 3)
    counts = _counts(cluster)
    assert max(counts.values()) - min(counts.values()) <= 2 * 16384 * 0.02 + 2, counts
    verify_keys(cluster)


def _counts(cluster: Cluster) -> dict[int, int]:
    counts: dict[int, int] = {}
    for port in _slot_owners(cluster.base).values():
        counts[port] = counts.get(port, 0) + 1
    return counts


def _new_node(cluster: Cluster) -> ServerProcess:
    node = start_rcsim(
        "--port", str(free_port()), "--cluster-enabled", "yes", "--cluster-node-timeout", "3000"
    )
    cluster.extra.append(node)
    return node


def test_add_node_then_rebalance_with_empty_masters(cluster: Cluster) -> None:
    node = _new_node(cluster)
    _ok(cli("add-node", cluster.addr(node.port), cluster.addr()))
    deadline = time.monotonic() + 20
    ports = [*_slot_owners(cluster.base).values(), node.port]
    while node.port not in cluster.ids() or any(len(_ids_on(p)) < 4 for p in set(ports)):
        assert time.monotonic() < deadline, "the new node never joined"
        time.sleep(0.2)
    _wait_agree(cluster, 4)
    _ok(cli("rebalance", cluster.addr(), "--cluster-use-empty-masters"))
    _wait_agree(cluster, 4)
    counts = _counts(cluster)
    assert len(counts) == 4 and counts[node.port] > 3000, counts
    verify_keys(cluster)


def _ids_on(port: int) -> list[str]:
    with RawClient(port) as client:
        text = client.call("CLUSTER", "NODES").split(b"\r\n", 1)[1].decode()
    return [
        line.split()[0]
        for line in text.splitlines()
        if len(line.split()) >= 8 and "handshake" not in line
    ]


def test_del_node_after_moving_its_slots_away(cluster: Cluster) -> None:
    ids = cluster.ids()
    port = max(ids)  # the node added above
    victim = ids[port]
    others = [p for p in sorted(ids) if p != port]
    # --cluster-weight: weight 0 empties the node, then del-node removes it
    _ok(cli("rebalance", cluster.addr(others[0]), "--cluster-weight", f"{victim}=0"))
    # A master whose last slot moved away becomes a replica of the node that took it (Redis
    # 7.0's SETSLOT NODE with cluster-allow-replica-migration): 3 masters and 1 replica.
    _wait_agree(cluster, 3)
    assert "S: " + victim in cli("check", cluster.addr()).stdout
    assert port not in _counts(cluster).values()
    assert port not in set(_slot_owners(cluster.base).values())
    _ok(cli("del-node", cluster.addr(), victim))
    deadline = time.monotonic() + 20
    while any(victim in _ids_on(p) for p in others):
        assert time.monotonic() < deadline, "the deleted node is still known"
        time.sleep(0.2)
    _wait_agree(cluster, 3)
    verify_keys(cluster)


def test_fix_a_slot_left_open_by_an_interrupted_migration(cluster: Cluster) -> None:
    owners = _slot_owners(cluster.base)
    ids = cluster.ids()
    keys_by_slot: dict[int, list[str]] = {}
    for key in cluster.values:
        keys_by_slot.setdefault(key_slot(key.encode()), []).append(key)
    slot = max(keys_by_slot, key=lambda s: len(keys_by_slot[s]))
    keys = keys_by_slot[slot]
    assert len(keys) >= 2
    source = owners[slot]
    target = next(p for p in sorted(ids) if p != source)
    with RawClient(source) as src, RawClient(target) as dst:
        assert dst.call("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[source]) == b"+OK\r\n"
        assert src.call("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[target]) == b"+OK\r\n"
        moved = src.call("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", keys[0])
        assert moved == b"+OK\r\n"
        # the migration "dies" here: half the keys on each side, the slot open on both
        assert src.call("GET", keys[0]).startswith(b"-ASK %d " % slot)
        assert src.call("GET", keys[1]) == b"$%d\r\n%s\r\n" % (
            len(cluster.values[keys[1]]),
            cluster.values[keys[1]].encode(),
        )
        assert src.call("MGET", keys[0], keys[1]) == (
            b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n"
        )
    checked = cli("check", cluster.addr())
    assert checked.returncode != 0 and "open slot" in checked.stdout.lower(), checked.stdout
    _ok(cli("fix", cluster.addr()))
    _wait_agree(cluster, 3)
    verify_keys(cluster)


def test_fix_an_uncovered_slot(cluster: Cluster) -> None:
    """An empty slot unassigned everywhere: ``fix`` gives it to a master through
    ``MULTI; CLUSTER DELSLOTS; CLUSTER ADDSLOTS; CLUSTER BUMPEPOCH; EXEC``."""
    used = {key_slot(key.encode()) for key in cluster.values}
    slot = next(s for s in range(16384) if s not in used)
    for port in set(_slot_owners(cluster.base).values()):
        with RawClient(port) as client:
            client.call("CLUSTER", "DELSLOTS", slot)
    checked = cli("check", cluster.addr())
    assert checked.returncode != 0 and "Not all 16384 slots are covered" in checked.stdout
    fixed = cli("fix", cluster.addr(), answer="yes\n")  # its first check reports the [ERR]
    assert fixed.returncode == 0 and f"Covering slot {slot} with" in fixed.stdout, fixed.stdout
    _wait_agree(cluster, 3)
    assert slot in _slot_owners(cluster.base)
    verify_keys(cluster)


def test_blocked_client_gets_moved_when_its_slot_leaves(cluster: Cluster) -> None:
    """BLPOP on a key whose (empty) slot moves away is answered ``-MOVED`` (Redis's
    clusterRedirectBlockedClientIfNeeded, from the periodic tick)."""
    owners = _slot_owners(cluster.base)
    used = {key_slot(key.encode()) for key in cluster.values}
    key = next(
        f"blocked:{i}" for i in range(10_000) if key_slot(f"blocked:{i}".encode()) not in used
    )
    slot = key_slot(key.encode())
    ids = cluster.ids()
    source = owners[slot]
    target = next(p for p in sorted(set(owners.values())) if p != source)
    with RawClient(source) as waiter:
        waiter.send(b"*3\r\n$5\r\nBLPOP\r\n$%d\r\n%s\r\n$2\r\n30\r\n" % (len(key), key.encode()))
        deadline = time.monotonic() + 5
        with RawClient(source) as probe:  # wait until the BLPOP is parked, not for a guess
            while b"blocked_clients:1\r\n" not in probe.call("INFO", "clients"):
                assert time.monotonic() < deadline, "the BLPOP never blocked"
                time.sleep(0.01)
        # redis-cli's slot move: IMPORTING, MIGRATING (the client stays blocked), then NODE on
        # the target, the source and the other master.
        steps = [(target, "IMPORTING", ids[source]), (source, "MIGRATING", ids[target])]
        others = [p for p in set(owners.values()) if p not in (source, target)]
        steps += [(port, "NODE", ids[target]) for port in (target, source, *others)]
        for port, action, node_id in steps:
            with RawClient(port) as admin:
                assert admin.call("CLUSTER", "SETSLOT", slot, action, node_id) == b"+OK\r\n"
            if action == "MIGRATING":
                time.sleep(0.3)  # a tick or three: still blocked, the slot is still ours
                waiter.sock.settimeout(0.05)
                with pytest.raises(TimeoutError):
                    waiter.read_reply()
        waiter.sock.settimeout(5)
        assert waiter.read_reply() == b"-MOVED %d 127.0.0.1:%d\r\n" % (slot, target)
    _wait_agree(cluster, 3)


def test_add_node_as_replica(cluster: Cluster) -> None:
    """``add-node --cluster-slave --cluster-master-id``: the new node replicates that master
    and holds its keys once synced."""
    owners = _slot_owners(cluster.base)
    master = sorted(set(owners.values()))[0]
    master_id = cluster.ids()[master]
    node = _new_node(cluster)
    _ok(
        cli(
            "add-node",
            cluster.addr(node.port),
            cluster.addr(),
            "--cluster-slave",
            "--cluster-master-id",
            master_id,
        )
    )
    with RawClient(master) as client:
        expected = int(client.call("DBSIZE")[1:-2])
    deadline = time.monotonic() + 30
    while True:
        with RawClient(node.port) as client:
            role = client.call("ROLE")
            size = int(client.call("DBSIZE")[1:-2])
        if role.startswith(b"*5\r\n$5\r\nslave") and b"connected" in role and size == expected:
            break
        assert time.monotonic() < deadline, (role, size, expected)
        time.sleep(0.2)
    out = _ok(cli("check", cluster.addr()))
    assert f"replicates {master_id}" in out
    verify_keys(cluster)


def test_final_check_is_clean(cluster: Cluster) -> None:
    out = _ok(cli("check", cluster.addr()))
    assert "[WARNING]" not in out
    assert "[OK] All 16384 slots covered." in out
