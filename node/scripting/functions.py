"""FUNCTION libraries (Redis 7.0's ``functions.c`` and ``function_lua.c``), sans I/O.

A library is Lua code that starts with ``#!lua name=<lib>`` and calls
``redis.register_function`` while it loads; its functions are then called with FCALL. Loading
runs in the function engine's restricted load environment (only ``redis.register_function``,
``redis.log`` and constants); the registered callbacks later run with the full script API.
Function names are case-insensitive, library names are not, as in Redis.

FUNCTION DUMP is Redis's payload: each library as ``RDB_OPCODE_FUNCTION2`` plus its code as an
RDB string, then the RDB version and a CRC-64, so payloads move between rcsim and Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from node import rdb
from node.protocol.errors import RespError
from node.protocol.resp import split_inline_args
from node.scripting.model import Function, Library, valid_name

if TYPE_CHECKING:
    from node.scripting.state import ScriptingState

RDB_OPCODE_FUNCTION = 246  # the 7.0 release candidates' format
RDB_OPCODE_FUNCTION2 = 245
BAD_NAME = (
    "ERR Library names can only contain letters, numbers, or underscores(_) and must be at "
    "least one character long"
)


def parse_metadata(code: bytes) -> tuple[bytes, bytes, bytes]:
    """``functionExtractLibMetaData``: (engine, library name, code after the shebang line)."""
    if not code.startswith(b"#!"):
        raise RespError("ERR Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        raise RespError("ERR Invalid library metadata")
    parts = split_inline_args(code[:end])
    if not parts:
        raise RespError("ERR Invalid library metadata")
    engine = parts[0][2:]
    name = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise RespError(
                    "ERR Invalid metadata value, name argument was given multiple times"
                )
            name = part[5:]
            continue
        raise RespError("ERR Invalid metadata value given: " + _text(part))
    if name is None:
        raise RespError("ERR Library name was not given")
    return engine, name, code[end:]


def create_library(
    state: ScriptingState,
    code: bytes,
    replace: bool,
    libraries: dict[bytes, Library],
    functions: dict[bytes, Function],
) -> Library:
    """``functionsCreateWithLibraryCtx``: compile, load and link a library into ``libraries``
    and ``functions`` (the node's, or a scratch set for FUNCTION RESTORE)."""
    engine_name, name, body = parse_metadata(code)
    if not valid_name(name):
        raise RespError(BAD_NAME)
    if engine_name.lower() != b"lua":
        raise RespError("ERR Engine '" + _text(engine_name) + "' not found")
    old = libraries.get(name)
    if old is not None and not replace:
        raise RespError("ERR Library '" + _text(name) + "' already exists")
    engine = state.function_engine
    fn, message = engine.compile(body, b"@user_function")
    if fn is None:
        raise RespError("ERR Error compiling function: " + _text(message))
    registered, message = engine.load_library(fn)
    if registered is None:
        raise RespError("ERR Error registering functions: " + _text(message))
    if not registered:
        raise RespError("ERR No functions registered")
    library = Library(name, code)
    for key, fname, description, flags, callback in registered:
        existing = functions.get(key)
        if existing is not None and existing.library is not old:
            raise RespError("ERR Function " + _text(fname) + " already exists")
        library.functions[key] = Function(fname, description, flags, callback, library)
    if old is not None:
        unlink(old, libraries, functions)
    libraries[name] = library
    functions.update(library.functions)
    return library


def unlink(library: Library, libraries: dict, functions: dict) -> None:
    libraries.pop(library.name, None)
    for key in library.functions:
        functions.pop(key, None)


def dump(state: ScriptingState, compress: bool) -> bytes:
    """FUNCTION DUMP's payload (``rdbSaveFunctions`` + version + CRC-64)."""
    body = b"".join(
        bytes((RDB_OPCODE_FUNCTION2,)) + rdb.encode_string(library.code, compress)
        for library in state.libraries.values()
    )
    body += rdb.RDB_VERSION.to_bytes(2, "little")
    return body + rdb.crc64(body).to_bytes(8, "little")


def restore(state: ScriptingState, payload: bytes, policy: bytes) -> None:
    """FUNCTION RESTORE: load every library of the payload aside, then join them (or swap them
    in for FLUSH) as ``functionRestoreCommand`` does."""
    if not rdb.verify_payload(payload):
        raise RespError("ERR DUMP payload version or checksum are wrong")
    libraries: dict[bytes, Library] = {}
    functions: dict[bytes, Function] = {}
    reader = rdb.Reader(payload)
    end = len(payload) - 10
    try:
        while reader.pos < end:
            kind = reader.read_byte()
            if kind not in (RDB_OPCODE_FUNCTION, RDB_OPCODE_FUNCTION2):
                raise RespError("ERR given type is not a function")
            if kind == RDB_OPCODE_FUNCTION:
                raise RespError("ERR Pre-GA function format not supported")
            code = reader.read_string()
            try:
                create_library(state, code, False, libraries, functions)
            except RespError as error:
                raise RespError(error.text) from None
    except rdb.RdbError:
        raise RespError("ERR failed loading the given functions payload") from None
    if policy == b"flush":
        state.libraries.clear()
        state.functions.clear()
    elif policy == b"append":
        for name, library in libraries.items():
            if name in state.libraries:
                raise RespError("ERR Library " + _text(name) + " already exists")
            for key, function in library.functions.items():
                if key in state.functions:
                    raise RespError("ERR Function " + _text(function.name) + " already exists")
    else:  # replace: libraries of the same name go, but functions may not collide elsewhere
        for name, library in libraries.items():
            old = state.libraries.get(name)
            for key, function in library.functions.items():
                existing = state.functions.get(key)
                if existing is not None and existing.library is not old:
                    raise RespError("ERR Function " + _text(function.name) + " already exists")
        for name in libraries:
            old = state.libraries.get(name)
            if old is not None:
                unlink(old, state.libraries, state.functions)
    for name, library in libraries.items():
        state.libraries[name] = library
        state.functions.update(library.functions)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")
