"""Lua scripting (EVAL and FUNCTION): the engine, the sandbox and the libraries scripts use.

``node.types.scripting`` holds the commands; this package holds what they run on:
``state`` (per-node scripts, libraries, the running script), ``engine`` (a Lua state and its
bridge to the dispatcher), ``lua_sandbox``/``lua_libs`` (the Lua side) and ``libs`` (the Python
halves of ``bit``, ``struct``, ``cmsgpack`` and ``math.random``).
"""
