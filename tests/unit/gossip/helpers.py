"""Building blocks for message-level tests: a state loaded from nodes.conf text, connected
links, and headers/pings "from" peers, so a test can drive one ClusterState by hand."""

from __future__ import annotations

import random
from collections.abc import Iterable

from gossip import ClusterState, GossipConfig
from gossip.messages import GossipEntry, Header, NodeFlag, Ping, Pong
from gossip.nodesconf import load_nodes_conf
from gossip.outbox import Connect, Output, Send
from gossip.slots import slots_to_bitmap

T0 = 1_700_000_000_000
TIMEOUT = 2000

A = "a" * 40
B = "b" * 40
C = "c" * 40
D = "d" * 40
R = "e" * 40  # a replica in most fixtures


def load(lines: Iterable[str], *, now_ms: int = T0, timeout_ms: int = TIMEOUT,
         current_epoch: int = 0) -> ClusterState:  # fmt: skip
    text = "\n".join([*lines, f"vars currentEpoch {current_epoch} lastVoteEpoch 0"])
    config = GossipConfig(port=7000, cport=17000, node_timeout_ms=timeout_ms)
    return load_nodes_conf(text, config, random.Random(7), now_ms)


def line(node_id: str, port: int, flags: str = "master", master: str = "-", epoch: int = 0,
         slots: str = "") -> str:  # fmt: skip
    return (
        f"{node_id} 127.0.0.1:{port}@{port + 10000} {flags} {master} 0 0 {epoch} connected {slots}"
    )


def connect_all(st: ClusterState, now_ms: int) -> dict[str, int]:
    """Tick once and report every Connect as established: node id -> outbound link id."""
    st.on_tick(now_ms)
    links = {out.node_id: out.link_id for out in st.drain() if isinstance(out, Connect)}
    for link_id in links.values():
        st.on_link_connected(link_id, now_ms)
    st.drain()
    return links


def inbound(st: ClusterState, now_ms: int) -> int:
    return st.on_link_accepted("127.0.0.1", "127.0.0.1", now_ms)


def header(sender: str, *, port: int = 7001, config_epoch: int = 0, current_epoch: int = 0,
           slots: Iterable[int] = (), flags: NodeFlag = NodeFlag.MASTER,
           master_id: str | None = None) -> Header:  # fmt: skip
    return Header(
        sender=sender,
        current_epoch=current_epoch,
        config_epoch=config_epoch,
        flags=flags,
        slots=slots_to_bitmap(slots),
        master_id=master_id,
        repl_offset=0,
        ip="",
        port=port,
        cport=port + 10000,
        hostname="",
        cluster_ok=True,
    )


def entry(node_id: str, flags: NodeFlag = NodeFlag.MASTER, port: int = 7009,
          pong_ms: int = 0) -> GossipEntry:  # fmt: skip
    return GossipEntry(node_id, 0, pong_ms, "127.0.0.1", port, port + 10000, flags)


def ping(h: Header, *gossip: GossipEntry) -> Ping:
    return Ping(h, tuple(gossip))


def pong(h: Header, *gossip: GossipEntry) -> Pong:
    return Pong(h, tuple(gossip))


def sends(outputs: list[Output], kind: type | None = None) -> list[Send]:
    return [
        o for o in outputs if isinstance(o, Send) and (kind is None or isinstance(o.message, kind))
    ]


def of_type(outputs: list[Output], kind: type) -> list[Output]:
    return [o for o in outputs if isinstance(o, kind)]
