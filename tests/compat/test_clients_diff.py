"""CLIENT subcommands, READONLY/READWRITE/ASKING, compared with redis-server 7.0.15.

Replies that carry per-server values (ids, addresses, ages, buffer sizes) are compared field by
field after parsing; everything else byte for byte, in RESP2 and RESP3. CLIENT KILL and CLIENT
PAUSE run on private servers, so they cannot disturb other tests' connections.
"""

from __future__ import annotations

import re
import time

import pytest

from node.config import Config
from node.core import execute
from node.protocol.resp import OK
from node.session import Session
from node.state import CloseClient, NodeState
from tests.compat.test_connection_diff import raw_exchange
from tests.conftest import require_redis_server
from tests.support.nodes import make_node
from tests.support.procs import server_pair
from tests.support.rawclient import RawClient, encode_command

pytestmark = pytest.mark.compat

# Redis 7.0.15's CLIENT LIST line, field names in order.
FIELDS = [
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
]
# Fields whose values must be equal on both servers (the rest are ids, addresses, sizes).
STABLE = ("name", "flags", "db", "sub", "psub", "ssub", "multi", "events", "user", "redir", "resp")


def cmds(*commands: tuple) -> bytes:
    return b"".join(encode_command(*c) for c in commands)


def _payload(reply: bytes) -> bytes:
    """The text of a bulk (``$``) or verbatim (``=...txt:``) reply."""
    header, _, rest = reply.partition(b"\r\n")
    body = rest[: int(header[1:])]
    return body[4:] if header[:1] == b"=" else body


def parse_lines(reply: bytes) -> list[dict[str, str]]:
    text = _payload(reply).decode()
    assert text == "" or text.endswith("\n"), text
    rows = []
    for line in text.splitlines():
        pairs = [field.split("=", 1) for field in line.split(" ")]
        assert [name for name, _ in pairs] == FIELDS, line
        rows.append(dict(pairs))
    return rows


def client_id(client: RawClient) -> int:
    return int(client.call("CLIENT", "ID")[1:-2])


def assert_same_line(ours: dict, theirs: dict, skip: tuple = ()) -> None:
    for name in STABLE:
        if name not in skip:
            assert ours[name] == theirs[name], (name, ours, theirs)
    for name in ("fd", "age", "idle", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "tot-mem"):
        assert re.fullmatch(r"[0-9]+", ours[name]), (name, ours[name])
    assert re.fullmatch(r"127\.0\.0\.1:[0-9]+", ours["addr"]), ours
    assert re.fullmatch(r"127\.0\.0\.1:[0-9]+", ours["laddr"]), ours


# -- plain replies ---------------------------------------------------------------------------

SIMPLE = [
    ("CLIENT", "GETNAME"),
    ("CLIENT", "SETNAME", "conn-1"),
    ("CLIENT", "SETNAME", "a b"),
    ("CLIENT", "SETNAME", "a\nb"),
    ("CLIENT", "SETNAME", "x\x7f"),
    ("CLIENT", "SETNAME", b"caf\xc3\xa9"),
    ("CLIENT", "SETNAME", "~!{}"),
    ("CLIENT", "SETNAME", ""),
    ("CLIENT", "SETNAME"),
    ("CLIENT", "SETNAME", "a", "b"),
    ("CLIENT", "HELP"),
    ("client", "help"),
    ("CLIENT", "HELP", "x"),
    ("CLIENT", "GETREDIR"),
    ("CLIENT", "TRACKINGINFO"),
    ("CLIENT", "NO-EVICT", "on"),
    ("CLIENT", "NO-EVICT", "OFF"),
    ("CLIENT", "NO-EVICT", "maybe"),
    ("CLIENT", "NO-EVICT"),
    ("CLIENT", "REPLY", "maybe"),
    ("CLIENT", "REPLY", "ON"),
    ("CLIENT", "REPLY"),
    ("CLIENT", "ID", "x"),
    ("CLIENT", "INFO", "x"),
    ("CLIENT",),
    ("CLIENT", "NOSUCH"),
    ("CLIENT", "SETINFO", "LIB-NAME", "x"),  # added in Redis 7.2: unknown in 7.0.15
    ("CLIENT", "LIST", "TYPE", "foo"),
    ("CLIENT", "LIST", "TYPE"),
    ("CLIENT", "LIST", "TYPE", "normal", "x"),
    ("CLIENT", "LIST", "TYPE", "master"),
    ("CLIENT", "LIST", "TYPE", "replica"),
    ("CLIENT", "LIST", "TYPE", "SLAVE"),
    ("CLIENT", "LIST", "TYPE", "pubsub"),
    ("CLIENT", "LIST", "ID"),
    ("CLIENT", "LIST", "ID", "abc"),
    ("CLIENT", "LIST", "ID", "999999", "0", "-5"),
    ("CLIENT", "LIST", "ID", "1", "2", "ID"),
    ("CLIENT", "LIST", "foo"),
    ("CLIENT", "KILL"),
    ("CLIENT", "KILL", "1.2.3.4:5"),
    ("CLIENT", "KILL", "nonsense"),
    ("CLIENT", "KILL", "ID", "abc"),
    ("CLIENT", "KILL", "ID", "0"),
    ("CLIENT", "KILL", "ID", "-1"),
    ("CLIENT", "KILL", "ID", "999999"),
    ("CLIENT", "KILL", "ID", "9223372036854775807"),
    ("CLIENT", "KILL", "ID", "9223372036854775808"),
    ("CLIENT", "KILL", "ID", "999999", "TYPE"),
    ("CLIENT", "KILL", "TYPE", "foo"),
    ("CLIENT", "KILL", "TYPE", "master"),
    ("CLIENT", "KILL", "TYPE", "slave"),
    ("CLIENT", "KILL", "TYPE", "pubsub"),
    ("CLIENT", "KILL", "USER", "nobody"),
    ("CLIENT", "KILL", "USER", "default", "SKIPME", "maybe"),
    ("CLIENT", "KILL", "MAXAGE", "10"),  # added after 7.0
    ("CLIENT", "KILL", "ADDR", "1.2.3.4:5", "LADDR", "x"),
    ("CLIENT", "KILL", "SKIPME", "YES", "ID", "abc"),
    ("CLIENT", "KILL", "SKIPME", "yes"),
    ("CLIENT", "KILL", "foo", "bar"),
    ("CLIENT", "KILL", "a", "b", "c"),
    ("CLIENT", "PAUSE", "abc"),
    ("CLIENT", "PAUSE", "-1"),
    ("CLIENT", "PAUSE", "00"),
    ("CLIENT", "PAUSE", "1.5"),
    ("CLIENT", "PAUSE", "10", "foo"),
    ("CLIENT", "PAUSE", "abc", "foo"),
    ("CLIENT", "PAUSE", "1", "WRITE", "x"),
    ("client", "pause", "1", "write", "x"),
    ("CLIENT", "PAUSE"),
    ("CLIENT", "UNPAUSE", "x"),
    ("CLIENT", "UNPAUSE"),
    ("READONLY",),
    ("READWRITE",),
    ("ASKING",),
    ("READONLY", "x"),
    ("asking", "x"),
]


@pytest.mark.parametrize("command", SIMPLE, ids=[repr(c) for c in SIMPLE])
def test_client_reply(diff, command):
    diff.check(*command)
    diff.check("CLIENT", "GETNAME")


def test_setname_getname_roundtrip(diff):
    diff.check("CLIENT", "SETNAME", "first")
    diff.check("CLIENT", "GETNAME")
    diff.check("CLIENT", "SETNAME", "bad name")
    diff.check("CLIENT", "GETNAME")  # a rejected name keeps the old one
    diff.check("CLIENT", "SETNAME", "")
    diff.check("CLIENT", "GETNAME")


def test_client_id_is_an_integer_and_stable(diff):
    ours = diff.ours.call("CLIENT", "ID")
    assert re.fullmatch(rb":[1-9][0-9]*\r\n", ours)
    assert diff.ours.call("CLIENT", "ID") == ours
    with RawClient(diff.ours_port) as other:
        assert client_id(other) > int(ours[1:-2])


def test_no_evict_survives_in_flags(diff):
    diff.check("CLIENT", "NO-EVICT", "on")
    ours, theirs = diff.both("CLIENT", "INFO")
    assert_same_line(parse_lines(ours)[0], parse_lines(theirs)[0])
    diff.check("CLIENT", "NO-EVICT", "off")


# -- CLIENT INFO / LIST ------------------------------------------------------------------------


def test_client_info_line(diff):
    diff.check("CLIENT", "SETNAME", "me")
    diff.check("SELECT", "4")
    try:
        ours, theirs = diff.both("CLIENT", "INFO")
    finally:
        diff.check("SELECT", "0")
    assert ours[:1] == theirs[:1]  # bulk in RESP2, verbatim in RESP3
    (mine,), (ref,) = parse_lines(ours), parse_lines(theirs)
    assert_same_line(mine, ref)
    assert mine["cmd"] == ref["cmd"] == "client|info"
    assert mine["id"] == str(client_id(diff.ours))
    assert mine["laddr"].endswith(":%d" % diff.ours_port)
    assert mine["name"] == "me" and mine["db"] == "4"
    assert mine["idle"] == "0" and mine["argv-mem"] == ref["argv-mem"] == "10"
    assert mine["qbuf"] == ref["qbuf"]  # the request itself, still in the query buffer


def _list_by_id(reply: bytes) -> dict[int, dict]:
    return {int(row["id"]): row for row in parse_lines(reply)}


def test_client_list_shows_other_connections(diff):
    with (
        RawClient(diff.ours_port) as o2,
        RawClient(diff.theirs_port) as t2,
        RawClient(diff.ours_port) as o3,
        RawClient(diff.theirs_port) as t3,
    ):
        for client in (o2, t2):
            assert client.call("CLIENT", "SETNAME", "second") == b"+OK\r\n"
            assert client.call("SELECT", "3") == b"+OK\r\n"
            assert client.call("MULTI") == b"+OK\r\n"
            assert client.call("SET", "x", "1") == b"+QUEUED\r\n"
        for client in (o3, t3):
            assert client.call("SET", "watched", "1") == b"+OK\r\n"
            assert client.call("WATCH", "watched") == b"+OK\r\n"
            assert client.call("CLIENT", "NO-EVICT", "on") == b"+OK\r\n"
        diff.check("SET", "watched", "2")  # makes the third client's WATCH dirty
        ours, theirs = diff.both("CLIENT", "LIST")
        mine, ref = _list_by_id(ours), _list_by_id(theirs)
        assert len(mine) == len(ref)  # the shared servers may hold other idle clients
        pairs = [
            (client_id(diff.ours), client_id(diff.theirs)),
            (client_id_via_list(mine, "second"), client_id_via_list(ref, "second")),
        ]
        ours_line, ref_line = mine[pairs[0][0]], ref[pairs[0][1]]
        assert_same_line(ours_line, ref_line)
        assert ours_line["cmd"] == ref_line["cmd"] == "client|list"
        second_ours, second_ref = mine[pairs[1][0]], ref[pairs[1][1]]
        # Redis records a queued command as the last command; rcsim only counts executed ones.
        assert_same_line(second_ours, second_ref)
        assert second_ours["flags"] == "x" and second_ours["multi"] == "1"
        assert second_ours["multi-mem"] == second_ref["multi-mem"] == "29"
        third_ours = [r for r in mine.values() if r["flags"] == "de"]
        third_ref = [r for r in ref.values() if r["flags"] == "de"]
        assert len(third_ours) == len(third_ref) == 1
        assert_same_line(third_ours[0], third_ref[0])
        assert third_ours[0]["cmd"] == third_ref[0]["cmd"] == "client|no-evict"
        # The ID filter keeps the order of the ids given and skips unknown ones.
        ours = diff.ours.call("CLIENT", "LIST", "ID", pairs[1][0], "999999", pairs[0][0])
        assert [int(r["id"]) for r in parse_lines(ours)] == [pairs[1][0], pairs[0][0]]
        ours, theirs = diff.both("CLIENT", "LIST", "TYPE", "normal")
        assert len(parse_lines(ours)) == len(parse_lines(theirs)) == len(mine)
        for client in (o2, t2):
            client.call("DISCARD")


def client_id_via_list(rows: dict[int, dict], name: str) -> int:
    (found,) = [i for i, row in rows.items() if row["name"] == name]
    return found


def test_client_list_resp3_is_verbatim(diff):
    ours, theirs = diff.both("CLIENT", "LIST", "ID", "999999")
    assert ours == theirs == (b"=4\r\ntxt:\r\n" if diff.protocol == 3 else b"$0\r\n\r\n")


# -- CLIENT REPLY ----------------------------------------------------------------------------

REPLY_EXCHANGES = [
    cmds(("CLIENT", "REPLY", "SKIP"), ("PING", "1"), ("PING", "2")),
    cmds(("CLIENT", "REPLY", "OFF"), ("PING", "1"), ("CLIENT", "REPLY", "SKIP"), ("PING", "2"))
    + cmds(("CLIENT", "REPLY", "ON"), ("PING", "3")),
    cmds(("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("PING", "3")),
    cmds(("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "SKIP"), ("PING", "3"), ("PING", "4")),
    cmds(("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "BAD"), ("CLIENT", "REPLY", "ON")),
    cmds(("CLIENT", "REPLY", "OFF"), ("SET", "k", "v"), ("NOSUCH",), ("CLIENT", "REPLY", "ON")),
    cmds(("CLIENT", "REPLY", "OFF"), ("RESET",), ("PING",)),
    cmds(("CLIENT", "REPLY", "SKIP"), ("RESET",), ("PING",)),
    cmds(("CLIENT", "REPLY", "SKIP"), ("GET",), ("GET", "k")),
    cmds(("CLIENT", "REPLY", "SKIP"), ("MULTI",), ("PING",), ("EXEC",)),
    cmds(("CLIENT", "REPLY", "SKIP")),
    cmds(("CLIENT", "REPLY", "OFF")),
    b"CLIENT REPLY SKIP\r\nPING a\r\nPING b\r\n",
]


@pytest.mark.parametrize("data", REPLY_EXCHANGES, ids=[repr(d[:60]) for d in REPLY_EXCHANGES])
def test_client_reply_exchange(diff, data):
    ours, theirs = raw_exchange(diff, data)
    assert ours == theirs, (data, ours, theirs)


# -- CLIENT KILL and PAUSE on private servers ---------------------------------------------------


@pytest.fixture(scope="module")
def private():
    require_redis_server()
    with server_pair() as (ours, theirs):
        yield ours.port, theirs.port


def _both(private, fn):
    """Run ``fn(port)`` against rcsim and redis; return both results."""
    return fn(private[0]), fn(private[1])


def _closed(client: RawClient) -> bool:
    return client.read_available(0.3).endswith((b"<EOF>", b"<RESET>"))


def test_kill_old_form(private):
    def scenario(port):
        with RawClient(port) as killer, RawClient(port) as victim:
            addr = parse_lines(victim.call("CLIENT", "INFO"))[0]["addr"]
            first = killer.call("CLIENT", "KILL", addr)
            gone = _closed(victim)
            again = killer.call("CLIENT", "KILL", addr)
            return first, gone, again, killer.call("PING")

    ours, theirs = _both(private, scenario)
    assert ours == theirs == (b"+OK\r\n", True, b"-ERR No such client\r\n", b"+PONG\r\n")


def test_kill_old_form_self_replies_then_closes(private):
    def scenario(port):
        with RawClient(port) as me:
            addr = parse_lines(me.call("CLIENT", "INFO"))[0]["addr"]
            me.send(cmds(("CLIENT", "KILL", addr), ("PING",)))
            return me.read_available(0.5)

    ours, theirs = _both(private, scenario)
    assert ours == theirs == b"+OK\r\n<EOF>"


@pytest.mark.parametrize(
    "filters",
    [
        lambda victim, me: ("ID", victim["id"]),
        lambda victim, me: ("ADDR", victim["addr"]),
        lambda victim, me: ("ID", victim["id"], "TYPE", "normal", "USER", "default"),
        lambda victim, me: ("LADDR", me["laddr"]),
        lambda victim, me: ("TYPE", "normal"),
        lambda victim, me: ("USER", "default", "SKIPME", "yes"),
        lambda victim, me: ("ID", me["id"]),
        lambda victim, me: ("ID", victim["id"], "ADDR", me["addr"]),
        lambda victim, me: ("laddr", "127.0.0.1:1"),
    ],
    ids=["id", "addr", "combined", "laddr", "type", "user", "skipme", "no-match", "wrong-laddr"],
)
def test_kill_filters(private, filters):
    def scenario(port):
        with RawClient(port) as me, RawClient(port) as victim:
            mine = parse_lines(me.call("CLIENT", "INFO"))[0]
            theirs = parse_lines(victim.call("CLIENT", "INFO"))[0]
            count = me.call("CLIENT", "KILL", *filters(theirs, mine))
            return count, _closed(victim), me.call("PING")

    ours, theirs = _both(private, scenario)
    assert ours == theirs
    assert ours[2] == b"+PONG\r\n"


def test_kill_self_with_skipme_no(private):
    def scenario(port):
        with RawClient(port) as me:
            my_id = client_id(me)
            me.send(cmds(("CLIENT", "KILL", "ID", my_id, "SKIPME", "no"), ("PING",)))
            return me.read_available(0.5)

    ours, theirs = _both(private, scenario)
    assert ours == theirs == b":1\r\n<EOF>"


def test_kill_self_inside_multi_closes_after_exec(private):
    """(Redis also drops the replies of commands queued after the KILL, leaving EXEC's array
    short; rcsim's EXEC sends them, so the transaction here ends with the KILL.)"""

    def scenario(port):
        with RawClient(port) as me:
            my_id = client_id(me)
            me.send(
                cmds(
                    ("MULTI",),
                    ("CLIENT", "KILL", "ID", my_id, "SKIPME", "no"),
                    ("EXEC",),
                    ("PING",),
                )
            )
            return me.read_available(0.5)

    ours, theirs = _both(private, scenario)
    assert ours == theirs == b"+OK\r\n+QUEUED\r\n*1\r\n:1\r\n<EOF>"


def test_killed_client_leaves_the_list(private):
    def scenario(port):
        with RawClient(port) as me, RawClient(port) as victim:
            victim_id = client_id(victim)
            me.send(cmds(("CLIENT", "KILL", "ID", victim_id), ("CLIENT", "LIST", "ID", victim_id)))
            got = me.read_available(0.3)
            return got, _closed(victim)

    ours, theirs = _both(private, scenario)
    assert ours == theirs == (b":1\r\n$0\r\n\r\n", True)


def _timed_reply(client: RawClient, *command) -> tuple[bytes, float]:
    started = time.monotonic()
    return client.call(*command), time.monotonic() - started


@pytest.mark.parametrize("mode", ["WRITE", "ALL"])
def test_pause_holds_the_right_commands(private, mode):
    def scenario(port):
        with RawClient(port) as admin, RawClient(port) as user:
            assert admin.call("CLIENT", "PAUSE", "600", mode) == b"+OK\r\n"
            read, read_s = _timed_reply(user, "GET", f"paused-{mode}")
            write, write_s = _timed_reply(user, "SET", f"paused-{mode}", "v")
            return read, read_s, write, write_s

    for read, read_s, write, write_s in _both(private, scenario):
        assert read == b"$-1\r\n" and write == b"+OK\r\n"
        if mode == "WRITE":
            assert read_s < 0.3, read_s  # reads go through a WRITE pause
        else:
            assert 0.3 < read_s < 3, read_s
        assert write_s < 3 and read_s + write_s > 0.4, (read_s, write_s)


def test_unpause_releases_held_clients(private):
    def scenario(port):
        with RawClient(port) as admin, RawClient(port) as user:
            assert admin.call("CLIENT", "PAUSE", "20000", "WRITE") == b"+OK\r\n"
            started = time.monotonic()
            user.send(encode_command("SET", "k", "v"))
            held = user.read_available(0.3)
            assert admin.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
            got = user.read_reply()
            return held, got, time.monotonic() - started

    for held, got, elapsed in _both(private, scenario):
        assert held == b"" and got == b"+OK\r\n"
        assert elapsed < 3, elapsed


def test_pause_all_holds_even_unpause_from_others(private):
    def scenario(port):
        with RawClient(port) as admin, RawClient(port) as other:
            assert admin.call("CLIENT", "PAUSE", "500", "ALL") == b"+OK\r\n"
            return _timed_reply(other, "CLIENT", "UNPAUSE")

    for reply, elapsed in _both(private, scenario):
        assert reply == b"+OK\r\n"
        assert 0.3 < elapsed < 3, elapsed


# -- pure logic, in virtual time -----------------------------------------------------------------


def _node_with_clients(count: int) -> tuple[NodeState, list[Session]]:
    node = make_node(Config(), now_ms=1_000_000)
    sessions = []
    for _ in range(count):
        session = Session(node, node.new_client_id(), addr=f"127.0.0.1:{5000 + len(sessions)}")
        node.clients[session.id] = session
        sessions.append(session)
    return node, sessions


def test_pause_keeps_the_longest_and_strongest():
    """Redis's pauseClients keeps the later end and ALL over WRITE while a pause is in force."""
    node, (me,) = _node_with_clients(1)
    execute(me, [b"CLIENT", b"PAUSE", b"500", b"ALL"])
    assert (node.paused_until_ms, node.pause_writes_only) == (1_000_500, False)
    execute(me, [b"CLIENT", b"PAUSE", b"100", b"WRITE"])
    assert (node.paused_until_ms, node.pause_writes_only) == (1_000_500, False)
    execute(me, [b"CLIENT", b"PAUSE", b"0"])
    assert node.paused_until_ms == 1_000_500
    execute(me, [b"CLIENT", b"UNPAUSE"])
    assert (node.paused_until_ms, node.pause_writes_only) == (0, False)
    execute(me, [b"CLIENT", b"PAUSE", b"100", b"WRITE"])
    assert (node.paused_until_ms, node.pause_writes_only) == (1_000_100, True)
    node.now_ms += 200  # that pause is over: a new one starts afresh
    execute(me, [b"CLIENT", b"PAUSE", b"50", b"WRITE"])
    assert (node.paused_until_ms, node.pause_writes_only) == (1_000_250, True)
    execute(me, [b"CLIENT", b"UNPAUSE"])
    execute(me, [b"CLIENT", b"PAUSE", b"9223372036854775807"])  # wraps in Redis: no pause
    assert node.paused_until_ms <= node.now_ms


def test_reply_modes_set_what_the_driver_reads():
    _node, (me,) = _node_with_clients(1)
    execute(me, [b"CLIENT", b"REPLY", b"SKIP"])
    assert (me.reply_mode, me.reply_skip) == (b"on", 2)
    execute(me, [b"CLIENT", b"REPLY", b"OFF"])
    assert (me.reply_mode, me.reply_skip) == (b"off", 0)
    execute(me, [b"CLIENT", b"REPLY", b"SKIP"])  # ignored while OFF
    assert (me.reply_mode, me.reply_skip) == (b"off", 0)
    execute(me, [b"CLIENT", b"REPLY", b"ON"])
    assert (me.reply_mode, me.reply_skip) == (b"on", 0)


def test_kill_emits_close_events():
    node, (me, other, third) = _node_with_clients(3)
    assert execute(me, [b"CLIENT", b"KILL", b"TYPE", b"normal"]) == 2
    assert node.events == [CloseClient(other.id), CloseClient(third.id)]
    assert other.killed and third.killed and not me.killed and not me.close_after_reply
    # Already killed clients are gone for later commands in the same batch.
    assert execute(me, [b"CLIENT", b"KILL", b"ID", b"%d" % other.id]) == 0
    assert execute(me, [b"CLIENT", b"KILL", b"127.0.0.1:5000"]) is OK
    assert me.close_after_reply and len(node.events) == 2
