"""What the cluster core asks of its driver, and what it reports: frozen dataclasses.

``ClusterState.drain()`` returns them in the order they happened. Effects (``Send``,
``Connect``, ``Disconnect``, ``SaveConfig``) must be carried out; events are facts for logs,
metrics, drill timelines and the node (routing caches, pub/sub, replication, key deletion).
"""

from __future__ import annotations

from dataclasses import dataclass

from gossip.messages import Message

# ------------------------------------------------------------------------------- effects


@dataclass(frozen=True, slots=True)
class Send:
    """Write ``message`` (``gossip.wire.encode``) on link ``link_id``. A link the driver is
    still connecting buffers it until connected; a link already gone drops it."""

    link_id: int
    message: Message


@dataclass(frozen=True, slots=True)
class Connect:
    """Open outbound link ``link_id`` to ``ip:cport`` (the bus port of ``node_id``); then call
    ``on_link_connected`` or, if it fails or later closes, ``on_link_closed``."""

    link_id: int
    node_id: str
    ip: str
    cport: int


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Close link ``link_id``; the core has already forgotten it (no on_link_closed needed)."""

    link_id: int


@dataclass(frozen=True, slots=True)
class SaveConfig:
    """Write nodes.conf (``gossip.nodesconf.render_nodes_conf(state)``) atomically; fsync when
    asked (Redis's CLUSTER_TODO_FSYNC_CONFIG: epochs or slot ownership changed)."""

    fsync: bool = False


# -------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class NodeAdded:
    node_id: str
    handshake: bool


@dataclass(frozen=True, slots=True)
class NodeRenamed:
    """A handshake node got its real id from its first PONG, or CLUSTER RESET HARD gave
    myself a new one."""

    old_id: str
    new_id: str


@dataclass(frozen=True, slots=True)
class NodeRemoved:
    node_id: str
    reason: str  # "forget", "handshake-timeout", "duplicate", "reset"


@dataclass(frozen=True, slots=True)
class NodeMarkedPfail:
    node_id: str


@dataclass(frozen=True, slots=True)
class NodePfailCleared:
    node_id: str


@dataclass(frozen=True, slots=True)
class NodeMarkedFail:
    """``reporter`` is None when this node reached the quorum itself (and broadcast FAIL),
    else the id of the node whose FAIL message it applied."""

    node_id: str
    reporter: str | None


@dataclass(frozen=True, slots=True)
class NodeFailCleared:
    node_id: str


@dataclass(frozen=True, slots=True)
class SlotsChanged:
    """The slot map changed (an owner, or a MIGRATING/IMPORTING entry); at most one per call."""


@dataclass(frozen=True, slots=True)
class DeleteKeysInSlots:
    """I am still a master but lost these slots to a newer config: drop their keys (Redis
    deletes the keys of the "dirty slots" in clusterUpdateSlotsConfigWith)."""

    slots: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RoleChanged:
    """Myself became a replica of ``master_id``, or a master (``master_id`` None)."""

    master_id: str | None


@dataclass(frozen=True, slots=True)
class FlushAllData:
    """CLUSTER RESET on a replica: empty the data set (Redis's emptyData)."""


@dataclass(frozen=True, slots=True)
class MyAddressChanged:
    """Myself learned its IP from a MEET's local address (Redis logs this)."""

    ip: str


@dataclass(frozen=True, slots=True)
class ConfigEpochChanged:
    """Myself took a new config epoch: ``reason`` is "collision", "bump" or "set"."""

    config_epoch: int
    reason: str


@dataclass(frozen=True, slots=True)
class StateChanged:
    ok: bool


@dataclass(frozen=True, slots=True)
class PublishReceived:
    """A PUBLISH (or PUBLISHSHARD, ``shard``) from a known node: deliver to local subscribers."""

    channel: bytes
    message: bytes
    shard: bool


@dataclass(frozen=True, slots=True)
class MyMasterChanged:
    """Myself is (now) a replica of ``master_id`` at ``ip:port``: the node must replicate from
    there (Redis's clusterSetMaster -> replicationSetMaster). Also emitted when my master's
    address changed (nodeUpdateAddressIfNeeded)."""

    master_id: str
    ip: str
    port: int


@dataclass(frozen=True, slots=True)
class PromotedToMaster:
    """Myself stopped being a replica and keeps its data set (an election won, TAKEOVER, or
    CLUSTER RESET on a replica): Redis's replicationUnsetMaster."""


@dataclass(frozen=True, slots=True)
class ManualFailoverPause:
    """Master side of CLUSTER FAILOVER: pause client writes until ``until_ms`` (unix ms), or
    lift the pause when ``until_ms`` is 0 (Redis's pauseClients/unpauseClients with
    PAUSE_DURING_FAILOVER)."""

    until_ms: int


@dataclass(frozen=True, slots=True)
class FailoverEvent:
    """A step of a failover, for logs and drill timelines. ``kind`` is one of
    "election-scheduled" (``detail`` "rank=R delay=D"), "auth-requested" (``epoch``),
    "vote-granted" / "vote-refused" (``node_id`` the requester, ``detail`` the reason),
    "elected" (``epoch``), "election-expired", "manual-started", "manual-aborted",
    "manual-ready", "manual-requested" (master side, ``node_id`` the replica), "takeover", "migrated" (``node_id`` the new master)."""

    kind: str
    epoch: int = 0
    node_id: str = ""
    detail: str = ""


Effect = Send | Connect | Disconnect | SaveConfig
Event = (
    NodeAdded
    | NodeRenamed
    | NodeRemoved
    | NodeMarkedPfail
    | NodePfailCleared
    | NodeMarkedFail
    | NodeFailCleared
    | SlotsChanged
    | DeleteKeysInSlots
    | RoleChanged
    | FlushAllData
    | MyAddressChanged
    | ConfigEpochChanged
    | StateChanged
    | PublishReceived
    | MyMasterChanged
    | PromotedToMaster
    | ManualFailoverPause
    | FailoverEvent
)
Output = Effect | Event
