"""The latency monitor in virtual time: samples, the dispatcher's hook, DOCTOR and GRAPH texts."""

from __future__ import annotations

import itertools

from node import latency
from node.config import Config
from node.core import execute
from node.protocol.resp import encode
from node.session import Session
from tests.support.nodes import make_node


def test_one_sample_per_second_keeps_the_highest():
    series = latency.LatencySeries()
    series.add(100, 20)
    series.add(100, 30)
    series.add(100, 25)
    series.add(101, 5)
    assert series.samples == [(100, 30), (101, 5)]
    assert series.max_ms == 30


def test_history_is_bounded_but_the_all_time_max_is_not():
    series = latency.LatencySeries()
    series.add(1, 999)
    for second in range(2, 2 + latency.LATENCY_TS_LEN):
        series.add(second, 1)
    assert len(series.samples) == latency.LATENCY_TS_LEN
    assert series.samples[0] == (2, 1)
    assert series.max_ms == 999


def test_samples_need_monitoring_on_and_the_threshold_met():
    events: dict = {}
    latency.add_sample_if_needed(events, 0, "command", 500, 1)
    latency.add_sample_if_needed(events, 100, "command", 99, 1)
    assert events == {}
    latency.add_sample_if_needed(events, 100, "command", 100, 1)
    assert events["command"].samples == [(1, 100)]


def test_reset_counts_events_and_ignores_case():
    events: dict = {}
    for name in ("command", "fast-command"):
        latency.add_sample_if_needed(events, 1, name, 5, 1)
    assert latency.reset(events, ["COMMAND", "nosuch"]) == 1
    assert list(events) == ["fast-command"]
    assert latency.reset(events, None) == 1
    assert events == {}


def test_dispatcher_samples_slow_commands_by_fast_flag():
    ticks = itertools.count(0, 50_000_000)  # every clock read is 50 ms later
    node = make_node(Config(), monotonic_ns=lambda: next(ticks), now_ms=1_000_000)
    session = Session(node, 1)
    execute(session, [b"CONFIG", b"SET", b"latency-monitor-threshold", b"40"])
    execute(session, [b"GET", b"k"])  # fast
    execute(session, [b"KEYS", b"*"])  # not fast
    latest = execute(session, [b"LATENCY", b"LATEST"])
    assert sorted(latest) == [[b"command", 1000, 50, 50], [b"fast-command", 1000, 50, 50]]
    assert execute(session, [b"LATENCY", b"HISTORY", b"command"]) == [[1000, 50]]
    execute(session, [b"CONFIG", b"SET", b"latency-monitor-threshold", b"0"])
    assert execute(session, [b"LATENCY", b"RESET"]) == 2
    execute(session, [b"GET", b"k"])
    assert execute(session, [b"LATENCY", b"LATEST"]) == []


def test_debug_sleep_records_a_command_sample_and_blocks_the_node():
    from node.state import BlockFor

    config = Config()
    config.set("enable-debug-command", "yes", startup=True)
    config.set("latency-monitor-threshold", "10", startup=True)
    node = make_node(config, now_ms=5_000)
    session = Session(node, 1)
    assert encode(execute(session, [b"DEBUG", b"SLEEP", b"0.03"]), False) == b"+OK\r\n"
    assert node.events == [BlockFor(30)]
    assert execute(session, [b"LATENCY", b"LATEST"]) == [[b"command", 5, 30, 30]]


GRAPH_RULE = "-" * 80 + "\n"


def test_graph_of_one_sample_matches_redis():
    series = latency.LatencySeries()
    series.add(99, 30)
    assert latency.graph("command", series, 100) == (
        "command - high 30 ms, low 30 ms (all time high 30 ms)\n"
        + GRAPH_RULE
        + " \n \n \n_\n \n1\ns\n"
    )


def test_graph_scales_samples_into_four_filled_rows_with_labels():
    series = latency.LatencySeries()
    for second, ms in ((97, 10), (98, 20), (99, 30)):
        series.add(second, ms)
    assert latency.graph("command", series, 100) == (
        "command - high 30 ms, low 10 ms (all time high 30 ms)\n"
        + GRAPH_RULE
        + "  #\n _|\n ||\n_||\n   \n321\nsss\n"
    )


def test_doctor_texts():
    assert latency.doctor({}, 0, 10000, 0).startswith("I'm sorry, Dave, I can't do that.")
    assert latency.doctor({}, 10, 10000, 0).startswith(
        "Dave, no latency spike was observed during the lifetime of this Redis instance"
    )
    events: dict = {}
    latency.add_sample_if_needed(events, 10, "command", 30, 98)
    assert latency.doctor(events, 10, 10000, 100) == (
        "Dave, I have observed latency spikes in this Redis instance. You don't mind talking "
        "about it, do you Dave?\n\n"
        "1. command: 1 latency spikes (average 30ms, mean deviation 0ms, period 2.00 sec). "
        "Worst all time event 30ms.\n\n"
        "I have a few advices for you:\n\n"
        "- Check your Slow Log to understand what are the commands you are running which are "
        "too slow to execute. Please check https://redis.io/commands/slowlog for more "
        "information.\n"
        "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a "
        "blocking operation. If you have very large objects that are often deleted, expired, "
        "or evicted, try to fragment those objects into multiple smaller objects.\n"
    )
    assert "Please use 'CONFIG SET slowlog-log-slower-than 5000'" in latency.doctor(
        events, 5, 10000, 100
    )
