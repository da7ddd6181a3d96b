"""RESP request parsing and reply encoding, sans I/O.

Theory of operation
-------------------
``RequestParser.feed(data)`` returns the complete requests in ``data`` (each a list of ``bytes``)
and keeps any incomplete tail for the next call. Two paths produce identical results:

* **Fast path (hiredis).** When no partial request is pending and the read starts with ``*``, the
  read goes to hiredis's C parser followed by a private sentinel frame. If the last item hiredis
  returns is exactly the sentinel, the read ended on a request boundary and every earlier item is
  a complete request; we only check that each is a flat array of bulk strings. This is the common
  case (one command, or one pipeline batch, per read) and costs about 0.2 us per command.
* **Slow path (Python).** Anything else (inline commands, a request split across reads, a huge
  bulk, a protocol error, an unauthenticated client) is parsed by a port of Redis 7's
  ``processInlineBuffer``/``processMultibulkBuffer``, which gives Redis's exact limits and error
  texts (``ERR Protocol error: ...``), including its quirks: the two bytes after a bulk are
  skipped without being checked, ``*0`` and ``*-1`` are ignored, and an empty inline line is no
  command.

A protocol error raises ``ProtocolError`` carrying the requests parsed before it: Redis runs
those, then replies the error and closes the connection.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import hiredis

# Limits, named as Redis names them (server.h / config.c defaults).
PROTO_INLINE_MAX_SIZE = 64 * 1024
PROTO_MAX_BULK_LEN = 512 * 1024 * 1024
CLIENT_QUERY_BUFFER_LIMIT = 1024 * 1024 * 1024
MULTIBULK_MAX_LEN = (
    2**31 - 1
)  # Redis 7.0 rejects counts above INT_MAX ("invalid multibulk length").
UNAUTHENTICATED_MULTIBULK_MAX = 10
UNAUTHENTICATED_BULK_MAX = 16384

# hiredis allocates an array as soon as it reads ``*N``; a read declaring 10,000+ elements goes
# to the Python path, which (like Redis) grows the argument list only as data arrives.
_LARGE_COUNT = re.compile(rb"\*[0-9]{5}")

_SENTINEL_TOKEN = b"\x00rcsim-boundary\xff"
_SENTINEL_FRAME = b"*1\r\n$%d\r\n%s\r\n" % (len(_SENTINEL_TOKEN), _SENTINEL_TOKEN)
_SENTINEL_ITEM = [_SENTINEL_TOKEN]
_JOIN = b"".join


class ProtocolError(Exception):
    """Malformed input. ``reply`` is Redis's error line; ``requests`` were complete before it."""

    def __init__(self, message: str, requests: list[list[bytes]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.requests = requests or []

    @property
    def reply(self) -> bytes:
        return b"-ERR Protocol error: " + self.message.encode("utf-8", "surrogateescape") + b"\r\n"


class QueryBufferLimitExceeded(Exception):
    """The client's pending input grew past ``client-query-buffer-limit``; Redis just closes it."""


def parse_long_long(raw: bytes | bytearray) -> int | None:
    """Redis's ``string2ll``: optional ``-``, no leading zeros or ``+``, fits in a signed 64-bit."""
    n = len(raw)
    if n == 0 or n > 20:
        return None
    if n == 1:
        c = raw[0]
        return c - 48 if 48 <= c <= 57 else None
    start = 1 if raw[0] == 45 else 0
    first = raw[start] if start < n else 0
    if not 49 <= first <= 57:
        return None
    for c in raw[start + 1 :]:
        if not 48 <= c <= 57:
            return None
    value = int(raw)
    if not -(2**63) <= value <= 2**63 - 1:
        return None
    return value


_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = b"0123456789abcdefABCDEF"


def split_inline_args(line: bytes) -> list[bytes] | None:
    """Redis's ``sdssplitargs``: whitespace-separated words, ``"..."`` with C escapes and ``\\xHH``,
    ``'...'`` with only ``\\'``. Returns ``None`` for unbalanced quotes (Redis's protocol error)."""
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \n\r\t\v\f":
            i += 1
        if i >= n:
            return args
        current = bytearray()
        in_double = in_single = False
        while True:
            if in_double:
                if i >= n:
                    return None
                c = line[i]
                if (
                    c == 92
                    and i + 3 < n
                    and line[i + 1] == 120
                    and line[i + 2] in _HEX
                    and line[i + 3] in _HEX
                ):
                    current.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 92 and i + 1 < n:
                    i += 1
                    current.append(_ESCAPES.get(line[i], line[i]))
                elif c == 34:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    in_double = False
                    i += 1
                    break
                else:
                    current.append(c)
            elif in_single:
                if i >= n:
                    return None
                c = line[i]
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    current.append(39)
                elif c == 39:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    in_single = False
                    i += 1
                    break
                else:
                    current.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in b" \n\r\t\v\f":
                    break
                if c == 34:
                    in_double = True
                elif c == 39:
                    in_single = True
                else:
                    current.append(c)
            i += 1
        args.append(bytes(current))


class RequestParser:
    """Turns a client's byte stream into requests. One per connection; see the module docstring."""

    __slots__ = (
        "_args",
        "_buf",
        "_bulk_len",
        "_inline",
        "_multibulk_left",
        "_reader",
        "auth_pending",
        "max_bulk_len",
        "max_query_buffer",
    )

    def __init__(
        self,
        max_bulk_len: int = PROTO_MAX_BULK_LEN,
        max_query_buffer: int = CLIENT_QUERY_BUFFER_LIMIT,
    ) -> None:
        self._reader = hiredis.Reader()
        self._buf = bytearray()
        self._multibulk_left = 0
        self._bulk_len = -1
        self._args: list[bytes] = []
        self._inline = False
        self.max_bulk_len = max_bulk_len
        self.max_query_buffer = max_query_buffer
        # While a password is required and not given, Redis applies the small unauthenticated limits.
        self.auth_pending = False

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[list[bytes]]:
        if (
            not self._buf
            and not self._multibulk_left
            and data
            and data[0] == 42
            and not self.auth_pending
            and _LARGE_COUNT.search(data) is None
        ):
            requests = self._fast(data)
            if requests is not None:
                return requests
        return self._slow(data)

    def _fast(self, data: bytes) -> list[list[bytes]] | None:
        reader = self._reader
        reader.feed(data)
        reader.feed(_SENTINEL_FRAME)
        try:
            items = list(iter(reader.gets, False))  # collected in C
        except hiredis.ProtocolError:
            self._reader = hiredis.Reader()
            return None
        if not items or items[-1] != _SENTINEL_ITEM:
            self._reader = hiredis.Reader()
            return None
        items.pop()
        # Only non-empty arrays of bulk strings take this path: an empty or null array (ignored
        # by Redis), a nested array, a top-level non-array or a non-bulk element (an error for
        # Redis) leave it for the slow path, which handles the read exactly. ``all`` finds the
        # empty ones; joining each request's arguments (C code) raises TypeError for anything
        # but bytes - an int, None, a list, an error, or the ints of a top-level bulk string -
        # at half the cost of a Python loop over the arguments.
        if not all(items):
            return None
        join = _JOIN
        try:
            for item in items:
                join(item)
        except TypeError:
            return None
        return items

    def _slow(self, data: bytes) -> list[list[bytes]]:
        buf = self._buf
        buf += data
        pos = 0
        requests: list[list[bytes]] = []
        try:
            while pos < len(buf):
                if not self._multibulk_left and self._bulk_len == -1 and not self._args:
                    self._inline = buf[pos] != 42
                if self._inline:
                    pos, args = self._parse_inline(buf, pos)
                else:
                    pos, args = self._parse_multibulk(buf, pos)
                if args is None:
                    break
                if args:
                    requests.append(args)
        except ProtocolError as error:
            self._reset()
            error.requests = requests
            raise
        del buf[:pos]
        if len(buf) > self.max_query_buffer:
            self._reset()
            raise QueryBufferLimitExceeded
        return requests

    def _reset(self) -> None:
        self._buf = bytearray()
        self._multibulk_left = 0
        self._bulk_len = -1
        self._args = []
        self._reader = hiredis.Reader()

    def _parse_inline(self, buf: bytearray, pos: int) -> tuple[int, list[bytes] | None]:
        newline = buf.find(b"\n", pos)
        if newline < 0:
            if len(buf) - pos > PROTO_INLINE_MAX_SIZE:
                raise ProtocolError("too big inline request")
            return pos, None
        end = newline - 1 if newline != pos and buf[newline - 1] == 13 else newline
        args = split_inline_args(bytes(buf[pos:end]))
        if args is None:
            raise ProtocolError("unbalanced quotes in request")
        return newline + 1, args

    def _read_count_line(self, buf: bytearray, pos: int, too_big: str) -> tuple[int, int] | None:
        """Find the ``\\r`` ending a ``*N``/``$N`` header; ``None`` while it is incomplete."""
        cr = buf.find(b"\r", pos)
        if cr < 0:
            if len(buf) - pos > PROTO_INLINE_MAX_SIZE:
                raise ProtocolError(too_big)
            return None
        if cr > len(buf) - 2:
            return None
        return cr, cr + 2

    def _parse_multibulk(self, buf: bytearray, pos: int) -> tuple[int, list[bytes] | None]:
        if not self._multibulk_left:
            found = self._read_count_line(buf, pos, "too big mbulk count string")
            if found is None:
                return pos, None
            cr, after = found
            count = parse_long_long(buf[pos + 1 : cr])
            if count is None or count > MULTIBULK_MAX_LEN:
                raise ProtocolError("invalid multibulk length")
            if count > UNAUTHENTICATED_MULTIBULK_MAX and self.auth_pending:
                raise ProtocolError("unauthenticated multibulk length")
            pos = after
            if count <= 0:
                return pos, []
            self._multibulk_left = count
            self._args = []
        while self._multibulk_left:
            if self._bulk_len == -1:
                found = self._read_count_line(buf, pos, "too big bulk count string")
                if found is None:
                    return pos, None
                cr, after = found
                if buf[pos] != 36:
                    got = bytes(buf[pos : pos + 1]).decode("latin-1")
                    raise ProtocolError(f"expected '$', got '{got}'")
                length = parse_long_long(buf[pos + 1 : cr])
                if length is None or length < 0 or length > self.max_bulk_len:
                    raise ProtocolError("invalid bulk length")
                if length > UNAUTHENTICATED_BULK_MAX and self.auth_pending:
                    raise ProtocolError("unauthenticated bulk length")
                pos = after
                self._bulk_len = length
            if len(buf) - pos < self._bulk_len + 2:
                return pos, None
            self._args.append(bytes(buf[pos : pos + self._bulk_len]))
            pos += self._bulk_len + 2  # Redis skips the CRLF without checking it.
            self._bulk_len = -1
            self._multibulk_left -= 1
        args, self._args = self._args, []
        return pos, args


# ---------------------------------------------------------------------------------------------
# Replies
# ---------------------------------------------------------------------------------------------


class SimpleString(bytes):
    """A status reply (``+OK``)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Raw:
    """Pre-encoded bytes, identical in RESP2 and RESP3 (constants on the hot path)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Map:
    """RESP3 map (``%``); a flat array of key, value in RESP2. ``items`` is a list of pairs."""

    items: list


@dataclass(frozen=True, slots=True)
class SetReply:
    """RESP3 set (``~``); an array in RESP2."""

    items: list


@dataclass(frozen=True, slots=True)
class Double:
    """RESP3 double (``,``); a bulk string in RESP2, formatted as Redis does (``%.17g``).
    ``text`` overrides the digits where Redis prints a double another way (GEOPOS's
    ``addReplyHumanLongDouble``)."""

    value: float
    text: bytes | None = None


@dataclass(frozen=True, slots=True)
class Verbatim:
    """RESP3 verbatim string (``=``, format ``txt``); a bulk string in RESP2."""

    text: bytes
    format: bytes = b"txt"


@dataclass(frozen=True, slots=True)
class Push:
    """RESP3 push (``>``) for pub/sub and invalidation messages; an array in RESP2."""

    items: list


@dataclass(frozen=True, slots=True)
class Bool:
    """RESP3 boolean (``#t``/``#f``); integer 1/0 in RESP2."""

    value: bool


class _NullArray:
    """A null array: ``*-1`` in RESP2, ``_`` in RESP3 (BLPOP timeout, EXEC after WATCH failed)."""

    __slots__ = ()


NULL_ARRAY = _NullArray()
OK = Raw(b"+OK\r\n")
QUEUED = Raw(b"+QUEUED\r\n")
PONG = Raw(b"+PONG\r\n")
EMPTY_ARRAY = Raw(b"*0\r\n")
ZERO = 0
ONE = 1


def format_double(value: float) -> bytes:
    """``%.17g`` as Redis prints doubles, with ``inf``/``-inf``/``nan`` spelled its way."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    if math.isnan(value):
        return b"nan"
    return b"%.17g" % value


_REQUEST_FORMATS = [b"*%d\r\n" % n + b"$%d\r\n%s\r\n" * n for n in range(9)]
_REQUEST_FORMAT3 = _REQUEST_FORMATS[3]


def encode_command(argv: Sequence[bytes]) -> bytes:
    """A request as a RESP multibulk array: what a master writes to its replicas, a replica's
    REPLCONF, a node's requests to another node. One format operation for up to 8 arguments
    (this runs for every write a master propagates)."""
    n = len(argv)
    if n == 3:
        a, b, c = argv
        return _REQUEST_FORMAT3 % (len(a), a, len(b), b, len(c), c)
    if n <= 8:
        parts: list = []
        for arg in argv:
            parts.append(len(arg))
            parts.append(arg)
        return _REQUEST_FORMATS[n] % tuple(parts)
    return b"*%d\r\n" % n + b"".join([b"$%d\r\n%s\r\n" % (len(a), a) for a in argv])


def encode(value: object, resp3: bool) -> bytes:
    """Encode one reply value. Types are checked most common first.

    ``type(value)`` is read once into ``t`` and compared by identity (the fastest dispatch, and
    this runs for every reply). mypy cannot narrow ``value`` through the alias ``t``, so the
    branches below carry ``type: ignore`` comments instead of ``cast`` calls, which would cost a
    function call per reply."""
    t = type(value)
    if t is bytes or t is bytearray:
        return b"$%d\r\n%s\r\n" % (len(value), value)  # type: ignore[arg-type]
    if t is Raw:
        return value.data  # type: ignore[attr-defined]
    if t is int:
        return b":%d\r\n" % value  # type: ignore[str-format]
    if value is None:
        return b"_\r\n" if resp3 else b"$-1\r\n"
    if t is SimpleString:
        return b"+%s\r\n" % value
    if t is list or t is tuple:
        # Arrays of bulk strings (LRANGE, MGET, KEYS...) skip the recursive call per element.
        parts = [b"*%d\r\n" % len(value)]  # type: ignore[arg-type]
        append = parts.append
        for v in value:  # type: ignore[attr-defined]
            if type(v) is bytes:
                append(b"$%d\r\n%s\r\n" % (len(v), v))
            else:
                append(encode(v, resp3))
        return b"".join(parts)
    if isinstance(value, BaseException):
        # A RespError (node.protocol.errors, which builds on this module) encodes itself.
        encode_error = getattr(value, "encode", None)
        if encode_error is not None:
            return encode_error()
        raise TypeError(f"cannot encode exception {value!r}")
    if t is Map:
        items = value.items  # type: ignore[attr-defined]
        body = b"".join([encode(k, resp3) + encode(v, resp3) for k, v in items])
        return (b"%%%d\r\n" % len(items) if resp3 else b"*%d\r\n" % (2 * len(items))) + body
    if t is SetReply or t is Push:
        items = value.items  # type: ignore[attr-defined]
        mark = (b"~" if t is SetReply else b">") if resp3 else b"*"
        return mark + b"%d\r\n" % len(items) + b"".join([encode(v, resp3) for v in items])
    if t is Double:
        text = value.text or format_double(value.value)  # type: ignore[attr-defined]
        return b",%s\r\n" % text if resp3 else b"$%d\r\n%s\r\n" % (len(text), text)
    if t is Verbatim:
        text = value.text  # type: ignore[attr-defined]
        if resp3:
            return b"=%d\r\n%s:%s\r\n" % (len(text) + 4, value.format, text)  # type: ignore[attr-defined]
        return b"$%d\r\n%s\r\n" % (len(text), text)
    if value is NULL_ARRAY:
        return b"_\r\n" if resp3 else b"*-1\r\n"
    if t is Bool:
        if resp3:
            return b"#t\r\n" if value.value else b"#f\r\n"  # type: ignore[attr-defined]
        return b":1\r\n" if value.value else b":0\r\n"  # type: ignore[attr-defined]
    if t is float:
        return encode(Double(value), resp3)  # type: ignore[arg-type]
    if t is str:
        raw = value.encode()  # type: ignore[attr-defined]
        return b"$%d\r\n%s\r\n" % (len(raw), raw)
    raise TypeError(f"cannot encode reply of type {t.__name__}")
