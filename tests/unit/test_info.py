"""INFO's text: sections, field order, line endings and the values rcsim can know exactly."""

from __future__ import annotations

import re

import pytest

from node import info
from node.config import Config
from node.core import execute
from node.host import Host
from node.protocol.resp import Verbatim, encode
from node.session import Session
from node.state import RCSIM_VERSION, NodeState
from tests.support.nodes import make_node

NOW_MS = 1_700_000_000_250


@pytest.fixture
def node() -> NodeState:
    state = make_node(Config(), now_ms=NOW_MS - 90_000)
    state.host = Host.fixed()
    state.now_ms = NOW_MS
    return state


@pytest.fixture
def session(node: NodeState) -> Session:
    return Session(node, 1, addr="127.0.0.1:40000")


def run(session: Session, *args: str | bytes) -> object:
    return execute(session, [a if isinstance(a, bytes) else a.encode() for a in args])


def info_text(session: Session, *sections: str) -> str:
    reply = run(session, "INFO", *sections)
    assert type(reply) is Verbatim
    return reply.text.decode()


def parse(text: str) -> dict[str, list[tuple[str, str]]]:
    """Section title -> [(field, value)], asserting the wire layout on the way."""
    assert "\n" not in text.replace("\r\n", "")
    out: dict[str, list[tuple[str, str]]] = {}
    for block in text.split("\r\n\r\n"):
        lines = block.split("\r\n")
        if lines[-1] == "":
            lines.pop()
        assert lines[0].startswith("# ")
        out[lines[0][2:]] = [tuple(line.split(":", 1)) for line in lines[1:]]  # type: ignore[misc]
    return out


def test_default_sections_in_redis_order(session):
    titles = list(parse(info_text(session)))
    assert titles == [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Modules",
        "Errorstats",
        "Cluster",
        "Keyspace",
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], set(info.DEFAULT_SECTIONS)),
        (["default"], set(info.DEFAULT_SECTIONS)),
        (["all"], set(info.SECTIONS)),
        (["everything"], set(info.SECTIONS)),
        (["default", "commandstats"], set(info.DEFAULT_SECTIONS) | {"commandstats"}),
        (["KEYSPACE", "Cluster"], {"keyspace", "cluster"}),
        (["nosuch"], {"nosuch"}),
    ],
)
def test_select_sections(args, expected):
    assert info.select_sections(args) == expected


def test_sections_are_separated_by_one_blank_line_and_end_with_crlf(session):
    text = info_text(session, "cluster", "keyspace")
    assert text == "# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\n"
    assert info_text(session, "nosuch") == ""


def test_reply_is_bulk_in_resp2_and_verbatim_in_resp3(session):
    reply = run(session, "INFO", "cluster")
    assert encode(reply, False) == b"$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"
    assert encode(reply, True) == b"=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n"


def test_server_section_fields(node, session):
    fields = dict(parse(info_text(session, "server"))["Server"])
    names = [name for name, _ in parse(info_text(session, "server"))["Server"]]
    assert names[:4] == ["redis_version", "redis_git_sha1", "redis_git_dirty", "redis_build_id"]
    assert names[-1] == "rcsim_version"
    assert fields["redis_version"] == "7.0.15"
    assert fields["rcsim_version"] == RCSIM_VERSION
    assert fields["redis_mode"] == "standalone"
    assert fields["arch_bits"] == "64"
    assert fields["process_id"] == "1"
    assert fields["os"] == "Linux 0.0.0 x86_64"
    assert fields["run_id"] == node.run_id and re.fullmatch("[0-9a-f]{40}", node.run_id)
    assert fields["tcp_port"] == "6379"
    assert fields["uptime_in_seconds"] == "90"
    assert fields["uptime_in_days"] == "0"
    assert fields["hz"] == "10"
    assert fields["server_time_usec"] == str(NOW_MS * 1000)
    assert fields["executable"] == "/usr/local/bin/rcsim-node"
    assert fields["config_file"] == ""


def test_keyspace_lists_only_non_empty_databases(node, session):
    run(session, "SET", "a", "1")
    run(session, "SET", "b", "1", "PX", "10000")
    run(session, "SET", "c", "1", "PX", "20000")
    run(session, "SELECT", "5")
    run(session, "SET", "x", "1")
    keyspace = parse(info_text(session, "keyspace"))["Keyspace"]
    assert keyspace == [
        ("db0", "keys=3,expires=2,avg_ttl=15000"),
        ("db5", "keys=1,expires=0,avg_ttl=0"),
    ]


def test_stats_and_persistence_follow_the_node(node, session):
    run(session, "SET", "a", "1")
    run(session, "GET", "a")
    run(session, "GET", "missing")
    run(session, "NOSUCHCOMMAND")
    stats = dict(parse(info_text(session, "stats"))["Stats"])
    assert stats["keyspace_hits"] == "1"
    assert stats["keyspace_misses"] == "1"
    assert stats["total_error_replies"] == "1"
    persistence = dict(parse(info_text(session, "persistence"))["Persistence"])
    assert persistence["rdb_changes_since_last_save"] == "1"
    assert persistence["rdb_last_save_time"] == str((NOW_MS - 90_000) // 1000)


def test_commandstats_and_errorstats_lines(session):
    run(session, "SET", "a", "1")
    run(session, "SET", "a")
    run(session, "CONFIG", "GET", "hz")
    run(session, "INCR", "nokey-but-fine")
    run(session, "SET", "s", "x")
    run(session, "INCR", "s")
    text = info_text(session, "commandstats", "errorstats")
    sections = parse(text)
    stats = dict(sections["Commandstats"])
    assert re.fullmatch(
        r"calls=1,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0",
        stats["cmdstat_config|get"],
    )
    assert stats["cmdstat_set"].startswith("calls=2,")
    assert stats["cmdstat_incr"].endswith("rejected_calls=0,failed_calls=1")
    assert "cmdstat_get" not in stats  # never called
    assert dict(sections["Errorstats"]) == {"errorstat_ERR": "count=2"}


def test_memory_uses_keyspace_estimates(node, session):
    before = dict(parse(info_text(session, "memory"))["Memory"])
    run(session, "SET", "k", "v" * 10_000)
    after = dict(parse(info_text(session, "memory"))["Memory"])
    assert int(after["used_memory"]) - int(before["used_memory"]) >= 10_000
    assert after["used_memory_human"] == info.bytes_to_human(int(after["used_memory"]))
    assert after["maxmemory"] == "0" and after["maxmemory_policy"] == "noeviction"
    run(session, "CONFIG", "SET", "maxmemory", "1gb")
    assert dict(parse(info_text(session, "memory"))["Memory"])["maxmemory_human"] == "1.00G"


def test_replication_section_for_a_lone_master(node, session):
    replication = parse(info_text(session, "replication"))["Replication"]
    assert [name for name, _ in replication] == [
        "role",
        "connected_slaves",
        "master_failover_state",
        "master_replid",
        "master_replid2",
        "master_repl_offset",
        "second_repl_offset",
        "repl_backlog_active",
        "repl_backlog_size",
        "repl_backlog_first_byte_offset",
        "repl_backlog_histlen",
    ]
    fields = dict(replication)
    assert fields["role"] == "master"
    assert re.fullmatch("[0-9a-f]{40}", fields["master_replid"])
    assert fields["master_replid2"] == "0" * 40
    assert fields["repl_backlog_size"] == "1048576"


def test_cluster_mode_shows_in_server_and_cluster_sections():
    config = Config()
    config.set("cluster-enabled", "yes", startup=True)
    node = make_node(config, now_ms=NOW_MS)
    node.host = Host.fixed()
    session = Session(node, 1)
    sections = parse(info_text(session, "server", "cluster"))
    assert dict(sections["Server"])["redis_mode"] == "cluster"
    assert sections["Cluster"] == [("cluster_enabled", "1")]


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0B"),
        (1023, "1023B"),
        (1024, "1.00K"),
        (916520, "895.04K"),
        (6926336, "6.61M"),
        (25276502016, "23.54G"),
    ],
)
def test_bytes_to_human(n, text):
    assert info.bytes_to_human(n) == text
