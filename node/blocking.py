"""Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, BLMPOP...), sans I/O.

Theory of operation
-------------------
A blocking handler that finds nothing to pop returns ``Block(keys, deadline_ms, timeout_reply)``
instead of a reply (or, where blocking is denied - inside MULTI/EXEC or a script - its
``timeout_reply`` at once, as Redis does for ``CLIENT_DENY_BLOCKING``). The connection then parks:
its later requests wait behind the blocked one, as in Redis.

Writes call ``signal_ready(db, key)`` whenever a key that someone may wait on gets data
(``Database`` does it for every key that has waiters). After each batch of commands the driver
calls ``serve_ready(run)``: for every ready key, the clients blocked on it are retried in the
order they blocked (Redis's fairness), by running their command again (as Redis 7.2 does); a
client whose retry returns another ``Block`` stays blocked, the others get the reply.
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

if TYPE_CHECKING:
    from node.keyspace import Database
    from node.session import Session


@dataclass(slots=True)
class Block:
    """Returned by a handler that must wait for one of ``keys`` (in the client's database)."""

    keys: list[bytes]
    deadline_ms: int | None  # absolute unix ms; None waits forever (timeout 0)
    timeout_reply: object  # what the client gets when the deadline passes


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

    def __len__(self) -> int:
        return len(self.by_session)

    def is_blocked(self, session: Session) -> bool:
        return session.id in self.by_session

    def block(self, session: Session, argv: list[bytes], block: Block, now_ms: int) -> None:
        db = session.db
        blocked = BlockedClient(session, argv, db, block, now_ms, list(dict.fromkeys(block.keys)))
        self.by_session[session.id] = blocked
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
                    if key not in db.data:
                        break  # consumed by an earlier client: the rest keep waiting
                    session = blocked.session
                    previous_db = session.db
                    session.db = blocked.db
                    try:
                        reply = run(session, blocked.argv)
                    finally:
                        session.db = previous_db
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

    def next_deadline_ms(self) -> int | None:
        deadlines = [
            b.block.deadline_ms for b in self.by_session.values() if b.block.deadline_ms is not None
        ]
        return min(deadlines) if deadlines else None

    def blocked_sessions(self) -> list[BlockedClient]:
        return list(self.by_session.values())


def blocking_allowed(ctx: Session) -> bool:
    """Blocking commands answer at once inside MULTI/EXEC and scripts (CLIENT_DENY_BLOCKING)."""
    return ctx.multi is None and not ctx.in_script
