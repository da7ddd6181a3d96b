"""List commands: rcsim answers byte for byte as redis-server 7.0.15, in RESP2 and RESP3.

Scenarios are command sequences run on both servers after FLUSHALL: every command, option and
error (argument errors in Redis's order, WRONGTYPE against a string), the generic commands on
lists (TYPE, OBJECT ENCODING, COPY, RENAME, MOVE, SCAN TYPE, DUMP/RESTORE, DEBUG DIGEST-VALUE)
and seeded random histories whose DUMP payloads must match, which checks the quicklist node
layout model. Blocking behaviour across connections is in ``test_blocking.py``.
"""

from __future__ import annotations

import random
import re

import pytest

LLONG_MAX = str(2**63 - 1)
LLONG_MIN = str(-(2**63))
WRONGTYPE = ("SET", "s", "string")

SCENARIOS: dict[str, list[tuple]] = {
    "push-and-range": [
        ("LPUSH", "l", "a"),
        ("LPUSH", "l", "b", "c"),
        ("RPUSH", "l", "d", "e", "f"),
        ("LRANGE", "l", "0", "-1"),
        ("LLEN", "l"),
        ("RPUSH", "l", "", "12", "-7", "007", b"\x00\xff\r\n"),
        ("LRANGE", "l", "0", "-1"),
        ("LLEN", "nokey"),
        ("TYPE", "l"),
        ("OBJECT", "ENCODING", "l"),
    ],
    "pushx": [
        ("LPUSHX", "l", "a"),
        ("RPUSHX", "l", "a", "b"),
        ("EXISTS", "l"),
        ("RPUSH", "l", "x"),
        ("LPUSHX", "l", "a", "b"),
        ("RPUSHX", "l", "y", "z"),
        ("LRANGE", "l", "0", "-1"),
    ],
    "lrange-indexes": [
        ("RPUSH", "l", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"),
        ("LRANGE", "l", "0", "0"),
        ("LRANGE", "l", "-3", "-1"),
        ("LRANGE", "l", "-100", "100"),
        ("LRANGE", "l", "5", "2"),
        ("LRANGE", "l", "10", "20"),
        ("LRANGE", "l", "-1", "-2"),
        ("LRANGE", "l", "2", "-8"),
        ("LRANGE", "l", LLONG_MIN, LLONG_MAX),
        ("LRANGE", "l", "x", "1"),
        ("LRANGE", "l", "1", "x"),
        ("LRANGE", "nokey", "x", "1"),
        ("LRANGE", "nokey", "0", "-1"),
        ("LRANGE", "l", "1.5", "2"),
        ("LRANGE", "l", LLONG_MAX + "0", "2"),
    ],
    "lindex": [
        ("RPUSH", "l", "a", "b", "c"),
        ("LINDEX", "l", "0"),
        ("LINDEX", "l", "-1"),
        ("LINDEX", "l", "-3"),
        ("LINDEX", "l", "-4"),
        ("LINDEX", "l", "3"),
        ("LINDEX", "l", "x"),
        ("LINDEX", "nokey", "x"),
        ("LINDEX", "nokey", "0"),
        ("LINDEX", "l", LLONG_MIN),
    ],
    "lset": [
        ("LSET", "nokey", "0", "x"),
        ("LSET", "nokey", "x", "x"),
        ("RPUSH", "l", "a", "b", "c"),
        ("LSET", "l", "0", "A"),
        ("LSET", "l", "-1", "C"),
        ("LSET", "l", "3", "x"),
        ("LSET", "l", "-4", "x"),
        ("LSET", "l", "x", "x"),
        ("LSET", "l", "1", "12345"),
        ("LRANGE", "l", "0", "-1"),
    ],
    "pop": [
        ("LPOP", "nokey"),
        ("RPOP", "nokey"),
        ("LPOP", "nokey", "2"),
        ("LPOP", "nokey", "0"),
        ("LPOP", "nokey", "-1"),
        ("LPOP", "nokey", "x"),
        ("LPOP", "nokey", "1", "2"),
        ("RPOP", "nokey", "1", "2"),
        ("RPUSH", "l", "a", "b", "c", "d", "e"),
        ("LPOP", "l"),
        ("RPOP", "l"),
        ("LPOP", "l", "0"),
        ("LPOP", "l", "-1"),
        ("LPOP", "l", "1"),
        ("RPOP", "l", "1"),
        ("RPUSH", "l", "f", "g"),
        ("RPOP", "l", "2"),
        ("LPOP", "l", "10"),
        ("EXISTS", "l"),
        ("RPUSH", "l", "last"),
        ("RPOP", "l"),
        ("EXISTS", "l"),
        ("RPUSH", "l", "a"),
        ("LPOP", "l", LLONG_MAX),
        ("EXISTS", "l"),
    ],
    "linsert": [
        ("LINSERT", "nokey", "BEFORE", "a", "x"),
        ("LINSERT", "nokey", "middle", "a", "x"),
        ("RPUSH", "l", "a", "b", "c", "b"),
        ("LINSERT", "l", "BEFORE", "b", "x"),
        ("LINSERT", "l", "after", "b", "y"),
        ("LINSERT", "l", "AfTeR", "c", "z"),
        ("LINSERT", "l", "before", "a", "first"),
        ("LINSERT", "l", "after", "b", "after-b"),
        ("LINSERT", "l", "before", "missing", "x"),
        ("LINSERT", "l", "middle", "a", "x"),
        ("LRANGE", "l", "0", "-1"),
    ],
    "lrem": [
        ("LREM", "nokey", "0", "a"),
        ("LREM", "nokey", "x", "a"),
        ("RPUSH", "l", "a", "b", "a", "c", "a", "b", "a"),
        ("LREM", "l", "x", "a"),
        ("LREM", "l", "1", "a"),
        ("LRANGE", "l", "0", "-1"),
        ("LREM", "l", "-2", "a"),
        ("LRANGE", "l", "0", "-1"),
        ("LREM", "l", "0", "b"),
        ("LRANGE", "l", "0", "-1"),
        ("LREM", "l", "5", "zzz"),
        ("LREM", "l", LLONG_MIN, "c"),
        ("LREM", "l", "0", "a"),
        ("EXISTS", "l"),
    ],
    "ltrim": [
        ("LTRIM", "nokey", "0", "1"),
        ("LTRIM", "nokey", "x", "1"),
        ("RPUSH", "l", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"),
        ("LTRIM", "l", "x", "1"),
        ("LTRIM", "l", "1", "x"),
        ("LTRIM", "l", "1", "-2"),
        ("LRANGE", "l", "0", "-1"),
        ("LTRIM", "l", "-3", "100"),
        ("LRANGE", "l", "0", "-1"),
        ("LTRIM", "l", "0", "-1"),
        ("LRANGE", "l", "0", "-1"),
        ("LTRIM", "l", "2", "1"),
        ("EXISTS", "l"),
        ("RPUSH", "l", "a", "b"),
        ("LTRIM", "l", "5", "10"),
        ("EXISTS", "l"),
    ],
    "lpos": [
        ("LPOS", "nokey", "a"),
        ("LPOS", "nokey", "a", "COUNT", "1"),
        ("LPOS", "nokey", "a", "RANK", "0"),
        ("RPUSH", "l", "a", "b", "c", "a", "b", "c", "a", "12", "12"),
        ("LPOS", "l", "a"),
        ("LPOS", "l", "c"),
        ("LPOS", "l", "12"),
        ("LPOS", "l", "zzz"),
        ("LPOS", "l", "zzz", "COUNT", "0"),
        ("LPOS", "l", "a", "RANK", "2"),
        ("LPOS", "l", "a", "RANK", "-1"),
        ("LPOS", "l", "a", "RANK", "-2"),
        ("LPOS", "l", "a", "RANK", "4"),
        ("LPOS", "l", "a", "RANK", "-9223372036854775807"),
        ("LPOS", "l", "a", "RANK", LLONG_MIN),
        ("LPOS", "l", "a", "RANK", LLONG_MIN, "COUNT", "1"),
        ("LPOS", "l", "a", "RANK", LLONG_MIN, "COUNT", "1", "MAXLEN", "1"),
        ("LPOS", "l", "a", "COUNT", "0"),
        ("LPOS", "l", "a", "COUNT", "2"),
        ("LPOS", "l", "a", "COUNT", "2", "RANK", "2"),
        ("LPOS", "l", "a", "COUNT", "0", "RANK", "-1"),
        ("LPOS", "l", "a", "COUNT", "0", "MAXLEN", "4"),
        ("LPOS", "l", "a", "RANK", "-1", "MAXLEN", "2"),
        ("LPOS", "l", "a", "rank", "1", "count", "1", "maxlen", "1"),
        ("LPOS", "l", "b", "MAXLEN", "1"),
        ("LPOS", "l", "a", "RANK", "0"),
        ("LPOS", "l", "a", "RANK", "x"),
        ("LPOS", "l", "a", "COUNT", "-1"),
        ("LPOS", "l", "a", "COUNT", "x"),
        ("LPOS", "l", "a", "MAXLEN", "-1"),
        ("LPOS", "l", "a", "MAXLEN", "x"),
        ("LPOS", "l", "a", "FIRST", "1"),
        ("LPOS", "l", "a", "RANK"),
        ("LPOS", "l", "a", "COUNT", "1", "COUNT"),
        ("LPOS", "l", "a", "COUNT", "1", "COUNT", "2"),
    ],
    "lmove-rpoplpush": [
        ("LMOVE", "nokey", "d", "LEFT", "RIGHT"),
        ("LMOVE", "nokey", "d", "LEFT", "MIDDLE"),
        ("LMOVE", "nokey", "d", "UP", "RIGHT"),
        ("RPOPLPUSH", "nokey", "d"),
        ("RPUSH", "s", "a", "b", "c"),
        ("LMOVE", "s", "d", "LEFT", "RIGHT"),
        ("LMOVE", "s", "d", "right", "left"),
        ("LMOVE", "s", "d", "left", "left"),
        ("LRANGE", "d", "0", "-1"),
        ("EXISTS", "s"),
        ("RPOPLPUSH", "d", "d"),
        ("LRANGE", "d", "0", "-1"),
        ("LMOVE", "d", "d", "LEFT", "RIGHT"),
        ("LRANGE", "d", "0", "-1"),
        ("RPUSH", "one", "x"),
        ("LMOVE", "one", "one", "LEFT", "LEFT"),
        ("LRANGE", "one", "0", "-1"),
        ("RPOPLPUSH", "one", "other"),
        ("EXISTS", "one"),
        ("LRANGE", "other", "0", "-1"),
    ],
    "lmpop": [
        ("LMPOP", "1", "nokey", "LEFT"),
        ("LMPOP", "0", "l", "LEFT"),
        ("LMPOP", "-1", "l", "LEFT"),
        ("LMPOP", "x", "l", "LEFT"),
        ("LMPOP", LLONG_MAX, "l", "LEFT"),
        ("LMPOP", LLONG_MAX + "0", "l", "LEFT"),
        ("LMPOP", "2", "l", "LEFT"),
        ("LMPOP", "1", "l", "MIDDLE"),
        ("LMPOP", "1", "l", "LEFT", "COUNT"),
        ("LMPOP", "1", "l", "LEFT", "COUNT", "0"),
        ("LMPOP", "1", "l", "LEFT", "COUNT", "-1"),
        ("LMPOP", "1", "l", "LEFT", "COUNT", "x"),
        ("LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "1"),
        ("LMPOP", "1", "l", "LEFT", "foo"),
        ("RPUSH", "l2", "a", "b", "c", "d"),
        ("LMPOP", "2", "l1", "l2", "LEFT"),
        ("LMPOP", "2", "l1", "l2", "right", "count", "2"),
        ("LMPOP", "2", "l1", "l2", "LEFT", "COUNT", "10"),
        ("EXISTS", "l2"),
        ("RPUSH", "l1", "x"),
        ("RPUSH", "l2", "y"),
        ("LMPOP", "2", "l1", "l2", "LEFT"),
        ("LMPOP", "2", "l1", "l2", "LEFT"),
        ("LMPOP", "2", "l1", "l2", "LEFT"),
    ],
    "blocking-with-data": [
        ("RPUSH", "l", "a", "b", "c", "d", "e", "f"),
        ("BLPOP", "nokey", "l", "0"),
        ("BRPOP", "l", "nokey", "0"),
        ("BLMOVE", "l", "d", "LEFT", "RIGHT", "0"),
        ("BRPOPLPUSH", "l", "d", "0"),
        ("BLMPOP", "0", "2", "nokey", "l", "LEFT", "COUNT", "5"),
        ("LRANGE", "d", "0", "-1"),
        ("EXISTS", "l"),
        ("BLMPOP", "0", "1", "d", "RIGHT"),
    ],
    "blocking-argument-errors": [
        ("RPUSH", "l", "a"),
        ("BLPOP", "l", "x"),
        ("BLPOP", "l", "-1"),
        ("BLPOP", "l", "inf"),
        ("BLPOP", "l", "nan"),
        ("BLPOP", "l", ""),
        ("BLPOP", "l", " 1"),
        ("BLPOP", "l", "1e20"),
        ("BLPOP", "l", "-0.002"),
        ("BLPOP", "l", "1_0"),
        ("BRPOP", "l", "x"),
        ("BLMOVE", "l", "d", "LEFT", "MIDDLE", "0"),
        ("BLMOVE", "l", "d", "LEFT", "LEFT", "x"),
        ("BLMOVE", "l", "d", "UP", "LEFT", "x"),
        ("BRPOPLPUSH", "l", "d", "x"),
        ("BRPOPLPUSH", "l", "d", "-1"),
        ("BLMPOP", "x", "1", "l", "LEFT"),
        ("BLMPOP", "-1", "1", "l", "LEFT"),
        ("BLMPOP", "x", "0", "l", "LEFT"),
        ("BLMPOP", "x", "1", "l", "MIDDLE"),
        ("BLMPOP", "x", "1", "l", "LEFT", "COUNT", "0"),
        ("BLMPOP", "0", "2", "l", "LEFT"),
        ("LLEN", "l"),
        # Accepted timeouts (the list has data, so nothing blocks).
        ("BLPOP", "l", "0x10"),
        ("RPUSH", "l", "a"),
        ("BLPOP", "l", "-0.0005"),
        ("RPUSH", "l", "a"),
        ("BLPOP", "l", "1e-400"),
        ("RPUSH", "l", "a"),
        ("BLPOP", "l", "9223372036854775"),
    ],
    "blocking-timeouts": [
        ("BLPOP", "nokey", "0.01"),
        ("BRPOP", "nokey", "other", "0.01"),
        ("BLMOVE", "nokey", "d", "LEFT", "RIGHT", "0.01"),
        ("BRPOPLPUSH", "nokey", "d", "0.01"),
        ("BLMPOP", "0.01", "1", "nokey", "LEFT"),
        ("BLPOP", "nokey", "0.0001"),
        ("EXISTS", "d"),
    ],
    "blocking-in-multi": [
        ("MULTI",),
        ("BLPOP", "nokey", "0"),
        ("BRPOP", "nokey", "0"),
        ("BLMOVE", "nokey", "d", "LEFT", "RIGHT", "0"),
        ("BRPOPLPUSH", "nokey", "d", "0"),
        ("BLMPOP", "0", "1", "nokey", "LEFT"),
        ("RPUSH", "l", "a", "b"),
        ("BLPOP", "l", "0"),
        ("BLMOVE", "l", "d", "LEFT", "RIGHT", "0"),
        ("BLPOP", "l", "0"),
        ("EXEC",),
    ],
    "wrongtype": [
        WRONGTYPE,
        ("RPUSH", "l", "a"),
        ("LPUSH", "s", "a"),
        ("RPUSH", "s", "a"),
        ("LPUSHX", "s", "a"),
        ("RPUSHX", "s", "a"),
        ("LPOP", "s"),
        ("RPOP", "s", "2"),
        ("LPOP", "s", "0"),
        ("LPOP", "s", "x"),
        ("LLEN", "s"),
        ("LRANGE", "s", "0", "-1"),
        ("LRANGE", "s", "x", "-1"),
        ("LINDEX", "s", "0"),
        ("LINDEX", "s", "x"),
        ("LSET", "s", "0", "x"),
        ("LSET", "s", "x", "x"),
        ("LINSERT", "s", "BEFORE", "a", "x"),
        ("LINSERT", "s", "middle", "a", "x"),
        ("LREM", "s", "0", "a"),
        ("LREM", "s", "x", "a"),
        ("LTRIM", "s", "0", "1"),
        ("LPOS", "s", "a"),
        ("LPOS", "s", "a", "RANK", "0"),
        ("LMOVE", "s", "l", "LEFT", "RIGHT"),
        ("LMOVE", "l", "s", "LEFT", "RIGHT"),
        ("LMOVE", "nokey", "s", "LEFT", "RIGHT"),
        ("RPOPLPUSH", "l", "s"),
        ("LRANGE", "l", "0", "-1"),
        ("LMPOP", "2", "nokey", "s", "LEFT"),
        ("LMPOP", "2", "l", "s", "LEFT"),
        ("RPUSH", "l", "a"),
        ("BLPOP", "s", "0"),
        ("BLPOP", "nokey", "s", "0"),
        ("BLPOP", "l", "s", "0"),
        ("BRPOP", "s", "l", "0"),
        ("BLMOVE", "s", "l", "LEFT", "LEFT", "0"),
        ("RPUSH", "l", "a"),
        ("BLMOVE", "l", "s", "LEFT", "LEFT", "0"),
        ("LLEN", "l"),
        ("BLMOVE", "nokey", "s", "LEFT", "LEFT", "0.01"),
        ("BRPOPLPUSH", "s", "l", "0"),
        ("BLMPOP", "0", "2", "nokey", "s", "LEFT"),
        ("BRPOP", "s", "x"),
    ],
    "arity": [
        ("LPUSH", "l"),
        ("RPUSH", "l"),
        ("LPUSHX", "l"),
        ("LPOP",),
        ("LLEN",),
        ("LRANGE", "l", "0"),
        ("LINDEX", "l"),
        ("LSET", "l", "0"),
        ("LINSERT", "l", "BEFORE", "a"),
        ("LREM", "l", "0"),
        ("LTRIM", "l", "0"),
        ("LPOS", "l"),
        ("LMOVE", "a", "b", "LEFT"),
        ("RPOPLPUSH", "a"),
        ("LMPOP", "1", "l"),
        ("BLPOP", "l"),
        ("BRPOP", "l"),
        ("BLMOVE", "a", "b", "LEFT", "LEFT"),
        ("BRPOPLPUSH", "a", "b"),
        ("BLMPOP", "0", "1", "l"),
    ],
    "integers-and-binary": [
        ("RPUSH", "l", "0", "-0", "127", "128", "-4096", "4095", "-4097", "32767", "32768"),
        ("RPUSH", "l", "8388607", "8388608", "2147483647", "2147483648", LLONG_MAX, LLONG_MIN),
        ("RPUSH", "l", "9223372036854775808", "+1", "01", " 1", "1.0", "1e3"),
        ("LRANGE", "l", "0", "-1"),
        ("LPOS", "l", "-0"),
        ("LREM", "l", "0", "0"),
        ("LINSERT", "l", "AFTER", LLONG_MIN, "after-min"),
        ("LRANGE", "l", "0", "-1"),
        ("DEBUG", "DIGEST-VALUE", "l"),
    ],
    "watch": [
        ("RPUSH", "l", "a", "b"),
        ("WATCH", "l"),
        ("LREM", "l", "0", "zz"),
        ("MULTI",),
        ("PING",),
        ("EXEC",),
        ("WATCH", "l"),
        ("LINSERT", "l", "BEFORE", "zz", "x"),
        ("MULTI",),
        ("PING",),
        ("EXEC",),
        ("WATCH", "l"),
        ("LTRIM", "l", "0", "-1"),
        ("MULTI",),
        ("PING",),
        ("EXEC",),
        ("WATCH", "l"),
        ("LSET", "l", "0", "a"),
        ("MULTI",),
        ("PING",),
        ("EXEC",),
        ("WATCH", "l"),
        ("LPUSHX", "nokey", "a"),
        ("MULTI",),
        ("PING",),
        ("EXEC",),
        ("WATCH", "l"),
        ("RPOPLPUSH", "l", "l"),
        ("MULTI",),
        ("PING",),
        ("EXEC",),
        ("WATCH", "l"),
        ("LPOP", "l", "0"),
        ("MULTI",),
        ("PING",),
        ("EXEC",),
    ],
    "generic-commands": [
        ("RPUSH", "l", "a", "b", "1", "2"),
        ("TYPE", "l"),
        ("OBJECT", "ENCODING", "l"),
        ("COPY", "l", "c"),
        ("LRANGE", "c", "0", "-1"),
        ("RPUSH", "c", "more"),
        ("LRANGE", "l", "0", "-1"),
        ("RENAME", "c", "r"),
        ("LRANGE", "r", "0", "-1"),
        ("MOVE", "r", "1"),
        ("EXISTS", "r"),
        ("SELECT", "1"),
        ("LRANGE", "r", "0", "-1"),
        ("FLUSHDB",),
        ("SELECT", "0"),
        ("DEBUG", "DIGEST-VALUE", "l"),
        ("EXPIRE", "l", "100"),
        ("DEBUG", "DIGEST-VALUE", "l"),
        ("DUMP", "l"),
    ],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(diff, name):
    diff.check_all(*SCENARIOS[name])


def test_scan_type_lists_only_lists(diff):
    """SCAN TYPE list finds the lists and nothing else (cursors differ: rcsim's are slots)."""
    diff.check("RPUSH", "l1", "a")
    diff.check("RPUSH", "l2", "a")
    diff.check("SET", "s", "v")
    found = []
    for client in (diff.ours, diff.theirs):
        cursor, keys = b"0", set()
        while True:
            reply = _bulk_strings(client.call("SCAN", cursor, "TYPE", "list", "COUNT", "1000"))
            cursor, batch = reply[0], reply[1:]
            keys.update(batch)
            if cursor == b"0":
                break
        found.append(keys)
    assert found[0] == found[1] == {b"l1", b"l2"}


def _bulk_strings(raw: bytes) -> list[bytes]:
    lines = raw.split(b"\r\n")
    return [lines[i + 1] for i, line in enumerate(lines) if line.startswith(b"$")]


# -- DUMP / RESTORE --------------------------------------------------------------------------


def test_dump_restore_round_trips(diff):
    """Byte-identical DUMP; each server RESTOREs the other's payload."""
    diff.check("RPUSH", "l", "a", "12", "-5000", "x" * 70, "y" * 5000, LLONG_MIN, "")
    diff.check("RPUSH", "big", *[f"element-{i}" for i in range(2000)])
    for key in ("l", "big"):
        payload = _bulk(diff.check("DUMP", key))
        assert diff.ours.call("RESTORE", key + "2", "0", payload) == b"+OK\r\n"
        assert diff.theirs.call("RESTORE", key + "2", "0", payload) == b"+OK\r\n"
        diff.check("LRANGE", key + "2", "0", "-1")
        diff.check("DUMP", key + "2")
        diff.check("OBJECT", "ENCODING", key + "2")
    diff.check("RESTORE", "l", "0", _bulk(diff.check("DUMP", "big")))
    diff.check("RESTORE", "l", "0", _bulk(diff.check("DUMP", "big")), "REPLACE")
    diff.check("LLEN", "l")


def test_restore_bad_payloads(diff):
    diff.check("RPUSH", "l", "a", "b")
    payload = _bulk(diff.check("DUMP", "l"))
    diff.check("RESTORE", "r", "0", payload[:-1] + bytes([payload[-1] ^ 1]))  # checksum
    diff.check("RESTORE", "r", "0", payload[:5])
    diff.check("RESTORE", "r", "0", _payload(b"\x12\x00"))  # no node at all
    diff.check("RESTORE", "r", "0", _payload(b"\x12\x01\x03\x01a"))  # unknown container
    empty_listpack = b"\x07\x00\x00\x00\x00\x00\xff"
    diff.check("RESTORE", "r", "0", _payload(b"\x12\x01\x02\x07" + empty_listpack))
    diff.check("EXISTS", "r")


def _ziplist(*entries: bytes) -> bytes:
    """A ziplist of short strings (RDB types 10 and 14, written by Redis before 7.0)."""
    body, previous, offsets = b"", 0, []
    for entry in entries:
        offsets.append(10 + len(body))
        encoded = bytes((previous,)) + bytes((len(entry),)) + entry
        body += encoded
        previous = len(encoded)
    total = 10 + len(body) + 1
    header = total.to_bytes(4, "little") + offsets[-1].to_bytes(4, "little")
    return header + len(entries).to_bytes(2, "little") + body + b"\xff"


@pytest.mark.parametrize(
    "body",
    [
        b"\x01\x03\x01a\x01b\xc0\x07",  # RDB_TYPE_LIST: a linked list of strings
        b"\x0a" + bytes((17,)) + _ziplist(b"a", b"b"),  # RDB_TYPE_LIST_ZIPLIST
        b"\x0e\x02" + bytes((17,)) + _ziplist(b"a", b"b") + bytes((14,)) + _ziplist(b"c"),
    ],
    ids=["linked-list", "ziplist", "quicklist-v1"],
)
def test_restore_older_encodings(diff, body):
    """Payloads from Redis before 7.0 load as lists; DUMP then writes quicklist v2."""
    payload = _payload(body)
    diff.check("RESTORE", "r", "0", payload)
    diff.check("LRANGE", "r", "0", "-1")
    diff.check("DUMP", "r")
    diff.check("RPUSH", "r", "z")
    diff.check("DUMP", "r")


def _payload(body: bytes, version: int = 9) -> bytes:
    """A DUMP payload: ``body``, an RDB version and the CRC-64 footer."""
    from node.rdb import crc64

    data = body + version.to_bytes(2, "little")
    return data + crc64(data).to_bytes(8, "little")


def _bulk(raw: bytes) -> bytes:
    header, _, rest = raw.partition(b"\r\n")
    length = int(header[1:])
    return rest[:length]


# -- list-max-listpack-size and list-compress-depth --------------------------------------------


@pytest.fixture
def list_config(diff):
    """Restores the list settings the test changes, on both shared servers."""
    yield diff
    for name, default in (("list-max-listpack-size", "-2"), ("list-compress-depth", "0")):
        diff.check("CONFIG", "SET", name, default)


@pytest.mark.parametrize("fill", ["-1", "-5", "0", "1", "3", "-9", "40000"])
def test_listpack_size_shapes_nodes(list_config, fill):
    """Node layouts (seen through DUMP) follow list-max-listpack-size, read when a list is
    created: changing it later does not reshape existing lists."""
    diff = list_config
    diff.check("RPUSH", "before", *[f"v{i}" * 20 for i in range(300)])
    diff.check("CONFIG", "SET", "list-max-ziplist-size", fill)
    diff.check("CONFIG", "GET", "list-max-listpack-size")
    diff.check("RPUSH", "after", *[f"v{i}" * 20 for i in range(300)])
    diff.check("LPUSH", "after", *[str(i) for i in range(50)])
    diff.check("RPUSH", "before", "one", "more")
    diff.check("OBJECT", "ENCODING", "after")
    diff.check("DUMP", "before")
    diff.check("DUMP", "after")


@pytest.mark.parametrize("depth", ["1", "2"])
def test_compress_depth_dumps_compressed_nodes(list_config, depth):
    diff = list_config
    diff.check("CONFIG", "SET", "list-compress-depth", depth)
    diff.check("RPUSH", "l", *[f"value-{i % 7}" * 30 for i in range(400)])
    diff.check("LPUSH", "l", *[f"{i}" for i in range(100)])
    diff.check("DUMP", "l")
    diff.check("CONFIG", "SET", "rdbcompression", "no")
    try:
        diff.check("DUMP", "l")
    finally:
        diff.check("CONFIG", "SET", "rdbcompression", "yes")


# -- seeded random histories: replies and DUMP payloads ----------------------------------------


def _element(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.3:
        return str(rng.randint(-(10 ** rng.randint(0, 19)), 10 ** rng.randint(0, 19)))
    if kind < 0.35:
        return "x" * rng.randint(0, 5000)
    return "".join(rng.choice("abcdefgh") for _ in range(rng.choice([1, 5, 30, 63, 64, 300])))


def _random_command(rng: random.Random, length: int) -> tuple:
    op = rng.random()
    if op < 0.3 or not length:
        return ("RPUSH", "k", *[_element(rng) for _ in range(rng.randint(1, 20))])
    if op < 0.5:
        return ("LPUSH", "k", *[_element(rng) for _ in range(rng.randint(1, 20))])
    index = str(rng.randrange(-length, length))
    choices = [
        ("LPOP", "k", str(rng.randint(1, 30))),
        ("RPOP", "k", str(rng.randint(1, 30))),
        ("LINSERT", "k", rng.choice(["BEFORE", "AFTER"]), ("LINDEX", "k", index), _element(rng)),
        ("LINSERT", "k", rng.choice(["BEFORE", "AFTER"]), ("LINDEX", "k", index), _element(rng)),
        ("LSET", "k", index, _element(rng)),
        ("LREM", "k", str(rng.randint(-3, 3)), ("LINDEX", "k", index)),
        ("LTRIM", "k", str(rng.randint(-length, length)), str(rng.randint(-length, length))),
        ("LMOVE", "k", "k", rng.choice(["LEFT", "RIGHT"]), rng.choice(["LEFT", "RIGHT"])),
        (
            "LPOS",
            "k",
            ("LINDEX", "k", index),
            "RANK",
            str(rng.choice([-2, -1, 1, 2])),
            "COUNT",
            "0",
        ),
    ]
    return rng.choice(choices)


@pytest.mark.parametrize("seed", range(4))
def test_random_histories_dump_identically(diff, seed):
    """Random pushes, pops, inserts (node splits and merges), LSET, LREM, LTRIM: the same
    replies, and the same DUMP (so the same quicklist nodes) after every step."""
    rng = random.Random(seed)
    length = 0
    for _ in range(120 if diff.protocol == 2 else 40):
        command = _random_command(rng, length)
        resolved = []
        for arg in command:
            if isinstance(arg, tuple):  # an element of the list, read from the oracle
                arg = _bulk(diff.theirs.call(*arg))
            resolved.append(arg)
        diff.check(*resolved)
        diff.check("DUMP", "k")
        length = int(diff.check("LLEN", "k")[1:-2])


def test_keyspace_hits_and_misses(diff):
    """Reads (LLEN, LRANGE, LINDEX, LPOS) count hits and misses; writes and blocking pops do
    not (``lookupKeyRead`` vs ``lookupKeyWrite``)."""
    diff.check("RPUSH", "l", "a", "b")
    diff.check("SET", "s", "v")
    commands = [
        ("LLEN", "l"),
        ("LLEN", "nokey"),
        ("LRANGE", "l", "0", "-1"),
        ("LRANGE", "nokey", "0", "-1"),
        ("LINDEX", "l", "0"),
        ("LINDEX", "nokey", "0"),
        ("LPOS", "l", "a"),
        ("LPOS", "nokey", "a"),
        ("LLEN", "s"),
        ("LPUSH", "l", "c"),
        ("LPUSHX", "nokey", "c"),
        ("LPOP", "nokey"),
        ("RPOP", "l"),
        ("LSET", "l", "0", "x"),
        ("LREM", "l", "0", "zz"),
        ("LTRIM", "l", "0", "-1"),
        ("LINSERT", "l", "BEFORE", "x", "y"),
        ("LMOVE", "l", "l2", "LEFT", "LEFT"),
        ("LMPOP", "2", "nokey", "l", "LEFT"),
        ("BLPOP", "nokey", "l", "0"),
        ("BLMOVE", "l2", "l3", "LEFT", "LEFT", "0"),
    ]
    before = [_hits_misses(client) for client in (diff.ours, diff.theirs)]
    for command in commands:
        diff.check(*command)
    after = [_hits_misses(client) for client in (diff.ours, diff.theirs)]
    ours = [a - b for a, b in zip(after[0], before[0], strict=True)]
    theirs = [a - b for a, b in zip(after[1], before[1], strict=True)]
    assert ours == theirs


def _hits_misses(client) -> tuple[int, int]:
    info = client.call("INFO", "stats")
    hits = int(re.search(rb"keyspace_hits:(\d+)", info).group(1))  # type: ignore[union-attr]
    misses = int(re.search(rb"keyspace_misses:(\d+)", info).group(1))  # type: ignore[union-attr]
    return hits, misses
