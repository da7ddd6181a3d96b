"""Lua scripting (EVAL and FUNCTION): the engine, the sandbox and the libraries scripts use.

``node.commands.scripting`` holds the commands; this package holds what they run on. Imports go
one way, top to bottom:

- ``state``: per-node scripts, libraries and the running script (``scripting(node)``);
  ``functions``: FUNCTION libraries (load, dump, restore);
- ``engine``: a Lua state and its bridge to the dispatcher;
- ``lua_sources``: the Lua side, ``lua/*.lua`` package data; ``libs``: the Python halves of
  ``bit``, ``struct``, ``cmsgpack`` and ``math.random``;
- ``model``: the dataclasses and flags every module above shares; it imports none of them.
"""
