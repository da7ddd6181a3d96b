"""Blocking list commands across connections, on rcsim and on redis-server 7.0.15.

Each scenario drives a few raw connections to one server and returns the transcript of what
every connection received; it runs on both servers, the transcripts must be identical, and
the test also asserts the key facts on rcsim's. Waits are bounded: a client is known to be
blocked when INFO's ``blocked_clients`` says so (polled with a deadline), "no reply yet" is
a short quiet period, and a reply is read with the socket's timeout.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from tests.conftest import require_redis_server
from tests.support.procs import start_rcsim, start_redis
from tests.support.rawclient import RawClient, encode_command

QUIET = 0.1  # seconds of silence that mean "no reply"
WAIT = 5.0  # bound on waiting for the server to reach a state


class Server:
    """Connections to one server, and what it takes to wait for its blocked clients."""

    def __init__(self, port: int, resp3: bool) -> None:
        self.port, self.resp3 = port, resp3
        self.clients: list[RawClient] = []
        self.control = self.client()
        self.baseline = self.blocked_count()

    def client(self) -> RawClient:
        client = RawClient(self.port)
        if self.resp3:
            client.call("HELLO", "3")
        self.clients.append(client)
        return client

    def blocked_count(self) -> int:
        info = self.control.call("INFO", "clients")
        return int(re.search(rb"blocked_clients:(\d+)", info).group(1))  # type: ignore[union-attr]

    def wait_blocked(self, count: int) -> None:
        """Until exactly ``count`` clients of this test are blocked."""
        deadline = time.monotonic() + WAIT
        while self.blocked_count() != self.baseline + count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} blocked clients on port {self.port}")
            time.sleep(0.002)

    def block(self, client: RawClient, *command: object, blocked: int = 1) -> None:
        """Send a command that must block, and wait until ``blocked`` clients are."""
        client.send(encode_command(*command))  # type: ignore[arg-type]
        self.wait_blocked(blocked)

    def close(self) -> None:
        for client in self.clients:
            client.close()


Transcript = list[bytes]


def run_both(ports, scenario: Callable[[Server], Transcript], resp3: bool = False) -> Transcript:
    """Run ``scenario`` on rcsim, then on redis-server; identical transcripts; rcsim's back."""
    results = []
    for port in ports:
        server = Server(port, resp3)
        try:
            server.control.call("FLUSHALL")
            results.append(scenario(server))
            server.control.call("FLUSHALL")
        finally:
            server.close()
    ours, theirs = results
    assert ours == theirs, f"\n  rcsim: {ours!r}\n  redis: {theirs!r}"
    return ours


@pytest.fixture
def both(rcsim_node, redis_node) -> tuple[int, int]:
    """The ports of the shared rcsim node and redis-server."""
    return rcsim_node.port, redis_node.port


def _pair(*items: bytes) -> bytes:
    return b"*%d\r\n" % len(items) + b"".join(b"$%d\r\n%s\r\n" % (len(i), i) for i in items)


# -- waking up ---------------------------------------------------------------------------------


def test_push_wakes_blocked_client_and_pipeline_waits(both):
    """BLPOP on an empty key blocks; the pipelined commands behind it wait; an LPUSH from
    another connection answers it with [key, value], then the pipeline runs in order."""

    def scenario(server: Server) -> Transcript:
        a, b = server.client(), server.client()
        server.block(a, "BLPOP", "k", "0")
        a.send(encode_command("PING") + encode_command("LLEN", "k"))
        early = a.read_available(QUIET)
        pushed = b.call("LPUSH", "k", "v")
        return [early, pushed, a.read_reply(), a.read_reply(), a.read_reply()]

    early, pushed, popped, pong, llen = run_both(both, scenario)
    assert early == b""
    assert pushed == b":1\r\n"
    assert popped == _pair(b"k", b"v")
    assert (pong, llen) == (b"+PONG\r\n", b":0\r\n")


def test_pipeline_after_block_in_same_read(both):
    """Commands sent in the same packet as the blocking one wait behind it too."""

    def scenario(server: Server) -> Transcript:
        a, b = server.client(), server.client()
        a.send(encode_command("BRPOP", "k", "0") + encode_command("ECHO", "after"))
        server.wait_blocked(1)
        early = a.read_available(QUIET)
        b.call("RPUSH", "k", "x", "y")
        return [early, a.read_reply(), a.read_reply(), b.call("LRANGE", "k", "0", "-1")]

    early, popped, echo, rest = run_both(both, scenario)
    assert early == b""
    assert popped == _pair(b"k", b"y")
    assert echo == b"$5\r\nafter\r\n"
    assert rest == _pair(b"x")


def test_blocked_client_is_served_before_the_pushers_next_command(both):
    """Redis serves blocked clients after each command: LPUSH then LPOP in one pipeline
    leaves the element to the blocked client, and the LPOP finds nothing."""

    def scenario(server: Server) -> Transcript:
        a, b = server.client(), server.client()
        server.block(b, "BLPOP", "k", "0")
        a.send(encode_command("LPUSH", "k", "v") + encode_command("LPOP", "k"))
        return [a.read_reply(), a.read_reply(), b.read_reply()]

    assert run_both(both, scenario) == [b":1\r\n", b"$-1\r\n", _pair(b"k", b"v")]


@pytest.mark.parametrize("protocol", [2, 3])
def test_timeouts_reply_null(both, protocol):
    """Timeouts answer the null array (``*-1``, RESP3 ``_``), BLMOVE and BRPOPLPUSH too."""
    commands = [
        ("BLPOP", "k", "0.1"),
        ("BRPOP", "k", "other", "0.1"),
        ("BLMOVE", "k", "d", "LEFT", "RIGHT", "0.1"),
        ("BRPOPLPUSH", "k", "d", "0.1"),
        ("BLMPOP", "0.1", "1", "k", "LEFT", "COUNT", "3"),
    ]

    def scenario(server: Server) -> Transcript:
        a = server.client()
        out = []
        for command in commands:
            a.send(encode_command(*command))
            out.append(a.read_available(0.03))  # nothing before the deadline
            out.append(a.read_reply())
        out.append(server.control.call("EXISTS", "k", "d"))
        return out

    transcript = run_both(both, scenario, resp3=protocol == 3)
    null = b"_\r\n" if protocol == 3 else b"*-1\r\n"
    assert transcript == [b"", null] * len(commands) + [b":0\r\n"]


def test_fair_order_and_one_client_per_element(both):
    """Clients blocked on one key are served in the order they blocked; a push of N elements
    wakes at most N of them."""

    def scenario(server: Server) -> Transcript:
        b = server.client()
        waiters = [server.client() for _ in range(3)]
        for number, waiter in enumerate(waiters, 1):
            server.block(waiter, "BLPOP", "k", "0", blocked=number)
        pushed = b.call("RPUSH", "k", "a", "b")
        first, second = waiters[0].read_reply(), waiters[1].read_reply()
        third_early = waiters[2].read_available(QUIET)
        server.wait_blocked(1)
        b.call("RPUSH", "k", "c")
        return [pushed, first, second, third_early, waiters[2].read_reply()]

    pushed, first, second, third_early, third = run_both(both, scenario)
    assert pushed == b":2\r\n"
    assert (first, second, third) == (_pair(b"k", b"a"), _pair(b"k", b"b"), _pair(b"k", b"c"))
    assert third_early == b""


def test_push_inside_multi_wakes_after_exec(both):
    """Inside MULTI/EXEC the list keeps its elements until EXEC ends; then the blocked
    client is served."""

    def scenario(server: Server) -> Transcript:
        a, b = server.client(), server.client()
        server.block(b, "BLPOP", "k", "0")
        a.call("MULTI")
        a.call("RPUSH", "k", "x")
        queued_early = b.read_available(QUIET)
        a.call("LLEN", "k")
        exec_reply = a.call("EXEC")
        return [queued_early, exec_reply, b.read_reply(), a.call("LLEN", "k")]

    early, exec_reply, popped, llen = run_both(both, scenario)
    assert early == b""
    assert exec_reply == b"*2\r\n:1\r\n:1\r\n"
    assert popped == _pair(b"k", b"x")
    assert llen == b":0\r\n"


@pytest.mark.parametrize("protocol", [2, 3])
def test_blocking_commands_inside_multi_do_not_block(both, protocol):

    def scenario(server: Server) -> Transcript:
        a = server.client()
        a.call("MULTI")
        for command in (
            ("BLPOP", "k", "0"),
            ("BLMOVE", "k", "d", "LEFT", "LEFT", "0"),
            ("BRPOPLPUSH", "k", "d", "0"),
            ("BLMPOP", "0", "1", "k", "RIGHT"),
        ):
            a.call(*command)
        return [a.call("EXEC"), a.call("PING")]

    exec_reply, _ = run_both(both, scenario, resp3=protocol == 3)
    null, null_bulk = (b"_\r\n", b"_\r\n") if protocol == 3 else (b"*-1\r\n", b"$-1\r\n")
    assert exec_reply == b"*4\r\n" + null + null_bulk + null_bulk + null


def test_client_blocked_on_several_keys_takes_the_first_ready(both):
    """BLPOP m1 m2: the key that gets data first serves it, even if it is not the first one
    named (both are pushed in one transaction, m2 first)."""

    def scenario(server: Server) -> Transcript:
        a, b, c = server.client(), server.client(), server.client()
        server.block(b, "BLPOP", "m1", "m2", "0")
        a.call("MULTI")
        a.call("RPUSH", "m2", "two")
        a.call("RPUSH", "m1", "one")
        a.call("EXEC")
        served = b.read_reply()
        server.block(c, "BRPOP", "m3", "m4", "0")
        a.call("RPUSH", "m4", "again")
        return [served, c.read_reply(), a.call("LRANGE", "m1", "0", "-1")]

    served, second, rest = run_both(both, scenario)
    assert served == _pair(b"m2", b"two")
    assert second == _pair(b"m4", b"again")
    assert rest == _pair(b"one")


def test_blmove_moves_atomically_and_feeds_other_waiters(both):
    """A BLMOVE client served from s1 pushes onto s2, which serves a client blocked on s2 in
    the same step: nothing is left in either list."""

    def scenario(server: Server) -> Transcript:
        a, mover, popper = server.client(), server.client(), server.client()
        server.block(mover, "BLMOVE", "s1", "s2", "RIGHT", "LEFT", "0")
        server.block(popper, "BLPOP", "s2", "0", blocked=2)
        pushed = a.call("RPUSH", "s1", "z")
        return [pushed, mover.read_reply(), popper.read_reply(), a.call("EXISTS", "s1", "s2")]

    assert run_both(both, scenario) == [b":1\r\n", b"$1\r\nz\r\n", _pair(b"s2", b"z"), b":0\r\n"]


def test_brpoplpush_and_blmpop_when_served(both):
    def scenario(server: Server) -> Transcript:
        a, b = server.client(), server.client()
        server.block(b, "BRPOPLPUSH", "src", "dst", "0")
        a.call("RPUSH", "src", "1", "2")
        moved = b.read_reply()
        server.block(b, "BLMPOP", "0", "2", "p1", "p2", "RIGHT", "COUNT", "2")
        a.call("RPUSH", "p2", "a", "b", "c")
        return [moved, b.read_reply(), a.call("LRANGE", "dst", "0", "-1")]

    moved, popped, dst = run_both(both, scenario)
    assert moved == b"$1\r\n2\r\n"
    assert popped == b"*2\r\n$2\r\np2\r\n" + _pair(b"c", b"b")
    assert dst == _pair(b"2")


def test_key_of_another_type_does_not_wake(both):
    """Redis 7.0: a string (or a list replaced by a string within a transaction) under the
    key leaves the client blocked; a list that comes later serves it."""

    def scenario(server: Server) -> Transcript:
        a, b = server.client(), server.client()
        server.block(b, "BLPOP", "k", "0")
        out = [a.call("SET", "k", "str"), b.read_available(QUIET)]
        a.call("MULTI")
        a.call("DEL", "k")
        a.call("LPUSH", "k", "v")
        a.call("SET", "k", "str2")
        out += [a.call("EXEC"), b.read_available(QUIET)]
        a.call("DEL", "k")
        a.call("LPUSH", "k", "v2")
        return out + [b.read_reply()]

    transcript = run_both(both, scenario)
    assert transcript[1] == transcript[3] == b""
    assert transcript[4] == _pair(b"k", b"v2")


def test_blmove_into_a_key_of_another_type_gets_wrongtype(both):
    def scenario(server: Server) -> Transcript:
        a, b = server.client(), server.client()
        a.call("SET", "dst", "x")
        server.block(b, "BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
        a.call("RPUSH", "src", "e")
        return [b.read_reply(), a.call("LRANGE", "src", "0", "-1")]

    wrongtype, src = run_both(both, scenario)
    assert wrongtype.startswith(b"-WRONGTYPE")
    assert src == _pair(b"e")


def test_sorted_set_does_not_wake_a_list_waiter(both):
    """A sorted set appearing under the key wakes only sorted-set waiters (Redis 7.0)."""
    with RawClient(both[0]) as probe:
        if not probe.call("ZADD", "probe", "1", "m").startswith(b":"):
            pytest.skip("rcsim has no sorted sets yet")
        probe.call("DEL", "probe")

    def scenario(server: Server) -> Transcript:
        a, b = server.client(), server.client()
        server.block(b, "BLPOP", "z", "0")
        out = [a.call("ZADD", "z", "1", "m"), b.read_available(QUIET)]
        a.call("DEL", "z")
        a.call("RPUSH", "z", "v")
        return out + [b.read_reply()]

    transcript = run_both(both, scenario)
    assert transcript[1:] == [b"", _pair(b"z", b"v")]


def test_clients_blocked_in_another_database(both):
    def scenario(server: Server) -> Transcript:
        a, b = server.client(), server.client()
        b.call("SELECT", "1")
        server.block(b, "BLPOP", "k", "0")
        a.call("RPUSH", "k", "db0")
        early = b.read_available(QUIET)
        a.call("SELECT", "1")
        a.call("RPUSH", "k", "db1")
        return [early, b.read_reply(), a.call("FLUSHALL")]

    assert run_both(both, scenario)[:2] == [b"", _pair(b"k", b"db1")]


# -- ending a block otherwise ------------------------------------------------------------------


def test_client_unblock(both):
    """CLIENT UNBLOCK id [TIMEOUT|ERROR]: the timeout reply (null array, BLMOVE included), or
    the UNBLOCKED error; 0 for a client that is not blocked."""

    def scenario(server: Server) -> Transcript:
        a, b = server.client(), server.client()
        b_id = int(b.call("CLIENT", "ID")[1:-2])
        out = [a.call("CLIENT", "UNBLOCK", b_id), a.call("CLIENT", "UNBLOCK", b_id, "other")]
        server.block(b, "BLPOP", "k", "0")
        out += [a.call("CLIENT", "UNBLOCK", b_id), b.read_reply()]
        server.block(b, "BLMOVE", "k", "d", "LEFT", "LEFT", "5")
        out += [a.call("CLIENT", "UNBLOCK", b_id, "timeout"), b.read_reply()]
        server.block(b, "BLMPOP", "0", "1", "k", "LEFT")
        out += [a.call("CLIENT", "UNBLOCK", b_id, "ERROR"), b.read_reply()]
        out += [a.call("CLIENT", "UNBLOCK", "999999"), b.call("PING")]
        return out

    transcript = run_both(both, scenario)
    assert transcript[0] == b":0\r\n"
    assert transcript[2:6] == [b":1\r\n", b"*-1\r\n", b":1\r\n", b"*-1\r\n"]
    assert transcript[7] == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    assert transcript[8:] == [b":0\r\n", b"+PONG\r\n"]


def test_disconnected_blocked_client_is_forgotten(both):
    """A blocked client that goes away is dropped: the next push stays in the list."""

    def scenario(server: Server) -> Transcript:
        a, gone = server.client(), server.client()
        server.block(gone, "BLPOP", "k", "0")
        gone.close()
        server.wait_blocked(0)
        return [a.call("RPUSH", "k", "kept"), a.call("LRANGE", "k", "0", "-1")]

    assert run_both(both, scenario) == [b":1\r\n", _pair(b"kept")]


def test_client_list_and_info_show_blocked_clients(both):
    """CLIENT LIST flags=b (cmd is the blocking command), INFO clients blocked_clients and
    clients_in_timeout_table (only clients with a timeout)."""

    def scenario(server: Server) -> Transcript:
        a, b, c = server.client(), server.client(), server.client()
        b_id = int(b.call("CLIENT", "ID")[1:-2])
        server.block(b, "BLPOP", "k", "0")
        server.block(c, "BRPOP", "k", "30", blocked=2)
        line = _client_line(a.call("CLIENT", "LIST"), b_id)
        fields = dict(f.split(b"=", 1) for f in line.split(b" "))
        info = a.call("INFO", "clients")
        counts = [re.search(rb"%s:(\d+)" % name, info).group(0) for name in _COUNTERS]  # type: ignore[union-attr]
        a.call("RPUSH", "k", "1", "2")
        b.read_reply()
        c.read_reply()
        after = _client_line(a.call("CLIENT", "LIST"), b_id)
        after_fields = dict(f.split(b"=", 1) for f in after.split(b" "))
        return [fields[b"flags"], fields[b"cmd"], *counts, after_fields[b"flags"]]

    flags, cmd, blocked, in_table, flags_after = run_both(both, scenario)
    assert (flags, cmd, flags_after) == (b"b", b"blpop", b"N")
    assert (blocked, in_table) == (b"blocked_clients:2", b"clients_in_timeout_table:1")


_COUNTERS = (b"blocked_clients", b"clients_in_timeout_table")


def _client_line(client_list: bytes, client_id: int) -> bytes:
    body = client_list.split(b"\r\n", 1)[1]
    for line in body.split(b"\n"):
        if line.startswith(b"id=%d " % client_id):
            return line.strip()
    raise AssertionError(f"client {client_id} not listed")


def test_reply_skip_and_off_still_block(both):
    """A blocking command blocks even when its reply is not wanted; the SKIP applies to the
    reply it finally gets, and later commands wait behind it."""

    def scenario(server: Server) -> Transcript:
        a, b = server.client(), server.client()
        b.send(encode_command("CLIENT", "REPLY", "SKIP") + encode_command("BLPOP", "k", "0"))
        server.wait_blocked(1)
        b.send(encode_command("PING"))
        early = b.read_available(QUIET)
        a.call("RPUSH", "k", "1")
        after_skip = b.read_reply()
        b.send(encode_command("CLIENT", "REPLY", "OFF") + encode_command("BLPOP", "k", "0"))
        server.wait_blocked(1)
        b.send(encode_command("CLIENT", "REPLY", "ON"))
        a.call("RPUSH", "k", "2")
        return [early, after_skip, b.read_reply(), a.call("EXISTS", "k")]

    assert run_both(both, scenario) == [b"", b"+PONG\r\n", b"+OK\r\n", b":0\r\n"]


def test_idle_timeout_spares_blocked_clients():
    """With ``timeout 1`` an idle client is closed, a blocked one is not (Redis exempts
    CLIENT_BLOCKED clients from the idle timeout)."""
    require_redis_server()
    servers = [start_rcsim("--timeout", "1"), start_redis("--timeout", "1")]
    try:
        idle, blocked, pushers = [], [], []
        for process in servers:
            server = Server(process.port, resp3=False)
            pushers.append(server)
            idle.append(server.client())
            waiter = server.client()
            server.block(waiter, "BLPOP", "k", "0")
            blocked.append(waiter)
        deadline = time.monotonic() + 10
        for client in idle:
            while client.read_available(0.2) != b"<EOF>":
                assert time.monotonic() < deadline, "the idle client was not closed"
        for server, waiter in zip(pushers, blocked, strict=True):
            with RawClient(server.port) as pusher:  # the control connection idled out too
                assert pusher.call("RPUSH", "k", "v") == b":1\r\n"
            assert waiter.read_reply() == _pair(b"k", b"v")
            server.close()
    finally:
        for process in servers:
            process.stop()
