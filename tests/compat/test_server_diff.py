"""Server commands against redis-server 7.0.15, in RESP2 and RESP3: DBSIZE, FLUSHDB/FLUSHALL,
TIME, LASTSAVE, LOLWUT, SHUTDOWN, DEBUG, INFO, CONFIG, SLOWLOG, LATENCY and MONITOR.

Replies are compared byte for byte where Redis is deterministic; where a reply carries times,
ids, addresses or random art, the test normalises those parts and compares the rest. Tests that
change server state restore it in ``finally`` blocks, or use private servers.
"""

from __future__ import annotations

import hashlib
import re
import time

import pytest

from tests.conftest import require_redis_server
from tests.support.procs import server_pair
from tests.support.rawclient import RawClient, encode_command

pytestmark = pytest.mark.compat


def restoring(diff, *commands: tuple):
    """Run ``commands`` on both servers whatever happens (to put shared state back)."""

    class _Restore:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            for command in commands:
                diff.both(*command)

    return _Restore()


def bulk_text(reply: bytes) -> bytes:
    """The payload of a bulk (``$``) or verbatim (``=``, ``txt:``) string reply."""
    header, _, rest = reply.partition(b"\r\n")
    body = rest[:-2]
    if header.startswith(b"="):
        assert body[:4] == b"txt:"
        body = body[4:]
    else:
        assert header.startswith(b"$")
    return body


# -- stateless replies, byte for byte -------------------------------------------------------------

EXACT = [
    ("DBSIZE", "x"),
    ("FLUSHDB", "x"),
    ("FLUSHDB", "ASYNC", "SYNC"),
    ("FLUSHALL", "x"),
    ("FLUSHALL", "sync", "x"),
    ("FLUSHALL", "SYNC"),
    ("FLUSHALL", "async"),
    ("FLUSHDB", "sync"),
    ("TIME", "x"),
    ("LASTSAVE", "x"),
    ("LOLWUT",),
    ("LOLWUT", "foo"),
    ("LOLWUT", "1", "2"),
    ("LOLWUT", "VERSION"),
    ("LOLWUT", "VERSION", "7"),
    ("LOLWUT", "VERSION", "-1"),
    ("LOLWUT", "VERSION", "50"),
    ("LOLWUT", "VERSION", "x"),
    ("LOLWUT", "VERSION", "5", "x"),
    ("LOLWUT", "VERSION", "5", "10", "2", "2"),
    ("LOLWUT", "VERSION", "5", "66", "8", "2"),
    ("LOLWUT", "VERSION", "5", "0", "0", "0"),
    ("LOLWUT", "VERSION", "5", "33", "3", "1", "extra"),
    ("SHUTDOWN", "foo"),
    ("SHUTDOWN", "ABORT"),
    ("SHUTDOWN", "abort", "abort"),
    ("SHUTDOWN", "NOSAVE", "SAVE"),
    ("SHUTDOWN", "ABORT", "NOW"),
    ("SHUTDOWN", "NOW", "ABORT"),
    ("SHUTDOWN", "NOSAVE", "NOSAVE", "x"),
    ("MONITOR", "x"),
    ("INFO", "nosuch"),
    ("INFO", "cluster"),
    ("INFO", "modules"),
    ("DEBUG",),
    ("DEBUG", "foo"),
    ("DEBUG", "HELP"),
    ("DEBUG", "help", "x"),
    ("DEBUG", "SLEEP"),
    ("DEBUG", "SLEEP", "0"),
    ("DEBUG", "SLEEP", "x"),
    ("DEBUG", "POPULATE", "-1"),
    ("DEBUG", "POPULATE", "x"),
    ("DEBUG", "POPULATE", "1", "z", "x"),
    ("DEBUG", "POPULATE", "1", "z", "-1"),
    ("DEBUG", "POPULATE", "1", "z", "1", "extra"),
    ("DEBUG", "OBJECT", "nosuch"),
    ("DEBUG", "OBJECT"),
    ("DEBUG", "DIGEST"),
    ("DEBUG", "DIGEST", "x"),
    ("DEBUG", "DIGEST-VALUE"),
    ("DEBUG", "DIGEST-VALUE", "nosuch", "other"),
    ("DEBUG", "CHANGE-REPL-ID", "x"),
    ("DEBUG", "SET-ACTIVE-EXPIRE"),
    ("DEBUG", "ERROR", "foo bar"),
    ("DEBUG", "ERROR", "ERR custom"),
    ("DEBUG", "ERROR"),
    ("DEBUG", "LOG", "from the differential tests"),
    ("DEBUG", "PROTOCOL"),
    ("DEBUG", "PROTOCOL", "foo"),
    *[
        ("DEBUG", "PROTOCOL", kind)
        for kind in [
            "string",
            "integer",
            "double",
            "bignum",
            "null",
            "array",
            "set",
            "map",
            "attrib",
            "verbatim",
            "true",
            "false",
        ]
    ],
    ("CONFIG",),
    ("CONFIG", "foo"),
    ("CONFIG", "HELP"),
    ("CONFIG", "HELP", "x"),
    ("CONFIG", "GET"),
    ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "GET", "MAXMEMORY"),
    ("CONFIG", "GET", "maxmemory", "MAXMEMORY"),
    ("CONFIG", "GET", "maxmemory", "maxmemory"),
    ("CONFIG", "GET", "nosuch"),
    ("CONFIG", "GET", "key-load-delay"),
    ("CONFIG", "GET", "key-load*"),
    ("CONFIG", "GET", "save"),
    ("CONFIG", "GET", "appendonly"),
    ("CONFIG", "GET", "slave-read-only"),
    ("CONFIG", "GET", "notify-keyspace-events"),
    ("CONFIG", "GET", "client-output-buffer-limit"),
    ("CONFIG", "SET", "maxmemory"),
    ("CONFIG", "SET", "maxmemory", "1gb", "hz"),
    ("CONFIG", "REWRITE"),
    ("CONFIG", "REWRITE", "x"),
    ("CONFIG", "RESETSTAT", "x"),
    ("SLOWLOG",),
    ("SLOWLOG", "foo"),
    ("SLOWLOG", "HELP"),
    ("SLOWLOG", "GET", "-2"),
    ("SLOWLOG", "GET", "x"),
    ("SLOWLOG", "GET", "1", "2"),
    ("SLOWLOG", "LEN", "x"),
    ("SLOWLOG", "RESET", "x"),
    ("LATENCY",),
    ("LATENCY", "foo"),
    ("LATENCY", "HELP"),
    ("LATENCY", "HISTORY"),
    ("LATENCY", "GRAPH"),
    ("LATENCY", "GRAPH", "nosuch-event"),
    ("LATENCY", "HISTORY", "nosuch-event"),
    ("LATENCY", "RESET", "nosuch-event"),
    ("LATENCY", "LATEST", "x"),
    ("LATENCY", "DOCTOR", "x"),
]


@pytest.mark.parametrize("command", EXACT, ids=[" ".join(c) for c in EXACT])
def test_exact_replies(diff, command):
    diff.check(*command)


# Every failing CONFIG SET leaves the configuration untouched, so these are safe to share.
CONFIG_SET_ERRORS = [
    ("nosuch", "1"),
    ("maxclients", "x"),
    ("MAXCLIENTS", "x"),
    ("slave-read-only", "x"),
    ("maxmemory", "1gb", "maxmemory", "2gb"),
    ("maxmemory", "1gb", "MAXMEMORY", "2gb"),
    ("maxmemory", "1gb", "hz", "x"),
    ("port", "x", "nosuch", "2"),
    ("nosuch", "2", "port", "x"),
    ("maxmemory", "x", "databases", "2"),
    ("databases", "2", "maxmemory", "1", "maxmemory", "2"),
    ("maxmemory", "1xb"),
    ("maxmemory", "-1"),
    ("maxmemory", "1.5gb"),
    ("appendonly", "maybe"),
    ("loglevel", "foo"),
    ("maxmemory-policy", "lru"),
    ("save", "1 2 3"),
    ("save", "x y"),
    ("save", "0 1"),
    ("save", "100   10"),
    ("databases", "3"),
    ("cluster-enabled", "yes"),
    ("enable-debug-command", "no"),
    ("daemonize", "yes"),
    ("unixsocketperm", "1"),
    ("socket-mark-id", "1"),
    ("replicaof", "no one"),
    ("slaveof", "no one"),
    ("dir", "/nonexistent"),
    ("dbfilename", "a/b"),
    ("timeout", "-1"),
    ("maxclients", "0"),
    ("maxclients", "4294967296"),
    ("slowlog-log-slower-than", "-2"),
    ("proto-max-bulk-len", "10"),
    ("proto-max-bulk-len", "99999999999999999999"),
    ("hz", " 10"),
    ("hz", "+10"),
    ("hz", "010"),
    ("hz", "99999999999999999999"),
    ("list-max-listpack-size", "x"),
    ("maxmemory-clients", "-10"),
    ("maxmemory-clients", "200%"),
    ("maxmemory-clients", "x"),
    ("notify-keyspace-events", "Q"),
    ("client-output-buffer-limit", "foo 1 2 3"),
    ("client-output-buffer-limit", "master 1 2 3"),
    ("client-output-buffer-limit", "normal 1 2"),
    ("client-output-buffer-limit", "normal 1 2 -3"),
    ("latency-tracking-info-percentiles", "x"),
    ("latency-tracking-info-percentiles", "101"),
    ("oom-score-adj-values", "1 2"),
    ("oom-score-adj-values", "1 2 x"),
    ("oom-score-adj-values", "1 2 3000"),
    ("cluster-announce-hostname", "a_b"),
    ("shutdown-on-sigint", "foo"),
    ("shutdown-on-sigint", "save nosave"),
    ("propagation-error-behavior", "x"),
    ("repl-diskless-load", "x"),
    ("tls-auth-clients", "x"),
    ("activedefrag", "yes"),
    ("proc-title-template", "{foo}"),
    ("bind", " ".join(["127.0.0.1"] * 17)),
]


@pytest.mark.parametrize("args", CONFIG_SET_ERRORS, ids=[" ".join(a) for a in CONFIG_SET_ERRORS])
def test_config_set_errors(diff, args):
    reply = diff.check("CONFIG", "SET", *args)
    assert reply.startswith(b"-ERR")


def test_failed_config_set_changes_nothing(diff):
    diff.check("CONFIG", "SET", "maxmemory", "1gb", "hz", "x")
    diff.check("CONFIG", "GET", "maxmemory")
    diff.check("CONFIG", "GET", "hz")


# (directive, value to set, value to restore)
CONFIG_SET_OK = [
    ("maxmemory", "1gb", "0"),
    ("maxmemory", "10GB", "0"),
    ("maxmemory", "1k", "0"),
    ("maxmemory", "", "0"),
    ("maxmemory", "99999999999999999999", "0"),
    ("hz", "0", "10"),
    ("hz", "1000", "10"),
    ("hz", "100", "10"),
    ("maxmemory-clients", "10%", "0"),
    ("appendfsync", "ALWAYS", "everysec"),
    ("loglevel", "WARNING", "notice"),
    ("maxmemory-policy", "ALLKEYS-LRU", "noeviction"),
    ("oom-score-adj", "relative", "no"),
    ("notify-keyspace-events", "KEA", ""),
    ("notify-keyspace-events", "Ex", ""),
    ("notify-keyspace-events", "nd", ""),
    ("notify-keyspace-events", "Am", ""),
    ("notify-keyspace-events", "g$lshzxet", ""),
    ("save", "100 10 200 20", ""),
    ("save", "1 0", ""),
    ("client-output-buffer-limit", "replica 1mb 2mb 3", "slave 268435456 67108864 60"),
    ("client-output-buffer-limit", "normal 1 2 3", "normal 0 0 0"),
    ("client-output-buffer-limit", "", "normal 0 0 0"),
    ("latency-tracking-info-percentiles", "50 99.99", "50 99 99.9"),
    ("latency-tracking-info-percentiles", "", "50 99 99.9"),
    ("shutdown-on-sigint", "nosave now", "default"),
    ("shutdown-on-sigint", "force save", "default"),
    ("shutdown-on-sigint", "default now", "default"),
    ("slave-read-only", "no", "yes"),
    ("replica-announce-ip", "1.2.3.4", ""),
    ("oom-score-adj-values", "0 200 800", "0 200 800"),
    ("timeout", "0", "0"),
    ("activedefrag", "no", "no"),
]


@pytest.mark.parametrize(
    ("name", "value", "restore"), CONFIG_SET_OK, ids=[f"{n}={v}" for n, v, _ in CONFIG_SET_OK]
)
def test_config_set_then_get(diff, name, value, restore):
    with restoring(diff, ("CONFIG", "SET", name, restore)):
        diff.check("CONFIG", "SET", name, value)
        diff.check("CONFIG", "GET", name)
        if name == "slave-read-only":
            diff.check("CONFIG", "GET", "replica-read-only")


def test_config_set_several_pairs_at_once(diff):
    with restoring(diff, ("CONFIG", "SET", "maxmemory", "0", "hz", "10", "slowlog-max-len", "128")):
        diff.check("CONFIG", "SET", "maxmemory", "2mb", "hz", "20", "slowlog-max-len", "5")
        ours, theirs = diff.both("CONFIG", "GET", "maxmemory", "hz", "slowlog-max-len")
        assert pairs(ours) == pairs(theirs)  # Redis answers in its dict's (random) order
        assert (b"maxmemory", b"2097152") in pairs(ours)
        diff.check("CONFIG", "SET", "slave-read-only", "yes", "replica-read-only", "yes")


def pairs(reply: bytes) -> set[tuple[bytes, bytes]]:
    """The name/value pairs of a CONFIG GET reply (RESP2 flat array or RESP3 map)."""
    items = re.findall(rb"\$\d+\r\n(.*?)\r\n", reply, re.S)
    assert len(items) % 2 == 0
    return set(zip(items[::2], items[1::2], strict=True))


# Values that legitimately differ between the two servers of the fixture.
PER_SERVER = {b"bind", b"dir", b"port", b"logfile", b"rcsim-fault-injection"}


def test_config_get_everything_matches_redis_defaults(diff):
    ours, theirs = diff.both("CONFIG", "GET", "*")
    assert ours[:1] == theirs[:1]  # '*' in RESP2, '%' in RESP3
    ours_pairs = {p for p in pairs(ours) if p[0] not in PER_SERVER}
    theirs_pairs = {p for p in pairs(theirs) if p[0] not in PER_SERVER}
    assert ours_pairs == theirs_pairs
    assert {name for name, _ in pairs(ours)} - {b"rcsim-fault-injection"} == {
        name for name, _ in pairs(theirs)
    }


@pytest.mark.parametrize(
    "patterns",
    [
        ("maxmemory", "maxmem*"),
        ("maxmem*", "maxmemory"),
        ("MAXMEM*",),
        ("slave-read-only", "slave*only"),
        ("slave-read-only", "replica-read-only"),
        ("*read-only*",),
        ("port", "maxclients", "timeout"),
        ("lazyfree-*", "*defrag*"),
        ("hash-max-*", "zset-max-*"),
        ("*max-*-entries*",),
        ("[a-c]*",),
        ("*",),
    ],
    ids=lambda p: " ".join(p),
)
def test_config_get_patterns_match_as_sets(diff, patterns):
    """Redis answers several matches in its dict's (per-process random) order: compare sets."""
    ours, theirs = diff.both("CONFIG", "GET", *patterns)
    assert ours[:1] == theirs[:1]
    ours_pairs = {p for p in pairs(ours) if p[0] not in PER_SERVER}
    theirs_pairs = {p for p in pairs(theirs) if p[0] not in PER_SERVER}
    assert ours_pairs == theirs_pairs


# -- DBSIZE, FLUSHDB, FLUSHALL, TIME, LASTSAVE -----------------------------------------------------


def test_dbsize_and_flushes(diff):
    diff.check("MSET", "a", "1", "b", "2", "c", "3")
    diff.check("DBSIZE")
    diff.check("FLUSHDB", "ASYNC")
    diff.check("DBSIZE")
    diff.check("SET", "a", "1")
    diff.check("SELECT", "1")
    diff.check("SET", "b", "1")
    diff.check("DBSIZE")
    diff.check("FLUSHDB")
    diff.check("DBSIZE")
    diff.check("SET", "b", "1")
    diff.check("FLUSHALL", "SYNC")
    diff.check("DBSIZE")
    diff.check("SELECT", "0")
    diff.check("DBSIZE")


def test_flushall_breaks_watch(diff):
    diff.check("SET", "w", "1")
    diff.check("WATCH", "w")
    with RawClient(diff.ours_port) as ours, RawClient(diff.theirs_port) as theirs:
        assert ours.call("FLUSHALL") == theirs.call("FLUSHALL")
    diff.check("MULTI")
    diff.check("SET", "w", "2")
    diff.check("EXEC")


def test_time_is_seconds_and_microseconds(diff):
    ours, theirs = diff.both("TIME")
    shape = rb"\*2\r\n\$\d+\r\n(\d+)\r\n\$\d+\r\n(\d{1,6})\r\n"
    ours_match, theirs_match = re.fullmatch(shape, ours), re.fullmatch(shape, theirs)
    assert ours_match and theirs_match
    assert abs(int(ours_match[1]) - int(theirs_match[1])) <= 2
    assert abs(int(ours_match[1]) - time.time()) <= 2


def test_lastsave_is_a_unix_time(diff):
    ours, theirs = diff.both("LASTSAVE")
    assert re.fullmatch(rb":\d{10}\r\n", ours) and re.fullmatch(rb":\d{10}\r\n", theirs)
    assert int(ours[1:]) <= time.time() + 1


# -- LOLWUT --------------------------------------------------------------------------------------


def test_lolwut_5_default_has_redis_size_and_caption(diff):
    ours, theirs = diff.both("LOLWUT", "VERSION", "5")
    assert ours.split(b"\r\n", 1)[0] == theirs.split(b"\r\n", 1)[0]  # same type and length
    ours_lines, theirs_lines = bulk_text(ours).split(b"\n"), bulk_text(theirs).split(b"\n")
    assert (
        ours_lines[-2:]
        == theirs_lines[-2:]
        == [
            b"Georg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15",
            b"",
        ]
    )
    assert ours_lines[:8] == theirs_lines[:8]  # the first two rows of squares are not random


def test_lolwut_6_skyline_shape_and_caption(diff):
    ours, theirs = diff.both("LOLWUT", "VERSION", "6", "20", "6")
    assert ours[:1] == theirs[:1]
    ours_lines, theirs_lines = bulk_text(ours).split(b"\n"), bulk_text(theirs).split(b"\n")
    assert len(ours_lines) == len(theirs_lines) == 6 + 3
    assert ours_lines[-3:] == theirs_lines[-3:]
    for a, b in zip(ours_lines[:6], theirs_lines[:6], strict=True):
        assert a.count(b"\x1b[0m") == b.count(b"\x1b[0m") == 20


# -- SHUTDOWN and DEBUG permission on private servers ------------------------------------------------


def test_shutdown_closes_without_reply_and_stops_the_server():
    require_redis_server()
    with server_pair() as (ours, theirs):
        for server in (ours, theirs):
            with RawClient(server.port) as client:
                client.send(b"SHUTDOWN NOSAVE\r\n")
                assert client.read_available(2.0) in (b"<EOF>", b"<RESET>")
            server.proc.wait(10)
            assert server.proc.returncode == 0


def test_debug_refused_unless_enabled():
    require_redis_server()
    with (
        server_pair(("--enable-debug-command", "no")) as (ours, theirs),
        RawClient(ours.port) as a,
        RawClient(theirs.port) as b,
    ):
        for command in (("DEBUG", "HELP"), ("DEBUG", "SLEEP", "0"), ("DEBUG",), ("DEBUG", "x")):
            assert a.call(*command) == b.call(*command), command
        assert a.call("CONFIG", "GET", "enable-debug-command") == b.call(
            "CONFIG", "GET", "enable-debug-command"
        )


def test_protected_config_allowed_when_enabled(tmp_path):
    require_redis_server()
    with (
        server_pair(("--enable-protected-configs", "yes")) as (ours, theirs),
        RawClient(ours.port) as a,
        RawClient(theirs.port) as b,
    ):
        for command in (
            ("CONFIG", "SET", "dbfilename", "a/b"),
            ("CONFIG", "SET", "dbfilename", "other.rdb"),
            ("CONFIG", "GET", "dbfilename"),
        ):
            assert a.call(*command) == b.call(*command), command


# -- DEBUG ---------------------------------------------------------------------------------------


def test_debug_protocol_push(diff):
    if diff.protocol == 2:
        diff.check("DEBUG", "PROTOCOL", "push")
        return
    ours, theirs = diff.both("DEBUG", "PROTOCOL", "push")
    assert ours == theirs == b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"
    assert diff.ours.read_reply() == diff.theirs.read_reply()


def test_debug_populate_creates_redis_keys(diff):
    diff.check("SET", "key:1", "mine")
    diff.check("DEBUG", "POPULATE", "3")
    diff.check("DEBUG", "POPULATE", "3", "p", "2")
    diff.check("DEBUG", "POPULATE", "2", "q", "10")
    diff.check("DEBUG", "POPULATE", "2", "q2", "0")
    diff.check("DBSIZE")
    diff.check("MGET", "key:0", "key:1", "key:2", "p:0", "p:1", "p:2", "q:0", "q:1", "q2:1")
    diff.check("DEBUG", "POPULATE", "1", "x" * 200)
    diff.check("DBSIZE")


def test_debug_digests(diff):
    diff.check("DEBUG", "POPULATE", "20")
    diff.check("SET", "ttl", "v", "EX", "1000")
    diff.check("SET", "n", "12345")
    diff.check("APPEND", "n", "6")
    diff.check("DEBUG", "DIGEST-VALUE", "key:0", "key:19", "ttl", "n", "nosuch")
    diff.check("DEBUG", "DIGEST")
    diff.check("SELECT", "3")
    diff.check("SET", "other-db", "x")
    diff.check("DEBUG", "DIGEST")
    diff.check("DEBUG", "DIGEST-VALUE", "other-db")
    diff.check("SELECT", "0")


OBJECT_LINE = re.compile(
    rb"\+Value at:0x[0-9a-f]+ refcount:1 encoding:(\w+) serializedlength:(\d+) "
    rb"lru:\d+ lru_seconds_idle:\d+\r\n"
)


@pytest.mark.parametrize(
    "value",
    # Incompressible values: Redis's serializedlength counts LZF-compressed strings (> 20 bytes)
    # at their compressed size, which rcsim does not model.
    [
        "value:0",
        "12345",
        "-1",
        hashlib.sha256(b"x").hexdigest()[:30],
        hashlib.sha256(b"x").hexdigest()[:50],
    ],
    ids=["embstr", "int", "negative-int", "embstr-30", "raw-50"],
)
def test_debug_object_encoding_and_serialized_length(diff, value):
    diff.check("SET", "k", value)
    ours, theirs = diff.both("DEBUG", "OBJECT", "k")
    ours_match, theirs_match = OBJECT_LINE.fullmatch(ours), OBJECT_LINE.fullmatch(theirs)
    assert ours_match and theirs_match, (ours, theirs)
    assert ours_match.groups() == theirs_match.groups()


def test_debug_set_active_expire(diff):
    with restoring(diff, ("DEBUG", "SET-ACTIVE-EXPIRE", "1")):
        diff.check("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        diff.check("SET", "k", "v", "PX", "1")
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:  # nothing may expire it: no access, no cycle
            assert diff.check("DBSIZE") == b":1\r\n"
            time.sleep(0.05)
        diff.check("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        deadline = time.monotonic() + 5
        while diff.both("DBSIZE") != (b":0\r\n", b":0\r\n"):
            assert time.monotonic() < deadline, "the active cycle never expired the key"
            time.sleep(0.02)


def test_debug_change_repl_id(diff):
    before = diff.ours.call("INFO", "replication")
    diff.check("DEBUG", "CHANGE-REPL-ID")
    after = diff.ours.call("INFO", "replication")
    replid = re.compile(rb"master_replid:([0-9a-f]{40})\r\n")
    assert replid.search(before)[1] != replid.search(after)[1]
    assert b"master_replid2:0000000000000000000000000000000000000000\r\n" in after


# -- INFO ----------------------------------------------------------------------------------------


def info_sections(reply: bytes) -> dict[str, list[tuple[str, str]]]:
    text = bulk_text(reply).decode()
    out: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in text.split("\r\n"):
        if line.startswith("# "):
            current = line[2:]
            out[current] = []
        elif line:
            name, _, value = line.partition(":")
            out[current].append((name, value))  # type: ignore[index]
    return out


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("default",),
        ("all",),
        ("everything",),
        ("keyspace", "server"),
        ("KEYSPACE", "Cluster"),
        ("all", "commandstats"),
        ("default", "commandstats"),
        ("everything", "all"),
        ("server", "server"),
        ("default", "nosuch"),
    ],
    ids=lambda a: " ".join(a) or "no-args",
)
def test_info_sections_in_redis_order(diff, args):
    ours, theirs = diff.both("INFO", *args)
    assert ours[:1] == theirs[:1]  # '$' in RESP2, '=' (verbatim txt) in RESP3
    assert list(info_sections(ours)) == list(info_sections(theirs))


STATIC_SECTIONS = [
    "Server",
    "Clients",
    "Memory",
    "Persistence",
    "Stats",
    "Replication",
    "CPU",
    "Modules",
    "Cluster",
]


@pytest.mark.parametrize("section", STATIC_SECTIONS)
def test_info_field_names_and_order(diff, section):
    ours, theirs = diff.both("INFO", section)
    ours_names = [n for n, _ in info_sections(ours)[section] if n != "rcsim_version"]
    theirs_names = [n for n, _ in info_sections(theirs)[section]]
    assert ours_names == theirs_names


DETERMINISTIC = {
    "Server": [
        "redis_version",
        "redis_git_sha1",
        "redis_git_dirty",
        "redis_mode",
        "arch_bits",
        "hz",
        "configured_hz",
        "config_file",
        "io_threads_active",
        "process_supervised",
    ],
    "Clients": ["maxclients", "cluster_connections", "tracking_clients"],
    "Memory": ["maxmemory", "maxmemory_human", "maxmemory_policy", "mem_replication_backlog"],
    "Persistence": [
        "loading",
        "async_loading",
        "rdb_bgsave_in_progress",
        "rdb_last_bgsave_status",
        "aof_enabled",
        "aof_rewrite_in_progress",
        "aof_last_write_status",
    ],
    "Replication": [
        "role",
        "connected_slaves",
        "master_failover_state",
        "master_replid2",
        "master_repl_offset",
        "second_repl_offset",
        "repl_backlog_active",
        "repl_backlog_size",
        "repl_backlog_histlen",
    ],
    "Cluster": ["cluster_enabled"],
}


@pytest.mark.parametrize("section", list(DETERMINISTIC))
def test_info_deterministic_values(diff, section):
    ours, theirs = diff.both("INFO", section)
    ours_fields, theirs_fields = (
        dict(info_sections(ours)[section]),
        dict(info_sections(theirs)[section]),
    )
    for name in DETERMINISTIC[section]:
        assert ours_fields[name] == theirs_fields[name], name
    for fields in (ours_fields, theirs_fields):
        if section == "Server":
            assert re.fullmatch("[0-9a-f]{40}", fields["run_id"])
            assert int(fields["uptime_in_seconds"]) >= 0
        if section == "Replication":
            assert re.fullmatch("[0-9a-f]{40}", fields["master_replid"])


def test_info_keyspace(diff):
    diff.check("INFO", "keyspace")
    diff.check("SET", "a", "1")
    diff.check("SET", "b", "1", "PX", "100000")
    diff.check("SELECT", "2")
    diff.check("SET", "c", "1")
    diff.check("SELECT", "0")
    ours, theirs = diff.both("INFO", "keyspace")

    # Redis estimates avg_ttl by sampling; rcsim computes it: compare everything else.
    def normalise(reply: bytes) -> bytes:
        return re.sub(rb"avg_ttl=\d+", b"avg_ttl=T", bulk_text(reply))

    assert normalise(ours) == normalise(theirs)
    assert (
        b"db0:keys=2,expires=1,avg_ttl=" in ours and b"db2:keys=1,expires=0,avg_ttl=0\r\n" in ours
    )


def test_info_errorstats_and_commandstats_after_resetstat(diff):
    diff.check("CONFIG", "RESETSTAT")
    diff.check("INFO", "errorstats")
    diff.check("SET", "s", "x")
    diff.check("INCR", "s")
    diff.check("GET", "s")
    diff.check("NOSUCHCOMMAND")
    diff.check("CONFIG", "GET", "hz")
    diff.check("INFO", "errorstats")
    ours, theirs = diff.both("INFO", "commandstats")

    def strip(fields: list[tuple[str, str]]) -> dict[str, str]:
        return {n: re.sub(r"usec=\d+,usec_per_call=[\d.]+", "", v) for n, v in fields}

    assert strip(info_sections(ours)["Commandstats"]) == strip(
        info_sections(theirs)["Commandstats"]
    )
    ours, theirs = diff.both("INFO", "stats")
    ours_stats, theirs_stats = (
        dict(info_sections(ours)["Stats"]),
        dict(info_sections(theirs)["Stats"]),
    )
    for name in (
        "total_connections_received",
        "keyspace_hits",
        "keyspace_misses",
        "total_error_replies",
        "expired_keys",
        "rejected_connections",
    ):
        assert ours_stats[name] == theirs_stats[name], name


def test_info_latencystats_lists_called_commands(diff):
    diff.check("CONFIG", "RESETSTAT")
    diff.check("SET", "a", "1")
    ours, theirs = diff.both("INFO", "latencystats")
    ours_names = [n for n, _ in info_sections(ours)["Latencystats"]]
    theirs_names = [n for n, _ in info_sections(theirs)["Latencystats"]]
    assert sorted(ours_names) == sorted(theirs_names)
    for _, value in info_sections(ours)["Latencystats"]:
        assert re.fullmatch(r"p50=[\d.]+,p99=[\d.]+,p99\.9=[\d.]+", value)


# -- SLOWLOG -------------------------------------------------------------------------------------


def parse_resp(data: bytes) -> object:
    """A whole reply as Python values (bulk -> bytes, integer -> int, aggregates -> lists)."""
    value, rest = _parse(data)
    assert rest == b"", rest
    return value


def _parse(data: bytes) -> tuple[object, bytes]:
    line, _, rest = data.partition(b"\r\n")
    kind, body = line[:1], line[1:]
    if kind in (b"$", b"="):
        n = int(body)
        return (None, rest) if n < 0 else (rest[:n], rest[n + 2 :])
    if kind == b":":
        return int(body), rest
    if kind in (b"+", b"-"):
        return body, rest
    if kind in (b"*", b"~", b"%"):
        items = []
        for _ in range(int(body) * (2 if kind == b"%" else 1)):
            item, rest = _parse(rest)
            items.append(item)
        return items, rest
    raise AssertionError(f"unexpected reply {data[:20]!r}")


def slowlog_entries(reply: bytes) -> list[tuple[object, object]]:
    """(argument array, client name) of each entry; ids, times and addresses vary."""
    entries = parse_resp(reply)
    for entry in entries:  # type: ignore[attr-defined]
        assert len(entry) == 6 and all(isinstance(x, int) for x in entry[:3])
        assert re.fullmatch(rb"127\.0\.0\.1:\d+", entry[4])
    return [(entry[3], entry[5]) for entry in entries]  # type: ignore[attr-defined]


def test_slowlog_records_commands(diff):
    with restoring(
        diff,
        ("CONFIG", "SET", "slowlog-log-slower-than", "10000", "slowlog-max-len", "128"),
        ("SLOWLOG", "RESET"),
    ):
        diff.check("CONFIG", "SET", "slowlog-log-slower-than", "0")
        diff.check("SLOWLOG", "RESET")
        diff.check("SET", "foo", "bar")
        diff.check("CLIENT", "SETNAME", "slow-client")
        diff.check("GET", "foo")
        diff.check("SET", "big", "x" * 200)
        diff.check("SLOWLOG", "LEN")
        ours, theirs = diff.both("SLOWLOG", "GET")
        assert slowlog_entries(ours) == slowlog_entries(theirs)
        assert len(slowlog_entries(ours)) == 6  # RESET itself is logged, then the 5 others
        ours, theirs = diff.both("SLOWLOG", "GET", "2")
        assert slowlog_entries(ours) == slowlog_entries(theirs)
        ours, theirs = diff.both("SLOWLOG", "GET", "-1")
        assert slowlog_entries(ours) == slowlog_entries(theirs)
        diff.check("SLOWLOG", "GET", "0")
        diff.check("CONFIG", "SET", "slowlog-max-len", "2")
        diff.check("PING")
        diff.check("SLOWLOG", "LEN")
        diff.check("SLOWLOG", "RESET")
        diff.check("CONFIG", "SET", "slowlog-log-slower-than", "-1")
        diff.check("SLOWLOG", "LEN")


# -- LATENCY -------------------------------------------------------------------------------------


def test_latency_monitor(diff):
    with restoring(diff, ("CONFIG", "SET", "latency-monitor-threshold", "0"), ("LATENCY", "RESET")):
        diff.check("LATENCY", "RESET")
        diff.check("LATENCY", "LATEST")
        diff.check("LATENCY", "DOCTOR")
        diff.check("CONFIG", "SET", "latency-monitor-threshold", "10")
        diff.check("LATENCY", "DOCTOR")
        diff.check("DEBUG", "SLEEP", "0.02")
        latest = re.compile(rb"\*1\r\n\*4\r\n\$7\r\ncommand\r\n:(\d+)\r\n:(\d+)\r\n:(\d+)\r\n")
        ours, theirs = diff.both("LATENCY", "LATEST")
        for reply in (ours, theirs):
            match = latest.fullmatch(reply)
            assert match, reply
            assert 20 <= int(match[2]) <= 40 and match[2] == match[3]
            assert abs(int(match[1]) - time.time()) <= 2
        history = re.compile(rb"\*1\r\n\*2\r\n:\d+\r\n:\d+\r\n")
        ours, theirs = diff.both("LATENCY", "HISTORY", "command")
        assert history.fullmatch(ours) and history.fullmatch(theirs)
        ours, theirs = diff.both("LATENCY", "GRAPH", "command")
        assert ours[:1] == theirs[:1]
        for reply in (ours, theirs):
            text = bulk_text(reply).decode()
            assert re.match(
                r"command - high \d+ ms, low \d+ ms \(all time high \d+ ms\)\n-{80}\n \n \n \n_\n \n",
                text,
            )
        ours, theirs = diff.both("LATENCY", "DOCTOR")
        numbers = rb"\d+ms|\d+\.\d\d sec"
        assert re.sub(numbers, b"N", bulk_text(ours)) == re.sub(numbers, b"N", bulk_text(theirs))
        diff.check("LATENCY", "RESET", "COMMAND", "nosuch")
        diff.check("LATENCY", "LATEST")


# -- MONITOR -------------------------------------------------------------------------------------

MONITOR_TRAFFIC = (
    b'SET a "x\\x01\\"y\\n"\r\nSELECT 3\r\nGET b\r\nAUTH foo\r\nAUTH a b c\r\n'
    b"HELLO 3 AUTH default x\r\nMULTI\r\nSET x 1\r\nEXEC\r\nSELECT 0\r\n"
    b"CONFIG GET maxmemory\r\nDEBUG SLEEP 0\r\nPING\r\nCLIENT SETNAME foo\r\nNOSUCH\r\nGET\r\nQUIT\r\n"
)


def monitor_transcript(port: int, resp3: bool) -> bytes:
    with RawClient(port) as monitor, RawClient(port) as other:
        if resp3:
            monitor.call("HELLO", "3")
        assert monitor.call("MONITOR") == b"+OK\r\n"
        other.send(MONITOR_TRAFFIC)
        other.read_available(0.3)
        monitor.send(encode_command("PING"))
        seen = monitor.read_available(0.3)
    return re.sub(rb"\+\d{10}\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\]", rb"+T [\1 ADDR]", seen)


def test_monitor_lines_match_redis(diff):
    ours = monitor_transcript(diff.ours_port, diff.protocol == 3)
    theirs = monitor_transcript(diff.theirs_port, diff.protocol == 3)
    assert ours == theirs
    assert b'+T [3 ADDR] "AUTH" "(redacted)"\r\n' in ours
    assert b"CONFIG" not in ours  # admin commands are never shown


def test_monitor_twice_answers_once(diff):
    diff.check_raw(b"MONITOR\r\nMONITOR\r\n")
