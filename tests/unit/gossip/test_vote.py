"""The master's vote (gossip.vote): each of Redis's six rules, one message at a time.

Fixture: I am master A (epoch 1, slots 0-5000); B (epoch 2, slots 5001-10000) is FAIL with
replicas R and D; C (epoch 3) owns the rest. Current epoch 3; R asks in epoch 4.
"""

from __future__ import annotations

import dataclasses

from gossip.messages import FailoverAuthAck, FailoverAuthRequest, MessageFlag, NodeFlag
from gossip.outbox import FailoverEvent, SaveConfig
from tests.unit.gossip.helpers import (
    T0,
    TIMEOUT,
    A,
    B,
    C,
    D,
    R,
    connect_all,
    header,
    line,
    load,
    sends,
)

B_SLOTS = range(5001, 10001)


def _state(me_flags: str = "myself,master", me_slots: str = "0-5000", b_flags: str = "master,fail"):
    st = load(
        [
            line(A, 7000, me_flags, epoch=1, slots=me_slots),
            line(B, 7001, b_flags, epoch=2, slots="5001-10000"),
            line(C, 7002, "master", epoch=3, slots="10001-16383"),
            line(R, 7003, "slave", master=B),
            line(D, 7004, "slave", master=B),
        ],
        current_epoch=3,
    )
    links = connect_all(st, T0)
    return st, links


def _request(sender: str = R, *, epoch: int = 4, config_epoch: int = 2, slots=B_SLOTS,
             master: str | None = B, force: bool = False) -> FailoverAuthRequest:  # fmt: skip
    h = header(
        sender,
        current_epoch=epoch,
        config_epoch=config_epoch,
        slots=slots,
        flags=NodeFlag.REPLICA if master else NodeFlag.MASTER,
        master_id=master,
    )
    if force:
        h = dataclasses.replace(h, mflags=MessageFlag.FORCEACK)
    return FailoverAuthRequest(h)


def _ask(st, links, msg, now_ms=T0 + 10):
    sender = msg.header.sender
    inbound = st.on_link_accepted("127.0.0.1", "127.0.0.1", now_ms)
    st.on_message(inbound, msg, now_ms)
    out = st.drain()
    acks = [s for s in sends(out, FailoverAuthAck) if s.link_id == links[sender]]
    refused = [o.detail for o in out if isinstance(o, FailoverEvent) and o.kind == "vote-refused"]
    return acks, refused, out


def test_a_valid_request_gets_the_vote_recorded_and_fsynced() -> None:
    st, links = _state()
    acks, refused, out = _ask(st, links, _request())
    assert len(acks) == 1 and refused == []
    assert acks[0].message.header.current_epoch == 4
    assert st.last_vote_epoch == st.current_epoch == 4
    assert st.nodes[B].voted_time_ms == T0 + 10
    assert SaveConfig(fsync=True) in out
    assert any(isinstance(o, FailoverEvent) and o.kind == "vote-granted" for o in out)


def test_rule_1_only_slot_owning_masters_vote_and_silently() -> None:
    st, links = _state(me_slots="")
    acks, refused, _ = _ask(st, links, _request())
    assert acks == [] and refused == []  # Redis returns without a word
    st, links = _state(me_flags="myself,slave")
    assert _ask(st, links, _request())[:2] == ([], [])


def test_rule_2_a_request_from_an_older_epoch_is_refused() -> None:
    st, links = _state()
    st.current_epoch = 5
    acks, refused, _ = _ask(st, links, _request(epoch=4))
    assert acks == [] and refused == ["old-epoch"]


def test_rule_3_one_vote_per_epoch() -> None:
    st, links = _state()
    assert len(_ask(st, links, _request())[0]) == 1
    st.nodes[B].voted_time_ms = 0  # so that only rule 3 can refuse the second request
    acks, refused, _ = _ask(st, links, _request(D, epoch=4))
    assert acks == [] and refused == ["already-voted"]
    # A new epoch may get a vote again.
    assert len(_ask(st, links, _request(D, epoch=5))[0]) == 1


def test_rule_4_the_requesters_master_must_be_failed_unless_forceack() -> None:
    st, links = _state(b_flags="master")
    acks, refused, _ = _ask(st, links, _request())
    assert acks == [] and refused == ["master-not-failed"]
    acks, refused, _ = _ask(st, links, _request(force=True, epoch=5))
    assert len(acks) == 1 and refused == []
    # A master asking is no replica at all.
    st, links = _state()
    acks, refused, _ = _ask(st, links, _request(C, master=None, epoch=6, config_epoch=3, slots=()))
    assert acks == [] and refused == ["not-a-replica"]


def test_rule_5_no_second_vote_for_the_same_master_within_two_node_timeouts() -> None:
    st, links = _state()
    assert len(_ask(st, links, _request(R, epoch=4))[0]) == 1
    acks, refused, _ = _ask(st, links, _request(D, epoch=5), T0 + 10 + 2 * TIMEOUT - 1)
    assert acks == [] and refused == ["voted-recently"]
    acks, refused, _ = _ask(st, links, _request(D, epoch=6), T0 + 10 + 2 * TIMEOUT)
    assert len(acks) == 1 and refused == []


def test_rule_6_claimed_slots_with_a_newer_owner_are_refused() -> None:
    st, links = _state()
    # R claims a slot of C (epoch 3) with its master's config epoch 2.
    acks, refused, _ = _ask(st, links, _request(slots=[*B_SLOTS, 10001]))
    assert acks == [] and refused == ["stale-slots"]
    # Equal epochs pass (Redis: owner configEpoch <= request configEpoch).
    acks, refused, _ = _ask(st, links, _request(slots=[10001], config_epoch=3, epoch=5))
    assert len(acks) == 1


def test_acks_count_only_from_slot_owning_masters_of_the_epoch() -> None:
    """The replica side of the vote: election.handle_auth_ack."""
    st = load(
        [
            line(R, 7003, "myself,slave", master=B),
            line(A, 7000, "master", epoch=1, slots="0-5000"),
            line(B, 7001, "master,fail", epoch=2, slots="5001-10000"),
            line(C, 7002, "master", epoch=3, slots="10001-16383"),
            line(D, 7004, "slave", master=B),
        ],
        current_epoch=3,
    )
    st.failover.auth_epoch = 4
    st.failover.auth_time_ms, st.failover.auth_sent = T0, True  # a request is out
    link = st.on_link_accepted("127.0.0.1", "127.0.0.1", T0)
    st.on_message(link, FailoverAuthAck(header(A, current_epoch=3, slots=range(5000))), T0)
    st.on_message(link, FailoverAuthAck(header(D, current_epoch=4, flags=NodeFlag.REPLICA,
                                                master_id=B)), T0)  # fmt: skip
    assert st.failover.auth_count == 0
    st.on_message(link, FailoverAuthAck(header(A, current_epoch=4, slots=range(5001))), T0)
    assert st.failover.auth_count == 1
    assert st.myself.is_replica and st.failover.cant_failover_reason == "waiting-votes"
    st.on_message(link, FailoverAuthAck(header(C, current_epoch=5, slots=range(10001, 16384))), T0)
    assert st.myself.is_master and st.myself.config_epoch == 4  # 2 of 3: elected
    assert st.slot_owner(5001) is st.myself
