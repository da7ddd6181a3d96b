"""Server commands: DBSIZE, FLUSHDB, FLUSHALL, TIME, LASTSAVE, LOLWUT, SHUTDOWN, INFO, MONITOR,
CONFIG, SLOWLOG and LATENCY (DEBUG lives in ``node.commands.debug``).

Everything that needs the world outside the node goes through the node: the clock is
``node.now_ms``, randomness ``node.rng``, OS facts and the config file ``node.host``, and
SHUTDOWN is an event the driver carries out.
"""

from __future__ import annotations

import dataclasses

from node import info, latency, lolwut
from node.commands.debug import is_local_client
from node.config import ConfigSetError
from node.protocol.errors import RespError, help_reply, syntax_error
from node.protocol.resp import OK, Map, Verbatim
from node.session import Session
from node.state import REDIS_VERSION, Shutdown
from node.types.common import parse_int

# -- keyspace-wide commands -------------------------------------------------------------------


def dbsize_command(ctx: Session, argv: list[bytes]) -> object:
    return len(ctx.db)


def _check_flush_flags(argv: list[bytes]) -> None:
    """``getFlushCommandFlags``: at most one of ASYNC | SYNC (rcsim always frees at once)."""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"async", b"sync")):
        raise syntax_error()


def flushdb_command(ctx: Session, argv: list[bytes]) -> object:
    _check_flush_flags(argv)
    ctx.node.dirty += len(ctx.db)
    ctx.db.flush()
    return OK


def flushall_command(ctx: Session, argv: list[bytes]) -> object:
    """Every database, as Redis's ``flushallCommand`` (WATCHed keys that existed are touched)."""
    _check_flush_flags(argv)
    node = ctx.node
    for db in node.dbs:
        if db.data or db.watchers:
            node.dirty += len(db)
            db.flush()
    return OK


def time_command(ctx: Session, argv: list[bytes]) -> object:
    now = ctx.node.now_ms
    return [b"%d" % (now // 1000), b"%d" % ((now % 1000) * 1000)]


def lastsave_command(ctx: Session, argv: list[bytes]) -> object:
    return ctx.node.last_save_s


def lolwut_command(ctx: Session, argv: list[bytes]) -> object:
    """``LOLWUT [VERSION v] [args]``: 5 is Schotter, 6 the skyline, anything else (7 included,
    the default) is the one-line "unstable" reply, as in Redis 7.0."""
    version = REDIS_VERSION
    args = argv[1:]
    if len(argv) >= 3 and argv[1].lower() == b"version":
        requested = parse_int(argv[2]) % 2**32  # printed with %u, as Redis does
        version = f"{requested}.0.0"
        args = argv[3:]
    rng = ctx.node.rng
    if (version.startswith("5.") and version[2:3] != "9") or version.startswith("4.9"):
        cols, per_row, per_col = _lolwut_numbers(args, (66, 8, 12))
        return Verbatim(lolwut.lolwut5(cols, per_row, per_col, rng, REDIS_VERSION))
    if (version.startswith("6.") and version[2:3] != "9") or version.startswith("5.9"):
        cols, rows = _lolwut_numbers(args, (80, 20))
        return Verbatim(lolwut.lolwut6(cols, rows, rng, REDIS_VERSION))
    return Verbatim(b"Redis ver. %s\n" % REDIS_VERSION.encode())


def _lolwut_numbers(args: list[bytes], defaults: tuple[int, ...]) -> list[int]:
    """The leading numeric arguments (extra ones are ignored), defaults for the missing ones."""
    given = [parse_int(a) for a in args[: len(defaults)]]
    return given + list(defaults[len(given) :])


def shutdown_command(ctx: Session, argv: list[bytes]) -> object:
    """``shutdownCommand``: on success the node stops and the client gets no reply at all (the
    connection just closes), so the reply is suppressed and the driver told to stop."""
    flags = set()
    abort = False
    for arg in argv[1:]:
        word = arg.lower()
        if word in (b"nosave", b"save", b"now", b"force"):
            flags.add(word)
        elif word == b"abort":
            abort = True
        else:
            raise syntax_error()
    if (abort and flags) or {b"nosave", b"save"} <= flags:
        raise syntax_error()
    if abort:
        raise RespError("ERR No shutdown in progress.")
    node = ctx.node
    save = b"save" in flags or (b"nosave" not in flags and bool(node.config.get("save")))
    node.events.append(Shutdown(save=save))
    ctx.reply_skip += 1
    ctx.close_after_reply = True
    return None


# -- INFO and MONITOR -------------------------------------------------------------------------


def info_command(ctx: Session, argv: list[bytes]) -> object:
    """A bulk string in RESP2 and a ``txt`` verbatim string in RESP3, like ``addReplyVerbatim``."""
    sections = info.select_sections([a.decode("utf-8", "surrogateescape") for a in argv[1:]])
    text = info.render(ctx.node, sections)
    return Verbatim(text.encode("utf-8", "surrogateescape"))


def monitor_command(ctx: Session, argv: list[bytes]) -> object:
    """The client becomes a monitor: the dispatcher feeds it every command others run."""
    if ctx.monitor:
        ctx.reply_skip += 1  # Redis ignores MONITOR from a monitor: no reply at all
        return None
    ctx.monitor = True
    ctx.node.add_monitor(ctx)
    return OK


# -- CONFIG -----------------------------------------------------------------------------------

_CONFIG_HELP = (
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
)
# rcsim cannot re-bind its listeners at run time; Redis's apply step fails with these texts.
_UNAPPLIABLE = {
    "port": "Unable to listen on this port. Check server logs.",
    "bind": "Failed to bind to specified addresses.",
}


def _text(arg: bytes) -> str:
    return arg.decode("utf-8", "surrogateescape")


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def config_get_command(ctx: Session, argv: list[bytes]) -> object:
    pairs = ctx.node.config.get_many([_text(a) for a in argv[2:]])
    return Map([(_raw(name), _raw(value)) for name, value in pairs])


def config_set_command(ctx: Session, argv: list[bytes]) -> object:
    """``configSetCommand``: several pairs, all validated before any is applied."""
    if len(argv) % 2:
        raise syntax_error()
    node = ctx.node
    config = node.config
    pairs = [(_text(argv[i]), _text(argv[i + 1])) for i in range(2, len(argv), 2)]
    protected_ok = _allow_protected(config.get("enable-protected-configs"), ctx)
    before = dict(config.values)
    try:
        changed = config.set_many(pairs, protected_ok)
    except ConfigSetError as error:
        if error.unknown:
            raise RespError(
                f"ERR Unknown option or number of arguments for CONFIG SET - '{error.arg}'"
            ) from None
        raise RespError(
            f"ERR CONFIG SET failed (possibly related to argument '{error.arg}') - {error.reason}"
        ) from None
    for name in changed:
        if name in _UNAPPLIABLE:
            config.values = before
            raise RespError(
                f"ERR CONFIG SET failed (possibly related to argument '{name}') - "
                + _UNAPPLIABLE[name]
            )
    node.apply_config()
    return OK


def _allow_protected(setting: str, ctx: Session) -> bool:
    """``allowProtectedAction``: ``yes``, or ``local`` for loopback clients."""
    return setting == "yes" or (setting == "local" and is_local_client(ctx))


def config_resetstat_command(ctx: Session, argv: list[bytes]) -> object:
    """``resetServerStats`` + ``resetCommandTableStats`` + ``resetErrorTableStats``. Counters are
    zeroed in place: connections hold references to ``node.stats``."""
    node = ctx.node
    stats = node.stats
    for item in dataclasses.fields(stats):
        value = getattr(stats, item.name)
        if isinstance(value, int):
            setattr(stats, item.name, 0)
        elif isinstance(value, dict):
            value.clear()
    for command in set(node.commands.values()):
        command.stats[:] = [0, 0, 0, 0]
        for sub in command.subcommands.values():
            sub.stats[:] = [0, 0, 0, 0]
    return OK


def config_rewrite_command(ctx: Session, argv: list[bytes]) -> object:
    """``configRewriteCommand``: rewrite the file the node was started with, in place."""
    node = ctx.node
    path = node.config.source_file
    if not path:
        raise RespError("ERR The server is running without a config file")
    try:
        old = node.host.read_text(path) or ""
        node.host.write_text(path, node.config.rewrite_text(old))
    except OSError as error:
        raise RespError(f"ERR Rewriting config file: {error.strerror}") from None
    return OK


def config_help_command(ctx: Session, argv: list[bytes]) -> object:
    return help_reply("CONFIG", _CONFIG_HELP)


# -- SLOWLOG ----------------------------------------------------------------------------------

_SLOWLOG_HELP = (
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
)


def slowlog_get_command(ctx: Session, argv: list[bytes]) -> object:
    """``SLOWLOG GET [count]``: newest first; -1 means all; default 10."""
    if len(argv) > 3:
        raise RespError(
            f"ERR unknown subcommand or wrong number of arguments for '{_text(argv[1])}'. "
            "Try SLOWLOG HELP."
        )
    count = 10
    if len(argv) == 3:
        try:
            count = parse_int(argv[2])
        except RespError:
            count = -2
        if count < -1:
            raise RespError("ERR count should be greater than or equal to -1")
    entries = list(ctx.node.slowlog)
    if count != -1:
        entries = entries[:count]
    return [
        [e.id, e.timestamp_s, e.duration_us, list(e.argv), _raw(e.addr), e.name] for e in entries
    ]


def slowlog_len_command(ctx: Session, argv: list[bytes]) -> object:
    return len(ctx.node.slowlog)


def slowlog_reset_command(ctx: Session, argv: list[bytes]) -> object:
    ctx.node.slowlog.clear()
    return OK


def slowlog_help_command(ctx: Session, argv: list[bytes]) -> object:
    return help_reply("SLOWLOG", _SLOWLOG_HELP)


# -- LATENCY ----------------------------------------------------------------------------------

_LATENCY_HELP = (
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the "
    "specified command names.",
    "    If no commands are specified then all histograms are replied.",
)


def latency_latest_command(ctx: Session, argv: list[bytes]) -> object:
    return [
        [_raw(event), s.samples[-1][0], s.samples[-1][1], s.max_ms]
        for event, s in ctx.node.latency_events.items()
        if s.samples
    ]


def latency_history_command(ctx: Session, argv: list[bytes]) -> object:
    series = ctx.node.latency_events.get(_text(argv[2]))
    return [] if series is None else [[t, ms] for t, ms in series.samples]


def latency_reset_command(ctx: Session, argv: list[bytes]) -> object:
    names = [_text(a) for a in argv[2:]] or None
    return latency.reset(ctx.node.latency_events, names)


def latency_doctor_command(ctx: Session, argv: list[bytes]) -> object:
    node = ctx.node
    report = latency.doctor(
        node.latency_events,
        node.latency_threshold_ms,
        node.slowlog_threshold_us,
        node.now_ms // 1000,
    )
    return Verbatim(_raw(report))


def latency_graph_command(ctx: Session, argv: list[bytes]) -> object:
    event = _text(argv[2])
    series = ctx.node.latency_events.get(event)
    if series is None:
        raise RespError(f"ERR No samples available for event '{event}'")
    return Verbatim(_raw(latency.graph(event, series, ctx.node.now_ms // 1000)))


def latency_histogram_command(ctx: Session, argv: list[bytes]) -> object:
    """``LATENCY HISTOGRAM [command ...]``: rcsim keeps no per-call histogram, so each command
    shows one bucket, the power of two at or above its mean latency, holding all its calls."""
    from node.protocol.command_table import served_commands

    node = ctx.node
    wanted = {_text(a).lower() for a in argv[2:]}
    out = []
    for command in served_commands(node.commands):
        entries = [command] if command.handler else []
        entries += [command.subcommands[k] for k in sorted(command.subcommands)]
        for entry in entries:
            name = entry.name  # subcommands are named "config|get"
            calls, nanoseconds = entry.stats[0], entry.stats[1]
            if not calls or (wanted and name not in wanted):
                continue
            bucket = 1
            while bucket < nanoseconds / 1000 / calls:
                bucket *= 2
            histogram = Map([(bucket, calls)])
            out.append((_raw(name), Map([(b"calls", calls), (b"histogram_usec", histogram)])))
    return Map(out)


def latency_help_command(ctx: Session, argv: list[bytes]) -> object:
    return help_reply("LATENCY", _LATENCY_HELP)


HANDLERS: dict = {
    "dbsize": dbsize_command,
    "flushdb": flushdb_command,
    "flushall": flushall_command,
    "time": time_command,
    "lastsave": lastsave_command,
    "lolwut": lolwut_command,
    "shutdown": shutdown_command,
    "info": info_command,
    "monitor": monitor_command,
    "config|get": config_get_command,
    "config|set": config_set_command,
    "config|resetstat": config_resetstat_command,
    "config|rewrite": config_rewrite_command,
    "config|help": config_help_command,
    "slowlog|get": slowlog_get_command,
    "slowlog|len": slowlog_len_command,
    "slowlog|reset": slowlog_reset_command,
    "slowlog|help": slowlog_help_command,
    "latency|latest": latency_latest_command,
    "latency|history": latency_history_command,
    "latency|reset": latency_reset_command,
    "latency|doctor": latency_doctor_command,
    "latency|graph": latency_graph_command,
    "latency|histogram": latency_histogram_command,
    "latency|help": latency_help_command,
}

__all__ = ["HANDLERS"]
