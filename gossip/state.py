"""``ClusterState``: one node's view of the cluster, as a pure, sans-I/O state machine.

Theory of operation. The driver owns sockets, the clock and the disk; this object owns every
decision. The driver feeds it inputs, each with the current unix time in ms:

- links: ``on_link_accepted`` (a peer connected to our bus port; returns the link id),
  ``on_link_connected`` / ``on_link_closed`` (outcome of a ``Connect`` it was asked for, or a
  link that dropped), ``on_message`` (a decoded frame from a link);
- time: ``on_tick`` whenever ``next_deadline_ms()`` has passed (every 100 ms, Redis's cron);
- commands: ``meet``, ``add_slots``... from CLUSTER subcommand handlers.

After each call the driver takes ``drain()``: effects to carry out (``Send``, ``Connect``,
``Disconnect``, ``SaveConfig``) and events (``NodeMarkedFail``, ``StateChanged``...), see
``gossip.outbox``. The rules live in small modules named after their job: ``receive`` (one
message), ``cron`` (the tick), ``failure`` (PFAIL/FAIL), ``epochs`` (slot ownership and
config epochs), ``health`` (ok/fail), ``ping`` (what we send), ``admin`` (commands), all on top
of ``table.ClusterTable``'s primitives; ``before_sleep`` does the work they defer, once, at the
end of every public call. Randomness comes only from the ``rng`` passed in, so a
seed replays a run; no module-level mutable state, so many nodes can share one process.

Queries the node needs for routing and replies are plain attributes and small methods:
``myself``, ``nodes``, ``slots`` (slot -> owner id), ``migrating_to``, ``importing_from``,
``state_ok``, ``current_epoch``, ``slot_owner()``; the CLUSTER NODES/INFO/SLOTS/SHARDS texts
and structures come from ``gossip.nodesconf`` and ``gossip.views``.

Failover: ``gossip.election`` (a replica's election, run by the tick), ``gossip.vote`` (a
master's vote), ``gossip.manual_failover`` (CLUSTER FAILOVER, ``start_failover()``) and
``gossip.migration`` (replica migration). The node feeds the core its replication facts
(``set_replication``: offset and data age) before each input, and carries out the
``MyMasterChanged`` / ``PromotedToMaster`` / ``ManualFailoverPause`` events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from gossip import admin, cron, manual_failover, receive
from gossip.before_sleep import cluster_before_sleep
from gossip.config import GossipConfig
from gossip.messages import Message, MessageType, NodeFlag
from gossip.node import ClusterNode
from gossip.ping import publish, send_ping
from gossip.table import ClusterTable

SlotArg = admin.SlotArg


class ClusterState(ClusterTable):
    """Construct with ``ClusterState(config, rng, now_ms)`` for a fresh node (random id; the
    outbox of its first call asks to save nodes.conf), or load one with
    ``gossip.nodesconf.load_nodes_conf``."""

    # ------------------------------------------------------------------- driver inputs

    def on_link_accepted(self, peer_ip: str, local_ip: str, now_ms: int) -> int:
        """A peer connected to our bus port from ``peer_ip`` (to our ``local_ip``)."""
        return self.accept_link(peer_ip, local_ip, now_ms)

    def on_link_connected(self, link_id: int, now_ms: int) -> None:
        """An outbound ``Connect`` succeeded: send the first PING (or MEET, once).

        Like Redis's clusterLinkConnectHandler, a ping that was pending before the reconnect
        keeps its original time, so a flapping link cannot hide a dead node."""
        link = self.links.get(link_id)
        if link is None or link.inbound:
            return
        link.up = True
        node = self.lookup(link.node_id)
        if node is not None:
            old_ping_sent = node.ping_sent_ms
            meet = bool(node.flags & NodeFlag.MEET)
            send_ping(self, link, MessageType.MEET if meet else MessageType.PING, now_ms)
            if old_ping_sent:
                node.ping_sent_ms = old_ping_sent
            node.flags &= ~NodeFlag.MEET
        cluster_before_sleep(self, now_ms)

    def on_link_closed(self, link_id: int, now_ms: int) -> None:
        """A link failed to connect or dropped (unknown ids are ignored). The next tick opens a
        new outbound link. A connect that never came up counts as a ping sent now, as Redis
        does for a synchronous connect error, so an unreachable node still times out."""
        link = self.forget_link(link_id)
        if link is not None and not link.inbound and not link.up:
            node = self.lookup(link.node_id)
            if node is not None and node.ping_sent_ms == 0:
                node.ping_sent_ms = now_ms
        cluster_before_sleep(self, now_ms)

    def on_message(self, link_id: int, message: Message, now_ms: int) -> None:
        receive.process_message(self, link_id, message, now_ms)
        cluster_before_sleep(self, now_ms)

    def on_tick(self, now_ms: int) -> None:
        due = self._election_wake_ms()
        if due is not None and due <= now_ms < self.next_tick_ms:
            # Woken early for an election whose delay just ran out (see next_deadline_ms):
            # only that step, once; the 100 ms cron keeps its own cadence.
            self.early_wake_for = due
            self.todo_handle_failover = True
        else:
            cron.cluster_cron(self, now_ms)
        cluster_before_sleep(self, now_ms)

    def next_deadline_ms(self) -> int:
        """When ``on_tick`` is due next (unix ms): the next 100 ms cron tick, or earlier when a
        scheduled election's request is due before it (Redis sends it at the first cron
        after the delay; sending it on time saves up to a tick of unavailability)."""
        due = self._election_wake_ms()
        return self.next_tick_ms if due is None else due

    def _election_wake_ms(self) -> int | None:
        fo = self.failover
        due = fo.auth_time_ms
        if (
            not fo.auth_sent
            and due != self.early_wake_for
            and self.next_tick_ms - cron.CRON_PERIOD_MS < due < self.next_tick_ms
            and self.myself.is_replica
        ):
            return due
        return None

    def set_config(self, config: GossipConfig, now_ms: int) -> None:
        """CONFIG SET of a cluster directive: new timeouts apply from the next tick."""
        self.apply_config(config)
        self.mark_update_state()
        self.mark_save()
        cluster_before_sleep(self, now_ms)

    # ----------------------------------------------------------------------- commands

    def meet(self, ip: str, port: int, cport: int, now_ms: int) -> None:
        """CLUSTER MEET: raises "Invalid node address specified" for a bad ip or port."""
        admin.meet(self, ip, port, cport, now_ms)
        cluster_before_sleep(self, now_ms)

    def add_slots(self, slots: Iterable[SlotArg], now_ms: int) -> None:
        """CLUSTER ADDSLOTS: slots as ints or raw argv (parsed with Redis's rules)."""
        admin.assign_slots(self, slots, delete=False)
        cluster_before_sleep(self, now_ms)

    def del_slots(self, slots: Iterable[SlotArg], now_ms: int) -> None:
        admin.assign_slots(self, slots, delete=True)
        cluster_before_sleep(self, now_ms)

    def add_slot_ranges(self, pairs: Iterable[tuple[SlotArg, SlotArg]], now_ms: int) -> None:
        """CLUSTER ADDSLOTSRANGE: (start, end) pairs, checked pair by pair like Redis."""
        admin.assign_slot_ranges(self, pairs, delete=False)
        cluster_before_sleep(self, now_ms)

    def del_slot_ranges(self, pairs: Iterable[tuple[SlotArg, SlotArg]], now_ms: int) -> None:
        admin.assign_slot_ranges(self, pairs, delete=True)
        cluster_before_sleep(self, now_ms)

    def flush_slots(self, db_empty: bool, now_ms: int) -> None:
        admin.flush_slots(self, db_empty)
        cluster_before_sleep(self, now_ms)

    def setslot(
        self, args: Sequence[str | bytes], keys_in_slot: Callable[[int], int], now_ms: int
    ) -> None:
        """CLUSTER SETSLOT with its argv after the subcommand name (slot, action[, id])."""
        admin.setslot(self, args, keys_in_slot, now_ms)
        cluster_before_sleep(self, now_ms)

    def set_slot_migrating(self, slot: SlotArg, node_id: str, now_ms: int) -> None:
        self.setslot([str(slot), "migrating", node_id], lambda _s: 0, now_ms)

    def set_slot_importing(self, slot: SlotArg, node_id: str, now_ms: int) -> None:
        self.setslot([str(slot), "importing", node_id], lambda _s: 0, now_ms)

    def set_slot_stable(self, slot: SlotArg, now_ms: int) -> None:
        self.setslot([str(slot), "stable"], lambda _s: 0, now_ms)

    def set_slot_node(self, slot: SlotArg, node_id: str, keys_in_slot: int, now_ms: int) -> None:
        self.setslot([str(slot), "node", node_id], lambda _s: keys_in_slot, now_ms)

    def forget(self, node_id: str | bytes, now_ms: int) -> None:
        """CLUSTER FORGET: drop the node and ban it from gossip for 60 s."""
        admin.forget(self, node_id, now_ms)
        cluster_before_sleep(self, now_ms)

    def reset(self, hard: bool, now_ms: int, db_empty: bool = True) -> None:
        admin.reset(self, hard, db_empty)
        cluster_before_sleep(self, now_ms)

    def set_config_epoch(self, epoch: int, now_ms: int) -> None:
        admin.set_config_epoch(self, epoch)
        cluster_before_sleep(self, now_ms)

    def bump_epoch(self, now_ms: int) -> tuple[str, int]:
        result = admin.bump_epoch(self)
        cluster_before_sleep(self, now_ms)
        return result

    def replicate(self, node_id: str | bytes, db_empty: bool, now_ms: int) -> None:
        """CLUSTER REPLICATE (state only: the replication link is another layer's job)."""
        admin.replicate(self, node_id, db_empty)
        cluster_before_sleep(self, now_ms)

    def save_config(self, now_ms: int) -> None:
        """CLUSTER SAVECONFIG: ask the driver to write and fsync nodes.conf now."""
        self.mark_save(fsync=True)
        cluster_before_sleep(self, now_ms)

    def publish(self, channel: bytes, message: bytes, now_ms: int, *, shard: bool = False) -> None:
        """Propagate a PUBLISH (or SPUBLISH with ``shard``) over the bus."""
        publish(self, channel, message, shard=shard)
        cluster_before_sleep(self, now_ms)

    def start_failover(self, mode: str, now_ms: int) -> None:
        """CLUSTER FAILOVER ["" | "force" | "takeover"]: raises Redis's refusals."""
        manual_failover.start(self, mode, now_ms)
        cluster_before_sleep(self, now_ms)

    def set_replication(self, offset: int, data_age_ms: int = 0) -> None:
        """Myself's replication offset (as master: produced; as replica: processed) and, for a
        replica, ms since its master link was last usable. Cheap: call before every input."""
        self.repl_offset = offset
        self.repl_data_age_ms = data_age_ms

    # ------------------------------------------------------------------------ queries

    @property
    def my_id(self) -> str:
        return self.myself.node_id

    def slot_owner(self, slot: int) -> ClusterNode | None:
        return self.lookup(self.slots[slot])

    def count_failure_reports(self, node_id: str | bytes, now_ms: int) -> int:
        """CLUSTER COUNT-FAILURE-REPORTS; raises "Unknown node" for an unknown id."""
        return admin.count_failure_reports(self, node_id, now_ms)
