"""Listpack and ziplist codecs: entry sizes, encodings, and decoding for RESTORE.

A listpack (Redis 7.0's small-collection encoding, ``listpack.c``) is a 6-byte header (total
length, element count), entries, and a 0xFF terminator. An entry stores a canonical integer in
7/13/16/24/32/64 bits (``lpEncodeIntegerGetType``) and anything else as a string with a
6/12/32-bit length (``lpEncodeString``), followed by its own encoded length in 1-5 bytes (the
back-length, for walking backwards). ``entry_size`` gives the exact bytes of an entry without
building it, which is what lets ``node.types.quicklist`` track node sizes cheaply.

Ziplists are their pre-7.0 ancestor (``ziplist.c``); only decoding is needed, for RESTORE of
payloads written by older servers.
"""

from __future__ import annotations

from node import rdb

# listpack.c: a 4-byte total length and a 2-byte element count, then the 0xFF terminator.
LP_HEADER_BYTES = 6
LP_EMPTY_BYTES = 7
LP_EOF = 0xFF
LP_COUNT_UNKNOWN = 65535


def _as_int(elem: bytes) -> int | None:
    """``lpStringToInt64``: a canonical signed 64-bit decimal (no sign but '-', no leading
    zero, at most 20 characters), or None (stored as a string)."""
    if not elem or len(elem) > 20:
        return None
    first = elem[0]
    if first != 45 and not 48 <= first <= 57:
        return None
    return rdb.canonical_int(elem)


def _backlen_size(length: int) -> int:
    """Bytes ``lpEncodeBacklen`` uses to store an entry's encoded length."""
    if length <= 127:
        return 1
    if length < 16383:
        return 2
    if length < 2097151:
        return 3
    if length < 268435455:
        return 4
    return 5


def _int_encoded_size(value: int) -> int:
    if 0 <= value <= 127:
        return 1
    if -4096 <= value <= 4095:
        return 2
    if -32768 <= value <= 32767:
        return 3
    if -8388608 <= value <= 8388607:
        return 4
    if -2147483648 <= value <= 2147483647:
        return 5
    return 9


def entry_size(elem: bytes) -> int:
    """Bytes one element takes in a listpack (encoding, data and back-length)."""
    number = _as_int(elem)
    if number is not None:
        return _int_encoded_size(number) + 1
    n = len(elem)
    if n < 64:
        return n + 2
    encoded = n + 2 if n < 4096 else n + 5
    return encoded + _backlen_size(encoded)


def _encode_backlen(length: int) -> bytes:
    if length <= 127:
        return bytes((length,))
    size = _backlen_size(length)
    out = [length >> (7 * (size - 1))]
    for shift in range(size - 2, -1, -1):
        out.append(((length >> (7 * shift)) & 127) | 128)
    return bytes(out)


def encode_entry(elem: bytes) -> bytes:
    """``lpEncodeString``/``lpEncodeIntegerGetType`` plus the back-length."""
    number = _as_int(elem)
    if number is not None:
        size = _int_encoded_size(number)
        if size == 1:
            encoded = bytes((number,))
        elif size == 2:
            bits = number & 0x1FFF
            encoded = bytes((0xC0 | (bits >> 8), bits & 0xFF))
        else:
            tag = {3: 0xF1, 4: 0xF2, 5: 0xF3, 9: 0xF4}[size]
            width = size - 1
            encoded = bytes((tag,)) + (number & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
    else:
        n = len(elem)
        if n < 64:
            encoded = bytes((0x80 | n,)) + elem
        elif n < 4096:
            encoded = bytes((0xE0 | (n >> 8), n & 0xFF)) + elem
        else:
            encoded = b"\xf0" + n.to_bytes(4, "little") + elem
    return encoded + _encode_backlen(len(encoded))


def build_listpack(elements: list[bytes]) -> bytes:
    body = b"".join([encode_entry(e) for e in elements])
    total = LP_EMPTY_BYTES + len(body)
    count = min(len(elements), LP_COUNT_UNKNOWN)
    return total.to_bytes(4, "little") + count.to_bytes(2, "little") + body + b"\xff"


def _signed(raw: bytes) -> int:
    return int.from_bytes(raw, "little", signed=True)


def decode_listpack(lp: bytes) -> list[bytes]:
    """Every element of a listpack; RdbError if it is malformed (Redis validates the header
    and terminator, then walks the entries)."""
    end = len(lp) - 1
    if end < LP_HEADER_BYTES or int.from_bytes(lp[:4], "little") != len(lp) or lp[end] != LP_EOF:
        raise rdb.RdbError("listpack integrity check failed")
    out: list[bytes] = []
    pos = LP_HEADER_BYTES
    while pos < end:
        first = lp[pos]
        if first < 0x80:
            elem, used = b"%d" % first, 1
        elif first < 0xC0:
            n = first & 0x3F
            elem, used = lp[pos + 1 : pos + 1 + n], 1 + n
        elif first < 0xE0:
            bits = ((first & 0x1F) << 8) | lp[pos + 1]
            elem, used = b"%d" % (bits - 8192 if bits >= 4096 else bits), 2
        elif first < 0xF0:
            n = ((first & 0x0F) << 8) | lp[pos + 1]
            elem, used = lp[pos + 2 : pos + 2 + n], 2 + n
        elif first == 0xF0:
            n = int.from_bytes(lp[pos + 1 : pos + 5], "little")
            elem, used = lp[pos + 5 : pos + 5 + n], 5 + n
        elif 0xF1 <= first <= 0xF4:
            width = {0xF1: 2, 0xF2: 3, 0xF3: 4, 0xF4: 8}[first]
            elem, used = b"%d" % _signed(lp[pos + 1 : pos + 1 + width]), 1 + width
        else:
            raise rdb.RdbError("invalid listpack entry encoding")
        pos += used + _backlen_size(used)
        if pos > end:
            raise rdb.RdbError("listpack entry out of range")
        out.append(elem)
    return out


def decode_ziplist(zl: bytes) -> list[bytes]:
    """Every element of a ziplist (RDB types 10 and 14, Redis before 7.0)."""
    end = len(zl) - 1
    if end < 10 or int.from_bytes(zl[:4], "little") != len(zl) or zl[end] != LP_EOF:
        raise rdb.RdbError("ziplist integrity check failed")
    out: list[bytes] = []
    pos = 10
    while pos < end:
        pos += 1 if zl[pos] < 254 else 5  # the previous entry's length
        if pos >= end:
            raise rdb.RdbError("ziplist entry out of range")
        first = zl[pos]
        kind = first >> 6
        if kind == 0:
            n, pos = first & 0x3F, pos + 1
        elif kind == 1:
            n, pos = ((first & 0x3F) << 8) | zl[pos + 1], pos + 2
        elif kind == 2:
            n, pos = int.from_bytes(zl[pos + 1 : pos + 5], "big"), pos + 5
        else:
            width = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}.get(first)
            if width is not None:
                out.append(b"%d" % _signed(zl[pos + 1 : pos + 1 + width]))
                pos += 1 + width
            elif 0xF1 <= first <= 0xFD:
                out.append(b"%d" % ((first & 0x0F) - 1))
                pos += 1
            else:
                raise rdb.RdbError("invalid ziplist entry encoding")
            continue
        out.append(zl[pos : pos + n])
        pos += n
    if pos != end:
        raise rdb.RdbError("ziplist entry out of range")
    return out
