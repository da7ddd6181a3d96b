"""Pub/Sub compared with redis-server 7.0.15, byte for byte, in RESP2 and RESP3.

Each test drives two or three raw connections per server (subscribers and a publisher) and
compares exactly what each connection receives. A connection's output is read up to a sentinel
(``PING <token>``, or RESET where replies are off), so "nothing else arrived" is checked too,
without waiting for quiet. Channel names carry the test's name: the servers are shared, and a
closed connection's subscriptions go away asynchronously. Orders Redis leaves to its hash tables
(UNSUBSCRIBE from all, PUBSUB CHANNELS, several patterns matching one channel) are compared
sorted; everything else in full.
"""

from __future__ import annotations

import time

import pytest
import redis

from tests.support.rawclient import RawClient, encode_command
from tests.support.waiting import wait_for

pytestmark = pytest.mark.compat

TOKEN = b"pubsub-sentinel-7f3a"
SENTINELS = (
    b"*2\r\n$4\r\npong\r\n$%d\r\n%s\r\n" % (len(TOKEN), TOKEN),  # RESP2, subscribed
    b"$%d\r\n%s\r\n" % (len(TOKEN), TOKEN),  # otherwise
)


def parse(raw: bytes) -> list:
    """The replies in ``raw`` as Python values (bulk -> bytes, null -> None, arrays/pushes ->
    lists), for comparisons that must ignore an order Redis leaves to its hash tables."""
    values, pos = [], 0
    while pos < len(raw):
        value, pos = _parse_one(raw, pos)
        values.append(value)
    return values


def _parse_one(raw: bytes, pos: int) -> tuple[object, int]:
    end = raw.index(b"\r\n", pos)
    kind, rest, pos = raw[pos : pos + 1], raw[pos + 1 : end], end + 2
    if kind in (b"$", b"="):
        n = int(rest)
        if n < 0:
            return None, pos
        return raw[pos : pos + n], pos + n + 2
    if kind in (b"*", b">", b"~"):
        n = int(rest)
        items = []
        for _ in range(max(n, 0)):
            item, pos = _parse_one(raw, pos)
            items.append(item)
        return (items if n >= 0 else None), pos
    if kind == b":":
        return int(rest), pos
    if kind == b"_":
        return None, pos
    return kind + rest, pos  # + - , # as text


class Conn:
    """One logical client: a connection to rcsim and one to redis-server, fed the same bytes."""

    def __init__(self, ours: RawClient, theirs: RawClient, protocol: int) -> None:
        self.ours, self.theirs = ours, theirs
        self.protocol = protocol

    def send(self, *args: bytes | str | int) -> None:
        data = encode_command(*args)
        self.ours.send(data)
        self.theirs.send(data)

    def both(self, *args: bytes | str | int, replies: int = 1) -> tuple[bytes, bytes]:
        """Send one command; return the next ``replies`` replies of each server, unchecked."""
        self.send(*args)
        ours = b"".join(self.ours.read_reply() for _ in range(replies))
        theirs = b"".join(self.theirs.read_reply() for _ in range(replies))
        return ours, theirs

    def check(self, *args: bytes | str | int, replies: int = 1) -> bytes:
        """Send one command and assert identical bytes for its ``replies`` replies."""
        ours, theirs = self.both(*args, replies=replies)
        assert ours == theirs, f"{args!r}:\n  rcsim: {ours!r}\n  redis: {theirs!r}"
        return ours

    def collect_both(self, until: bytes | None = None) -> tuple[bytes, bytes]:
        """Everything each server sends up to and including the answer to a sentinel: PING
        with a token, or ``until`` (a command's exact reply, e.g. ``+RESET``) after RESET."""
        if until is None:
            self.send("PING", TOKEN)
            stops: tuple[bytes, ...] = SENTINELS
        else:
            self.send("RESET")
            stops = (until,)
        return _read_until(self.ours, stops), _read_until(self.theirs, stops)

    def collect(self, until: bytes | None = None) -> bytes:
        """``collect_both``, asserting identical bytes."""
        ours, theirs = self.collect_both(until)
        assert ours == theirs, f"\n  rcsim: {ours!r}\n  redis: {theirs!r}"
        return ours


def _read_until(client: RawClient, stops: tuple[bytes, ...]) -> bytes:
    out = b""
    while True:
        reply = client.read_reply()
        out += reply
        if reply in stops:
            return out


@pytest.fixture
def connect(diff):
    """Open more logical clients in the test's protocol (the first one reuses ``diff``'s)."""
    opened: list[RawClient] = []
    first = [True]

    def open_conn(protocol: int | None = None) -> Conn:
        protocol = protocol or diff.protocol
        if first[0] and protocol == diff.protocol:
            first[0] = False
            return Conn(diff.ours, diff.theirs, protocol)
        ours, theirs = RawClient(diff.ours_port), RawClient(diff.theirs_port)
        opened.extend((ours, theirs))
        if protocol == 3:
            ours.call("HELLO", "3")
            theirs.call("HELLO", "3")
        return Conn(ours, theirs, protocol)

    yield open_conn
    for client in opened:
        client.close()


@pytest.fixture
def ch(request) -> str:
    """A channel-name prefix unique to this test (and protocol), free of glob characters."""
    return request.node.name.replace("[", "-").replace("]", "-") + ":"


def wait_no_patterns(conn: Conn) -> None:
    """PUBSUB NUMPAT counts every client's patterns: let earlier tests' connections go."""
    wait_for(
        "the subscriptions to settle",
        lambda: conn.both("PUBSUB", "NUMPAT") == (b":0\r\n", b":0\r\n"),
        3.0,
        step=0.01,
    )


# -- confirmations ------------------------------------------------------------------------------


def test_subscribe_confirms_each_channel_with_running_count(connect, ch):
    sub = connect()
    sub.check("SUBSCRIBE", ch + "a", ch + "b", ch + "a", replies=3)
    sub.check("PSUBSCRIBE", ch + "p*", ch + "q?", ch + "p*", replies=3)
    sub.check("SUBSCRIBE", ch + "c", replies=1)
    sub.check("SSUBSCRIBE", ch + "s1", ch + "s2", ch + "s1", replies=3)
    sub.collect()


@pytest.mark.parametrize("command", ["UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"])
def test_unsubscribe_from_all_without_subscriptions_names_null(connect, command):
    sub = connect()
    sub.check(command)
    sub.check("GET", "k")  # never subscribed: any command runs
    sub.collect()


def test_unsubscribe_named_channels_subscribed_or_not(connect, ch):
    sub = connect()
    sub.check("SUBSCRIBE", ch + "a", ch + "b", replies=2)
    sub.check("PSUBSCRIBE", ch + "*", replies=1)
    sub.check("UNSUBSCRIBE", ch + "zz", ch + "a", ch + "a", replies=3)
    sub.check("PUNSUBSCRIBE", ch + "zz", ch + "*", replies=2)
    sub.check("SSUBSCRIBE", ch + "s", replies=1)
    sub.check("SUNSUBSCRIBE", ch + "zz", ch + "s", replies=2)
    sub.check("UNSUBSCRIBE", ch + "b", replies=1)
    sub.check("GET", "k")  # nothing left: out of the subscribed context
    sub.collect()


def test_unsubscribe_from_all_channels(connect, ch):
    sub = connect()
    names = [ch + name for name in ("a", "b", "c", "d")]
    sub.check("SUBSCRIBE", *names, replies=4)
    sub.check("PSUBSCRIBE", ch + "p*", replies=1)
    ours, theirs = sub.both("UNSUBSCRIBE", replies=4)
    # Redis walks its client dict (hash order): compare names as a set, counts in order.
    mine, redis = parse(ours), parse(theirs)
    assert sorted(m[1] for m in mine) == sorted(m[1] for m in redis) == [n.encode() for n in names]
    assert [m[::2] for m in mine] == [m[::2] for m in redis]
    sub.check("UNSUBSCRIBE")  # none left: the null confirmation, count still 1 (the pattern)
    sub.collect()


def test_punsubscribe_from_all_in_subscription_order(connect, ch):
    sub = connect()
    patterns = [ch + p for p in ("z*", "a*", "m?", "b[xy]")]
    sub.check("PSUBSCRIBE", *patterns, replies=4)
    sub.check("SUBSCRIBE", ch + "chan", replies=1)
    sub.check("PUNSUBSCRIBE", replies=4)  # Redis 7.0 keeps a client's patterns in a list
    sub.check("PUNSUBSCRIBE")
    sub.collect()


def test_sunsubscribe_from_all_keeps_other_subscriptions(connect, ch):
    sub = connect()
    sub.check("SSUBSCRIBE", ch + "s", replies=1)
    sub.check("SUBSCRIBE", ch + "c", replies=1)
    sub.check("SUNSUBSCRIBE", replies=1)
    sub.check("SUNSUBSCRIBE")
    sub.check("GET", "k")  # still subscribed to a channel: refused in RESP2
    sub.check("UNSUBSCRIBE", replies=1)
    sub.check("GET", "k")
    sub.collect()


# -- delivery -----------------------------------------------------------------------------------


def test_publish_reaches_channel_subscribers_in_their_protocols(connect, ch):
    pub = connect()
    resp2, resp3 = connect(2), connect(3)
    resp2.check("SUBSCRIBE", ch + "news", replies=1)
    resp3.check("SUBSCRIBE", ch + "news", ch + "other", replies=2)
    pub.check("PUBLISH", ch + "news", "hello")
    pub.check("PUBLISH", ch + "other", "")
    pub.check("PUBLISH", ch + "nobody", "x")
    pub.check("PUBLISH", ch + "news", b"bin\x00\r\nary")
    resp2.collect()
    resp3.collect()
    pub.collect()


def test_pattern_subscribers_get_pmessage(connect, ch):
    pub = connect()
    sub = connect()
    other = connect()
    sub.check("PSUBSCRIBE", ch + "news.*", replies=1)
    sub.check("SUBSCRIBE", ch + "news.tech", replies=1)
    other.check("PSUBSCRIBE", ch + "*", replies=1)
    pub.check("PUBLISH", ch + "news.tech", "one")  # 3 receivers: channel, then patterns
    pub.check("PUBLISH", ch + "news.art", "two")
    pub.check("PUBLISH", ch + "weather", "three")
    sub.collect()
    other.collect()


def test_glob_patterns_match_as_stringmatchlen(connect, ch):
    wait_no_patterns(connect())
    pub = connect()
    sub = connect()
    patterns = [
        "h?llo",
        "h*llo",
        "h[ae]llo",
        "h[^e]llo",
        "h[a-c]llo",
        "h[c-a]llo",
        "h\\*llo",
        "h[a-]llo",
        "*",
        "",
    ]
    sub.check("PSUBSCRIBE", *patterns, replies=len(patterns))
    channels = ["hello", "hallo", "hxllo", "h*llo", "hllo", "heeeello", "h-llo", "h]llo", "", ch]
    for channel in channels:
        pub.check("PUBLISH", channel, "m")  # the count: how many patterns match
    # Several patterns matching one channel arrive in Redis's dict order: compare sorted.
    ours, theirs = sub.collect_both()
    assert sorted(map(repr, parse(ours))) == sorted(map(repr, parse(theirs)))
    sub.check("PUBSUB", "NUMPAT")


def test_publisher_subscribed_to_its_channel_gets_the_message_first(connect, ch):
    client = connect()
    client.check("SUBSCRIBE", ch + "self", replies=1)
    client.check("PSUBSCRIBE", ch + "s*", replies=1)
    # RESP3: message, pmessage, then ":2"; RESP2: refused in the subscribed context.
    client.check("PUBLISH", ch + "self", "hi", replies=3 if client.protocol == 3 else 1)
    client.collect()


def test_spublish_reaches_shard_subscribers_only(connect, ch):
    pub = connect()
    sub = connect()
    watcher = connect()
    sub.check("SSUBSCRIBE", ch + "{s}1", ch + "{s}2", replies=2)
    watcher.check("PSUBSCRIBE", "*", replies=1)  # shard messages ignore patterns
    watcher.check("SUBSCRIBE", ch + "{s}1", replies=1)  # and plain channels of the same name
    pub.check("SPUBLISH", ch + "{s}1", "a")
    pub.check("SPUBLISH", ch + "{s}3", "b")
    pub.check("PUBLISH", ch + "{s}2", "c")  # a plain PUBLISH misses shard subscribers
    sub.collect()
    watcher.collect()


def test_resp3_subscriber_with_replies_off_still_gets_pushes(connect, ch):
    pub = connect()
    sub = connect(3)
    sub.send("CLIENT", "REPLY", "OFF")
    sub.check("SUBSCRIBE", ch + "x", replies=1)  # a push: sent despite REPLY OFF
    pub.check("PUBLISH", ch + "x", "1")
    sub.check("PUBLISH", ch + "x", "2", replies=1)  # its own message, no integer reply
    sub.collect(until=b"+RESET\r\n")


def test_resp2_subscriber_with_replies_off_gets_confirmations_and_messages(connect, ch):
    pub = connect()
    sub = connect(2)
    sub.send("CLIENT", "REPLY", "OFF")
    sub.check("SUBSCRIBE", ch + "x", ch + "y", replies=2)
    sub.send("PING")  # answered with nothing
    pub.check("PUBLISH", ch + "y", "1")
    sub.collect(until=b"+RESET\r\n")


# -- the subscribed context ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("GET", "k"),
        ("get", "k"),
        ("CLIENT", "GETNAME"),
        ("config", "get", "maxmemory"),
        ("MULTI",),
        ("PUBLISH", "pubsub-nobody", "m"),
        ("SPUBLISH", "pubsub-nobody", "m"),
        ("PUBSUB", "NUMSUB", "pubsub-nobody"),
        ("ECHO", "x"),
        ("PING",),
        ("PING", "hi"),
        ("PING", "a", "b"),  # arity comes first
        ("GET",),
        ("NOSUCH", "x"),
    ],
)
def test_resp2_subscriber_may_only_subscribe_ping_quit_reset(connect, ch, command):
    sub = connect()
    sub.check("SUBSCRIBE", ch + "c", replies=1)
    reply = sub.check(*command)
    if reply.startswith(b"+OK") and command == ("MULTI",):
        sub.check("DISCARD")
    sub.collect()


def test_resp2_subscriber_quit(connect, ch):
    sub = connect()
    sub.check("PSUBSCRIBE", ch + "*", replies=1)
    sub.send("QUIT")
    ours, theirs = sub.ours.read_available(0.2), sub.theirs.read_available(0.2)
    assert ours == theirs == b"+OK\r\n<EOF>"


def test_resp3_subscriber_switching_to_resp2_is_restricted(connect, ch):
    sub = connect(3)
    sub.check("SUBSCRIBE", ch + "c", replies=1)
    sub.check("SET", "k", "v")
    sub.check("PING")
    ours, theirs = sub.both("HELLO", "2")
    assert parse(ours)[0][5] == parse(theirs)[0][5] == 2
    sub.check("GET", "k")
    sub.check("PING")
    sub.check("HELLO", "3")  # refused: no way back to RESP3 while subscribed
    sub.check("UNSUBSCRIBE", replies=1)
    sub.check("GET", "k")
    sub.collect()


def test_reset_drops_every_subscription_silently(connect, ch):
    pub = connect()
    sub = connect()
    sub.check("SUBSCRIBE", ch + "a", replies=1)
    sub.check("PSUBSCRIBE", ch + "*", replies=1)
    sub.check("SSUBSCRIBE", ch + "s", replies=1)
    sub.check("RESET")
    sub.check("GET", "k")
    pub.check("PUBLISH", ch + "a", "m")
    pub.check("SPUBLISH", ch + "s", "m")
    pub.check("PUBSUB", "NUMSUB", ch + "a")
    pub.check("PUBSUB", "SHARDNUMSUB", ch + "s")
    sub.collect()


def test_disconnect_drops_subscriptions(connect, ch):
    pub = connect()
    sub = connect()
    sub.check("SUBSCRIBE", ch + "a", replies=1)
    sub.check("SSUBSCRIBE", ch + "s", replies=1)
    pub.check("PUBSUB", "NUMSUB", ch + "a")
    sub.ours.close()
    sub.theirs.close()
    gone = b"*2\r\n$%d\r\n%s\r\n:0\r\n" % (len(ch) + 1, (ch + "a").encode())
    wait_for(
        "the subscriptions to settle",
        lambda: pub.both("PUBSUB", "NUMSUB", ch + "a") == (gone, gone),
        3.0,
        step=0.01,
    )
    pub.check("PUBLISH", ch + "a", "m")
    pub.check("SPUBLISH", ch + "s", "m")
    pub.check("PUBSUB", "SHARDNUMSUB", ch + "s")


def test_client_list_shows_subscription_counts_and_p_flag(connect, ch):
    observer = connect()
    sub = connect()
    ours_id = sub.ours.call("CLIENT", "ID")[1:-2]
    theirs_id = sub.theirs.call("CLIENT", "ID")[1:-2]
    sub.check("SUBSCRIBE", ch + "a", ch + "b", replies=2)
    sub.check("PSUBSCRIBE", ch + "*", replies=1)
    sub.check("SSUBSCRIBE", ch + "s", replies=1)

    def fields(client: RawClient, client_id: bytes) -> dict[bytes, bytes]:
        line = parse(client.call("CLIENT", "LIST", "ID", client_id))[0]
        line = line.removeprefix(b"txt:").strip()
        pairs = dict(field.split(b"=", 1) for field in line.split(b" "))
        return {k: pairs[k] for k in (b"flags", b"sub", b"psub", b"ssub", b"cmd")}

    ours, theirs = fields(observer.ours, ours_id), fields(observer.theirs, theirs_id)
    assert ours == theirs
    assert ours[b"flags"] == b"P"
    sub.check("UNSUBSCRIBE", ch + "a", ch + "b", replies=2)  # named: a hash order otherwise
    sub.check("PUNSUBSCRIBE", replies=1)
    sub.check("SUNSUBSCRIBE", replies=1)
    assert fields(observer.ours, ours_id) == fields(observer.theirs, theirs_id)


# -- transactions -------------------------------------------------------------------------------


def test_subscribe_inside_multi_lands_in_the_exec_reply(connect, ch):
    client = connect()
    client.check("MULTI")
    client.check("SUBSCRIBE", ch + "a", ch + "b")
    client.check("PUBLISH", ch + "a", "m")
    client.check("PSUBSCRIBE", ch + "*")
    client.check("SSUBSCRIBE", ch + "s")  # refused at EXEC: a DENY BLOCKING client
    client.check("SUNSUBSCRIBE", ch + "s")
    client.check("GET", "k")
    client.check("PING")  # subscribed by then: a RESP2 subscriber's pong
    client.send("EXEC")
    client.collect()  # EXEC's array holds more replies than its header says, as in Redis
    client.check("GET", "k")
    client.collect()


# -- PUBSUB -------------------------------------------------------------------------------------


def test_pubsub_channels_and_numsub(connect, ch):
    query = connect()
    subs = [connect(), connect()]
    subs[0].check("SUBSCRIBE", ch + "news.tech", ch + "news.art", ch + "x", replies=3)
    subs[1].check("SUBSCRIBE", ch + "news.tech", ch + "", replies=2)
    subs[1].check("PSUBSCRIBE", ch + "news.*", replies=1)  # patterns are not channels
    subs[0].check("SSUBSCRIBE", ch + "s1", ch + "s2", replies=2)
    subs[1].check("SSUBSCRIBE", ch + "s1", replies=1)
    for pattern in (ch + "*", ch + "news.*", ch + "news.t*", ch, ch + "nomatch*", ch + "[nx]*"):
        ours, theirs = query.both("PUBSUB", "CHANNELS", pattern)
        assert sorted(parse(ours)[0]) == sorted(parse(theirs)[0]), pattern
        ours, theirs = query.both("PUBSUB", "SHARDCHANNELS", pattern)
        assert sorted(parse(ours)[0]) == sorted(parse(theirs)[0]), pattern
    query.check("PUBSUB", "NUMSUB")
    query.check("PUBSUB", "NUMSUB", ch + "news.tech", ch + "x", ch + "news.*", ch, ch + "x")
    query.check("PUBSUB", "SHARDNUMSUB")
    query.check("PUBSUB", "SHARDNUMSUB", ch + "s1", ch + "s2", ch + "news.tech")
    ours, theirs = query.both("PUBSUB", "CHANNELS")  # everything, other tests' too: ours only
    assert {c for c in parse(ours)[0] if c.startswith(ch.encode())} == {
        c for c in parse(theirs)[0] if c.startswith(ch.encode())
    }


def test_pubsub_numpat_counts_distinct_patterns(connect, ch):
    query = connect()
    wait_no_patterns(query)
    a, b = connect(), connect()
    a.check("PSUBSCRIBE", ch + "x*", ch + "y*", ch + "x*", replies=3)
    b.check("PSUBSCRIBE", ch + "x*", ch + "z", replies=2)
    query.check("PUBSUB", "NUMPAT")
    b.check("PUNSUBSCRIBE", ch + "x*", replies=1)
    query.check("PUBSUB", "NUMPAT")
    a.check("PUNSUBSCRIBE", replies=2)
    query.check("PUBSUB", "NUMPAT")


@pytest.mark.parametrize(
    "args",
    [
        ("PUBSUB",),
        ("PUBSUB", "HELP"),
        ("PUBSUB", "help", "x"),
        ("PUBSUB", "NOSUCH"),
        ("PUBSUB", "CHANNELS", "a", "b"),
        ("PUBSUB", "SHARDCHANNELS", "a", "b"),
        ("PUBSUB", "NUMPAT", "x"),
        ("PUBSUB", "CHANNELS", "no-such-channel-*"),
        ("PUBSUB", "SHARDCHANNELS", "no-such-channel-*"),
        ("PUBLISH", "c"),
        ("PUBLISH", "c", "m", "x"),
        ("SPUBLISH", "c"),
        ("SUBSCRIBE",),
        ("PSUBSCRIBE",),
        ("SSUBSCRIBE",),
    ],
)
def test_pubsub_errors_and_help(diff, args):
    diff.check(*args)


def test_info_counts_channels_patterns_and_shard_channels(connect, ch):
    query = connect()
    wait_no_patterns(query)

    def counts(raw: bytes) -> dict[bytes, bytes]:
        text = parse(raw)[0]
        lines = [line.split(b":", 1) for line in text.split(b"\r\n") if line.startswith(b"pubsub")]
        return dict(lines)

    a, b = connect(), connect()
    before = [counts(r) for r in query.both("INFO", "stats")]
    a.check("SUBSCRIBE", ch + "1", ch + "2", replies=2)
    b.check("SUBSCRIBE", ch + "2", ch + "3", replies=2)
    a.check("PSUBSCRIBE", ch + "*", replies=1)
    b.check("PSUBSCRIBE", ch + "*", replies=1)
    b.check("SSUBSCRIBE", ch + "s", replies=1)
    after = [counts(r) for r in query.both("INFO", "stats")]
    deltas = [{k: int(after[i][k]) - int(before[i][k]) for k in after[i]} for i in (0, 1)]
    assert (
        deltas[0]
        == deltas[1]
        == {
            b"pubsub_channels": 3,
            b"pubsub_patterns": 1,
            b"pubsubshard_channels": 1,
        }
    )


def test_raw_pipeline_of_subscribe_and_publish(diff, ch):
    channel = (ch + "pipe").encode()
    data = (
        encode_command("SUBSCRIBE", channel, channel)
        + encode_command("PING")
        + encode_command("UNSUBSCRIBE", channel)
        + encode_command("PUBLISH", channel, "m")
        + encode_command("UNSUBSCRIBE")
        + encode_command("PUNSUBSCRIBE", "p")
    )
    if diff.protocol == 3:
        data = encode_command("HELLO", "3") + data
        ours, theirs = RawClient(diff.ours_port), RawClient(diff.theirs_port)
        try:
            ours.send(data)
            theirs.send(data)
            got_ours = _read_until_quiet_after_hello(ours)
            got_theirs = _read_until_quiet_after_hello(theirs)
        finally:
            ours.close()
            theirs.close()
        assert got_ours == got_theirs
    else:
        diff.check_raw(data, quiet=0.2)


def _read_until_quiet_after_hello(client: RawClient) -> bytes:
    client.read_reply()  # HELLO's map differs (client id)
    return client.read_available(0.2)


# -- redis-py -----------------------------------------------------------------------------------


def _redis_py_session(port: int, protocol: int, prefix: str) -> list:
    """What an application sees through redis-py's PubSub: confirmations, messages, PING,
    the PUBSUB introspection helpers and sharded channels."""
    client = redis.Redis(port=port, protocol=protocol, socket_timeout=5)
    pubsub = client.pubsub()
    seen: list = []

    def next_message(sharded: bool = False) -> object:
        get = pubsub.get_sharded_message if sharded else pubsub.get_message
        return get(timeout=2)

    try:
        pubsub.subscribe(prefix + "news", prefix + "sport")
        seen += [next_message(), next_message()]
        pubsub.psubscribe(prefix + "n*")
        seen.append(next_message())
        seen.append(client.publish(prefix + "news", "hello"))
        seen += [next_message(), next_message()]  # the channel's message, then the pattern's
        seen.append(client.publish(prefix + "sport", b"\x00bin"))
        seen.append(next_message())
        seen.append(client.pubsub_numsub(prefix + "news", prefix + "none"))
        seen.append(sorted(client.pubsub_channels(prefix + "*")))
        pubsub.ping("hi")
        seen.append(next_message())
        pubsub.unsubscribe(prefix + "news")
        seen.append(next_message())
        pubsub.punsubscribe()
        seen.append(next_message())
        pubsub.ssubscribe(prefix + "{s}")
        seen.append(next_message(sharded=True))
        seen.append(client.spublish(prefix + "{s}", "shard"))
        seen.append(next_message(sharded=True))
        seen.append(client.pubsub_shardnumsub(prefix + "{s}"))
        pubsub.sunsubscribe()
        seen.append(next_message(sharded=True))
        pubsub.unsubscribe()
        seen.append(next_message())
        seen.append(client.publish(prefix + "sport", "gone"))
    finally:
        pubsub.close()
        client.close()
    return seen


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_redis_py_pubsub_sees_the_same_as_on_redis(rcsim_node, redis_node, protocol):
    prefix = f"redis-py-{protocol}:"
    ours = _redis_py_session(rcsim_node.port, protocol, prefix)
    theirs = _redis_py_session(redis_node.port, protocol, prefix)
    assert ours == theirs
    news = (prefix + "news").encode()
    assert {"type": "message", "pattern": None, "channel": news, "data": b"hello"} in ours
    assert {"type": "pmessage", "pattern": (prefix + "n*").encode(), "channel": news,
            "data": b"hello"} in ours  # fmt: skip
    assert ours[-1] == 0


def test_redis_py_pubsub_handlers_and_listen(rcsim_node):
    """Callbacks registered with subscribe() run from get_message(), as applications use them."""
    client = redis.Redis(port=rcsim_node.port, socket_timeout=5)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    got: list = []
    try:
        pubsub.subscribe(**{"redis-py-handler": got.append})
        assert pubsub.get_message(timeout=2) is None  # the confirmation, ignored
        assert client.publish("redis-py-handler", "payload") == 1
        deadline = time.monotonic() + 3
        while not got and time.monotonic() < deadline:
            pubsub.get_message(timeout=0.1)
        assert got == [
            {"type": "message", "pattern": None, "channel": b"redis-py-handler", "data": b"payload"}
        ]
        assert pubsub.subscribed
        pubsub.unsubscribe()
        pubsub.get_message(timeout=2)
        assert not pubsub.subscribed
    finally:
        pubsub.close()
        client.close()
