"""The INFO text, section by section, with Redis 7.0.15's field names in Redis's order.

Clients and tools parse INFO by field name, and some (redis-cli, monitoring exporters) by section
too, so every section lists exactly the fields ``genRedisInfoString`` emits, in its order, with
``\\r\\n`` line ends and one blank line between sections. Values rcsim cannot know (allocator
internals, fork and AOF figures) hold the numbers an idle Redis without persistence shows.
Memory figures come from the keyspace's own estimates (``Database.used_bytes``) plus a fixed
base; process facts (pid, RSS, CPU times) come from ``node.host``, the injectable OS seam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from node.state import NodeState

# Sections in Redis's output order; "default" (and no argument) omits the two noisy ones.
SECTIONS = (
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
)
DEFAULT_SECTIONS = frozenset(SECTIONS) - {"commandstats", "latencystats"}
_TITLES = {"cpu": "CPU"}

# What an empty Redis 7.0 reports as used_memory at start-up (``used_memory_startup``).
BASE_MEMORY_BYTES = 876304
REDIS_BUILD_ID = "ae4d7c971a948f0"
LRU_CLOCK_MAX = (1 << 24) - 1


def select_sections(args: list[str]) -> set[str]:
    """``genInfoSectionDict``: names, ``all``, ``everything`` and ``default`` may be mixed;
    unknown names select nothing."""
    if not args:
        return set(DEFAULT_SECTIONS)
    chosen: set[str] = set()
    for arg in args:
        lowered = arg.lower()
        if lowered in ("all", "everything"):
            chosen.update(SECTIONS)
        elif lowered == "default":
            chosen.update(DEFAULT_SECTIONS)
        else:
            chosen.add(lowered)
    return chosen


def render(node: NodeState, sections: set[str]) -> str:
    """The INFO reply for the chosen sections."""
    parts = []
    for name in SECTIONS:
        if name not in sections:
            continue
        title = _TITLES.get(name, name.capitalize())
        lines = [f"# {title}\r\n"]
        lines.extend(f"{key}:{value}\r\n" for key, value in _GENERATORS[name](node))
        parts.append("".join(lines))
    return "\r\n".join(parts)


def bytes_to_human(n: int) -> str:
    """``bytesToHuman``: 1023B, 1.00K, 895.04K, 6.61M, 23.54G..."""
    if n < 1024:
        return f"{n}B"
    for unit, power in (("K", 1), ("M", 2), ("G", 3), ("T", 4), ("P", 5)):
        if n < 1024 ** (power + 1):
            return "%.2f%s" % (n / 1024**power, unit)
    return f"{n}B"


def used_memory(node: NodeState) -> int:
    return BASE_MEMORY_BYTES + sum(db.used_bytes for db in node.dbs)


Fields = list[tuple[str, object]]


def _server(node: NodeState) -> Fields:
    from node.state import RCSIM_VERSION, REDIS_VERSION

    host = node.host
    uptime_s = max(0, (node.now_ms - node.start_ms) // 1000)
    hz = node.config.get("hz")
    return [
        ("redis_version", REDIS_VERSION),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", REDIS_BUILD_ID),
        ("redis_mode", "cluster" if node.cluster_enabled else "standalone"),
        ("os", host.os_name),
        ("arch_bits", 64),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", "epoll"),
        ("atomicvar_api", "c11-builtin"),
        ("gcc_version", "0.0.0"),
        ("process_id", host.pid),
        ("process_supervised", "no"),
        ("run_id", node.run_id),
        ("tcp_port", node.tcp_port),
        ("server_time_usec", node.now_ms * 1000),
        ("uptime_in_seconds", uptime_s),
        ("uptime_in_days", uptime_s // 86400),
        ("hz", hz),
        ("configured_hz", hz),
        ("lru_clock", (node.now_ms // 1000) & LRU_CLOCK_MAX),
        ("executable", host.executable),
        ("config_file", node.config.source_file or ""),
        ("io_threads_active", 0),
        ("rcsim_version", RCSIM_VERSION),
    ]


def _clients(node: NodeState) -> Fields:
    blocked = len(node.blocking)
    return [
        ("connected_clients", len(node.clients)),
        ("cluster_connections", 0),
        ("maxclients", node.config.get("maxclients")),
        ("client_recent_max_input_buffer", 0),
        ("client_recent_max_output_buffer", 0),
        ("blocked_clients", blocked),
        ("tracking_clients", 0),
        ("clients_in_timeout_table", node.blocking.timeout_count()),
    ]


def _memory(node: NodeState) -> Fields:
    host = node.host
    used = used_memory(node)
    dataset = used - BASE_MEMORY_BYTES
    rss = host.rss_bytes() or used
    maxmemory = int(node.config.get("maxmemory"))
    frag = rss / used if used else 0.0
    return [
        ("used_memory", used),
        ("used_memory_human", bytes_to_human(used)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", bytes_to_human(rss)),
        ("used_memory_peak", used),
        ("used_memory_peak_human", bytes_to_human(used)),
        ("used_memory_peak_perc", "100.00%"),
        ("used_memory_overhead", BASE_MEMORY_BYTES),
        ("used_memory_startup", BASE_MEMORY_BYTES),
        ("used_memory_dataset", dataset),
        ("used_memory_dataset_perc", "%.2f%%" % (100.0 * dataset / used)),
        ("allocator_allocated", used),
        ("allocator_active", used),
        ("allocator_resident", rss),
        ("total_system_memory", host.total_system_memory),
        ("total_system_memory_human", bytes_to_human(host.total_system_memory)),
        ("used_memory_lua", 32768),
        ("used_memory_vm_eval", 32768),
        ("used_memory_lua_human", "32.00K"),
        ("used_memory_scripts_eval", 0),
        ("number_of_cached_scripts", 0),
        ("number_of_functions", 0),
        ("number_of_libraries", 0),
        ("used_memory_vm_functions", 32768),
        ("used_memory_vm_total", 65536),
        ("used_memory_vm_total_human", "64.00K"),
        ("used_memory_functions", 0),
        ("used_memory_scripts", 0),
        ("used_memory_scripts_human", "0B"),
        ("maxmemory", maxmemory),
        ("maxmemory_human", bytes_to_human(maxmemory)),
        ("maxmemory_policy", node.config.get("maxmemory-policy")),
        ("allocator_frag_ratio", "1.00"),
        ("allocator_frag_bytes", 0),
        ("allocator_rss_ratio", "%.2f" % frag),
        ("allocator_rss_bytes", rss - used),
        ("rss_overhead_ratio", "1.00"),
        ("rss_overhead_bytes", 0),
        ("mem_fragmentation_ratio", "%.2f" % frag),
        ("mem_fragmentation_bytes", rss - used),
        ("mem_not_counted_for_evict", 0),
        ("mem_replication_backlog", 0),
        ("mem_total_replication_buffers", 0),
        ("mem_clients_slaves", 0),
        ("mem_clients_normal", 0),
        ("mem_cluster_links", 0),
        ("mem_aof_buffer", 0),
        ("mem_allocator", "libc"),
        ("active_defrag_running", 0),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", 0),
    ]


def _persistence(node: NodeState) -> Fields:
    return [
        ("loading", 0),
        ("async_loading", 0),
        ("current_cow_peak", 0),
        ("current_cow_size", 0),
        ("current_cow_size_age", 0),
        ("current_fork_perc", "0.00"),
        ("current_save_keys_processed", 0),
        ("current_save_keys_total", 0),
        ("rdb_changes_since_last_save", node.dirty),
        ("rdb_bgsave_in_progress", 0),
        ("rdb_last_save_time", node.last_save_s),
        ("rdb_last_bgsave_status", "ok"),
        ("rdb_last_bgsave_time_sec", -1),
        ("rdb_current_bgsave_time_sec", -1),
        ("rdb_saves", 0),
        ("rdb_last_cow_size", 0),
        ("rdb_last_load_keys_expired", 0),
        ("rdb_last_load_keys_loaded", 0),
        ("aof_enabled", 0),
        ("aof_rewrite_in_progress", 0),
        ("aof_rewrite_scheduled", 0),
        ("aof_last_rewrite_time_sec", -1),
        ("aof_current_rewrite_time_sec", -1),
        ("aof_last_bgrewrite_status", "ok"),
        ("aof_rewrites", 0),
        ("aof_rewrites_consecutive_failures", 0),
        ("aof_last_write_status", "ok"),
        ("aof_last_cow_size", 0),
        ("module_fork_in_progress", 0),
        ("module_fork_last_cow_size", 0),
    ]


def _stats(node: NodeState) -> Fields:
    from node.pubsub import server_counts

    s = node.stats
    pubsub_channels, pubsub_patterns, pubsubshard_channels = server_counts(node)
    return [
        ("total_connections_received", s.total_connections_received),
        ("total_commands_processed", s.total_commands_processed),
        ("instantaneous_ops_per_sec", 0),
        ("total_net_input_bytes", s.total_net_input_bytes),
        ("total_net_output_bytes", s.total_net_output_bytes),
        ("total_net_repl_input_bytes", 0),
        ("total_net_repl_output_bytes", 0),
        ("instantaneous_input_kbps", "0.00"),
        ("instantaneous_output_kbps", "0.00"),
        ("instantaneous_input_repl_kbps", "0.00"),
        ("instantaneous_output_repl_kbps", "0.00"),
        ("rejected_connections", s.rejected_connections),
        ("sync_full", node.repl.stat_sync_full),
        ("sync_partial_ok", node.repl.stat_sync_partial_ok),
        ("sync_partial_err", node.repl.stat_sync_partial_err),
        ("expired_keys", s.expired_keys),
        ("expired_stale_perc", "0.00"),
        ("expired_time_cap_reached_count", 0),
        ("expire_cycle_cpu_milliseconds", 0),
        ("evicted_keys", 0),
        ("evicted_clients", 0),
        ("total_eviction_exceeded_time", 0),
        ("current_eviction_exceeded_time", 0),
        ("keyspace_hits", s.keyspace_hits),
        ("keyspace_misses", s.keyspace_misses),
        ("pubsub_channels", pubsub_channels),
        ("pubsub_patterns", pubsub_patterns),
        ("pubsubshard_channels", pubsubshard_channels),
        ("latest_fork_usec", 0),
        ("total_forks", 0),
        ("migrate_cached_sockets", 0),
        ("slave_expires_tracked_keys", 0),
        ("active_defrag_hits", 0),
        ("active_defrag_misses", 0),
        ("active_defrag_key_hits", 0),
        ("active_defrag_key_misses", 0),
        ("total_active_defrag_time", 0),
        ("current_active_defrag_time", 0),
        ("tracking_total_keys", 0),
        ("tracking_total_items", 0),
        ("tracking_total_prefixes", 0),
        ("unexpected_error_replies", s.unexpected_error_replies),
        ("total_error_replies", s.total_error_replies),
        ("dump_payload_sanitizations", 0),
        ("total_reads_processed", s.total_commands_processed),
        ("total_writes_processed", s.total_commands_processed),
        ("io_threaded_reads_processed", 0),
        ("io_threaded_writes_processed", 0),
        ("reply_buffer_shrinks", 0),
        ("reply_buffer_expands", 0),
    ]


def _replication(node: NodeState) -> Fields:
    from node.replication.info import info_fields

    return info_fields(node)


def _cpu(node: NodeState) -> Fields:
    sys_s, user_s, child_sys_s, child_user_s = node.host.cpu_times()
    return [
        ("used_cpu_sys", "%.6f" % sys_s),
        ("used_cpu_user", "%.6f" % user_s),
        ("used_cpu_sys_children", "%.6f" % child_sys_s),
        ("used_cpu_user_children", "%.6f" % child_user_s),
        ("used_cpu_sys_main_thread", "%.6f" % sys_s),
        ("used_cpu_user_main_thread", "%.6f" % user_s),
    ]


def _modules(node: NodeState) -> Fields:
    return []


def _served_commands(node: NodeState):
    """Every served command, then its subcommands (``cmdstat_config|get``), in name order."""
    from node.protocol.command_table import served_commands

    for command in served_commands(node.commands):
        if command.handler is not None:
            yield command
        for name in sorted(command.subcommands):
            yield command.subcommands[name]


def _fullname(command) -> str:
    """Redis's ``fullname``: subcommand rows are already named ``config|get``."""
    return command.name


def _commandstats(node: NodeState) -> Fields:
    """``cmdstat_<name>:calls=..,usec=..,usec_per_call=%.2f,rejected_calls=..,failed_calls=..``."""
    out: Fields = []
    for command in _served_commands(node):
        calls, nanoseconds, rejected, failed = command.stats
        if calls or rejected or failed:
            usec = nanoseconds // 1000
            per_call = nanoseconds / 1000 / calls if calls else 0.0
            out.append(
                (
                    f"cmdstat_{_fullname(command)}",
                    f"calls={calls},usec={usec},usec_per_call={per_call:.2f},"
                    f"rejected_calls={rejected},failed_calls={failed}",
                )
            )
    return out


def _errorstats(node: NodeState) -> Fields:
    return [
        (f"errorstat_{prefix}", f"count={count}")
        for prefix, count in sorted(node.stats.errors.items())
    ]


def _latencystats(node: NodeState) -> Fields:
    """``latency_percentiles_usec_<name>:p50=..,p99=..,p99.9=..``. rcsim keeps no per-call
    histogram, so every percentile shows the command's mean latency."""
    if not node.config.get_bool("latency-tracking"):
        return []
    percentiles = node.config.get("latency-tracking-info-percentiles").split()
    out: Fields = []
    for command in _served_commands(node):
        calls, nanoseconds = command.stats[0], command.stats[1]
        if calls:
            mean = nanoseconds / 1000 / calls
            value = ",".join(f"p{p}={mean:.3f}" for p in percentiles)
            out.append((f"latency_percentiles_usec_{_fullname(command)}", value))
    return out


def _cluster(node: NodeState) -> Fields:
    return [("cluster_enabled", 1 if node.cluster_enabled else 0)]


def _keyspace(node: NodeState) -> Fields:
    out: Fields = []
    now = node.now_ms
    for db in node.dbs:
        keys, expires = len(db.data), len(db.expires)
        if keys or expires:
            remaining = [when - now for when in db.expires.values() if when > now]
            avg_ttl = sum(remaining) // len(remaining) if remaining else 0
            out.append((f"db{db.id}", f"keys={keys},expires={expires},avg_ttl={avg_ttl}"))
    return out


_GENERATORS = {
    "server": _server,
    "clients": _clients,
    "memory": _memory,
    "persistence": _persistence,
    "stats": _stats,
    "replication": _replication,
    "cpu": _cpu,
    "modules": _modules,
    "commandstats": _commandstats,
    "errorstats": _errorstats,
    "latencystats": _latencystats,
    "cluster": _cluster,
    "keyspace": _keyspace,
}
