"""Bus framing: messages to bytes and back, validating everything that comes off the wire.

A frame is ``b"RCmb"`` (magic), one protocol-version byte, a 4-byte big-endian body length and a
msgpack body: ``[type, header, *body]``. ``FrameDecoder.feed`` is incremental (any split of the
stream decodes the same) and raises one exception type, ``BusProtocolError``, for every way a
peer can be wrong: bad magic or version, a frame over ``BUS_FRAME_MAX_BYTES``, a body msgpack
cannot decode, or a field of the wrong type or range. The driver closes that link and counts
it; nothing a peer sends can raise anything else or reach the state machine half-checked.
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from collections.abc import Callable, Sequence
from typing import Any

import msgpack

from gossip.messages import (
    ALL_MESSAGE_FLAGS,
    ALL_NODE_FLAGS,
    MESSAGE_CLASSES,
    Fail,
    FailoverAuthAck,
    FailoverAuthRequest,
    GossipEntry,
    Header,
    Meet,
    Message,
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
    is_node_id,
)
from gossip.slots import SLOT_BITMAP_BYTES

MAGIC = b"RCmb"
PROTOCOL_VERSION = 1
BUS_FRAME_MAX_BYTES = 1024 * 1024
FRAME_HEADER = struct.Struct(">4sBI")

UINT64_MAX = 2**64 - 1
INT64_MAX = 2**63 - 1
NET_IP_STR_LEN = 46  # INET6_ADDRSTRLEN, Redis's bound on an address string
HOSTNAME_MAX_LEN = 255
MAX_GOSSIP_ENTRIES = 4096
_HOSTNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")


class BusProtocolError(Exception):
    """A peer sent something that is not a valid frame. ``messages`` holds the valid messages
    that preceded the bad frame in the same ``feed`` call (the driver may still apply them)."""

    def __init__(self, reason: str, messages: tuple[Message, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.messages = messages


# ---------------------------------------------------------------------------------- encode


def _header_fields(h: Header) -> list[Any]:
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


def _body_fields(message: Message) -> list[Any]:
    if isinstance(message, Ping | Pong | Meet):
        return [
            [
                [g.node_id, g.ping_sent_ms, g.pong_received_ms, g.ip, g.port, g.cport, int(g.flags)]
                for g in message.gossip
            ]
        ]
    if isinstance(message, Fail):
        return [message.node_id]
    if isinstance(message, Publish | PublishShard):
        return [message.channel, message.message]
    if isinstance(message, Update):
        return [message.config_epoch, message.node_id, message.slots]
    if isinstance(message, Module):
        return [message.module_id, message.module_type, message.payload]
    return []


def encode(message: Message) -> bytes:
    """One complete frame for ``message``."""
    body: bytes = msgpack.packb(
        [int(message.TYPE), _header_fields(message.header), *_body_fields(message)],
        use_bin_type=True,
    )
    if len(body) > BUS_FRAME_MAX_BYTES:
        raise ValueError(f"bus message of {len(body)} bytes exceeds BUS_FRAME_MAX_BYTES")
    return FRAME_HEADER.pack(MAGIC, PROTOCOL_VERSION, len(body)) + body


# ---------------------------------------------------------------------------------- decode


def _fail(what: str) -> BusProtocolError:
    return BusProtocolError(f"invalid {what}")


def _uint(value: object, what: str, maximum: int = UINT64_MAX) -> int:
    if type(value) is not int or not 0 <= value <= maximum:
        raise _fail(what)
    return value


def _node_id(value: object, what: str) -> str:
    if not is_node_id(value):
        raise _fail(what)
    return value  # type: ignore[return-value]


def _bitmap(value: object, what: str) -> bytes:
    if type(value) is not bytes or len(value) != SLOT_BITMAP_BYTES:
        raise _fail(what)
    return value


def _bin(value: object, what: str) -> bytes:
    if type(value) is not bytes:
        raise _fail(what)
    return value


def _ip(value: object, what: str) -> str:
    if type(value) is not str or len(value) > NET_IP_STR_LEN:
        raise _fail(what)
    if value and not _valid_ip(value):
        raise _fail(what)
    return value


@functools.lru_cache(maxsize=1024)
def _valid_ip(text: str) -> bool:
    """Every PING/PONG names the sender's IP and each gossiped node's: the same few addresses
    over and over, so the ``ipaddress`` parse (the costliest check of a decode) is cached."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _hostname(value: object) -> str:
    if type(value) is not str or len(value) > HOSTNAME_MAX_LEN:
        raise _fail("hostname")
    if not _HOSTNAME_CHARS.issuperset(value):
        raise _fail("hostname")
    return value


def _node_flags(value: object, what: str) -> NodeFlag:
    if type(value) is not int or value < 0 or value & ~int(ALL_NODE_FLAGS):
        raise _fail(what)
    return _NODE_FLAGS[value]


# Every NodeFlag value (10 bits), built once: ``NodeFlag(value)`` goes through enum machinery
# for the header and for each gossip entry of every message.
_NODE_FLAGS = [NodeFlag(value) for value in range(int(ALL_NODE_FLAGS) + 1)]


def _list(value: object, length: int, what: str) -> list[Any]:
    if type(value) is not list or len(value) != length:
        raise _fail(what)
    return value


def _decode_header(value: object) -> Header:
    f = _list(value, 13, "header")
    master_id = None if f[5] is None else _node_id(f[5], "master id")
    if type(f[11]) is not bool:
        raise _fail("cluster state")
    mflags = _uint(f[12], "message flags", int(ALL_MESSAGE_FLAGS))
    return Header(
        sender=_node_id(f[0], "sender id"),
        current_epoch=_uint(f[1], "current epoch"),
        config_epoch=_uint(f[2], "config epoch"),
        flags=_node_flags(f[3], "node flags"),
        slots=_bitmap(f[4], "slot bitmap"),
        master_id=master_id,
        repl_offset=_uint(f[6], "replication offset", INT64_MAX),
        ip=_ip(f[7], "ip"),
        port=_uint(f[8], "port", 65535),
        cport=_uint(f[9], "bus port", 65535),
        hostname=_hostname(f[10]),
        cluster_ok=f[11],
        mflags=MessageFlag(mflags),
    )


def _decode_gossip(value: object) -> tuple[GossipEntry, ...]:
    if type(value) is not list or len(value) > MAX_GOSSIP_ENTRIES:
        raise _fail("gossip section")
    entries = []
    for item in value:
        g = _list(item, 7, "gossip entry")
        entries.append(
            GossipEntry(
                node_id=_node_id(g[0], "gossip node id"),
                ping_sent_ms=_uint(g[1], "gossip ping time", INT64_MAX),
                pong_received_ms=_uint(g[2], "gossip pong time", INT64_MAX),
                ip=_ip(g[3], "gossip ip"),
                port=_uint(g[4], "gossip port", 65535),
                cport=_uint(g[5], "gossip bus port", 65535),
                flags=_node_flags(g[6], "gossip flags"),
            )
        )
    return tuple(entries)


# type -> (number of body fields, builder from (header, fields))
_BodyBuilder = Callable[[Header, Sequence[Any]], Message]
_BODY_DECODERS: dict[MessageType, tuple[int, _BodyBuilder]] = {
    MessageType.PING: (1, lambda h, b: Ping(h, _decode_gossip(b[0]))),
    MessageType.PONG: (1, lambda h, b: Pong(h, _decode_gossip(b[0]))),
    MessageType.MEET: (1, lambda h, b: Meet(h, _decode_gossip(b[0]))),
    MessageType.FAIL: (1, lambda h, b: Fail(h, _node_id(b[0], "failing node id"))),
    MessageType.PUBLISH: (
        2,
        lambda h, b: Publish(h, _bin(b[0], "channel"), _bin(b[1], "message")),
    ),
    MessageType.PUBLISHSHARD: (
        2,
        lambda h, b: PublishShard(h, _bin(b[0], "channel"), _bin(b[1], "message")),
    ),
    MessageType.FAILOVER_AUTH_REQUEST: (0, lambda h, b: FailoverAuthRequest(h)),
    MessageType.FAILOVER_AUTH_ACK: (0, lambda h, b: FailoverAuthAck(h)),
    MessageType.UPDATE: (
        3,
        lambda h, b: Update(
            h,
            _uint(b[0], "update config epoch"),
            _node_id(b[1], "update node id"),
            _bitmap(b[2], "update slot bitmap"),
        ),
    ),
    MessageType.MFSTART: (0, lambda h, b: MfStart(h)),
    MessageType.MODULE: (
        3,
        lambda h, b: Module(
            h, _uint(b[0], "module id"), _uint(b[1], "module type", 255), _bin(b[2], "payload")
        ),
    ),
}
assert set(_BODY_DECODERS) == set(MESSAGE_CLASSES)


def decode_body(body: bytes) -> Message:
    """The message in one frame body; raises BusProtocolError on anything malformed."""
    try:
        fields = msgpack.unpackb(body, raw=False, use_list=True, strict_map_key=True)
    except Exception as exc:  # msgpack raises many types; all mean "not our format"
        raise BusProtocolError(f"undecodable body ({type(exc).__name__})")
    if type(fields) is not list or len(fields) < 2 or type(fields[0]) is not int:
        raise _fail("message envelope")
    try:
        mtype = MessageType(fields[0])
    except ValueError:
        raise _fail("message type")
    count, build = _BODY_DECODERS[mtype]
    if len(fields) != 2 + count:
        raise _fail("message body")
    return build(_decode_header(fields[1]), fields[2:])


class FrameDecoder:
    """Incremental decoder for one link's byte stream.

    After it raises, the decoder stays failed: the stream has lost framing and the link must go.
    """

    def __init__(self, max_frame_bytes: int = BUS_FRAME_MAX_BYTES) -> None:
        self._buffer = bytearray()
        self._max = max_frame_bytes
        self._failed: str | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> list[Message]:
        if self._failed is not None:
            raise BusProtocolError(self._failed)
        self._buffer += data
        messages: list[Message] = []
        try:
            while (message := self._next()) is not None:
                messages.append(message)
        except BusProtocolError as exc:
            self._failed = exc.reason
            self._buffer.clear()
            raise BusProtocolError(exc.reason, tuple(messages))
        return messages

    def _next(self) -> Message | None:
        buf = self._buffer
        if len(buf) < FRAME_HEADER.size:
            if not MAGIC.startswith(bytes(buf[: len(MAGIC)])):
                raise BusProtocolError("bad magic")
            return None
        magic, version, length = FRAME_HEADER.unpack_from(buf)
        if magic != MAGIC:
            raise BusProtocolError("bad magic")
        if version != PROTOCOL_VERSION:
            raise BusProtocolError(f"unsupported protocol version {version}")
        if length > self._max:
            raise BusProtocolError(f"frame of {length} bytes exceeds the limit")
        end = FRAME_HEADER.size + length
        if len(buf) < end:
            return None
        body = bytes(buf[FRAME_HEADER.size : end])
        del buf[:end]
        return decode_body(body)
