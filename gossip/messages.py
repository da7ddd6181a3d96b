"""Cluster bus messages: Redis's ``clusterMsg`` as frozen dataclasses (the encoding is ours).

Every message carries a ``Header`` describing its sender (Redis's clusterMsg header fields);
PING, PONG and MEET add gossip entries about other nodes (``clusterMsgDataGossip``); FAIL,
UPDATE, PUBLISH and PUBLISHSHARD add a body. ``gossip.wire`` turns these into frames and back,
validating every field, so code that receives a message may trust its types and ranges.

Node ids are 40 lowercase hex characters; times are unix milliseconds; ``master_id`` is
``None`` for a master (Redis sends 40 NUL bytes); ``ip`` is ``""`` when the sender does not
announce one (the receiver then uses the link's peer address, as Redis's nodeIp2String).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import ClassVar

NODE_ID_LEN = 40
_HEX = frozenset("0123456789abcdef")


class MessageType(IntEnum):
    """CLUSTERMSG_TYPE_* numbers (cluster.h)."""

    PING = 0
    PONG = 1
    MEET = 2
    FAIL = 3
    PUBLISH = 4
    FAILOVER_AUTH_REQUEST = 5
    FAILOVER_AUTH_ACK = 6
    UPDATE = 7
    MFSTART = 8
    MODULE = 9
    PUBLISHSHARD = 10


MESSAGE_TYPE_COUNT = len(MessageType)

# clusterGetMessageTypeString: the names CLUSTER INFO prints in cluster_stats_messages_<name>_*.
MESSAGE_TYPE_NAMES: dict[MessageType, str] = {
    MessageType.PING: "ping",
    MessageType.PONG: "pong",
    MessageType.MEET: "meet",
    MessageType.FAIL: "fail",
    MessageType.PUBLISH: "publish",
    MessageType.FAILOVER_AUTH_REQUEST: "auth-req",
    MessageType.FAILOVER_AUTH_ACK: "auth-ack",
    MessageType.UPDATE: "update",
    MessageType.MFSTART: "mfstart",
    MessageType.MODULE: "module",
    MessageType.PUBLISHSHARD: "publishshard",
}


class NodeFlag(IntFlag):
    """CLUSTER_NODE_* flags, with Redis's bit values ("slave" is REPLICA in our code)."""

    MASTER = 1
    REPLICA = 2
    PFAIL = 4
    FAIL = 8
    MYSELF = 16
    HANDSHAKE = 32
    NOADDR = 64
    MEET = 128
    MIGRATE_TO = 256
    NOFAILOVER = 512


NO_FLAGS = NodeFlag(0)
ALL_NODE_FLAGS = NodeFlag(1023)


class MessageFlag(IntFlag):
    """CLUSTERMSG_FLAG0_*: a master paused for a manual failover; a forced vote request."""

    PAUSED = 1
    FORCEACK = 2


NO_MESSAGE_FLAGS = MessageFlag(0)
ALL_MESSAGE_FLAGS = MessageFlag(3)


def is_node_id(value: object) -> bool:
    """True for a well-formed node id: 40 lowercase hex characters."""
    return isinstance(value, str) and len(value) == NODE_ID_LEN and _HEX.issuperset(value)


@dataclass(frozen=True, slots=True)
class Header:
    """What every message says about its sender (clusterMsg's common fields).

    ``config_epoch`` and ``slots`` are the sender's, or its master's if the sender is a replica;
    ``slots`` is the 2048-byte bitmap of ``gossip.slots``; ``cluster_ok`` is the sender's view of
    the cluster state; ``mflags`` carries PAUSED/FORCEACK.
    """

    sender: str
    current_epoch: int
    config_epoch: int
    flags: NodeFlag
    slots: bytes
    master_id: str | None
    repl_offset: int
    ip: str
    port: int
    cport: int
    hostname: str
    cluster_ok: bool
    mflags: MessageFlag = NO_MESSAGE_FLAGS


@dataclass(frozen=True, slots=True)
class GossipEntry:
    """One node as the sender sees it (clusterMsgDataGossip); times are unix ms."""

    node_id: str
    ping_sent_ms: int
    pong_received_ms: int
    ip: str
    port: int
    cport: int
    flags: NodeFlag


@dataclass(frozen=True, slots=True)
class Ping:
    TYPE: ClassVar[MessageType] = MessageType.PING
    header: Header
    gossip: tuple[GossipEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Pong:
    TYPE: ClassVar[MessageType] = MessageType.PONG
    header: Header
    gossip: tuple[GossipEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Meet:
    TYPE: ClassVar[MessageType] = MessageType.MEET
    header: Header
    gossip: tuple[GossipEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Fail:
    """Broadcast by the node that reached the FAIL quorum about ``node_id``."""

    TYPE: ClassVar[MessageType] = MessageType.FAIL
    header: Header
    node_id: str


@dataclass(frozen=True, slots=True)
class Publish:
    TYPE: ClassVar[MessageType] = MessageType.PUBLISH
    header: Header
    channel: bytes
    message: bytes


@dataclass(frozen=True, slots=True)
class PublishShard:
    TYPE: ClassVar[MessageType] = MessageType.PUBLISHSHARD
    header: Header
    channel: bytes
    message: bytes


@dataclass(frozen=True, slots=True)
class FailoverAuthRequest:
    TYPE: ClassVar[MessageType] = MessageType.FAILOVER_AUTH_REQUEST
    header: Header


@dataclass(frozen=True, slots=True)
class FailoverAuthAck:
    TYPE: ClassVar[MessageType] = MessageType.FAILOVER_AUTH_ACK
    header: Header


@dataclass(frozen=True, slots=True)
class Update:
    """Tells a node with a stale slot map who owns its slots now: that owner's config."""

    TYPE: ClassVar[MessageType] = MessageType.UPDATE
    header: Header
    config_epoch: int
    node_id: str
    slots: bytes


@dataclass(frozen=True, slots=True)
class MfStart:
    TYPE: ClassVar[MessageType] = MessageType.MFSTART
    header: Header


@dataclass(frozen=True, slots=True)
class Module:
    TYPE: ClassVar[MessageType] = MessageType.MODULE
    header: Header
    module_id: int
    module_type: int
    payload: bytes


Message = (
    Ping
    | Pong
    | Meet
    | Fail
    | Publish
    | PublishShard
    | FailoverAuthRequest
    | FailoverAuthAck
    | Update
    | MfStart
    | Module
)

_MESSAGE_CLASS_LIST: tuple[type[Message], ...] = (
    Ping,
    Pong,
    Meet,
    Fail,
    Publish,
    PublishShard,
    FailoverAuthRequest,
    FailoverAuthAck,
    Update,
    MfStart,
    Module,
)
MESSAGE_CLASSES: dict[MessageType, type[Message]] = {cls.TYPE: cls for cls in _MESSAGE_CLASS_LIST}
