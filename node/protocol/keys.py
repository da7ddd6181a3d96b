"""Key extraction for any request, from the command table's key specs.

What ``COMMAND GETKEYS`` answers, and what cluster routing, the command handlers and the proxy
use to find a request's keys: Redis 7.0's ``getKeysFromCommandWithSpecs`` (src/db.c). The key
specs decide, unless one of them has VARIABLE_FLAGS or they do not fit the arguments; then the
command's ``getkeys_proc`` (ported below) does. Pure: specs and argv in, positions out.
"""

from __future__ import annotations

from collections.abc import Callable

from node.protocol.commands import CommandSpec, KeySpec
from node.protocol.errors import (
    INVALID_ARGUMENT_COUNT,
    INVALID_ARGUMENTS,
    NO_KEY_ARGUMENTS,
    RespError,
)

KeyRef = tuple[int, frozenset[str]]  # (position in argv, key-spec flags)

_NO_FLAGS: frozenset[str] = frozenset()
_RO_ACCESS = frozenset(("RO", "access"))
_RW_ACCESS_UPDATE = frozenset(("RW", "access", "update"))
_OW_UPDATE = frozenset(("OW", "update"))
_RW_ACCESS_DELETE = frozenset(("RW", "access", "delete"))


def getkeys(spec: CommandSpec, target: list[bytes]) -> list[KeyRef]:
    """The keys of the request ``target`` (name first) for COMMAND GETKEYS, or its error."""
    if not command_has_keys(spec):
        raise RespError(NO_KEY_ARGUMENTS)
    if not spec.arity_ok(len(target)):
        raise RespError(INVALID_ARGUMENT_COUNT)
    keys = keys_with_flags(spec, target)
    if not keys and "no_mandatory_keys" not in spec.flags:
        raise RespError(INVALID_ARGUMENTS)
    return keys


# -- key extraction -----------------------------------------------------------------------


def command_has_keys(spec: CommandSpec) -> bool:
    """Redis's ``doesCommandHaveKeys``: a getkeys procedure, or a key spec that is a real key."""
    return spec.name in GETKEYS_PROCS or any("not_key" not in ks.flags for ks in spec.key_specs)


def keys_with_flags(spec: CommandSpec, argv: list[bytes]) -> list[KeyRef]:
    """Redis's ``getKeysFromCommandWithSpecs``: ``argv`` starts with the command name."""
    has_keyspec = any("not_key" not in ks.flags for ks in spec.key_specs)
    has_varflags = any("variable_flags" in ks.flags for ks in spec.key_specs)
    if has_keyspec and not has_varflags:
        keys = keys_from_specs(spec, argv)
        if keys is not None:
            return keys
    proc = GETKEYS_PROCS.get(spec.name)
    return proc(argv) if proc is not None else []


def keys_from_specs(spec: CommandSpec, argv: list[bytes]) -> list[KeyRef] | None:
    """Redis's ``getKeysUsingKeySpecs``; None when a spec is unknown, incomplete or does not
    fit the arguments (Redis's ``invalid_spec``)."""
    argc = len(argv)
    keys: list[KeyRef] = []
    for ks in spec.key_specs:
        if "not_key" in ks.flags:
            continue
        bounds = _spec_bounds(ks, argv)
        if bounds is None:
            return None
        first, last, step = bounds
        if first == 0:
            continue  # keyword not found: this spec names no key
        if last >= argc or last < first or first >= argc:
            return None
        keys.extend((i, ks.flags) for i in range(first, last + 1, step))
        if "incomplete" in ks.flags:
            return None
    return keys


def _spec_bounds(ks: KeySpec, argv: list[bytes]) -> tuple[int, int, int] | None:
    """(first, last, step) of one key spec; first 0 when its keyword is absent; None if invalid."""
    argc = len(argv)
    if ks.begin_search == "index":
        first = ks.index
    elif ks.begin_search == "keyword":
        first = _keyword_position(ks, argv)
        if first == 0:
            return 0, 0, 1
    else:
        return None
    if ks.find_keys == "range":
        if ks.last_key >= 0:
            last = first + ks.last_key
        elif not ks.limit:
            last = argc + ks.last_key
        else:
            last = first + ((argc - first) // ks.limit + ks.last_key)
        return first, last, ks.key_step
    if ks.find_keys == "keynum":
        if ks.keynum_index >= argc or first + ks.keynum_index >= argc:
            return None
        numkeys = _strict_int(argv[first + ks.keynum_index])
        if numkeys is None or numkeys < 0:
            return None
        first += ks.first_key
        return first, first + numkeys - 1, ks.key_step
    return None


def _keyword_position(ks: KeySpec, argv: list[bytes]) -> int:
    """Index after the keyword, searching from ``startfrom`` (negative: backwards from the end)."""
    argc = len(argv)
    keyword = ks.keyword.lower()
    if ks.start_from > 0:
        start, end = ks.start_from, argc - 1
    else:
        start, end = argc + ks.start_from, 1
    step = 1 if start <= end else -1
    i = start
    while i != end:
        if i >= argc or i < 1:
            break
        if argv[i].lower() == keyword:
            return i + 1
        i += step
    return 0


def _strict_int(raw: bytes) -> int | None:
    """``string2ll``: optional minus, digits, no leading zeros or spaces, 64-bit range."""
    if not raw or len(raw) > 20:
        return None
    digits = raw[1:] if raw[:1] == b"-" else raw
    if not digits.isdigit() or (digits[:1] == b"0" and len(raw) > 1):
        return None
    value = int(raw)
    return value if -(2**63) <= value < 2**63 else None


def _atoi(raw: bytes) -> int:
    """C's ``atoi``: leading spaces, a sign, then as many digits as there are (0 if none)."""
    text = raw.lstrip(b" \t\n\r\v\f")
    sign = 1
    if text[:1] in (b"-", b"+"):
        sign = -1 if text[:1] == b"-" else 1
        text = text[1:]
    n = 0
    for c in text:
        if not 48 <= c <= 57:
            break
        n = n * 10 + c - 48
    # glibc's atoi is (int)strtol(): saturate to a 64-bit long, then keep the low 32 bits.
    n = max(-(2**63), min(n * sign, 2**63 - 1)) & 0xFFFFFFFF
    return n - (1 << 32) if n >= 1 << 31 else n


# -- getkeys procedures (src/db.c), used when the key specs cannot answer ---------------------


def _generic(store: int, count_at: int, first: int) -> Callable[[list[bytes]], list[KeyRef]]:
    """Redis's ``genericGetKeys`` (key step 1): numkeys parsed with atoi, flags left empty."""

    def proc(argv: list[bytes]) -> list[KeyRef]:
        num = _atoi(argv[count_at])
        if num < 1 or num > len(argv) - first:
            return []
        keys = [(first + i, _NO_FLAGS) for i in range(num)]
        if store:
            keys.append((store, _NO_FLAGS))
        return keys

    return proc


def _sort_ro_keys(argv: list[bytes]) -> list[KeyRef]:
    return [(1, _RO_ACCESS)]


def _sort_keys(argv: list[bytes]) -> list[KeyRef]:
    """``sortGetKeys``: the sorted key, and the last STORE target (options skipped by arity)."""
    keys: list[KeyRef] = [(1, _RO_ACCESS)]
    store = 0
    skips = {b"limit": 2, b"get": 1, b"by": 1}
    argc = len(argv)
    i = 2
    while i < argc:
        arg = argv[i].lower()
        if arg in skips:
            i += skips[arg]
        elif arg == b"store" and i + 1 < argc:
            store = i + 1
        i += 1
    if store:
        keys.append((store, _OW_UPDATE))
    return keys


def _migrate_keys(argv: list[bytes]) -> list[KeyRef]:
    """``migrateGetKeys``: the key argument, or the KEYS list when the key argument is empty."""
    argc = len(argv)
    first, num = 3, 1
    skips = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}
    i = 6
    while i < argc:
        arg = argv[i].lower()
        if arg == b"keys":
            if argv[3]:
                num = 0
            else:
                first, num = i + 1, argc - i - 1
            break
        i += skips.get(arg, 0) + 1
    return [(first + j, _RW_ACCESS_DELETE) for j in range(num)]


def _georadius_keys(argv: list[bytes]) -> list[KeyRef]:
    """``georadiusGetKeys``: the key and the last STORE/STOREDIST target."""
    stored = -1
    i = 5
    while i < len(argv):
        if argv[i].lower() in (b"store", b"storedist") and i + 1 < len(argv):
            stored = i + 1
            i += 1
        i += 1
    keys: list[KeyRef] = [(1, _NO_FLAGS)]
    if stored != -1:
        keys.append((stored, _NO_FLAGS))
    return keys


def _xread_keys(argv: list[bytes]) -> list[KeyRef]:
    """``xreadGetKeys``: the first half of the arguments after STREAMS."""
    argc = len(argv)
    streams = -1
    i = 1
    while i < argc:
        arg = argv[i].lower()
        if arg in (b"block", b"count"):
            i += 1
        elif arg == b"group":
            i += 2
        elif arg == b"noack":
            pass
        elif arg == b"streams":
            streams = i
            break
        else:
            break
        i += 1
    num = argc - streams - 1 if streams != -1 else 0
    if streams == -1 or num == 0 or num % 2:
        return []
    return [(streams + 1 + j, _NO_FLAGS) for j in range(num // 2)]


def _set_keys(argv: list[bytes]) -> list[KeyRef]:
    """``setGetKeys``: the key is read too when GET is given."""
    if any(arg.lower() == b"get" for arg in argv[3:]):
        return [(1, _RW_ACCESS_UPDATE)]
    return [(1, _OW_UPDATE)]


def _bitfield_keys(argv: list[bytes]) -> list[KeyRef]:
    """``bitfieldGetKeys``: read-only unless a SET/INCRBY (or a syntax error) comes first."""
    readonly = True
    argc = len(argv)
    i = 2
    while i < argc:
        remaining = argc - i - 1
        arg = argv[i].lower()
        if arg == b"get" and remaining >= 2:
            i += 2
        elif arg in (b"set", b"incrby") and remaining >= 3:
            readonly = False
            break
        elif arg == b"overflow" and remaining >= 1:
            i += 1
        else:
            readonly = False
            break
        i += 1
    return [(1, _RO_ACCESS if readonly else _RW_ACCESS_UPDATE)]


GETKEYS_PROCS: dict[str, Callable[[list[bytes]], list[KeyRef]]] = {
    "zunionstore": _generic(1, 2, 3),
    "zinterstore": _generic(1, 2, 3),
    "zdiffstore": _generic(1, 2, 3),
    "zunion": _generic(0, 1, 2),
    "zinter": _generic(0, 1, 2),
    "zdiff": _generic(0, 1, 2),
    "zintercard": _generic(0, 1, 2),
    "sintercard": _generic(0, 1, 2),
    "eval": _generic(0, 2, 3),
    "evalsha": _generic(0, 2, 3),
    "eval_ro": _generic(0, 2, 3),
    "evalsha_ro": _generic(0, 2, 3),
    "fcall": _generic(0, 2, 3),
    "fcall_ro": _generic(0, 2, 3),
    "lmpop": _generic(0, 1, 2),
    "blmpop": _generic(0, 2, 3),
    "zmpop": _generic(0, 1, 2),
    "bzmpop": _generic(0, 2, 3),
    "sort": _sort_keys,
    "sort_ro": _sort_ro_keys,
    "migrate": _migrate_keys,
    "georadius": _georadius_keys,
    "georadiusbymember": _georadius_keys,
    "xread": _xread_keys,
    "xreadgroup": _xread_keys,
    "set": _set_keys,
    "bitfield": _bitfield_keys,
}
