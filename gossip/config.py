"""The cluster directives the core reads (Redis's cluster-* config), as one frozen value.

The node derives the announced addresses (cluster-announce-port/-bus-port win over the listening
ports; cport defaults to port + 10000) and hands them in. On CONFIG SET it builds a new value
and calls ``ClusterState.set_config``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

CLUSTER_PORT_INCR = 10000
DEFAULT_NODE_TIMEOUT_MS = 15000
ENDPOINT_TYPES = ("ip", "hostname", "unknown-endpoint")
HOSTNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
HOSTNAME_MAX_LEN = 255  # Redis: shorter than NET_HOST_STR_LEN (256)


@dataclass(frozen=True, slots=True)
class GossipConfig:
    port: int = 6379
    cport: int = 6379 + CLUSTER_PORT_INCR
    announce_ip: str = ""
    hostname: str = ""
    node_timeout_ms: int = DEFAULT_NODE_TIMEOUT_MS
    require_full_coverage: bool = True
    allow_replica_migration: bool = True
    replica_no_failover: bool = False
    preferred_endpoint_type: str = "ip"
    # Elections (Redis's cluster-migration-barrier, cluster-replica-validity-factor and
    # repl-ping-replica-period, the last in seconds).
    migration_barrier: int = 1
    replica_validity_factor: int = 10
    repl_ping_replica_period_s: int = 10

    def __post_init__(self) -> None:
        if self.node_timeout_ms <= 0:
            raise ValueError("node_timeout_ms must be positive")
        if self.preferred_endpoint_type not in ENDPOINT_TYPES:
            raise ValueError(f"unknown endpoint type {self.preferred_endpoint_type!r}")
        if len(self.hostname) > HOSTNAME_MAX_LEN or not HOSTNAME_CHARS.issuperset(self.hostname):
            raise ValueError("hostnames may only contain alphanumeric characters, hyphens or dots")
        if self.announce_ip:
            ipaddress.ip_address(self.announce_ip)  # ValueError if it is not an address
        if not (0 < self.port <= 65535 and 0 < self.cport <= 65535):
            raise ValueError("ports must be in 1..65535")
