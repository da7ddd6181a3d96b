"""``FailoverState``: the fields of one node's own failover attempt, as plain data.

It lives below ``gossip.table`` (which holds one) rather than in ``gossip.election`` (which
drives it) so that the table, the layer of state and primitives, imports no rule module.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class FailoverState:
    """Redis's clusterState failover_auth_* and mf_* fields (one node's own attempt)."""

    auth_time_ms: int = 0  # when the request goes out (or went out); 0: never tried
    auth_count: int = 0  # ACKs received for this attempt
    auth_sent: bool = False
    auth_rank: int = 0
    auth_epoch: int = 0  # the election epoch of the request
    cant_failover_reason: str = ""
    # Manual failover (both sides): deadline, replica ready, the replica a master paused for,
    # and the offset a paused master announced (-1: not yet).
    mf_end_ms: int = 0
    mf_can_start: bool = False
    mf_replica: str | None = None
    mf_master_offset: int = -1
