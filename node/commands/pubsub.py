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
* ``node.pubsub.deliver`` is the one entry point for delivery to this node's subscribers:
  PUBLISH/SPUBLISH call it, and so does the cluster glue for messages published on other nodes
  (PUBLISH tells the glue through ``NodeState.on_publish``).
* Orders Redis leaves to its hash tables (UNSUBSCRIBE without arguments, PUBSUB CHANNELS, several
  patterns matching one channel) follow subscription order here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from node.glob import glob_matcher
from node.protocol.errors import CrossSlotError, RespError, help_reply
from node.protocol.keyslot import key_slot
from node.protocol.resp import Raw
from node.pubsub import (
    CHANNELS,
    PATTERNS,
    SHARD_CHANNELS,
    _deliver,
    _Kind,
    confirmation,
    registry,
    subscription_count,
)

if TYPE_CHECKING:
    from node.session import Session

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


def _replies_silenced(ctx: Session) -> bool:
    """The driver will drop this command's reply (CLIENT REPLY OFF/SKIP), or it runs in a
    script: pushes meant for the caller must then go out of band."""
    return ctx.in_script or (ctx.reply_gate and (ctx.reply_skip > 0 or ctx.reply_mode != b"on"))


def _publish(ctx: Session, channel: bytes, message: bytes, shard: bool) -> object:
    on_publish = ctx.node.on_publish
    if on_publish is not None:
        # Cluster mode: every node's subscribers get it (clusterPropagatePublish, through the
        # cluster glue); the count returned is this node's receivers only, as in Redis.
        on_publish(channel, message, shard)
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
        chunks.append(confirmation(resp3, kind.subscribe, name, subscription_count(ctx, kind)))
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
            chunks.append(
                confirmation(resp3, kind.unsubscribe, None, subscription_count(ctx, kind))
            )
    for name in names:
        reg.remove(kind, ctx, name)
        chunks.append(confirmation(resp3, kind.unsubscribe, name, subscription_count(ctx, kind)))
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
