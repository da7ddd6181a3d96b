"""The one invocation function and its hooks: a before hook reaches every way a command runs.

Issue #11's acceptance: a before hook that answers an error for one key is seen by a client on
the batch loop's fast path, inside MULTI/EXEC, from a script's ``redis.call``, and by a blocked
client whose command is retried. The fault-injection family plugs in exactly here.
"""

from __future__ import annotations

import random

import pytest

from node import core
from node.client_conn import ClientConnection
from node.config import Config
from node.hooks import CALL_NESTED, CALL_RETRY, CALL_SCRIPT, Hooks
from node.protocol.errors import RespError
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node
from tests.support.rawclient import encode_command

NOW = 1_700_000_000_000
POISON = b"poison"
INJECTED = "ERR injected fault for key 'poison'"


@pytest.fixture
def node() -> NodeState:
    node = make_node(Config(), rng=random.Random(11), now_ms=NOW)
    seen: list[tuple[str, int]] = []
    node.seen_flags = seen  # type: ignore[attr-defined]

    def fault(session: Session, command, argv: list[bytes], flags: int) -> object:
        seen.append((command.name, flags))
        if POISON in argv[1:] and command.name != "lpush":
            return RespError(INJECTED)
        return None

    node.hooks.register("test-fault", "before", fault, enabled=True)
    return node


def connect(node: NodeState) -> ClientConnection:
    session = Session(node, node.new_client_id())
    node.clients[session.id] = session
    return ClientConnection(node, session)


def send(conn: ClientConnection, *commands: tuple) -> bytes:
    return conn.feed(b"".join(encode_command(*c) for c in commands))


def test_fast_path_reply_comes_from_the_hook(node, monkeypatch):
    conn = connect(node)

    def no_general_path(session, argv):
        raise AssertionError(f"{argv!r} left the fast path")

    monkeypatch.setattr(core, "execute", no_general_path)
    out = send(conn, ("SET", "ok", "1"), ("GET", "poison"), ("SET", "poison", "1"), ("GET", "ok"))
    assert out == (b"+OK\r\n" + f"-{INJECTED}\r\n".encode() * 2 + b"$1\r\n1\r\n")
    assert node.dbs[0].peek(POISON, NOW) is None  # the handler never ran
    calls, _usec, _rejected, failed = node.commands[b"get"].stats
    assert (calls, failed) == (2, 1)


def test_inside_multi_the_hook_answers_for_that_command_only(node):
    conn = connect(node)
    out = send(conn, ("MULTI",), ("SET", "poison", "1"), ("SET", "ok", "2"), ("EXEC",))
    assert out == (
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n" + f"-{INJECTED}\r\n".encode() + b"+OK\r\n"
    )
    assert ("set", CALL_NESTED) in node.seen_flags


def test_from_a_script_redis_call_gets_the_hook_error(node):
    conn = connect(node)
    out = send(conn, ("EVAL", "return redis.call('get', 'poison')", "0"))
    assert out.startswith(b"-" + INJECTED.encode())
    out = send(conn, ("EVAL", "return redis.pcall('get', 'poison')", "0"))
    assert out == f"-{INJECTED}\r\n".encode()
    assert ("get", CALL_NESTED | CALL_SCRIPT) in node.seen_flags


def test_a_blocked_client_retried_gets_the_hook_error(node):
    waiter, pusher = connect(node), connect(node)
    assert send(waiter, ("BLPOP", "queue", "0")) == b""  # parked: nothing to pop yet
    assert waiter.blocked

    def fault_on_retry(session, command, argv, flags):
        if flags & CALL_RETRY:
            return RespError(INJECTED)
        return None

    node.hooks.register("fault-on-retry", "before", fault_on_retry, enabled=True)
    assert send(pusher, ("LPUSH", "queue", "x")) == b":1\r\n"
    released = node.blocking.released
    assert [(s.id, r.text) for s, r in released] == [(waiter.session.id, INJECTED)]
    node.blocking.released = []
    assert waiter.unblock(released[0][1]) == f"-{INJECTED}\r\n".encode()
    assert send(pusher, ("LLEN", "queue")) == b":1\r\n"  # the retried BLPOP popped nothing


def test_hooks_keep_their_order_and_cost_nothing_when_disabled():
    hooks = Hooks()
    calls: list[str] = []
    hooks.register("b", "before", lambda *a: calls.append("b"), order=20)
    hooks.register("a", "before", lambda *a: calls.append("a"), order=10)
    assert hooks.before == []  # registered, not enabled: the hot path sees an empty list
    hooks.enable("b")
    hooks.enable("a")
    for hook in hooks.before:
        hook()
    assert calls == ["a", "b"]
    hooks.disable("a")
    assert len(hooks.before) == 1
    with pytest.raises(ValueError):
        hooks.register("a", "before", lambda *a: None)
