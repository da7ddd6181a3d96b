"""The request parser and reply encoder, without sockets.

The parser has a hiredis fast path and a Python slow path; these tests pin that both give the
same requests however a stream is cut into reads, and that garbage only ever raises the
protocol errors Redis answers with.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.protocol.resp import (
    NULL_ARRAY,
    Bool,
    Double,
    Map,
    ProtocolError,
    Push,
    QueryBufferLimitExceeded,
    RequestParser,
    SetReply,
    SimpleString,
    Verbatim,
    encode,
    parse_long_long,
    split_inline_args,
)


def multibulk(args: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def parse_in_pieces(stream: bytes, cuts: list[int]) -> list[list[bytes]]:
    parser = RequestParser()
    requests: list[list[bytes]] = []
    start = 0
    for cut in sorted(set(cuts)) + [len(stream)]:
        if cut > start:
            requests.extend(parser.feed(stream[start:cut]))
            start = cut
    assert parser.pending_bytes == 0
    return requests


commands = st.lists(
    st.lists(st.binary(max_size=40), min_size=1, max_size=6), min_size=1, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(commands, st.lists(st.integers(min_value=0, max_value=2000), max_size=20))
def test_any_fragmentation_of_a_valid_stream_gives_the_same_requests(requests, cuts):
    stream = b"".join(multibulk(r) for r in requests)
    assert parse_in_pieces(stream, [c % (len(stream) + 1) for c in cuts]) == requests


@settings(max_examples=300, deadline=None)
@given(commands)
def test_fast_and_slow_paths_agree(requests):
    stream = b"".join(multibulk(r) for r in requests)
    fast = RequestParser().feed(stream)
    slow_parser = RequestParser()
    slow_parser.auth_pending = False
    slow = slow_parser._slow(stream)  # the Python path alone
    assert fast == slow == requests


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8))
def test_garbage_only_raises_protocol_errors(chunks):
    parser = RequestParser()
    for chunk in chunks:
        try:
            for request in parser.feed(chunk):
                assert request and all(type(a) is bytes for a in request)
        except ProtocolError as error:
            assert error.reply.startswith(b"-ERR Protocol error: ")
            return


def test_inline_and_multibulk_mix_in_one_read():
    assert RequestParser().feed(b"PING\r\n*1\r\n$4\r\nPING\r\nECHO x\n") == [
        [b"PING"],
        [b"PING"],
        [b"ECHO", b"x"],
    ]


def test_requests_before_a_protocol_error_are_kept():
    with pytest.raises(ProtocolError) as caught:
        RequestParser().feed(b"*1\r\n$4\r\nPING\r\n*1\r\n:5\r\n")
    assert caught.value.requests == [[b"PING"]]
    assert caught.value.reply == b"-ERR Protocol error: expected '$', got ':'\r\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"*2147483648\r\n", "invalid multibulk length"),
        (b"*-\r\n", "invalid multibulk length"),
        (b"*01\r\n", "invalid multibulk length"),
        (b"*1\r\n$536870913\r\n", "invalid bulk length"),
        (b"*1\r\n$-1\r\n", "invalid bulk length"),
        (b"x" * 65537, "too big inline request"),
        (b"*" + b"1" * 65537, "too big mbulk count string"),
        (b"*1\r\n$" + b"1" * 65537, "too big bulk count string"),
        (b"SET 'a'b c\r\n", "unbalanced quotes in request"),
        (b'SET "a\r\n', "unbalanced quotes in request"),
    ],
)
def test_limits_and_errors_match_redis(data, message):
    with pytest.raises(ProtocolError) as caught:
        RequestParser().feed(data)
    assert caught.value.message == message


def test_a_huge_declared_count_does_not_allocate_or_block():
    parser = RequestParser()
    assert parser.feed(b"*1000000000\r\n") == []
    assert parser.feed(b"$3\r\nfoo\r\n") == []


def test_unauthenticated_clients_get_small_limits():
    parser = RequestParser()
    parser.auth_pending = True
    with pytest.raises(ProtocolError, match="unauthenticated multibulk length"):
        parser.feed(b"*11\r\n")
    parser = RequestParser()
    parser.auth_pending = True
    with pytest.raises(ProtocolError, match="unauthenticated bulk length"):
        parser.feed(b"*1\r\n$16385\r\n")


def test_query_buffer_limit_closes_silently():
    parser = RequestParser(max_query_buffer=1024 * 1024)
    parser.feed(b"*1\r\n$500000000\r\n")
    with pytest.raises(QueryBufferLimitExceeded):
        for _ in range(20):
            parser.feed(b"x" * 65536)


def test_crlf_after_a_bulk_is_skipped_unchecked_like_redis():
    assert RequestParser().feed(b"*1\r\n$4\r\nPINGxxPING\r\n") == [[b"PING"], [b"PING"]]


def test_empty_and_null_multibulk_are_no_command():
    assert RequestParser().feed(b"*0\r\n*-1\r\n\r\n*1\r\n$4\r\nPING\r\n") == [[b"PING"]]


@pytest.mark.parametrize(
    ("line", "args"),
    [
        (b'set a "b c"', [b"set", b"a", b"b c"]),
        (b'echo "\\x41\\n\\t"', [b"echo", b"A\n\t"]),
        (b"echo 'it\\'s'", [b"echo", b"it's"]),
        (b"  a   b  ", [b"a", b"b"]),
        (b"", []),
        (b'a "b"c', None),
        (b"a 'b", None),
    ],
)
def test_inline_splitting_follows_sdssplitargs(line, args):
    assert split_inline_args(line) == args


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"0", 0),
        (b"-1", -1),
        (b"123", 123),
        (b"01", None),
        (b"+1", None),
        (b"", None),
        (b"-", None),
        (b"9223372036854775807", 2**63 - 1),
        (b"9223372036854775808", None),
        (b"-9223372036854775808", -(2**63)),
        (b" 1", None),
        (b"-0", None),
    ],
)
def test_parse_long_long_is_redis_string2ll(raw, value):
    assert parse_long_long(raw) == value


@pytest.mark.parametrize(
    ("value", "resp2", "resp3"),
    [
        (b"abc", b"$3\r\nabc\r\n", b"$3\r\nabc\r\n"),
        (None, b"$-1\r\n", b"_\r\n"),
        (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
        (42, b":42\r\n", b":42\r\n"),
        (SimpleString(b"OK"), b"+OK\r\n", b"+OK\r\n"),
        ([b"a", 1], b"*2\r\n$1\r\na\r\n:1\r\n", b"*2\r\n$1\r\na\r\n:1\r\n"),
        (Map([(b"k", 1)]), b"*2\r\n$1\r\nk\r\n:1\r\n", b"%1\r\n$1\r\nk\r\n:1\r\n"),
        (SetReply([b"x"]), b"*1\r\n$1\r\nx\r\n", b"~1\r\n$1\r\nx\r\n"),
        (Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n"),
        (Double(float("inf")), b"$3\r\ninf\r\n", b",inf\r\n"),
        (Verbatim(b"hi"), b"$2\r\nhi\r\n", b"=6\r\ntxt:hi\r\n"),
        (Push([b"message"]), b"*1\r\n$7\r\nmessage\r\n", b">1\r\n$7\r\nmessage\r\n"),
        (Bool(True), b":1\r\n", b"#t\r\n"),
    ],
)
def test_encoding_in_resp2_and_resp3(value, resp2, resp3):
    assert encode(value, False) == resp2
    assert encode(value, True) == resp3
