"""HyperLogLog commands, a port of Redis 7.0.15's ``hyperloglog.c``.

An HLL is a plain string, so a value written by Redis reads here and the other way round. Its
layout, byte for byte as Redis's ``struct hllhdr``::

    "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | cached cardinality (8 bytes, LE)

followed by the registers. The cardinality cache is valid unless the top bit of its last byte
is set. Dense: 16,384 six-bit registers packed from the least significant bit of each byte
(12,288 bytes). Sparse: a run-length code of ZERO (``00xxxxxx``, 1-64 zero registers), XZERO
(``01xxxxxx yyyyyyyy``, 1-16,384 zero registers) and VAL (``1vvvvvxx``, 1-4 registers set to
1-32) opcodes, promoted to dense when a register needs more than 32 or the string would grow
past ``hll-sparse-max-bytes``.

The sparse code is not canonical (Redis merges adjacent VAL opcodes only near the one it
edited), so ``sparse_set`` replays Redis's ``hllSparseSet`` step for step: the stored bytes are
then identical to Redis's after the same commands. Values are mutated in place as ``bytearray``
(``dbUnshareStringValue`` turns them into raw sds strings; OBJECT ENCODING says ``raw``).
"""

from __future__ import annotations

import math
import struct

from node.protocol.errors import RespError, WrongTypeError
from node.protocol.resp import OK, SimpleString
from node.session import Session
from node.types.common import read_string

HLL_P = 14
HLL_Q = 64 - HLL_P
HLL_REGISTERS = 1 << HLL_P
HLL_P_MASK = HLL_REGISTERS - 1
HLL_BITS = 6
HLL_REGISTER_MAX = (1 << HLL_BITS) - 1
HLL_HDR_SIZE = 16
HLL_DENSE_SIZE = HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) // 8
HLL_DENSE = 0
HLL_SPARSE = 1
HLL_MAX_ENCODING = 1
HLL_SPARSE_VAL_MAX_VALUE = 32
HLL_SPARSE_VAL_MAX_LEN = 4
HLL_SPARSE_ZERO_MAX_LEN = 64
HLL_SPARSE_XZERO_MAX_LEN = 16384
HLL_ALPHA_INF = 0.721347520444481703680  # 0.5 / ln(2)
HLL_HASH_SEED = 0xADC83B19
ENCODING_OFFSET = 4
CARD_OFFSET = 8
CACHE_INVALID_BIT = 0x80  # in the last byte of the cached cardinality

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
INVALID_HLL = "INVALIDOBJ Corrupted HLL object detected"
NO_SUCH_KEY = "ERR The specified key does not exist"
NOT_SPARSE = "ERR HLL encoding is not sparse"

_M = 0xC6A4A7935BD1E995
_MASK64 = (1 << 64) - 1
_Q_STOP = 1 << HLL_Q
_unpack_q = struct.Struct("<Q").unpack_from


class CorruptHLL(Exception):
    """A sparse representation whose runs do not cover exactly 16,384 registers."""


# -- hashing ----------------------------------------------------------------------------------


def murmurhash64a(data: bytes, seed: int = HLL_HASH_SEED) -> int:
    """Redis's endian-neutral ``MurmurHash64A``: 8-byte little-endian blocks, then the tail."""
    n = len(data)
    h = (seed ^ (n * _M)) & _MASK64
    end = n - (n & 7)
    for offset in range(0, end, 8):
        k = (_unpack_q(data, offset)[0] * _M) & _MASK64
        k ^= k >> 47
        h ^= (k * _M) & _MASK64
        h = (h * _M) & _MASK64
    if n & 7:
        h ^= int.from_bytes(data[end:], "little")
        h = (h * _M) & _MASK64
    h ^= h >> 47
    h = (h * _M) & _MASK64
    return h ^ (h >> 47)


def pattern_len(element: bytes) -> tuple[int, int]:
    """Redis's ``hllPatLen``: (register index, length of the ``000...1`` run + 1 pattern)."""
    h = murmurhash64a(element)
    rest = (h >> HLL_P) | _Q_STOP
    return h & HLL_P_MASK, (rest & -rest).bit_length()


# -- dense representation -----------------------------------------------------------------------


def dense_get(hll: bytearray | bytes, index: int) -> int:
    """``HLL_DENSE_GET_REGISTER``; the byte past the last register reads as sds's NUL."""
    pos = index * HLL_BITS
    byte = HLL_HDR_SIZE + (pos >> 3)
    fb = pos & 7
    if fb <= 2:
        return (hll[byte] >> fb) & HLL_REGISTER_MAX
    return ((hll[byte] >> fb) | (hll[byte + 1] << (8 - fb))) & HLL_REGISTER_MAX


def dense_set(hll: bytearray, index: int, count: int) -> int:
    """Redis's ``hllDenseSet``: raise register ``index`` to ``count``; 1 if it changed."""
    pos = index * HLL_BITS
    byte = HLL_HDR_SIZE + (pos >> 3)
    fb = pos & 7
    if fb <= 2:
        b0 = hll[byte]
        if count <= (b0 >> fb) & HLL_REGISTER_MAX:
            return 0
        hll[byte] = (b0 & ~(HLL_REGISTER_MAX << fb) & 0xFF) | (count << fb)
        return 1
    b0 = hll[byte]
    b1 = hll[byte + 1]
    if count <= ((b0 >> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX:
        return 0
    hll[byte] = (b0 & ((1 << fb) - 1)) | ((count << fb) & 0xFF)
    hll[byte + 1] = (b1 & ~(HLL_REGISTER_MAX >> (8 - fb)) & 0xFF) | (count >> (8 - fb))
    return 1


def dense_add_all(hll: bytearray, elements: list[bytes], start: int) -> int:
    """``hllDenseAdd`` for ``elements[start:]``: how many raised a register.

    The hash and the register update are inlined: this loop is where PFADD spends its time."""
    updated = 0
    unpack_q = _unpack_q
    m, mask, stop = _M, _MASK64, _Q_STOP
    for i in range(start, len(elements)):
        data = elements[i]
        n = len(data)
        h = (HLL_HASH_SEED ^ (n * m)) & mask
        end = n - (n & 7)
        for offset in range(0, end, 8):
            k = (unpack_q(data, offset)[0] * m) & mask
            k ^= k >> 47
            h ^= (k * m) & mask
            h = (h * m) & mask
        if n & 7:
            h ^= int.from_bytes(data[end:], "little")
            h = (h * m) & mask
        h ^= h >> 47
        h = (h * m) & mask
        h ^= h >> 47
        rest = (h >> 14) | stop
        count = (rest & -rest).bit_length()
        pos = (h & 16383) * 6
        byte = 16 + (pos >> 3)
        fb = pos & 7
        b0 = hll[byte]
        if fb <= 2:
            if count > (b0 >> fb) & 63:
                hll[byte] = (b0 & ~(63 << fb) & 0xFF) | (count << fb)
                updated += 1
        else:
            b1 = hll[byte + 1]
            if count > ((b0 >> fb) | (b1 << (8 - fb))) & 63:
                hll[byte] = (b0 & ((1 << fb) - 1)) | ((count << fb) & 0xFF)
                hll[byte + 1] = (b1 & ~(63 >> (8 - fb)) & 0xFF) | (count >> (8 - fb))
                updated += 1
    return updated


def _table(fn) -> bytes:  # type: ignore[no-untyped-def]
    return bytes(fn(b) & 0xFF for b in range(256))


_LOW6 = _table(lambda b: b & 63)
_SHR6 = _table(lambda b: b >> 6)
_LOW4_SHL2 = _table(lambda b: (b & 15) << 2)
_SHR4 = _table(lambda b: b >> 4)
_LOW2_SHL4 = _table(lambda b: (b & 3) << 4)
_SHR2 = _table(lambda b: b >> 2)
_LOW2_SHL6 = _table(lambda b: (b & 3) << 6)
_SHL2 = _table(lambda b: b << 2)
_LOW4_SHL4 = _table(lambda b: (b & 15) << 4)


def _or_bytes(a: bytes, b: bytes) -> bytes:
    """Bytewise OR of two equal-length strings (no carries cross bytes in an integer OR)."""
    return (int.from_bytes(a, "big") | int.from_bytes(b, "big")).to_bytes(len(a), "big")


def dense_registers(hll: bytes | bytearray) -> bytearray:
    """All 16,384 dense registers, one byte each (every 3 bytes hold 4 registers)."""
    regs = bytes(hll[HLL_HDR_SIZE:HLL_DENSE_SIZE])
    b0, b1, b2 = regs[0::3], regs[1::3], regs[2::3]
    out = bytearray(HLL_REGISTERS)
    out[0::4] = b0.translate(_LOW6)
    out[1::4] = _or_bytes(b0.translate(_SHR6), b1.translate(_LOW4_SHL2))
    out[2::4] = _or_bytes(b1.translate(_SHR4), b2.translate(_LOW2_SHL4))
    out[3::4] = b2.translate(_SHR2)
    return out


def pack_registers(registers: bytes | bytearray) -> bytes:
    """The 12,288 dense bytes for 16,384 register values below 64 (``dense_registers``'s
    inverse, as setting each register with ``HLL_DENSE_SET_REGISTER`` on zeroed bytes)."""
    regs = bytes(registers)
    r0, r1, r2, r3 = regs[0::4], regs[1::4], regs[2::4], regs[3::4]
    out = bytearray(HLL_DENSE_SIZE - HLL_HDR_SIZE)
    out[0::3] = _or_bytes(r0, r1.translate(_LOW2_SHL6))
    out[1::3] = _or_bytes(r1.translate(_SHR2), r2.translate(_LOW4_SHL4))
    out[2::3] = _or_bytes(r2.translate(_SHR4), r3.translate(_SHL2))
    return bytes(out)


# -- sparse representation ----------------------------------------------------------------------


def _val(value: int, length: int) -> int:
    """``HLL_SPARSE_VAL_SET``."""
    return 0x80 | ((value - 1) << 2) | (length - 1)


def _zero_run(out: bytearray, length: int) -> None:
    """A run of zero registers as ZERO (up to 64) or XZERO, as hllSparseSet splits them."""
    if length > HLL_SPARSE_ZERO_MAX_LEN:
        rest = length - 1
        out.append((rest >> 8) | 0x40)
        out.append(rest & 0xFF)
    else:
        out.append(length - 1)


def create_hll() -> bytearray:
    """Redis's ``createHLLObject``: a sparse HLL of one XZERO run over every register."""
    hll = bytearray(b"HYLL\x01" + bytes(11))
    aux = HLL_REGISTERS
    while aux:
        xzero = min(HLL_SPARSE_XZERO_MAX_LEN, aux)
        hll.append(((xzero - 1) >> 8) | 0x40)
        hll.append((xzero - 1) & 0xFF)
        aux -= xzero
    return hll


def _xzero_len(hll: bytes | bytearray, p: int) -> int:
    """``HLL_SPARSE_XZERO_LEN``; a truncated opcode's second byte is sds's terminating NUL."""
    low = hll[p + 1] if p + 1 < len(hll) else 0
    return (((hll[p] & 0x3F) << 8) | low) + 1


def sparse_runs(hll: bytes | bytearray) -> list[tuple[int, int, int]] | None:
    """The (first register, run length, value) of each VAL opcode, or None when the runs do
    not cover exactly 16,384 registers (``hllSparseToDense``/``hllMerge`` validity)."""
    runs: list[tuple[int, int, int]] = []
    idx = 0
    p, end = HLL_HDR_SIZE, len(hll)
    while p < end:
        b = hll[p]
        if b < 0x40:
            idx += b + 1
            p += 1
        elif b < 0x80:
            idx += _xzero_len(hll, p)
            p += 2
        else:
            runlen = (b & 3) + 1
            if runlen + idx > HLL_REGISTERS:
                return None
            runs.append((idx, runlen, ((b >> 2) & 0x1F) + 1))
            idx += runlen
            p += 1
    return runs if idx == HLL_REGISTERS else None


def sparse_to_dense(hll: bytearray) -> bool:
    """Redis's ``hllSparseToDense``, in place: the header (magic, unused bytes and cached
    cardinality) is kept with the encoding set to dense. False for a corrupt sparse value."""
    if hll[ENCODING_OFFSET] == HLL_DENSE:
        return True
    runs = sparse_runs(hll)
    if runs is None:
        return False
    registers = bytearray(HLL_REGISTERS)
    for idx, runlen, value in runs:
        registers[idx : idx + runlen] = bytes((value,)) * runlen
    header = hll[:HLL_HDR_SIZE]
    header[ENCODING_OFFSET] = HLL_DENSE
    hll[:] = header + pack_registers(registers)
    return True


def sparse_set(hll: bytearray, index: int, count: int, max_bytes: int) -> int:
    """Redis's ``hllSparseSet``, step for step: raise register ``index`` to ``count``.

    Returns 1 if the register changed, 0 if not, -1 for a corrupt value. May promote ``hll`` to
    dense in place (a value above 32, or growth past ``max_bytes``)."""
    if count > HLL_SPARSE_VAL_MAX_VALUE:
        return _promote(hll, index, count)
    # Step 1: the opcode covering register ``index``.
    p, end = HLL_HDR_SIZE, len(hll)
    first = span = 0
    prev = -1
    while p < end:
        b = hll[p]
        if b < 0x40:
            span = b + 1
            oplen = 1
        elif b >= 0x80:
            span = (b & 3) + 1
            oplen = 1
        else:
            span = _xzero_len(hll, p)
            oplen = 2
        if index <= first + span - 1:
            break
        prev = p
        p += oplen
        first += span
    if span == 0 or p >= end:
        return -1
    b = hll[p]
    is_zero = b < 0x40
    is_xzero = 0x40 <= b < 0x80
    runlen = span
    # Step 2: cases A-C update in place; D splits the opcode.
    if b >= 0x80:
        oldcount = ((b >> 2) & 0x1F) + 1
        if oldcount >= count:
            return 0
        if runlen == 1:
            hll[p] = _val(count, 1)
            return _merge_vals(hll, prev, len(hll))
    if is_zero and runlen == 1:
        hll[p] = _val(count, 1)
        return _merge_vals(hll, prev, len(hll))
    seq = bytearray()
    last = first + span - 1
    if is_zero or is_xzero:
        if index != first:
            _zero_run(seq, index - first)
        seq.append(_val(count, 1))
        if index != last:
            _zero_run(seq, last - index)
    else:
        curval = ((b >> 2) & 0x1F) + 1
        if index != first:
            seq.append(_val(curval, index - first))
        seq.append(_val(count, 1))
        if index != last:
            seq.append(_val(curval, last - index))
    # Step 3: substitute the new sequence, unless the string would grow too much.
    oldlen = 2 if is_xzero else 1
    deltalen = len(seq) - oldlen
    if deltalen > 0 and end + deltalen > max_bytes:
        return _promote(hll, index, count)
    hll[p : p + oldlen] = seq
    end += deltalen
    if len(hll) > end:  # a truncated XZERO at the very end: Redis's length arithmetic wins
        del hll[end:]
    return _merge_vals(hll, prev, end)


def _merge_vals(hll: bytearray, prev: int, end: int) -> int:
    """Step 4 of ``hllSparseSet``: merge adjacent VAL opcodes of the same value, scanning at
    most five opcodes from the one before the edit; then invalidate the cached cardinality."""
    p = prev if prev >= 0 else HLL_HDR_SIZE
    scanlen = 5
    while p < end and scanlen:
        scanlen -= 1
        b = hll[p]
        if b < 0x80:
            p += 2 if b >= 0x40 else 1
            continue
        if p + 1 < end:
            b2 = hll[p + 1]
            if b2 & 0x80 and (b >> 2) & 0x1F == (b2 >> 2) & 0x1F:
                length = (b & 3) + (b2 & 3) + 2
                if length <= HLL_SPARSE_VAL_MAX_LEN:
                    hll[p + 1] = _val(((b >> 2) & 0x1F) + 1, length)
                    del hll[p]
                    end -= 1
                    continue
        p += 1
    hll[CARD_OFFSET + 7] |= CACHE_INVALID_BIT
    return 1


def _promote(hll: bytearray, index: int, count: int) -> int:
    """The ``promote:`` label of ``hllSparseSet``: convert, then set the register densely."""
    if not sparse_to_dense(hll):
        return -1
    dense_set(hll, index, count)
    return 1


def add_all(hll: bytearray, elements: list[bytes], start: int, max_bytes: int) -> int:
    """``hllAdd`` for ``elements[start:]``: the number of changed registers. Raises
    ``CorruptHLL`` as soon as one add fails (earlier adds stay, as in Redis)."""
    updated = 0
    i, n = start, len(elements)
    while i < n and hll[ENCODING_OFFSET] == HLL_SPARSE:
        index, count = pattern_len(elements[i])
        result = sparse_set(hll, index, count, max_bytes)
        if result < 0:
            raise CorruptHLL()
        updated += result
        i += 1
    if i < n:
        if hll[ENCODING_OFFSET] != HLL_DENSE:
            raise CorruptHLL()
        updated += dense_add_all(hll, elements, i)
    return updated


# -- cardinality -----------------------------------------------------------------------------


def _histogram(registers: bytes | bytearray) -> list[int]:
    return [registers.count(value) for value in range(64)]


def _sparse_histogram(hll: bytes | bytearray) -> tuple[list[int], bool]:
    """``hllSparseRegHisto``: no bounds check on the way, invalid unless 16,384 in total."""
    histo = [0] * 64
    idx = 0
    p, end = HLL_HDR_SIZE, len(hll)
    while p < end:
        b = hll[p]
        if b < 0x40:
            runlen = b + 1
            histo[0] += runlen
            p += 1
        elif b < 0x80:
            runlen = _xzero_len(hll, p)
            histo[0] += runlen
            p += 2
        else:
            runlen = (b & 3) + 1
            histo[((b >> 2) & 0x1F) + 1] += runlen
            p += 1
        idx += runlen
    return histo, idx != HLL_REGISTERS


def _sigma(x: float) -> float:
    """``hllSigma`` (Ertl, arXiv:1702.01284)."""
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        z_prime = z
        z += x * y
        y += y
        if z_prime == z:
            return z


def _tau(x: float) -> float:
    """``hllTau`` (Ertl, arXiv:1702.01284)."""
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        z_prime = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if z_prime == z:
            return z / 3


def estimate(histo: list[int]) -> int:
    """The estimator of Redis's ``hllCount`` (Ertl's improved raw estimator), with
    ``llroundl``'s round-half-away-from-zero."""
    m = float(HLL_REGISTERS)
    z = m * _tau((m - histo[HLL_Q + 1]) / m)
    for j in range(HLL_Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    e = HLL_ALPHA_INF * m * m / z
    floor = math.floor(e)
    return int(floor + 1 if e - floor >= 0.5 else floor)


def count(hll: bytes | bytearray) -> int:
    """The cardinality of one HLL (``hllCount``); raises ``CorruptHLL`` for a bad sparse."""
    if hll[ENCODING_OFFSET] == HLL_DENSE:
        return estimate(_histogram(dense_registers(hll)))
    histo, invalid = _sparse_histogram(hll)
    if invalid:
        raise CorruptHLL()
    return estimate(histo)


def merge_into(maxima: bytearray, hll: bytes | bytearray) -> bytearray:
    """Redis's ``hllMerge``: registers = max(registers, hll's); returns the maxima (a new
    array for a dense source). Raises ``CorruptHLL`` for a bad sparse value."""
    if hll[ENCODING_OFFSET] == HLL_DENSE:
        registers = dense_registers(hll)
        if not any(maxima):
            return registers
        return bytearray(map(max, maxima, registers))
    runs = sparse_runs(hll)
    if runs is None:
        raise CorruptHLL()
    for idx, runlen, value in runs:
        for i in range(idx, idx + runlen):
            if value > maxima[i]:
                maxima[i] = value
    return maxima


# -- keyspace helpers -------------------------------------------------------------------------


def is_hll(value: bytes | bytearray) -> bool:
    """Redis's ``isHLLObjectOrReply`` tests after the type check: header, magic, encoding and
    the exact dense length."""
    if len(value) < HLL_HDR_SIZE or value[:4] != b"HYLL":
        return False
    encoding = value[ENCODING_OFFSET]
    if encoding > HLL_MAX_ENCODING:
        return False
    return not (encoding == HLL_DENSE and len(value) != HLL_DENSE_SIZE)


def _check_hll(value: bytes | bytearray) -> None:
    if not is_hll(value):
        raise WrongTypeError(NOT_HLL)


def _string_for_write(ctx: Session, key: bytes) -> bytes | bytearray | None:
    """``lookupKeyWrite`` + ``checkType`` (no hit/miss statistics)."""
    value = ctx.db.lookup(key, ctx.node.now_ms)
    if value is None:
        return None
    if type(value) is bytes or type(value) is bytearray:
        return value  # type: ignore[return-value]
    raise WrongTypeError()


def _unshare(ctx: Session, key: bytes, value: bytes | bytearray) -> bytearray:
    """Redis's ``dbUnshareStringValue``: the stored string becomes a private raw one.

    Same bytes, same size, and like Redis's ``dbOverwrite`` it signals nothing (no WATCH
    invalidation), so the dict slot is swapped directly."""
    if type(value) is bytearray:
        return value  # type: ignore[return-value]
    unshared = bytearray(value)
    ctx.db.data[key] = unshared
    return unshared


def _max_sparse_bytes(ctx: Session) -> int:
    return ctx.node.config.get_int("hll-sparse-max-bytes")


# -- commands --------------------------------------------------------------------------------


def pfadd_command(ctx: Session, argv: list[bytes]) -> object:
    """PFADD key [element ...]: 1 if the key was created or a register changed."""
    key = argv[1]
    value = _string_for_write(ctx, key)
    created = value is None
    if created:
        hll = create_hll()
        updated = 1
    else:
        _check_hll(value)  # type: ignore[arg-type]
        hll = _unshare(ctx, key, value)  # type: ignore[arg-type]
        updated = 0
    before = len(hll)
    if len(argv) > 2:
        try:
            updated += add_all(hll, argv, 2, _max_sparse_bytes(ctx))
        except CorruptHLL:
            ctx.db.used_bytes += len(hll) - before  # changes so far stay, unsignalled
            raise RespError(INVALID_HLL) from None
    if not updated:
        return 0
    hll[CARD_OFFSET + 7] |= CACHE_INVALID_BIT
    if created:
        ctx.db.set(key, hll)
    else:
        ctx.db.modified(key, len(hll) - before)
    return 1


def pfcount_command(ctx: Session, argv: list[bytes]) -> object:
    """PFCOUNT key [key ...]. One key: the cached cardinality, or compute it and store it in
    the header (a write, signalled as Redis does). Several: the cardinality of their union."""
    if len(argv) > 2:
        return _count_union(ctx, argv)
    key = argv[1]
    value = read_string(ctx, key)
    if value is None:
        return 0
    _check_hll(value)
    hll = _unshare(ctx, key, value)
    if not hll[CARD_OFFSET + 7] & CACHE_INVALID_BIT:
        return int.from_bytes(hll[CARD_OFFSET : CARD_OFFSET + 8], "little")
    try:
        card = count(hll)
    except CorruptHLL:
        raise RespError(INVALID_HLL) from None
    hll[CARD_OFFSET : CARD_OFFSET + 8] = card.to_bytes(8, "little")
    ctx.db.modified(key, 0)
    return card


def _count_union(ctx: Session, argv: list[bytes]) -> int:
    """PFCOUNT's multi-key case: merge into a temporary of byte registers (``HLL_RAW``)."""
    maxima = bytearray(HLL_REGISTERS)
    for i in range(1, len(argv)):
        value = read_string(ctx, argv[i])
        if value is None:
            continue
        _check_hll(value)
        try:
            maxima = merge_into(maxima, value)
        except CorruptHLL:
            raise RespError(INVALID_HLL) from None
    return estimate(_histogram(maxima))


def pfmerge_command(ctx: Session, argv: list[bytes]) -> object:
    """PFMERGE destkey [sourcekey ...]: the destination (read as a source too) gets the
    register maxima; dense if any source was, else set register by register in sparse form."""
    maxima = bytearray(HLL_REGISTERS)
    use_dense = False
    for i in range(1, len(argv)):
        value = read_string(ctx, argv[i])
        if value is None:
            continue
        _check_hll(value)
        if value[ENCODING_OFFSET] == HLL_DENSE:
            use_dense = True
        try:
            maxima = merge_into(maxima, value)
        except CorruptHLL:
            raise RespError(INVALID_HLL) from None
    key = argv[1]
    value = ctx.db.lookup(key, ctx.node.now_ms)
    created = value is None
    hll = create_hll() if created else _unshare(ctx, key, value)  # type: ignore[arg-type]
    before = len(hll)
    if created:
        ctx.db.set(key, hll)
    if use_dense and not sparse_to_dense(hll):
        ctx.db.used_bytes += len(hll) - before
        raise RespError(INVALID_HLL)
    if hll[ENCODING_OFFSET] == HLL_DENSE:
        # Every register only rises to the maxima, which already include the destination's.
        hll[HLL_HDR_SIZE:] = pack_registers(maxima)
    else:
        _sparse_merge(hll, maxima, _max_sparse_bytes(ctx))
    hll[CARD_OFFSET + 7] |= CACHE_INVALID_BIT
    ctx.db.modified(key, len(hll) - before)
    return OK


def _sparse_merge(hll: bytearray, maxima: bytearray, max_bytes: int) -> None:
    """PFMERGE's register loop on a sparse destination, which may turn dense on the way."""
    for index, value in enumerate(maxima):
        if not value:
            continue
        if hll[ENCODING_OFFSET] == HLL_DENSE:
            dense_set(hll, index, value)
        else:
            sparse_set(hll, index, value, max_bytes)


def pfdebug_command(ctx: Session, argv: list[bytes]) -> object:
    """PFDEBUG GETREG|DECODE|ENCODING|TODENSE key. The key is looked up before the
    subcommand is known; conversions to dense are not signalled (only ``server.dirty``)."""
    key = argv[2]
    value = _string_for_write(ctx, key)
    if value is None:
        raise RespError(NO_SUCH_KEY)
    _check_hll(value)
    hll = _unshare(ctx, key, value)
    name = argv[1].split(b"\0", 1)[0]  # compared as a C string, as strcasecmp does
    sub = name.lower()
    if sub == b"getreg":
        _todense_quietly(ctx, hll)
        return list(dense_registers(hll))
    if sub == b"decode":
        if hll[ENCODING_OFFSET] != HLL_SPARSE:
            raise RespError(NOT_SPARSE)
        return _decode(hll)
    if sub == b"encoding":
        return SimpleString(b"sparse" if hll[ENCODING_OFFSET] == HLL_SPARSE else b"dense")
    if sub == b"todense":
        if hll[ENCODING_OFFSET] != HLL_SPARSE:
            return 0
        _todense_quietly(ctx, hll)
        return 1
    shown = name.decode("utf-8", "surrogateescape")
    raise RespError(f"ERR Unknown PFDEBUG subcommand '{shown}'")


def _todense_quietly(ctx: Session, hll: bytearray) -> None:
    before = len(hll)
    if hll[ENCODING_OFFSET] == HLL_SPARSE and not sparse_to_dense(hll):
        raise RespError(INVALID_HLL)
    ctx.db.used_bytes += len(hll) - before


def _decode(hll: bytearray) -> bytes:
    """PFDEBUG DECODE: ``z:N`` (ZERO), ``Z:N`` (XZERO), ``v:value,N`` (VAL), space separated."""
    parts: list[str] = []
    p, end = HLL_HDR_SIZE, len(hll)
    while p < end:
        b = hll[p]
        if b < 0x40:
            parts.append(f"z:{b + 1}")
            p += 1
        elif b < 0x80:
            parts.append(f"Z:{_xzero_len(hll, p)}")
            p += 2
        else:
            parts.append(f"v:{((b >> 2) & 0x1F) + 1},{(b & 3) + 1}")
            p += 1
    return " ".join(parts).encode()


def pfselftest_command(ctx: Session, argv: list[bytes]) -> object:
    """PFSELFTEST, scaled down for Python: register access on random values, then dense and
    sparse HLLs fed the same elements must agree and stay within Redis's error bound at each
    power of ten (Redis goes to 10^7 elements; this stops at 10^4 to keep the node
    responsive)."""
    rng = ctx.node.rng
    dense = bytearray(b"HYLL" + bytes(HLL_DENSE_SIZE - 4))
    for _ in range(2):
        expected = bytes(rng.getrandbits(6) for _ in range(HLL_REGISTERS))
        dense[HLL_HDR_SIZE:] = pack_registers(expected)
        got = dense_registers(dense)
        for i in range(HLL_REGISTERS):
            if got[i] != expected[i] or dense_get(dense, i) != expected[i]:
                raise RespError(f"TESTFAILED Register {i} should be {expected[i]} but is {got[i]}")
    dense[HLL_HDR_SIZE:] = bytes(HLL_DENSE_SIZE - HLL_HDR_SIZE)
    sparse = create_hll()
    max_bytes = _max_sparse_bytes(ctx)
    relerr = 1.04 / math.sqrt(HLL_REGISTERS)
    seed = rng.getrandbits(64)
    checkpoint = 1
    for j in range(1, 10_001):
        element = struct.pack("<Q", j ^ seed)
        dense_add_all(dense, [element], 0)
        add_all(sparse, [element], 0, max_bytes)
        if j != checkpoint:
            continue
        if j < max_bytes // 2 and sparse[ENCODING_OFFSET] != HLL_SPARSE:
            raise RespError("TESTFAILED sparse encoding not used")
        card = count(dense)
        if card != count(sparse):
            raise RespError("TESTFAILED dense/sparse disagree")
        maxerr = 1 if j == 10 else math.ceil(relerr * 6 * checkpoint)
        if abs(checkpoint - card) > maxerr:
            raise RespError(
                f"TESTFAILED Too big error. card:{checkpoint} abserr:{abs(checkpoint - card)}"
            )
        checkpoint *= 10
    return OK


HANDLERS = {
    "pfadd": pfadd_command,
    "pfcount": pfcount_command,
    "pfmerge": pfmerge_command,
    "pfdebug": pfdebug_command,
    "pfselftest": pfselftest_command,
}
