"""Pub/Sub state of one node: the subscription registry and delivery to subscribers.

The commands (``node.commands.pubsub``) and the cluster glue (messages published on other nodes)
both deliver through ``deliver``; sessions drop their subscriptions through
``drop_subscriptions``. This module sits below the session layer and imports no command module,
so a disconnection or RESET can clean up without reaching up a layer. See
``node.commands.pubsub`` for the theory of operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from node.glob import glob_matcher
from node.protocol.keyslot import key_slot

if TYPE_CHECKING:
    from node.session import Session
    from node.state import NodeState


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


_MESSAGE = _bulk(b"message")
_PMESSAGE = _bulk(b"pmessage")
_SMESSAGE = _bulk(b"smessage")


@dataclass(frozen=True, slots=True)
class _Kind:
    """One family of subscriptions (Redis's ``pubsubtype``, with patterns as a third family)."""

    session_attr: str
    registry_attr: str
    subscribe: bytes  # pre-encoded confirmation names
    unsubscribe: bytes
    shard: bool = False
    pattern: bool = False


CHANNELS = _Kind("pubsub_channels", "channels", _bulk(b"subscribe"), _bulk(b"unsubscribe"))
PATTERNS = _Kind(
    "pubsub_patterns", "patterns", _bulk(b"psubscribe"), _bulk(b"punsubscribe"), pattern=True
)
SHARD_CHANNELS = _Kind(
    "pubsub_shard_channels",
    "shard_channels",
    _bulk(b"ssubscribe"),
    _bulk(b"sunsubscribe"),
    shard=True,
)
_KINDS = (CHANNELS, PATTERNS, SHARD_CHANNELS)


class PubSubRegistry:
    """The node's subscriptions: name -> subscribing sessions, in subscription order (Redis's
    ``server.pubsub_channels``, ``pubsub_patterns``, ``pubsubshard_channels``). A name is
    dropped with its last subscriber, so the sizes are INFO's and PUBSUB NUMPAT's counts."""

    __slots__ = ("channels", "matchers", "patterns", "shard_channels")

    def __init__(self) -> None:
        self.channels: dict[bytes, dict[Session, None]] = {}
        self.patterns: dict[bytes, dict[Session, None]] = {}
        self.shard_channels: dict[bytes, dict[Session, None]] = {}
        self.matchers: dict[bytes, Callable[[bytes], bool]] = {}  # pattern -> compiled match

    def add(self, kind: _Kind, session: Session, name: bytes) -> bool:
        """Subscribe ``session``; False if it already was (Redis's pubsubSubscribeChannel)."""
        mine: dict[bytes, None] = getattr(session, kind.session_attr)
        if name in mine:
            return False
        mine[name] = None
        table: dict[bytes, dict[Session, None]] = getattr(self, kind.registry_attr)
        subscribers = table.get(name)
        if subscribers is None:
            subscribers = table[name] = {}
            if kind.pattern:
                self.matchers[name] = glob_matcher(name)
        subscribers[session] = None
        return True

    def remove(self, kind: _Kind, session: Session, name: bytes) -> bool:
        """Unsubscribe ``session``; False if it was not subscribed."""
        mine: dict[bytes, None] = getattr(session, kind.session_attr)
        if name not in mine:
            return False
        del mine[name]
        table: dict[bytes, dict[Session, None]] = getattr(self, kind.registry_attr)
        subscribers = table[name]
        del subscribers[session]
        if not subscribers:
            del table[name]
            if kind.pattern:
                del self.matchers[name]
        return True


def registry(node: NodeState) -> PubSubRegistry:
    """The node's registry, created on first use."""
    found = getattr(node, "pubsub_registry", None)
    if found is None:
        found = node.pubsub_registry = PubSubRegistry()  # type: ignore[attr-defined]
    return found


def server_counts(node: NodeState) -> tuple[int, int, int]:
    """INFO's pubsub_channels, pubsub_patterns, pubsubshard_channels."""
    found = getattr(node, "pubsub_registry", None)
    if found is None:
        return 0, 0, 0
    return len(found.channels), len(found.patterns), len(found.shard_channels)


# -- delivery -----------------------------------------------------------------------------------


def deliver(node: NodeState, channel: bytes, message: bytes, shard: bool = False) -> int:
    """Send ``message`` to this node's subscribers of ``channel`` (and, unless ``shard``, of the
    patterns matching it); return how many received it (Redis's pubsubPublishMessage).

    The single entry point for delivery: PUBLISH and SPUBLISH use it, and the cluster bus calls
    it when a PUBLISH arrives from another node (Redis's clusterProcessPacket for
    CLUSTERMSG_TYPE_PUBLISH). Every receiver gets the message out of band."""
    receivers, _own = _deliver(node, channel, message, shard, None)
    return receivers


def _deliver(
    node: NodeState, channel: bytes, message: bytes, shard: bool, caller: Session | None
) -> tuple[int, list[bytes]]:
    """Deliver; the caller's own messages come back instead of being queued (see the module
    doc). Channel subscribers first, then each matching pattern's, as in Redis."""
    reg = registry(node)
    own: list[bytes] = []
    receivers = 0
    subscribers = (reg.shard_channels if shard else reg.channels).get(channel)
    if subscribers:
        body = (_SMESSAGE if shard else _MESSAGE) + _bulk(channel) + _bulk(message)
        receivers = len(subscribers)
        _send(subscribers, b"3\r\n" + body, caller, own)
    if not shard and reg.patterns:
        tail = _bulk(channel) + _bulk(message)
        matchers = reg.matchers
        for pattern, subscribers in reg.patterns.items():
            if matchers[pattern](channel):
                receivers += len(subscribers)
                _send(subscribers, b"4\r\n" + _PMESSAGE + _bulk(pattern) + tail, caller, own)
    return receivers, own


def _send(
    subscribers: dict[Session, None], body: bytes, caller: Session | None, own: list[bytes]
) -> None:
    """``body`` is the message without its type byte: ``*`` (RESP2) or ``>`` (RESP3) per
    receiver."""
    resp2 = resp3 = b""
    for session in subscribers:
        if session.resp3:
            data = resp3 = resp3 or b">" + body
        else:
            data = resp2 = resp2 or b"*" + body
        if session is caller:
            own.append(data)
        else:
            session.push_out_of_band(data)


def subscription_count(ctx: Session, kind: _Kind) -> int:
    """The count in a confirmation: shard channels alone, or channels plus patterns."""
    if kind.shard:
        return len(ctx.pubsub_shard_channels)
    return len(ctx.pubsub_channels) + len(ctx.pubsub_patterns)


def confirmation(resp3: bool, name_bulk: bytes, name: bytes | None, count: int) -> bytes:
    """Redis's addReplyPubsub(Pat)(Un)Subscribed; a null name after an unsubscribe from all
    when there was nothing to unsubscribe from."""
    if name is None:
        shown = b"_\r\n" if resp3 else b"$-1\r\n"
    else:
        shown = _bulk(name)
    return (b">3\r\n" if resp3 else b"*3\r\n") + name_bulk + shown + b":%d\r\n" % count


def drop_subscriptions(session: Session) -> None:
    """Forget every subscription of ``session`` without a word to it (RESET, disconnection:
    Redis's clearClientConnectionState and freeClient)."""
    reg = registry(session.node)
    for kind in _KINDS:
        for name in list(getattr(session, kind.session_attr)):
            reg.remove(kind, session, name)
    session.subscribed = False


def unsubscribe_shard_channel(node: NodeState, channel: bytes) -> None:
    """Unsubscribe every client from a shard channel, telling each (Redis's
    pubsubShardUnsubscribeAllClients): for cluster mode, when the channel's slot leaves."""
    reg = registry(node)
    subscribers = reg.shard_channels.get(channel)
    for session in list(subscribers or ()):
        reg.remove(SHARD_CHANNELS, session, channel)
        count = subscription_count(session, SHARD_CHANNELS)
        session.push_out_of_band(
            confirmation(session.resp3, SHARD_CHANNELS.unsubscribe, channel, count)
        )
        if not (session.pubsub_channels or session.pubsub_patterns or count):
            session.subscribed = False


def drop_shard_slot(node: NodeState, slot: int) -> None:
    """Unsubscribe everyone from the shard channels of ``slot`` (Redis's
    removeChannelsInSlot, when this node loses the slot)."""
    for channel in [c for c in registry(node).shard_channels if key_slot(c) == slot]:
        unsubscribe_shard_channel(node, channel)
