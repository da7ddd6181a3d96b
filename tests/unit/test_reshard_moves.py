"""The command sequences of a slot move, a pause/resume/abort and ``fix``, on fake nodes that
record what they are sent: they must be redis-cli 7.0's (reference section 4)."""

from __future__ import annotations

import io

import pytest

from cluster import fix as fixing
from cluster import migration
from cluster.manager import AdminError, Cluster, Node
from cluster.migration import MoveOptions
from cluster.progress import Progress
from cluster.respclient import ReplyError


class FakeConn:
    def __init__(self, node: FakeNode) -> None:
        self.node = node
        self.pending: list[object] = []

    def send(self, *commands: tuple) -> None:
        self.pending += [self.node.call(*c) for c in commands]

    def read(self) -> object:
        return self.pending.pop(0)

    def close(self) -> None:
        pass


class FakeNode(Node):
    """A master that keeps keys per slot and executes the few commands the tools send."""

    def setup(self, log: list, peers: dict, keys: dict[int, list[bytes]]) -> FakeNode:
        self.log, self.peers, self.keys = log, peers, keys
        return self

    def conn(self) -> FakeConn:  # type: ignore[override]
        if not hasattr(self, "fake_conn"):
            self.fake_conn = FakeConn(self)
        return self.fake_conn

    def call(self, *args: str | bytes | int) -> object:
        argv = [a.decode() if isinstance(a, bytes) else str(a) for a in args]
        self.log.append((self.port, " ".join(argv)))
        name = " ".join(argv[:2]).upper()
        if name == "CLUSTER GETKEYSINSLOT":
            return self.keys.get(int(argv[2]), [])[: int(argv[3])]
        if name == "CLUSTER COUNTKEYSINSLOT":
            return len(self.keys.get(int(argv[2]), []))
        if argv[0] == "MIGRATE":
            target = self.peers[int(argv[2])]
            moving = [k.encode() for k in argv[argv.index("KEYS") + 1 :]]
            slot_keys = next(k for k in self.keys.values() if set(moving) <= set(k))
            slot = next(s for s, k in self.keys.items() if k is slot_keys)
            self.keys[slot] = [k for k in slot_keys if k not in moving]
            target.keys.setdefault(slot, []).extend(moving)
            return "OK"
        if name == "CLUSTER SETSLOT" and argv[3].upper() == "NODE" and self.keys.get(int(argv[2])):
            if argv[4] != self.node_id and int(argv[2]) in self.slots:
                return ReplyError("ERR Can't assign hashslot to a different node")
        return "OK"


def _cluster(keys_per_slot: dict[int, int]) -> tuple[Cluster, list, list[FakeNode]]:
    log: list = []
    peers: dict = {}
    nodes = []
    for i, port in enumerate((7000, 7001, 7002)):
        node = FakeNode(str(i) * 40, "127.0.0.1", port, {"master"}, None, i + 1)
        node.setup(log, peers, {})
        peers[port] = node
        nodes.append(node)
    nodes[0].slots = set(range(5461))
    nodes[1].slots = set(range(5461, 10923))
    nodes[2].slots = set(range(10923, 16384))
    for slot, count in keys_per_slot.items():
        owner = next(n for n in nodes if slot in n.slots)
        owner.keys[slot] = [f"k{slot}:{i}".encode() for i in range(count)]
    return Cluster(nodes, []), log, nodes


def test_move_slot_sends_redis_cli_sequence() -> None:
    cluster, log, (a, b, _c) = _cluster({5: 3})
    moved = migration.move_slot(cluster, a, b, 5, MoveOptions(pipeline=2))
    assert moved == 3
    assert log == [
        (7001, f"CLUSTER SETSLOT 5 IMPORTING {a.node_id}"),
        (7000, f"CLUSTER SETSLOT 5 MIGRATING {b.node_id}"),
        (7000, "CLUSTER GETKEYSINSLOT 5 2"),
        (7000, "MIGRATE 127.0.0.1 7001  0 60000 KEYS k5:0 k5:1"),
        (7000, "CLUSTER GETKEYSINSLOT 5 2"),
        (7000, "MIGRATE 127.0.0.1 7001  0 60000 KEYS k5:2"),
        (7000, "CLUSTER GETKEYSINSLOT 5 2"),
        (7001, f"CLUSTER SETSLOT 5 NODE {b.node_id}"),
        (7000, f"CLUSTER SETSLOT 5 NODE {b.node_id}"),
        (7002, f"CLUSTER SETSLOT 5 NODE {b.node_id}"),
    ]
    assert 5 in b.slots and 5 not in a.slots and b.keys[5] == [b"k5:0", b"k5:1", b"k5:2"]
    assert not a.migrating and not b.importing


def test_pause_then_resume_and_abort() -> None:
    cluster, log, (a, b, c) = _cluster({5: 7, 6: 4})
    state = migration.migrate_slot(cluster, 5, b, MoveOptions(), "half")
    assert (state.state, state.keys_moved, state.keys_left) == ("paused", 3, 4)
    assert a.migrating == {5: b.node_id} and b.importing == {5: a.node_id}
    assert not any("NODE" in cmd for _, cmd in log)
    with pytest.raises(AdminError, match="already open"):
        migration.migrate_slot(cluster, 5, b, MoveOptions(), "half")
    done = migration.resume(cluster, 5, MoveOptions())
    assert (done.state, done.keys_moved) == ("done", 4) and len(b.keys[5]) == 7
    migration.migrate_slot(cluster, 6, c, MoveOptions(), 0.5)
    log.clear()
    aborted = migration.abort(cluster, 6, MoveOptions())
    assert aborted.state == "aborted" and 6 in a.slots and len(a.keys[6]) == 4
    assert not c.keys.get(6)
    # Forward first (target owns it), then the normal move back: IMPORTING on the old owner.
    order = [cmd for _, cmd in log if "SETSLOT" in cmd]
    assert order.index(f"CLUSTER SETSLOT 6 NODE {c.node_id}") < order.index(
        f"CLUSTER SETSLOT 6 IMPORTING {c.node_id}"
    )


def test_fix_case_1_finishes_the_move() -> None:
    cluster, _log, (a, b, _c) = _cluster({5: 2})
    a.migrating[5] = b.node_id
    b.importing[5] = a.node_id
    lines: list[str] = []
    fixing.fix_open_slot(cluster, 5, MoveOptions(), lines.append)
    assert ">>> Case 1: Moving slot 5 from 127.0.0.1:7000 to 127.0.0.1:7001" in lines
    assert 5 in b.slots and b.keys[5] == [b"k5:0", b"k5:1"]


def test_fix_case_2_after_picking_the_owner_with_most_keys() -> None:
    """An interrupted move with more keys already on the target: redis-cli makes the node
    with most keys the owner and moves the rest there cold."""
    cluster, log, (a, b, _c) = _cluster({5: 3})
    a.keys[5], b.keys[5] = [b"k5:0"], [b"k5:1", b"k5:2"]
    a.migrating[5] = b.node_id
    b.importing[5] = a.node_id
    lines: list[str] = []
    fixing.fix_open_slot(cluster, 5, MoveOptions(), lines.append)
    assert ">>> No single clear owner for the slot, selecting an owner by # of keys..." in lines
    assert "*** Configuring 127.0.0.1:7001 as the slot owner" in lines
    assert any(line.startswith(">>> Case 2:") for line in lines)
    assert sorted(b.keys[5]) == [b"k5:0", b"k5:1", b"k5:2"] and not a.keys[5]
    sent_to_b = [cmd for port, cmd in log if port == 7001]
    assert sent_to_b[:4] == [
        "CLUSTER COUNTKEYSINSLOT 5",
        "CLUSTER COUNTKEYSINSLOT 5",  # most keys
        "CLUSTER SETSLOT 5 STABLE",
        "CLUSTER DELSLOTS 5",
    ]
    assert "CLUSTER BUMPEPOCH" in sent_to_b
    assert (7000, "MIGRATE 127.0.0.1 7001  0 60000 REPLACE KEYS k5:0") in log  # fix replaces


def test_fix_case_3_closes_an_empty_migrating_slot() -> None:
    cluster, log, (a, b, _c) = _cluster({5: 0})
    a.migrating[5] = b.node_id
    lines: list[str] = []
    fixing.fix_open_slot(cluster, 5, MoveOptions(), lines.append)
    assert ">>> Case 3: Closing slot 5 on 127.0.0.1:7000" in lines
    assert log[-1] == (7000, "CLUSTER SETSLOT 5 STABLE") and not a.migrating


def test_open_pair_refuses_half_open_slots() -> None:
    cluster, _log, (a, b, _c) = _cluster({})
    a.migrating[9] = b.node_id
    with pytest.raises(AdminError, match="rcsim fix"):
        migration.resume(cluster, 9, MoveOptions())


def test_progress_line_and_summary() -> None:
    out = io.StringIO()
    progress = Progress(4, out=out)
    progress.on_keys(10)
    progress.on_slot(1)
    line = progress.line()
    assert "[######..................] 1/4 slots  10 keys" in line and "keys/s" in line
    assert "left" in line
    assert progress.finish().startswith("Moved 1 slots and 10 keys in ")
