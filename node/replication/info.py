"""INFO replication and ROLE, field by field as Redis 7.0.15's ``genRedisInfoString`` /
``roleCommand`` emit them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from node.state import NodeState


def info_fields(node: NodeState) -> list[tuple[str, object]]:
    """The replication section's fields, in Redis's order."""
    repl = node.repl
    config = node.config
    now_ms = node.now_ms
    fields: list[tuple[str, object]] = [("role", repl.role)]
    if repl.role == "slave":
        connected = repl.state == "connected"
        last_io = (now_ms - repl.last_interaction_ms) // 1000 if repl.has_master_data else -1
        fields += [
            ("master_host", repl.master_host),
            ("master_port", repl.master_port),
            ("master_link_status", "up" if connected else "down"),
            ("master_last_io_seconds_ago", last_io),
            ("master_sync_in_progress", 1 if repl.state == "sync" else 0),
            ("slave_read_repl_offset", repl.master_repl_offset),
            ("slave_repl_offset", repl.master_repl_offset),
        ]
        if repl.state == "sync":
            total = repl.sync_total_bytes
            read = repl.sync_read_bytes
            perc = read / total * 100 if total else 0.0  # as Redis, even for -1 (EOF-marked)
            fields += [
                ("master_sync_total_bytes", total),
                ("master_sync_read_bytes", read),
                ("master_sync_left_bytes", total - read),
                ("master_sync_perc", "%.2f" % perc),
                ("master_sync_last_io_seconds_ago", (now_ms - repl.sync_last_io_ms) // 1000),
            ]
        if not connected:
            down = repl.link_down_since_ms
            fields.append(
                ("master_link_down_since_seconds", (now_ms - down) // 1000 if down else -1)
            )
        fields += [
            ("slave_priority", config.get_int("replica-priority")),
            ("slave_read_only", 1 if config.get_bool("replica-read-only") else 0),
            ("replica_announced", 1 if config.get_bool("replica-announced") else 0),
        ]
    fields.append(("connected_slaves", len(repl.replicas)))
    if node.repl_min_replicas:
        from node.replication.roles import good_replicas

        fields.append(("min_slaves_good_slaves", good_replicas(node)))
    now_s = now_ms // 1000
    for i, r in enumerate(repl.replicas.values()):
        lag = now_s - r.ack_ms // 1000
        fields.append(
            (
                "slave%d" % i,
                f"ip={r.ip},port={r.port},state={r.state},offset={r.ack_offset},lag={lag}",
            )
        )
    backlog = repl.backlog
    fields += [
        ("master_failover_state", "no-failover"),
        ("master_replid", repl.replid),
        ("master_replid2", repl.replid2),
        ("master_repl_offset", repl.master_repl_offset),
        ("second_repl_offset", repl.second_replid_offset),
        ("repl_backlog_active", 1 if backlog is not None else 0),
        ("repl_backlog_size", config.get_int("repl-backlog-size")),
        ("repl_backlog_first_byte_offset", backlog.offset if backlog is not None else 0),
        ("repl_backlog_histlen", backlog.histlen if backlog is not None else 0),
    ]
    return fields


def role_reply(node: NodeState) -> list:
    """ROLE: ``[master, offset, [[ip, port, ack], ...]]`` (online replicas, bulk strings) or
    ``[slave, host, port, state, offset]`` (-1 before the first sync with this master)."""
    repl = node.repl
    if repl.role == "master":
        replicas = [
            [r.ip.encode(), b"%d" % r.port, b"%d" % r.ack_offset]
            for r in repl.replicas.values()
            if r.state == "online"
        ]
        return [b"master", repl.master_repl_offset, replicas]
    offset = repl.master_repl_offset if repl.has_master_data else -1
    return [
        b"slave",
        (repl.master_host or "").encode(),
        repl.master_port,
        repl.state.encode(),
        offset,
    ]
