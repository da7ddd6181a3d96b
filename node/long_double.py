"""Exact emulation of Redis's ``long double`` arithmetic for INCRBYFLOAT (and HINCRBYFLOAT).

Theory of operation
-------------------
Redis parses both operands with ``strtold`` (``string2ld``), adds them as x86-64 ``long double``
(80-bit extended precision: a 64-bit significand, exponents down to 2**-16445 with subnormals)
and prints the sum with ``%.17Lf`` before stripping trailing zeros (``ld2string`` in
``LD_STR_HUMAN`` mode). A Python ``float`` has 53 bits, so ``10.5 + 0.1`` would print
``10.59999999999999964`` where Redis prints ``10.6``. We therefore keep values exact as
``(significand, exponent)`` pairs meaning ``significand * 2**exponent`` and round with integers,
exactly as the hardware and glibc do (round half to even everywhere):

* ``parse`` is ``string2ld``: decimal and hexadecimal floats, ``inf``/``infinity``; rejects NaN,
  leading or trailing junk, an empty or 5 KiB+ input, and results that overflow (``ERANGE`` with
  +-HUGE_VAL) or underflow to zero.
* ``add`` rounds the exact sum to the extended format; ``None`` means the result is NaN or
  infinite (Redis's "increment would produce NaN or Infinity").
* ``format_human`` is ``%.17Lf`` of the exact binary value, minus trailing zeros, ``-0`` -> ``0``.

Python refuses int<->decimal-string conversions past 4300 digits, and a long double can have
4933 integer digits, so the conversions below split large numbers.
"""

from __future__ import annotations

import re

# x87 extended precision: 64-bit significand; smallest exponent of the least significant bit of
# a subnormal, and largest exponent of that bit for a finite value.
SIGNIFICAND_BITS = 64
MIN_EXP = -16445
MAX_EXP = 16384 - SIGNIFICAND_BITS
MAX_LONG_DOUBLE_CHARS = 5 * 1024  # Redis's buffer for string2ld / ld2string
HUMAN_DECIMALS = 17

# (significand, exponent) for finite values; the floats +-inf for infinities.
LongDouble = tuple[int, int] | float
ZERO: LongDouble = (0, 0)

_DECIMAL = re.compile(rb"([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?")
_HEX = re.compile(
    rb"([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?[0-9]+))?"
)
_INFINITY = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)
# Exponents beyond this many digits are out of range whatever the significand.
_MAX_EXPONENT_DIGITS = 9
_CHUNK_DIGITS = 4000


def parse(raw: bytes | bytearray) -> LongDouble | None:
    """Redis's ``string2ld``: the exact long double ``raw`` denotes, or None if invalid."""
    if not raw or len(raw) >= MAX_LONG_DOUBLE_CHARS:
        return None
    match = _DECIMAL.fullmatch(raw)
    if match is not None:
        return _parse_decimal(match)
    match = _HEX.fullmatch(raw)
    if match is not None:
        return _parse_hex(match)
    match = _INFINITY.fullmatch(raw)
    if match is not None:
        return float("-inf") if match.group(1) == b"-" else float("inf")
    return None  # includes NaN, which string2ld rejects


def add(a: LongDouble, b: LongDouble) -> tuple[int, int] | None:
    """``a + b`` rounded to a long double; None when the sum is NaN or infinite."""
    if type(a) is float or type(b) is float:
        return None  # inf + x is inf, inf - inf is NaN: both refused
    (ma, ea), (mb, eb) = a, b  # type: ignore[misc]
    e = min(ea, eb)
    total = (ma << (ea - e)) + (mb << (eb - e))
    if e >= 0:
        return _round(total << e, 1)
    return _round(total, 1 << -e)


def format_human(value: tuple[int, int]) -> bytes:
    """``ld2string(..., LD_STR_HUMAN)``: ``%.17Lf``, trailing zeros and dot stripped, no ``-0``."""
    significand, exponent = value
    negative = significand < 0
    m = -significand if negative else significand
    scale = 10**HUMAN_DECIMALS
    if exponent >= 0:
        scaled = (m << exponent) * scale
    else:
        divisor = 1 << -exponent
        scaled, rest = divmod(m * scale, divisor)
        twice = rest * 2
        if twice > divisor or (twice == divisor and scaled & 1):
            scaled += 1
    digits = _int_to_decimal(scaled).rjust(HUMAN_DECIMALS + 1, "0")
    whole, fraction = digits[:-HUMAN_DECIMALS], digits[-HUMAN_DECIMALS:].rstrip("0")
    text = whole + "." + fraction if fraction else whole
    if negative and text != "0":
        text = "-" + text
    return text.encode()


# -- internals --------------------------------------------------------------------------------


def _round(num: int, den: int) -> tuple[int, int] | None:
    """Round ``num / den`` (den > 0) to the nearest long double, ties to even.

    Returns None on overflow (strtold's ERANGE with HUGE_VAL, or an infinite sum)."""
    if num == 0:
        return ZERO  # type: ignore[return-value]
    negative = num < 0
    n = -num if negative else num
    # k = floor(log2(n / den))
    k = n.bit_length() - den.bit_length()
    if (n if k >= 0 else n << -k) < (den << k if k >= 0 else den):
        k -= 1
    exponent = max(k - (SIGNIFICAND_BITS - 1), MIN_EXP)
    if exponent >= 0:
        divisor = den << exponent
        q, r = divmod(n, divisor)
    else:
        divisor = den
        q, r = divmod(n << -exponent, den)
    twice = r * 2
    if twice > divisor or (twice == divisor and q & 1):
        q += 1
    if q.bit_length() > SIGNIFICAND_BITS:
        q >>= 1
        exponent += 1
    if exponent > MAX_EXP:
        return None
    return (-q if negative else q, exponent)


def _finish(negative: bool, num: int, den: int) -> LongDouble | None:
    """Round a parsed magnitude; underflow to zero is strtold's ERANGE-with-zero, refused."""
    if num == 0:
        return ZERO
    rounded = _round(-num if negative else num, den)
    if rounded is None or rounded[0] == 0:
        return None
    return rounded


def _parse_decimal(match: re.Match[bytes]) -> LongDouble | None:
    sign, whole, fraction, only_fraction, exp_text = match.groups()
    if only_fraction is not None:
        whole, fraction = b"", only_fraction
    fraction = fraction or b""
    digits = (whole + fraction).lstrip(b"0")
    if not digits:
        return ZERO
    exponent = _parse_exponent(exp_text) - len(fraction)
    # The value lies in [10**(count-1+exponent), 10**(count+exponent)).
    count = len(digits)
    if count - 1 + exponent > 4932:  # >= 1e4933, beyond LDBL_MAX (1.19e4932)
        return None
    if count + exponent < -4952:  # below half the smallest subnormal (3.6e-4951)
        return None
    significand = _decimal_to_int(digits)
    if exponent >= 0:
        return _finish(sign == b"-", significand * 10**exponent, 1)
    return _finish(sign == b"-", significand, 10**-exponent)


def _parse_hex(match: re.Match[bytes]) -> LongDouble | None:
    sign, whole, fraction, only_fraction, exp_text = match.groups()
    if only_fraction is not None:
        whole, fraction = b"", only_fraction
    fraction = fraction or b""
    digits = (whole + fraction).lstrip(b"0")
    if not digits:
        return ZERO
    significand = int(digits, 16)
    exponent = _parse_exponent(exp_text) - 4 * len(fraction)
    magnitude = significand.bit_length() + exponent  # value < 2**magnitude
    if magnitude > 16384 + 1:
        return None
    if magnitude < MIN_EXP - 1:
        return None
    if exponent >= 0:
        return _finish(sign == b"-", significand << exponent, 1)
    return _finish(sign == b"-", significand, 1 << -exponent)


def _parse_exponent(text: bytes | None) -> int:
    """The exponent's value, saturated far outside the representable range."""
    if not text:
        return 0
    negative = text[:1] == b"-"
    digits = text.lstrip(b"+-").lstrip(b"0") or b"0"
    if len(digits) > _MAX_EXPONENT_DIGITS:
        return -(10**_MAX_EXPONENT_DIGITS) if negative else 10**_MAX_EXPONENT_DIGITS
    value = int(digits)
    return -value if negative else value


def _decimal_to_int(digits: bytes) -> int:
    """``int(digits)`` without Python's 4300-digit conversion limit."""
    if len(digits) <= _CHUNK_DIGITS:
        return int(digits)
    split = len(digits) - _CHUNK_DIGITS
    return _decimal_to_int(digits[:split]) * 10**_CHUNK_DIGITS + int(digits[split:])


def _int_to_decimal(value: int) -> str:
    """``str(value)`` (value >= 0) without Python's 4300-digit conversion limit."""
    if value < 10**_CHUNK_DIGITS:
        return str(value)
    high, low = divmod(value, 10**_CHUNK_DIGITS)
    return _int_to_decimal(high) + str(low).rjust(_CHUNK_DIGITS, "0")
