"""SENTINEL FAILOVER's orchestration: the pure handler (``node.commands.sentinel``) leaves a
``FailoverRequest``; this task carries it out over short-lived client connections, as a
Sentinel would: CLUSTER FAILOVER to the replica, wait for its promotion, then disconnect the
normal clients of both nodes (Sentinel's reconfiguration)."""

from __future__ import annotations

import logging

import hiredis
import trio

from node.commands.sentinel import FAILOVER_WAIT_S, KILL_NORMAL_CLIENTS, FailoverRequest
from node.drivers.limits import RECV_BYTES
from node.protocol.resp import encode_command

log = logging.getLogger("rcsim.node")


async def _request(stream: trio.abc.Stream, argv: tuple[bytes, ...]) -> object:
    """One request on a short-lived connection to another node; its reply as hiredis parses
    it (``b"OK"``, lists, ``hiredis.ReplyError`` for an error)."""
    await stream.send_all(encode_command(argv))
    reader = hiredis.Reader()
    while (reply := reader.gets()) is False:
        chunk = await stream.receive_some(RECV_BYTES)
        if not chunk:
            raise OSError("connection closed")
        reader.feed(chunk)
    return reply


def _is_replica_role(role: object) -> bool:
    return isinstance(role, list) and role[0] == b"slave"


async def sentinel_failover(connect, event: FailoverRequest) -> None:  # type: ignore[no-untyped-def]
    """Run one SENTINEL FAILOVER; ``connect`` is the runtime transport's. Errors are logged."""
    promoted = False
    try:
        with trio.move_on_after(FAILOVER_WAIT_S):
            async with await connect(event.host, event.port) as stream:
                reply = await _request(stream, event.argv)
                if isinstance(reply, hiredis.ReplyError):
                    log.warning("SENTINEL FAILOVER: %s", reply)
                    return
                while not promoted:
                    role = await _request(stream, (b"ROLE",))
                    promoted = isinstance(role, list) and role[0] == b"master"
                    if not promoted:
                        await trio.sleep(0.05)
                await _request(stream, KILL_NORMAL_CLIENTS)
        if promoted:  # once the old master follows the new one (if it is alive at all)
            with trio.move_on_after(FAILOVER_WAIT_S):
                async with await connect(event.old_host, event.old_port) as stream:
                    while not _is_replica_role(await _request(stream, (b"ROLE",))):
                        await trio.sleep(0.05)
                    await _request(stream, KILL_NORMAL_CLIENTS)
    except (OSError, trio.BrokenResourceError, ValueError) as error:
        log.warning("SENTINEL FAILOVER via %s:%d: %s", event.host, event.port, error)
