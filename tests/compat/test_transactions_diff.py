"""MULTI, EXEC, DISCARD, WATCH, UNWATCH against redis-server 7.0.15, byte for byte, RESP2 and RESP3.

WATCH tests need a second client per server (the one that touches the watched key): ``other``
opens it on both and checks that it, too, gets identical replies.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.support.rawclient import RawClient, encode_command

pytestmark = pytest.mark.compat


class Pair:
    """One extra connection to each server, driven in lockstep."""

    def __init__(self, ours_port: int, theirs_port: int) -> None:
        self.ours = RawClient(ours_port)
        self.theirs = RawClient(theirs_port)

    def check(self, *args: bytes | str | int) -> bytes:
        ours, theirs = self.ours.call(*args), self.theirs.call(*args)
        assert ours == theirs, f"other {args!r}:\n  rcsim: {ours!r}\n  redis: {theirs!r}"
        return ours

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


@pytest.fixture
def other(diff):
    pair = Pair(diff.ours_port, diff.theirs_port)
    yield pair
    pair.close()


def served(diff, *names: str) -> bool:
    """Whether rcsim serves every named command (others are being written in parallel)."""
    reply = diff.ours.call("COMMAND", "INFO", *names)
    return b"*-1\r\n" not in reply and b"$-1\r\n" not in reply and b"_\r\n" not in reply


def cmds(*commands: tuple) -> bytes:
    return b"".join(encode_command(*c) for c in commands)


# -- queueing, EXECABORT, embedded errors -------------------------------------------------------

SEQUENCES = {
    "empty": [("MULTI",), ("EXEC",)],
    "queued_replies": [("MULTI",), ("SET", "a", "1"), ("GET", "a"), ("PING",), ("EXEC",)],
    "nested_multi_is_no_abort": [
        ("MULTI",),
        ("MULTI",),
        ("SET", "x", "1"),
        ("EXEC",),
        ("GET", "x"),
    ],
    "watch_inside_multi_is_no_abort": [("MULTI",), ("WATCH", "x"), ("PING",), ("EXEC",)],
    "unknown_command_aborts": [
        ("MULTI",),
        ("SET", "x", "1"),
        ("NOSUCHCMD", "x"),
        ("SET", "y", "2"),
        ("EXEC",),
        ("GET", "x"),
        ("GET", "y"),
    ],
    "wrong_arity_aborts": [("MULTI",), ("GET",), ("SET", "x", "1"), ("EXEC",), ("GET", "x")],
    "unknown_subcommand_aborts": [("MULTI",), ("COMMAND", "NOPE"), ("EXEC",)],
    "subcommand_arity_aborts": [("MULTI",), ("COMMAND", "COUNT", "x"), ("EXEC",)],
    "exec_with_arguments_aborts": [("MULTI",), ("EXEC", "x"), ("EXEC",)],
    "multi_with_arguments": [("MULTI", "x"), ("EXEC",)],
    "watch_without_keys": [("WATCH",), ("MULTI",), ("WATCH",), ("EXEC",)],
    "exec_without_multi": [("EXEC",), ("DISCARD",)],
    "discard": [("MULTI",), ("SET", "d", "1"), ("DISCARD",), ("DISCARD",), ("EXEC",), ("GET", "d")],
    "discard_clears_abort": [
        ("MULTI",),
        ("NOSUCHCMD",),
        ("DISCARD",),
        ("MULTI",),
        ("PING",),
        ("EXEC",),
    ],
    "unwatch_is_queued": [("WATCH", "x"), ("MULTI",), ("UNWATCH",), ("EXEC",)],
    "runtime_errors_embedded": [
        ("MULTI",),
        ("SELECT", "99"),
        ("PING", "a", "b"),
        ("COMMAND", "GETKEYS", "nosuchcmd", "x"),
        ("SET", "after", "1"),
        ("EXEC",),
        ("GET", "after"),
    ],
    "select_inside_exec": [
        ("MULTI",),
        ("SELECT", "1"),
        ("SET", "q", "1"),
        ("EXEC",),
        ("GET", "q"),
        ("SELECT", "0"),
        ("GET", "q"),
    ],
    "command_inside_multi": [
        ("MULTI",),
        ("COMMAND", "INFO", "get"),
        ("COMMAND", "GETKEYS", "get", "x"),
        ("EXEC",),
    ],
    "reset_discards": [("MULTI",), ("SET", "r", "1"), ("RESET",), ("EXEC",), ("GET", "r")],
}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_transaction_sequence_matches_redis(diff, name):
    diff.check_all(*SEQUENCES[name])


def test_runtime_error_from_a_type_error_is_embedded(diff):
    """EXEC replies with every command's own reply, errors included, and carries on."""
    diff.check_all(
        ("SET", "s", "abc"),
        ("MULTI",),
        ("INCR", "s"),
        ("SET", "t", "1"),
        ("INCR", "t"),
        ("EXEC",),
        ("GET", "t"),
    )


def test_no_multi_commands_abort_the_transaction(diff):
    """Commands flagged no_multi (SHUTDOWN here) are refused while queueing."""
    diff.check_all(("MULTI",), ("SHUTDOWN",), ("PING",), ("EXEC",))


def test_multi_then_quit_closes_without_running(diff):
    diff.check_raw(cmds(("MULTI",), ("SET", "q", "1"), ("QUIT",), ("PING",)))
    diff.check("GET", "q")


def test_pipelined_transaction(diff):
    diff.check_raw(b"MULTI\r\nSET a 1\r\nGET a\r\nNOSUCH\r\nEXEC\r\nMULTI\r\nGET a\r\nEXEC\r\n")


def test_hello_inside_exec_switches_protocol_for_the_rest(diff):
    """Each reply inside EXEC is written in the protocol in force when its command ran."""
    for command in (("MULTI",), ("GET", "missing"), ("HELLO", "3"), ("GET", "missing")):
        diff.check(*command)
    ours, theirs = diff.both("EXEC")
    same_id = re.compile(rb"\$2\r\nid\r\n:\d+\r\n")
    assert same_id.sub(b"ID", ours) == same_id.sub(b"ID", theirs), (ours, theirs)
    diff.check("GET", "missing")


# -- WATCH ----------------------------------------------------------------------------------------


def test_watched_key_written_by_another_client_fails_exec(diff, other):
    diff.check("SET", "k", "1")
    diff.check("WATCH", "k")
    other.check("SET", "k", "2")
    diff.check_all(("MULTI",), ("SET", "k", "3"), ("EXEC",), ("GET", "k"))


def test_watched_key_deleted_by_another_client_fails_exec(diff, other):
    diff.check("SET", "k", "1")
    diff.check("WATCH", "k")
    other.check("DEL", "k")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


def test_missing_watched_key_created_by_another_client_fails_exec(diff, other):
    diff.check("WATCH", "k")
    other.check("SET", "k", "2")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


def test_write_to_another_key_keeps_exec(diff, other):
    diff.check("WATCH", "k", "j")
    other.check("SET", "unrelated", "2")
    diff.check_all(("MULTI",), ("GET", "k"), ("EXEC",))


def test_own_write_after_watch_fails_exec(diff):
    diff.check_all(("WATCH", "k"), ("SET", "k", "1"), ("MULTI",), ("PING",), ("EXEC",))


def test_own_queued_write_does_not_fail_exec(diff):
    diff.check_all(("WATCH", "k"), ("MULTI",), ("SET", "k", "1"), ("EXEC",), ("GET", "k"))


def test_failed_watch_stays_failed_until_exec_then_resets(diff, other):
    diff.check("WATCH", "k")
    other.check("SET", "k", "1")
    diff.check_all(("WATCH", "j"), ("MULTI",), ("PING",), ("EXEC",))
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


@pytest.mark.parametrize("release", ["UNWATCH", "DISCARD", "EXEC"])
def test_unwatch_discard_and_exec_release_watches(diff, other, release):
    diff.check("WATCH", "k")
    if release != "UNWATCH":
        diff.check("MULTI")
    diff.check(release)
    other.check("SET", "k", "1")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


def test_unwatch_clears_a_failed_watch(diff, other):
    diff.check("WATCH", "k")
    other.check("SET", "k", "1")
    diff.check_all(("UNWATCH",), ("MULTI",), ("PING",), ("EXEC",))


def test_reset_clears_watches(diff, other):
    diff.check("WATCH", "k")
    other.check("SET", "k", "1")
    diff.check_all(("RESET",), ("MULTI",), ("PING",), ("EXEC",))


def test_watch_is_per_database(diff, other):
    diff.check("WATCH", "k")  # db 0
    other.check("SELECT", "1")
    other.check("SET", "k", "in-db-1")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))
    diff.check("WATCH", "k")
    other.check("SELECT", "0")
    other.check("SET", "k", "in-db-0")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


def test_watch_after_select_watches_the_selected_database(diff, other):
    diff.check_all(("WATCH", "k"), ("SELECT", "1"), ("WATCH", "k"))
    other.check("SELECT", "1")
    other.check("SET", "k", "1")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",), ("SELECT", "0"))


def test_flushall_fails_exec_when_a_watched_key_existed(diff, other):
    diff.check("SET", "k", "1")
    diff.check("WATCH", "k")
    other.check("FLUSHALL")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


def test_flushall_keeps_exec_when_watched_keys_were_missing(diff, other):
    diff.check("SET", "unrelated", "1")
    diff.check("WATCH", "k")
    other.check("FLUSHALL")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


def test_flushdb_of_the_watched_database(diff, other):
    diff.check("SET", "k", "1")
    diff.check("WATCH", "k")
    other.check("SELECT", "1")
    other.check("FLUSHDB")  # another database: no effect
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))
    diff.check("WATCH", "k")
    other.check("SELECT", "0")
    other.check("FLUSHDB")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


@pytest.mark.parametrize("where", ["watched-db", "other-db", "neither"])
def test_swapdb_fails_exec_when_the_key_exists_on_either_side(diff, other, where):
    if where == "watched-db":
        diff.check("SET", "k", "1")
    elif where == "other-db":
        other.check("SELECT", "1")
        other.check("SET", "k", "1")
        other.check("SELECT", "0")
    diff.check("WATCH", "k")
    other.check("SWAPDB", "0", "1")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))
    other.check("FLUSHALL")


def wait_past(deadline: float) -> None:
    """Wait until a known expiry time has passed (the servers' TTLs started before ``deadline``
    was computed); bounded, no polling of the watched key (a read would delete it)."""
    time.sleep(max(0.0, deadline - time.monotonic()))


def test_watched_key_that_expires_fails_exec(diff):
    diff.check("SET", "k", "v", "PX", "30")
    diff.check("WATCH", "k")
    wait_past(time.monotonic() + 0.06)
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


def test_watched_key_expired_before_watch_keeps_exec(diff, other):
    """A key already expired at WATCH time: its deletion is no change (Redis 7.0)."""
    diff.check("SET", "k", "v", "PX", "1")
    wait_past(time.monotonic() + 0.02)
    diff.check("WATCH", "k")
    other.check("GET", "k")  # deletes it lazily
    diff.check_all(("MULTI",), ("GET", "k"), ("EXEC",))


def test_watched_key_expired_before_watch_then_written_fails_exec(diff, other):
    diff.check("SET", "k", "v", "PX", "1")
    wait_past(time.monotonic() + 0.02)
    diff.check("WATCH", "k")
    other.check("SET", "k", "new")
    diff.check_all(("MULTI",), ("GET", "k"), ("EXEC",))


def test_expire_on_watched_key_fails_exec(diff, other):
    diff.check("SET", "k", "v")
    diff.check("WATCH", "k")
    other.check("PEXPIRE", "k", "100000")
    diff.check_all(("MULTI",), ("PING",), ("EXEC",))


@pytest.mark.parametrize(
    "sequence",
    [
        [("EXEC", "x")],
        [("exec", "a", "b"), ("EXEC",)],
        [("MULTI",), ("SET", "a", "1"), ("EXEC", "x"), ("EXEC",), ("GET", "a")],
        [("MULTI",), ("DISCARD", "x"), ("EXEC",)],
    ],
)
def test_exec_refused_by_the_dispatcher_aborts(diff, sequence):
    """EXEC refused before it runs (here: arity) answers EXECABORT with the reason, MULTI or not."""
    diff.check_all(*sequence)
