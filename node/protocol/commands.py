"""The command table: one row per Redis command, metadata taken from Redis 7.0.15 itself.

``commands.json`` holds, per command (and per ``container|subcommand``), the raw RESP3 of Redis's
``COMMAND INFO`` and ``COMMAND DOCS`` entries (regenerate with ``scripts/gen_command_table.py``).
From it we derive what dispatch needs (arity, flags, key positions, key specs) and keep the typed
reply tree, so ``COMMAND`` and friends answer exactly as Redis does in RESP2 and RESP3.

Which commands rcsim *serves* is decided in ``node.commands`` (a row plus a handler); this module
only knows what Redis's metadata says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import cast

from node.protocol.resp import Map, SetReply, SimpleString

_TABLE_PATH = Path(__file__).with_name("commands.json")


@dataclass(slots=True)
class KeySpec:
    """One Redis 7 key specification (``begin_search`` + ``find_keys``)."""

    flags: frozenset[str]
    begin_search: str  # "index" | "keyword" | "unknown"
    index: int = 0
    keyword: bytes = b""
    start_from: int = 0
    find_keys: str = "range"  # "range" | "keynum" | "unknown"
    last_key: int = 0
    key_step: int = 1
    limit: int = 0
    keynum_index: int = 0
    first_key: int = 0


@dataclass(slots=True)
class CommandSpec:
    """Redis's metadata for one command or subcommand."""

    name: str  # lowercase, "config|get" for subcommands
    arity: int
    flags: frozenset[str]
    first_key: int
    last_key: int
    key_step: int
    acl_categories: tuple[str, ...]
    key_specs: list[KeySpec]
    info_reply: list
    docs_reply: object
    subcommands: dict[str, CommandSpec] = field(default_factory=dict)

    @property
    def is_write(self) -> bool:
        return "write" in self.flags

    @property
    def movable_keys(self) -> bool:
        return "movablekeys" in self.flags

    def arity_ok(self, argc: int) -> bool:
        return argc == self.arity if self.arity >= 0 else argc >= -self.arity


def parse_resp3(raw: bytes) -> object:
    """Parse one RESP3 value into rcsim reply types (maps, sets, statuses kept as such)."""
    value, _ = _parse(raw, 0)
    return value


def _parse(raw: bytes, pos: int) -> tuple[object, int]:
    end = raw.index(b"\r\n", pos)
    kind, body = raw[pos : pos + 1], raw[pos + 1 : end]
    pos = end + 2
    if kind == b"$":
        n = int(body)
        return raw[pos : pos + n], pos + n + 2
    if kind == b":":
        return int(body), pos
    if kind == b"+":
        return SimpleString(body), pos
    if kind == b"_":
        return None, pos
    if kind in (b"*", b"~"):
        items = []
        for _ in range(int(body)):
            item, pos = _parse(raw, pos)
            items.append(item)
        return (items if kind == b"*" else SetReply(items)), pos
    if kind == b"%":
        pairs = []
        for _ in range(int(body)):
            k, pos = _parse(raw, pos)
            v, pos = _parse(raw, pos)
            pairs.append((k, v))
        return Map(pairs), pos
    raise ValueError(f"unexpected RESP3 type {kind!r} in command table")


def _map_get(m: object, key: bytes, default: object = None) -> object:
    if isinstance(m, Map):
        for k, v in m.items:
            if k == key:
                return v
    return default


def _map_int(m: object, key: bytes, default: int) -> int:
    """An integer field. The parsed tree is untyped (``parse_resp3`` returns ``object``) but its
    shape is Redis's documented COMMAND INFO/DOCS layout, so ``cast`` states it (load time only)."""
    return cast(int, _map_get(m, key, default))


def _map_bytes(m: object, key: bytes, default: bytes) -> bytes:
    """A bulk-string field; see ``_map_int``."""
    return cast(bytes, _map_get(m, key, default))


def _elements(value: object) -> list:
    return value.items if isinstance(value, SetReply) else value  # type: ignore[return-value]


def _key_spec(m: Map) -> KeySpec:
    flags = frozenset(f.decode() for f in cast(SetReply, _map_get(m, b"flags", SetReply([]))).items)
    bs = _map_get(m, b"begin_search")
    fk = _map_get(m, b"find_keys")
    spec = KeySpec(flags=flags, begin_search=_map_bytes(bs, b"type", b"unknown").decode())
    bs_spec = _map_get(bs, b"spec")
    if spec.begin_search == "index":
        spec.index = _map_int(bs_spec, b"index", 0)
    elif spec.begin_search == "keyword":
        spec.keyword = _map_bytes(bs_spec, b"keyword", b"")
        spec.start_from = _map_int(bs_spec, b"startfrom", 0)
    spec.find_keys = _map_bytes(fk, b"type", b"unknown").decode()
    fk_spec = _map_get(fk, b"spec")
    if spec.find_keys == "range":
        spec.last_key = _map_int(fk_spec, b"lastkey", 0)
        spec.key_step = _map_int(fk_spec, b"keystep", 1)
        spec.limit = _map_int(fk_spec, b"limit", 0)
    elif spec.find_keys == "keynum":
        spec.keynum_index = _map_int(fk_spec, b"keynumidx", 0)
        spec.first_key = _map_int(fk_spec, b"firstkey", 0)
        spec.key_step = _map_int(fk_spec, b"keystep", 1)
    return spec


def _spec_from_info(info: list, docs: object) -> CommandSpec:
    name, arity, flags, first, last, step, acl, _tips, key_specs, subs = info
    spec = CommandSpec(
        name=name.decode(),
        arity=arity,
        flags=frozenset(f.decode() for f in flags.items),
        first_key=first,
        last_key=last,
        key_step=step,
        acl_categories=tuple(c.decode() for c in acl.items),
        key_specs=[_key_spec(k) for k in _elements(key_specs)],
        info_reply=info,
        docs_reply=docs,
    )
    sub_docs = _map_get(docs, b"subcommands", Map([]))
    for sub in _elements(subs):
        sub_spec = _spec_from_info(sub, _map_get(sub_docs, sub[0], Map([])))
        spec.subcommands[sub_spec.name.split("|", 1)[1]] = sub_spec
    return spec


@cache
def redis_command_specs() -> dict[str, CommandSpec]:
    """Every top-level command Redis 7.0.15 knows, by lowercase name (loaded once, read-only)."""
    raw = json.loads(_TABLE_PATH.read_text())
    specs = {}
    for name, entry in raw.items():
        if "|" in name:
            continue
        info = cast(list, parse_resp3(entry["info"].encode("latin-1")))  # an array, per command
        docs = parse_resp3(entry["docs"].encode("latin-1")) if entry["docs"] else Map([])
        specs[name] = spec = _spec_from_info(info, docs)
        if entry.get("only_sentinel"):
            # Redis's CMD_ONLY_SENTINEL (not shown by COMMAND INFO): rows taken from a real
            # Sentinel 7.0.15, served by rcsim nodes but hidden from COMMAND as in redis-server.
            spec.flags |= {"only_sentinel"}
    return specs


class InvalidKeyArguments(Exception):
    """The arguments do not fit the command's key specs (COMMAND GETKEYS's 'Invalid arguments')."""


def key_positions(spec: CommandSpec, argv: list[bytes]) -> list[int]:
    """Indexes of the keys in ``argv``, following Redis's ``getKeysUsingKeySpecs``."""
    argc = len(argv)
    positions: list[int] = []
    for ks in spec.key_specs:
        if ks.begin_search == "index":
            first = ks.index
        elif ks.begin_search == "keyword":
            found = _find_keyword(ks, argv)
            if found is None:
                continue
            first = found
        else:
            raise InvalidKeyArguments
        if ks.find_keys == "range":
            step = ks.key_step
            if ks.last_key >= 0:
                last = first + ks.last_key
            elif not ks.limit:
                last = argc + ks.last_key
            else:
                last = first + ((argc - first) // ks.limit + ks.last_key)
        elif ks.find_keys == "keynum":
            step = ks.key_step
            idx = first + ks.keynum_index
            if idx >= argc:
                raise InvalidKeyArguments
            try:
                numkeys = int(argv[idx])
            except ValueError:
                raise InvalidKeyArguments
            if numkeys < 0:
                raise InvalidKeyArguments
            first += ks.first_key
            last = first + numkeys - 1
        else:
            raise InvalidKeyArguments
        if ks.find_keys == "keynum" and last < first:
            continue  # numkeys 0 (EVAL with no keys) names no key
        if last >= argc or last < first or first >= argc:
            raise InvalidKeyArguments
        positions.extend(range(first, last + 1, step))
    return positions


def _find_keyword(ks: KeySpec, argv: list[bytes]) -> int | None:
    argc = len(argv)
    if ks.start_from > 0:
        indexes = range(ks.start_from, argc)
    else:
        indexes = range(argc + ks.start_from, 0, -1)
    keyword = ks.keyword.lower()
    for i in indexes:
        if i < 1 or i >= argc:
            break
        if argv[i].lower() == keyword:
            return i + 1
    return None
