"""``rcsim status`` and ``rcsim check``: what the nodes of a run say, over RESP only.

``check`` follows ``redis-cli --cluster check`` (clusterManagerCheckCluster): a summary line
per master, then agreement on the slot configuration, open slots, and coverage, with the same
``[OK]`` / ``[WARNING]`` / ``[ERR]`` wording.
"""

from __future__ import annotations

from collections.abc import Callable

from cluster.topology import CLUSTER_SLOTS, NodeView, format_ranges, shard_names, slot_map


def status_lines(views: list[NodeView], unreachable: list[int]) -> list[str]:
    """One row per node; SHARD is the name SENTINEL answers with (``shard-<i>``, by lowest
    slot, as every node sees it: the first view's table decides)."""
    names = shard_names(views[0].nodes) if views else {}
    rows = [("ID", "ADDRESS", "SHARD", "ROLE", "SLOTS", "KEYS", "EPOCH(cfg/cur)", "LINKS", "STATE")]
    for v in views:
        me = v.myself
        peers = [n for n in v.nodes if "myself" not in n.flags]
        up_links = sum(1 for n in peers if n.link_state == "connected")
        rows.append(
            (
                me.node_id[:12],
                f"{v.host}:{v.port}",
                names.get(me.node_id, "-"),
                me.role,
                format_ranges(me.slots),
                str(v.keys),
                f"{me.config_epoch}/{v.info.get('cluster_current_epoch', '?')}",
                f"{up_links}/{len(peers)}",
                v.info.get("cluster_state", "?"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines += [f"(port {p}: not reachable)" for p in unreachable]
    maps = {slot_map(v.nodes) for v in views}
    if not views:
        lines.append("no node is running")
    elif len(maps) == 1 and not unreachable:
        lines.append(f"slot map: all {len(views)} nodes agree")
    else:
        lines.append("slot map: nodes DISAGREE")
    return lines


def check(views: list[NodeView], out: Callable[[str], None]) -> bool:
    """Print a redis-cli-style check; True when there is no [ERR] and no [WARNING]."""
    if not views:
        out("[ERR] No node reachable.")
        return False
    first = views[0]
    ok = True
    by_id = {v.myself.node_id: v for v in views}
    masters = [n for n in first.nodes if n.is_master]
    total_keys = 0
    for m in masters:
        v = by_id.get(m.node_id)
        keys = v.keys if v is not None else 0
        total_keys += keys
        replicas = sum(1 for n in first.nodes if n.master_id == m.node_id)
        out(
            f"{m.addr} ({m.node_id[:8]}...) -> {keys} keys | {m.slot_count} slots | "
            f"{replicas} slaves."
        )
    out(f"[OK] {total_keys} keys in {len(masters)} masters.")
    out(f"{total_keys / CLUSTER_SLOTS:.2f} keys per slot on average.")
    out(f">>> Performing Cluster Check (using node {first.host}:{first.port})")
    for n in first.nodes:
        kind = "M" if n.is_master else "S"
        out(f"{kind}: {n.node_id} {n.addr}")
        if n.slots:
            out(f"   slots:[{format_ranges(n.slots)}] ({n.slot_count} slots) {n.role}")
    if len({slot_map(v.nodes) for v in views}) == 1:
        out("[OK] All nodes agree about slots configuration.")
    else:
        out("[ERR] Nodes don't agree about configuration!")
        ok = False
    out(">>> Check for open slots...")
    open_slots = sorted({s for v in views for s in v.myself.open_slots})
    if open_slots:
        out(f"[WARNING] Open slots: {' '.join(open_slots)}")
        ok = False
    from cluster.fix import misplaced_key_lines  # keys on masters that do not own their slot

    for line in misplaced_key_lines(views):
        out(line)
        ok = False
    out(">>> Check slots coverage...")
    covered = sum(n.slot_count for n in first.nodes if n.is_master)
    if covered == CLUSTER_SLOTS:
        out(f"[OK] All {CLUSTER_SLOTS} slots covered.")
    else:
        out(f"[ERR] Not all {CLUSTER_SLOTS} slots are covered by nodes.")
        ok = False
    return ok
