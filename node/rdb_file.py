"""Whole-file RDB (Redis 7.0's ``rdbSaveRio`` / ``rdbLoadRio``, RDB version 10), sans I/O.

Theory of operation
-------------------
A file is::

    "REDIS0010"
    AUX redis-ver, redis-bits, ctime, used-mem, [repl-stream-db, repl-id, repl-offset], aof-base
    FUNCTION2 <library code>                      (one per FUNCTION library)
    SELECTDB <n> RESIZEDB <keys> <keys with TTL>  (per non-empty database)
      [EXPIRETIME_MS <8 bytes LE>] [IDLE <secs>] <type> <key> <value body>   (per key)
    EOF <CRC-64 of everything before, 8 bytes LE>

Values are encoded and decoded by the same type registry DUMP/RESTORE use (``node.rdb``): the
RDB type byte and body of a key here are exactly a DUMP payload minus its footer, so there is one
codec per type and it is already fuzzed against redis-server. ``save_rdb`` is what the master
sends on a full resync (and what SAVE would write); ``load_rdb`` reads files written by
redis-server 7.0 (and older versions the registered decoders understand).

Loading mirrors ``rdbLoadRio``: a master skips keys already expired (``iAmMaster()``), a replica
keeps them (its master will send the DELs), ``EXPIRETIME`` (seconds) and ``EXPIRETIME_MS`` both
work, ``IDLE``/``FREQ`` are read and dropped, module data makes the load fail (no modules here)
and the checksum is verified unless it is zero (written with ``rdbchecksum no``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from node import rdb
from node.rdb import (
    RdbError,
    Reader,
    crc64,
    decode_value,
    encode_length,
    encode_string,
    encode_value,
)
from node.state import REDIS_VERSION, NodeState

MAGIC = b"REDIS"

# Opcodes (rdb.h).
RDB_OPCODE_FUNCTION2 = 245
RDB_OPCODE_FUNCTION = 246
RDB_OPCODE_MODULE_AUX = 247
RDB_OPCODE_IDLE = 248
RDB_OPCODE_FREQ = 249
RDB_OPCODE_AUX = 250
RDB_OPCODE_RESIZEDB = 251
RDB_OPCODE_EXPIRETIME_MS = 252
RDB_OPCODE_EXPIRETIME = 253
RDB_OPCODE_SELECTDB = 254
RDB_OPCODE_EOF = 255


@dataclass(slots=True)
class RdbInfo:
    """What a file says besides its keys: the AUX fields and the function libraries' code."""

    aux: dict[bytes, bytes] = field(default_factory=dict)
    libraries: list[bytes] = field(default_factory=list)
    keys_loaded: int = 0
    expired_skipped: int = 0

    @property
    def repl_id(self) -> str | None:
        raw = self.aux.get(b"repl-id")
        return raw.decode("ascii", "replace") if raw else None

    @property
    def repl_offset(self) -> int | None:
        raw = self.aux.get(b"repl-offset")
        return int(raw) if raw else None


# -- saving ----------------------------------------------------------------------------------


def _aux(key: bytes, value: bytes, compress: bool) -> bytes:
    """``rdbSaveAuxField``: both sides go through ``rdbSaveRawString`` (so numbers become
    integer encodings, exactly as ``rdbSaveAuxFieldStrInt`` writes them)."""
    return bytes((RDB_OPCODE_AUX,)) + encode_string(key, compress) + encode_string(value, compress)


def _repl_fields(node: NodeState) -> tuple[int, str, int] | None:
    """(repl-stream-db, repl-id, repl-offset) as ``rdbPopulateSaveInfo`` gives them, or None
    when the node has no replication state."""
    repl = getattr(node, "repl", None)
    if repl is None:
        return None
    stream_db = getattr(repl, "stream_db", -1)
    if stream_db is None or stream_db < 0:
        stream_db = 0
    return stream_db, repl.replid, repl.master_repl_offset


def save_rdb(node: NodeState, with_repl_info: bool = True) -> bytes:
    """The node's dataset as an RDB v10 file (``rdbSaveRio``), CRC-64 included (``rdbchecksum``)."""
    from node.info import used_memory  # node.info imports much of the node: load it lazily

    config = node.config
    compress = config.get_bool("rdbcompression")
    out = bytearray(MAGIC + b"%04d" % rdb.RDB_VERSION)
    out += _aux(b"redis-ver", REDIS_VERSION.encode(), compress)
    out += _aux(b"redis-bits", b"64", compress)
    out += _aux(b"ctime", b"%d" % (node.now_ms // 1000), compress)
    out += _aux(b"used-mem", b"%d" % used_memory(node), compress)
    repl = _repl_fields(node) if with_repl_info else None
    if repl is not None:
        out += _aux(b"repl-stream-db", b"%d" % repl[0], compress)
        out += _aux(b"repl-id", repl[1].encode(), compress)
        out += _aux(b"repl-offset", b"%d" % repl[2], compress)
    out += _aux(b"aof-base", b"0", compress)
    for code in _library_codes(node):
        out += bytes((RDB_OPCODE_FUNCTION2,)) + encode_string(code, compress)
    save_lru = "lru" in config.get("maxmemory-policy")
    now_ms = node.now_ms
    for db in node.dbs:
        if not db.data:
            continue
        out += bytes((RDB_OPCODE_SELECTDB,)) + encode_length(db.id)
        out += bytes((RDB_OPCODE_RESIZEDB,)) + encode_length(len(db.data))
        out += encode_length(len(db.expires))
        expires = db.expires
        for key, value in db.data.items():
            when = expires.get(key) if expires else None
            if when is not None:
                out += bytes((RDB_OPCODE_EXPIRETIME_MS,)) + when.to_bytes(8, "little", signed=True)
            if save_lru:
                idle = max(0, now_ms // 1000 - db.last_access_s(key, now_ms))
                out += bytes((RDB_OPCODE_IDLE,)) + encode_length(idle)
            code, body = encode_value(value, compress)
            out.append(code)
            out += encode_string(key, compress)
            out += body
    out.append(RDB_OPCODE_EOF)
    checksum = crc64(bytes(out)) if config.get_bool("rdbchecksum") else 0
    out += checksum.to_bytes(8, "little")
    return bytes(out)


def _library_codes(node: NodeState) -> list[bytes]:
    state = node.__dict__.get("scripting")  # not created yet: no libraries (and no Lua state)
    if state is None:
        return []
    return [library.code for library in state.libraries.values()]


# -- loading ---------------------------------------------------------------------------------


def load_rdb(node: NodeState, data: bytes, skip_expired: bool | None = None) -> None:
    """Load an RDB file into ``node`` on top of its data (callers flush first when they mean
    to replace it: a full resync, DEBUG RELOAD). Raises ``RdbError`` on a malformed file,
    leaving whatever was loaded before the error (Redis exits in that case). ``skip_expired``
    defaults to "this node is a master", as ``rdbLoadRio``'s ``iAmMaster()`` test."""
    load_rdb_info(node, data, skip_expired)


def load_rdb_info(
    node: NodeState, data: bytes, skip_expired: bool | None = None, now_ms: int | None = None
) -> RdbInfo:
    """``load_rdb`` that also returns the file's AUX fields and counts. ``now_ms``: the time
    of the load, which becomes the node's (a replica's link passes the time the file came)."""
    if now_ms is not None:
        node.now_ms = now_ms
    if skip_expired is None:
        repl = getattr(node, "repl", None)
        skip_expired = repl is None or getattr(repl, "role", "master") == "master"
    reader = Reader(data)
    reader.config = node.config
    version = _read_header(reader)
    info = RdbInfo()
    db = node.dbs[0]
    expire_ms = -1
    now_ms = node.now_ms
    while True:
        kind = reader.read_byte()
        if kind == RDB_OPCODE_EXPIRETIME_MS:
            expire_ms = int.from_bytes(reader.read(8), "little", signed=True)
        elif kind == RDB_OPCODE_EXPIRETIME:
            expire_ms = int.from_bytes(reader.read(4), "little", signed=True) * 1000
        elif kind == RDB_OPCODE_IDLE:
            reader.read_length()
        elif kind == RDB_OPCODE_FREQ:
            reader.read_byte()
        elif kind == RDB_OPCODE_EOF:
            break
        elif kind == RDB_OPCODE_SELECTDB:
            index, _ = reader.read_length()
            if index >= len(node.dbs):
                raise RdbError(
                    f"FATAL: Data file was created with a Redis server configured to handle "
                    f"more than {len(node.dbs)} databases. Exiting"
                )
            db = node.dbs[index]
        elif kind == RDB_OPCODE_RESIZEDB:
            reader.read_length()
            reader.read_length()
        elif kind == RDB_OPCODE_AUX:
            key = reader.read_string()
            info.aux[key] = reader.read_string()
        elif kind == RDB_OPCODE_FUNCTION2:
            info.libraries.append(reader.read_string())
        elif kind == RDB_OPCODE_FUNCTION:
            raise RdbError("Pre-release function format not supported.")
        elif kind == RDB_OPCODE_MODULE_AUX:
            raise RdbError("The RDB file contains AUX module data I can't load: no modules.")
        else:
            key = reader.read_string()
            value = decode_value(reader, kind)
            if expire_ms != -1 and skip_expired and expire_ms < now_ms:
                info.expired_skipped += 1
            else:
                db.set(key, value)
                if expire_ms != -1:
                    db.set_expire(key, expire_ms)
                info.keys_loaded += 1
            expire_ms = -1
    if version >= 5:
        expected = int.from_bytes(reader.read(8), "little")
        if expected and crc64(data[: reader.pos - 8]) != expected:
            raise RdbError("Wrong RDB checksum. Aborting now.")
    _load_libraries(node, info.libraries)
    return info


def _read_header(reader: Reader) -> int:
    header = reader.read(9)
    if header[:5] != MAGIC:
        raise RdbError("Wrong signature trying to load DB from file")
    try:
        version = int(header[5:])
    except ValueError:
        raise RdbError("Wrong signature trying to load DB from file") from None
    if version < 1 or version > rdb.RDB_VERSION:
        raise RdbError(f"Can't handle RDB format version {version}")
    return version


def _load_libraries(node: NodeState, codes: list[bytes]) -> None:
    """``rdbFunctionLoad``: each library replaces the one of the same name."""
    if not codes:
        return
    from node.protocol.errors import RespError
    from node.scripting.functions import create_library
    from node.scripting.state import scripting

    state = scripting(node)
    for code in codes:
        try:
            create_library(state, code, True, state.libraries, state.functions)
        except RespError as error:
            raise RdbError(f"Failed loading library: {error.text}") from None


def flush_for_load(node: NodeState) -> None:
    """Empty every database and the function libraries before a full resync loads the master's
    file (``emptyData`` with functions, as ``readSyncBulkPayload`` does)."""
    for db in node.dbs:
        if db.data or db.expires:
            db.flush()
    state = node.__dict__.get("scripting")
    if state is not None and state.libraries:
        state.reset_functions()
