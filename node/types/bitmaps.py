"""Bitmap commands on strings, a port of Redis 7.0.15's ``bitops.c``.

Bit 0 is the most significant bit of the first byte. Commands that write (SETBIT, BITFIELD,
BITOP) leave a ``bytearray`` in the keyspace, which OBJECT ENCODING reports as ``raw`` like the
sds strings Redis builds with ``createObject`` / ``dbUnshareStringValue``; reads accept
``bytes`` too. The checks run in Redis's order (arguments, then the key, then the rest), which
decides which error wins and when a missing key answers before a bad argument is even read.
"""

from __future__ import annotations

from node.protocol.errors import RespError, WrongTypeError, syntax_error
from node.protocol.resp import parse_long_long
from node.session import Session
from node.types.common import parse_int, read_string

BIT_OFFSET_ERROR = "ERR bit offset is not an integer or out of range"
BIT_VALUE_ERROR = "ERR bit is not an integer or out of range"
BITPOS_BIT_ERROR = "ERR The bit argument must be 1 or 0."
BITOP_NOT_ERROR = "ERR BITOP NOT must be called with a single source key."
BITFIELD_TYPE_ERROR = (
    "ERR Invalid bitfield type. Use something like i16 u8. "
    "Note that u64 is not supported but i64 is."
)
OVERFLOW_TYPE_ERROR = "ERR Invalid OVERFLOW type specified"
BITFIELD_RO_ERROR = "ERR BITFIELD_RO only supports the GET subcommand"

MASK64 = (1 << 64) - 1
INT64_MAX = (1 << 63) - 1
_INVERT = bytes(255 - b for b in range(256))

# BITFIELD opcodes and overflow behaviours (Redis's BITFIELDOP_* and BFOVERFLOW_*).
GET, SET, INCRBY = 0, 1, 2
WRAP, SAT, FAIL = 0, 1, 2
_OVERFLOW_TYPES = {b"wrap": WRAP, b"sat": SAT, b"fail": FAIL}


def _c_word(arg: bytes) -> bytes:
    """An argument as ``strcasecmp`` sees it: up to the first NUL, lowercased."""
    if b"\0" in arg:
        arg = arg[: arg.index(b"\0")]
    return arg.lower()


def _int64(value: int) -> int:
    """Two's complement wrap to a signed 64-bit integer, as C's conversions do."""
    value &= MASK64
    return value - (1 << 64) if value >> 63 else value


# -- shared lookups ------------------------------------------------------------------------------


def bit_offset(ctx: Session, raw: bytes, use_hash: bool = False, bits: int = 0) -> int:
    """Redis's ``getBitOffsetFromArgument``: a bit offset below ``proto-max-bulk-len`` * 8.
    With ``use_hash`` (BITFIELD), ``#N`` means N times the field width."""
    hashed = use_hash and bits > 0 and raw[:1] == b"#"
    offset = parse_long_long(raw[1:] if hashed else raw)
    if offset is None:
        raise RespError(BIT_OFFSET_ERROR)
    if hashed:
        offset = _int64(offset * bits)  # C multiplies in 64 bits
    if offset < 0 or (offset >> 3) >= ctx.node.proto_max_bulk_len:
        raise RespError(BIT_OFFSET_ERROR)
    return offset


def _string_for_bits(ctx: Session, key: bytes, max_bit: int) -> tuple[bytearray, bool, int]:
    """Redis's ``lookupStringForBitCommand``: the string at ``key`` as a private bytearray
    holding at least bit ``max_bit`` (zero-grown, or created). Returns it, whether it was
    created, and how many bytes it grew; WRONGTYPE for another type."""
    size = (max_bit >> 3) + 1
    value = ctx.db.lookup(key, ctx.node.now_ms)
    if value is None:
        return bytearray(size), True, size
    t = type(value)
    if t is bytes:
        value = bytearray(value)  # dbUnshareStringValue: same bytes, nothing signalled
        ctx.db.data[key] = value
    elif t is not bytearray:
        raise WrongTypeError()
    grown = size - len(value)  # type: ignore[arg-type]
    if grown > 0:
        value.extend(bytes(grown))  # type: ignore[union-attr]
        return value, False, grown  # type: ignore[return-value]
    return value, False, 0  # type: ignore[return-value]


def _store(ctx: Session, key: bytes, value: bytearray, created: bool, grown: int) -> None:
    """Signal a write: a new key is added, an existing one reported modified in place."""
    if created:
        ctx.db.set(key, value)
    else:
        ctx.db.modified(key, grown)


def _range(start: int, end: int, total: int) -> tuple[int, int]:
    """Redis's index normalisation shared by BITCOUNT and BITPOS."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    if start < 0:
        start = 0
    if end < 0:
        end = 0
    if end >= total:
        end = total - 1
    return start, end


def _unit_is_bit(arg: bytes) -> bool:
    word = _c_word(arg)
    if word == b"bit":
        return True
    if word == b"byte":
        return False
    raise syntax_error()


# -- SETBIT / GETBIT ----------------------------------------------------------------------------


def setbit_command(ctx: Session, argv: list[bytes]) -> object:
    """SETBIT key offset 0|1: the previous bit. As Redis 7.0, an unchanged bit of a string
    that did not grow is not a write (no WATCH invalidation)."""
    offset = bit_offset(ctx, argv[2])
    on = parse_int(argv[3], BIT_VALUE_ERROR)
    if on & ~1:
        raise RespError(BIT_VALUE_ERROR)
    key = argv[1]
    value, created, grown = _string_for_bits(ctx, key, offset)
    byte = offset >> 3
    mask = 1 << (7 - (offset & 7))
    old = value[byte] & mask
    if created or grown or bool(old) != bool(on):
        value[byte] = (value[byte] | mask) if on else (value[byte] & ~mask)
        _store(ctx, key, value, created, grown)
    return 1 if old else 0


def getbit_command(ctx: Session, argv: list[bytes]) -> object:
    offset = bit_offset(ctx, argv[2])
    value = read_string(ctx, argv[1])
    if value is None:
        return 0
    byte = offset >> 3
    if byte >= len(value):
        return 0
    return 1 if value[byte] & (1 << (7 - (offset & 7))) else 0


# -- BITCOUNT / BITPOS -----------------------------------------------------------------------------


def _popcount(data: bytes | bytearray, start: int, end: int) -> int:
    """Set bits in ``data[start:end + 1]``."""
    return int.from_bytes(data[start : end + 1], "big").bit_count()


def bitcount_command(ctx: Session, argv: list[bytes]) -> object:
    """BITCOUNT key [start end [BYTE|BIT]]. A missing key is 0 before any argument is read;
    negative start > end is 0 before the unit is checked (Redis 7.0's order)."""
    value = read_string(ctx, argv[1])
    if value is None:
        return 0
    argc = len(argv)
    first_mask = last_mask = 0
    if argc in (4, 5):
        start = parse_int(argv[2])
        end = parse_int(argv[3])
        if start < 0 and end < 0 and start > end:
            return 0
        is_bit = _unit_is_bit(argv[4]) if argc == 5 else False
        total = len(value) * 8 if is_bit else len(value)
        start, end = _range(start, end, total)
        if is_bit and start <= end:
            first_mask = ~((1 << (8 - (start & 7))) - 1) & 0xFF
            last_mask = (1 << (7 - (end & 7))) - 1
            start >>= 3
            end >>= 3
    elif argc == 2:
        start, end = 0, len(value) - 1
    else:
        raise syntax_error()
    if start > end:
        return 0
    bits = _popcount(value, start, end)
    if first_mask:
        bits -= (value[start] & first_mask).bit_count()
    if last_mask:
        bits -= (value[end] & last_mask).bit_count()
    return bits


def _bitpos(data: bytes | bytearray, bit: int) -> int:
    """Redis's ``redisBitpos``: the first ``bit`` in ``data``; for 0 bits the string counts as
    zero-padded (so the answer is at most len*8), for 1 bits -1 means none."""
    skip = b"\xff" if not bit else b"\0"
    rest = bytes(data).lstrip(skip)
    if not rest:
        return -1 if bit else len(data) * 8
    byte = rest[0] if bit else rest[0] ^ 0xFF
    return (len(data) - len(rest)) * 8 + 8 - byte.bit_length()


def bitpos_command(ctx: Session, argv: list[bytes]) -> object:
    """BITPOS key bit [start [end [BYTE|BIT]]] (Redis 7.0's ``bitposCommand``)."""
    bit = parse_int(argv[2])
    if bit not in (0, 1):
        raise RespError(BITPOS_BIT_ERROR)
    value = read_string(ctx, argv[1])
    if value is None:
        return -1 if bit else 0
    argc = len(argv)
    end_given = False
    first_mask = last_mask = 0
    if argc in (4, 5, 6):
        total = len(value)
        start = parse_int(argv[3])
        is_bit = _unit_is_bit(argv[5]) if argc == 6 else False
        if argc >= 5:
            end = parse_int(argv[4])
            end_given = True
        else:
            end = (total << 3) + 7 if is_bit else total - 1
        if is_bit:
            total <<= 3
        start, end = _range(start, end, total)
        if is_bit and start <= end:
            first_mask = ~((1 << (8 - (start & 7))) - 1) & 0xFF
            last_mask = (1 << (7 - (end & 7))) - 1
            start >>= 3
            end >>= 3
    elif argc == 3:
        start, end = 0, len(value) - 1
    else:
        raise syntax_error()
    if start > end:
        return -1
    pos, start, nbytes = _bitpos_masked(value, bit, start, end, first_mask, last_mask)
    # With an explicit end, clear bits past the range do not count (no zero padding).
    if end_given and bit == 0 and pos == nbytes << 3:
        return -1
    return pos + (start << 3) if pos != -1 else -1


def _bitpos_masked(
    value: bytes | bytearray, bit: int, start: int, end: int, first_mask: int, last_mask: int
) -> tuple[int, int, int]:
    """The search of ``bitposCommand`` with BIT-unit edge masks: the first byte, the whole
    bytes, then the last byte, each skipped once it holds no answer. Returns (position
    relative to ``start``, ``start``, bytes left) as Redis leaves them at its ``result:``."""
    nbytes = end - start + 1
    if first_mask:
        tmp = value[start] & ~first_mask if bit else value[start] | first_mask
        if last_mask and nbytes == 1:
            tmp = tmp & ~last_mask if bit else tmp | last_mask
        pos = _bitpos(bytes((tmp & 0xFF,)), bit)
        if nbytes == 1 or (pos != -1 and pos != 8):
            return pos, start, nbytes
        start += 1
        nbytes -= 1
    whole = nbytes - (1 if last_mask else 0)
    if whole > 0:
        pos = _bitpos(value[start : start + whole], bit)
        if nbytes == whole or (pos != -1 and pos != whole << 3):
            return pos, start, nbytes
        start += whole
        nbytes -= whole
    tmp = value[end] & ~last_mask if bit else value[end] | last_mask
    return _bitpos(bytes((tmp & 0xFF,)), bit), start, nbytes


# -- BITOP -----------------------------------------------------------------------------------------

_BITOPS = (b"and", b"or", b"xor", b"not")


def bitop_command(ctx: Session, argv: list[bytes]) -> object:
    """BITOP AND|OR|XOR|NOT destkey key [key ...]: the result length (the longest source,
    shorter ones zero-padded). An all-empty result deletes the destination."""
    op = _c_word(argv[1])
    if op not in _BITOPS:
        raise syntax_error()
    if op == b"not" and len(argv) != 4:
        raise RespError(BITOP_NOT_ERROR)
    sources: list[bytes | bytearray] = []
    for i in range(3, len(argv)):
        value = read_string(ctx, argv[i])
        sources.append(b"" if value is None else value)
    maxlen = max(len(s) for s in sources)
    target = argv[2]
    db = ctx.db
    if not maxlen:
        db.delete(target)
        return 0
    if op == b"not":
        result = bytearray(bytes(sources[0]).translate(_INVERT))
    else:
        acc = int.from_bytes(bytes(sources[0]).ljust(maxlen, b"\0"), "big")
        for source in sources[1:]:
            operand = int.from_bytes(bytes(source).ljust(maxlen, b"\0"), "big")
            if op == b"and":
                acc &= operand
            elif op == b"or":
                acc |= operand
            else:
                acc ^= operand
        result = bytearray(acc.to_bytes(maxlen, "big"))
    if db.expires and target in db.expires:
        db.lookup(target, ctx.node.now_ms)  # setKey's lookupKeyWrite expires a due key
    db.set(target, result)
    return maxlen


# -- BITFIELD --------------------------------------------------------------------------------------


def _get_unsigned(data: bytes | bytearray, offset: int, bits: int) -> int:
    """``getUnsignedBitfield``; bytes past the end read as zero."""
    first = offset >> 3
    last = (offset + bits - 1) >> 3
    chunk = bytes(data[first : last + 1]).ljust(last - first + 1, b"\0")
    spare = (last + 1) * 8 - (offset + bits)
    return (int.from_bytes(chunk, "big") >> spare) & ((1 << bits) - 1)


def _get_signed(data: bytes | bytearray, offset: int, bits: int) -> int:
    value = _get_unsigned(data, offset, bits)
    return value - (1 << bits) if value >> (bits - 1) else value


def _set_bits(data: bytearray, offset: int, bits: int, value: int) -> None:
    """``setUnsignedBitfield``: the low ``bits`` bits of ``value`` (two's complement for
    negatives) at bit ``offset``; the string already covers the field."""
    first = offset >> 3
    last = (offset + bits - 1) >> 3
    spare = (last + 1) * 8 - (offset + bits)
    field_mask = ((1 << bits) - 1) << spare
    current = int.from_bytes(data[first : last + 1], "big")
    updated = (current & ~field_mask) | ((value << spare) & field_mask)
    data[first : last + 1] = updated.to_bytes(last - first + 1, "big")


def _check_unsigned(value: int, incr: int, bits: int, owtype: int) -> tuple[int, int]:
    """``checkUnsignedBitfieldOverflow`` with C's 64-bit arithmetic: (overflow, limit) where
    overflow is 1, -1 or 0 and limit the wrapped or saturated value."""
    maximum = MASK64 if bits == 64 else (1 << bits) - 1
    maxincr = _int64(maximum - value)
    minincr = _int64(-value)
    if value > maximum or (incr > 0 and incr > maxincr):
        overflow, limit = 1, maximum
    elif incr < 0 and incr < minincr:
        overflow, limit = -1, 0
    else:
        return 0, 0
    if owtype == WRAP:
        limit = ((value + incr) & MASK64) & ((1 << bits) - 1)
    return overflow, limit


def _check_signed(value: int, incr: int, bits: int, owtype: int) -> tuple[int, int]:
    """``checkSignedBitfieldOverflow``, including its wrapped ``maxincr``/``minincr``: SET i8
    with -2^63 saturates high, exactly as Redis does."""
    maximum = INT64_MAX if bits == 64 else (1 << (bits - 1)) - 1
    minimum = -maximum - 1
    maxincr = _int64(maximum - value)
    minincr = _int64(minimum - value)
    if (
        value > maximum
        or (bits != 64 and incr > maxincr)
        or (value >= 0 and incr > 0 and incr > maxincr)
    ):
        overflow, limit = 1, maximum
    elif (
        value < minimum
        or (bits != 64 and incr < minincr)
        or (value < 0 and incr < 0 and incr < minincr)
    ):
        overflow, limit = -1, minimum
    else:
        return 0, 0
    if owtype == WRAP:
        wrapped = (value + incr) & MASK64
        if bits < 64:
            high = MASK64 ^ ((1 << bits) - 1)
            wrapped = wrapped | high if wrapped & (1 << (bits - 1)) else wrapped & ~high
        limit = _int64(wrapped)
    return overflow, limit


def _bitfield_type(arg: bytes) -> tuple[bool, int]:
    """``getBitfieldTypeFromArgument``: ``i1``..``i64`` or ``u1``..``u63`` (lowercase)."""
    head = arg[:1]
    if head not in (b"i", b"u"):
        raise RespError(BITFIELD_TYPE_ERROR)
    signed = head == b"i"
    digits = arg[1:]
    if b"\0" in digits:  # parsed as a C string
        digits = digits[: digits.index(b"\0")]
    bits = parse_long_long(digits)
    if bits is None or bits < 1 or bits > (64 if signed else 63):
        raise RespError(BITFIELD_TYPE_ERROR)
    return signed, bits


def _parse_bitfield(ctx: Session, argv: list[bytes]) -> tuple[list[tuple], int | None]:
    """The operations of a BITFIELD call, and the highest bit a write reaches (None for a
    read-only call). Errors come in argument order, before the key is looked at."""
    ops: list[tuple] = []
    owtype = WRAP
    highest: int | None = None
    j, argc = 2, len(argv)
    while j < argc:
        remaining = argc - j - 1
        name = _c_word(argv[j])
        if name == b"get" and remaining >= 2:
            opcode = GET
        elif name == b"set" and remaining >= 3:
            opcode = SET
        elif name == b"incrby" and remaining >= 3:
            opcode = INCRBY
        elif name == b"overflow" and remaining >= 1:
            chosen = _OVERFLOW_TYPES.get(_c_word(argv[j + 1]))
            if chosen is None:
                raise RespError(OVERFLOW_TYPE_ERROR)
            owtype = chosen
            j += 2
            continue
        else:
            raise syntax_error()
        signed, bits = _bitfield_type(argv[j + 1])
        offset = bit_offset(ctx, argv[j + 2], True, bits)
        argument = 0
        if opcode != GET:
            reach = offset + bits - 1
            highest = reach if highest is None or reach > highest else highest
            argument = parse_int(argv[j + 3])
        ops.append((opcode, signed, bits, offset, argument, owtype))
        j += 3 if opcode == GET else 4
    return ops, highest


def _bitfield(ctx: Session, argv: list[bytes], read_only: bool) -> object:
    """Redis's ``bitfieldGeneric``: every operation is parsed first, the string grown once to
    the farthest written bit, then the operations run in order on it."""
    ops, highest = _parse_bitfield(ctx, argv)
    key = argv[1]
    created, grown = False, 0
    value: bytes | bytearray | None
    if highest is None:
        value = read_string(ctx, key)
    elif read_only:
        raise RespError(BITFIELD_RO_ERROR)
    else:
        value, created, grown = _string_for_bits(ctx, key, highest)
    replies: list[object] = []
    changes = 0
    for opcode, signed, bits, offset, argument, owtype in ops:
        if opcode == GET:
            if value is None:
                replies.append(0)
            elif signed:
                replies.append(_get_signed(value, offset, bits))
            else:
                replies.append(_get_unsigned(value, offset, bits))
            continue
        reply, changed = _write_field(value, opcode, signed, bits, offset, argument, owtype)  # type: ignore[arg-type]
        replies.append(reply)
        changes += changed
    if changes or created or grown:
        _store(ctx, key, value, created, grown)  # type: ignore[arg-type]
    return replies


def _write_field(
    value: bytearray, opcode: int, signed: bool, bits: int, offset: int, argument: int, owtype: int
) -> tuple[int | None, bool]:
    """One SET or INCRBY: the reply (old value for SET, new for INCRBY; None when OVERFLOW
    FAIL refuses the write) and whether the field changed (Redis 7.0 signals a BITFIELD only
    when a field changed or the string was created or grown)."""
    if signed:
        old = _get_signed(value, offset, bits)
        if opcode == INCRBY:
            overflow, limit = _check_signed(old, argument, bits, owtype)
            new = limit if overflow else old + argument
            reply = new
        else:
            overflow, limit = _check_signed(argument, 0, bits, owtype)
            new = limit if overflow else argument
            reply = old
    else:
        old = _get_unsigned(value, offset, bits)
        if opcode == INCRBY:
            overflow, limit = _check_unsigned(old, argument, bits, owtype)
            new = limit if overflow else (old + argument) & MASK64
            reply = new
        else:
            as_unsigned = argument & MASK64  # C converts the signed argument
            overflow, limit = _check_unsigned(as_unsigned, 0, bits, owtype)
            new = limit if overflow else as_unsigned
            reply = old
    if overflow and owtype == FAIL:
        return None, False
    _set_bits(value, offset, bits, new)
    return reply, old != new


def bitfield_command(ctx: Session, argv: list[bytes]) -> object:
    return _bitfield(ctx, argv, False)


def bitfield_ro_command(ctx: Session, argv: list[bytes]) -> object:
    return _bitfield(ctx, argv, True)


HANDLERS = {
    "setbit": setbit_command,
    "getbit": getbit_command,
    "bitcount": bitcount_command,
    "bitpos": bitpos_command,
    "bitop": bitop_command,
    "bitfield": bitfield_command,
    "bitfield_ro": bitfield_ro_command,
}
