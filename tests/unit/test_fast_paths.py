"""Hot-path shortcuts must leave the keyspace exactly as the general code paths do."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from node.config import Config
from node.core import execute
from node.protocol.keyslot import key_slot
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

NOW = 1_700_000_000_000
keys = st.sampled_from([b"a", b"b", b"{a}c", b"n"])
values = st.sampled_from([b"", b"1", b"-5", b"x" * 50, b"hello"])


def fresh() -> tuple[NodeState, Session]:
    node = make_node(Config(), now_ms=NOW)
    node.now_ms = NOW
    return node, Session(node, 1)


def snapshot(session: Session) -> tuple:
    db = session.db
    slots = {key_slot(k): sorted(db.keys_in_slot(key_slot(k))) for k in db.data}
    return dict(db.data), dict(db.expires), db.used_bytes, slots, dict(db.access)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(keys, values, st.booleans()), max_size=6),
    st.lists(st.tuples(keys, values), min_size=1, max_size=6),
)
def test_mset_equals_one_set_per_pair(setup, pairs):
    """MSET's set_many against a SET per pair, with TTLs and expired keys in the way."""
    states = []
    for use_mset in (True, False):
        node, session = fresh()
        for key, value, with_ttl in setup:
            execute(
                session, [b"SET", key, value, b"PX", b"5"] if with_ttl else [b"SET", key, value]
            )
        node.now_ms = NOW + 3  # some TTLs still due later, none expired yet
        if use_mset:
            execute(session, [b"MSET", *[x for pair in pairs for x in pair]])
        else:
            for key, value in pairs:
                execute(session, [b"SET", key, value])
        states.append(snapshot(session))
    assert states[0] == states[1]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([b"INCR", b"DECR", b"GET", b"APPEND"]), keys), max_size=12)
)
def test_incr_and_get_fast_paths_match_lookup_semantics(ops):
    """INCR/GET inline Database.lookup: expiry, access times and memory must match it."""
    node, session = fresh()
    execute(session, [b"SET", b"n", b"10", b"PX", b"100"])
    for i, (op, key) in enumerate(ops):
        node.now_ms = NOW + i * 30  # crosses n's expiry part-way
        args = [op, key] + ([b"x"] if op == b"APPEND" else [])
        execute(session, args)
        db = session.db
        assert db.used_bytes == sum(96 + len(k) + len(v) for k, v in db.data.items())
        for k in db.data:
            assert k in db.access
        # The key the command touched is never left behind past its expiry (lazy expiry).
        if key in db.expires:
            assert db.expires[key] >= node.now_ms


def test_watch_sees_incr_and_mset():
    node, session = fresh()
    other = Session(node, 2)
    for command in ([b"INCR", b"k"], [b"MSET", b"k", b"1"]):
        assert execute(session, [b"WATCH", b"k"]) is not None
        execute(other, command)
        execute(session, [b"MULTI"])
        execute(session, [b"PING"])
        assert execute(session, [b"EXEC"]) is not None
        assert session.watch_dirty is False  # EXEC cleared it after failing
