"""``requirepass``: NOAUTH, AUTH, HELLO AUTH, RESET and the parser's limits for unauthenticated
clients, compared byte for byte with a redis-server 7.0.15 using the same password."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Differ, require_redis_server
from tests.support.procs import server_pair
from tests.support.rawclient import RawClient, encode_command

pytestmark = pytest.mark.compat

PASSWORD = "pw"


@pytest.fixture(scope="module")
def servers():
    require_redis_server()
    with server_pair(("--requirepass", PASSWORD)) as pair:
        yield pair


@pytest.fixture
def anon(servers):
    """Unauthenticated connections to both servers (RESP2: HELLO 3 needs authentication)."""
    differ = Differ(servers[0].port, servers[1].port)
    yield differ
    differ.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def authed(request, servers):
    """Authenticated connections in RESP2 and RESP3."""
    differ = Differ(servers[0].port, servers[1].port)
    differ.protocol = request.param
    if request.param == 3:
        ours, theirs = differ.both("HELLO", "3", "AUTH", "default", PASSWORD)
        assert _strip_id(ours) == _strip_id(theirs)
    else:
        differ.check("AUTH", PASSWORD)
    yield differ
    differ.close()


def _strip_id(reply: bytes) -> bytes:
    return re.sub(rb"\$2\r\nid\r\n:[0-9]+\r\n", b"$2\r\nid\r\n:<id>\r\n", reply)


def cmds(*commands: tuple) -> bytes:
    return b"".join(encode_command(*c) for c in commands)


# -- before AUTH -------------------------------------------------------------------------------

UNAUTHENTICATED = [
    ("PING",),
    ("ECHO", "x"),
    ("GET", "k"),
    ("SET", "k", "v"),
    ("SELECT", "1"),
    ("CLIENT", "ID"),
    ("CLIENT", "LIST"),
    ("CLIENT", "SETNAME", "x"),
    ("MULTI",),
    ("EXEC",),
    ("READONLY",),
    ("NOSUCHCOMMAND", "a"),  # unknown command wins over NOAUTH
    ("GET",),  # so does a wrong arity
    ("CLIENT", "NOSUCH"),
    ("HELLO",),
    ("HELLO", "3"),
    ("HELLO", "2"),
    ("HELLO", "4"),
    ("HELLO", "x"),
    ("HELLO", "3", "foo"),
    ("HELLO", "3", "SETNAME", "a b"),
    ("HELLO", "3", "AUTH", "default", "wrong"),
    ("HELLO", "3", "AUTH", "nobody", PASSWORD),
    ("AUTH", "wrong"),
    ("AUTH", "default", "wrong"),
    ("AUTH", "nobody", PASSWORD),
    ("AUTH", "", ""),
    ("AUTH", "a", "b", "c"),
    ("AUTH",),
]


@pytest.mark.parametrize("command", UNAUTHENTICATED, ids=[repr(c) for c in UNAUTHENTICATED])
def test_unauthenticated_command(anon, command):
    anon.check(*command)
    anon.check("GET", "k")  # still unauthenticated afterwards


def test_auth_then_commands_work(anon):
    anon.check("GET", "k")
    anon.check("AUTH", PASSWORD)
    anon.check("SET", "k", "v")
    anon.check("GET", "k")
    anon.check("AUTH", "wrong")  # a failed AUTH does not log an authenticated client out
    anon.check("GET", "k")
    anon.check("AUTH", "default", PASSWORD)
    anon.check("PING")


def test_auth_with_username(anon):
    anon.check("AUTH", "default", PASSWORD)
    anon.check("PING")
    anon.check("CLIENT", "GETNAME")


def test_hello_setname_applies_before_the_noauth_check(anon):
    """Redis applies SETNAME while parsing HELLO, so the name sticks even though HELLO then
    answers NOAUTH."""
    anon.check("HELLO", "3", "SETNAME", "early")
    anon.check("AUTH", PASSWORD)
    anon.check("CLIENT", "GETNAME")


def test_hello_auth_then_bad_option_keeps_authentication(anon):
    anon.check("HELLO", "2", "AUTH", "default", PASSWORD, "BOGUS")
    anon.check("GET", "k")


def test_hello_auth_switches_protocol(anon):
    ours, theirs = anon.both("HELLO", "3", "AUTH", "default", PASSWORD, "SETNAME", "c1")
    assert _strip_id(ours) == _strip_id(theirs)
    anon.check("GET", "missing")
    anon.check("CLIENT", "GETNAME")
    anon.check("CLIENT", "TRACKINGINFO")


def test_quit_and_reset_need_no_authentication(anon):
    anon.check("RESET")
    anon.check("GET", "k")
    anon.check("QUIT")


# -- after AUTH ---------------------------------------------------------------------------------


def test_reset_logs_out(authed):
    authed.check("SET", "k", "v")
    authed.check("RESET")
    authed.check("GET", "k")
    authed.check("CLIENT", "TRACKINGINFO")  # RESP2 after RESET
    authed.check("AUTH", PASSWORD)
    authed.check("GET", "k")


def test_authenticated_hello(authed):
    for args in [(), ("3",), ("2",), ("3", "AUTH", "default", "bad"), ("2", "SETNAME", "n")]:
        ours, theirs = authed.both("HELLO", *args)
        assert _strip_id(ours) == _strip_id(theirs), (args, ours, theirs)
        authed.check("GET", "missing")
    authed.check("CLIENT", "GETNAME")


# -- the parser's limits for unauthenticated clients ---------------------------------------------

RAW = [
    b"*11\r\n",
    b"*10\r\n",
    b"*1\r\n$16385\r\n",
    b"*1\r\n$16384\r\n",
    b"*2\r\n$4\r\nECHO\r\n$16385\r\n" + b"x" * 16385 + b"\r\n",
    b"*1\r\n$4\r\nPING\r\n*11\r\n",
    b"PING\r\n",
    b"AUTH " + PASSWORD.encode() + b"\r\nGET k\r\n",
    cmds(("AUTH", PASSWORD), ("GET", "k"), ("RESET",), ("GET", "k")),
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$99999\r\n",
]


@pytest.mark.parametrize("data", RAW, ids=[repr(d[:30]) for d in RAW])
def test_unauthenticated_raw_input(servers, data):
    """Redis closes with unread input still queued, which the kernel turns into a reset; rcsim
    read it all first and closes cleanly: both count as "closed"."""
    ours = _exchange(servers[0].port, data).replace(b"<RESET>", b"<EOF>")
    theirs = _exchange(servers[1].port, data).replace(b"<RESET>", b"<EOF>")
    assert ours == theirs, (data[:60], ours, theirs)


def _exchange(port: int, *chunks: bytes) -> bytes:
    """Send each chunk after the previous replies arrived; return everything received."""
    got = b""
    with RawClient(port) as client:
        for chunk in chunks:
            client.send(chunk)
            got += client.read_available(0.3)
    return got


@pytest.mark.parametrize(
    "chunks",
    [
        (cmds(("AUTH", PASSWORD)), b"*11\r\n" + b"$1\r\nx\r\n" * 11),
        (cmds(("AUTH", PASSWORD)), b"*2\r\n$4\r\nECHO\r\n$16385\r\n" + b"y" * 16385 + b"\r\n"),
        (cmds(("AUTH", PASSWORD), ("RESET",)), b"*11\r\n"),
        (cmds(("HELLO", "3", "AUTH", "default", PASSWORD)), b"*1\r\n$16385\r\n"),
    ],
    ids=["mbulk-after-auth", "bulk-after-auth", "limits-back-after-reset", "bulk-after-hello"],
)
def test_limits_follow_authentication(servers, chunks):
    ours = _exchange(servers[0].port, *chunks)
    theirs = _exchange(servers[1].port, *chunks)
    assert _strip_id(ours) == _strip_id(theirs)
