"""The Lua half of the scripting engine: three chunks shipped as package data in ``lua/``.

They are real ``.lua`` files (read once per process with ``importlib.resources``, so an installed
wheel finds them as well as a checkout) rather than Python strings, so editors and linters see
Lua. Each file's first line is empty: the text is byte for byte what the chunks were when they
lived in Python strings, so the line numbers Lua knows them by did not move.

``sandbox.lua`` is Redis's script environment, rebuilt on stock Lua 5.1. Redis 7 patches its Lua
with read-only tables and locks the global table and every library table reachable from it.
Stock Lua (what lupa bundles) has no such flag, so the sandbox gets the same observable behaviour
from proxies: every protected table is an empty proxy whose metatable reads through to the real
table and refuses writes ("Attempt to modify a readonly table"), the global table answers a
missing name with "Script attempted to access nonexistent global variable 'x'", and
``rawget``/``rawset``/``next``/``pairs``/``setmetatable`` see through (or refuse) the proxies.
The few raw writes that could still reach a proxy (``table.insert(_G, x)``) are wiped after
every run, so nothing a script does survives it, which is the point of Redis's lock.

Everything a script may not reach (``debug``, the real tables, the Python bridge) stays in the
locals of the sandbox chunk. Frames of the chunk are named ``=[rcsim]``; the error handler skips
them when it reports where an error happened, because in Redis the same shims are C functions.
The chunk returns a table of entry points for ``node.scripting.engine``: run a script, compile
one, load a function library, and the conversions between Lua values and RESP (Redis's
``luaReplyToRedisReply`` and ``redisProtocolToLuaType``), which are done in Lua because they must
follow Lua's own table iteration order and raw accesses.

``cjson.lua`` and ``cmsgpack.lua`` mirror the C libraries Redis 7.0 links in (``lua_cjson.c``
2.1.0 and ``lua_cmsgpack.c`` 0.4.0). Both walk Lua tables, so they live on the Lua side: key
order is ``next`` order and array tests use raw accesses, exactly what the C code sees. The few
operations Lua 5.1 cannot express exactly (IEEE-754 packing, 64-bit integers) call small Python
helpers in ``node.scripting.libs``. The chunks are compiled before the sandbox switches the
global table, so their globals are the untouched builtins; each returns its library. Their
errors are raised without a position: the sandbox runs every library function behind a C
resumer that adds the caller's position, as ``luaL_error`` does ("user_script:1: ...").
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def lua_source(name: str) -> str:
    """The text of ``lua/<name>.lua`` (``sandbox``, ``cjson`` or ``cmsgpack``), read once."""
    return files("node.scripting").joinpath("lua").joinpath(f"{name}.lua").read_text("utf-8")


def sandbox() -> str:
    """The sandbox chunk: called with the Python bridge and the mode, returns the entry points."""
    return lua_source("sandbox")


def cjson() -> str:
    """The cjson chunk: returns the ``cjson`` library table."""
    return lua_source("cjson")


def cmsgpack() -> str:
    """The cmsgpack chunk: called with ``{py = <the Python number helpers>}``, returns the
    ``cmsgpack`` library table."""
    return lua_source("cmsgpack")
