"""SENTINEL on every node: each shard of the cluster answers as a master Sentinel monitors.

Sentinel-aware clients (redis-py's ``Sentinel(...).master_for(name)``) need only a few Sentinel
queries; every rcsim node answers them from what it already knows, with the field names and
order of a real Sentinel 7.0.15 (``addReplySentinelRedisInstance`` in sentinel.c, checked
against a real ``redis-server --sentinel``):

- a *shard* is a master that owns slots, with its replicas. Shards are named ``shard-<i>``, ``i``
  ordering them by their lowest owned slot: every node that agrees on the slot map gives the same
  names, and a failover keeps the name because the promoted replica takes all of its master's
  slots. In standalone mode the node's own replication group is the only shard, ``shard-0``.
- Sentinel's down flags map to the gossip's failure detector: ``s_down`` is PFAIL (my own
  suspicion), ``o_down`` is FAIL (agreed by a majority of masters). A replica that is unreachable
  or not synced with its master also shows ``s_down`` so clients never read from it.
- The "other Sentinels" are the slot-owning masters (the cluster's voters); the quorum is their
  majority, which is what both FAIL and an election need.
- ``SENTINEL FAILOVER`` asks the best replica to run ``CLUSTER FAILOVER`` (``FORCE`` when its
  master is down) through a ``FailoverRequest`` event: the driver sends it over a short RESP
  connection, waits for the promotion, then disconnects the normal clients of both nodes as
  Sentinel does, so Sentinel clients (which only react to READONLY or a lost connection, and
  would otherwise get MOVED from the demoted master forever) ask again.

Handlers are pure (no I/O, no clock): ``ctx.node.now_ms`` is "now".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gossip.messages import NodeFlag
from gossip.node import ClusterNode
from node import replication
from node.protocol.errors import RespError, help_reply
from node.protocol.resp import NULL_ARRAY, OK, Map, SimpleString
from node.session import Session

SHARD_PREFIX = "shard-"
NO_SUCH_MASTER = "ERR No such master with that name"
NO_GOOD_SLAVE = "NOGOODSLAVE No suitable replica to promote"
CKQUORUM_OK = "OK %d usable Sentinels. Quorum and failover authorization can be reached"
NOQUORUM_HEAD = "NOQUORUM %d usable Sentinels. "
NOQUORUM_QUORUM = "Not enough available Sentinels to reach the specified quorum for this master"
NOQUORUM_AUTH = "Not enough available Sentinels to reach the majority and authorize a failover"
DEFAULT_PRIORITY = 100  # replica-priority's default; 0 (never promote) for nofailover replicas
MIN_FAILOVER_TIMEOUT_MS = 2000  # an election times out after max(2 x node timeout, 2 s)

_DOWN = NodeFlag.PFAIL | NodeFlag.FAIL

_HELP = (
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum",
    "    needed to failover a master and the majority needed to authorize the",
    "    failover.",
    "CONFIG SET <param> <value>",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param>",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration parameters for certain masters.",
    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
    "    Simulate a Sentinel crash.",
)


@dataclass(frozen=True, slots=True)
class FailoverRequest:
    """Event for the driver: send ``argv`` (``CLUSTER FAILOVER [FORCE]``) to the replica at
    ``host:port``, wait until its ROLE says master, then send ``CLIENT KILL TYPE normal`` to it
    and to the old master at ``old_host:old_port``, as Sentinel's reconfiguration does
    (sentinelSendSlaveOf), so that Sentinel clients reconnect and ask where the master is."""

    host: str
    port: int
    argv: tuple[bytes, ...]
    old_host: str
    old_port: int


FAILOVER_WAIT_S = 10.0  # how long the driver waits for the replica to report ROLE master
KILL_NORMAL_CLIENTS = (b"CLIENT", b"KILL", b"TYPE", b"normal")


@dataclass(slots=True)
class Instance:
    """One node as a Sentinel describes it (times are "ms ago", 0 when not applicable)."""

    node_id: str
    ip: str
    port: int
    runid: str
    down: bool = False  # s_down: unreachable (PFAIL/FAIL) or, for a replica, not synced
    failed: bool = False  # o_down (masters only): FAIL agreed by a majority
    disconnected: bool = False
    ping_sent_ago: int = 0
    reply_ago: int = 0
    s_down_ago: int = 0
    o_down_ago: int = 0
    info_ago: int = 0
    role_ago: int = 0
    config_epoch: int = 0
    offset: int = 0
    priority: int = DEFAULT_PRIORITY
    link_ok: bool = True
    link_down_ago: int = 0
    master_ip: str = "?"
    master_port: int = 0


@dataclass(slots=True)
class Shard:
    name: bytes
    master: Instance
    replicas: list[Instance] = field(default_factory=list)
    voters: list[Instance] = field(default_factory=list)  # the other "Sentinels"
    voters_total: int = 1
    down_after_ms: int = 0


# -- building the shards ----------------------------------------------------------------------


def _my_ip(ctx: Session) -> str:
    """The address a client reaches this node at, when the cluster has not told us yet."""
    return ctx.laddr.rsplit(":", 1)[0].strip("[]") if ctx.laddr else "127.0.0.1"


def _first_slot(node: ClusterNode) -> int:
    """The lowest slot set in the node's bitmap (bit ``s & 7`` of byte ``s >> 3``)."""
    bitmap = bytes(node.slot_bitmap)
    index = len(bitmap) - len(bitmap.lstrip(b"\0"))
    value = bitmap[index]
    return (index << 3) + (value & -value).bit_length() - 1


def _ago(now_ms: int, then_ms: int) -> int:
    return max(0, now_ms - then_ms) if then_ms else 0


def _cluster_instance(ctx: Session, node: ClusterNode, timeout_ms: int) -> Instance:
    now = ctx.node.now_ms
    me = bool(node.flags & NodeFlag.MYSELF)
    down = bool(node.flags & _DOWN) and not me
    inst = Instance(
        node_id=node.node_id,
        ip=node.ip or (_my_ip(ctx) if me else ""),
        port=node.port,
        runid=node.node_id,
        down=down,
        failed=bool(node.flags & NodeFlag.FAIL) and not me,
        disconnected=down,
        config_epoch=node.config_epoch,
        offset=node.repl_offset,
        priority=0 if node.flags & NodeFlag.NOFAILOVER else DEFAULT_PRIORITY,
    )
    if not me:
        inst.ping_sent_ago = _ago(now, node.ping_sent_ms)
        inst.reply_ago = _ago(now, node.pong_received_ms)
        inst.info_ago = _ago(now, node.data_received_ms)
        inst.role_ago = _ago(now, node.ctime_ms)
        if down:
            since = node.ping_sent_ms + timeout_ms if node.ping_sent_ms else node.fail_time_ms
            inst.s_down_ago = _ago(now, since)
        if inst.failed:
            inst.o_down_ago = _ago(now, node.fail_time_ms)
    return inst


def _my_replica_link(ctx: Session, inst: Instance) -> None:
    """This node's own replica link, from the replication state."""
    repl = ctx.node.repl
    inst.link_ok = repl.link_status == "up"
    inst.offset = repl.master_repl_offset
    if not inst.link_ok:
        inst.down = True
        inst.link_down_ago = _ago(ctx.node.now_ms, repl.link_down_since_ms)


def cluster_shards(ctx: Session) -> list[Shard]:
    """Every slot-owning master with its replicas, ordered (and named) by lowest slot."""
    st = ctx.node.cluster
    timeout_ms = st.config.node_timeout_ms
    masters = [n for n in st.nodes.values() if n.is_master and n.num_slots]
    masters.sort(key=_first_slot)
    me = st.myself
    voters = [_cluster_instance(ctx, m, timeout_ms) for m in masters]
    others = [v for v, m in zip(voters, masters, strict=True) if m is not me]
    shards = []
    for index, master in enumerate(masters):
        shard = Shard(
            name=b"%s%d" % (SHARD_PREFIX.encode(), index),
            master=voters[index],
            voters=others,
            voters_total=len(masters),
            down_after_ms=timeout_ms,
        )
        for replica_id in master.replicas:
            node = st.nodes.get(replica_id)
            if node is None or (not node.ip and node is not me):
                continue
            inst = _cluster_instance(ctx, node, timeout_ms)
            inst.master_ip, inst.master_port = shard.master.ip, master.port
            if node is me:
                _my_replica_link(ctx, inst)
            elif inst.offset <= 0:
                inst.down = True  # gossip says it has not synced yet: do not offer it
                inst.link_ok = False
            shard.replicas.append(inst)
        shards.append(shard)
    return shards


def standalone_shards(ctx: Session) -> list[Shard]:
    """Standalone mode: this node's replication group is the one shard, ``shard-0``."""
    node = ctx.node
    repl = node.repl
    timeout_ms = node.config.get_int("cluster-node-timeout")
    me = Instance(node_id=node.run_id, ip=_my_ip(ctx), port=node.tcp_port, runid=node.run_id)
    if repl.role == "master":
        shard = Shard(name=b"shard-0", master=me, down_after_ms=timeout_ms)
        me.offset = repl.master_repl_offset
        for info in repl.replicas.values():
            online = info.state == "online"
            shard.replicas.append(
                Instance(
                    node_id=f"{info.ip}:{info.port}",
                    ip=info.ip,
                    port=info.port,
                    runid="?",
                    down=not online,
                    link_ok=online,
                    offset=info.ack_offset,
                    reply_ago=_ago(node.now_ms, info.ack_ms),
                    master_ip=me.ip,
                    master_port=me.port,
                )
            )
        return [shard]
    master = Instance(
        node_id=f"{repl.master_host}:{repl.master_port}",
        ip=repl.master_host or "?",
        port=repl.master_port,
        runid="?",
    )
    me.master_ip, me.master_port = master.ip, master.port
    _my_replica_link(ctx, me)
    return [Shard(name=b"shard-0", master=master, replicas=[me], down_after_ms=timeout_ms)]


def shards(ctx: Session) -> list[Shard]:
    if ctx.node.cluster is not None:
        return cluster_shards(ctx)
    return standalone_shards(ctx)


def shard_by_name(ctx: Session, name: bytes) -> Shard:
    for shard in shards(ctx):
        if shard.name == name:
            return shard
    raise RespError(NO_SUCH_MASTER)


# -- replies ----------------------------------------------------------------------------------


def _b(value: object) -> bytes:
    return str(value).encode()


def _flags(inst: Instance, role: str) -> bytes:
    """Sentinel's flag order: s_down, o_down, role, disconnected."""
    flags = []
    if inst.down:
        flags.append("s_down")
    if inst.failed and role == "master":
        flags.append("o_down")
    flags.append(role)
    if inst.disconnected:
        flags.append("disconnected")
    return ",".join(flags).encode()


def _common(inst: Instance, name: bytes, role: str, down_after_ms: int) -> Iterator[tuple]:
    """The fields every instance kind starts with, up to down-after-milliseconds."""
    yield b"name", name
    yield b"ip", inst.ip.encode()
    yield b"port", _b(inst.port)
    yield b"runid", inst.runid.encode()
    yield b"flags", _flags(inst, role)
    yield b"link-pending-commands", b"0"
    yield b"link-refcount", b"1"
    yield b"last-ping-sent", _b(inst.ping_sent_ago)
    yield b"last-ok-ping-reply", _b(inst.reply_ago)
    yield b"last-ping-reply", _b(inst.reply_ago)
    if inst.down:
        yield b"s-down-time", _b(inst.s_down_ago)
    if inst.failed and role == "master":
        yield b"o-down-time", _b(inst.o_down_ago)
    yield b"down-after-milliseconds", _b(down_after_ms)


def master_entry(shard: Shard) -> Map:
    m = shard.master
    pairs = list(_common(m, shard.name, "master", shard.down_after_ms))
    pairs += [
        (b"info-refresh", _b(m.info_ago)),
        (b"role-reported", b"master"),
        (b"role-reported-time", _b(m.role_ago)),
        (b"config-epoch", _b(m.config_epoch)),
        (b"num-slaves", _b(len(shard.replicas))),
        (b"num-other-sentinels", _b(len(shard.voters))),
        (b"quorum", _b(shard.voters_total // 2 + 1)),
        (b"failover-timeout", _b(max(2 * shard.down_after_ms, MIN_FAILOVER_TIMEOUT_MS))),
        (b"parallel-syncs", b"1"),
    ]
    return Map(pairs)


def replica_entry(shard: Shard, r: Instance) -> Map:
    name = f"{r.ip}:{r.port}".encode()
    pairs = list(_common(r, name, "slave", shard.down_after_ms))
    pairs += [
        (b"info-refresh", _b(r.info_ago)),
        (b"role-reported", b"slave"),
        (b"role-reported-time", _b(r.role_ago)),
        (b"master-link-down-time", _b(r.link_down_ago)),
        (b"master-link-status", b"ok" if r.link_ok else b"err"),
        (b"master-host", r.master_ip.encode()),
        (b"master-port", _b(r.master_port)),
        (b"slave-priority", _b(r.priority)),
        (b"slave-repl-offset", _b(r.offset)),
        (b"replica-announced", b"1"),
    ]
    return Map(pairs)


def sentinel_entry(shard: Shard, s: Instance) -> Map:
    pairs = list(_common(s, s.runid.encode(), "sentinel", shard.down_after_ms))
    pairs += [
        (b"last-hello-message", _b(s.info_ago)),
        (b"voted-leader", b"?"),
        (b"voted-leader-epoch", b"0"),
    ]
    return Map(pairs)


# -- handlers ---------------------------------------------------------------------------------


def sentinel_masters_command(ctx: Session, argv: list[bytes]) -> object:
    return [master_entry(s) for s in shards(ctx)]


def sentinel_master_command(ctx: Session, argv: list[bytes]) -> object:
    return master_entry(shard_by_name(ctx, argv[2]))


def sentinel_replicas_command(ctx: Session, argv: list[bytes]) -> object:
    shard = shard_by_name(ctx, argv[2])
    return [replica_entry(shard, r) for r in shard.replicas]


def sentinel_sentinels_command(ctx: Session, argv: list[bytes]) -> object:
    shard = shard_by_name(ctx, argv[2])
    return [sentinel_entry(shard, s) for s in shard.voters]


def sentinel_get_master_addr_by_name_command(ctx: Session, argv: list[bytes]) -> object:
    """``[ip, port]`` as two bulk strings, or a null array for an unknown name (Sentinel)."""
    for shard in shards(ctx):
        if shard.name == argv[2]:
            return [shard.master.ip.encode(), _b(shard.master.port)]
    return NULL_ARRAY


def sentinel_ckquorum_command(ctx: Session, argv: list[bytes]) -> object:
    """sentinelIsQuorumReachable over the cluster's voters (slot-owning masters): usable ones
    must reach the quorum and the majority, which for a cluster are the same number."""
    shard = shard_by_name(ctx, argv[2])
    voters = shard.voters_total
    me_voting = voters > len(shard.voters)
    usable = sum(1 for v in shard.voters if not v.down) + (1 if me_voting else 0)
    needed = voters // 2 + 1
    if usable >= needed:
        return SimpleString((CKQUORUM_OK % usable).encode())
    raise RespError((NOQUORUM_HEAD % usable) + NOQUORUM_QUORUM + ". " + NOQUORUM_AUTH)


def best_replica(shard: Shard) -> Instance | None:
    """Sentinel's sentinelSelectSlave: skip down and priority-0 replicas, then the highest
    offset wins, ties broken by the lowest run id."""
    candidates = [r for r in shard.replicas if not r.down and r.priority > 0]
    if not candidates:
        return None
    return min(candidates, key=lambda r: (-r.offset, r.runid))


def sentinel_failover_command(ctx: Session, argv: list[bytes]) -> object:
    """Start a failover of the shard: CLUSTER FAILOVER on its best replica (FORCE when the
    master is down, since a dead master cannot take part in the manual-failover handshake),
    carried out by the driver (``FailoverRequest``), even when the replica is this node."""
    shard = shard_by_name(ctx, argv[2])
    if ctx.node.cluster is None:
        return _standalone_failover(ctx, shard)
    failover = (
        (b"CLUSTER", b"FAILOVER", b"FORCE") if shard.master.down else (b"CLUSTER", b"FAILOVER")
    )
    target = best_replica(shard)
    if target is None:
        raise RespError(NO_GOOD_SLAVE)
    master = shard.master
    ctx.node.events.append(
        FailoverRequest(target.ip, target.port, failover, master.ip, master.port)
    )
    return OK


def _standalone_failover(ctx: Session, shard: Shard) -> object:
    """Standalone: a replica promotes itself (REPLICAOF NO ONE); a master has no one to ask."""
    if ctx.node.repl.role == "master":
        raise RespError(NO_GOOD_SLAVE)
    replication.promote(ctx.node)
    return OK


def sentinel_myid_command(ctx: Session, argv: list[bytes]) -> object:
    """This node's id: its cluster node id (stable across restarts), else its run id."""
    if ctx.node.cluster is not None:
        return ctx.node.cluster.my_id.encode()
    return ctx.node.run_id.encode()


def sentinel_help_command(ctx: Session, argv: list[bytes]) -> object:
    return help_reply("SENTINEL", _HELP)


HANDLERS = {
    "sentinel|masters": sentinel_masters_command,
    "sentinel|master": sentinel_master_command,
    "sentinel|replicas": sentinel_replicas_command,
    "sentinel|slaves": sentinel_replicas_command,
    "sentinel|sentinels": sentinel_sentinels_command,
    "sentinel|get-master-addr-by-name": sentinel_get_master_addr_by_name_command,
    "sentinel|ckquorum": sentinel_ckquorum_command,
    "sentinel|failover": sentinel_failover_command,
    "sentinel|myid": sentinel_myid_command,
    "sentinel|help": sentinel_help_command,
}
