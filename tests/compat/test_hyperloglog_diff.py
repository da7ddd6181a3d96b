"""HyperLogLog: rcsim answers and stores byte for byte as redis-server 7.0.15.

An HLL is a string, so after every interesting step the tests compare ``GET`` too: the sparse
opcodes, the dense registers and the cached cardinality in the header must be identical, which
also makes a value written by one server readable by the other. Crafted values (corrupt sparse
runs, odd opcode layouts, cached cardinalities, bad headers) are SET on both servers.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.rawclient import RawClient

NOT_HLL = b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"
INVALID = b"-INVALIDOBJ Corrupted HLL object detected\r\n"
SPARSE_HEADER = b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80"
DENSE_HEADER = b"HYLL\x00\x00\x00\x00" + bytes(7) + b"\x80"


def xzero(n: int) -> bytes:
    return bytes((((n - 1) >> 8) | 0x40, (n - 1) & 0xFF))


def zero(n: int) -> bytes:
    return bytes((n - 1,))


def val(value: int, n: int) -> bytes:
    return bytes((0x80 | ((value - 1) << 2) | (n - 1),))


def elements(prefix: str, n: int) -> list[str]:
    return [f"{prefix}:{i}" for i in range(n)]


def check_value(diff, key: str = "h") -> bytes:
    """GET must be identical on both servers (the stored HLL, byte for byte)."""
    return diff.check("GET", key)


# -- PFADD / PFCOUNT ---------------------------------------------------------------------------


def test_pfadd_creates_sparse_hll(diff):
    diff.check("PFADD", "h", "a", "b", "c")
    check_value(diff)
    diff.check("TYPE", "h")
    diff.check("OBJECT", "ENCODING", "h")
    diff.check("STRLEN", "h")
    diff.check("PFADD", "h", "a")
    diff.check("PFADD", "h", "a", "d")
    check_value(diff)


def test_pfadd_without_elements(diff):
    diff.check("PFADD", "h")
    check_value(diff)
    diff.check("PFADD", "h")
    diff.check("PFCOUNT", "h")
    check_value(diff)


def test_pfcount_caches_cardinality_in_header(diff):
    diff.check("PFCOUNT", "missing")
    diff.check("PFADD", "h", *elements("x", 50))
    check_value(diff)  # cache invalid (top bit set)
    diff.check("PFCOUNT", "h")
    check_value(diff)  # cardinality written into the header
    diff.check("PFCOUNT", "h")
    diff.check("PFADD", "h", "x:1")  # no register changes: cache stays valid
    check_value(diff)
    diff.check("PFADD", "h", "new-one")
    check_value(diff)
    diff.check("PFCOUNT", "h")
    check_value(diff)


def test_cached_cardinality_is_trusted(diff):
    """A valid cache is returned as is, even over a corrupt body (Redis never recomputes)."""
    body = xzero(16000)  # 16,000 registers only: corrupt
    cached = SPARSE_HEADER[:8] + (12345).to_bytes(8, "little")
    diff.check("SET", "h", cached + body)
    diff.check("PFCOUNT", "h")
    diff.check("OBJECT", "ENCODING", "h")  # unshared: raw
    diff.check("SET", "h", SPARSE_HEADER + body)
    diff.check("PFCOUNT", "h")
    diff.check("PFCOUNT", "h", "other")


def test_promotion_to_dense_by_size(diff):
    """Sparse grows until hll-sparse-max-bytes (3000), then the value turns dense."""
    items = elements("p", 4000)
    for i in range(0, len(items), 100):
        diff.check("PFADD", "h", *items[i : i + 100])
        diff.check("PFDEBUG", "ENCODING", "h")
        if i % 500 == 0:
            check_value(diff)
    check_value(diff)
    diff.check("STRLEN", "h")
    diff.check("PFCOUNT", "h")
    check_value(diff)


def test_single_element_adds_match_through_promotion(diff):
    """One PFADD per element: every opcode split and VAL merge of hllSparseSet, in order."""
    rng = random.Random(7)
    for i in range(1500):
        diff.check("PFADD", "h", f"e{rng.random()}")
        if i % 150 == 0:
            check_value(diff)
    check_value(diff)
    diff.check("PFDEBUG", "DECODE", "h")


def test_large_cardinalities_match(diff):
    rng = random.Random(3)
    for key, n in (("a", 10), ("b", 1000), ("c", 20_000)):
        items = [f"{key}{rng.random()}" for _ in range(n)]
        for i in range(0, n, 1000):
            diff.check("PFADD", key, *items[i : i + 1000])
        diff.check("PFCOUNT", key)
        check_value(diff, key)
    diff.check("PFCOUNT", "a", "b", "c")
    diff.check("PFCOUNT", "a", "b", "missing")


def test_binary_and_long_elements(diff):
    values = [b"", b"\x00", b"\xff" * 7, b"12345678", b"\x00" * 9, b"x" * 1000, "é".encode()]
    diff.check("PFADD", "h", *values)
    check_value(diff)
    for v in values:
        diff.check("PFADD", "h", v)
        diff.check("PFADD", "g", v)
    diff.check("PFCOUNT", "h")
    diff.check("PFCOUNT", "g")
    check_value(diff, "g")


def test_pfadd_and_pfcount_on_dense_values(diff):
    diff.check("PFADD", "h", *elements("d", 3000))
    diff.check("PFDEBUG", "ENCODING", "h")
    diff.check("PFADD", "h", *elements("d", 3100))
    check_value(diff)
    diff.check("PFCOUNT", "h")
    diff.check("PFADD", "h", "d:1")
    check_value(diff)


def test_hll_sparse_max_bytes_is_honoured(diff):
    try:
        diff.check("CONFIG", "SET", "hll-sparse-max-bytes", "60")
        diff.check("PFADD", "h", *elements("s", 10))
        check_value(diff)
        diff.check("PFADD", "h", *elements("s", 40))
        diff.check("PFDEBUG", "ENCODING", "h")
        check_value(diff)
        diff.check("CONFIG", "SET", "hll-sparse-max-bytes", "0")
        diff.check("PFADD", "z", "one")
        diff.check("PFDEBUG", "ENCODING", "z")
        check_value(diff, "z")
    finally:
        diff.check("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


# -- PFMERGE -------------------------------------------------------------------------------------


def test_pfmerge_sparse_sources(diff):
    diff.check("PFADD", "a", *elements("a", 40))
    diff.check("PFADD", "b", *elements("b", 60))
    diff.check("PFMERGE", "m", "a", "b", "missing")
    check_value(diff, "m")
    diff.check("PFDEBUG", "ENCODING", "m")
    diff.check("PFCOUNT", "m")
    diff.check("PFMERGE", "a", "b")  # into an existing sparse destination
    check_value(diff, "a")
    diff.check("PFMERGE", "only")  # no sources: an empty HLL
    check_value(diff, "only")
    diff.check("PFMERGE", "only")
    check_value(diff, "only")


def test_pfmerge_promotes_sparse_destination(diff):
    """Merging many sparse registers into a sparse destination promotes it on the way."""
    diff.check("PFADD", "a", *elements("a", 1500))
    diff.check("PFADD", "b", *elements("b", 1500))
    diff.check("PFDEBUG", "ENCODING", "a")
    diff.check("PFMERGE", "m", "a", "b")
    diff.check("PFDEBUG", "ENCODING", "m")
    check_value(diff, "m")
    diff.check("PFCOUNT", "m")


def test_pfmerge_with_dense_source(diff):
    diff.check("PFADD", "d", *elements("d", 5000))
    diff.check("PFADD", "s", *elements("s", 30))
    diff.check("PFMERGE", "s", "d")
    diff.check("PFDEBUG", "ENCODING", "s")
    check_value(diff, "s")
    diff.check("PFMERGE", "new", "s", "d")
    check_value(diff, "new")
    diff.check("PFCOUNT", "new", "d", "s")
    diff.check("PFCOUNT", "new")


def test_pfmerge_keeps_destination_ttl(diff):
    diff.check("PFADD", "m", "x")
    diff.check("EXPIRE", "m", "1000")
    diff.check("PFADD", "a", "y")
    diff.check("PFMERGE", "m", "a")
    ours, theirs = diff.both("TTL", "m")
    assert ours == theirs or (ours.startswith(b":99") and theirs.startswith(b":99"))
    check_value(diff, "m")


# -- errors --------------------------------------------------------------------------------------

BAD_HEADERS = {
    "short": b"HYLL",
    "header-only-15": SPARSE_HEADER[:15],
    "magic": b"HYLX" + SPARSE_HEADER[4:] + xzero(16384),
    "encoding": b"HYLL\x02" + SPARSE_HEADER[5:] + xzero(16384),
    "dense-length": DENSE_HEADER + bytes(100),
    "dense-one-short": DENSE_HEADER + bytes(12287),
    "number": b"1234567890123456789",
    "plain": b"just a plain string value",
}


def test_not_an_hll(diff):
    for name, value in BAD_HEADERS.items():
        diff.check("SET", name, value)
        assert diff.check("PFADD", name, "a") == NOT_HLL
        assert diff.check("PFCOUNT", name) == NOT_HLL
        diff.check("PFCOUNT", "missing", name)
        diff.check("PFMERGE", "dest", name)
        diff.check("PFMERGE", name)
        diff.check("PFDEBUG", "GETREG", name)
        diff.check("PFDEBUG", "ENCODING", name)
        check_value(diff, name)
    diff.check("EXISTS", "dest")


CORRUPT_SPARSE = {
    "too-few": xzero(16383),
    "too-many": xzero(16384) + zero(1),
    "val-overflow": xzero(16383) + val(5, 2),
    "truncated-xzero": b"\x7f",
    "empty-body": b"",
    "only-vals": val(3, 4) * 10,
}


def test_corrupt_sparse_values(diff):
    for name, body in CORRUPT_SPARSE.items():
        diff.check("SET", name, SPARSE_HEADER + body)
        diff.check("PFCOUNT", name)
        diff.check("PFCOUNT", name, "missing")
        diff.check("PFMERGE", "m", name)
        diff.check("PFDEBUG", "DECODE", name)
        diff.check("PFDEBUG", "TODENSE", name)
        diff.check("PFDEBUG", "GETREG", name)
        diff.check("PFDEBUG", "ENCODING", name)
        for element in ("a", "b", "c", "d", "zz"):  # some land in covered registers
            diff.check("PFADD", name, element)
        diff.check("PFADD", name, *elements("many", 200))
        check_value(diff, name)
    diff.check("EXISTS", "m")


def test_wrong_arity_and_syntax(diff):
    diff.check("PFADD")
    diff.check("PFCOUNT")
    diff.check("PFMERGE")
    diff.check("PFDEBUG", "GETREG")
    diff.check("PFDEBUG", "GETREG", "h", "extra")
    diff.check("PFSELFTEST", "extra")


# -- PFDEBUG ---------------------------------------------------------------------------------


def test_pfdebug_subcommands(diff):
    diff.check("PFDEBUG", "ENCODING", "missing")
    diff.check("PFDEBUG", "NOSUCH", "missing")
    diff.check("PFADD", "h", *elements("q", 20))
    diff.check("PFDEBUG", "NOSUCH", "h")
    diff.check("PFDEBUG", "nOsUcH", "h")
    diff.check("PFDEBUG", "encoding\x00junk", "h")
    diff.check("PFDEBUG", "bad\x00junk", "h")
    diff.check("PFDEBUG", "encoding", "h")
    diff.check("PFDEBUG", "DECODE", "h")
    diff.check("PFDEBUG", "TODENSE", "h")
    diff.check("PFDEBUG", "TODENSE", "h")
    diff.check("PFDEBUG", "DECODE", "h")
    diff.check("PFDEBUG", "ENCODING", "h")
    check_value(diff)
    diff.check("PFDEBUG", "GETREG", "h")
    diff.check("PFADD", "s", *elements("r", 20))
    diff.check("PFCOUNT", "s")
    diff.check("PFDEBUG", "GETREG", "s")  # converts to dense, keeps the cached cardinality
    check_value(diff, "s")
    diff.check("PFDEBUG", "ENCODING", "s")


def test_pfselftest(diff):
    diff.check("PFSELFTEST")


# -- crafted layouts and interchange -------------------------------------------------------------


def test_crafted_sparse_layouts_are_edited_like_redis(diff):
    """Non-canonical layouts (short XZEROs, ZERO runs of 1, adjacent equal VALs) exercise
    every branch of hllSparseSet and its VAL merging."""
    bodies = [
        xzero(1) + xzero(16383),
        zero(1) * 64 + xzero(16320),
        val(1, 1) * 16 + xzero(16368),
        val(2, 2) + val(2, 1) + zero(1) + val(2, 1) + xzero(16379),
        zero(64) * 256,
        val(32, 4) * 4096,
        xzero(8192) + xzero(8192),
    ]
    items = elements("c", 300)
    for i, body in enumerate(bodies):
        key = f"c{i}"
        diff.check("SET", key, SPARSE_HEADER + body)
        for j in range(0, 300, 30):
            diff.check("PFADD", key, *items[j : j + 30])
            check_value(diff, key)
        diff.check("PFCOUNT", key)


def test_values_interchange_between_servers(diff):
    """Bytes written by one server, loaded into the other with SET, behave the same."""
    diff.check("PFADD", "h", *elements("i", 100))
    diff.check("PFADD", "d", *elements("i", 5000))
    for key in ("h", "d"):
        value = _bulk(diff.theirs.call("GET", key))
        diff.ours.call("SET", f"{key}-from-redis", value)
        diff.theirs.call("SET", f"{key}-from-redis", value)
        value = _bulk(diff.ours.call("GET", key))
        diff.ours.call("SET", f"{key}-from-rcsim", value)
        diff.theirs.call("SET", f"{key}-from-rcsim", value)
        for copy in (f"{key}-from-redis", f"{key}-from-rcsim"):
            diff.check("PFCOUNT", copy)
            diff.check("PFADD", copy, *elements("more", 50))
            check_value(diff, copy)
    diff.check("PFMERGE", "all", "h-from-redis", "d-from-rcsim")
    check_value(diff, "all")


def test_dense_register_values_above_sparse_range(diff):
    """A dense value with registers up to 63 (written by hand) counts and merges alike."""
    rng = random.Random(11)
    registers = [rng.choice([0, 1, 2, 5, 33, 40, 51, 63]) for _ in range(16384)]
    bits = 0
    for i, r in enumerate(registers):
        bits |= r << (6 * i)
    value = DENSE_HEADER + bits.to_bytes(12288, "little")
    diff.check("SET", "d", value)
    diff.check("PFCOUNT", "d")
    check_value(diff, "d")
    diff.check("PFADD", "s", "a", "b")
    diff.check("PFMERGE", "s", "d")
    check_value(diff, "s")
    diff.check("PFCOUNT", "s", "d")


def _bulk(reply: bytes) -> bytes:
    assert reply.startswith(b"$"), reply
    header, _, rest = reply.partition(b"\r\n")
    return rest[: int(header[1:])]


# -- keyspace behaviour ----------------------------------------------------------------------------


def test_watch_follows_redis_signalling(diff):
    """What invalidates a WATCH: a changed register, a computed cache, PFMERGE; not a PFADD
    that changes nothing, a cached PFCOUNT or a PFDEBUG conversion."""
    cases = [
        ([("PFADD", "k", "a")], ("PFADD", "k", "a")),
        ([("PFADD", "k", "a")], ("PFADD", "k", "b")),
        ([("PFADD", "k", "a")], ("PFCOUNT", "k")),
        ([("PFADD", "k", "a"), ("PFCOUNT", "k")], ("PFCOUNT", "k")),
        ([("PFADD", "k", "a")], ("PFDEBUG", "TODENSE", "k")),
        ([("PFADD", "k", "a")], ("PFDEBUG", "GETREG", "k")),
        ([("PFADD", "k", "a")], ("PFMERGE", "k")),
        ([("PFADD", "k", "a")], ("PFMERGE", "other", "k")),
    ]
    for setup, action in cases:
        diff.check("FLUSHALL")
        for command in setup:
            diff.check(*command)
        diff.check("WATCH", "k")
        with RawClient(diff.ours_port) as ours, RawClient(diff.theirs_port) as theirs:
            if diff.protocol == 3:
                ours.call("HELLO", "3")
                theirs.call("HELLO", "3")
            assert ours.call(*action) == theirs.call(*action), action
        diff.check("MULTI")
        diff.check("PING")
        assert diff.check("EXEC") is not None


def test_keyspace_statistics_match(diff):
    """Hits and misses: PFCOUNT and PFMERGE's sources read, PFADD and PFDEBUG write."""
    commands = [
        ("PFADD", "a", "x"),
        ("PFCOUNT", "a"),
        ("PFCOUNT", "a", "missing", "a"),
        ("PFMERGE", "m", "a", "missing"),
        ("PFMERGE", "m"),
        ("PFDEBUG", "ENCODING", "a"),
        ("PFDEBUG", "ENCODING", "missing"),
        ("PFADD", "missing2"),
    ]
    ours_before, theirs_before = _stats(diff.ours), _stats(diff.theirs)
    for command in commands:
        diff.check(*command)
    ours_after, theirs_after = _stats(diff.ours), _stats(diff.theirs)
    ours_delta = (ours_after[0] - ours_before[0], ours_after[1] - ours_before[1])
    theirs_delta = (theirs_after[0] - theirs_before[0], theirs_after[1] - theirs_before[1])
    assert ours_delta == theirs_delta


def _stats(client: RawClient) -> tuple[int, int]:
    text = client.call("INFO", "stats").decode()
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return int(fields["keyspace_hits"]), int(fields["keyspace_misses"])


def test_copy_rename_dump_restore(diff):
    diff.check("PFADD", "h", *elements("k", 30))
    diff.check("COPY", "h", "c")
    diff.check("PFADD", "c", "extra")
    check_value(diff, "h")
    check_value(diff, "c")
    diff.check("RENAME", "c", "r")
    diff.check("PFCOUNT", "r")
    dumped = diff.check("DUMP", "h")
    payload = _bulk(dumped)
    diff.check("RESTORE", "restored", "0", payload)
    diff.check("PFCOUNT", "restored")
    check_value(diff, "restored")
    diff.check("PFADD", "big", *elements("k", 4000))
    diff.check("DUMP", "big")
    diff.check("DEBUG", "DIGEST-VALUE", "h", "big")


# -- random sequences ------------------------------------------------------------------------------

_KEYS = ["h1", "h2", "h3"]
_ELEMENT = st.one_of(
    st.integers(0, 3000).map(lambda i: f"e{i}"),
    st.binary(max_size=12),
)
_COMMAND = st.one_of(
    st.builds(lambda k, es: ["PFADD", k, *es], st.sampled_from(_KEYS), st.lists(_ELEMENT)),
    st.builds(
        lambda k, n, seed: ["PFADD", k, *[f"r{seed}:{i}" for i in range(n)]],
        st.sampled_from(_KEYS),
        st.integers(0, 800),
        st.integers(0, 10**6),
    ),
    st.builds(lambda ks: ["PFCOUNT", *ks], st.lists(st.sampled_from(_KEYS), min_size=1)),
    st.builds(lambda ks: ["PFMERGE", *ks], st.lists(st.sampled_from(_KEYS), min_size=1)),
    st.builds(lambda k: ["GET", k], st.sampled_from(_KEYS)),
    st.builds(lambda k: ["PFDEBUG", "ENCODING", k], st.sampled_from(_KEYS)),
    st.builds(lambda k: ["PFDEBUG", "TODENSE", k], st.sampled_from(_KEYS)),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(_COMMAND, min_size=1, max_size=12))
def test_random_hll_sequences(diff, sequence):
    diff.both("FLUSHALL")
    for args in sequence:
        diff.check(*args)
    for key in _KEYS:
        diff.check("GET", key)


def _sparse_body(draw_runs: list[tuple[str, int, int]]) -> bytes:
    return b"".join(
        xzero(n) if kind == "X" else zero(n) if kind == "z" else val(v, n)
        for kind, n, v in draw_runs
    )


@st.composite
def _valid_sparse(draw) -> bytes:
    """A random valid sparse body: runs that cover exactly 16,384 registers."""
    runs: list[tuple[str, int, int]] = []
    left = 16384
    while left:
        kind = draw(st.sampled_from("Xzv"))
        limit = {"X": 16384, "z": 64, "v": 4}[kind]
        n = draw(st.integers(1, min(limit, left)))
        runs.append((kind, n, draw(st.integers(1, 32))))
        left -= n
        if len(runs) > 40:
            runs.append(("X", left, 0) if left else ("z", 0, 0))
            break
    runs = [r for r in runs if r[1]]
    return _sparse_body(runs)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(_valid_sparse(), st.lists(st.integers(0, 5000), max_size=60))
def test_random_sparse_layouts(diff, body, adds):
    diff.both("FLUSHALL")
    diff.check("SET", "h", SPARSE_HEADER + body)
    diff.check("PFCOUNT", "h")
    for i in adds:
        diff.check("PFADD", "h", f"a{i}")
    diff.check("GET", "h")
    diff.check("PFCOUNT", "h")


# -- wrong types -----------------------------------------------------------------------------------

WRONGTYPE_COMMANDS = [
    ("PFADD", "l", "a"),
    ("PFADD", "l"),
    ("PFCOUNT", "l"),
    ("PFCOUNT", "missing", "l"),
    ("PFCOUNT", "str", "l"),
    ("PFMERGE", "d", "l"),
    ("PFMERGE", "l"),
    ("PFMERGE", "l", "str"),
    ("PFMERGE", "d", "h", "l"),
    ("PFDEBUG", "GETREG", "l"),
    ("PFDEBUG", "NOSUCH", "l"),
    ("EXISTS", "d"),
]


def test_wrongtype_against_other_types(diff):
    """A list and a hash are not strings: the generic WRONGTYPE, checked before the HLL one."""
    for command in WRONGTYPE_COMMANDS:
        diff.check("FLUSHALL")
        diff.check("LPUSH", "l", "x")
        diff.check("HSET", "hash", "f", "v")
        diff.check("SET", "str", "abc")
        diff.check("PFADD", "h", "a")
        diff.check(*command)
        diff.check(*[("hash" if word == "l" else word) for word in command])
        diff.check("TYPE", "l")
