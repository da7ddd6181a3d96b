"""A tiny discrete-event network for ClusterState objects: virtual time, seeded, no sockets.

Each node ticks at its own ``next_deadline_ms()``; every ``Send`` is encoded with
``gossip.wire`` and decoded by the receiving link's ``FrameDecoder`` after ``delay_ms``;
``Connect`` to a known address opens a link pair (``on_link_accepted`` on the target, then
``on_link_connected``), to an unknown or isolated one fails with ``on_link_closed``.
``isolate(name)`` silently drops everything to and from a node (its process keeps running),
``heal(name)`` ends that; ``kill(name)`` also stops its clock (a SIGKILLed or frozen process)
until ``heal``. ``offsets[name]`` is fed to the node's core as its replication offset before
every input, and ``after_step`` hooks run after every event (invariant checks).
Deliveries and non-effect outputs are logged with their times.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from gossip import ClusterState, FrameDecoder, GossipConfig, encode
from gossip.messages import Message
from gossip.outbox import Connect, Disconnect, Output, SaveConfig, Send
from gossip.slots import CLUSTER_SLOTS

T0 = 1_700_000_000_000
IP = "127.0.0.1"


@dataclass
class SimNode:
    name: str
    state: ClusterState
    port: int
    ticks: list[int] = field(default_factory=list)
    events: list[tuple[int, Output]] = field(default_factory=list)
    saves: int = 0

    @property
    def id(self) -> str:
        return self.state.my_id

    def first_event(self, kind: type, **match: object) -> int | None:
        """Time of the first logged event of ``kind`` whose fields equal ``match``."""
        for t, ev in self.events:
            if isinstance(ev, kind) and all(getattr(ev, k) == v for k, v in match.items()):
                return t
        return None


@dataclass
class Delivery:
    time: int
    src: str
    dst: str
    message: Message


class Sim:
    def __init__(self, seed: int = 1, node_timeout_ms: int = 2000, delay_ms: int = 1) -> None:
        self.now = T0
        self.rng = random.Random(seed)
        self.node_timeout_ms = node_timeout_ms
        self.delay_ms = delay_ms
        self.nodes: dict[str, SimNode] = {}
        self.isolated: set[str] = set()
        self.dead: set[str] = set()
        self.offsets: dict[str, int] = {}
        self.after_step: list[Callable[[], None]] = []
        self.touched: set[str] = set()  # nodes that took an input since the last step hooks
        self.deliveries: list[Delivery] = []
        self._queue: list[tuple[int, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._by_addr: dict[tuple[str, int], str] = {}
        # (node, link id) -> (peer node, peer's link id) for each established link end
        self._pipes: dict[tuple[str, int], tuple[str, int]] = {}
        self._decoders: dict[tuple[str, int], FrameDecoder] = {}

    # ------------------------------------------------------------------ setup

    def add_node(self, name: str, port: int, **config: object) -> SimNode:
        cfg = GossipConfig(
            port=port, cport=port + 10000, node_timeout_ms=self.node_timeout_ms, **config
        )
        state = ClusterState(cfg, random.Random(self.rng.getrandbits(32)), self.now)
        node = SimNode(name, state, port)
        self.nodes[name] = node
        self._by_addr[(IP, port + 10000)] = name
        self._at(self.now + (len(self.nodes) * 37) % 100, lambda: self._tick(name))
        self.drain(name)
        return node

    def isolate(self, name: str) -> None:
        self.isolated.add(name)

    def heal(self, name: str) -> None:
        self.isolated.discard(name)
        if name in self.dead:
            self.dead.discard(name)
            self._at(self.now, lambda: self._tick(name))

    def kill(self, name: str) -> None:
        """The node stops: no ticks, nothing in or out (its state is kept for ``heal``)."""
        self.isolated.add(name)
        self.dead.add(name)

    def _feed(self, name: str) -> None:
        offset = self.offsets.get(name)
        if offset is not None:
            self.nodes[name].state.set_replication(offset)

    # ------------------------------------------------------------------ running

    def _at(self, when: int, fn: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (when, next(self._seq), fn))

    def _tick(self, name: str) -> None:
        if name in self.dead:
            return
        node = self.nodes[name]
        self._feed(name)
        node.ticks.append(self.now)
        node.state.on_tick(self.now)
        self.drain(name)
        self._at(node.state.next_deadline_ms(), lambda: self._tick(name))

    def run_until(self, when: int) -> None:
        while self._queue and self._queue[0][0] <= when:
            t, _, fn = heapq.heappop(self._queue)
            self.now = t
            fn()
            for hook in self.after_step:
                hook()
            self.touched.clear()
        self.now = when

    def run_for(self, ms: int) -> None:
        self.run_until(self.now + ms)

    def run_until_true(
        self, predicate: Callable[[], bool], limit_ms: int, step_ms: int = 100
    ) -> int:
        """Run in steps until ``predicate()``; returns the elapsed ms (asserts the limit)."""
        start = self.now
        while not predicate():
            assert self.now - start < limit_ms, f"not reached within {limit_ms} ms"
            self.run_for(step_ms)
        return self.now - start

    def call(self, name: str, fn: Callable[[ClusterState], object]) -> object:
        """Run a command on a node now and carry out its outbox."""
        self._feed(name)
        result = fn(self.nodes[name].state)
        self.drain(name)
        return result

    # ------------------------------------------------------------------ outbox

    def drain(self, name: str) -> None:
        node = self.nodes[name]
        self.touched.add(name)
        for out in node.state.drain():
            if isinstance(out, Send):
                self._send(name, out.link_id, out.message)
            elif isinstance(out, Connect):
                self._connect(name, out)
            elif isinstance(out, Disconnect):
                self._disconnect(name, out.link_id)
            elif isinstance(out, SaveConfig):
                node.saves += 1
            else:
                node.events.append((self.now, out))

    def _blocked(self, a: str, b: str | None) -> bool:
        return a in self.isolated or b is None or b in self.isolated

    def _connect(self, name: str, out: Connect) -> None:
        target = self._by_addr.get((out.ip, out.cport))

        def attempt() -> None:
            src = self.nodes[name].state
            if out.link_id not in src.links:
                return
            if self._blocked(name, target):
                src.on_link_closed(out.link_id, self.now)
                self.drain(name)
                return
            assert target is not None
            remote = self.nodes[target].state.on_link_accepted(IP, IP, self.now)
            self._pipes[(name, out.link_id)] = (target, remote)
            self._pipes[(target, remote)] = (name, out.link_id)
            self._decoders[(name, out.link_id)] = FrameDecoder()
            self._decoders[(target, remote)] = FrameDecoder()
            src.on_link_connected(out.link_id, self.now)
            self.drain(target)
            self.drain(name)

        self._at(self.now + self.delay_ms, attempt)

    def _send(self, name: str, link_id: int, message: Message) -> None:
        frame = encode(message)

        def deliver() -> None:
            peer = self._pipes.get((name, link_id))
            if peer is None or self._blocked(name, peer[0]):
                return
            dst, remote = peer
            self._feed(dst)
            for msg in self._decoders[peer].feed(frame):
                self.deliveries.append(Delivery(self.now, name, dst, msg))
                self.nodes[dst].state.on_message(remote, msg, self.now)
            self.drain(dst)

        self._at(self.now + self.delay_ms, deliver)

    def _disconnect(self, name: str, link_id: int) -> None:
        peer = self._pipes.pop((name, link_id), None)
        if peer is None:
            return
        self._pipes.pop(peer, None)
        if self._blocked(name, peer[0]):
            return  # the FIN is lost too; the peer finds out by its own timeouts

        def closed() -> None:
            self.nodes[peer[0]].state.on_link_closed(peer[1], self.now)
            self.drain(peer[0])

        self._at(self.now + self.delay_ms, closed)

    # ------------------------------------------------------------------ checks

    def known_ids(self, name: str) -> set[str]:
        st = self.nodes[name].state
        return {n.node_id for n in st.nodes.values() if not n.in_handshake}

    def converged(self, names: list[str] | None = None) -> bool:
        names = names or list(self.nodes)
        ids = {self.nodes[n].id for n in names}
        first = self.nodes[names[0]].state.slots
        return all(
            self.known_ids(n) == ids
            and self.nodes[n].state.slots == first
            and self.nodes[n].state.state_ok
            for n in names
        )


def make_cluster(sim: Sim, count: int, *, base_port: int = 30001, epochs: bool = True,
                 slots: bool = True) -> list[SimNode]:  # fmt: skip
    """Like ``redis-cli --cluster create``: slots spread evenly, config epochs 1..N, then every
    node MEETs the first one."""
    nodes = [sim.add_node(f"n{i}", base_port + i) for i in range(count)]
    for i, node in enumerate(nodes):
        if slots:
            start, end = i * CLUSTER_SLOTS // count, (i + 1) * CLUSTER_SLOTS // count - 1
            sim.call(node.name, lambda st, s=start, e=end: st.add_slot_ranges([(s, e)], sim.now))
        if epochs:
            sim.call(node.name, lambda st, e=i + 1: st.set_config_epoch(e, sim.now))
    for node in nodes[1:]:
        sim.call(node.name, lambda st: st.meet(IP, base_port, base_port + 10000, sim.now))
    return nodes
