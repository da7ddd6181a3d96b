"""Helpers shared by command handlers: typed key access and Redis's argument parsing rules."""

from __future__ import annotations

import math

from node.protocol.errors import INVALID_CURSOR, RespError, WrongTypeError, not_float, not_integer
from node.protocol.resp import parse_long_long
from node.session import Session

LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)


def is_string(value: object) -> bool:
    t = type(value)
    return t is bytes or t is bytearray


def read_string(ctx: Session, key: bytes) -> bytes | bytearray | None:
    """The string at ``key`` (None if missing), WRONGTYPE for another type; counts hits/misses."""
    value = ctx.db.lookup(key, ctx.node.now_ms)  # also records the access (OBJECT IDLETIME)
    stats = ctx.node.stats
    if value is None:
        stats.keyspace_misses += 1
        return None
    stats.keyspace_hits += 1
    t = type(value)
    if t is bytes or t is bytearray:
        return value  # type: ignore[return-value]
    raise WrongTypeError()


def lookup_write(ctx: Session, key: bytes) -> object | None:
    """The value at ``key`` for a write (no hit/miss accounting), expiring it if due."""
    return ctx.db.lookup(key, ctx.node.now_ms)


def parse_int(raw: bytes, error: str | None = None) -> int:
    """Redis's ``getLongLongFromObject``: a strict signed 64-bit decimal integer."""
    value = parse_long_long(raw)
    if value is None:
        raise RespError(error) if error else not_integer()
    return value


def parse_float(raw: bytes) -> float:
    """Redis's ``getLongDoubleFromObject``/``strtold`` rules: no spaces, no NaN; inf allowed."""
    text = raw.decode("latin-1")
    if not text or text[0].isspace() or text[-1].isspace():
        raise not_float()
    try:
        value = float(text)
    except ValueError:
        raise not_float() from None
    if math.isnan(value):
        raise not_float()
    return value


def upper(arg: bytes) -> bytes:
    return arg.upper()


def lookup_typed(ctx: Session, key: bytes, cls: type, read: bool = True) -> object | None:
    """The value at ``key`` if it is a ``cls`` (None if missing); WRONGTYPE for another type.
    ``read`` counts keyspace hits/misses, as Redis's lookupKeyRead does."""
    value = ctx.db.lookup(key, ctx.node.now_ms)
    if read:
        stats = ctx.node.stats
        if value is None:
            stats.keyspace_misses += 1
            return None
        stats.keyspace_hits += 1
    if value is None or type(value) is cls:
        return value
    raise WrongTypeError()


def parse_scan_cursor(raw: bytes) -> int:
    """``parseScanCursorOrReply``: C ``strtoul`` rules. An optional sign (``-n`` wraps modulo
    2**64), decimal digits, nothing after them, no leading space, no overflow; "" is 0."""
    body = raw[1:] if raw[:1] in (b"+", b"-") else raw
    if raw[:1].isspace() or (body and not (body.isdigit() and body.isascii())):
        raise RespError(INVALID_CURSOR)
    if body == b"" and raw:  # a lone sign: strtoul parses nothing and stops at the sign
        raise RespError(INVALID_CURSOR)
    value = int(body) if body else 0
    if value >= 2**64:
        raise RespError(INVALID_CURSOR)
    return (-value) % 2**64 if raw[:1] == b"-" else value
