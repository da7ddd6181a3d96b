"""Everything one node knows outside a single connection: databases, config, clients, statistics.

This is the node's pure core state. Everything from the outside world is handed in: the command
table (built once by ``node.assembly``), the seeded random source, the host facts and the
monotonic clock for SLOWLOG and LATENCY timings; ``now_ms`` (wall-clock unix ms) is the time the
current entry point was called with. Drivers drain ``events`` (requests they must carry out:
close a client, shut down) after each batch. Nothing here awaits, reads a clock by itself, or
imports a layer above it: higher layers plug in through ``hooks`` (around every command) and the
callbacks they are given.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from node.blocking import BlockingState
from node.config import Config
from node.hooks import Hooks
from node.host import Host
from node.keyspace import Database
from node.replication.state import ReplicationState

if TYPE_CHECKING:
    from node.protocol.command_table import Command

REDIS_VERSION = "7.0.15"
RCSIM_VERSION = "0.1.0"


@dataclass(frozen=True, slots=True)
class CloseClient:
    """Event: the driver must close this client's connection (CLIENT KILL, QUIT handled inline)."""

    client_id: int


@dataclass(frozen=True, slots=True)
class BlockFor:
    """Event: the driver must block the whole node for ``ms`` (DEBUG SLEEP), as Redis does."""

    ms: int


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Event: the driver must stop the node (SHUTDOWN)."""

    save: bool


@dataclass(slots=True)
class SlowlogEntry:
    id: int
    timestamp_s: int
    duration_us: int
    argv: list[bytes]
    addr: str
    name: bytes


@dataclass(slots=True)
class Stats:
    total_connections_received: int = 0
    total_commands_processed: int = 0
    rejected_connections: int = 0
    expired_keys: int = 0
    keyspace_hits: int = 0
    keyspace_misses: int = 0
    total_net_input_bytes: int = 0
    total_net_output_bytes: int = 0
    total_error_replies: int = 0
    unexpected_error_replies: int = 0
    # command name -> [calls, usec, rejected_calls, failed_calls]
    commands: dict[str, list[int]] = field(default_factory=dict)
    # error prefix -> count (INFO errorstats)
    errors: dict[str, int] = field(default_factory=dict)


class NodeState:
    def __init__(
        self,
        config: Config,
        *,
        commands: dict[bytes, Command],
        rng: random.Random,
        host: Host,
        monotonic_ns: Callable[[], int],
        now_ms: int,
    ) -> None:
        self.config = config
        self.rng = rng
        # Command durations (commandstats, SLOWLOG) use a nanosecond clock called twice per
        # command: a builtin such as time.perf_counter_ns keeps that off the profile.
        self.monotonic_ns = monotonic_ns
        # When the last invoked command ended (monotonic ns): the batch loop's next start.
        self.call_end_ns = 0
        self.now_ms = now_ms
        self.start_ms = now_ms
        self.run_id = "%040x" % self.rng.getrandbits(160)
        self.dbs = [Database(i) for i in range(config.get_int("databases"))]
        self.blocking = BlockingState()
        for db in self.dbs:
            db.on_expired = self._on_key_expired
            db.clock = self  # writes read ``now_ms`` from here for OBJECT IDLETIME
            db.blocking = self.blocking
        self.clients: dict[int, object] = {}
        self.next_client_id = 1
        self.stats = Stats()
        self.commands = commands
        # Around every command (node.invoke): replication feed, MONITOR, fault injection...
        self.hooked = False  # some hook is enabled (kept by ``hooks``)
        self.hooks = Hooks(on_change=self._hooks_changed)
        self.events: list[object] = []
        self.monitors: set = set()
        # Set by the client driver: serve other clients from inside a long script (Redis's
        # processEventsWhileBlocked); None where no driver runs.
        self.serve_while_busy: Callable[[], None] | None = None
        # Set at assembly: write the commands queued for replicas (``repl_pending``) to the
        # stream now (``node.replication.flush``), for work that runs outside a command.
        self.flush_propagation: Callable[..., None] = lambda session=None: None
        # Set by the cluster glue: a PUBLISH reached this node's subscribers, so the bus must
        # carry it to the other nodes (Redis's clusterPropagatePublish).
        self.on_publish: Callable[[bytes, bytes], None] | None = None
        self.slowlog: deque[SlowlogEntry] = deque()
        self.slowlog_next_id = 0
        self.latency_events: dict[str, deque] = {}
        self.dirty = 0
        self.last_save_s = now_ms // 1000
        self.paused_until_ms = 0
        self.pause_writes_only = False
        self.tcp_port = config.get_int("port")
        # DEBUG SET-ACTIVE-EXPIRE 0 stops the active expiry cycle (lookups still expire keys).
        self.active_expire_enabled = True
        # OS facts for INFO and config-file I/O for CONFIG REWRITE (tests inject Host.fixed()).
        self.host = host
        # Replication (node.replication): role, ids, offsets, backlog, replicas. The hot path
        # reads three plain attributes kept current by node.replication.refresh_flags:
        # ``repl_gate`` (commands take the general path: a replica, or min-replicas-to-write
        # set), ``repl_feed`` (a master with a backlog: executed writes are fed to the stream)
        # and ``repl_pending`` (commands waiting to be written at the end of the current call).
        self.repl = ReplicationState("%040x" % self.rng.getrandbits(160))
        self.repl_gate = False
        self.repl_feed = False
        self.repl_pending = self.repl.pending
        # Cluster mode only (else None), set by the driver at start-up: ``cluster`` is the
        # gossip.ClusterState that routing and CLUSTER read, ``cluster_glue`` its
        # node.cluster_glue.ClusterGlue glue (outbox, driver wake-up).
        self.cluster = None
        self.cluster_glue = None
        self.apply_config()

    # -- configuration -------------------------------------------------------------------

    def apply_config(self) -> None:
        """Refresh the attributes the hot path reads, after start-up or CONFIG SET."""
        self.requirepass = self.config.get("requirepass")
        self.slowlog_threshold_us = self.config.get_int("slowlog-log-slower-than")
        threshold = self.slowlog_threshold_us
        self.slowlog_threshold_ns = threshold * 1000 if threshold >= 0 else -1
        self.slowlog_max_len = self.config.get_int("slowlog-max-len")
        self.latency_threshold_ms = self.config.get_int("latency-monitor-threshold")
        # A command this slow (ns) gets a LATENCY sample; "never" while monitoring is off.
        latency_ms = self.latency_threshold_ms
        self.latency_threshold_ns = latency_ms * 1_000_000 if latency_ms > 0 else 1 << 62
        slowlog_ns = self.slowlog_threshold_ns if self.slowlog_threshold_ns >= 0 else 1 << 62
        self.slow_threshold_ns = min(slowlog_ns, self.latency_threshold_ns)
        self.proto_max_bulk_len = self.config.get_int("proto-max-bulk-len")
        self.cluster_enabled = self.config.get_bool("cluster-enabled")
        self.client_idle_timeout_s = self.config.get_int("timeout")
        self.repl_read_only = self.config.get_bool("replica-read-only")
        self.repl_serve_stale = self.config.get_bool("replica-serve-stale-data")
        # How expiry deletions reach replicas (Redis's propagateDeletion: UNLINK when lazy).
        lazy_expire = self.config.get_bool("lazyfree-lazy-expire")
        self.repl_expire_del = b"UNLINK" if lazy_expire else b"DEL"
        # min-replicas-to-write, 0 when either it or min-replicas-max-lag is 0 (disabled).
        min_replicas = self.config.get_int("min-replicas-to-write")
        self.repl_max_lag_s = self.config.get_int("min-replicas-max-lag")
        self.repl_min_replicas = min_replicas if self.repl_max_lag_s else 0
        repl = getattr(self, "repl", None)
        if repl is not None:
            if repl.backlog is not None:
                repl.backlog.resize(self.config.get_int("repl-backlog-size"))
            self.refresh_replication_flags()
        cluster_glue = getattr(self, "cluster_glue", None)
        if cluster_glue is not None:  # CONFIG SET of cluster-* directives reaches the core
            cluster_glue.reconfigure(self)

    # -- replication ---------------------------------------------------------------------

    def refresh_replication_flags(self) -> None:
        """Recompute what the dispatcher's hot path reads after a role or config change:
        ``repl_feed`` (a master with a backlog: the replication hook feeds the stream after
        every command) and ``repl_gate`` (commands take the general path for its checks: a
        replica - READONLY, MASTERDOWN - or min-replicas-to-write - NOREPLICAS); and the
        replica's expiry rule in every database."""
        repl = self.repl
        self.repl_feed = repl.role == "master" and repl.backlog is not None
        self.repl_gate = repl.role == "slave" or bool(self.repl_min_replicas)
        if "replication" in self.hooks.names():
            self.hooks.enable("replication", self.repl_feed)
        guard = self._expired_on_replica if repl.role == "slave" else None
        for db in self.dbs:
            db.expire_guard = guard

    def _hooks_changed(self, active: bool) -> None:
        self.hooked = active

    # -- MONITOR -------------------------------------------------------------------------

    def add_monitor(self, session: object) -> None:
        self.monitors.add(session)
        self.hooks.enable("monitor")

    def remove_monitor(self, session: object) -> None:
        self.monitors.discard(session)
        if not self.monitors and "monitor" in self.hooks.names():
            self.hooks.disable("monitor")

    # -- replication ids (DEBUG CHANGE-REPL-ID, INFO) --------------------------------------

    @property
    def master_replid(self) -> str:
        return self.repl.replid

    @master_replid.setter
    def master_replid(self, value: str) -> None:
        self.repl.replid = value

    @property
    def master_replid2(self) -> str:
        return self.repl.replid2

    @master_replid2.setter
    def master_replid2(self, value: str) -> None:
        self.repl.replid2 = value
        if value == "0" * 40:
            self.repl.second_replid_offset = -1

    # -- clients -------------------------------------------------------------------------

    def new_client_id(self) -> int:
        client_id = self.next_client_id
        self.next_client_id += 1
        return client_id

    # -- expiry --------------------------------------------------------------------------

    def _on_key_expired(self, db: Database, key: bytes) -> None:
        self.stats.expired_keys += 1
        if self.repl_feed:  # replicas get a DEL (Redis's deleteExpiredKeyAndPropagate)
            self.repl.pending.append((db.id, [self.repl_expire_del, key]))

    def _expired_on_replica(self) -> bool:
        """Redis 7's expireIfNeeded on a replica: a key past its time is never deleted here
        (the master's DEL will come); the master's own commands still see it, other clients
        are told it is missing. Returns True to report it missing."""
        return not self.repl.applying

    def active_expire(self) -> int:
        """One active-expiry cycle over every database (driven by the periodic tick, ``hz``
        times a second). The DELs it queues for replicas (``repl_pending``) are written at once
        through ``flush_propagation``, the replication layer's writer given at assembly."""
        if not self.active_expire_enabled or self.repl.role == "slave":
            return 0  # a replica waits for its master's DELs (Redis's activeExpireCycle)
        expired = sum(
            db.active_expire_cycle(self.now_ms, self.rng) for db in self.dbs if db.expires
        )
        if self.repl_pending:
            self.flush_propagation()
        return expired

    def key_count(self) -> int:
        return sum(len(db) for db in self.dbs)
