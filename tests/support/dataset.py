"""A whole dataset as comparable Python values, read through commands, for tests that check two
servers (or a server and a loaded RDB) hold the same data: every key of every database with its
type, encoding (but a string's), value (unordered types sorted) and absolute expiry (PEXPIRETIME)."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.resp import pairs, parse

Call = Callable[..., bytes]  # (*args) -> the raw RESP2 reply


def _value(call: Call, kind: bytes, key: bytes) -> object:
    if kind == b"string":
        return parse(call("GET", key))
    if kind == b"list":
        return parse(call("LRANGE", key, 0, -1))
    if kind == b"set":
        return sorted(parse(call("SMEMBERS", key)))  # type: ignore[arg-type]
    if kind == b"zset":
        return parse(call("ZRANGE", key, 0, -1, "WITHSCORES"))
    if kind == b"hash":
        return pairs(parse(call("HGETALL", key)))  # type: ignore[arg-type]
    return parse(call("DUMP", key))


def dataset(call: Call, databases: int = 16) -> dict[tuple[int, bytes], tuple]:
    """``{(db, key): (type, encoding, value, pexpiretime)}``; leaves db 0 selected."""
    out: dict[tuple[int, bytes], tuple] = {}
    for db in range(databases):
        call("SELECT", db)
        for key in parse(call("KEYS", "*")):  # type: ignore[union-attr]
            kind = parse(call("TYPE", key))
            out[(db, key)] = (
                kind,
                # A string's int/embstr/raw depends on how it was written (a loaded or
                # replicated one is embstr where the original was raw), even in Redis.
                None if kind == b"string" else parse(call("OBJECT", "ENCODING", key)),
                _value(call, kind, key),  # type: ignore[arg-type]
                parse(call("PEXPIRETIME", key)),
            )
    call("SELECT", 0)
    return out
