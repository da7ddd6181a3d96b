"""DEBUG's pure parts: digests (checked against values redis-server 7.0.15 computed), POPULATE,
SET-ACTIVE-EXPIRE and the permission check; LOLWUT's deterministic art."""

from __future__ import annotations

import random

import pytest

from node import lolwut
from node.commands.debug import DEBUG_NOT_ALLOWED, value_digest
from node.config import Config
from node.core import execute
from node.protocol.errors import RespError
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node


class FakeList(list):
    type_name = "list"


class FakeSet(set):
    type_name = "set"


class FakeHash(dict):
    type_name = "hash"


class FakeZset(dict):
    type_name = "zset"


# DEBUG DIGEST-VALUE answers from redis-server 7.0.15 for the same values.
@pytest.mark.parametrize(
    ("value", "ttl", "hexdigest"),
    [
        (b"value:0", False, "c15f34c747bf411833c10208c03e1da1bb7da7cf"),
        (b"v", True, "311b17018163335616e089f6b951c82c477335ac"),
        (FakeList([b"a", b"b", b"1"]), False, "981fd62c1655c074205cff40b800bd5a5bfdcd41"),
        (FakeSet({b"a", b"b", b"1"}), False, "e8f32bbb1ad9bf537c8867de4f19fec9e001296d"),
        (FakeHash({b"f": b"v", b"g": b"w"}), False, "d127864ed50239662bf61bafc9bda63c17da5b37"),
        (FakeZset({b"a": 1.5, b"b": 2.0}), False, "445b877af3c3ec83af30529ddbbdda3185172254"),
    ],
)
def test_value_digest_matches_redis(value, ttl, hexdigest):
    assert value_digest(value, ttl).hex() == hexdigest


def node_with_debug(setting: str = "yes") -> NodeState:
    config = Config()
    config.set("enable-debug-command", setting, startup=True)
    return make_node(config, now_ms=1_000_000)


def test_dataset_digest_is_order_independent_and_zero_when_empty():
    a, b = node_with_debug(), node_with_debug()
    sa, sb = Session(a, 1), Session(b, 1)
    assert execute(sa, [b"DEBUG", b"DIGEST"]) == b"0" * 40
    for key in (b"x", b"y", b"z"):
        execute(sa, [b"SET", key, key])
    for key in (b"z", b"x", b"y"):
        execute(sb, [b"SET", key, key])
    assert execute(sa, [b"DEBUG", b"DIGEST"]) == execute(sb, [b"DEBUG", b"DIGEST"])
    execute(sb, [b"PEXPIRE", b"x", b"100000"])
    assert execute(sa, [b"DEBUG", b"DIGEST"]) != execute(sb, [b"DEBUG", b"DIGEST"])


def test_populate_skips_existing_keys_and_pads_or_cuts_values():
    node = node_with_debug()
    session = Session(node, 1)
    execute(session, [b"SET", b"key:1", b"mine"])
    execute(session, [b"DEBUG", b"POPULATE", b"3"])
    assert node.dbs[0].data == {b"key:0": b"value:0", b"key:1": b"mine", b"key:2": b"value:2"}
    execute(session, [b"DEBUG", b"POPULATE", b"1", b"p", b"10"])
    execute(session, [b"DEBUG", b"POPULATE", b"1", b"q", b"2"])
    assert node.dbs[0].data[b"p:0"] == b"value:0\x00\x00\x00"
    assert node.dbs[0].data[b"q:0"] == b"va"
    for bad in ([b"-1"], [b"x"], [b"1", b"z", b"-1"]):
        with pytest.raises(RespError, match="value is out of range, must be positive"):
            _raise(execute(session, [b"DEBUG", b"POPULATE", *bad]))


def _raise(reply: object) -> None:
    if isinstance(reply, RespError):
        raise reply


def test_set_active_expire_stops_the_active_cycle_only():
    node = node_with_debug()
    session = Session(node, 1)
    execute(session, [b"SET", b"k", b"v", b"PX", b"10"])
    execute(session, [b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0"])
    node.now_ms += 1000
    assert node.active_expire() == 0
    assert b"k" in node.dbs[0].data
    execute(session, [b"DEBUG", b"SET-ACTIVE-EXPIRE", b"1"])
    assert node.active_expire() == 1
    assert node.dbs[0].data == {}


@pytest.mark.parametrize(
    ("setting", "addr", "allowed"),
    [
        ("no", "127.0.0.1:5000", False),
        ("yes", "10.0.0.1:5000", True),
        ("local", "127.0.0.1:5000", True),
        ("local", "10.0.0.1:5000", False),
    ],
)
def test_debug_permission(setting, addr, allowed):
    session = Session(node_with_debug(setting), 1, addr=addr)
    reply = execute(session, [b"DEBUG", b"DIGEST"])
    if allowed:
        assert reply == b"0" * 40
    else:
        assert isinstance(reply, RespError) and reply.text == DEBUG_NOT_ALLOWED


def test_change_repl_id_renews_the_replication_id():
    node = node_with_debug()
    before = node.master_replid
    execute(Session(node, 1), [b"DEBUG", b"CHANGE-REPL-ID"])
    assert node.master_replid != before and len(node.master_replid) == 40
    assert node.master_replid2 == "0" * 40


def test_schotter_first_two_rows_are_deterministic():
    # The first two rows of squares use no randomness: any two seeds draw them alike.
    a = lolwut.lolwut5(66, 8, 2, random.Random(1), "7.0.15")
    b = lolwut.lolwut5(66, 8, 2, random.Random(2), "7.0.15")
    assert a == b
    assert a.endswith(b"\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15\n")
    assert lolwut.lolwut5(10, 2, 2, random.Random(0), "7.0.15").decode().split("\n")[:5] == [
        "⠀⡤⠤⠤⠤⡤⠤⠤⠤⡄",
        "⠀⡇⠀⠀⠀⡇⠀⠀⠀⡇",
        "⠀⡧⠤⠤⠤⡧⠤⠤⠤⡇",
        "⠀⡇⠀⠀⠀⡇⠀⠀⠀⡇",
        "⠀⠧⠤⠤⠤⠧⠤⠤⠤⠇",
    ]


def test_skyline_has_one_coloured_cell_per_column_and_row():
    art = lolwut.lolwut6(12, 5, random.Random(3), "7.0.15").split(b"\n")
    assert art[-3:] == [
        b"Dedicated to the 8 bit game developers of past and present.",
        b"Original 8 bit image from Plaguemon by hikikomori. Redis ver. 7.0.15",
        b"",
    ]
    assert all(row.count(b" \x1b[0m") == 12 for row in art[:5])
