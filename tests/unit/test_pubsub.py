"""Pub/Sub registries and delivery, without sockets: sessions run commands through the dispatcher.

The wire behaviour is compared with Redis in ``tests/compat/test_pubsub_diff.py``; these tests pin
what only the inside shows: the session and node registries stay in step (also under random
operations), empty entries go away, messages are encoded per receiver, the dispatcher's gate
follows the subscriptions, and the cluster-facing entry points work.
"""

from __future__ import annotations

import random

import pytest

from node import pubsub
from node.client_conn import ClientConnection
from node.config import Config
from node.core import execute
from node.protocol.resp import encode
from node.pubsub import CHANNELS, PATTERNS, SHARD_CHANNELS, deliver, registry
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

CONTEXT_ERROR = (
    b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
    b"are allowed in this context\r\n"
)


@pytest.fixture
def node() -> NodeState:
    return make_node(Config(), rng=random.Random(3), now_ms=1_700_000_000_000)


def new_session(node: NodeState, resp3: bool = False) -> Session:
    session = Session(node, node.new_client_id())
    node.clients[session.id] = session
    session.resp3 = resp3
    return session


def run(session: Session, *args: bytes | str) -> bytes:
    argv = [a if isinstance(a, bytes) else a.encode() for a in args]
    return encode(execute(session, argv), session.resp3)


def message(channel: bytes, data: bytes, resp3: bool = False) -> bytes:
    head = b">3\r\n" if resp3 else b"*3\r\n"
    return head + b"$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
        len(channel),
        channel,
        len(data),
        data,
    )


# -- registries ---------------------------------------------------------------------------------


def test_channel_subscribers_are_kept_in_subscription_order(node):
    a, b, c = (new_session(node) for _ in range(3))
    for session in (b, a, c):
        run(session, "SUBSCRIBE", "ch")
    assert list(registry(node).channels[b"ch"]) == [b, a, c]
    run(a, "UNSUBSCRIBE", "ch")
    run(a, "SUBSCRIBE", "ch")
    assert list(registry(node).channels[b"ch"]) == [b, c, a]


def test_a_name_goes_away_with_its_last_subscriber(node):
    a, b = new_session(node), new_session(node)
    run(a, "SUBSCRIBE", "ch")
    run(b, "SUBSCRIBE", "ch")
    run(a, "PSUBSCRIBE", "p*")
    run(a, "SSUBSCRIBE", "s")
    run(a, "UNSUBSCRIBE")
    assert list(registry(node).channels[b"ch"]) == [b]
    run(b, "UNSUBSCRIBE", "ch")
    run(a, "PUNSUBSCRIBE", "p*")
    run(a, "SUNSUBSCRIBE", "s")
    reg = registry(node)
    assert reg.channels == reg.patterns == reg.shard_channels == reg.matchers == {}


def test_double_subscribe_keeps_one_entry_and_confirms_twice(node):
    a = new_session(node)
    reply = run(a, "SUBSCRIBE", "x", "x")
    assert reply == (
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n"
    )
    assert a.pubsub_channels == {b"x": None}
    assert list(registry(node).channels[b"x"]) == [a]


def check_consistent(node: NodeState, sessions: list[Session]) -> None:
    """Session sets and node registries describe the same subscriptions; no empty entries."""
    reg = registry(node)
    for kind in (CHANNELS, PATTERNS, SHARD_CHANNELS):
        table = getattr(reg, kind.registry_attr)
        expected: dict[bytes, set[Session]] = {}
        for session in sessions:
            for name in getattr(session, kind.session_attr):
                expected.setdefault(name, set()).add(session)
        assert {name: set(subs) for name, subs in table.items()} == expected
    assert set(reg.matchers) == set(reg.patterns)
    for session in sessions:
        has_any = bool(
            session.pubsub_channels or session.pubsub_patterns or session.pubsub_shard_channels
        )
        assert session.subscribed == has_any
        assert session.gate == has_any


def test_random_operations_keep_sessions_and_registries_in_step(node):
    rng = random.Random(11)
    sessions = [new_session(node, resp3=rng.random() < 0.5) for _ in range(5)]
    names = [b"a", b"b", b"c", b"a*", b"?"]
    commands = ["SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE"]
    commands += ["SUNSUBSCRIBE", "RESET", "PUBLISH", "SPUBLISH", "CLOSE"]
    for _ in range(2000):
        session = rng.choice(sessions)
        command = rng.choice(commands)
        if command == "CLOSE":
            ClientConnection(node, session).closed()
            sessions.remove(session)
            sessions.append(new_session(node, resp3=rng.random() < 0.5))
        elif command in ("PUBLISH", "SPUBLISH"):
            if session.subscribed and not session.resp3:
                assert run(session, command, "a", "m").startswith(b"-ERR Can't execute")
            else:
                run(session, command, rng.choice(names), b"m")
        else:
            args = rng.sample(names, rng.randint(0 if "UNSUB" in command else 1, 3))
            run(session, command, *args)
        check_consistent(node, sessions)
        for s in sessions:
            s.out_queue.clear()
        if not session.subscribed:
            session.resp3 = rng.random() < 0.5


# -- delivery -----------------------------------------------------------------------------------


def test_deliver_encodes_for_each_receiver_and_counts_them(node):
    resp2, resp3, patterned = new_session(node), new_session(node, True), new_session(node)
    run(resp2, "SUBSCRIBE", "news")
    run(resp3, "SUBSCRIBE", "news")
    run(patterned, "PSUBSCRIBE", "n*", "*s", "x*")
    for s in (resp2, resp3, patterned):
        s.out_queue.clear()
    assert deliver(node, b"news", b"hi") == 4
    assert resp2.out_queue == [message(b"news", b"hi")]
    assert resp3.out_queue == [message(b"news", b"hi", resp3=True)]
    assert patterned.out_queue == [
        b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n",
        b"*4\r\n$8\r\npmessage\r\n$2\r\n*s\r\n$4\r\nnews\r\n$2\r\nhi\r\n",
    ]
    assert deliver(node, b"nobody", b"hi") == 1  # n* only
    assert deliver(node, b"", b"hi") == 0  # '*' patterns never match an empty channel


def test_shard_delivery_ignores_patterns_and_plain_channels(node):
    shard, plain, patterned = new_session(node), new_session(node), new_session(node)
    run(shard, "SSUBSCRIBE", "s")
    run(plain, "SUBSCRIBE", "s")
    run(patterned, "PSUBSCRIBE", "*")
    for s in (shard, plain, patterned):
        s.out_queue.clear()
    assert run(plain, "UNSUBSCRIBE") and deliver(node, b"s", b"m", shard=True) == 1
    assert shard.out_queue == [b"*3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nm\r\n"]
    assert plain.out_queue == [] and patterned.out_queue == []


def test_publisher_subscribed_to_its_channel_gets_the_message_inline(node):
    client, other = new_session(node, resp3=True), new_session(node)
    run(client, "SUBSCRIBE", "c")
    run(other, "SUBSCRIBE", "c")
    other.out_queue.clear()
    assert run(client, "PUBLISH", "c", "m") == message(b"c", b"m", True) + b":2\r\n"
    assert client.out_queue == []
    assert other.out_queue == [message(b"c", b"m")]


def test_pushes_go_out_of_band_when_replies_are_off_or_in_a_script(node):
    client = new_session(node, resp3=True)
    client.reply_mode = b"off"
    assert run(client, "SUBSCRIBE", "c") == b""
    assert client.out_queue == [b">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"]
    client.out_queue.clear()
    assert run(client, "PUBLISH", "c", "m") == b":1\r\n"  # the reply the driver drops
    assert client.out_queue == [message(b"c", b"m", True)]
    client.out_queue.clear()
    client.reply_mode = b"on"
    client.in_script = True  # a script's PUBLISH gets an integer, never pushes inline
    assert run(client, "PUBLISH", "c", "m") == b":1\r\n"
    assert client.out_queue == [message(b"c", b"m", True)]


# -- the subscribed context and the gate ------------------------------------------------------


def test_gate_follows_subscriptions_and_resp2_is_restricted(node):
    client = new_session(node)
    assert not client.gate
    run(client, "SUBSCRIBE", "c")
    run(client, "SSUBSCRIBE", "s")
    assert client.gate and client.subscribed
    assert run(client, "GET", "k") == CONTEXT_ERROR
    assert run(client, "PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    run(client, "UNSUBSCRIBE")
    assert client.gate  # still a shard subscription
    run(client, "SUNSUBSCRIBE")
    assert not client.gate and not client.subscribed
    assert run(client, "GET", "k") == b"$-1\r\n"


def test_resp3_subscriber_runs_anything_until_it_switches_to_resp2(node):
    client = new_session(node, resp3=True)
    run(client, "PSUBSCRIBE", "*")
    assert run(client, "GET", "k") == b"_\r\n"
    assert run(client, "PING") == b"+PONG\r\n"
    run(client, "HELLO", "2")
    assert run(client, "GET", "k") == CONTEXT_ERROR


def test_rejected_command_counts_as_rejected_and_aborts_nothing(node):
    client = new_session(node)
    run(client, "SUBSCRIBE", "c")
    run(client, "GET", "k")
    assert node.commands[b"get"].stats[2] == 1  # rejected_calls
    assert node.stats.errors.get("ERR") == 1


def test_reset_and_disconnect_drop_subscriptions_silently(node):
    client, other = new_session(node), new_session(node)
    run(client, "SUBSCRIBE", "a", "b")
    run(client, "PSUBSCRIBE", "p*")
    run(other, "SSUBSCRIBE", "s")
    client.out_queue.clear()
    assert run(client, "RESET") == b"+RESET\r\n"
    assert client.out_queue == [] and not client.gate
    assert registry(node).channels == {} and registry(node).patterns == {}
    ClientConnection(node, other).closed()
    assert registry(node).shard_channels == {}
    assert other.id not in node.clients
    assert deliver(node, b"a", b"m") == 0


def test_subscribe_inside_exec_answers_inside_the_exec_reply(node):
    client = new_session(node)
    for args in (("MULTI",), ("SUBSCRIBE", "a", "b"), ("SSUBSCRIBE", "s"), ("PING",)):
        run(client, *args)
    assert run(client, "EXEC") == (
        b"*3\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n"
        b":2\r\n-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n"
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"  # subscribed by then: PING answers as a subscriber
    )
    assert client.subscribed and client.gate and client.multi is None
    assert run(client, "GET", "k") == CONTEXT_ERROR


# -- PUBSUB and INFO ----------------------------------------------------------------------------


def test_pubsub_introspection(node):
    a, b = new_session(node), new_session(node)
    run(a, "SUBSCRIBE", "news.tech", "news.art", "")
    run(b, "SUBSCRIBE", "news.tech")
    run(a, "PSUBSCRIBE", "x*", "y*")
    run(b, "PSUBSCRIBE", "x*")
    run(b, "SSUBSCRIBE", "s1", "s2")
    query = new_session(node)
    assert run(query, "PUBSUB", "CHANNELS", "news.*") == (
        b"*2\r\n$9\r\nnews.tech\r\n$8\r\nnews.art\r\n"
    )
    assert run(query, "PUBSUB", "CHANNELS", "") == b"*1\r\n$0\r\n\r\n"
    assert run(query, "PUBSUB", "NUMSUB", "news.tech", "zz") == (
        b"*4\r\n$9\r\nnews.tech\r\n:2\r\n$2\r\nzz\r\n:0\r\n"
    )
    assert run(query, "PUBSUB", "NUMPAT") == b":2\r\n"
    assert run(query, "PUBSUB", "SHARDCHANNELS", "*2") == b"*1\r\n$2\r\ns2\r\n"
    assert run(query, "PUBSUB", "SHARDNUMSUB", "s1") == b"*2\r\n$2\r\ns1\r\n:1\r\n"
    assert pubsub.server_counts(node) == (3, 2, 2)
    info = encode(execute(query, [b"INFO", b"stats"]), False)
    assert b"pubsub_channels:3\r\npubsub_patterns:2\r\npubsubshard_channels:2\r\n" in info


def test_server_counts_without_any_subscription(node):
    assert pubsub.server_counts(node) == (0, 0, 0)


# -- cluster mode -------------------------------------------------------------------------------


@pytest.fixture
def cluster_node() -> NodeState:
    config = Config()
    config.set("cluster-enabled", "yes", startup=True)
    return make_node(config, rng=random.Random(3))


def test_shard_channels_of_one_command_must_share_a_slot_in_cluster_mode(cluster_node, node):
    crossslot = b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    client = new_session(cluster_node)
    assert run(client, "SSUBSCRIBE", "a", "b") == crossslot
    assert run(client, "SUNSUBSCRIBE", "a", "b") == crossslot
    assert client.pubsub_shard_channels == {}
    assert run(client, "SSUBSCRIBE", "{t}a", "{t}b").count(b"ssubscribe") == 2
    assert run(client, "SUNSUBSCRIBE", "{t}a", "{t}b").count(b"sunsubscribe") == 2
    standalone = new_session(node)  # no slots without cluster mode
    assert run(standalone, "SSUBSCRIBE", "a", "b").count(b"ssubscribe") == 2


def test_losing_a_slot_unsubscribes_its_shard_channels_with_notice(cluster_node):
    from node.protocol.keyslot import key_slot

    a, b = new_session(cluster_node), new_session(cluster_node, resp3=True)
    run(a, "SSUBSCRIBE", "{t}1", "{t}2")
    run(a, "SUBSCRIBE", "plain")
    run(b, "SSUBSCRIBE", "{t}1")
    run(b, "SSUBSCRIBE", "other")
    a.out_queue.clear()
    b.out_queue.clear()
    pubsub.drop_shard_slot(cluster_node, key_slot(b"{t}1"))
    assert a.out_queue == [
        b"*3\r\n$12\r\nsunsubscribe\r\n$4\r\n{t}1\r\n:1\r\n",
        b"*3\r\n$12\r\nsunsubscribe\r\n$4\r\n{t}2\r\n:0\r\n",
    ]
    assert b.out_queue == [b">3\r\n$12\r\nsunsubscribe\r\n$4\r\n{t}1\r\n:1\r\n"]
    assert list(registry(cluster_node).shard_channels) == [b"other"]
    assert a.subscribed  # still on "plain"
    pubsub.unsubscribe_shard_channel(cluster_node, b"other")
    assert not b.subscribed
    assert not b.gate  # cluster routing is decided per command (core.served_here), not by the gate
