"""Key expiry on a virtual clock: lazy expiry on access, and the sampled, bounded active cycle
(``Database.active_expire_cycle``, Redis's ``activeExpireCycle``)."""

from __future__ import annotations

import random

import pytest

from node.config import Config
from node.core import execute
from node.keyspace import (
    ACTIVE_EXPIRE_KEYS_PER_LOOP,
    ACTIVE_EXPIRE_MAX_KEYS_PER_CYCLE,
    Database,
)
from node.protocol.resp import encode
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

NOW = 1_700_000_000_000


class CountingRandom(random.Random):
    """Counts the keys a cycle samples (one ``randrange`` per sampled key)."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.samples = 0

    def randrange(self, *args, **kwargs):  # type: ignore[override]
        self.samples += 1
        return super().randrange(*args, **kwargs)


@pytest.fixture
def node() -> NodeState:
    return make_node(Config(), rng=random.Random(3), now_ms=NOW)


@pytest.fixture
def session(node: NodeState) -> Session:
    return Session(node, 1)


def run(session: Session, *args: str | bytes) -> bytes:
    argv = [x if isinstance(x, bytes) else x.encode() for x in args]
    return encode(execute(session, argv), session.resp3)


def fill(db: Database, count: int, expires_at: int | None, prefix: bytes = b"k") -> list[bytes]:
    keys = [b"%s:%d" % (prefix, i) for i in range(count)]
    for key in keys:
        db.set(key, b"v")
        if expires_at is not None:
            db.set_expire(key, expires_at)
    return keys


# -- lazy expiry ------------------------------------------------------------------------------


def test_key_lives_until_its_millisecond(node, session):
    assert run(session, "SET", "k", "v") == b"+OK\r\n"
    assert run(session, "PEXPIRE", "k", "100") == b":1\r\n"
    node.now_ms = NOW + 99
    assert run(session, "GET", "k") == b"$1\r\nv\r\n"
    assert run(session, "PTTL", "k") == b":1\r\n"
    # Redis's keyIsExpired: "if (now <= when) return 0" - alive during its last millisecond.
    node.now_ms = NOW + 100
    assert run(session, "GET", "k") == b"$1\r\nv\r\n"
    assert run(session, "PTTL", "k") == b":0\r\n"
    node.now_ms = NOW + 101
    assert run(session, "GET", "k") == b"$-1\r\n"
    assert b"k" not in session.db.data
    assert node.stats.expired_keys == 1


def test_every_lookup_kind_expires_lazily(node, session):
    for command in (["TTL", "k"], ["EXISTS", "k"], ["TYPE", "k"], ["OBJECT", "ENCODING", "k"]):
        session.db.set(b"k", b"v")
        session.db.set_expire(b"k", node.now_ms + 10)
        node.now_ms += 11  # expired once the clock is past its millisecond
        run(session, *command)
        assert b"k" not in session.db.data, command


def test_ttl_rounds_half_up(node, session):
    run(session, "SET", "k", "v")
    run(session, "PEXPIRE", "k", "1499")
    assert run(session, "TTL", "k") == b":1\r\n"
    run(session, "PEXPIRE", "k", "1500")
    assert run(session, "TTL", "k") == b":2\r\n"
    node.now_ms += 1501
    assert run(session, "TTL", "k") == b":-2\r\n"


def test_expire_in_the_past_deletes_and_answers_one(node, session):
    run(session, "SET", "k", "v")
    assert run(session, "EXPIREAT", "k", str(NOW // 1000 - 1)) == b":1\r\n"
    assert session.db.data == {}
    assert node.stats.expired_keys == 0  # a deletion, not an expiry, as in Redis


def test_expire_options_compare_with_the_current_ttl(node, session):
    run(session, "SET", "k", "v")
    assert run(session, "EXPIRE", "k", "100", "XX") == b":0\r\n"
    assert run(session, "EXPIRE", "k", "100", "GT") == b":0\r\n"  # no TTL counts as infinite
    assert run(session, "EXPIRE", "k", "100", "NX") == b":1\r\n"
    assert run(session, "EXPIRE", "k", "50", "GT") == b":0\r\n"
    assert run(session, "EXPIRE", "k", "200", "GT") == b":1\r\n"
    assert run(session, "EXPIRE", "k", "300", "LT") == b":0\r\n"
    assert run(session, "EXPIRE", "k", "30", "XX", "LT") == b":1\r\n"
    assert session.db.expires[b"k"] == NOW + 30_000


# -- active expiry ----------------------------------------------------------------------------


def test_one_cycle_is_bounded_and_sampled():
    db = Database(0)
    fill(db, 10_000, NOW - 1)
    rng = CountingRandom(1)
    expired = db.active_expire_cycle(NOW, rng)
    assert 0 < expired <= ACTIVE_EXPIRE_MAX_KEYS_PER_CYCLE
    assert rng.samples <= ACTIVE_EXPIRE_MAX_KEYS_PER_CYCLE + ACTIVE_EXPIRE_KEYS_PER_LOOP
    assert len(db) == 10_000 - expired


def test_cycles_eventually_remove_every_expired_key():
    db = Database(0)
    fill(db, 3_000, NOW + 1_000, prefix=b"dead")
    live = fill(db, 3_000, NOW + 10**9, prefix=b"live")
    fill(db, 3_000, None, prefix=b"plain")
    rng = random.Random(11)
    now = NOW + 1_001
    for _ in range(20_000):
        if not any(k.startswith(b"dead") for k in db.expires):
            break
        db.active_expire_cycle(now, rng)
    assert not any(k.startswith(b"dead") for k in db.data)
    assert all(k in db.data for k in live)
    assert len(db) == 6_000


def test_cycle_stops_early_when_few_keys_are_stale():
    db = Database(0)
    fill(db, 5_000, NOW + 10**9)
    rng = CountingRandom(2)
    assert db.active_expire_cycle(NOW, rng) == 0
    assert rng.samples == ACTIVE_EXPIRE_KEYS_PER_LOOP  # one sample, nothing stale: stop


def test_cycle_ignores_keys_without_ttl_and_future_ttls():
    db = Database(0)
    fill(db, 100, None)
    assert db.active_expire_cycle(NOW, random.Random(1)) == 0
    fill(db, 100, NOW + 1, prefix=b"soon")
    assert db.active_expire_cycle(NOW, random.Random(1)) == 0
    assert len(db) == 200


def test_node_cycle_covers_every_database_and_counts_stats(node):
    for db in node.dbs[:3]:
        fill(db, 50, NOW - 1)
    for _ in range(50):
        node.active_expire()
    assert sum(len(db) for db in node.dbs) == 0
    assert node.stats.expired_keys == 150


def test_persist_removes_a_key_from_the_sample_set(node, session):
    run(session, "SET", "k", "v")
    run(session, "PEXPIRE", "k", "10")
    assert run(session, "PERSIST", "k") == b":1\r\n"
    assert session.db.active_expire_cycle(NOW + 100, random.Random(1)) == 0
    assert run(session, "GET", "k") == b"$1\r\nv\r\n"
