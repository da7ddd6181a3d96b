"""DUMP/RESTORE payloads in Redis 7.0's real format, so they cross between rcsim and redis-server.

Theory of operation
-------------------
A DUMP payload (Redis's ``createDumpPayload``) is::

    <RDB object type byte> <object body> <RDB version: 2 bytes LE> <CRC-64 of all before: 8 bytes LE>

The object body for a string is Redis's ``rdbSaveRawString``: a canonical integer that fits in
8/16/32 bits is written as an *integer encoding* (``0xC0``/``0xC1``/``0xC2`` + little-endian
bytes); a string longer than 20 bytes is LZF-compressed (``0xC3`` + compressed length + original
length + data) when ``rdbcompression`` is on and compression saves at least 4 bytes; anything
else is a length prefix followed by the raw bytes. The LZF compressor is a faithful port of the
liblzf 3.6 ``lzf_c.c`` that Redis 7.0 vendors (``HLOG`` 16, ``VERY_FAST``, no ``ip + 4 < in_end``
test), so DUMP output is byte-identical to Redis's; a fuzz against redis-server found no
difference. (Redis does not clear its LZF hash table between calls, so a stale entry could in
principle let it find a match a fresh table misses; rcsim always starts fresh.)

Types are dispatched through ``register_type``: each value type supplies its RDB type code, an
encoder (value -> body bytes) and a decoder (``Reader`` -> value). Strings are registered here;
other types register from their own module. Dumping a value whose type has no encoder raises
``UnsupportedTypeError``, and so does restoring a valid RDB type code nobody registered: the
command turns it into a clear error instead of loading garbage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import crcmod

RDB_VERSION = 10  # Redis 7.0

# Length encodings (rdb.h): the top two bits of the first byte.
RDB_6BITLEN = 0
RDB_14BITLEN = 1
RDB_32BITLEN = 0x80
RDB_64BITLEN = 0x81
RDB_ENCVAL = 3
RDB_ENC_INT8 = 0
RDB_ENC_INT16 = 1
RDB_ENC_INT32 = 2
RDB_ENC_LZF = 3

# Object type codes (rdb.h). Valid codes are 0-7 and 9-19 (``rdbIsObjectType``).
RDB_TYPE_STRING = 0
RDB_TYPE_NAMES = {
    0: "string",
    1: "list",
    2: "set",
    3: "zset",
    4: "hash",
    5: "zset (v2)",
    6: "module (v1)",
    7: "module",
    9: "hash (zipmap)",
    10: "list (ziplist)",
    11: "set (intset)",
    12: "zset (ziplist)",
    13: "hash (ziplist)",
    14: "list (quicklist)",
    15: "stream",
    16: "hash (listpack)",
    17: "zset (listpack)",
    18: "list (quicklist v2)",
    19: "stream (v2)",
}

# Redis only tries LZF on strings longer than this ("it can't compress even aaaaa...").
LZF_MIN_LENGTH = 20

_crc64 = crcmod.mkCrcFun(0x1AD93D23594C935A9, initCrc=0, rev=True, xorOut=0)


def crc64(data: bytes, crc: int = 0) -> int:
    """Redis's ``crc64`` (Jones polynomial, reflected, no final xor); crc64(b"123456789") is
    0xe9c6d914c4b8d9ca."""
    return _crc64(data, crc)


class RdbError(Exception):
    """The payload is malformed (RESTORE answers ``ERR Bad data format``)."""


class UnsupportedTypeError(RdbError):
    """A value type rcsim cannot serialise, or an RDB type code no rcsim type has registered."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        super().__init__(f"values of type {type_name} cannot be serialized by rcsim")


# -- LZF (Redis's lzf_c.c / lzf_d.c) ---------------------------------------------------------

_HLOG = 16
_HMASK = (1 << _HLOG) - 1
_MAX_LIT = 1 << 5
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)


def lzf_compress(data: bytes, out_len: int) -> bytes | None:
    """``lzf_compress(in, in_len, out, out_len)``: the compressed bytes, or None when they would
    not fit in ``out_len`` bytes (Redis then stores the string uncompressed).

    A line-by-line port of lzf_c.c with ``VERY_FAST`` and ``HLOG`` 16: pointers become indexes,
    ``hval`` keeps only the 24 bits ``IDX`` reads, and the hash table starts empty. Pure Python:
    about 0.4 s per incompressible MB, 0.06 s per MB of text."""
    in_len = len(data)
    if not in_len or not out_len:
        return None
    out = bytearray(out_len + 8)  # the C code may step one byte past out_end before bailing
    htab: dict[int, int] = {}
    in_end = in_len
    last = in_end - 2
    ip = 0
    op = 1  # start run
    lit = 0
    hval = (data[0] << 8) | (data[1] if in_len > 1 else 0)
    while ip < last:
        hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFF
        slot = ((hval >> 8) - hval * 5) & _HMASK
        ref = htab.get(slot, -1)
        htab[slot] = ip
        off = ip - ref - 1
        if (
            0 <= off < _MAX_OFF
            and ref > 0
            and data[ref] == data[ip]
            and data[ref + 1] == data[ip + 1]
            and data[ref + 2] == data[ip + 2]
        ):
            length = 2
            maxlen = in_end - ip - length
            if maxlen > _MAX_REF:
                maxlen = _MAX_REF
            # A fast conservative test, then the exact one (``op - !lit``).
            if op + 3 + 1 >= out_len and op - (not lit) + 3 + 1 >= out_len:
                return None
            out[op - lit - 1] = (lit - 1) & 0xFF  # stop run
            if not lit:
                op -= 1  # undo run if length is zero
            length = _match_length(data, ref, ip, maxlen)
            length -= 2
            ip += 1
            if length < 7:
                out[op] = (off >> 8) + (length << 5)
                op += 1
            else:
                out[op] = (off >> 8) + (7 << 5)
                out[op + 1] = length - 7
                op += 2
            out[op] = off & 0xFF
            op += 2  # the offset byte, then start a new run
            lit = 0
            ip += length + 1
            if ip >= last:
                break
            ip -= 2
            hval = (data[ip] << 8) | data[ip + 1]
            hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFF
            htab[((hval >> 8) - hval * 5) & _HMASK] = ip
            ip += 1
            hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFF
            htab[((hval >> 8) - hval * 5) & _HMASK] = ip
            ip += 1
        else:
            if op >= out_len:
                return None
            out[op] = data[ip]
            op += 1
            ip += 1
            lit += 1
            if lit == _MAX_LIT:
                out[op - lit - 1] = lit - 1
                lit = 0
                op += 1
    if op + 3 > out_len:
        return None
    while ip < in_end:
        out[op] = data[ip]
        op += 1
        ip += 1
        lit += 1
        if lit == _MAX_LIT:
            out[op - lit - 1] = lit - 1
            lit = 0
            op += 1
    out[op - lit - 1] = (lit - 1) & 0xFF  # end run
    if not lit:
        op -= 1
    return bytes(out[:op])


def _match_length(data: bytes, ref: int, ip: int, maxlen: int) -> int:
    """The match-extension loop of lzf_c.c, including its 16-step unrolled first pass (which may
    run one or two bytes past ``maxlen`` near the end of the input, exactly as Redis does)."""
    length = 2
    if maxlen > 16:
        for _ in range(16):
            length += 1
            if data[ref + length] != data[ip + length]:
                return length
    while True:
        length += 1
        if not (length < maxlen and data[ref + length] == data[ip + length]):
            return length


def lzf_decompress(data: bytes, out_len: int) -> bytes | None:
    """``lzf_decompress`` with ``CHECK_INPUT``: the decompressed bytes (at most ``out_len`` of
    them), or None where the C function returns 0 (corrupt input, or output past ``out_len``).
    Callers compare the length with the one they expect, as Redis does."""
    in_end = len(data)
    if not in_end:
        return None
    out = bytearray()
    ip = 0
    while ip < in_end:
        ctrl = data[ip]
        ip += 1
        if ctrl < 32:  # literal run
            ctrl += 1
            if len(out) + ctrl > out_len or ip + ctrl > in_end:
                return None
            out += data[ip : ip + ctrl]
            ip += ctrl
            continue
        length = ctrl >> 5
        if ip >= in_end:
            return None
        if length == 7:
            length += data[ip]
            ip += 1
            if ip >= in_end:
                return None
        ref = len(out) - ((ctrl & 0x1F) << 8) - 1 - data[ip]
        ip += 1
        length += 2
        if len(out) + length > out_len or ref < 0:
            return None
        while length:  # the source may overlap what is being written
            chunk = out[ref : ref + length]
            out += chunk
            ref += len(chunk)
            length -= len(chunk)
    return bytes(out)


# -- lengths and strings (rdbSaveLen / rdbSaveRawString and their loaders) -------------------


def encode_length(length: int) -> bytes:
    """``rdbSaveLen``: 6-bit, 14-bit, 32-bit or 64-bit big-endian length."""
    if length < 1 << 6:
        return bytes((length,))
    if length < 1 << 14:
        return bytes(((length >> 8) | (RDB_14BITLEN << 6), length & 0xFF))
    if length <= 0xFFFFFFFF:
        return bytes((RDB_32BITLEN,)) + length.to_bytes(4, "big")
    return bytes((RDB_64BITLEN,)) + length.to_bytes(8, "big")


def _encode_integer(value: int) -> bytes | None:
    """``rdbEncodeInteger``: the smallest of the 8/16/32-bit encodings, or None."""
    if -(1 << 7) <= value < 1 << 7:
        return bytes((0xC0 | RDB_ENC_INT8,)) + value.to_bytes(1, "little", signed=True)
    if -(1 << 15) <= value < 1 << 15:
        return bytes((0xC0 | RDB_ENC_INT16,)) + value.to_bytes(2, "little", signed=True)
    if -(1 << 31) <= value < 1 << 31:
        return bytes((0xC0 | RDB_ENC_INT32,)) + value.to_bytes(4, "little", signed=True)
    return None


def canonical_int(raw: bytes) -> int | None:
    """Redis's ``string2ll`` success (a canonical signed 64-bit decimal), else None."""
    if not raw or len(raw) > 20:
        return None
    first = raw[0]
    if first == 48:  # "0" only as the whole string
        return 0 if len(raw) == 1 else None
    digits = raw[1:] if first == 45 else raw
    if not digits or not digits.isdigit() or digits[0] == 48 or not digits.isascii():
        return None
    value = int(raw)
    return value if -(1 << 63) <= value < 1 << 63 else None


def encode_string(value: bytes, compress: bool = True) -> bytes:
    """``rdbSaveRawString``: integer encoding, then LZF (if it saves 4+ bytes), else raw."""
    length = len(value)
    if length <= 11:
        number = canonical_int(value)
        if number is not None:
            encoded = _encode_integer(number)
            if encoded is not None:
                return encoded
    if compress and length > LZF_MIN_LENGTH:
        packed = lzf_compress(value, length - 4)
        if packed:
            return (
                bytes((0xC0 | RDB_ENC_LZF,))
                + encode_length(len(packed))
                + encode_length(length)
                + packed
            )
    return encode_length(length) + value


class Reader:
    """A cursor over a payload; every short read raises RdbError (Redis's failed ``rioRead``)."""

    __slots__ = ("config", "data", "end", "pos")

    def __init__(self, data: bytes, end: int | None = None) -> None:
        self.data = data
        self.pos = 0
        self.end = len(data) if end is None else end
        # The loading node's Config (or None): decoders read encoding thresholds from it, as
        # Redis's rdbLoadObject reads hash-max-listpack-entries and friends.
        self.config: object | None = None

    def read(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise RdbError("unexpected end of payload")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def read_byte(self) -> int:
        if self.pos >= self.end:
            raise RdbError("unexpected end of payload")
        self.pos += 1
        return self.data[self.pos - 1]

    def read_length(self) -> tuple[int, bool]:
        """``rdbLoadLenByRef``: (length or encoding id, is_encoded)."""
        first = self.read_byte()
        kind = first >> 6
        if kind == RDB_ENCVAL:
            return first & 0x3F, True
        if kind == RDB_6BITLEN:
            return first & 0x3F, False
        if kind == RDB_14BITLEN:
            return ((first & 0x3F) << 8) | self.read_byte(), False
        if first == RDB_32BITLEN:
            return int.from_bytes(self.read(4), "big"), False
        if first == RDB_64BITLEN:
            return int.from_bytes(self.read(8), "big"), False
        raise RdbError(f"unknown length encoding {first:#x}")

    def read_string(self) -> bytes:
        """``rdbGenericLoadStringObject``: integer, LZF or raw encodings."""
        length, encoded = self.read_length()
        if not encoded:
            return self.read(length)
        if length == RDB_ENC_INT8:
            return b"%d" % int.from_bytes(self.read(1), "little", signed=True)
        if length == RDB_ENC_INT16:
            return b"%d" % int.from_bytes(self.read(2), "little", signed=True)
        if length == RDB_ENC_INT32:
            return b"%d" % int.from_bytes(self.read(4), "little", signed=True)
        if length == RDB_ENC_LZF:
            compressed_len, _ = self.read_length()
            plain_len, _ = self.read_length()
            plain = lzf_decompress(self.read(compressed_len), plain_len) or b""
            # Redis checks ``lzf_decompress(...) != len``: a failure (0) passes when len is 0.
            if len(plain) != plain_len:
                raise RdbError("invalid LZF compressed string")
            return plain
        raise RdbError(f"unknown RDB string encoding type {length}")


# -- the type registry -----------------------------------------------------------------------

Encoder = Callable[[object, bool], bytes]
Decoder = Callable[[Reader], object]


@dataclass(frozen=True, slots=True)
class RdbType:
    """How one value type is serialised: its RDB type code and body codec."""

    code: int
    encode: Encoder
    decode: Decoder


_ENCODERS: dict[type, RdbType] = {}
_DECODERS: dict[int, RdbType] = {}


def register_type(python_type: type, code: int, encode: Encoder, decode: Decoder) -> None:
    """Teach DUMP/RESTORE a value type. ``decode`` is also used for ``code``'s payloads."""
    codec = RdbType(code, encode, decode)
    _ENCODERS[python_type] = codec
    _DECODERS[code] = codec


def register_decoder(code: int, decode: Decoder) -> None:
    """Accept an additional RDB encoding of an already registered type (e.g. a listpack form)."""
    _DECODERS[code] = RdbType(code, _no_encoder, decode)


def _type_name(value: object) -> str:
    name = getattr(value, "type_name", None) or type(value).__name__
    return name.decode() if isinstance(name, bytes) else str(name)


def _no_encoder(value: object, compress: bool) -> bytes:
    raise UnsupportedTypeError(_type_name(value))


def _encode_string_value(value: object, compress: bool) -> bytes:
    return encode_string(bytes(value), compress)  # type: ignore[call-overload]


register_type(bytes, RDB_TYPE_STRING, _encode_string_value, Reader.read_string)
register_type(bytearray, RDB_TYPE_STRING, _encode_string_value, Reader.read_string)


# -- payloads --------------------------------------------------------------------------------


def encode_value(value: object, compress: bool = True) -> tuple[int, bytes]:
    """(RDB type code, body) of a value (``rdbSaveObjectType`` + ``rdbSaveObject``): what a
    DUMP payload and an RDB file's key entry both hold."""
    codec = _ENCODERS.get(type(value))
    if codec is None:
        raise UnsupportedTypeError(_type_name(value))
    # A value whose RDB type depends on its encoding (a listpack or a skiplist zset) names it.
    return getattr(value, "rdb_type_code", codec.code), codec.encode(value, compress)


def decode_value(reader: Reader, code: int) -> object:
    """A value body of RDB type ``code`` (``rdbLoadObject``). Raises RdbError."""
    codec = _DECODERS.get(code)
    if codec is None:
        name = RDB_TYPE_NAMES.get(code)
        if name is None:
            raise RdbError(f"unknown RDB object type {code}")
        raise UnsupportedTypeError(name)
    return codec.decode(reader)


def dump_payload(value: object, compress: bool = True) -> bytes:
    """``createDumpPayload``: type byte, body, RDB version and CRC-64, as DUMP returns them."""
    code, encoded = encode_value(value, compress)
    body = bytes((code,)) + encoded + RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def verify_payload(payload: bytes) -> bool:
    """``verifyDumpPayload``: a footer is present, its version is one we read, the CRC matches."""
    if len(payload) < 10:
        return False
    version = int.from_bytes(payload[-10:-8], "little")
    if version > RDB_VERSION:
        return False
    return crc64(payload[:-8]) == int.from_bytes(payload[-8:], "little")


def load_payload(payload: bytes, config: object | None = None) -> object:
    """The value in a verified payload (``rdbLoadObjectType`` + ``rdbLoadObject``). Raises
    RdbError. As in Redis, the reader spans the whole payload (a body may run into the footer)
    and bytes left between the object and the footer are ignored. ``config`` (the node's) gives
    decoders the encoding thresholds; without it they use Redis's defaults."""
    reader = Reader(payload)
    reader.config = config
    return decode_value(reader, reader.read_byte())
