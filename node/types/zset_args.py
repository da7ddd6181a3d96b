"""Sorted set arguments parsed as Redis parses them: C's ``strtod`` for scores and score ranges,
and the lex range items of ``zslParseLexRangeItem``.

``strtod`` accepts what glibc accepts (leading blanks, hex floats, ``inf``/``infinity``, ``nan``)
and stops at the first byte it cannot use, so ``zslParseRange``'s "the rest must be the end of
the C string" test also passes at an embedded NUL byte, exactly as in Redis.
``getDoubleFromObject`` (ZADD scores, weights, coordinates) is stricter: the whole string, no
leading blank, no overflow or underflow to zero, no NaN.
"""

from __future__ import annotations

import math
import re

from node.protocol.errors import NOT_FLOAT, RespError

MIN_OR_MAX_NOT_FLOAT = "ERR min or max is not a float"
MIN_OR_MAX_NOT_STRING = "ERR min or max not valid string range item"


def option(arg: bytes) -> bytes:
    """An option name as Redis's ``strcasecmp`` sees it: a C string, so ``NX\\0junk`` is ``nx``."""
    nul = arg.find(b"\0")
    return (arg if nul < 0 else arg[:nul]).lower()


_STRTOD = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?)(?:"
    rb"(inf(?:inity)?)"
    rb"|(nan(?:\([0-9A-Za-z_]*\))?)"
    rb"|0[xX]((?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)"
    rb"|((?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    rb")",
    re.IGNORECASE,
)
_NONZERO_DIGIT = re.compile(rb"[1-9a-fA-F]")


def strtod(raw: bytes) -> tuple[float, int, bool]:
    """C's ``strtod`` on ``raw``: (value, bytes consumed, ERANGE). Nothing parsed consumes 0."""
    match = _STRTOD.match(raw)
    if match is None:
        return 0.0, 0, False
    sign, infinity, nan, hexa, decimal = match.groups()
    negative = sign == b"-"
    erange = False
    if infinity is not None:
        value = math.inf
    elif nan is not None:
        value = math.nan
    elif hexa is not None:
        mantissa = hexa.split(b"p")[0].split(b"P")[0]
        try:
            value = float.fromhex("0x" + hexa.decode())
        except OverflowError:
            value, erange = math.inf, True
        if value == 0.0 and _NONZERO_DIGIT.search(mantissa):
            erange = True
    else:
        value = float(decimal)
        mantissa = decimal.lower().split(b"e")[0]
        erange = math.isinf(value) or (value == 0.0 and bool(_NONZERO_DIGIT.search(mantissa)))
    return (-value if negative else value), match.end(), erange


def parse_double(raw: bytes, error: str = NOT_FLOAT) -> float:
    """``getDoubleFromObject``: the whole string, no leading blank, no overflow or underflow to
    zero, no NaN (ZADD scores, weights, coordinates)."""
    if not raw or raw[0] in b" \t\n\v\f\r":
        raise RespError(error)
    value, used, erange = strtod(raw)
    if used != len(raw) or math.isnan(value) or (erange and (math.isinf(value) or value == 0.0)):
        raise RespError(error)
    return value


# (min, min exclusive, max, max exclusive), as Redis's zrangespec.
ScoreRange = tuple[float, bool, float, bool]


def _range_item(raw: bytes) -> tuple[float, bool] | None:
    exclusive = raw[:1] == b"("
    text = raw[1:] if exclusive else raw
    value, used, _ = strtod(text)
    if (used < len(text) and text[used] != 0) or math.isnan(value):
        return None  # strtod must stop at the end of the C string
    return value, exclusive


def parse_score_range(low: bytes, high: bytes) -> ScoreRange:
    """``zslParseRange``: ``(`` makes a bound exclusive; any strtod number (``-inf``, ``1e3``,
    even ``""``) else ``ERR min or max is not a float``."""
    first, second = _range_item(low), _range_item(high)
    if first is None or second is None:
        raise RespError(MIN_OR_MAX_NOT_FLOAT)
    return first[0], first[1], second[0], second[1]


# Lex range bounds: a member, or the shared minstring / maxstring of "-" and "+".
MINUS_INF = -1
PLUS_INF = 1
LexBound = bytes | int


class LexRange:
    """Redis's ``zlexrangespec``."""

    __slots__ = ("max", "maxex", "min", "minex")

    def __init__(self, low: LexBound, minex: bool, high: LexBound, maxex: bool) -> None:
        self.min, self.minex, self.max, self.maxex = low, minex, high, maxex

    def gte_min(self, member: bytes) -> bool:
        cmp = lex_compare(member, self.min)
        return cmp > 0 if self.minex else cmp >= 0

    def lte_max(self, member: bytes) -> bool:
        cmp = lex_compare(member, self.max)
        return cmp < 0 if self.maxex else cmp <= 0


def lex_compare(a: LexBound, b: LexBound) -> int:
    """``sdscmplex``: members compare as bytes, ``-`` below and ``+`` above everything."""
    if type(a) is int or type(b) is int:
        if a == b:
            return 0
        if a == MINUS_INF or b == PLUS_INF:
            return -1
        if a == PLUS_INF or b == MINUS_INF:
            return 1
    return (a > b) - (a < b)  # type: ignore[operator]


def lex_compare_bounds(spec: LexRange) -> int:
    return lex_compare(spec.min, spec.max)


def _lex_item(raw: bytes) -> tuple[LexBound, bool] | None:
    """``zslParseLexRangeItem``; ``+``/``-`` may be followed only by the end of the C string."""
    first = raw[:1]
    if first in (b"+", b"-"):
        if len(raw) > 1 and raw[1] != 0:
            return None
        return (PLUS_INF if first == b"+" else MINUS_INF), True
    if first == b"(":
        return raw[1:], True
    if first == b"[":
        return raw[1:], False
    return None


def parse_lex_range(low: bytes, high: bytes) -> LexRange:
    first, second = _lex_item(low), _lex_item(high)
    if first is None or second is None:
        raise RespError(MIN_OR_MAX_NOT_STRING)
    return LexRange(first[0], first[1], second[0], second[1])
