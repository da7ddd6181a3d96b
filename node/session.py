"""Per-connection client state, shared by the dispatcher and the command handlers (the ``ctx``).

Handlers receive the session as ``ctx`` and reach the node through ``ctx.node`` and the selected
database through ``ctx.db``. The driver owns the socket; the session only holds what Redis keeps
in its ``client`` struct and a queue of out-of-band bytes (MONITOR lines, pushes) for the driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from node.keyspace import Database
    from node.state import NodeState


class Session:
    __slots__ = (
        "_authenticated",
        "_close_after_reply",
        "_killed",
        "_multi",
        "_reply_mode",
        "_reply_skip",
        "_subscribed",
        "addr",
        "asking",
        "created_ms",
        "db",
        "db_index",
        "flags",
        "gate",
        "id",
        "in_script",
        "laddr",
        "last_command",
        "last_interaction_ms",
        "lib_name",
        "lib_ver",
        "monitor",
        "multi_error",
        "name",
        "no_evict",
        "node",
        "notify",
        "out_queue",
        "parser_auth_pending",
        "pubsub_channels",
        "pubsub_patterns",
        "pubsub_shard_channels",
        "readonly",
        "reply_gate",
        "resp3",
        "user",
        "watch_dirty",
        "watched",
    )

    def __init__(self, node: NodeState, client_id: int, addr: str = "", laddr: str = "") -> None:
        self.gate = self.reply_gate = False
        self._authenticated = True
        self._subscribed = False
        self._multi: list[tuple] | None = None
        self._close_after_reply = self._killed = False
        self._reply_mode = b"on"
        self._reply_skip = 0
        self.node = node
        self.id = client_id
        self.addr = addr
        self.laddr = laddr
        self.db_index = 0
        self.db: Database = node.dbs[0]
        self.resp3 = False
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.user = b"default"
        self.authenticated = not node.requirepass
        self.parser_auth_pending = bool(node.requirepass)
        self.multi: list[tuple] | None = None
        self.multi_error = False
        self.watched: list[tuple[Database, bytes, bool]] = []
        self.watch_dirty = False
        self.asking = False
        self.in_script = False  # running inside EVAL/FCALL: blocking commands must not block
        self.readonly = False
        self.close_after_reply = False
        self.killed = False
        self.monitor = False
        self.no_evict = False
        self.reply_mode = b"on"  # on | off | skip (CLIENT REPLY)
        # CLIENT REPLY SKIP: replies still to drop (the SKIP command's own and the next one).
        self.reply_skip = 0
        self.flags = ""
        self.created_ms = node.now_ms
        self.last_interaction_ms = node.now_ms
        self.last_command = b"NULL"
        self.out_queue: list[bytes] = []
        # Pub/Sub subscriptions (Redis's ``client`` fields), kept in subscription order: the
        # dict keys are the names, the values unused. ``node.pubsub`` maintains them
        # together with the node's registries.
        self.pubsub_channels: dict[bytes, None] = {}
        self.pubsub_patterns: dict[bytes, None] = {}
        self.pubsub_shard_channels: dict[bytes, None] = {}
        # Set by the driver: wakes the connection's writer when out_queue gets bytes.
        self.notify: Callable[[], None] | None = None

    # -- the dispatcher's two fast-path gates -------------------------------------------
    # ``gate`` is True when a command cannot just run (not authenticated, inside MULTI,
    # subscribed to Pub/Sub, where RESP2 clients may only run a few commands, or in cluster
    # mode, where keyed commands are routed first);
    # ``reply_gate`` when its reply is not simply sent (CLIENT REPLY OFF/SKIP, closing). Both
    # are plain slots the hot path reads; the attributes that decide them are properties whose
    # setters keep the two flags current. Nothing else may assign ``gate``/``reply_gate``.

    def _update_gates(self) -> None:
        self.gate = not self._authenticated or self._multi is not None or self._subscribed
        self.reply_gate = (
            self._reply_skip > 0
            or self._reply_mode != b"on"
            or self._close_after_reply
            or self._killed
        )

    @property
    def authenticated(self) -> bool:
        return self._authenticated

    @authenticated.setter
    def authenticated(self, value: bool) -> None:
        self._authenticated = value
        self._update_gates()

    @property
    def multi(self) -> list[tuple] | None:
        """Commands queued since MULTI, or None outside a transaction."""
        return self._multi

    @multi.setter
    def multi(self, value: list[tuple] | None) -> None:
        self._multi = value
        self._update_gates()

    @property
    def subscribed(self) -> bool:
        """Redis's CLIENT_PUBSUB: set by (P|S)SUBSCRIBE, cleared once no subscription is left.

        It gates in any protocol (the dispatcher checks RESP2 itself): ``resp3`` stays a plain
        slot, read on every reply, and a RESP3 subscriber merely takes the general path."""
        return self._subscribed

    @subscribed.setter
    def subscribed(self, value: bool) -> None:
        self._subscribed = value
        self._update_gates()

    def unsubscribe_all(self) -> None:
        """Drop every subscription without notifying the client (RESET, disconnection)."""
        if self.pubsub_channels or self.pubsub_patterns or self.pubsub_shard_channels:
            from node.pubsub import drop_subscriptions

            drop_subscriptions(self)

    @property
    def close_after_reply(self) -> bool:
        return self._close_after_reply

    @close_after_reply.setter
    def close_after_reply(self, value: bool) -> None:
        self._close_after_reply = value
        self._update_gates()

    @property
    def killed(self) -> bool:
        return self._killed

    @killed.setter
    def killed(self, value: bool) -> None:
        self._killed = value
        self._update_gates()

    @property
    def reply_mode(self) -> bytes:
        """CLIENT REPLY mode: on | off | skip."""
        return self._reply_mode

    @reply_mode.setter
    def reply_mode(self, value: bytes) -> None:
        self._reply_mode = value
        self._update_gates()

    @property
    def reply_skip(self) -> int:
        """Replies still to drop (CLIENT REPLY SKIP: the SKIP command's own and the next one)."""
        return self._reply_skip

    @reply_skip.setter
    def reply_skip(self, value: int) -> None:
        self._reply_skip = value
        self._update_gates()

    def select(self, index: int) -> None:
        self.db_index = index
        self.db = self.node.dbs[index]

    def push_out_of_band(self, data: bytes) -> None:
        """Queue bytes that are not the reply to this client's own command (MONITOR, pushes)."""
        self.out_queue.append(data)
        if self.notify is not None:
            self.notify()

    def discard_transaction(self) -> None:
        """Redis's ``discardTransaction``: leave MULTI, forget the queue, the flags and the
        WATCHes."""
        self.multi = None
        self.multi_error = False
        self.unwatch_all()

    def unwatch_all(self) -> None:
        for db, key, _expired in self.watched:
            sessions = db.watchers.get(key)
            if sessions is not None:
                sessions.discard(self)
                if not sessions:
                    del db.watchers[key]
        self.watched = []
        self.watch_dirty = False

    def watched_key_changed(
        self, db: Database, key: bytes, existed: bool, exists: bool, expired: bool
    ) -> None:
        """A key this client WATCHes was written, deleted, flushed or swapped (Redis's
        ``touchWatchedKey`` and ``touchAllWatchedKeysInDb``): EXEC will fail, unless the key was
        already expired when WATCHed and is now gone or still expired, which is no logical
        change. ``existed``/``exists``: the key before/after; ``expired``: it is expired after."""
        watched = self.watched
        for i, (w_db, w_key, was_expired) in enumerate(watched):
            if w_db is db and w_key == key:
                if was_expired:
                    if not exists:
                        watched[i] = (db, key, False)  # an expired key is gone: no change
                        return
                    if expired:
                        return
                elif expired and not existed:
                    watched[i] = (db, key, True)  # SWAPDB brought in an already expired key
                    return
                break
        self.watch_dirty = True
