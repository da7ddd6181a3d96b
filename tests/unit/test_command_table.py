"""The command table: handlers and Redis's rows match one to one, and dispatch follows the rows.

Pure: builds the table and calls the dispatcher on a fresh in-memory node, no sockets. Wrong
arities never reach a handler, so they are checked through ``execute`` for every served command;
right arities are checked through ``lookup`` only (running arbitrary handlers has side effects).
"""

from __future__ import annotations

import importlib
import pkgutil
import random

import pytest

import node.commands
from node.commands import HANDLER_MODULES, build_table, collect_handlers
from node.config import Config
from node.core import execute, lookup
from node.protocol.command_table import Command, command_specs, served_commands
from node.protocol.commands import redis_command_specs
from node.protocol.errors import RespError
from node.session import Session
from tests.support.nodes import make_node

TABLE = build_table()
SPECS = command_specs()
SERVED = served_commands(TABLE)
EVERY = [c for top in SERVED for c in (top, *top.subcommands.values())]


@pytest.fixture
def session() -> Session:
    return Session(make_node(Config(), rng=random.Random(3), now_ms=1_700_000_000_000), 1)


def served(session: Session) -> list[Command]:
    return served_commands(session.node.commands)


def every(session: Session) -> list[Command]:
    return [c for top in served(session) for c in (top, *top.subcommands.values())]


def _argv(command: Command, argc: int) -> list[bytes]:
    head = [part.encode() for part in command.name.split("|")]
    return head + [b"x%d" % i for i in range(argc - len(head))]


def test_every_handler_has_a_redis_row():
    specs = redis_command_specs()
    for name in collect_handlers():
        top, _, sub = name.partition("|")
        assert name == name.lower(), name
        assert top in specs, f"{name!r}: Redis has no such command"
        if sub:
            assert sub in specs[top].subcommands, f"{name!r}: Redis has no such subcommand"


def test_table_rows_and_handlers_match_one_to_one():
    handlers = collect_handlers()
    served = {c.name for c in EVERY if c.handler is not None}
    assert served == set(handlers)
    for command in EVERY:
        if command.handler is not None:
            assert command.handler is handlers[command.name]
        spec = SPECS[command.name.split("|")[0]]
        redis_spec = redis_command_specs()[command.name.split("|")[0]]
        if "|" in command.name:
            spec = spec.subcommands[command.name.split("|")[1]]
            redis_spec = redis_spec.subcommands[command.name.split("|")[1]]
        assert command.spec is spec
        # COMMAND shows Redis's own row; rcsim's overlay only adds flags dispatch reads.
        assert command.spec.info_reply is redis_spec.info_reply
        assert command.spec.flags >= redis_spec.flags
        assert command.is_write == ("write" in spec.flags)
        assert command.no_multi == ("no_multi" in spec.flags)
        assert command.no_auth == ("no_auth" in spec.flags)


def test_table_keys_are_lower_and_upper_names():
    for key, command in TABLE.items():
        assert key in (command.name_bytes, command.name_bytes.upper())
    assert len(TABLE) == 2 * len(SERVED)


def test_every_served_container_has_a_subcommand():
    for command in SERVED:
        if command.spec.subcommands:
            assert command.subcommands, f"{command.name!r} is served without a subcommand"
            for sub_name, sub in command.subcommands.items():
                assert sub.parent is command
                assert sub.name == f"{command.name}|{sub_name.decode()}"
        else:
            assert command.handler is not None


def test_every_handler_module_is_listed():
    for handler in collect_handlers().values():
        assert handler.__module__ in HANDLER_MODULES, handler
    for info in pkgutil.iter_modules(node.commands.__path__):
        module = importlib.import_module(f"node.commands.{info.name}")
        if hasattr(module, "HANDLERS"):
            assert module.__name__ in HANDLER_MODULES, (
                f"{module.__name__} is not in HANDLER_MODULES"
            )


def test_wrong_arity_is_refused_before_the_handler(session):
    for command in every(session):
        if command.handler is None:
            continue
        arity = command.spec.arity
        wrong = [abs(arity) - 1] + ([arity + 1] if arity > 0 else [])
        for argc in wrong:
            if argc < len(command.name.split("|")):
                continue  # too short to name the subcommand: see the container test
            reply = execute(session, _argv(command, argc))
            assert isinstance(reply, RespError), (command.name, argc, reply)
            text = f"wrong number of arguments for '{command.name}' command"
            if command.name == "exec":  # Redis's execCommandAbort
                assert reply.text == "EXECABORT Transaction discarded because of: " + text
            else:
                assert reply.text == "ERR " + text


def test_right_arity_resolves_to_the_command(session):
    for command in every(session):
        if command.handler is None:
            continue
        arity = command.spec.arity
        if command.subcommands:  # a container that runs bare: one argument only
            assert lookup(session, [command.name_bytes]) == (command, None)
            continue
        for argc in [arity] if arity > 0 else [-arity, -arity + 1, -arity + 5]:
            if argc < len(command.name.split("|")):
                continue
            assert lookup(session, _argv(command, argc)) == (command, None), (command.name, argc)


def test_container_dispatch(session):
    for command in served(session):
        if not command.subcommands:
            continue
        found, bare_error = lookup(session, [command.name_bytes])
        assert found is command
        if command.handler is None:
            assert isinstance(bare_error, RespError)
            assert bare_error.text == f"ERR wrong number of arguments for '{command.name}' command"
        else:
            assert bare_error is None  # COMMAND runs bare, as in Redis
        unknown = execute(session, [command.name_bytes.upper(), b"NoSuchSub"])
        assert isinstance(unknown, RespError)
        assert unknown.text == (
            f"ERR unknown subcommand 'NoSuchSub'. Try {command.name.upper()} HELP."
        )
        for sub_name, sub in command.subcommands.items():
            argv = _argv(sub, max(abs(sub.spec.arity), 2))
            argv[1] = sub_name.upper()
            assert lookup(session, argv) == (sub, None)


def test_names_are_case_insensitive(session):
    for command in served(session):
        argc = max(abs(command.spec.arity), 1)
        if command.subcommands:
            continue
        argv = _argv(command, argc)
        argv[0] = argv[0].title()
        assert lookup(session, argv) == (command, None)


def test_rejected_calls_are_counted_against_the_command(session):
    """Redis's rejectCommand bumps rejected_calls (INFO commandstats) for a known command."""
    get = session.node.commands[b"get"]
    before = list(get.stats)
    assert isinstance(execute(session, [b"GET", b"a", b"b"]), RespError)
    assert get.stats[2] == before[2] + 1
    assert get.stats[0] == before[0]  # not a call


def test_an_rcsim_only_row_is_a_real_command_in_command_info_and_docs():
    """The overlay's rows (node.protocol.overlay.RCSIM_COMMANDS, the fault family's home) get
    served, arity-checked and described by COMMAND like Redis's own commands."""
    from node.protocol.command_table import build_command_table, rcsim_spec
    from node.protocol.overlay import RcsimCommand, RcsimKeySpec
    from node.protocol.resp import encode

    row = RcsimCommand(
        name="rcsim-probe",
        arity=-2,
        flags=("readonly", "fast"),
        summary="Answer the key it was given (a test row).",
        acl_categories=("read",),
        key_specs=(RcsimKeySpec(flags=("RO", "access")),),
    )
    specs = dict(command_specs())
    specs[row.name] = rcsim_spec(row)
    table = build_command_table({**collect_handlers(), row.name: lambda ctx, argv: argv[1]}, specs)
    node = make_node(Config(), rng=random.Random(3))
    node.commands = table
    session = Session(node, 1)
    assert execute(session, [b"RCSIM-PROBE", b"k"]) == b"k"
    assert execute(session, [b"rcsim-probe"]).text == (
        "ERR wrong number of arguments for 'rcsim-probe' command"
    )
    info = encode(execute(session, [b"COMMAND", b"INFO", b"rcsim-probe"]), False)
    assert info.startswith(
        b"*1\r\n*10\r\n$11\r\nrcsim-probe\r\n:-2\r\n*2\r\n+readonly\r\n+fast\r\n"
    )
    assert b"@read" in info and b"RO" in info
    docs = encode(execute(session, [b"COMMAND", b"DOCS", b"rcsim-probe"]), False)
    assert b"Answer the key it was given (a test row)." in docs
    assert execute(session, [b"COMMAND", b"GETKEYS", b"rcsim-probe", b"k"]) == [b"k"]
