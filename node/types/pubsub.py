"""Pub/Sub: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB, as Redis 7.0.15's pubsub.c.

Theory of operation
-------------------
* A subscription lives in two places, as in Redis: on the session (``pubsub_channels``,
  ``pubsub_patterns``, ``pubsub_shard_channels``: name -> None, in subscription order, which
  CLIENT LIST's ``sub``/``psub``/``ssub`` read) and in the node's ``PubSubRegistry`` (name ->
  subscribing sessions in subscription order, Redis's ``server.pubsub_channels`` lists). Both are
  only changed here, together.
* ``session.subscribed`` is Redis's CLIENT_PUBSUB flag: set by every (P|S)SUBSCRIBE, cleared when
  an unsubscribe leaves no subscription of any kind. It puts the session on the dispatcher's
  general path, where a RESP2 subscriber is refused all but (P|S)(UN)SUBSCRIBE, PING, QUIT and
  RESET (``node.core``); PING then answers ``["pong", arg]`` (``node.commands.connection``).
* Confirmations (``subscribe``, channel, count) are one message per name: arrays in RESP2, pushes
  in RESP3, encoded in the caller's protocol and returned pre-encoded (``Raw``), so inside EXEC
  they land in the EXEC reply exactly where Redis writes them. Redis sends them even under CLIENT
  REPLY OFF/SKIP (CLIENT_PUSHING): then they go out of band, and ``ClientConnection`` writes
  them where the dropped reply would have been.
* Messages (``message``/``pmessage``/``smessage``) are encoded in each receiver's protocol and
  queued with ``push_out_of_band``; a publisher subscribed to its own channel (a RESP3 client)
  gets them inline, before the PUBLISH reply, as Redis writes them into its own buffer (from a
  script they go out of band, so after EVAL's reply, where Redis puts them before it).
* ``deliver`` is the one entry point for delivery to this node's subscribers: PUBLISH/SPUBLISH
  call it, and so will the cluster bus for messages published on other nodes.
* Orders Redis leaves to its hash tables (UNSUBSCRIBE without arguments, PUBSUB CHANNELS, several
  patterns matching one channel) follow subscription order here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from node.commands.debug import help_reply
from node.glob import glob_matcher
from node.protocol.errors import CrossSlotError, RespError
from node.protocol.keyslot import key_slot
from node.protocol.resp import Raw

if TYPE_CHECKING:
    from node.session import Session
    from node.state import NodeState

_SSUBSCRIBE_IN_EXEC = "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client"
_NOTHING = Raw(b"")  # the reply of a command whose confirmations went out of band

_HELP = (
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
)


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


def _replies_silenced(ctx: Session) -> bool:
    """The driver will drop this command's reply (CLIENT REPLY OFF/SKIP), or it runs in a
    script: pushes meant for the caller must then go out of band."""
    return ctx.in_script or (ctx.reply_gate and (ctx.reply_skip > 0 or ctx.reply_mode != b"on"))


def _publish(ctx: Session, channel: bytes, message: bytes, shard: bool) -> object:
    if ctx.node.cluster_node is not None:
        # Cluster mode: every node's subscribers get it (clusterPropagatePublish); the count
        # returned is this node's receivers only, as in Redis.
        from node.cluster_node import propagate_publish

        propagate_publish(ctx.node, channel, message, shard)
    receivers, own = _deliver(ctx.node, channel, message, shard, ctx)
    if own:
        if not _replies_silenced(ctx):
            return Raw(b"".join(own) + b":%d\r\n" % receivers)
        for data in own:
            ctx.push_out_of_band(data)
    return receivers


def publish_command(ctx: Session, argv: list[bytes]) -> object:
    return _publish(ctx, argv[1], argv[2], False)


def spublish_command(ctx: Session, argv: list[bytes]) -> object:
    """Redis 7.0 serves SPUBLISH without cluster mode too: a channel family of its own."""
    return _publish(ctx, argv[1], argv[2], True)


# -- subscribing --------------------------------------------------------------------------------


def _count(ctx: Session, kind: _Kind) -> int:
    """The count in a confirmation: shard channels alone, or channels plus patterns."""
    if kind.shard:
        return len(ctx.pubsub_shard_channels)
    return len(ctx.pubsub_channels) + len(ctx.pubsub_patterns)


def _confirmation(resp3: bool, name_bulk: bytes, name: bytes | None, count: int) -> bytes:
    """Redis's addReplyPubsub(Pat)(Un)Subscribed; a null name after an unsubscribe from all
    when there was nothing to unsubscribe from."""
    if name is None:
        shown = b"_\r\n" if resp3 else b"$-1\r\n"
    else:
        shown = _bulk(name)
    return (b">3\r\n" if resp3 else b"*3\r\n") + name_bulk + shown + b":%d\r\n" % count


def _emit(ctx: Session, chunks: list[bytes]) -> object:
    data = b"".join(chunks)
    if _replies_silenced(ctx):
        ctx.push_out_of_band(data)
        return _NOTHING
    return Raw(data)


def _subscribe(ctx: Session, kind: _Kind, names: Iterable[bytes]) -> object:
    reg = registry(ctx.node)
    resp3 = ctx.resp3
    chunks = []
    for name in names:
        reg.add(kind, ctx, name)
        chunks.append(_confirmation(resp3, kind.subscribe, name, _count(ctx, kind)))
    ctx.subscribed = True
    return _emit(ctx, chunks)


def _unsubscribe(ctx: Session, kind: _Kind, names: list[bytes]) -> object:
    """Named channels (each confirmed, subscribed or not), or all of this kind, or one
    confirmation with a null name when there were none (Redis's pubsubUnsubscribeAll*)."""
    reg = registry(ctx.node)
    resp3 = ctx.resp3
    chunks = []
    if not names:
        names = list(getattr(ctx, kind.session_attr))
        if not names:
            chunks.append(_confirmation(resp3, kind.unsubscribe, None, _count(ctx, kind)))
    for name in names:
        reg.remove(kind, ctx, name)
        chunks.append(_confirmation(resp3, kind.unsubscribe, name, _count(ctx, kind)))
    if not (ctx.pubsub_channels or ctx.pubsub_patterns or ctx.pubsub_shard_channels):
        ctx.subscribed = False
    return _emit(ctx, chunks)


def _check_same_slot(ctx: Session, channels: list[bytes]) -> None:
    """In cluster mode the shard channels of one command must share a slot, as Redis's
    getNodeByQuery requires (it also refuses at MULTI queueing time; routing will)."""
    if ctx.node.cluster_enabled and len(channels) > 1:
        slot = key_slot(channels[0])
        if any(key_slot(channel) != slot for channel in channels[1:]):
            raise CrossSlotError()


def subscribe_command(ctx: Session, argv: list[bytes]) -> object:
    return _subscribe(ctx, CHANNELS, argv[1:])


def psubscribe_command(ctx: Session, argv: list[bytes]) -> object:
    return _subscribe(ctx, PATTERNS, argv[1:])


def ssubscribe_command(ctx: Session, argv: list[bytes]) -> object:
    """Refused inside EXEC, unlike SUBSCRIBE (Redis 7.0 checks only CLIENT_DENY_BLOCKING)."""
    if ctx.multi is not None:
        raise RespError(_SSUBSCRIBE_IN_EXEC)
    _check_same_slot(ctx, argv[1:])
    return _subscribe(ctx, SHARD_CHANNELS, argv[1:])


def unsubscribe_command(ctx: Session, argv: list[bytes]) -> object:
    return _unsubscribe(ctx, CHANNELS, argv[1:])


def punsubscribe_command(ctx: Session, argv: list[bytes]) -> object:
    return _unsubscribe(ctx, PATTERNS, argv[1:])


def sunsubscribe_command(ctx: Session, argv: list[bytes]) -> object:
    _check_same_slot(ctx, argv[1:])
    return _unsubscribe(ctx, SHARD_CHANNELS, argv[1:])


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
        count = _count(session, SHARD_CHANNELS)
        session.push_out_of_band(
            _confirmation(session.resp3, SHARD_CHANNELS.unsubscribe, channel, count)
        )
        if not (session.pubsub_channels or session.pubsub_patterns or count):
            session.subscribed = False


def drop_shard_slot(node: NodeState, slot: int) -> None:
    """Unsubscribe everyone from the shard channels of ``slot`` (Redis's
    removeChannelsInSlot, when this node loses the slot)."""
    for channel in [c for c in registry(node).shard_channels if key_slot(c) == slot]:
        unsubscribe_shard_channel(node, channel)


# -- PUBSUB -------------------------------------------------------------------------------------


def _subcommand_syntax_error(argv: list[bytes]) -> RespError:
    """Redis's addReplySubcommandSyntaxError, for argument counts the table's arity allows."""
    return RespError(
        "ERR unknown subcommand or wrong number of arguments for '"
        + argv[1].decode("utf-8", "surrogateescape")
        + "'. Try PUBSUB HELP."
    )


def _channel_list(table: dict[bytes, dict], argv: list[bytes]) -> list[bytes]:
    """Redis's channelList: every active channel, or those matching the pattern."""
    if len(argv) > 3:
        raise _subcommand_syntax_error(argv)
    if len(argv) == 2:
        return list(table)
    matches = glob_matcher(argv[2])
    return [channel for channel in table if matches(channel)]


def _numsub(table: dict[bytes, dict], names: list[bytes]) -> list:
    reply: list = []
    for name in names:
        reply.append(name)
        reply.append(len(table.get(name, ())))
    return reply


def pubsub_channels_command(ctx: Session, argv: list[bytes]) -> object:
    return _channel_list(registry(ctx.node).channels, argv)


def pubsub_shardchannels_command(ctx: Session, argv: list[bytes]) -> object:
    return _channel_list(registry(ctx.node).shard_channels, argv)


def pubsub_numsub_command(ctx: Session, argv: list[bytes]) -> object:
    return _numsub(registry(ctx.node).channels, argv[2:])


def pubsub_shardnumsub_command(ctx: Session, argv: list[bytes]) -> object:
    return _numsub(registry(ctx.node).shard_channels, argv[2:])


def pubsub_numpat_command(ctx: Session, argv: list[bytes]) -> object:
    """Distinct patterns, however many clients share one (Redis 7.0's dictSize)."""
    return len(registry(ctx.node).patterns)


def pubsub_help_command(ctx: Session, argv: list[bytes]) -> object:
    return help_reply("PUBSUB", _HELP)


HANDLERS = {
    "subscribe": subscribe_command,
    "psubscribe": psubscribe_command,
    "ssubscribe": ssubscribe_command,
    "unsubscribe": unsubscribe_command,
    "punsubscribe": punsubscribe_command,
    "sunsubscribe": sunsubscribe_command,
    "publish": publish_command,
    "spublish": spublish_command,
    "pubsub|channels": pubsub_channels_command,
    "pubsub|shardchannels": pubsub_shardchannels_command,
    "pubsub|numsub": pubsub_numsub_command,
    "pubsub|shardnumsub": pubsub_shardnumsub_command,
    "pubsub|numpat": pubsub_numpat_command,
    "pubsub|help": pubsub_help_command,
}
