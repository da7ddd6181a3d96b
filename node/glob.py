"""Redis glob patterns (``stringmatchlen``) for KEYS, SCAN MATCH, CONFIG GET and PSUBSCRIBE.

Python's fnmatch differs from Redis (``[!a]`` vs ``[^a]``, backslash escapes, ``[a-]``), so each
pattern is translated once (and cached) into an equivalent regular expression that follows
Redis 7.0's ``stringmatchlen_impl`` token by token, quirks included:

* ``[...]`` classes are parsed exactly as Redis walks them: ``\\x`` inside a class matches ``x``
  case-sensitively even with ``nocase``; ``a-z`` ranges compare *signed* chars (so ``[a-\\xff]``
  is the range -1..97) and swap reversed bounds; ``[a-]`` is the range ``a``..``]``; an
  unterminated class (``[abc``) is a class of what it has seen; ``[]`` never matches and
  ``[^]`` matches any byte. The class becomes an explicit set of the 256 byte values.
* An empty subject matches only the empty pattern (Redis's main loop needs both non-empty).
* More than 1,000 ``*`` groups followed by another token never match (Redis's nesting guard).
* ``*`` segments compile to atomic groups (``(?>.*?seg)``): the leftmost occurrence of each
  middle segment is the only one worth trying (Redis's ``skipLongerMatches``), which keeps
  patterns like ``*a*a*a*b`` linear instead of exponential.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

# Redis's stringmatchlen_impl returns "no match" past this recursion depth (one level per '*').
MAX_STAR_NESTING = 1000

_STAR, _QUESTION, _OPEN, _CLOSE, _CARET, _DASH, _BACKSLASH = b"*?[]^-\\"
_ESCAPED, _RANGE, _LITERAL = 0, 1, 2
_NEVER = b"(?!)"


def _signed(byte: int) -> int:
    """A C ``char`` on x86: bytes >= 128 compare as negative numbers."""
    return byte - 256 if byte >= 128 else byte


def _lower(value: int) -> int:
    """C ``tolower`` in the C locale: ASCII letters only (negative chars unchanged)."""
    return value + 32 if 65 <= value <= 90 else value


def _parse_class(pattern: bytes, i: int) -> tuple[int, bool, list[tuple[int, int, int]]]:
    """Walk a ``[`` class from ``i`` (just after ``[``) as Redis does. Returns the index of the
    last pattern byte consumed, whether it is negated, and its items."""
    n = len(pattern)
    negate = i < n and pattern[i] == _CARET
    if negate:
        i += 1
    items: list[tuple[int, int, int]] = []
    while True:
        remaining = n - i
        if remaining >= 2 and pattern[i] == _BACKSLASH:
            i += 1
            items.append((_ESCAPED, pattern[i], 0))
        elif remaining and pattern[i] == _CLOSE:
            break
        elif not remaining:
            i -= 1  # unterminated: Redis steps back onto the last byte and stops
            break
        elif remaining >= 3 and pattern[i + 1] == _DASH:
            items.append((_RANGE, pattern[i], pattern[i + 2]))
            i += 2
        else:
            items.append((_LITERAL, pattern[i], 0))
        i += 1
    return i, negate, items


def _class_matches(byte: int, items: list[tuple[int, int, int]], nocase: bool) -> bool:
    for kind, a, b in items:
        if kind == _ESCAPED:
            if a == byte:
                return True
        elif kind == _RANGE:
            start, end, c = _signed(a), _signed(b), _signed(byte)
            if start > end:
                start, end = end, start
            if nocase:
                start, end, c = _lower(start), _lower(end), _lower(c)
            if start <= c <= end:
                return True
        elif (_lower(a) == _lower(byte)) if nocase else (a == byte):
            return True
    return False


def _byte_set_regex(members: list[int]) -> bytes:
    if not members:
        return _NEVER
    if len(members) == 256:
        return b"."
    parts = bytearray(b"[")
    start = prev = members[0]
    for byte in [*members[1:], -2]:
        if byte == prev + 1:
            prev = byte
            continue
        parts += b"\\x%02x" % start
        if prev > start:
            parts += b"-\\x%02x" % prev
        start = prev = byte
    return bytes(parts) + b"]"


def _literal(byte: int, nocase: bool) -> bytes:
    if nocase and (65 <= byte <= 90 or 97 <= byte <= 122):
        return b"[\\x%02x\\x%02x]" % (byte & ~32, byte | 32)
    return re.escape(bytes((byte,)))


def _segments(pattern: bytes, nocase: bool) -> list[list[bytes]]:
    """The pattern as regex tokens, split at each group of consecutive ``*``."""
    segments: list[list[bytes]] = [[]]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == _STAR:
            while i + 1 < n and pattern[i + 1] == _STAR:
                i += 1
            segments.append([])
        elif c == _QUESTION:
            segments[-1].append(b".")
        elif c == _OPEN:
            i, negate, items = _parse_class(pattern, i + 1)
            members = [b for b in range(256) if _class_matches(b, items, nocase) != negate]
            segments[-1].append(_byte_set_regex(members))
        else:
            if c == _BACKSLASH and i + 1 < n:
                i += 1
                c = pattern[i]
            segments[-1].append(_literal(c, nocase))
        i += 1
    return segments


@lru_cache(maxsize=1024)
def _compile(pattern: bytes, nocase: bool) -> re.Pattern[bytes] | None:
    """The regex for ``pattern``, or None if Redis can never match it (too many ``*``)."""
    segments = [b"".join(tokens) for tokens in _segments(pattern, nocase)]
    stars = len(segments) - 1
    if stars - (segments[-1] == b"") > MAX_STAR_NESTING:
        return None
    if not stars:
        regex = segments[0]
    else:
        middle = b"".join(b"(?>.*?" + seg + b")" for seg in segments[1:-1])
        regex = segments[0] + middle + b".*" + segments[-1]
    return re.compile(regex + b"\\Z", re.DOTALL)


def glob_match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    """Redis's ``stringmatchlen(pattern, subject, nocase)``."""
    if not subject:
        return not pattern
    compiled = _compile(pattern, nocase)
    return compiled is not None and compiled.match(subject) is not None


def glob_matcher(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """A predicate for matching many subjects against one pattern (KEYS, SCAN MATCH)."""
    compiled = _compile(pattern, nocase)
    if compiled is None:
        return lambda subject: False
    match = compiled.match
    if not pattern:
        return lambda subject: not subject
    return lambda subject: bool(subject) and match(subject) is not None
