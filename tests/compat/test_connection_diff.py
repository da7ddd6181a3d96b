"""PING, ECHO, SELECT, HELLO, AUTH (no password set), RESET and QUIT against redis-server 7.0.15,
byte for byte in RESP2 and RESP3; plus the ``maxclients`` and ``timeout`` directives on private
servers."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.procs import start_rcsim, start_redis
from tests.support.rawclient import RawClient, encode_command

pytestmark = pytest.mark.compat


def cmds(*commands: tuple) -> bytes:
    return b"".join(encode_command(*c) for c in commands)


def raw_exchange(diff, data: bytes, quiet: float = 0.3) -> tuple[bytes, bytes]:
    """``data`` on fresh connections to both servers, after ``HELLO 3`` in the RESP3 run; both
    servers are read at once. Returns everything each sent back (HELLO's id normalised)."""
    prefix = encode_command("HELLO", "3") if diff.protocol == 3 else b""
    clients = (RawClient(diff.ours_port), RawClient(diff.theirs_port))
    try:
        for client in clients:
            client.send(prefix + data)
        with ThreadPoolExecutor(2) as pool:
            got = list(pool.map(lambda c: c.read_available(quiet), clients))
    finally:
        for client in clients:
            client.close()
    return _strip_id(got[0]), _strip_id(got[1])


# -- PING / ECHO -----------------------------------------------------------------------------

PING_ECHO = [
    ("PING",),
    ("ping", "hello"),
    ("PING", ""),
    ("PING", "a", "b"),
    ("PING", b"\x00\xff\r\n"),
    ("ECHO", "x"),
    ("ECHO", ""),
    ("ECHO",),
    ("ECHO", "a", "b"),
    ("echo", b"bin\x00ary"),
]


@pytest.mark.parametrize("command", PING_ECHO, ids=[repr(c) for c in PING_ECHO])
def test_ping_echo(diff, command):
    diff.check(*command)


# -- SELECT ------------------------------------------------------------------------------------

SELECT = [
    "0",
    "15",
    "16",
    "-1",
    "abc",
    " 1",
    "1x",
    "01",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "99999999999999999999",
    "",
]


@pytest.mark.parametrize("index", SELECT)
def test_select(diff, index):
    try:
        diff.check("SELECT", index)
    finally:
        diff.check("SELECT", "0")


def test_select_switches_database(diff):
    diff.check("SET", "k", "db0")
    diff.check("SELECT", "9")
    diff.check("GET", "k")
    diff.check("SET", "k", "db9")
    diff.check("SELECT", "0")
    diff.check("GET", "k")
    diff.check("SELECT", "0")
    diff.check("SELECT")
    diff.check("SELECT", "1", "2")


# -- HELLO -------------------------------------------------------------------------------------


def _strip_id(reply: bytes) -> bytes:
    """HELLO's ``id`` field differs between servers: replace its integers."""
    return re.sub(rb"\$2\r\nid\r\n:[0-9]+\r\n", b"$2\r\nid\r\n:<id>\r\n", reply)


HELLO = [
    (),
    ("2",),
    ("3",),
    ("1",),
    ("4",),
    ("-1",),
    ("x",),
    ("2.0",),
    ("03",),
    ("3", "foo"),
    ("3", "AUTH"),
    ("3", "AUTH", "a"),
    ("3", "AUTH", "default", "anything"),
    ("3", "auth", "default", ""),
    ("3", "AUTH", "nobody", "x"),
    ("2", "SETNAME"),
    ("2", "SETNAME", "a b"),
    ("2", "SETNAME", "caf\u00e9"),
    ("2", "SETNAME", "n1", "SETNAME", "n2"),
    ("2", "SETNAME", ""),
    ("3", "setname", "zz", "auth", "default", "x"),
    ("3", "SETNAME", "bad name", "AUTH", "nobody", "x"),
    ("3", "AUTH", "nobody", "x", "SETNAME", "bad name"),
    ("3", "AUTH", "default", "x", "foo"),
    ("3", "SETNAME", "ok", "SETNAME"),
]


@pytest.mark.parametrize("args", HELLO, ids=[repr(a) for a in HELLO])
def test_hello(diff, args):
    ours, theirs = diff.both("HELLO", *args)
    assert _strip_id(ours) == _strip_id(theirs), (args, ours, theirs)
    # Whatever HELLO did, the connection is in the same state on both servers afterwards.
    diff.check("CLIENT", "GETNAME")
    diff.check("SET", "k", "v")
    diff.check("GET", "missing")


def test_hello_reports_client_id(diff):
    ours = diff.ours.call("HELLO")
    assert b"$2\r\nid\r\n:" + diff.ours.call("CLIENT", "ID")[1:] in ours


def test_hello_switches_protocol_back_and_forth(diff):
    for version in ("3", "2", "3", "2"):
        ours, theirs = diff.both("HELLO", version)
        assert _strip_id(ours) == _strip_id(theirs)
        diff.check("CLIENT", "TRACKINGINFO")
        diff.check("GET", "nokey")
        diff.check("CLIENT", "GETNAME")
    diff.check("HELLO", "7")
    diff.check("GET", "nokey")


def test_hello_setname_is_visible(diff):
    ours, theirs = diff.both("HELLO", "3", "SETNAME", "app-1")
    assert _strip_id(ours) == _strip_id(theirs)
    diff.check("CLIENT", "GETNAME")
    ours, theirs = diff.both("HELLO", "2")
    assert _strip_id(ours) == _strip_id(theirs)
    diff.check("CLIENT", "GETNAME")


# -- AUTH without requirepass ---------------------------------------------------------------

AUTH = [
    ("x",),
    ("default", "x"),
    ("default", ""),
    ("nobody", "x"),
    ("a", "b", "c"),
    (),
]


@pytest.mark.parametrize("args", AUTH, ids=[repr(a) for a in AUTH])
def test_auth_without_password(diff, args):
    diff.check("AUTH", *args)
    diff.check("PING")


# -- RESET -----------------------------------------------------------------------------------


def test_reset_clears_connection_state(diff):
    diff.check("CLIENT", "SETNAME", "named")
    diff.check("SELECT", "3")
    diff.check("SET", "k", "3")
    diff.check("WATCH", "k")
    diff.check("MULTI")
    diff.check("SET", "k", "x")
    diff.check("RESET")
    diff.check("EXEC")
    diff.check("CLIENT", "GETNAME")
    diff.check("GET", "k")  # db 0 again: the key lives in db 3
    diff.check("CLIENT", "TRACKINGINFO")  # RESP2 again after a RESP3 connection
    diff.check("RESET", "extra")


def test_reset_keeps_no_evict(diff):
    """Redis 7.0's clearClientConnectionState leaves CLIENT NO-EVICT alone (flag ``e``)."""
    diff.check("CLIENT", "NO-EVICT", "on")
    diff.check("RESET")
    ours, theirs = diff.both("CLIENT", "INFO")
    assert b" flags=e " in ours and b" flags=e " in theirs


def test_reset_drops_watch(diff):
    diff.check("SET", "w", "1")
    diff.check("WATCH", "w")
    diff.check("RESET")
    diff.ours.call("SET", "w", "2")  # would make a watched EXEC fail
    diff.theirs.call("SET", "w", "2")
    diff.check("MULTI")
    diff.check("GET", "w")
    diff.check("EXEC")


RAW_CONNECTION = [
    cmds(("QUIT",), ("PING",)),
    cmds(("QUIT", "a", "b"), ("PING",)),
    cmds(("quit",)),
    cmds(("MULTI",), ("QUIT",), ("PING",)),
    cmds(("MULTI",), ("SET", "a", "1"), ("RESET",), ("EXEC",)),
    cmds(("MULTI",), ("PING",), ("EXEC",), ("RESET",), ("PING",)),
    cmds(("HELLO", "3"), ("RESET",), ("CLIENT", "TRACKINGINFO"), ("GET", "x")),
    cmds(("SELECT", "2"), ("PING",), ("ECHO", "e"), ("SELECT", "0")),
    b"PING\r\nQUIT\r\nPING\r\n",
    b"ECHO hi\r\nPING there\r\n",
]


@pytest.mark.parametrize("data", RAW_CONNECTION, ids=[repr(d[:40]) for d in RAW_CONNECTION])
def test_raw_connection_exchange(diff, data):
    ours, theirs = raw_exchange(diff, data)
    assert ours == theirs, (data, ours, theirs)


# -- maxclients and timeout (private servers) ----------------------------------------------


def _exchange_after_limit(port: int) -> tuple[bytes, bytes, bytes]:
    first, second = RawClient(port), RawClient(port)
    try:
        assert first.call("PING") == b"+PONG\r\n"
        assert second.call("PING") == b"+PONG\r\n"
        with RawClient(port) as third:
            refused = third.read_available(0.5)
        first.close()
        deadline = time.monotonic() + 5
        while second.call("CLIENT", "LIST").count(b"id=") != 1:  # the close was processed
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with RawClient(port) as fourth:
            again = fourth.call("PING")
        stats = second.call("INFO", "stats")
        return refused, again, stats
    finally:
        first.close()
        second.close()


def _stat(info: bytes, name: str) -> int:
    for line in info.split(b"\r\n"):
        if line.startswith(name.encode() + b":"):
            return int(line.split(b":")[1])
    raise AssertionError(f"{name} not in INFO")


def test_maxclients_refuses_the_extra_connection():
    """With ``maxclients 2`` both servers serve two clients and answer the third with the error,
    then close it; a slot freed by a disconnect is reusable."""
    ours_server = start_rcsim("--maxclients", "2")
    theirs_server = start_redis("--maxclients", "2")
    try:
        ours = _exchange_after_limit(ours_server.port)
        theirs = _exchange_after_limit(theirs_server.port)
    finally:
        ours_server.stop()
        theirs_server.stop()
    assert ours[0] == theirs[0] == b"-ERR max number of clients reached\r\n<EOF>"
    assert ours[1] == theirs[1] == b"+PONG\r\n"
    assert _stat(theirs[2], "rejected_connections") == 1
    if not ours[2].startswith(b"-ERR unknown command"):  # INFO is served by another module
        assert _stat(ours[2], "rejected_connections") == 1


def _idle_close_seconds(port: int) -> float:
    """Seconds until an idle, authenticated-by-default client is closed (bounded by 6 s)."""
    with RawClient(port) as client:
        assert client.call("PING") == b"+PONG\r\n"
        started = time.monotonic()
        got = b""
        while time.monotonic() - started < 6 and not got.endswith(b"<EOF>"):
            got += client.read_available(0.2)
        assert got == b"<EOF>", got
        return time.monotonic() - started


def test_timeout_closes_idle_clients():
    ours_server = start_rcsim("--timeout", "1")
    theirs_server = start_redis("--timeout", "1")
    try:
        ours = _idle_close_seconds(ours_server.port)
        theirs = _idle_close_seconds(theirs_server.port)
        # A client that keeps talking is not idle.
        with RawClient(ours_server.port) as busy:
            for _ in range(6):
                assert busy.call("PING") == b"+PONG\r\n"
                time.sleep(0.3)
    finally:
        ours_server.stop()
        theirs_server.stop()
    # Redis checks in its cron (idle > timeout), rcsim at the deadline: both within 1-3 s.
    assert 0.9 <= ours <= 3.0, ours
    assert 0.9 <= theirs <= 3.0, theirs
