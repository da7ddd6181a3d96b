"""Bus framing: round trips, any fragmentation, and garbage that never raises anything but
BusProtocolError."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gossip.messages import (
    MESSAGE_CLASSES,
    Fail,
    FailoverAuthAck,
    FailoverAuthRequest,
    GossipEntry,
    Header,
    Meet,
    MessageFlag,
    MessageType,
    MfStart,
    Module,
    NodeFlag,
    Ping,
    Pong,
    Publish,
    PublishShard,
    Update,
)
from gossip.slots import EMPTY_SLOT_BITMAP, slots_to_bitmap
from gossip.wire import (
    BUS_FRAME_MAX_BYTES,
    FRAME_HEADER,
    MAGIC,
    PROTOCOL_VERSION,
    BusProtocolError,
    FrameDecoder,
    decode_body,
    encode,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

node_ids = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
u64 = st.integers(0, 2**64 - 1)
times = st.integers(0, 2**63 - 1)
ports = st.integers(0, 65535)
ips = st.sampled_from(["", "127.0.0.1", "10.1.2.3", "::1", "fe80::1"])
flags = st.integers(0, 1023).map(NodeFlag)
bitmaps = st.sets(st.integers(0, 16383), max_size=40).map(slots_to_bitmap)
hostnames = st.text(alphabet="abcxyz0189-._", max_size=20)

headers = st.builds(
    Header,
    sender=node_ids,
    current_epoch=u64,
    config_epoch=u64,
    flags=flags,
    slots=bitmaps,
    master_id=st.none() | node_ids,
    repl_offset=times,
    ip=ips,
    port=ports,
    cport=ports,
    hostname=hostnames,
    cluster_ok=st.booleans(),
    mflags=st.integers(0, 3).map(MessageFlag),
)
gossip = st.lists(
    st.builds(GossipEntry, node_ids, times, times, ips, ports, ports, flags), max_size=5
).map(tuple)
messages = st.one_of(
    st.builds(Ping, headers, gossip),
    st.builds(Pong, headers, gossip),
    st.builds(Meet, headers, gossip),
    st.builds(Fail, headers, node_ids),
    st.builds(Publish, headers, st.binary(max_size=30), st.binary(max_size=30)),
    st.builds(PublishShard, headers, st.binary(max_size=30), st.binary(max_size=30)),
    st.builds(FailoverAuthRequest, headers),
    st.builds(FailoverAuthAck, headers),
    st.builds(Update, headers, u64, node_ids, bitmaps),
    st.builds(MfStart, headers),
    st.builds(Module, headers, u64, st.integers(0, 255), st.binary(max_size=30)),
)


def a_header(**changes: object) -> Header:
    fields = dict(
        sender="a" * 40,
        current_epoch=3,
        config_epoch=2,
        flags=NodeFlag.MASTER,
        slots=EMPTY_SLOT_BITMAP,
        master_id=None,
        repl_offset=0,
        ip="",
        port=7000,
        cport=17000,
        hostname="",
        cluster_ok=True,
    )
    fields.update(changes)
    return Header(**fields)  # type: ignore[arg-type]


def frame(body: bytes, version: int = PROTOCOL_VERSION) -> bytes:
    return FRAME_HEADER.pack(MAGIC, version, len(body)) + body


def test_every_message_type_has_a_class() -> None:
    assert sorted(MESSAGE_CLASSES) == list(MessageType)
    assert [int(t) for t in MessageType] == list(range(11))


@SETTINGS
@given(messages)
def test_round_trip(message: object) -> None:
    assert FrameDecoder().feed(encode(message)) == [message]  # type: ignore[arg-type]


@SETTINGS
@given(st.lists(messages, min_size=1, max_size=4), st.lists(st.integers(0, 10_000), max_size=8))
def test_any_fragmentation_decodes_the_same(msgs: list, cuts: list[int]) -> None:
    stream = b"".join(encode(m) for m in msgs)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    decoder = FrameDecoder()
    out = []
    for a, b in zip([0, *points], [*points, len(stream)], strict=True):
        out.extend(decoder.feed(stream[a:b]))
    assert out == msgs


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_bus_protocol_error(data: bytes) -> None:
    try:
        FrameDecoder().feed(data)
    except BusProtocolError:
        pass


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bodies_in_valid_frames_only_raise_bus_protocol_error(body: bytes) -> None:
    try:
        FrameDecoder().feed(frame(body))
    except BusProtocolError:
        pass


msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=50)
    | st.binary(max_size=50),
    lambda children: (
        st.lists(children, max_size=14) | st.dictionaries(st.text(max_size=5), children)
    ),
    max_leaves=40,
)


@SETTINGS
@given(st.integers(0, 12), msgpack_values, st.lists(msgpack_values, max_size=3))
def test_well_formed_msgpack_with_wrong_fields_is_rejected_cleanly(
    mtype: int, header: object, body: list
) -> None:
    packed = msgpack.packb([mtype, header, *body], use_bin_type=True)
    try:
        FrameDecoder().feed(frame(packed))
    except BusProtocolError:
        pass


@SETTINGS
@given(messages, st.integers(0, 10_000), st.integers(1, 255))
def test_corrupted_frames_decode_or_raise_bus_protocol_error(message, where, xor) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(encode(message))
    data[where % len(data)] ^= xor
    try:
        FrameDecoder().feed(bytes(data))
    except BusProtocolError:
        pass


def test_bad_magic_is_detected_from_the_first_byte() -> None:
    with pytest.raises(BusProtocolError, match="magic"):
        FrameDecoder().feed(b"*1\r\n")  # someone speaking RESP to the bus port
    assert FrameDecoder().feed(b"RC") == []


def test_unknown_protocol_version() -> None:
    with pytest.raises(BusProtocolError, match="version"):
        FrameDecoder().feed(frame(b"\x90", version=PROTOCOL_VERSION + 1))


def test_oversize_frame_is_refused_before_its_body_arrives() -> None:
    header = FRAME_HEADER.pack(MAGIC, PROTOCOL_VERSION, BUS_FRAME_MAX_BYTES + 1)
    with pytest.raises(BusProtocolError, match="exceeds"):
        FrameDecoder().feed(header)


def test_decoder_stays_failed_and_keeps_messages_decoded_before_the_error() -> None:
    good = encode(Fail(a_header(), "b" * 40))
    decoder = FrameDecoder()
    with pytest.raises(BusProtocolError) as info:
        decoder.feed(good + b"garbage!!")
    assert info.value.messages == (Fail(a_header(), "b" * 40),)
    with pytest.raises(BusProtocolError):
        decoder.feed(good)


@pytest.mark.parametrize(
    "header",
    [
        a_header(sender="A" * 40),  # ids are lowercase hex
        a_header(sender="a" * 39),
        a_header(master_id="x" * 40),
        a_header(slots=b"\x00" * 2047),
        a_header(port=65536),
        a_header(ip="not-an-ip"),
        a_header(hostname="has space"),
        a_header(flags=1024),
        a_header(mflags=4),
        a_header(cluster_ok=1),
        a_header(current_epoch=-1),
        a_header(config_epoch=1.5),
        a_header(repl_offset=True),
    ],
)
def test_invalid_header_fields_are_rejected(header: Header) -> None:
    fields = _fields(header)
    body = msgpack.packb([int(MessageType.MFSTART), fields], use_bin_type=True)
    with pytest.raises(BusProtocolError):
        decode_body(body)


def test_body_arity_and_types_are_checked() -> None:
    ok = msgpack.packb([3, _fields(a_header()), "b" * 40], use_bin_type=True)
    assert isinstance(decode_body(ok), Fail)
    for bad in (
        [3, _fields(a_header())],  # FAIL without its node id
        [3, _fields(a_header()), "b" * 40, "extra"],
        [4, _fields(a_header()), "chan", b"msg"],  # channel must be bytes
        [7, _fields(a_header()), 1, "b" * 40, b"\x00" * 10],  # short UPDATE bitmap
        [11, _fields(a_header())],  # no such type
    ):
        with pytest.raises(BusProtocolError):
            decode_body(msgpack.packb(bad, use_bin_type=True))


def _fields(h: Header) -> list[object]:
    return [
        h.sender,
        h.current_epoch,
        h.config_epoch,
        int(h.flags),
        h.slots,
        h.master_id,
        h.repl_offset,
        h.ip,
        h.port,
        h.cport,
        h.hostname,
        h.cluster_ok,
        int(h.mflags),
    ]
