"""Hypothesis-generated command sequences over a small key set, sent to rcsim and redis-server.

Every reply must be byte-identical. Keys collide on purpose (three names, two databases) so
commands meet each other's values: wrong types, overwrites, renames onto existing keys, counters
on strings. Expiry uses absolute times far in the future (EXPIREAT/PXAT) so the replies do not
depend on when each server runs them.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEYS = ["k1", "k2", "{k}3"]
VALUES = ["", "0", "1", "-7", "42", "3.5", "abc", "hello world", "9223372036854775807", "1e3"]
FAR_S = 4102444800  # 2100-01-01
FAR_MS = FAR_S * 1000

key = st.sampled_from(KEYS)
value = st.sampled_from(VALUES)
small_int = st.integers(min_value=-5, max_value=20).map(str)


def _set_options():
    return st.lists(
        st.sampled_from(["NX", "XX", "GET", "KEEPTTL", f"EXAT {FAR_S}", f"PXAT {FAR_MS}"]),
        max_size=3,
    ).map(lambda opts: " ".join(opts).split())


command = st.one_of(
    st.tuples(st.just("SET"), key, value).map(list),
    st.builds(lambda k, v, o: ["SET", k, v, *o], key, value, _set_options()),
    st.tuples(st.just("GET"), key).map(list),
    st.tuples(st.sampled_from(["GETDEL", "STRLEN", "INCR", "DECR", "TYPE", "PERSIST"]), key).map(
        list
    ),
    st.tuples(st.sampled_from(["GETSET", "APPEND", "SETNX"]), key, value).map(list),
    st.tuples(st.sampled_from(["INCRBY", "DECRBY"]), key, small_int).map(list),
    st.tuples(st.just("INCRBYFLOAT"), key, st.sampled_from(["0.1", "-2", "1e2", "abc", "3"])).map(
        list
    ),
    st.tuples(st.sampled_from(["GETRANGE", "SUBSTR"]), key, small_int, small_int).map(list),
    st.tuples(st.just("SETRANGE"), key, st.integers(0, 12).map(str), value).map(list),
    st.builds(lambda ks: ["MGET", *ks], st.lists(key, min_size=1, max_size=4)),
    st.builds(
        lambda kv: ["MSET", *[word for pair in kv for word in pair]],
        st.lists(st.tuples(key, value).map(list), min_size=1, max_size=3),
    ),
    st.builds(
        lambda kv: ["MSETNX", *[word for pair in kv for word in pair]],
        st.lists(st.tuples(key, value).map(list), min_size=1, max_size=3),
    ),
    st.builds(lambda ks: ["DEL", *ks], st.lists(key, min_size=1, max_size=3)),
    st.builds(lambda ks: ["EXISTS", *ks], st.lists(key, min_size=1, max_size=3)),
    st.tuples(st.sampled_from(["RENAME", "RENAMENX"]), key, key).map(list),
    st.builds(
        lambda a, b, r: ["COPY", a, b, *r],
        key,
        key,
        st.sampled_from([[], ["REPLACE"], ["DB", "1"]]),
    ),
    st.tuples(st.just("EXPIREAT"), key, st.just(str(FAR_S))).map(list),
    st.tuples(st.sampled_from(["EXPIRETIME", "PEXPIRETIME"]), key).map(list),
    st.tuples(st.just("GETEX"), key, st.sampled_from(["PERSIST", f"EXAT {FAR_S}"])).map(
        lambda t: [t[0], t[1], *t[2].split()]
    ),
    st.tuples(st.just("LCS"), key, key).map(list),
    st.just(["DBSIZE"]),
    st.tuples(st.just("SELECT"), st.sampled_from(["0", "1"])).map(list),
    st.just(["MULTI"]),
    st.just(["EXEC"]),
    st.just(["DISCARD"]),
    st.tuples(st.just("MOVE"), key, st.sampled_from(["0", "1"])).map(list),
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(command, min_size=1, max_size=25))
def test_random_sequences_match_redis(diff, sequence):
    diff.both("DISCARD")  # leave any MULTI a previous example opened
    diff.both("FLUSHALL")
    diff.both("SELECT", "0")
    for args in sequence:
        diff.check(*args)
