"""Replication state of one node: role, replication ids and offsets, backlog, replicas.

Mirrors the fields of Redis 7.0's ``redisServer`` that ``replication.c`` uses: ``replid`` /
``replid2`` / ``master_repl_offset`` / ``second_replid_offset``, the backlog ring
(``repl-backlog-size``), the list of replicas with their ack offsets, and on a replica the
state of the link with its master. Pure data: the functions that change it are in
``node.replication.roles`` and ``node.replication.stream``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from node.session import Session


def new_replid(rng) -> str:
    """A random 40-hex-digit replication id (Redis's ``changeReplicationId``)."""
    return "%040x" % rng.getrandbits(160)


class Backlog:
    """The replication backlog: the last ``size`` bytes of the stream, for PSYNC.

    ``offset`` is the stream offset of the first byte held (Redis's
    ``repl_backlog->offset``, shown as ``repl_backlog_first_byte_offset``), ``histlen`` how
    many bytes are held. Bytes are appended to a bytearray that is trimmed back to ``size``
    only once it reaches twice that, so appending is amortised O(1)."""

    __slots__ = ("_buf", "_end", "size")

    def __init__(self, size: int, end_offset: int) -> None:
        self.size = max(1, size)
        self._buf = bytearray()
        self._end = end_offset  # offset of the last byte held (the master_repl_offset)

    def append(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        self._end += len(data)
        if len(buf) >= 2 * self.size:
            del buf[: len(buf) - self.size]

    def resize(self, size: int) -> None:
        self.size = max(1, size)
        if len(self._buf) > self.size:
            del self._buf[: len(self._buf) - self.size]

    @property
    def histlen(self) -> int:
        return min(len(self._buf), self.size)

    @property
    def offset(self) -> int:
        """Offset of the first byte still available (master_repl_offset + 1 when empty)."""
        return self._end - self.histlen + 1

    def read_from(self, offset: int) -> bytes:
        """The bytes from stream offset ``offset`` (1-based, as PSYNC's) to the end."""
        start = offset - self.offset
        if start < 0 or start > self.histlen:
            raise ValueError("offset outside the backlog")
        return bytes(self._buf[len(self._buf) - self.histlen + start :])


@dataclass(slots=True)
class ReplicaInfo:
    """One replica connected to this node (Redis's slave ``client`` fields)."""

    client_id: int
    ip: str
    port: int  # its listening port (REPLCONF listening-port), 0 when unknown
    state: str = "wait_bgsave"  # wait_bgsave | send_bulk | online
    ack_offset: int = 0
    ack_ms: int = 0
    capa: frozenset[bytes] = frozenset()
    session: Session | None = None


@dataclass(slots=True)
class WaitingClient:
    """A client blocked in WAIT: released once ``numreplicas`` acked ``offset``."""

    session: Session
    offset: int
    numreplicas: int
    block: object  # the node.blocking.Block it parked on (its timeout_reply is kept current)


@dataclass(slots=True)
class ReplicationState:
    """Everything replication-related of one node (see the module docstring)."""

    replid: str
    replid2: str = "0" * 40
    role: str = "master"  # "master" | "slave"
    master_host: str | None = None
    master_port: int = 0
    master_repl_offset: int = 0
    second_replid_offset: int = -1
    backlog: Backlog | None = None
    # Replicas by client id, in connection order.
    replicas: dict[int, ReplicaInfo] = field(default_factory=dict)
    # Replica side: state of the link with our master. ``state`` is Redis's repl_state as
    # ROLE names it: none | connect | connecting | handshake | sync | connected.
    state: str = "none"
    link_status: str = "down"  # "up" | "down" | "connecting"
    link_down_since_ms: int = 0  # 0: never connected (Redis's repl_down_since)
    last_interaction_ms: int = 0
    sync_in_progress: bool = False
    sync_total_bytes: int = -1
    sync_read_bytes: int = 0
    sync_last_io_ms: int = 0
    # The driver's client that carries the master's stream (commands from it are obeyed even
    # on a read-only replica and never expire keys).
    master_session: Session | None = None
    # True once this replica holds a dataset from its current master (full sync done or
    # continued): Redis's ``server.master != NULL`` for ROLE's/INFO's offsets.
    has_master_data: bool = False
    # The db the stream last SELECTed (-1: the next command starts with a SELECT).
    stream_db: int = -1
    # Commands of the current call waiting to be written to the stream, as (db, argv)
    # (Redis's ``server.also_propagate``); NodeState.repl_pending is the same list.
    pending: list[tuple[int, list[bytes]]] = field(default_factory=list)
    # Replica side: the master's stream bytes of a transaction still open (MULTI seen, EXEC
    # not yet), and their count on the wire. Like Redis's master client ``reploff``, our
    # offset moves (and the bytes reach our backlog and replicas) only once it is complete.
    txn_data: list[bytes] = field(default_factory=list)
    txn_nbytes: int = 0
    # Set while a command from the master runs (Redis's ``server.current_client == master``).
    applying: bool = False
    # Client id -> stream offset after that client's last propagated write (``c->woff``).
    client_woff: dict[int, int] = field(default_factory=dict)
    waiting: list[WaitingClient] = field(default_factory=list)
    # True when the last bytes fed to the stream were a REPLCONF GETACK sent at
    # ``getack_ms`` (the WAITs of one batch ask once).
    getack_sent: bool = False
    getack_ms: int = -1
    # REPLCONF settings of connections that did not PSYNC yet: client id -> (port, ip, capa).
    handshakes: dict[int, dict] = field(default_factory=dict)
    last_ping_ms: int = 0
    # INFO stats: sync_full, sync_partial_ok, sync_partial_err.
    stat_sync_full: int = 0
    stat_sync_partial_ok: int = 0
    stat_sync_partial_err: int = 0
    # Installed by the driver: write stream bytes to one replica connection. The default
    # queues them on the replica's session (``Session.push_out_of_band``).
    send_to_replica: Callable[[ReplicaInfo, bytes], None] | None = None

    def good_replica_count(self, now_s: int, max_lag_s: int) -> int:
        """Online replicas whose last ack is at most ``max_lag_s`` seconds old (Redis's
        ``refreshGoodSlavesCount``)."""
        return sum(
            1
            for r in self.replicas.values()
            if r.state == "online" and now_s - r.ack_ms // 1000 <= max_lag_s
        )
