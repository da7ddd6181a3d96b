"""Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, BLMPOP...), sans I/O.

Theory of operation
-------------------
A blocking handler that finds nothing to pop returns ``Block(keys, deadline_ms, timeout_reply)``
instead of a reply (or, where blocking is denied - inside MULTI/EXEC or a script - Redis's
``CLIENT_DENY_BLOCKING`` reply at once: usually the timeout reply, but a null bulk for BLMOVE
whose timeout reply is a null array). The connection then parks: its later requests wait behind
the blocked one, as in Redis. Timeout arguments are parsed by ``parse_timeout_ms``.

Writes call ``signal_ready(db, key)`` whenever a key that someone may wait on gets data
(``Database`` does it for every key that has waiters). After every command (as Redis's
``processCommand`` calls ``handleClientsBlockedOnKeys`` after each ``call``, so a blocked client
is served before the next command of the connection that fed it) the connection calls
``serve_ready(run)``: for every ready key, in the order keys became ready, the clients blocked
on it are retried in the order they blocked (Redis's fairness), by running their command again
(``client_conn.retry_blocked``); a client whose retry returns another ``Block`` stays blocked
with its first deadline, the others get the reply. Two rules keep the retry to Redis 7.0's
``serveClientsBlockedOnListKey`` semantics:

* only clients waiting for the kind of value the key now holds are retried
  (``Block.value_type``): a BLPOP client is not woken by a string or a sorted set appearing
  under its key, nor a BZPOPMIN client by a list;
* during a retry ``serving_key`` names the ready key, and multi-key commands (BLPOP k1 k2,
  BLMPOP...) must pop from that key only, not from the first of their keys that has data.

``expire(now_ms)`` answers the clients whose timeout passed with their ``timeout_reply``, and
``unblock(session, reply)`` ends a block early (CLIENT UNBLOCK, a slot that moved away).

All three put ``(session, reply)`` in ``released``, the outbox the driver drains to send each
reply and let the client's queued requests run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from node.protocol.errors import RespError

if TYPE_CHECKING:
    from node.keyspace import Database
    from node.session import Session


@dataclass(slots=True)
class Block:
    """Returned by a handler that must wait for one of ``keys`` (in the client's database)."""

    keys: list[bytes]
    deadline_ms: int | None  # absolute unix ms; None waits forever (timeout 0)
    timeout_reply: object  # what the client gets when the deadline passes
    # The value class that can serve the client (ListValue for BLPOP...); None: any value.
    value_type: type | None = None


@dataclass(slots=True)
class BlockedClient:
    session: Session
    argv: list[bytes]
    db: Database
    block: Block
    since_ms: int
    keys: list[bytes] = field(default_factory=list)


class BlockingState:
    """Every blocked client of one node, by (database, key) in blocking order."""

    def __init__(self) -> None:
        self.waiting: dict[tuple[int, bytes], deque[BlockedClient]] = {}
        self.by_session: dict[int, BlockedClient] = {}
        self.ready: list[tuple[Database, bytes]] = []
        self._ready_set: set[tuple[int, bytes]] = set()
        self.released: list[tuple[Session, object]] = []
        # The key a retried command is being served from (None outside ``serve_ready``): a
        # client blocked on several keys takes from the key that became ready, as in Redis 7.0,
        # not from the first of its keys that has data.
        self.serving_key: bytes | None = None
        # The earliest deadline of the clients blocked since the driver last looked (it may
        # have to wake its timer sooner), or None.
        self.deadline_added: int | None = None

    def __len__(self) -> int:
        return len(self.by_session)

    def is_blocked(self, session: Session) -> bool:
        return session.id in self.by_session

    def block(self, session: Session, argv: list[bytes], block: Block, now_ms: int) -> None:
        db = session.db
        blocked = BlockedClient(session, argv, db, block, now_ms, list(dict.fromkeys(block.keys)))
        self.by_session[session.id] = blocked
        deadline = block.deadline_ms
        if deadline is not None and (self.deadline_added is None or deadline < self.deadline_added):
            self.deadline_added = deadline
        for key in blocked.keys:
            self.waiting.setdefault((db.id, key), deque()).append(blocked)
            db.blocking_keys.add(key)

    def _forget(self, blocked: BlockedClient) -> None:
        self.by_session.pop(blocked.session.id, None)
        db = blocked.db
        for key in blocked.keys:
            queue = self.waiting.get((db.id, key))
            if queue is not None:
                try:
                    queue.remove(blocked)
                except ValueError:
                    pass
                if not queue:
                    del self.waiting[(db.id, key)]
                    db.blocking_keys.discard(key)

    def signal_ready(self, db: Database, key: bytes) -> None:
        """A key with waiters got data (called by the keyspace on writes)."""
        marker = (db.id, key)
        if marker in self.waiting and marker not in self._ready_set:
            self._ready_set.add(marker)
            self.ready.append((db, key))

    def serve_ready(self, run: Callable[[Session, list[bytes]], object]) -> None:
        """Retry the clients blocked on ready keys, oldest first; each client that gets an
        answer goes to ``released``. ``run`` executes a command for a session."""
        served = self.released
        while self.ready:
            ready, self.ready = self.ready, []
            self._ready_set.clear()
            for db, key in ready:
                queue = self.waiting.get((db.id, key))
                for blocked in list(queue or ()):
                    if blocked.session.id not in self.by_session:
                        continue
                    value = db.data.get(key)
                    if value is None:
                        break  # consumed by an earlier client: the rest keep waiting
                    wanted = blocked.block.value_type
                    if wanted is not None and type(value) is not wanted:
                        continue
                    session = blocked.session
                    previous_db = session.db
                    session.db = blocked.db
                    self.serving_key = key
                    try:
                        reply = run(session, blocked.argv)
                    finally:
                        session.db = previous_db
                        self.serving_key = None
                    if type(reply) is Block:
                        continue
                    self._forget(blocked)
                    served.append((session, reply))

    def expire(self, now_ms: int) -> None:
        """Release the clients whose timeout passed, with their timeout reply."""
        due = [
            b
            for b in self.by_session.values()
            if b.block.deadline_ms is not None and b.block.deadline_ms <= now_ms
        ]
        for blocked in due:
            self._forget(blocked)
            self.released.append((blocked.session, blocked.block.timeout_reply))

    def unblock(self, session: Session, reply: object | None = None) -> bool:
        """End ``session``'s block early with ``reply`` (its timeout reply by default).
        Returns False when it was not blocked."""
        blocked = self.by_session.get(session.id)
        if blocked is None:
            return False
        self._forget(blocked)
        self.released.append((session, blocked.block.timeout_reply if reply is None else reply))
        return True

    def drop(self, session: Session) -> None:
        """The client went away."""
        blocked = self.by_session.get(session.id)
        if blocked is not None:
            self._forget(blocked)

    def timeout_count(self) -> int:
        """Blocked clients with a deadline (INFO's ``clients_in_timeout_table``)."""
        return sum(1 for b in self.by_session.values() if b.block.deadline_ms is not None)

    def next_deadline_ms(self) -> int | None:
        deadlines = [
            b.block.deadline_ms for b in self.by_session.values() if b.block.deadline_ms is not None
        ]
        return min(deadlines) if deadlines else None

    def blocked_sessions(self) -> list[BlockedClient]:
        return list(self.by_session.values())


TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"
TIMEOUT_NEGATIVE = "ERR timeout is negative"
_LLONG_MIN = -(2**63)


def parse_timeout_ms(raw: bytes) -> int:
    """Redis 7.0's ``getTimeoutFromObjectOrReply`` in seconds: ``strtold``, then
    ``(long long) ceill(value * 1000.0)`` in x87 long double arithmetic, so ``-0.0005`` is 0
    (wait forever) and ``0.0001`` is 1 ms. Infinities and values that overflow the cast become
    LLONG_MIN (what the x87 conversion yields), hence "timeout is negative"."""
    from node import long_double

    value = long_double.parse(raw)
    if value is None:
        raise RespError(TIMEOUT_NOT_FLOAT)
    if type(value) is float:  # +-inf
        raise RespError(TIMEOUT_NEGATIVE)
    significand, exponent = value  # type: ignore[misc]
    if exponent >= 0:
        product = long_double._round((significand * 1000) << exponent, 1)
    else:
        product = long_double._round(significand * 1000, 1 << -exponent)
    if product is None:
        raise RespError(TIMEOUT_NEGATIVE)
    significand, exponent = product
    if exponent >= 0:
        ms = significand << exponent
    else:
        ms = -((-significand) >> -exponent)  # ceil
    if ms < _LLONG_MIN or ms >= 2**63:
        ms = _LLONG_MIN
    if ms < 0:
        raise RespError(TIMEOUT_NEGATIVE)
    return ms


def timeout_deadline(now_ms: int, raw: bytes) -> int | None:
    """The absolute deadline of a blocking command's timeout argument; None waits forever."""
    ms = parse_timeout_ms(raw)
    return now_ms + ms if ms else None


def blocking_allowed(ctx: Session) -> bool:
    """Blocking commands answer at once inside MULTI/EXEC and scripts (CLIENT_DENY_BLOCKING)."""
    return ctx.multi is None and not ctx.in_script
