"""One client connection, sans I/O: bytes in, reply bytes out.

Theory of operation
-------------------
``feed(data, now_ms)`` parses ``data`` into requests, runs each through ``core.execute`` and
returns all the reply bytes of that read, joined, so the driver sends them with one write (Redis's
batching of replies per read). It never awaits or reads a clock: drivers own sockets, timers and
waiting, and pass the time of the read in. It is the only parser of client input: a driver
serving clients while a script is busy feeds them here too (``busy``).

Three things hold a connection, each kept here as state the driver can poll:

* **CLIENT PAUSE.** While ``node.paused_until_ms`` is in the future, a request the pause covers
  (every request for ALL, writes for WRITE) and everything after it stay in ``pending``;
  ``resume(now_ms)`` runs them once the pause is over.
* **Closing.** ``close_after_flush`` is set by QUIT, a protocol error (after its error reply) and
  CLIENT KILL; the driver closes the socket once the output is written.
* **Blocking commands.** A handler that returns ``Block`` parks the connection (``blocked``):
  its later requests wait in ``pending`` until ``unblock(reply)``. After every command, clients
  blocked on keys that command fed are served at once (``retry_blocked``, see
  ``node.blocking``); their replies wait in ``node.blocking.released`` for the driver.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from node import core, replication
from node.blocking import Block
from node.hooks import CALL_RETRY
from node.invoke import invoke
from node.protocol.resp import (
    ProtocolError,
    QueryBufferLimitExceeded,
    Raw,
    RequestParser,
    encode,
)
from node.session import Session
from node.state import NodeState

log = logging.getLogger("rcsim.node")


def retry_blocked(session: Session, argv: list[bytes]) -> object:
    """Run a blocked client's command again now that one of its keys got data. Redis 7.0
    serves the client in place (``serveClientsBlockedOnListKey``): through the invocation
    function with ``CALL_RETRY``, so it is not counted as another call and MONITOR does not see
    it again. An error (BLMOVE into a key of another type) is the client's reply."""
    node = session.node
    command = node.commands.get(argv[0]) or node.commands.get(argv[0].lower())
    if command is None or command.handler is None:
        return Block([], None, None)  # cannot happen: the command ran once already
    return invoke(session, command, argv, CALL_RETRY)


class ClientConnection:
    __slots__ = ("blocked", "close_after_flush", "node", "parser", "pending", "session")

    def __init__(self, node: NodeState, session: Session) -> None:
        self.node = node
        self.session = session
        self.parser = RequestParser(max_bulk_len=node.proto_max_bulk_len)
        self.pending: deque[list[bytes]] = deque()
        self.close_after_flush = False
        self.blocked = False  # waiting in a blocking command (node.blocking has the details)

    def feed(
        self,
        data: bytes,
        now_ms: int | None = None,
        busy: Callable[[Session, list[bytes]], object] | None = None,
    ) -> bytes:
        """Run every complete request in ``data``, read at ``now_ms``; return the replies to
        send (maybe b"").

        The time enters the node here (Redis's updateCachedTime before processing a read):
        the node's cached ``now_ms`` and the client's last interaction (None: the node's
        time stays as it is, for unit tests that set it themselves). ``busy`` is
        ``ScriptingState.execute_while_busy`` while a script runs past its time limit (Redis's
        processEventsWhileBlocked): each request gets its answer from it (``-BUSY`` mostly),
        and a client whose earlier requests wait keeps waiting."""
        session = self.session
        if now_ms is not None:
            self.node.now_ms = now_ms
            session.last_interaction_ms = now_ms
        parser = self.parser
        parser.auth_pending = session.parser_auth_pending
        protocol_error = None
        try:
            requests = parser.feed(data)
        except ProtocolError as error:
            requests, protocol_error = error.requests, error
        except QueryBufferLimitExceeded:
            log.warning("closing client %s that reached max query buffer length", session.addr)
            self.close_after_flush = True
            return b""
        if busy is not None:
            if self.pending or self.blocked:  # they wait behind the client's earlier requests
                self.pending.extend(requests)
                return b""
            out = self._run_while_busy(requests, busy)
        elif self.pending or self.blocked or self.node.paused_until_ms:
            self.pending.extend(requests)
            out = self._run_pending()
        else:
            out = self._run(requests)
        if protocol_error is not None and not self.close_after_flush:
            log.info("Protocol error (%s) from client: %s", protocol_error.message, session.addr)
            if self.pending:
                self.pending.clear()
            out += protocol_error.reply
            self.close_after_flush = True
        return out

    def _run_while_busy(
        self, requests: list[list[bytes]], busy: Callable[[Session, list[bytes]], object]
    ) -> bytes:
        """``requests`` answered by ``busy`` while a script keeps the node busy."""
        session = self.session
        out = []
        for argv in requests:
            reply = busy(session, argv)
            if session.reply_gate and (session.reply_skip or session.reply_mode != b"on"):
                if session.reply_skip:
                    session.reply_skip -= 1
            else:
                out.append(encode(reply, session.resp3))
            if session.close_after_reply or session.killed:
                self.close_after_flush = True
                break
        return b"".join(out)

    def _run(self, requests: list[list[bytes]]) -> bytes:
        """Execute ``requests`` in order and return their encoded replies.

        The common case (a known command with the right arity, a client that is authenticated
        and outside MULTI, in cluster mode a request served here) goes straight to the
        invocation function, loop-invariant lookups hoisted; everything else goes through
        ``core.execute``'s checks first. This loop is the pipelined hot path: measured, it
        carries ~30% of the CPU per command.
        """
        session = self.session
        node = self.node
        commands = node.commands
        execute = core.execute
        served_here = core.served_here
        cluster_enabled = node.cluster_enabled
        blocking = node.blocking
        clock = node.monotonic_ns
        out: list[bytes] = []
        append = out.append
        started = clock()  # each command's end is the next one's start: one clock read each
        for argv in requests:
            try:
                command = commands[argv[0]]  # a subscript is cheaper than .get() on a hit
            except KeyError:
                command = None  # unknown, or not all-lower/all-upper: execute() decides
            if (
                command is None
                or session.gate
                or node.repl_gate  # a replica (READONLY, MASTERDOWN) or min-replicas-to-write
                or not command.min_args <= len(argv) <= command.max_args
                or (cluster_enabled and not served_here(session, command, argv))
            ):
                reply = execute(session, argv)
                started = clock()
            else:
                reply = invoke(session, command, argv, 0, started)
                started = node.call_end_ns
            if blocking.ready:
                # Serve clients blocked on keys this command fed before the next command runs
                # (Redis's handleClientsBlockedOnKeys after each call).
                blocking.serve_ready(retry_blocked)
            # Read once per command: the reply's fate and the close below (a stale True after
            # a SKIP is used up only re-checks the exact conditions).
            reply_gate = session.reply_gate
            if reply_gate and (session.reply_skip or session.reply_mode != b"on"):
                if type(reply) is Block:
                    # Blocks even when its reply is dropped; a pending SKIP applies to the
                    # reply it finally gets (Redis resets the client only when unblocking).
                    self._park_rest(requests, argv, reply)  # type: ignore[arg-type]
                    break
                if session.reply_skip:
                    session.reply_skip -= 1
                if session.out_queue:
                    # Pushes go out despite CLIENT REPLY OFF/SKIP (Redis's CLIENT_PUSHING), and
                    # before the replies of later commands: pub/sub queues them here then.
                    append(b"".join(session.out_queue))
                    session.out_queue.clear()
            else:
                # The commonest reply shapes are encoded inline; ``encode`` does the rest.
                t = type(reply)
                if t is Raw:
                    append(reply.data)  # type: ignore[union-attr]
                elif t is bytes:
                    append(b"$%d\r\n%s\r\n" % (len(reply), reply))  # type: ignore[arg-type]
                elif t is int:
                    append(b":%d\r\n" % reply)  # type: ignore[str-format]
                elif t is Block:
                    self._park_rest(requests, argv, reply)  # type: ignore[arg-type]
                    break
                else:
                    append(encode(reply, session.resp3))
            if reply_gate and (session.close_after_reply or session.killed):
                self.close_after_flush = True
                break
        if node.repl_pending:  # fed by fast-path reads (expired keys' DELs)
            replication.flush(node, session)
        if len(out) == 1:
            return out[0]
        return b"".join(out)

    @property
    def waiting_for_pause(self) -> bool:
        return bool(self.pending)

    def resume(self, now_ms: int | None = None) -> bytes:
        """Run requests held by CLIENT PAUSE at ``now_ms`` (None: the node's current time), as
        far as the pause now allows."""
        if not self.pending:
            return b""
        if now_ms is not None:
            self.node.now_ms = now_ms
        return self._run_pending()

    def _park_rest(self, requests: list[list[bytes]], argv: list[bytes], block: Block) -> None:
        """Park on ``argv``'s block: the rest of this read waits behind the blocked command."""
        node = self.node
        node.blocking.block(self.session, argv, block, node.now_ms)
        self.blocked = True
        for later, request in enumerate(requests):
            if request is argv:
                self.pending.extend(requests[later + 1 :])
                break

    def unblock(self, reply: object) -> bytes:
        """The blocked command got its answer: its reply, then the requests that waited (run
        at the node's current time: the driver calls this from a read or a tick, which set
        it)."""
        self.blocked = False
        session = self.session
        if session.reply_gate and (session.reply_skip or session.reply_mode != b"on"):
            if session.reply_skip:
                session.reply_skip -= 1
            out = b""
        else:
            out = encode(reply, session.resp3)
        return out + (self._run_pending() if self.pending else b"")

    def _run_pending(self) -> bytes:
        node = self.node
        pending = self.pending
        out = []
        while pending and not self.close_after_flush and not self.blocked:
            if node.paused_until_ms > node.now_ms and self._paused(pending[0]):
                break
            out.append(self._run([pending.popleft()]))
        return b"".join(out)

    def _paused(self, argv: list[bytes]) -> bool:
        node = self.node
        if not node.pause_writes_only:
            return True
        command = node.commands.get(argv[0]) or node.commands.get(argv[0].lower())
        # PAUSE WRITE also holds EVAL/EXEC-like commands in Redis; writes are what matters here.
        return command is not None and command.is_write

    def closed(self) -> None:
        """Forget this client everywhere in the node (WATCHes, subscriptions, MONITOR, client
        list)."""
        session = self.session
        session.unwatch_all()
        session.unsubscribe_all()
        node = self.node
        node.blocking.drop(session)
        node.remove_monitor(session)
        node.clients.pop(session.id, None)
