"""Errors the cluster core raises for CLUSTER subcommands, with Redis 7.0's exact texts.

The core cannot import ``node.protocol.errors`` (gossip is pure), so every client-visible text
of the CLUSTER command family that the core decides lives here, once, with its ``ERR`` prefix.
A handler turns one into a reply with ``raise RespError(str(exc))``.
"""

from __future__ import annotations


class ClusterCommandError(Exception):
    """A CLUSTER subcommand refused by the core; ``str(exc)`` is the whole error line."""


class NodesConfError(Exception):
    """nodes.conf is corrupted (Redis: "Unrecoverable error: corrupted cluster config file")."""


INVALID_SLOT = "ERR Invalid or out of range slot"
SLOT_BUSY = "ERR Slot {slot} is already busy"
SLOT_UNASSIGNED = "ERR Slot {slot} is already unassigned"
SLOT_TWICE = "ERR Slot {slot} specified multiple times"
SLOT_RANGE_REVERSED = "ERR start slot number {start} is greater than end slot number {end}"
INVALID_NODE_ADDRESS = "ERR Invalid node address specified: {ip}:{port}"
UNKNOWN_NODE = "ERR Unknown node {node_id}"
DONT_KNOW_NODE = "ERR I don't know about node {node_id}"
SETSLOT_ON_REPLICA = "ERR Please use SETSLOT only with masters."
NOT_SLOT_OWNER = "ERR I'm not the owner of hash slot {slot}"
ALREADY_SLOT_OWNER = "ERR I'm already the owner of hash slot {slot}"
TARGET_NOT_MASTER = "ERR Target node is not a master"
SLOT_HAS_KEYS = "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
SETSLOT_SYNTAX = "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"
FORGET_MYSELF = "ERR I tried hard but I can't forget myself..."
FORGET_MY_MASTER = "ERR Can't forget my master!"
RESET_WITH_KEYS = "ERR CLUSTER RESET can't be called with master nodes containing keys"
INVALID_CONFIG_EPOCH = "ERR Invalid config epoch specified: {epoch}"
CONFIG_EPOCH_NOT_ALONE = (
    "ERR The user can assign a config epoch only when the node does not know any other node."
)
CONFIG_EPOCH_NONZERO = "ERR Node config epoch is already non-zero"
REPLICATE_MYSELF = "ERR Can't replicate myself"
REPLICATE_REPLICA = "ERR I can only replicate a master, not a replica."
REPLICATE_NOT_EMPTY = "ERR To set a master the node must be empty and without assigned slots."
FLUSHSLOTS_NOT_EMPTY = "ERR DB must be empty to perform CLUSTER FLUSHSLOTS."
NOT_A_MASTER = "ERR The specified node is not a master"
FAILOVER_ON_MASTER = "ERR You should send CLUSTER FAILOVER to a replica"
FAILOVER_MASTER_UNKNOWN = "ERR I'm a replica but my master is unknown to me"
FAILOVER_MASTER_DOWN = "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE"
