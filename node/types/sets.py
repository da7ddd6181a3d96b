"""Sets, mirroring Redis 7.0.15's ``t_set.c`` reply for reply, with DUMP/RESTORE.

Theory of operation
-------------------
A ``Set`` keeps its members in a list plus a member -> index dict: adding, removing (the last
member fills the hole), membership and random picks are O(1), so SPOP and SRANDMEMBER stay fast
on big sets. A flag records the encoding Redis 7.0 would use (it has no listpack sets):

* **intset** while every member is a canonical 64-bit integer (``string2ll``) and there are at
  most ``set-max-intset-entries`` of them (capped at 2**30, as ``setTypeAdd`` caps it). Redis
  keeps an intset sorted, so every reply that walks one lists it in ascending numeric order;
  rcsim sorts when it replies. An intset's integer width (2, 4 or 8 bytes) only ever grows, as
  ``intsetUpgradeAndAdd`` makes it, so DUMP writes the same blob as Redis.
* **hashtable** otherwise, one way (7.0 never converts back). Redis's dict order cannot be
  reproduced; rcsim replies in its own order.

Where Redis builds a fresh set (the destination of SINTERSTORE/SUNIONSTORE/SDIFFSTORE, the
result it walks for SUNION/SDIFF replies and for SPOP of a whole set, the "keep the rest" set of
SPOP's third strategy) rcsim builds one too, by the same add rules, so encodings, intset widths
and reply orders follow Redis's; SDIFF even picks Redis's algorithm, since its choice decides
whether the result went through the hashtable encoding. SSCAN returns an intset whole with
cursor 0, and scans a hashtable set with ``node.types.hashes.ScanIndex`` (``dictScan``'s cursor).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from node import rdb
from node.protocol.errors import RespError, WrongTypeError, syntax_error
from node.protocol.resp import EMPTY_ARRAY, SetReply
from node.session import Session
from node.types.common import LLONG_MAX, lookup_typed, parse_int, parse_scan_cursor
from node.types.hashes import (
    COUNT_OUT_OF_RANGE,
    ScanIndex,
    filter_matching,
    parse_scan_options,
)

MUST_BE_POSITIVE = "ERR value is out of range, must be positive"
NUMKEYS_POSITIVE = "ERR numkeys should be greater than 0"
NUMKEYS_TOO_MANY = "ERR Number of keys can't be greater than number of args"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"
LONG_MAX = LLONG_MAX
MAX_INTSET_ENTRIES = 1 << 30  # "limit to 1G entries due to intset internals"
DEFAULT_MAX_INTSET = 512
# SPOP keeps the rest in a new set once remaining * 5 <= count (SPOP_MOVE_STRATEGY_MUL).
SPOP_MOVE_STRATEGY_MUL = 5

RDB_TYPE_SET = 2
RDB_TYPE_SET_INTSET = 11
INTSET_HEADER_BYTES = 8

# Rough sizes for INFO memory: the object and dict header, and one member.
SET_BYTES = 64
MEMBER_BYTES = 40


def intset_width(number: int) -> int:
    """``_intsetValueEncoding``: bytes per integer an intset needs to hold ``number``."""
    if -(1 << 15) <= number < 1 << 15:
        return 2
    if -(1 << 31) <= number < 1 << 31:
        return 4
    return 8


class Set:
    """A set value: members in ``items`` (with ``_pos`` indexing them) and its encoding."""

    __slots__ = ("_bytes", "_pos", "_scan", "intset", "items", "width")

    type_name = b"set"
    wakes_blocked = False

    def __init__(self) -> None:
        self.items: list[bytes] = []
        self._pos: dict[bytes, int] = {}
        self.intset = True  # createIntsetObject: every set Redis builds starts as one
        self.width = 2  # INTSET_ENC_INT16
        self._bytes = 0
        self._scan: ScanIndex | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, member: object) -> bool:
        return member in self._pos

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.members())

    def members(self) -> list[bytes]:
        """The members in the order Redis walks them: ascending numbers for an intset."""
        if self.intset:
            return sorted(self.items, key=int)
        return list(self.items)

    def encoding(self) -> bytes:
        return b"intset" if self.intset else b"hashtable"

    @property
    def rdb_type_code(self) -> int:
        return RDB_TYPE_SET_INTSET if self.intset else RDB_TYPE_SET

    def copy(self) -> Set:
        """``setTypeDup``: same members and encoding (an intset keeps its width)."""
        twin = Set()
        twin.items = list(self.items)
        twin._pos = dict(self._pos)
        twin.intset, twin.width, twin._bytes = self.intset, self.width, self._bytes
        return twin

    def memory_usage(self) -> int:
        return SET_BYTES + self._bytes

    def add(self, member: bytes, max_intset: int) -> bool:
        """``setTypeAdd``: True if ``member`` is new; converts to a hashtable on a non-integer
        or once the intset grows past ``max_intset`` entries."""
        pos = self._pos
        if member in pos:
            return False
        if self.intset:
            number = rdb.canonical_int(member)
            if number is None:
                self.intset = False
            else:
                width = intset_width(number)
                if width > self.width:
                    self.width = width
        pos[member] = len(self.items)
        self.items.append(member)
        self._bytes += len(member) + MEMBER_BYTES
        if self._scan is not None:
            self._scan.add(member)
        if self.intset and len(self.items) > min(max_intset, MAX_INTSET_ENTRIES):
            self.intset = False
        return True

    def remove(self, member: bytes) -> bool:
        index = self._pos.pop(member, None)
        if index is None:
            return False
        items = self.items
        last = items.pop()
        if index < len(items):
            items[index] = last
            self._pos[last] = index
        self._bytes -= len(member) + MEMBER_BYTES
        if self._scan is not None:
            self._scan.discard(member)
        return True

    def random_member(self, rng: random.Random) -> bytes:
        items = self.items
        return items[rng.randrange(len(items))]

    def scan_index(self) -> ScanIndex:
        """Built on the first SSCAN of a hashtable set, then kept up to date."""
        if self._scan is None or self._scan.unbalanced():
            self._scan = ScanIndex(self._pos)
        return self._scan


def build_set(members: list[bytes], max_intset: int) -> Set:
    """A fresh set holding ``members`` (Redis's ``createIntsetObject`` + ``setTypeAdd``)."""
    value = Set()
    for member in members:
        value.add(member, max_intset)
    return value


# -- helpers -------------------------------------------------------------------------------------


def _max_intset(ctx: Session) -> int:
    return ctx.node.config.get_int("set-max-intset-entries")


def _read(ctx: Session, key: bytes) -> Set | None:
    """``lookupKeyRead`` + ``checkType``: counts a keyspace hit or miss."""
    return lookup_typed(ctx, key, Set)  # type: ignore[return-value]


def _write(ctx: Session, key: bytes) -> Set | None:
    """``lookupKeyWrite`` + ``checkType``: no keyspace statistics."""
    return lookup_typed(ctx, key, Set, read=False)  # type: ignore[return-value]


def _changed(ctx: Session, key: bytes, value: Set, before: int) -> None:
    """Signal an in-place change (WATCH, memory); delete the key if the set is now empty."""
    ctx.db.modified(key, value.memory_usage() - before)
    if not value.items:
        ctx.db.delete(key)


def _store(ctx: Session, key: bytes, result: Set) -> int:
    """The destination of a *STORE: replaced by a non-empty result (TTL dropped, as setKey),
    deleted otherwise. Returns the result's cardinality."""
    if result.items:
        ctx.db.set(key, result)
        return len(result.items)
    ctx.db.delete(key)
    return 0


def _parse_positive(raw: bytes, error: str) -> int:
    """``getPositiveLongFromObjectOrReply``: the same message for junk and for negatives."""
    value = parse_int(raw, error)
    if value < 0:
        raise RespError(error)
    return value


def _parse_count(raw: bytes) -> int:
    """``getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)``."""
    count = parse_int(raw)
    if count < -LONG_MAX:
        raise RespError(COUNT_OUT_OF_RANGE)
    return count


# -- SADD, SREM, SMOVE, SPOP ---------------------------------------------------------------------


def sadd_command(ctx: Session, argv: list[bytes]) -> object:
    key = argv[1]
    value = _write(ctx, key)
    created = value is None
    if value is None:
        value = Set()
    before = value.memory_usage()
    limit = _max_intset(ctx)
    added = 0
    for member in argv[2:]:
        added += value.add(member, limit)
    if created:
        ctx.db.set(key, value)
    elif added:
        ctx.db.modified(key, value.memory_usage() - before)
    return added


def srem_command(ctx: Session, argv: list[bytes]) -> object:
    value = _write(ctx, argv[1])
    if value is None:
        return 0
    before = value.memory_usage()
    removed = 0
    for member in argv[2:]:
        if value.remove(member):
            removed += 1
            if not value.items:
                break
    if removed:
        _changed(ctx, argv[1], value, before)
    return removed


def smove_command(ctx: Session, argv: list[bytes]) -> object:
    """``smoveCommand``: both keys are looked up before either type is checked, so a missing
    source answers 0 even when the destination has the wrong type."""
    db, now = ctx.db, ctx.node.now_ms
    source_key, target_key, member = argv[1], argv[2], argv[3]
    source = db.lookup(source_key, now)
    target = db.lookup(target_key, now)
    if source is None:
        return 0
    if type(source) is not Set or (target is not None and type(target) is not Set):
        raise WrongTypeError()
    if source is target:
        return int(member in source)
    before = source.memory_usage()
    if not source.remove(member):
        return 0
    _changed(ctx, source_key, source, before)
    limit = _max_intset(ctx)
    if target is None:
        db.set(target_key, build_set([member], limit))
    else:
        before = target.memory_usage()
        if target.add(member, limit):
            db.modified(target_key, target.memory_usage() - before)
    return 1


def spop_command(ctx: Session, argv: list[bytes]) -> object:
    if len(argv) == 3:
        return _spop_count(ctx, argv)
    if len(argv) > 3:
        raise syntax_error()
    key = argv[1]
    value = _write(ctx, key)
    if value is None:
        return None
    before = value.memory_usage()
    member = value.random_member(ctx.node.rng)
    value.remove(member)
    _changed(ctx, key, value, before)
    return member


def _spop_count(ctx: Session, argv: list[bytes]) -> object:
    """``spopWithCountCommand``'s three cases: the whole set (as a fresh set would list it),
    random pops, or - when few members stay - a new set of the random survivors."""
    count = _parse_positive(argv[2], MUST_BE_POSITIVE)
    key = argv[1]
    value = _write(ctx, key)
    if value is None or count == 0:
        return SetReply([])
    size = len(value)
    limit = _max_intset(ctx)
    if count >= size:
        whole = build_set(value.items, limit).members()
        ctx.db.delete(key)
        return SetReply(whole)
    rng = ctx.node.rng
    before = value.memory_usage()
    remaining = size - count
    if remaining * SPOP_MOVE_STRATEGY_MUL > count:
        popped = []
        for _ in range(count):
            member = value.random_member(rng)
            value.remove(member)
            popped.append(member)
        _changed(ctx, key, value, before)
        return SetReply(popped)
    survivors = Set()
    for _ in range(remaining):
        member = value.random_member(rng)
        survivors.add(member, limit)
        value.remove(member)
    popped = value.members()
    ctx.db.modified(key, value.memory_usage() - before)
    ctx.db.replace_value(key, survivors)  # dbOverwrite: the TTL stays
    return SetReply(popped)


# -- reads ---------------------------------------------------------------------------------------


def sismember_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read(ctx, argv[1])
    return int(value is not None and argv[2] in value._pos)


def smismember_command(ctx: Session, argv: list[bytes]) -> object:
    """A missing key is an empty set: one 0 per member."""
    value = _read(ctx, argv[1])
    if value is None:
        return [0] * (len(argv) - 2)
    pos = value._pos
    return [int(member in pos) for member in argv[2:]]


def scard_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read(ctx, argv[1])
    return 0 if value is None else len(value)


def srandmember_command(ctx: Session, argv: list[bytes]) -> object:
    """``srandmemberCommand``: without a count one member (or null); with one an array: random
    picks with repeats for a negative count, the whole set, or distinct random members."""
    if len(argv) > 3:
        raise syntax_error()
    if len(argv) == 2:
        value = _read(ctx, argv[1])
        return None if value is None else value.random_member(ctx.node.rng)
    count = _parse_count(argv[2])
    value = _read(ctx, argv[1])
    if value is None or count == 0:
        return EMPTY_ARRAY
    rng = ctx.node.rng
    if count < 0 or count == 1:
        return [value.random_member(rng) for _ in range(-count if count < 0 else 1)]
    if count >= len(value):
        return value.members()
    return rng.sample(value.items, count)


def sscan_command(ctx: Session, argv: list[bytes]) -> object:
    """``sscanCommand``: cursor, then key and type, then options; an intset comes whole."""
    cursor = parse_scan_cursor(argv[2])
    value = _read(ctx, argv[1])
    if value is None:
        return [b"0", []]
    count, pattern = parse_scan_options(argv, 3)
    if value.intset:
        next_cursor, members = 0, value.members()
    else:
        next_cursor, members = value.scan_index().scan(cursor, count)
    return [b"%d" % next_cursor, filter_matching(members, pattern)]


# -- SINTER, SMEMBERS, SINTERCARD, SINTERSTORE ---------------------------------------------------


def _sinter(
    ctx: Session, keys: list[bytes], target: bytes | None, card_only: bool = False, limit: int = 0
) -> object:
    """``sinterGenericCommand``: every key is read and type-checked first; a missing key makes
    the result empty. Otherwise the smallest set is walked (in its own order) and each member
    kept if every other set has it."""
    sets = [_read(ctx, key) for key in keys]
    if any(s is None for s in sets):
        if target is not None:
            ctx.db.delete(target)
            return 0
        return 0 if card_only else SetReply([])
    ordered: list[Set] = sorted(sets, key=len)  # type: ignore[arg-type]
    first = ordered[0]
    others = [s._pos for s in ordered[1:] if s is not first]
    found: list[bytes] = []
    for member in first.members():
        for pos in others:
            if member not in pos:
                break
        else:
            found.append(member)
            if card_only and limit and len(found) >= limit:
                break
    if card_only:
        return len(found)
    if target is None:
        return SetReply(found)
    return _store(ctx, target, build_set(found, _max_intset(ctx)))


def smembers_command(ctx: Session, argv: list[bytes]) -> object:
    """Redis 7.0 serves SMEMBERS with sinterCommand on one key."""
    value = _read(ctx, argv[1])
    return SetReply([] if value is None else value.members())


def sinter_command(ctx: Session, argv: list[bytes]) -> object:
    return _sinter(ctx, argv[1:], None)


def sinterstore_command(ctx: Session, argv: list[bytes]) -> object:
    return _sinter(ctx, argv[2:], argv[1])


def sintercard_command(ctx: Session, argv: list[bytes]) -> object:
    """SINTERCARD numkeys key [key ...] [LIMIT limit]; LIMIT 0 means no limit."""
    numkeys = parse_int(argv[1], NUMKEYS_POSITIVE)
    if numkeys < 1:
        raise RespError(NUMKEYS_POSITIVE)
    if numkeys > len(argv) - 2:
        raise RespError(NUMKEYS_TOO_MANY)
    limit = 0
    i = 2 + numkeys
    while i < len(argv):
        option = argv[i].split(b"\0", 1)[0].lower()
        if option == b"limit" and i + 1 < len(argv):
            i += 1
            limit = _parse_positive(argv[i], LIMIT_NEGATIVE)
        else:
            raise syntax_error()
        i += 1
    return _sinter(ctx, argv[2 : 2 + numkeys], None, card_only=True, limit=limit)


# -- SUNION, SDIFF and their STORE forms ---------------------------------------------------------


def _sdiff_into(result: Set, sets: list[Set | None], limit: int) -> None:
    """``sunionDiffGenericCommand``'s DIFF: algorithm 1 (walk the first set, keep members no
    other set has) or 2 (copy the first set, then remove the others), chosen as Redis chooses."""
    first = sets[0]
    if first is None or any(s is first for s in sets[1:]):
        return  # no first set, or the first set subtracted from itself
    others = [s for s in sets[1:] if s is not None]
    algo_one_work = len(first) * (len(others) + 1) // 2
    algo_two_work = len(first) + sum(len(s) for s in others)
    if algo_one_work <= algo_two_work:
        positions = [s._pos for s in others]
        for member in first.items:
            if not any(member in pos for pos in positions):
                result.add(member, limit)
        return
    for member in first.items:
        result.add(member, limit)
    for other in others:
        for member in other.items:
            result.remove(member)
        if not result.items:
            return


def _sunion_diff(ctx: Session, keys: list[bytes], target: bytes | None, diff: bool) -> object:
    """Every key is read and type-checked first (missing keys are empty sets); the result is
    built as a fresh set, replied in its own order or stored."""
    sets = [_read(ctx, key) for key in keys]
    limit = _max_intset(ctx)
    result = Set()
    if diff:
        _sdiff_into(result, sets, limit)
    else:
        for source in sets:
            if source is not None:
                for member in source.items:
                    result.add(member, limit)
    if target is None:
        return SetReply(result.members())
    return _store(ctx, target, result)


def sunion_command(ctx: Session, argv: list[bytes]) -> object:
    return _sunion_diff(ctx, argv[1:], None, diff=False)


def sunionstore_command(ctx: Session, argv: list[bytes]) -> object:
    return _sunion_diff(ctx, argv[2:], argv[1], diff=False)


def sdiff_command(ctx: Session, argv: list[bytes]) -> object:
    return _sunion_diff(ctx, argv[1:], None, diff=True)


def sdiffstore_command(ctx: Session, argv: list[bytes]) -> object:
    return _sunion_diff(ctx, argv[2:], argv[1], diff=True)


# -- DUMP / RESTORE ------------------------------------------------------------------------------


def intset_blob(value: Set) -> bytes:
    """An intset as Redis lays it out: width, count (both uint32 LE), sorted integers."""
    width = value.width
    numbers = sorted(int(member) for member in value.items)
    body = b"".join(n.to_bytes(width, "little", signed=True) for n in numbers)
    return width.to_bytes(4, "little") + len(numbers).to_bytes(4, "little") + body


def _encode(value: object, compress: bool) -> bytes:
    assert isinstance(value, Set)
    if value.intset:
        return rdb.encode_string(intset_blob(value), compress)
    parts = [rdb.encode_length(len(value.items))]
    parts.extend(rdb.encode_string(member, compress) for member in value.items)
    return b"".join(parts)


def _load_limit(reader: rdb.Reader) -> int:
    config = reader.config
    if config is None:
        return DEFAULT_MAX_INTSET
    return config.get_int("set-max-intset-entries")  # type: ignore[attr-defined]


def _decode_plain(reader: rdb.Reader) -> object:
    """``RDB_TYPE_SET``: an intset unless it is too long or holds a non-integer."""
    length, _ = reader.read_length()
    if length == 0:
        raise rdb.RdbError("empty set")
    limit = _load_limit(reader)
    value = Set()
    value.intset = length <= min(limit, MAX_INTSET_ENTRIES)
    for _ in range(length):
        if not value.add(reader.read_string(), limit):
            raise rdb.RdbError("duplicate set member")
    return value


def _decode_intset(reader: rdb.Reader) -> object:
    """``RDB_TYPE_SET_INTSET``: the blob is checked (width, size, strictly ascending)."""
    blob = reader.read_string()
    if len(blob) < INTSET_HEADER_BYTES:
        raise rdb.RdbError("intset too short")
    width = int.from_bytes(blob[:4], "little")
    count = int.from_bytes(blob[4:8], "little")
    if width not in (2, 4, 8) or len(blob) != INTSET_HEADER_BYTES + width * count or not count:
        raise rdb.RdbError("intset integrity check failed")
    value = Set()
    value.width = width
    previous = None
    for offset in range(INTSET_HEADER_BYTES, len(blob), width):
        number = int.from_bytes(blob[offset : offset + width], "little", signed=True)
        if previous is not None and number <= previous:
            raise rdb.RdbError("intset not sorted")
        previous = number
        value.add(b"%d" % number, MAX_INTSET_ENTRIES)
    if count > _load_limit(reader):
        value.intset = False
    return value


def register_rdb() -> None:
    """Teach DUMP/RESTORE sets (idempotent)."""
    rdb.register_type(Set, RDB_TYPE_SET, _encode, _decode_plain)
    rdb.register_decoder(RDB_TYPE_SET_INTSET, _decode_intset)


register_rdb()


HANDLERS = {
    "sadd": sadd_command,
    "srem": srem_command,
    "smove": smove_command,
    "spop": spop_command,
    "sismember": sismember_command,
    "smismember": smismember_command,
    "scard": scard_command,
    "srandmember": srandmember_command,
    "sscan": sscan_command,
    "smembers": smembers_command,
    "sinter": sinter_command,
    "sinterstore": sinterstore_command,
    "sintercard": sintercard_command,
    "sunion": sunion_command,
    "sunionstore": sunionstore_command,
    "sdiff": sdiff_command,
    "sdiffstore": sdiffstore_command,
}
