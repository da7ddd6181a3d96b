"""The nouns of scripting: scripts, libraries, functions, one run, and the flags they carry.

This module is the bottom of ``node.scripting``: it imports nothing from the package, so the
engine (which validates ``redis.register_function`` calls), the per-node state (which holds
scripts and libraries) and the FUNCTION library code (which builds them) can all import it
without importing each other in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from node.session import Session

# Redis's scripts_flags_def, in its order (FUNCTION LIST shows flags in this order).
SCRIPT_FLAGS = (b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster", b"allow-cross-slot-keys")


def valid_name(name: bytes) -> bool:
    """``functionsVerifyName``: letters, digits and underscores, at least one."""
    return bool(name) and all(
        48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c == 95 for c in name
    )


@dataclass(slots=True)
class Script:
    """A cached EVAL script: its compiled function, shebang flags and body."""

    fn: object
    flags: frozenset[str]
    compat: bool  # no shebang: Redis's SCRIPT_FLAG_EVAL_COMPAT_MODE
    body: bytes


@dataclass(slots=True)
class Function:
    """A function registered by a library: its Lua callback and the flags it was given."""

    name: bytes
    description: bytes | None
    flags: list[str]
    callback: object
    library: Library


@dataclass(slots=True)
class Library:
    """A FUNCTION library: its code (kept verbatim for FUNCTION DUMP/LIST) and its functions."""

    name: bytes
    code: bytes
    functions: dict[bytes, Function] = field(default_factory=dict)  # lowercase name -> function


@dataclass(slots=True)
class RunContext:
    """One script execution (Redis's ``scriptRunCtx``)."""

    caller: Session
    script_session: Session
    name: str  # the SHA (EVAL) or the function name (FCALL), shown in errors
    is_eval: bool
    read_only: bool
    start_ns: int
    threshold_ms: int
    argv: list[bytes] = field(default_factory=list)
    timed_out: bool = False
    killed: bool = False
    write_dirty: bool = False
    shutdown: bool = False
