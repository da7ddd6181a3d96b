"""Config parsing, validation and rewriting, checked against Redis 7.0.15's rules and texts."""

from __future__ import annotations

import pytest

from node.config import (
    DIRECTIVES,
    Config,
    ConfigError,
    ConfigSetError,
    UnknownDirective,
    memtoull,
    parse_memory,
)

# -- memory values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("100", 100),
        ("1b", 1),
        ("1k", 1000),
        ("1kb", 1024),
        ("1K", 1000),
        ("2KB", 2048),
        ("3m", 3_000_000),
        ("3mb", 3 * 1024**2),
        ("1g", 10**9),
        ("1gb", 1024**3),
        ("10GB", 10 * 1024**3),
        ("", 0),
        ("99999999999999999999", 2**64 - 1),  # strtoull saturates
    ],
)
def test_memtoull_accepts_redis_units(text, value):
    assert memtoull(text) == value


@pytest.mark.parametrize("text", ["-1", "1.5gb", "1xb", "1 gb", "gb1", "1tb", "x"])
def test_memtoull_rejects_what_redis_rejects(text):
    assert memtoull(text) is None


def test_parse_memory_raises_redis_reason():
    assert parse_memory("512mb") == 512 * 1024**2
    with pytest.raises(ConfigError, match="argument must be a memory value"):
        parse_memory("lots")


# -- defaults and CONFIG GET ---------------------------------------------------------------


def test_defaults_are_redis_defaults_for_read_by_tools():
    config = Config()
    assert config.get("maxmemory") == "0"
    assert config.get("maxmemory-policy") == "noeviction"
    assert config.get("appendonly") == "no"
    assert config.get("save") == ""  # rcsim: no persistence (Redis: "3600 1 300 100 60 10000")
    assert config.get("proto-max-bulk-len") == "536870912"
    assert config.get("client-output-buffer-limit") == (
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    )
    assert config.get("latency-tracking-info-percentiles") == "50 99 99.9"
    assert config.get("list-max-ziplist-size") == "-2"  # alias of list-max-listpack-size


def test_every_default_is_accepted_by_its_own_validation():
    config = Config()
    for directive in DIRECTIVES:
        if directive.name == "replicaof":
            continue  # empty means "no master"; Redis itself only accepts "host port"/"no one"
        config.set(directive.name, directive.default, startup=True)
        assert config.get(directive.name) == directive.default, directive.name


def test_config_get_exact_name_is_echoed_as_typed_and_finds_hidden_directives():
    config = Config()
    assert config.get_many(["MAXMEMORY"]) == [("MAXMEMORY", "0")]
    assert config.get_many(["key-load-delay"]) == [("key-load-delay", "0")]
    assert config.get_many(["key-load*"]) == []
    assert config.get_many(["nosuch"]) == []


def test_config_get_glob_lists_aliases_and_deduplicates():
    config = Config()
    names = [name for name, _ in config.get_many(["*read-only*"])]
    assert sorted(names) == ["replica-read-only", "slave-read-only"]
    pairs = config.get_many(["maxmemory", "maxmem*", "MAXMEMORY"])
    names = [name for name, _ in pairs]
    assert sorted(names) == [
        "maxmemory",
        "maxmemory-clients",
        "maxmemory-eviction-tenacity",
        "maxmemory-policy",
        "maxmemory-samples",
    ]


# -- CONFIG SET: values ----------------------------------------------------------------------


def set_one(name: str, value: str) -> Config:
    config = Config()
    config.set_many([(name, value)])
    return config


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("maxmemory", "1gb", "1073741824"),
        ("maxmemory", "", "0"),
        ("maxmemory", "99999999999999999999", "18446744073709551615"),
        ("maxmemory-clients", "10%", "10%"),
        ("hz", "0", "1"),  # clamped, not refused (updateHZ)
        ("hz", "1000", "500"),
        ("appendonly", "YES", "yes"),
        ("loglevel", "WARNING", "warning"),
        ("maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru"),
        ("oom-score-adj", "relative", "yes"),  # configEnumGetName returns the first name
        ("shutdown-on-sigint", "force save", "save force"),
        ("shutdown-on-sigint", "default now", "now"),
        ("notify-keyspace-events", "KEA", "AKE"),
        ("notify-keyspace-events", "Ex", "xE"),
        ("notify-keyspace-events", "g$lshzxet", "g$lshzxet"),
        ("notify-keyspace-events", "g$lshzxetdn", "A"),
        ("notify-keyspace-events", "AKEmn", "AKEm"),
        ("notify-keyspace-events", "mnKE", "nKEm"),
        ("notify-keyspace-events", "nd", "dn"),
        ("save", "100 10 200 20", "100 10 200 20"),
        ("save", "1 0", "1 0"),
        (
            "client-output-buffer-limit",
            "replica 1mb 2mb 3",
            "normal 0 0 0 slave 1048576 2097152 3 pubsub 33554432 8388608 60",
        ),
        ("latency-tracking-info-percentiles", "50 99.99", "50 99.99"),
        ("latency-tracking-info-percentiles", "", ""),
        ("slave-read-only", "no", "no"),
    ],
)
def test_config_set_normalises_as_redis(name, value, shown):
    assert set_one(name, value).get(name) == shown


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("maxclients", "x", "argument couldn't be parsed into an integer"),
        ("hz", " 10", "argument couldn't be parsed into an integer"),
        ("hz", "+10", "argument couldn't be parsed into an integer"),
        ("hz", "010", "argument couldn't be parsed into an integer"),
        ("hz", "99999999999999999999", "argument couldn't be parsed into an integer"),
        ("maxclients", "0", "argument must be between 1 and 4294967295 inclusive"),
        ("maxclients", "4294967296", "argument must be between 1 and 4294967295 inclusive"),
        ("timeout", "-1", "argument must be between 0 and 2147483647 inclusive"),
        (
            "slowlog-log-slower-than",
            "-2",
            "argument must be between -1 and 9223372036854775807 inclusive",
        ),
        (
            "proto-max-bulk-len",
            "18446744073709551615",
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        ("maxmemory", "1.5gb", "argument must be a memory value"),
        ("maxmemory", "-1", "argument must be a memory value"),
        ("maxmemory-clients", "-10", "argument must be a memory or percent value"),
        ("maxmemory-clients", "200%", "percentage argument must be less or equal to 100"),
        ("appendonly", "maybe", "argument must be 'yes' or 'no'"),
        (
            "loglevel",
            "foo",
            "argument(s) must be one of the following: debug, verbose, notice, warning",
        ),
        (
            "shutdown-on-sigint",
            "save nosave",
            "shutdown options SAVE and NOSAVE can't be used simultaneously",
        ),
        ("save", "1 2 3", "Invalid save parameters"),
        ("save", "0 1", "Invalid save parameters"),
        ("save", "100   10", "Invalid save parameters"),
        ("notify-keyspace-events", "Q", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
        (
            "client-output-buffer-limit",
            "master 1 2 3",
            "Invalid client class specified in buffer limit configuration.",
        ),
        (
            "client-output-buffer-limit",
            "normal 1 2",
            "Wrong number of arguments in buffer limit configuration.",
        ),
        (
            "oom-score-adj-values",
            "1 2 3000",
            "Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
        ),
        ("bind", " ".join(["127.0.0.1"] * 17), "Too many bind addresses specified."),
        (
            "latency-tracking-info-percentiles",
            "101",
            "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
        ),
        (
            "cluster-announce-hostname",
            "a_b",
            "Hostnames may only contain alphanumeric characters, hyphens or dots",
        ),
    ],
)
def test_config_set_rejects_with_redis_reason(name, value, reason):
    config = Config()
    with pytest.raises(ConfigSetError) as caught:
        config.set_many([(name, value)], protected_ok=True)
    assert caught.value.reason == reason
    assert caught.value.arg == name


# -- CONFIG SET: several pairs -----------------------------------------------------------------


def test_config_set_is_all_or_nothing():
    config = Config()
    with pytest.raises(ConfigSetError) as caught:
        config.set_many([("maxmemory", "1gb"), ("hz", "x")])
    assert caught.value.arg == "hz"
    assert config.get("maxmemory") == "0"
    changed = config.set_many([("maxmemory", "1gb"), ("hz", "20")])
    assert changed == ["maxmemory", "hz"]
    assert (config.get("maxmemory"), config.get("hz")) == ("1073741824", "20")


def test_config_set_blames_names_as_redis_does():
    config = Config()
    with pytest.raises(ConfigSetError) as caught:
        config.set_many([("MAXCLIENTS", "x")])
    assert caught.value.arg == "maxclients"  # a value error names the directive
    with pytest.raises(ConfigSetError) as caught:
        config.set_many([("slave-read-only", "x")])
    assert caught.value.arg == "slave-read-only"  # an alias is its own entry
    with pytest.raises(ConfigSetError) as caught:
        config.set_many([("maxmemory", "1"), ("MAXMEMORY", "2")])
    assert (caught.value.arg, caught.value.reason) == ("MAXMEMORY", "duplicate parameter")


def test_config_set_alias_and_directive_together_are_not_duplicates():
    config = Config()
    config.set_many([("slave-read-only", "no"), ("replica-read-only", "no")])
    assert config.get("replica-read-only") == "no"


def test_config_set_first_problem_wins_before_any_value_is_parsed():
    config = Config()
    with pytest.raises(ConfigSetError) as caught:
        config.set_many([("port", "x"), ("nosuch", "2")])
    assert caught.value.unknown and caught.value.arg == "nosuch"
    with pytest.raises(ConfigSetError) as caught:
        config.set_many([("maxmemory", "x"), ("databases", "2"), ("nosuch", "1")])
    assert caught.value.reason == "can't set immutable config"
    assert caught.value.arg == "databases"


def test_protected_configs_need_permission():
    config = Config()
    with pytest.raises(ConfigSetError, match="can't set protected config"):
        config.set_many([("dbfilename", "x.rdb")])
    config.set_many([("dbfilename", "x.rdb")], protected_ok=True)
    assert config.get("dbfilename") == "x.rdb"
    with pytest.raises(ConfigSetError, match="dbfilename can't be a path, just a filename"):
        config.set_many([("dbfilename", "a/b")], protected_ok=True)


def test_startup_may_set_immutable_directives_but_unknown_ones_fail():
    config = Config()
    config.set("databases", "4", startup=True)
    assert config.get_int("databases") == 4
    with pytest.raises(ConfigError, match="can't set immutable config"):
        config.set("databases", "5")
    with pytest.raises(UnknownDirective):
        config.set("nosuch", "1", startup=True)


# -- redis.conf files --------------------------------------------------------------------------

CONF = """
# a comment
   port 7001
maxmemory 100mb
requirepass "pass word"
slave-read-only no
save 900 1
save 300 10
notify-keyspace-events "KEA"
include /nonexistent.conf
hz 1000
"""


def test_load_file_text_applies_directives():
    config = Config()
    config.load_file_text(CONF)
    assert config.get_int("port") == 7001
    assert config.get("maxmemory") == str(100 * 1024**2)
    assert config.get("requirepass") == "pass word"
    assert config.get("replica-read-only") == "no"
    assert config.get("save") == "900 1 300 10"  # several save lines add up
    assert config.get("notify-keyspace-events") == "AKE"
    assert config.get("hz") == "500"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nosuch 1\n", "line 1: nosuch: Bad directive or wrong number of arguments"),
        ("\nmaxmemory 1 2\n", "line 2: maxmemory: wrong number of arguments"),
        ("maxmemory lots\n", "line 1: maxmemory: argument must be a memory value"),
        ('requirepass "unbalanced\n', "line 1: Unbalanced quotes in configuration line"),
    ],
)
def test_load_file_text_errors_name_the_line(text, message):
    with pytest.raises(ConfigError) as caught:
        Config().load_file_text(text)
    assert str(caught.value) == message


def test_rewrite_reuses_lines_appends_changes_and_blanks_orphans():
    old = (
        "# my config\n"
        "port 7001\n"
        "slave-read-only yes\n"
        "maxmemory 1mb\n"
        "maxmemory 2mb\n"
        "bogus-directive 1\n"
    )
    config = Config()
    config.load_file_text("port 7001\nmaxmemory 2mb\n")
    config.set_many([("replica-read-only", "no"), ("maxmemory", "3gb"), ("hz", "20")])
    config.set_many([("requirepass", "s3cret")])
    text = config.rewrite_text(old)
    lines = text.split("\n")
    assert lines[0] == "# my config"
    assert lines[1] == "port 7001"
    assert lines[2] == "replica-read-only no"  # the alias line is rewritten in place
    assert lines[3] == "maxmemory 3gb"
    assert lines[4] == ""  # the second maxmemory line is orphaned
    assert lines[5] == "# ??? bogus-directive 1"
    tail = lines[lines.index("# Generated by CONFIG REWRITE") + 1 :]
    assert "hz 20" in tail
    assert 'requirepass "s3cret"' in tail
    assert 'save ""' in tail  # save is always written so Redis's defaults don't come back
    reloaded = Config()
    reloaded.load_file_text(text)
    for name in ("port", "replica-read-only", "maxmemory", "hz", "requirepass", "save"):
        assert reloaded.get(name) == config.get(name), name


def test_rewrite_of_a_fresh_file_only_lists_changes():
    config = Config()
    config.set_many([("maxmemory-policy", "allkeys-lru")])
    text = config.rewrite_text("")
    assert text == '# Generated by CONFIG REWRITE\nmaxmemory-policy allkeys-lru\nsave ""\n'
