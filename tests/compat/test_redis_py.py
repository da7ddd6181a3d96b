"""redis-py against rcsim, RESP2 and RESP3: what an application does on a real Redis works here.

redis-py 8 sends HELLO 3 (protocol=3) and CLIENT SETINFO when it connects; it parses COMMAND,
INFO and CONFIG GET replies into Python structures, so those are compared with what it makes of
the oracle's replies.
"""

from __future__ import annotations

import pytest
import redis

pytestmark = pytest.mark.compat


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request) -> int:
    return request.param


@pytest.fixture
def r(rcsim_node, protocol):
    client = redis.Redis(port=rcsim_node.port, protocol=protocol, socket_timeout=10)
    client.flushall()
    yield client
    client.flushall()
    client.close()


@pytest.fixture
def oracle(redis_node, protocol):
    client = redis.Redis(port=redis_node.port, protocol=protocol, socket_timeout=10)
    client.flushall()
    yield client
    client.close()


def test_connect_ping_and_hello(r, protocol):
    assert r.ping() is True
    hello = r.execute_command("HELLO")
    if protocol == 3:
        assert hello[b"proto"] == 3
    else:
        assert dict(zip(hello[::2], hello[1::2], strict=True))[b"proto"] == 2


def test_strings_and_keys(r):
    assert r.set("a", "1") is True
    assert r.get("a") == b"1"
    assert r.get("missing") is None
    assert r.incr("n") == 1
    assert r.incrby("n", 41) == 42
    assert r.mset({"x": "1", "y": "2"}) is True
    assert r.mget("x", "y", "missing") == [b"1", b"2", None]
    assert r.expire("x", 100) is True
    assert 0 < r.ttl("x") <= 100
    assert r.ttl("y") == -1
    assert r.ttl("missing") == -2
    assert r.delete("x", "y", "missing") == 2
    assert r.exists("x", "y") == 0
    assert r.set("a", "2", get=True) == b"1"
    assert r.set("a", "3", nx=True) is None


def test_pipeline_without_transaction(r):
    pipe = r.pipeline(transaction=False)
    pipe.set("a", "1").incr("a").get("a").mget("a", "b")
    assert pipe.execute() == [True, 2, b"2", [b"2", None]]


def test_pipeline_with_transaction(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("a", "1").incr("a").incr("a").get("a")
    assert pipe.execute() == [True, 2, 3, b"3"]


def test_pipeline_transaction_runtime_error_is_raised_after_the_rest_ran(r):
    r.set("s", "abc")
    pipe = r.pipeline(transaction=True)
    pipe.set("t", "1").incr("s").incr("t")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        pipe.execute()
    assert r.get("t") == b"2"


def test_transaction_retries_after_watch_error(r, rcsim_node, protocol):
    r.set("counter", "10")
    other = redis.Redis(port=rcsim_node.port, protocol=protocol)
    attempts = []

    def increment(pipe: redis.client.Pipeline) -> None:
        value = int(pipe.get("counter"))
        attempts.append(value)
        if len(attempts) == 1:
            other.set("counter", "20")  # a concurrent write: this attempt must fail
        pipe.multi()
        pipe.set("counter", value + 1)

    try:
        assert r.transaction(increment, "counter") == [True]
    finally:
        other.close()
    assert attempts == [10, 20]
    assert r.get("counter") == b"21"


def test_watch_error_without_retry(r, rcsim_node):
    with r.pipeline() as pipe:
        pipe.watch("k")
        redis.Redis(port=rcsim_node.port).set("k", "changed")
        pipe.multi()
        pipe.set("k", "mine")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("k") == b"changed"


def test_scan_iter(r):
    keys = {f"key:{i}".encode() for i in range(300)} | {b"other"}
    r.mset({k: "v" for k in keys})
    assert set(r.scan_iter()) == keys
    assert set(r.scan_iter(match="key:1*", count=7)) == {k for k in keys if k.startswith(b"key:1")}


def test_info(r):
    info = r.info()
    assert info["redis_version"] == "7.0.15"
    assert info["redis_mode"] == "standalone"
    assert "used_memory" in info
    assert r.info("server")["redis_version"] == "7.0.15"


def test_config_get_parses_like_redis(r, oracle):
    for pattern in ("maxmemory", "maxmemory-policy", "databases", "save", "appendonly"):
        assert r.config_get(pattern) == oracle.config_get(pattern), pattern


def test_command_parses_like_redis(r, oracle):
    """redis-py parses COMMAND into a dict; rcsim's entries are Redis's for every served command
    (a container lists only its served subcommands; Redis lists them in hash order)."""
    ours = r.command()
    theirs = oracle.command()
    assert "get" in ours and "command" in ours
    for name, entry in ours.items():
        assert name in theirs, name
        expected = dict(theirs[name])
        subs = entry.pop("subcommands")
        all_subs = expected.pop("subcommands")
        assert entry == expected, name
        assert all(sub in all_subs for sub in subs), name
    assert r.command_count() == len(ours)


def test_command_helpers(r, oracle):
    for args in (("MSET", "a", "1", "b", "2"), ("GET", "x"), ("SET", "k", "v", "GET")):
        assert r.command_getkeys(*args) == oracle.command_getkeys(*args)
    names = r.command_list()
    assert set(names) <= set(oracle.command_list())
    assert len(names) > len(r.command())  # subcommands too
    assert r.command_list(pattern="GET") == oracle.command_list(pattern="GET")
