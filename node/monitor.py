"""MONITOR: every command a node runs, as a line to each monitoring client (Redis's
``replicationFeedMonitors``), fed by an after hook of the invocation function.

The hook is enabled only while some client monitors (``NodeState.add_monitor``), so the hot path
pays nothing otherwise. A monitor sees a command once it ran (Redis 7's ``call()``), so EXEC
follows its commands; admin commands and blocked clients served again are not shown, and secrets
are redacted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.hooks import CALL_RETRY

if TYPE_CHECKING:
    from node.protocol.command_table import Command
    from node.session import Session


def monitor_hook(
    session: Session, command: Command, argv: list[bytes], reply: object, flags: int
) -> None:
    """The after hook: one MONITOR line per command run (not for one served again)."""
    if not command.skip_monitor and not flags & CALL_RETRY:
        feed_monitors(session, argv)


def feed_monitors(session: Session, argv: list[bytes]) -> None:
    """MONITOR line: ``+<unix.micro> [<db> <addr>] "arg" "arg"`` with C-style escapes."""
    node = session.node
    now = node.now_ms
    quoted = " ".join(_repr_arg(a) for a in _redact(argv))
    line = b"+%d.%06d [%d %s] %s\r\n" % (
        now // 1000,
        (now % 1000) * 1000,
        session.db_index,
        session.addr.encode(),
        quoted.encode("latin-1"),
    )
    for monitor in list(node.monitors):
        monitor.push_out_of_band(line)  # a monitor sees its own commands too, as in Redis


_REDACTED = b"(redacted)"


def _redact(argv: list[bytes]) -> list[bytes]:
    """Secrets never reach MONITOR (Redis's ``redactClientCommandArgument``): AUTH's arguments,
    HELLO's ``AUTH user pass``, MIGRATE's ``AUTH pass`` / ``AUTH2 user pass``."""
    name = argv[0].lower()
    if name == b"auth" and len(argv) <= 3:  # a syntax error comes before the redaction
        return [argv[0]] + [_REDACTED] * (len(argv) - 1)
    if name not in (b"hello", b"migrate"):
        return argv
    shown = list(argv)
    i = 2 if name == b"hello" else 6  # options start after the version / after MIGRATE's timeout
    while i < len(shown):
        option = shown[i].lower()
        count = 2 if option == b"auth2" or (option == b"auth" and name == b"hello") else 1
        if option in (b"auth", b"auth2") and i + count < len(shown):
            shown[i + 1 : i + 1 + count] = [_REDACTED] * count
            i += count
        i += 1
    return shown


def _repr_arg(arg: bytes) -> str:
    """Redis's ``sdscatrepr``: printable bytes as is, escapes for the rest."""
    out = ['"']
    for c in arg:
        if c in (34, 92):
            out.append("\\" + chr(c))
        elif c == 10:
            out.append("\\n")
        elif c == 13:
            out.append("\\r")
        elif c == 9:
            out.append("\\t")
        elif c == 7:
            out.append("\\a")
        elif c == 8:
            out.append("\\b")
        elif 32 <= c < 127:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    out.append('"')
    return "".join(out)
