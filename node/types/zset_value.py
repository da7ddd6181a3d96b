"""The sorted set value (Redis's ``zset``), its argument parsers and its RDB encodings.

Theory of operation
-------------------
A ``ZSet`` keeps a dict member -> score and a ``SortedList`` of ``(score, member)`` pairs. Pairs
compare by score, then by member bytes (Python compares ``bytes`` as ``sdscmp`` does: memcmp,
then the shorter first), which is exactly the order of Redis's skiplist, and the SortedList gives
O(log N) rank, insert and delete.

``listpack`` records what OBJECT ENCODING reports. Redis 7.0 starts small sets as a listpack and
converts them to a skiplist for good once they pass ``zset-max-listpack-entries`` or a member
passes ``zset-max-listpack-value`` bytes (``zsetAdd``); only results built from scratch
(ZUNIONSTORE, GEORADIUS STORE, RESTORE...) may start as a listpack again. The encoding is also
visible in a few replies, so the listpack form mirrors Redis's quirks: a score is stored there as
an integer when it is integral (``double2ll``), so ``-0`` reads back as ``0`` and ZSCAN prints
``100000000000000000`` where ZSCORE prints ``1e+17``.

Arguments (scores, score and lex ranges) are parsed in ``node.types.zset_args``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Iterator

from sortedcontainers import SortedList

from node import rdb
from node.protocol.errors import RespError
from node.protocol.resp import Double
from node.session import Session
from node.types.common import lookup_typed, parse_int
from node.types.zset_args import LexRange, ScoreRange, lex_compare_bounds, strtod

DEFAULT_MAX_LISTPACK_ENTRIES = 128
DEFAULT_MAX_LISTPACK_VALUE = 64
LLONG_MAX = 2**63 - 1
# double2ll's window: integral doubles within +-LLONG_MAX/2 are stored as integers.
_DOUBLE2LL_LIMIT = float(LLONG_MAX // 2)
# Rough per-element overhead (skiplist node, dict entry) for INFO memory estimates.
_ELEMENT_OVERHEAD = 64

MUST_BE_POSITIVE = "ERR value is out of range, must be positive"
RDB_TYPE_ZSET = 3
RDB_TYPE_ZSET_2 = 5
RDB_TYPE_ZSET_ZIPLIST = 12
RDB_TYPE_ZSET_LISTPACK = 17


class ZSet:
    """A sorted set; see the module docstring."""

    __slots__ = ("listpack", "member_bytes", "order", "scores")

    type_name = b"zset"
    wakes_blocked = True

    def __init__(self, listpack: bool = True) -> None:
        self.scores: dict[bytes, float] = {}
        self.order = SortedList()
        self.listpack = listpack
        self.member_bytes = 0

    def __len__(self) -> int:
        return len(self.scores)

    def encoding(self) -> bytes:
        return b"listpack" if self.listpack else b"skiplist"

    @property
    def rdb_type_code(self) -> int:
        """DUMP writes a listpack (type 17) or a skiplist (zset v2, type 5), as Redis does."""
        return RDB_TYPE_ZSET_LISTPACK if self.listpack else RDB_TYPE_ZSET_2

    def copy(self) -> ZSet:
        other = ZSet(self.listpack)
        other.scores = dict(self.scores)
        other.order = SortedList(self.order)
        other.member_bytes = self.member_bytes
        return other

    def memory_usage(self) -> int:
        return 64 + self.member_bytes + _ELEMENT_OVERHEAD * len(self.scores)

    def items(self) -> Iterator[tuple[bytes, float]]:
        """(member, score) from the lowest score (DEBUG DIGEST-VALUE, RDB)."""
        for score, member in self.order:
            yield member, score

    # -- element access ------------------------------------------------------------------

    def add(self, member: bytes, score: float, max_entries: int, max_value: int) -> None:
        """Insert a member known to be absent, converting to a skiplist first when the listpack
        would outgrow its limits (``zsetAdd``)."""
        if self.listpack:
            if len(self.scores) + 1 > max_entries or len(member) > max_value:
                self.listpack = False
            elif score == 0.0:
                score = 0.0  # the listpack stores integral scores as integers: no -0
        self.scores[member] = score
        self.order.add((score, member))
        self.member_bytes += len(member)

    def set_score(self, member: bytes, old: float, new: float) -> None:
        """Move an existing member to a different score."""
        if self.listpack and new == 0.0:
            new = 0.0
        self.order.remove((old, member))
        self.order.add((new, member))
        self.scores[member] = new

    def remove(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        self.member_bytes -= len(member)
        return True

    def remove_range(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        """Delete the pairs at positions ``start <= i < stop``; returns them."""
        removed = list(self.order.islice(start, stop))
        del self.order[start:stop]
        scores = self.scores
        for _, member in removed:
            del scores[member]
            self.member_bytes -= len(member)
        return removed

    def rank(self, member: bytes) -> int | None:
        score = self.scores.get(member)
        if score is None:
            return None
        return self.order.index((score, member))

    def to_listpack_if_small(self, max_entries: int, max_value: int) -> None:
        """``zsetConvertToListpackIfNeeded`` for a freshly built result."""
        if len(self.scores) > max_entries:
            self.listpack = False
            return
        if any(len(member) > max_value for member in self.scores):
            self.listpack = False
            return
        self.listpack = True
        negative_zeros = [m for s, m in self.order if s == 0.0 and math.copysign(1.0, s) < 0]
        for member in negative_zeros:
            self.set_score(member, -0.0, 0.0)

    # -- score ranges --------------------------------------------------------------------

    def score_bounds(self, spec: ScoreRange) -> tuple[int, int] | None:
        """First and last positions (inclusive) of the pairs within ``spec``, or None."""
        lo_score, minex, hi_score, maxex = spec
        if lo_score > hi_score or (lo_score == hi_score and (minex or maxex)):
            return None
        order = self.order
        if minex:
            if lo_score == math.inf:
                return None
            lo_score = math.nextafter(lo_score, math.inf)
        first = order.bisect_left((lo_score, b""))
        if maxex:
            last = order.bisect_left((hi_score, b"")) - 1
        elif hi_score == math.inf:
            last = len(order) - 1
        else:
            last = order.bisect_left((math.nextafter(hi_score, math.inf), b"")) - 1
        if first > last:
            return None
        return first, last

    # -- lex ranges ----------------------------------------------------------------------

    def lex_in_range(self, spec: LexRange) -> bool:
        """``zslIsInLexRange``: the range is not empty and overlaps the first..last members."""
        cmp = lex_compare_bounds(spec)
        if cmp > 0 or (cmp == 0 and (spec.minex or spec.maxex)):
            return False
        if not self.scores:
            return False
        return spec.gte_min(self.order[-1][1]) and spec.lte_max(self.order[0][1])

    def lex_first(self, spec: LexRange) -> int | None:
        """Position of the first member in range (``zzlFirstInLexRange``/``zslFirstInLexRange``):
        a linear scan on a listpack, a search on a skiplist (the same answer when all scores are
        equal, the only case Redis defines)."""
        if not self.lex_in_range(spec):
            return None
        order = self.order
        if self.listpack:
            index = next((i for i, (_, m) in enumerate(order) if spec.gte_min(m)), len(order))
        else:
            lo, hi = 0, len(order)
            while lo < hi:
                mid = (lo + hi) // 2
                if spec.gte_min(order[mid][1]):
                    hi = mid
                else:
                    lo = mid + 1
            index = lo
        if index >= len(order) or not spec.lte_max(order[index][1]):
            return None
        return index

    def lex_last(self, spec: LexRange) -> int | None:
        """Position of the last member in range (``zzlLastInLexRange``/``zslLastInLexRange``)."""
        if not self.lex_in_range(spec):
            return None
        order = self.order
        if self.listpack:
            index = next(
                (i for i in range(len(order) - 1, -1, -1) if spec.lte_max(order[i][1])), -1
            )
        else:
            lo, hi = 0, len(order)
            while lo < hi:
                mid = (lo + hi) // 2
                if spec.lte_max(order[mid][1]):
                    lo = mid + 1
                else:
                    hi = mid
            index = lo - 1
        if index < 0 or not spec.gte_min(order[index][1]):
            return None
        return index


# -- range selection -------------------------------------------------------------------------


def rank_slice(zset: ZSet, start: int, end: int, reverse: bool) -> list[tuple[float, bytes]]:
    """``genericZrangebyrankCommand``'s index arithmetic."""
    size = len(zset)
    if start < 0:
        start += size
    if end < 0:
        end += size
    start = max(start, 0)
    if start > end or start >= size:
        return []
    end = min(end, size - 1)
    if reverse:
        return list(zset.order.islice(size - 1 - end, size - start, reverse=True))
    return list(zset.order.islice(start, end + 1))


def score_slice(
    zset: ZSet, spec: ScoreRange, offset: int, limit: int, reverse: bool
) -> list[tuple[float, bytes]]:
    """``genericZrangebyscoreCommand``: skip ``offset`` (a negative one walks off the end),
    then up to ``limit`` pairs (negative: all)."""
    if offset > 0 and offset >= len(zset):
        return []
    bounds = zset.score_bounds(spec)
    if bounds is None or offset < 0:
        return []
    first, last = bounds
    count = last - first + 1 - offset
    if count <= 0 or limit == 0:
        return []
    if 0 < limit < count:
        count = limit
    if reverse:
        top = last - offset
        return list(zset.order.islice(top - count + 1, top + 1, reverse=True))
    return list(zset.order.islice(first + offset, first + offset + count))


def lex_slice(
    zset: ZSet, spec: LexRange, offset: int, limit: int, reverse: bool
) -> list[tuple[float, bytes]]:
    """``genericZrangebylexCommand``: find the first (last) member in range, skip ``offset``
    members unchecked, then emit while the members stay within the range."""
    order = zset.order
    start = zset.lex_last(spec) if reverse else zset.lex_first(spec)
    if start is None or offset < 0:
        return []
    step = -1 if reverse else 1
    index = start + step * offset
    out: list[tuple[float, bytes]] = []
    inside = spec.gte_min if reverse else spec.lte_max
    while 0 <= index < len(order) and limit != 0:
        pair = order[index]
        if not inside(pair[1]):
            break
        out.append(pair)
        limit -= 1
        index += step
    return out


# -- access from handlers --------------------------------------------------------------------


def limits(ctx: Session) -> tuple[int, int]:
    """(zset-max-listpack-entries, zset-max-listpack-value) from the node's config."""
    config = ctx.node.config
    return config.get_int("zset-max-listpack-entries"), config.get_int("zset-max-listpack-value")


def read_zset(ctx: Session, key: bytes) -> ZSet | None:
    """``lookupKeyRead`` + ``checkType``."""
    return lookup_typed(ctx, key, ZSet)  # type: ignore[return-value]


def write_zset(ctx: Session, key: bytes) -> ZSet | None:
    """``lookupKeyWrite`` + ``checkType``."""
    return lookup_typed(ctx, key, ZSet, read=False)  # type: ignore[return-value]


def changed(ctx: Session, key: bytes, zset: ZSet, before: int) -> None:
    """After an in-place change: delete the key if it became empty, else signal the change."""
    if zset:
        ctx.db.modified(key, zset.memory_usage() - before)
    else:
        ctx.db.delete(key)


def store_result(ctx: Session, key: bytes, zset: ZSet) -> int:
    """Store a computed result (``setKey``), or delete ``key`` when it is empty."""
    if not zset:
        ctx.db.delete(key)
        return 0
    ctx.db.set(key, zset)
    return len(zset)


def scored_reply(ctx: Session, pairs: Iterable[tuple[float, bytes]], withscores: bool) -> list:
    """Members, or members with scores: flat in RESP2, [member, score] pairs in RESP3."""
    if not withscores:
        return [member for _, member in pairs]
    if ctx.resp3:
        return [[member, Double(score)] for score, member in pairs]
    out: list = []
    for score, member in pairs:
        out.append(member)
        out.append(Double(score))
    return out


def parse_positive(raw: bytes, message: str = MUST_BE_POSITIVE, low: int = 0) -> int:
    """``getRangeLongFromObjectOrReply(low, LONG_MAX, msg)``: both failures say ``message``."""
    try:
        value = parse_int(raw)
    except RespError:
        raise RespError(message) from None
    if value < low:
        raise RespError(message)
    return value


# -- listpack and RDB encodings --------------------------------------------------------------


def double_to_ll(value: float) -> int | None:
    """``double2ll``: the integer a listpack stores for an integral score, else None."""
    if -_DOUBLE2LL_LIMIT <= value <= _DOUBLE2LL_LIMIT and value == int(value):
        return int(value)
    return None


def listpack_score_text(value: float) -> bytes:
    """A score as the listpack holds it (ZSCAN of a small set prints this)."""
    integer = double_to_ll(value)
    if integer is not None:
        return b"%d" % integer
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    return b"%.17g" % value


def _lp_int(value: int) -> bytes:
    """``lpEncodeIntegerGetType``: the smallest integer encoding."""
    if 0 <= value <= 127:
        return bytes((value,))
    if -4096 <= value <= 4095:
        value &= 0x1FFF
        return bytes(((value >> 8) | 0xC0, value & 0xFF))
    for code, width in ((0xF1, 2), (0xF2, 3), (0xF3, 4)):
        if -(1 << (8 * width - 1)) <= value < 1 << (8 * width - 1):
            return bytes((code,)) + value.to_bytes(width, "little", signed=True)
    return b"\xf4" + value.to_bytes(8, "little", signed=True)


def _lp_str(value: bytes) -> bytes:
    size = len(value)
    if size < 64:
        return bytes((0x80 | size,)) + value
    if size < 4096:
        return bytes((0xE0 | (size >> 8), size & 0xFF)) + value
    return b"\xf0" + size.to_bytes(4, "little") + value


def _lp_backlen(size: int) -> bytes:
    """``lpEncodeBacklen``: the entry size, 7 bits per byte, most significant byte first and
    every byte after it flagged with 128 (the size is read from the right). Redis switches to
    the next width one value early (16383 takes 3 bytes), and so do we."""
    if size <= 127:
        return bytes((size,))
    width = 2 if size < 16383 else 3 if size < 2097151 else 4 if size < 268435455 else 5
    out = [(size >> (7 * (width - 1))) & 0xFF]
    for i in range(width - 2, -1, -1):
        out.append(((size >> (7 * i)) & 127) | 128)
    return bytes(out)


def _lp_entry(entry: bytes) -> bytes:
    return entry + _lp_backlen(len(entry))


def listpack_blob(zset: ZSet) -> bytes:
    """The listpack Redis keeps for a small sorted set: member, score, member, score..."""
    parts = []
    for score, member in zset.order:
        number = rdb.canonical_int(member)
        parts.append(_lp_entry(_lp_int(number) if number is not None else _lp_str(member)))
        integer = double_to_ll(score)
        text = _lp_int(integer) if integer is not None else _lp_str(listpack_score_text(score))
        parts.append(_lp_entry(text))
    body = b"".join(parts)
    count = min(2 * len(zset), 65535)
    return (6 + len(body) + 1).to_bytes(4, "little") + count.to_bytes(2, "little") + body + b"\xff"


def listpack_entries(blob: bytes) -> list[bytes | int]:
    """Decode a listpack (strings as bytes, integers as int); RdbError if malformed."""
    if len(blob) < 7 or int.from_bytes(blob[:4], "little") != len(blob) or blob[-1] != 0xFF:
        raise rdb.RdbError("bad listpack header")
    out: list[bytes | int] = []
    pos, end = 6, len(blob) - 1
    while pos < end:
        start = pos
        first = blob[pos]
        if first < 0x80:
            value: bytes | int = first
            pos += 1
        elif first < 0xC0:
            size = first & 0x3F
            value, pos = blob[pos + 1 : pos + 1 + size], pos + 1 + size
        elif first < 0xE0:
            raw = ((first & 0x1F) << 8) | blob[pos + 1]
            value, pos = (raw - 0x2000 if raw >= 0x1000 else raw), pos + 2
        elif first < 0xF0:
            size = ((first & 0x0F) << 8) | blob[pos + 1]
            value, pos = blob[pos + 2 : pos + 2 + size], pos + 2 + size
        elif first == 0xF0:
            size = int.from_bytes(blob[pos + 1 : pos + 5], "little")
            value, pos = blob[pos + 5 : pos + 5 + size], pos + 5 + size
        elif 0xF1 <= first <= 0xF4:
            width = (2, 3, 4, 8)[first - 0xF1]
            value = int.from_bytes(blob[pos + 1 : pos + 1 + width], "little", signed=True)
            pos += 1 + width
        else:
            raise rdb.RdbError("bad listpack entry")
        pos += len(_lp_backlen(pos - start))
        if pos > end:
            raise rdb.RdbError("listpack entry past the end")
        out.append(value)
    return out


def ziplist_entries(blob: bytes) -> list[bytes | int]:
    """Decode a ziplist (the small-zset encoding of RDB files before Redis 7); RdbError if
    malformed."""
    if len(blob) < 11 or int.from_bytes(blob[:4], "little") != len(blob) or blob[-1] != 0xFF:
        raise rdb.RdbError("bad ziplist header")
    out: list[bytes | int] = []
    pos, end = 10, len(blob) - 1
    while pos < end:
        pos += 5 if blob[pos] == 0xFE else 1  # the previous entry's length
        if pos >= end:
            raise rdb.RdbError("ziplist entry past the end")
        first = blob[pos]
        kind = first >> 6
        if kind == 0:
            size, pos = first & 0x3F, pos + 1
        elif kind == 1:
            size, pos = ((first & 0x3F) << 8) | blob[pos + 1], pos + 2
        elif first == 0x80:
            size, pos = int.from_bytes(blob[pos + 1 : pos + 5], "big"), pos + 5
        else:
            width = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}.get(first)
            if width is not None:
                out.append(int.from_bytes(blob[pos + 1 : pos + 1 + width], "little", signed=True))
                pos += 1 + width
            elif 0xF1 <= first <= 0xFD:
                out.append((first & 0x0F) - 1)
                pos += 1
            else:
                raise rdb.RdbError("bad ziplist entry")
            continue
        if pos + size > end:
            raise rdb.RdbError("ziplist string past the end")
        out.append(blob[pos : pos + size])
        pos += size
    return out


def _encode(value: object, compress: bool) -> bytes:
    zset: ZSet = value  # type: ignore[assignment]
    if zset.listpack:
        return rdb.encode_string(listpack_blob(zset), compress)
    parts = [rdb.encode_length(len(zset))]
    for score, member in reversed(zset.order):  # Redis saves from the tail
        parts.append(rdb.encode_string(member, compress))
        parts.append(struct.pack("<d", score))
    return b"".join(parts)


def _finish_load(zset: ZSet) -> ZSet:
    if not zset:
        raise rdb.RdbError("empty sorted set")
    return zset


def _decode_listpack(reader: rdb.Reader, ziplist: bool = False) -> object:
    """RDB_TYPE_ZSET_LISTPACK (or the older RDB_TYPE_ZSET_ZIPLIST, converted to a listpack as
    Redis 7 does on load); past the entries limit it becomes a skiplist."""
    blob = reader.read_string()
    entries = ziplist_entries(blob) if ziplist else listpack_entries(blob)
    if len(entries) % 2:
        raise rdb.RdbError("odd listpack length")
    zset = ZSet(listpack=True)
    for i in range(0, len(entries), 2):
        member, score = entries[i], entries[i + 1]
        member = b"%d" % member if type(member) is int else member
        value = float(score) if type(score) is int else strtod(score[:127])[0]  # type: ignore[index]
        if member in zset.scores or math.isnan(value):
            raise rdb.RdbError("duplicate member or NaN score")
        zset.add(member, value, 1 << 62, 1 << 62)  # type: ignore[arg-type]
    zset.listpack = len(zset) <= DEFAULT_MAX_LISTPACK_ENTRIES
    return _finish_load(zset)


def _load_double_text(reader: rdb.Reader) -> float:
    """``rdbLoadDoubleValue``: a length byte (253 nan, 254 inf, 255 -inf) then ASCII."""
    size = reader.read_byte()
    if size == 255:
        return -math.inf
    if size == 254:
        return math.inf
    if size == 253:
        return math.nan
    return strtod(reader.read(size))[0]


def _decode_skiplist(reader: rdb.Reader, binary: bool) -> object:
    """RDB_TYPE_ZSET_2 (binary doubles) and RDB_TYPE_ZSET (text doubles)."""
    count, _ = reader.read_length()
    zset = ZSet(listpack=False)
    for _ in range(count):
        member = reader.read_string()
        score = struct.unpack("<d", reader.read(8))[0] if binary else _load_double_text(reader)
        if member in zset.scores or math.isnan(score):
            raise rdb.RdbError("duplicate member or NaN score")
        zset.add(member, score, 0, 0)
    zset.to_listpack_if_small(DEFAULT_MAX_LISTPACK_ENTRIES, DEFAULT_MAX_LISTPACK_VALUE)
    return _finish_load(zset)


rdb.register_type(ZSet, RDB_TYPE_ZSET_LISTPACK, _encode, _decode_listpack)
rdb.register_decoder(RDB_TYPE_ZSET_2, lambda reader: _decode_skiplist(reader, True))
rdb.register_decoder(RDB_TYPE_ZSET, lambda reader: _decode_skiplist(reader, False))
rdb.register_decoder(RDB_TYPE_ZSET_ZIPLIST, lambda reader: _decode_listpack(reader, True))
