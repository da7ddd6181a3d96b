"""Python halves of the Lua libraries Redis 7.0 gives scripts: ``bit``, ``struct``, rand48.

These take plain values (Lua strings arrive as ``bytes``, numbers as ``int``/``float``) and
report an error by returning its message as the first result; the Lua wrapper raises it one
level up, as ``luaL_error`` does, so scripts see "user_script:1: bad argument #1 ...". Each
mirrors its C original: LuaBitOp 1.0.2 (``lua_bit.c``), Roberto's ``struct`` 0.2
(``lua_struct.c``), and Redis's ``rand.c`` (``redisLrand48``).
"""

from __future__ import annotations

import math
import re
import struct as _struct

# -- argument checks (luaL_check*) -----------------------------------------------------------

_NUMBER = re.compile(
    rb"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+|inf(?:inity)?|nan)\s*",
    re.IGNORECASE,
)


def lua_type(value: object) -> str:
    """The Lua type name of a value as it reached Python."""
    if value is None:
        return "nil"
    t = type(value)
    if t is bytes:
        return "string"
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    from lupa import lua51

    name = lua51.lua_type(value)
    return name or "userdata"


def to_number(value: object) -> float | int | None:
    """``lua_tonumber``: numbers, and strings Lua would convert; None otherwise."""
    t = type(value)
    if t is int or t is float:
        return value  # type: ignore[return-value]
    if t is bytes and _NUMBER.fullmatch(value):  # type: ignore[arg-type]
        text = value.strip().decode()  # type: ignore[union-attr]
        body = text.lstrip("+-")
        if body[:2].lower() == "0x":
            number = int(body, 16)
            return -number if text.startswith("-") else number
        return float(text)
    return None


class LuaArgError(Exception):
    """A ``luaL_argerror``: becomes the error message returned to the Lua wrapper."""


def bad_argument(position: int, name: str, message: str) -> LuaArgError:
    return LuaArgError(f"bad argument #{position} to '{name}' ({message})")


def check_number(args: tuple, position: int, name: str) -> float | int:
    if len(args) < position:
        raise bad_argument(position, name, "number expected, got no value")
    number = to_number(args[position - 1])
    if number is None:
        raise bad_argument(position, name, f"number expected, got {lua_type(args[position - 1])}")
    return number


def check_integer(args: tuple, position: int, name: str) -> int:
    """``luaL_checkinteger``: the number truncated toward zero (lua_Integer cast)."""
    number = check_number(args, position, name)
    if isinstance(number, float):
        if math.isnan(number) or math.isinf(number):
            return -(2**63)
        return int(number)
    return number


def check_string(args: tuple, position: int, name: str) -> bytes:
    """``luaL_checklstring``: strings, and numbers in Lua's ``%.14g`` form."""
    if len(args) < position:
        raise bad_argument(position, name, "string expected, got no value")
    value = args[position - 1]
    if type(value) is bytes:
        return value
    if type(value) in (int, float):
        return number_to_string(value)
    raise bad_argument(position, name, f"string expected, got {lua_type(value)}")


def number_to_string(value: float | int) -> bytes:
    """``lua_tostring`` of a number (``LUA_NUMBER_FMT`` ``%.14g``)."""
    number = float(value)
    if math.isnan(number):
        return b"nan" if math.copysign(1.0, number) > 0 else b"-nan"
    if math.isinf(number):
        return b"inf" if number > 0 else b"-inf"
    return b"%.14g" % number


def guarded(function):
    """Wrap a library function: a ``LuaArgError`` becomes the first (error) result."""

    def call(*args):
        try:
            return (None, *function(*args))
        except LuaArgError as error:
            return (str(error).encode("utf-8", "surrogateescape"),)

    call.__name__ = function.__name__
    return call


# -- bit (LuaBitOp) --------------------------------------------------------------------------

_BIAS = 6755399441055744.0  # 2^52 + 2^51: the low 32 bits of the sum are the rounded number


def _bit_arg(args: tuple, position: int, name: str) -> int:
    """``barg``: any number reduced to 32 bits the way LuaBitOp's double trick does."""
    value = args[position - 1] if len(args) >= position else None
    number = to_number(value)
    if number is None:
        raise bad_argument(position, name, f"number expected, got {_given(args, position)}")
    biased = float(number) + _BIAS
    return _struct.unpack("<Q", _struct.pack("<d", biased))[0] & 0xFFFFFFFF


def _given(args: tuple, position: int) -> str:
    return "no value" if len(args) < position else lua_type(args[position - 1])


def _signed(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _bit_fold(name: str, op):
    def fold(*args):
        acc = _bit_arg(args, 1, name)
        for position in range(len(args), 1, -1):
            acc = op(acc, _bit_arg(args, position, name))
        return (_signed(acc),)

    fold.__name__ = name
    return fold


def _bit_shift(name: str, op):
    def shift(*args):
        b = _bit_arg(args, 1, name)
        n = _bit_arg(args, 2, name) & 31
        return (_signed(op(b, n)),)

    shift.__name__ = name
    return shift


def _tobit(*args):
    return (_signed(_bit_arg(args, 1, "tobit")),)


def _bnot(*args):
    return (_signed(~_bit_arg(args, 1, "bnot")),)


def _bswap(*args):
    b = _bit_arg(args, 1, "bswap")
    return (_signed(int.from_bytes(b.to_bytes(4, "little"), "big")),)


def _tohex(*args):
    b = _bit_arg(args, 1, "tohex")
    n = 8 if len(args) < 2 else _signed(_bit_arg(args, 2, "tohex"))
    digits = "0123456789abcdef"
    if n == -(2**31):
        n = -(2**31) + 1
    if n < 0:
        n = -n
        digits = digits.upper()
    n = min(n, 8)
    out = []
    for _ in range(n):
        out.append(digits[b & 15])
        b >>= 4
    return ("".join(reversed(out)).encode(),)


def _rol(b: int, n: int) -> int:
    return ((b << n) | (b >> (32 - n))) & 0xFFFFFFFF if n else b


def _ror(b: int, n: int) -> int:
    return ((b << (32 - n)) | (b >> n)) & 0xFFFFFFFF if n else b


BIT_FUNCTIONS = {
    "tobit": _tobit,
    "bnot": _bnot,
    "band": _bit_fold("band", lambda a, b: a & b),
    "bor": _bit_fold("bor", lambda a, b: a | b),
    "bxor": _bit_fold("bxor", lambda a, b: a ^ b),
    "lshift": _bit_shift("lshift", lambda b, n: b << n),
    "rshift": _bit_shift("rshift", lambda b, n: b >> n),
    "arshift": _bit_shift("arshift", lambda b, n: _signed(b) >> n),
    "rol": _bit_shift("rol", _rol),
    "ror": _bit_shift("ror", _ror),
    "bswap": _bswap,
    "tohex": _tohex,
}


# -- struct ------------------------------------------------------------------------------------

_MAXINTSIZE = 32
_MAXALIGN = 8
_NATIVE_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8, "x": 1}


class _Format:
    """A cursor over a struct format string, with the header (endianness, alignment)."""

    def __init__(self, fmt: bytes) -> None:
        self.fmt = fmt
        self.pos = 0
        self.little = True
        self.align = 1

    def next_option(self) -> tuple[str, int] | None:
        if self.pos >= len(self.fmt) or self.fmt[self.pos] == 0:
            return None
        opt = chr(self.fmt[self.pos])
        self.pos += 1
        return opt, self._size(opt)

    def _number(self, default: int) -> int:
        start = self.pos
        while self.pos < len(self.fmt) and 48 <= self.fmt[self.pos] <= 57:
            self.pos += 1
        if start == self.pos:
            return default
        value = int(self.fmt[start : self.pos])
        if value > 2**31 - 1:
            raise LuaArgError("integral size overflow")
        return value

    def _size(self, opt: str) -> int:
        if opt in _NATIVE_SIZES:
            return _NATIVE_SIZES[opt]
        if opt == "c":
            return self._number(1)
        if opt in ("i", "I"):
            size = self._number(4)
            if size > _MAXINTSIZE:
                raise LuaArgError(f"integral size {size} is larger than limit of {_MAXINTSIZE}")
            return size
        return 0

    def to_align(self, length: int, opt: str, size: int) -> int:
        if size == 0 or opt == "c":
            return 0
        size = min(size, self.align)
        return (size - (length & (size - 1))) & (size - 1)

    def control(self, opt: str) -> None:
        if opt == " ":
            return
        if opt == ">":
            self.little = False
        elif opt == "<":
            self.little = True
        elif opt == "!":
            align = self._number(_MAXALIGN)
            if align <= 0 or align & (align - 1):
                raise LuaArgError(f"alignment {align} is not a power of 2")
            self.align = align
        else:
            raise bad_argument(1, self.name, f"invalid format option '{opt}'")

    name = "pack"


def _struct_pack(*args):
    fmt = _Format(check_string(args, 1, "pack"))
    fmt.name = "pack"
    args = (*args, None)  # b_pack pushes a nil mark after its arguments
    out = bytearray()
    arg = 2
    while (item := fmt.next_option()) is not None:
        opt, size = item
        out += bytes(fmt.to_align(len(out), opt, size))
        if opt in "bBhHlLTiI":
            number = check_number(args, arg, "pack")
            arg += 1
            value = _to_uint64(number)
            raw = bytearray()
            for _ in range(size):
                raw.append(value & 0xFF)
                value >>= 8
            out += raw if fmt.little else raw[::-1]
        elif opt == "x":
            out.append(0)
        elif opt in "fd":
            number = float(check_number(args, arg, "pack"))
            arg += 1
            code = ("<" if fmt.little else ">") + opt
            try:
                out += _struct.pack(code, number)
            except OverflowError:
                out += _struct.pack(code, math.copysign(math.inf, number))
        elif opt in "cs":
            data = check_string(args, arg, "pack")
            arg += 1
            length = size if size else len(data)
            if len(data) < length:
                raise bad_argument(arg, "pack", "string too short")
            out += data[:length]
            if opt == "s":
                out.append(0)
        else:
            fmt.control(opt)
    return (bytes(out),)


def _to_uint64(number: float | int) -> int:
    """``(Uinttype)n`` for positive numbers, ``(Uinttype)(Inttype)n`` for negative ones."""
    if isinstance(number, float):
        if math.isnan(number) or math.isinf(number):
            return 1 << 63
        number = int(number)
    return number & 0xFFFFFFFFFFFFFFFF


def _struct_unpack(*args):
    fmt = _Format(check_string(args, 1, "unpack"))
    fmt.name = "unpack"
    data = check_string(args, 2, "unpack")
    pos = check_integer(args, 3, "unpack") if len(args) >= 3 and args[2] is not None else 1
    if pos <= 0:
        raise bad_argument(3, "unpack", "offset must be 1 or greater")
    pos -= 1
    results: list = []
    while (item := fmt.next_option()) is not None:
        opt, size = item
        pos += fmt.to_align(pos, opt, size)
        if size > len(data) or pos > len(data) - size:
            raise bad_argument(2, "unpack", "data string too short")
        if opt in "bBhHlLTiI":
            raw = data[pos : pos + size]
            value = int.from_bytes(raw, "little" if fmt.little else "big")
            if opt.islower() and size and value >> (size * 8 - 1) & 1:
                value -= 1 << (size * 8)
            value &= (1 << 64) - 1 if size > 8 else -1
            if size > 8 and not opt.islower():
                value &= 0xFFFFFFFFFFFFFFFF
            results.append(float(_int64_view(value, opt.islower())))
        elif opt in "fd":
            code = ("<" if fmt.little else ">") + opt
            results.append(_struct.unpack(code, data[pos : pos + size])[0])
        elif opt == "c":
            if size == 0:
                if not results or to_number(results[-1]) is None:
                    raise LuaArgError("format 'c0' needs a previous size")
                size = int(to_number(results.pop()))  # type: ignore[arg-type]
                if size > len(data) or pos > len(data) - size:
                    raise bad_argument(2, "unpack", "data string too short")
            results.append(data[pos : pos + size])
        elif opt == "s":
            end = data.find(b"\x00", pos)
            if end < 0:
                raise LuaArgError("unfinished string in data")
            size = end - pos + 1
            results.append(data[pos:end])
        elif opt != "x":
            fmt.control(opt)
        pos += size
    results.append(pos + 1)
    return tuple(results)


def _int64_view(value: int, signed: bool) -> int:
    value &= 0xFFFFFFFFFFFFFFFF
    if signed and value & (1 << 63):
        return value - (1 << 64)
    return value


def _struct_size(*args):
    fmt = _Format(check_string(args, 1, "size"))
    fmt.name = "size"
    pos = 0
    while (item := fmt.next_option()) is not None:
        opt, size = item
        pos += fmt.to_align(pos, opt, size)
        if opt == "s":
            raise bad_argument(1, "size", "option 's' has no fixed size")
        if opt == "c" and size == 0:
            raise bad_argument(1, "size", "option 'c0' has no fixed size")
        if not opt.isalnum():
            fmt.control(opt)
        pos += size
    return (pos,)


STRUCT_FUNCTIONS = {"pack": _struct_pack, "unpack": _struct_unpack, "size": _struct_size}


# -- cmsgpack numbers -------------------------------------------------------------------------


def msgpack_number(n: float | int) -> bytes:
    """``mp_encode_lua_number``: integral values as the smallest integer type, others as a
    float32 when exact, else a float64."""
    number = float(n)
    if not math.isinf(number) and not math.isnan(number) and -(2**63) <= number < 2**63:
        value = int(number)
        if value == number:
            return _msgpack_int(value)
    try:
        single = _struct.unpack(">f", _struct.pack(">f", number))[0]
    except OverflowError:
        single = None
    if single == number or (math.isinf(number) and single is not None):
        return b"\xca" + _struct.pack(">f", number)
    return b"\xcb" + _struct.pack(">d", number)


def _msgpack_int(n: int) -> bytes:
    if n >= 0:
        if n <= 127:
            return bytes((n,))
        if n <= 0xFF:
            return b"\xcc" + n.to_bytes(1, "big")
        if n <= 0xFFFF:
            return b"\xcd" + n.to_bytes(2, "big")
        if n <= 0xFFFFFFFF:
            return b"\xce" + n.to_bytes(4, "big")
        return b"\xcf" + n.to_bytes(8, "big")
    if n >= -32:
        return bytes((n & 0xFF,))
    if n >= -128:
        return b"\xd0" + n.to_bytes(1, "big", signed=True)
    if n >= -32768:
        return b"\xd1" + n.to_bytes(2, "big", signed=True)
    if n >= -(2**31):
        return b"\xd2" + n.to_bytes(4, "big", signed=True)
    return b"\xd3" + n.to_bytes(8, "big", signed=True)


_NUMBER_CODES = {
    0xCD: ">H",
    0xD1: ">h",
    0xCE: ">I",
    0xD2: ">i",
    0xCF: ">Q",
    0xD3: ">q",
    0xCA: ">f",
    0xCB: ">d",
}


def msgpack_decode_number(code: int, raw: bytes) -> float:
    return float(_struct.unpack(_NUMBER_CODES[code], raw)[0])


# -- Redis's rand48 ----------------------------------------------------------------------------


class Rand48:
    """``redisLrand48``/``redisSrand48`` (rand.c): the 48-bit LCG behind ``math.random``, with
    Redis's initial state, so sequences match a Redis that ran the same calls."""

    A = 0x5DEECE66D
    C = 0xB
    MASK = (1 << 48) - 1

    def __init__(self) -> None:
        self.x = (0x1234 << 32) | (0xABCD << 16) | 0x330E

    def seed(self, seed: int) -> None:
        self.x = (((seed & 0xFFFFFFFF) << 16) | 0x330E) & self.MASK

    def next(self) -> int:
        self.x = (self.A * self.x + self.C) & self.MASK
        return self.x >> 17
