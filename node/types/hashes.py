"""Hashes, mirroring Redis 7.0.15's ``t_hash.c`` reply for reply, with DUMP/RESTORE.

Theory of operation
-------------------
A ``Hash`` keeps its fields in a dict plus a flag for the encoding Redis would have chosen:

* **listpack** while it has at most ``hash-max-listpack-entries`` fields and no field or value
  longer than ``hash-max-listpack-value``. Redis keeps a listpack in insertion order (a new field
  is appended, HSET of an existing field replaces its value in place, HDEL removes it): a Python
  dict behaves the same, so HGETALL, HKEYS, HVALS, HSCAN and whole-hash HRANDFIELD replies are
  byte-identical to Redis's.
* **hashtable** once a limit is crossed: before anything is set when an HSET argument is too
  long (``hashTypeTryConversion``), after an insert past the entry limit, or when HINCRBY* is
  about to store a too-long field or value (``hashTypeSet``). The switch is one-way, as in 7.0.
  Redis's dict order cannot be reproduced; rcsim keeps insertion order.

HSCAN returns a listpack hash whole with cursor 0, as Redis does. A hashtable hash is scanned
with ``dictScan``'s reverse-binary cursor over a power-of-two bucket table of the fields' hashes
(``ScanIndex``: built on the first HSCAN, then kept up to date by every write and rebuilt at a
fitting size once unbalanced). The table may grow or shrink between calls, but the
reverse-binary order guarantees that a field present for the whole scan is returned (possibly
twice): Redis's SCAN contract. HRANDFIELD needs random access: a ``Picker`` (fields in a list,
with their positions) is built on first use and kept up to date the same way.

DUMP writes a listpack hash as ``RDB_TYPE_HASH_LISTPACK`` (16) whose body is the listpack blob
built byte for byte as Redis's ``lpAppend`` builds it (integers in their smallest encoding), so
the payload is identical to Redis's; a hashtable hash is ``RDB_TYPE_HASH`` (4), identical except
for the order of its fields. RESTORE also reads the pre-7.0 ziplist form (13), and picks the
encoding with the node's thresholds as ``rdbLoadObject`` does.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable

from node import long_double, rdb
from node.glob import glob_matcher
from node.protocol.errors import OVERFLOW, RespError, not_float, syntax_error, wrong_arity
from node.protocol.resp import EMPTY_ARRAY, OK, Map, parse_long_long
from node.session import Session
from node.types.common import LLONG_MAX, LLONG_MIN, lookup_typed, parse_int, parse_scan_cursor
from node.types.listpack import build_listpack, decode_listpack, decode_ziplist

NOT_INTEGER_VALUE = "ERR hash value is not an integer"
NOT_FLOAT_VALUE = "ERR hash value is not a float"
NAN_OR_INFINITY_INCREMENT = "ERR value is NaN or Infinity"
NAN_OR_INFINITY_RESULT = "ERR increment would produce NaN or Infinity"
VALUE_OUT_OF_RANGE = "ERR value is out of range"
LONG_MAX = LLONG_MAX
COUNT_OUT_OF_RANGE = f"ERR value is out of range, value must between {-LONG_MAX} and {LONG_MAX}"
SCAN_DEFAULT_COUNT = 10
# Redis's defaults, for RESTORE without a node config (unit tests).
DEFAULT_MAX_ENTRIES = 512
DEFAULT_MAX_VALUE = 64

RDB_TYPE_HASH = 4
RDB_TYPE_HASH_ZIPLIST = 13
RDB_TYPE_HASH_LISTPACK = 16

# Rough sizes for INFO memory: the object and dict header, and one field/value pair.
HASH_BYTES = 64
ENTRY_BYTES = 48


class Hash:
    """A hash value: ``fields`` (field -> value, insertion ordered) and its encoding flag."""

    __slots__ = ("_bytes", "_picker", "_scan", "fields", "listpack")

    type_name = b"hash"
    wakes_blocked = False

    def __init__(self, fields: dict[bytes, bytes] | None = None, listpack: bool = True) -> None:
        self.fields: dict[bytes, bytes] = {} if fields is None else fields
        self.listpack = listpack
        self._bytes = sum(len(f) + len(v) + ENTRY_BYTES for f, v in self.fields.items())
        # Built on the first HRANDFIELD / HSCAN of a hashtable, then kept up to date.
        self._picker: Picker | None = None
        self._scan: ScanIndex | None = None

    def __len__(self) -> int:
        return len(self.fields)

    def encoding(self) -> bytes:
        return b"listpack" if self.listpack else b"hashtable"

    @property
    def rdb_type_code(self) -> int:
        return RDB_TYPE_HASH_LISTPACK if self.listpack else RDB_TYPE_HASH

    def copy(self) -> Hash:
        """``hashTypeDup``: same fields, same order, same encoding."""
        return Hash(dict(self.fields), self.listpack)

    def memory_usage(self) -> int:
        return HASH_BYTES + self._bytes

    def items(self) -> Iterable[tuple[bytes, bytes]]:
        return self.fields.items()

    def convert_if_long(self, args: list[bytes], start: int, max_value: int) -> None:
        """``hashTypeTryConversion``: any argument too long for a listpack converts first."""
        if self.listpack:
            for i in range(start, len(args)):
                if len(args[i]) > max_value:
                    self.listpack = False
                    return

    def set(self, field: bytes, value: bytes, max_entries: int, max_value: int) -> bool:
        """``hashTypeSet``: store ``value``; True when ``field`` is new."""
        if self.listpack and (len(field) > max_value or len(value) > max_value):
            self.listpack = False
        fields = self.fields
        old = fields.get(field)
        fields[field] = value
        if old is not None:
            self._bytes += len(value) - len(old)
            return False
        self._bytes += len(field) + len(value) + ENTRY_BYTES
        if self._picker is not None:
            self._picker.add(field)
        if self._scan is not None:
            self._scan.add(field)
        if self.listpack and len(fields) > max_entries:
            self.listpack = False
        return True

    def delete(self, field: bytes) -> bool:
        value = self.fields.pop(field, None)
        if value is None:
            return False
        self._bytes -= len(field) + len(value) + ENTRY_BYTES
        if self._picker is not None:
            self._picker.discard(field)
        if self._scan is not None:
            self._scan.discard(field)
        return True

    def picker(self) -> Picker:
        if self._picker is None:
            self._picker = Picker(self.fields)
        return self._picker

    def random_field(self, rng: random.Random) -> bytes:
        return self.picker().pick(rng)

    def scan_index(self) -> ScanIndex:
        if self._scan is None or self._scan.unbalanced():
            self._scan = ScanIndex(self.fields)
        return self._scan


class Picker:
    """Keys in a list with their positions, for O(1) random picks; a removed key's place is
    taken by the last one."""

    __slots__ = ("keys", "pos")

    def __init__(self, keys: Iterable[bytes]) -> None:
        self.keys = list(keys)
        self.pos = {key: i for i, key in enumerate(self.keys)}

    def add(self, key: bytes) -> None:
        self.pos[key] = len(self.keys)
        self.keys.append(key)

    def discard(self, key: bytes) -> None:
        index = self.pos.pop(key)
        last = self.keys.pop()
        if index < len(self.keys):
            self.keys[index] = last
            self.pos[last] = index

    def pick(self, rng: random.Random) -> bytes:
        keys = self.keys
        return keys[rng.randrange(len(keys))]


# -- SCAN over hashtable-encoded collections (shared with sets) --------------------------------


class ScanIndex:
    """A collection's keys in ``2**bits`` buckets chosen by ``hash(key)``, scanned with
    ``dictScan``'s reverse-binary cursor. The owner keeps it up to date (``add``/``discard``) and
    rebuilds it at a fitting size once it is 4x over or 16x under its bucket count (amortised
    O(1)); the reverse-binary order makes a resize between two calls lose nothing."""

    __slots__ = ("bits", "buckets", "count", "mask")

    def __init__(self, keys: Collection[bytes]) -> None:
        size = 4  # DICT_HT_INITIAL_SIZE
        while size < len(keys):
            size <<= 1
        self.mask = size - 1
        self.bits = size.bit_length() - 1
        self.buckets: dict[int, list[bytes]] = {}
        self.count = 0
        for key in keys:
            self.add(key)

    def add(self, key: bytes) -> None:
        slot = hash(key) & self.mask
        found = self.buckets.get(slot)
        if found is None:
            self.buckets[slot] = [key]
        else:
            found.append(key)
        self.count += 1

    def discard(self, key: bytes) -> None:
        slot = hash(key) & self.mask
        found = self.buckets[slot]
        found.remove(key)
        if not found:
            del self.buckets[slot]
        self.count -= 1

    def unbalanced(self) -> bool:
        size = self.mask + 1
        return self.count > 4 * size or (size > 4 and self.count * 16 < size)

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """Visit buckets from ``cursor`` until ``count`` keys are found, the table is done, or
        ``10 * count`` buckets were visited (``scanGenericCommand``'s ``maxiterations``)."""
        v = cursor & self.mask
        out: list[bytes] = []
        budget = count * 10
        buckets = self.buckets
        while True:
            found = buckets.get(v)
            if found:
                out.extend(found)
            v = next_cursor(v, self.bits)
            budget -= 1
            if v == 0 or len(out) >= count or budget <= 0:
                return v, out


def next_cursor(v: int, bits: int) -> int:
    """``dictScan``'s cursor step: increment the reversed low ``bits`` bits of ``v``."""
    if bits == 0:
        return 0
    reversed_v = int(format(v, f"0{bits}b")[::-1], 2) + 1
    if reversed_v >> bits:
        return 0
    return int(format(reversed_v, f"0{bits}b")[::-1], 2)


def _option(arg: bytes) -> bytes:
    """Redis compares options with ``strcasecmp``: they end at a NUL byte."""
    if b"\0" in arg:
        arg = arg[: arg.index(b"\0")]
    return arg.lower()


def parse_scan_options(argv: list[bytes], start: int) -> tuple[int, bytes | None]:
    """``scanGenericCommand``'s options for a key's scan: COUNT n (>= 1) and MATCH pattern;
    TYPE is only SCAN's. Returns (count, pattern or None for "match everything")."""
    count, pattern = SCAN_DEFAULT_COUNT, None
    i = start
    while i < len(argv):
        option = _option(argv[i])
        if i + 1 >= len(argv):
            raise syntax_error()
        if option == b"count":
            count = parse_int(argv[i + 1])
            if count < 1:
                raise syntax_error()
        elif option == b"match":
            pattern = argv[i + 1]
        else:
            raise syntax_error()
        i += 2
    return count, (None if pattern == b"*" else pattern)


def filter_matching(keys: list[bytes], pattern: bytes | None) -> list[bytes]:
    return keys if pattern is None else list(filter(glob_matcher(pattern), keys))


# -- helpers -------------------------------------------------------------------------------------


def _limits(ctx: Session) -> tuple[int, int]:
    """(hash-max-listpack-entries, hash-max-listpack-value) from the node's config."""
    config = ctx.node.config
    return config.get_int("hash-max-listpack-entries"), config.get_int("hash-max-listpack-value")


def _read(ctx: Session, key: bytes) -> Hash | None:
    """``lookupKeyRead`` + ``checkType``: counts a keyspace hit or miss."""
    return lookup_typed(ctx, key, Hash)  # type: ignore[return-value]


def _write(ctx: Session, key: bytes) -> Hash | None:
    """``lookupKeyWrite`` + ``checkType``: no keyspace statistics."""
    return lookup_typed(ctx, key, Hash, read=False)  # type: ignore[return-value]


def _store(ctx: Session, key: bytes, value: Hash, created: bool, before: int) -> None:
    """Publish a write: a new key is added, an existing one signalled (WATCH) and resized; an
    emptied hash is deleted, since Redis never keeps empty collections."""
    db = ctx.db
    if created:
        db.set(key, value)
        return
    db.modified(key, value.memory_usage() - before)
    if not value.fields:
        db.delete(key)


# -- HSET, HSETNX, HMSET, HDEL, HINCRBY, HINCRBYFLOAT --------------------------------------------


def _hset(ctx: Session, argv: list[bytes], name: str) -> int:
    """``hsetCommand``: arity of pairs, type, long-argument conversion, then every pair."""
    if len(argv) % 2:
        raise wrong_arity(name)
    key = argv[1]
    value = _write(ctx, key)
    created = value is None
    if value is None:
        value = Hash()
    before = value.memory_usage()
    max_entries, max_value = _limits(ctx)
    value.convert_if_long(argv, 2, max_value)
    added = 0
    for i in range(2, len(argv), 2):
        added += value.set(argv[i], argv[i + 1], max_entries, max_value)
    _store(ctx, key, value, created, before)
    return added


def hset_command(ctx: Session, argv: list[bytes]) -> object:
    return _hset(ctx, argv, "hset")


def hmset_command(ctx: Session, argv: list[bytes]) -> object:
    _hset(ctx, argv, "hmset")
    return OK


def hsetnx_command(ctx: Session, argv: list[bytes]) -> object:
    """``hsetnxCommand``: an existing field answers 0 without converting anything."""
    key, field = argv[1], argv[2]
    value = _write(ctx, key)
    if value is not None and field in value.fields:
        return 0
    created = value is None
    if value is None:
        value = Hash()
    before = value.memory_usage()
    max_entries, max_value = _limits(ctx)
    value.convert_if_long(argv, 2, max_value)
    value.set(field, argv[3], max_entries, max_value)
    _store(ctx, key, value, created, before)
    return 1


def hdel_command(ctx: Session, argv: list[bytes]) -> object:
    value = _write(ctx, argv[1])
    if value is None:
        return 0
    before = value.memory_usage()
    deleted = 0
    for field in argv[2:]:
        if value.delete(field):
            deleted += 1
            if not value.fields:
                break
    if deleted:
        _store(ctx, argv[1], value, False, before)
    return deleted


def _incr_target(ctx: Session, key: bytes) -> tuple[Hash, bool, int]:
    """``hashTypeLookupWriteOrCreate``: (hash, created, memory before)."""
    value = _write(ctx, key)
    if value is None:
        return Hash(), True, 0
    return value, False, value.memory_usage()


def hincrby_command(ctx: Session, argv: list[bytes]) -> object:
    """``hincrbyCommand``: the increment is parsed before the key is looked at."""
    increment = parse_int(argv[3])
    key, field = argv[1], argv[2]
    value, created, before = _incr_target(ctx, key)
    current_raw = value.fields.get(field)
    current = 0
    if current_raw is not None:
        parsed = parse_long_long(current_raw)
        if parsed is None:
            raise RespError(NOT_INTEGER_VALUE)
        current = parsed
    total = current + increment
    if not LLONG_MIN <= total <= LLONG_MAX:
        raise RespError(OVERFLOW)
    value.set(field, b"%d" % total, *_limits(ctx))
    _store(ctx, key, value, created, before)
    return total


def hincrbyfloat_command(ctx: Session, argv: list[bytes]) -> object:
    """``hincrbyfloatCommand``: long double sum printed as INCRBYFLOAT prints it (see
    ``node.long_double``); an infinite increment is refused before the lookup."""
    increment = long_double.parse(argv[3])
    if increment is None:
        raise not_float()
    if type(increment) is float:
        raise RespError(NAN_OR_INFINITY_INCREMENT)
    key, field = argv[1], argv[2]
    value, created, before = _incr_target(ctx, key)
    current_raw = value.fields.get(field)
    current = long_double.ZERO if current_raw is None else long_double.parse(current_raw)
    if current is None:
        raise RespError(NOT_FLOAT_VALUE)
    total = long_double.add(current, increment)
    if total is None:
        raise RespError(NAN_OR_INFINITY_RESULT)
    text = long_double.format_human(total)
    value.set(field, text, *_limits(ctx))
    _store(ctx, key, value, created, before)
    return text


# -- reads ---------------------------------------------------------------------------------------


def hget_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read(ctx, argv[1])
    return None if value is None else value.fields.get(argv[2])


def hmget_command(ctx: Session, argv: list[bytes]) -> object:
    """A missing key is an empty hash: one null per field."""
    value = _read(ctx, argv[1])
    if value is None:
        return [None] * (len(argv) - 2)
    get = value.fields.get
    return [get(field) for field in argv[2:]]


def hlen_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read(ctx, argv[1])
    return 0 if value is None else len(value.fields)


def hstrlen_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read(ctx, argv[1])
    if value is None:
        return 0
    found = value.fields.get(argv[2])
    return 0 if found is None else len(found)


def hexists_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read(ctx, argv[1])
    return int(value is not None and argv[2] in value.fields)


def hkeys_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read(ctx, argv[1])
    return EMPTY_ARRAY if value is None else list(value.fields)


def hvals_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read(ctx, argv[1])
    return EMPTY_ARRAY if value is None else list(value.fields.values())


def hgetall_command(ctx: Session, argv: list[bytes]) -> object:
    """A map in RESP3 (``%``), a flat array in RESP2."""
    value = _read(ctx, argv[1])
    return Map([] if value is None else list(value.fields.items()))


def hscan_command(ctx: Session, argv: list[bytes]) -> object:
    """``hscanCommand``: cursor, then key and type, then the options (``scanGenericCommand``)."""
    cursor = parse_scan_cursor(argv[2])
    value = _read(ctx, argv[1])
    if value is None:
        return [b"0", []]
    count, pattern = parse_scan_options(argv, 3)
    if value.listpack:
        next_cursor_value, keys = 0, list(value.fields)
    else:
        next_cursor_value, keys = value.scan_index().scan(cursor, count)
    fields = value.fields
    out: list[bytes] = []
    for field in filter_matching(keys, pattern):
        out.append(field)
        out.append(fields[field])
    return [b"%d" % next_cursor_value, out]


# -- HRANDFIELD ----------------------------------------------------------------------------------

# Redis switches from "copy and remove" to "pick until enough" when count * 3 <= size.
SUB_STRATEGY_MUL = 3


def hrandfield_command(ctx: Session, argv: list[bytes]) -> object:
    """``hrandfieldCommand``: count and WITHVALUES are checked before the key."""
    if len(argv) == 2:
        value = _read(ctx, argv[1])
        return None if value is None else value.random_field(ctx.node.rng)
    count = parse_int(argv[2])
    if count < -LONG_MAX:
        raise RespError(COUNT_OUT_OF_RANGE)
    withvalues = False
    if len(argv) > 4 or (len(argv) == 4 and _option(argv[3]) != b"withvalues"):
        raise syntax_error()
    if len(argv) == 4:
        withvalues = True
        if not -(LONG_MAX // 2) <= count <= LONG_MAX // 2:
            raise RespError(VALUE_OUT_OF_RANGE)
    value = _read(ctx, argv[1])
    if value is None or count == 0:
        return EMPTY_ARRAY
    fields = value.fields
    rng = ctx.node.rng
    if count < 0 or count == 1:
        picked = [value.random_field(rng) for _ in range(-count if count < 0 else 1)]
    elif count >= len(fields):
        picked = list(fields)
    elif value.listpack:
        # Distinct fields in the hash's order, as lpRandomPairsUnique picks them.
        keys = list(fields)
        picked = [keys[i] for i in sorted(rng.sample(range(len(keys)), count))]
    else:
        picked = rng.sample(value.picker().keys, count)
    if not withvalues:
        return picked
    if ctx.resp3:
        return [[field, fields[field]] for field in picked]
    out: list[bytes] = []
    for field in picked:
        out.append(field)
        out.append(fields[field])
    return out


# -- DUMP / RESTORE ------------------------------------------------------------------------------


def _encode(value: object, compress: bool) -> bytes:
    """``rdbSaveObject`` for a hash: the listpack blob, or length + field/value strings."""
    assert isinstance(value, Hash)
    if value.listpack:
        flat: list[bytes] = []
        for field, item in value.fields.items():
            flat.append(field)
            flat.append(item)
        return rdb.encode_string(build_listpack(flat), compress)
    parts = [rdb.encode_length(len(value.fields))]
    for field, item in value.fields.items():
        parts.append(rdb.encode_string(field, compress))
        parts.append(rdb.encode_string(item, compress))
    return b"".join(parts)


def _load_limits(reader: rdb.Reader) -> tuple[int, int]:
    config = reader.config
    if config is None:
        return DEFAULT_MAX_ENTRIES, DEFAULT_MAX_VALUE
    return (
        config.get_int("hash-max-listpack-entries"),  # type: ignore[attr-defined]
        config.get_int("hash-max-listpack-value"),  # type: ignore[attr-defined]
    )


def _decode_table(reader: rdb.Reader) -> object:
    """``RDB_TYPE_HASH``: a listpack unless there are too many pairs or a long one."""
    length, _ = reader.read_length()
    if length == 0:
        raise rdb.RdbError("empty hash")
    max_entries, max_value = _load_limits(reader)
    value = Hash(listpack=length <= max_entries)
    for _ in range(length):
        field = reader.read_string()
        item = reader.read_string()
        if field in value.fields:
            raise rdb.RdbError("duplicate hash field")
        value.set(field, item, max_entries, max_value)
    return value


def _from_flat(elements: list[bytes], reader: rdb.Reader) -> Hash:
    """A listpack (or ziplist) payload: pairs in order; converted if over the entry limit."""
    if not elements or len(elements) % 2:
        raise rdb.RdbError("empty or odd hash listpack")
    fields = dict(zip(elements[::2], elements[1::2], strict=True))
    if len(fields) * 2 != len(elements):
        raise rdb.RdbError("duplicate hash field")
    max_entries, _ = _load_limits(reader)
    return Hash(fields, listpack=len(fields) <= max_entries)


def _decode_listpack(reader: rdb.Reader) -> object:
    return _from_flat(decode_listpack(reader.read_string()), reader)


def _decode_ziplist(reader: rdb.Reader) -> object:
    return _from_flat(decode_ziplist(reader.read_string()), reader)


def register_rdb() -> None:
    """Teach DUMP/RESTORE hashes (idempotent)."""
    rdb.register_type(Hash, RDB_TYPE_HASH, _encode, _decode_table)
    rdb.register_decoder(RDB_TYPE_HASH_LISTPACK, _decode_listpack)
    rdb.register_decoder(RDB_TYPE_HASH_ZIPLIST, _decode_ziplist)


register_rdb()


HANDLERS = {
    "hset": hset_command,
    "hmset": hmset_command,
    "hsetnx": hsetnx_command,
    "hdel": hdel_command,
    "hincrby": hincrby_command,
    "hincrbyfloat": hincrbyfloat_command,
    "hget": hget_command,
    "hmget": hmget_command,
    "hlen": hlen_command,
    "hstrlen": hstrlen_command,
    "hexists": hexists_command,
    "hkeys": hkeys_command,
    "hvals": hvals_command,
    "hgetall": hgetall_command,
    "hscan": hscan_command,
    "hrandfield": hrandfield_command,
}
