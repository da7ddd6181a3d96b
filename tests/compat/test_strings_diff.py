"""String commands: rcsim answers byte for byte as redis-server 7.0.15, in RESP2 and RESP3.

Scenarios are command sequences run on both servers after FLUSHALL. Checks that need commands
owned by other modules (TTL, EXPIRETIME, SADD...) skip themselves until rcsim serves them; the
same behaviour is covered in virtual time by ``tests/unit/test_strings.py``.
"""

from __future__ import annotations

import itertools
import random

import pytest

from tests.conftest import Differ, require_redis_server
from tests.support.procs import server_pair

LLONG_MAX = str(2**63 - 1)
LLONG_MIN = str(-(2**63))
FAR_S = "4000000000"  # an absolute time in seconds far in the future
FAR_MS = "4000000000000"


SCENARIOS: dict[str, list[tuple]] = {
    "get-set": [
        ("GET", "k"),
        ("SET", "k", "v"),
        ("GET", "k"),
        ("SET", "k", ""),
        ("GET", "k"),
        ("SET", b"\x00\xff key", b"bin\r\nary\x00"),
        ("GET", b"\x00\xff key"),
        ("set", "k", "12345"),
        ("get", "k"),
        ("SET", "big", "x" * 100_000),
        ("GET", "big"),
    ],
    "set-nx-xx": [
        ("SET", "k", "v", "XX"),
        ("GET", "k"),
        ("SET", "k", "v", "NX"),
        ("SET", "k", "w", "NX"),
        ("GET", "k"),
        ("SET", "k", "w", "XX"),
        ("GET", "k"),
        ("SET", "k", "x", "nx", "nx"),
        ("SET", "k", "x", "xX", "Xx"),
        ("GET", "k"),
    ],
    "set-get-option": [
        ("SET", "k", "v", "GET"),
        ("GET", "k"),
        ("SET", "k", "w", "GET"),
        ("SET", "k", "x", "GET", "GET"),
        ("SET", "k", "y", "NX", "GET"),
        ("GET", "k"),
        ("SET", "m", "y", "GET", "NX"),
        ("GET", "m"),
        ("SET", "n", "y", "XX", "GET"),
        ("GET", "n"),
        ("SET", "m", "z", "XX", "GET"),
        ("SET", "m", "z", "GET", "EX", "100"),
        ("SET", "m", "z", "GET", "EX", "0"),
        ("SET", "m", "z", "GET", "EX", "abc"),
        ("GET", "m"),
    ],
    "set-syntax-errors": [
        ("SET", "k", "v", "EX"),
        ("SET", "k", "v", "PX"),
        ("SET", "k", "v", "EXAT"),
        ("SET", "k", "v", "PXAT"),
        ("SET", "k", "v", "NX", "XX"),
        ("SET", "k", "v", "XX", "NX"),
        ("SET", "k", "v", "EX", "10", "PX", "100"),
        ("SET", "k", "v", "PX", "10", "EX", "100"),
        ("SET", "k", "v", "EX", "10", "EXAT", FAR_S),
        ("SET", "k", "v", "PXAT", FAR_MS, "PX", "100"),
        ("SET", "k", "v", "EX", "10", "KEEPTTL"),
        ("SET", "k", "v", "KEEPTTL", "PX", "10"),
        ("SET", "k", "v", "KEEPTTL", "EXAT", FAR_S),
        ("SET", "k", "v", "PERSIST"),
        ("SET", "k", "v", "FOO"),
        ("SET", "k", "v", ""),
        ("SET", "k", "v", "NXX"),
        ("SET", "k", "v", "N"),
        ("SET", "k", "v", "GETT"),
        ("SET", "k", "v", "EX", "10", "EX"),
        ("SET", "k", "v", "KEEPTTLX"),
        ("SET", "k", "v", "NX", "EX", "10", "extra"),
        ("GET", "k"),
    ],
    "set-options-c-strings": [
        # Redis compares options as C strings: whatever follows a NUL byte is ignored.
        ("SET", "k", "v", b"NX\x00junk"),
        ("SET", "k", "w", b"xx\x00"),
        ("GET", "k"),
        ("SET", "k", "v", b"EX\x00a", "100"),
        ("SET", "k", "v", b"keepttl\x00zz"),
        ("SET", "k", "v", b"\x00NX"),
        ("GET", "k"),
    ],
    "set-expire-values": [
        ("SET", "k", "v", "EX", "0"),
        ("SET", "k", "v", "EX", "-1"),
        ("SET", "k", "v", "PX", "0"),
        ("SET", "k", "v", "PX", "-100"),
        ("SET", "k", "v", "EXAT", "0"),
        ("SET", "k", "v", "PXAT", "-5"),
        ("SET", "k", "v", "EX", "abc"),
        ("SET", "k", "v", "EX", "1.5"),
        ("SET", "k", "v", "EX", " 1"),
        ("SET", "k", "v", "EX", "01"),
        ("SET", "k", "v", "EX", "99999999999999999999"),
        ("SET", "k", "v", "EX", LLONG_MAX),
        ("SET", "k", "v", "EX", "9223372036854776"),
        ("SET", "k", "v", "EX", "9223372036854775"),  # fits in ms, overflows once now is added
        ("SET", "k", "v", "PX", LLONG_MAX),
        ("SET", "k", "v", "EXAT", "9223372036854776"),
        ("GET", "k"),
        ("SET", "k", "v", "EXAT", "9223372036854775"),
        ("SET", "k", "v", "PXAT", LLONG_MAX),
        ("SET", "k", "v", "EX", "100"),
        ("SET", "k", "v", "px", "100000"),
        ("SET", "k", "v", "exat", FAR_S),
        ("SET", "k", "v", "pXaT", FAR_MS),
        ("SET", "k", "v", "EX", "10", "EX", "20"),
        ("SET", "k", "v", "KEEPTTL", "KEEPTTL"),
        ("GET", "k"),
        ("SET", "missing", "v", "EX", "0", "NX"),
        ("GET", "missing"),
    ],
    "set-expire-in-the-past": [
        ("SET", "k", "v", "PXAT", "1"),
        ("GET", "k"),
        ("SET", "k", "v", "EXAT", "1", "GET"),
        ("GET", "k"),
        ("SET", "k", "v"),
        ("SET", "k", "w", "PXAT", "1000", "GET"),
        ("GET", "k"),
        ("SET", "k", "w", "XX"),
        ("SET", "k", "w", "NX"),
    ],
    "setnx-setex-psetex": [
        ("SETNX", "k", "v"),
        ("SETNX", "k", "w"),
        ("GET", "k"),
        ("SETEX", "k", "100", "x"),
        ("GET", "k"),
        ("SETEX", "k", "0", "x"),
        ("SETEX", "k", "-1", "x"),
        ("SETEX", "k", "abc", "x"),
        ("SETEX", "k", LLONG_MAX, "x"),
        ("SETEX", "k", "9223372036854775", "x"),
        ("PSETEX", "k", "100000", "y"),
        ("GET", "k"),
        ("PSETEX", "k", "0", "y"),
        ("PSETEX", "k", "-5", "y"),
        ("PSETEX", "k", "1.5", "y"),
        ("PSETEX", "k", LLONG_MAX, "y"),
        ("GET", "k"),
        ("SETEX", "k", "10"),
        ("SETNX", "k"),
        ("PSETEX", "k", "10", "v", "extra"),
    ],
    "getset-getdel": [
        ("GETSET", "k", "a"),
        ("GETSET", "k", "b"),
        ("GET", "k"),
        ("GETDEL", "k"),
        ("GETDEL", "k"),
        ("GET", "k"),
        ("GETSET", "k"),
        ("GETDEL", "k", "x"),
    ],
    "getex": [
        ("GETEX", "missing"),
        ("GETEX", "missing", "EX", "-1"),
        ("GETEX", "missing", "EX", "abc"),
        ("GETEX", "missing", "FOO"),
        ("SET", "k", "v"),
        ("GETEX", "k"),
        ("GETEX", "k", "EX", "100"),
        ("GETEX", "k", "PX", "100000"),
        ("GETEX", "k", "EXAT", FAR_S),
        ("GETEX", "k", "PXAT", FAR_MS),
        ("GETEX", "k", "PERSIST"),
        ("GETEX", "k", "persist", "PERSIST"),
        ("GETEX", "k", "ex", "10", "EX", "20"),
        ("GETEX", "k", "EX", "0"),
        ("GETEX", "k", "PX", "-1"),
        ("GETEX", "k", "EXAT", "0"),
        ("GETEX", "k", "EX", "abc"),
        ("GETEX", "k", "EX", LLONG_MAX),
        ("GETEX", "k", "PX", LLONG_MAX),
        ("GETEX", "k", "EX"),
        ("GETEX", "k", "NX"),
        ("GETEX", "k", "XX"),
        ("GETEX", "k", "GET"),
        ("GETEX", "k", "KEEPTTL"),
        ("GETEX", "k", "EX", "10", "PERSIST"),
        ("GETEX", "k", "PERSIST", "PX", "10"),
        ("GETEX", "k", "EX", "10", "PXAT", FAR_MS),
        ("GETEX", "k", b"persist\x00x"),
        ("GET", "k"),
        ("GETEX", "k", "PXAT", "1"),
        ("GET", "k"),
        ("SET", "k", "v"),
        ("GETEX", "k", "EXAT", "1"),
        ("GETEX", "k"),
    ],
    "mget-mset-msetnx": [
        ("MGET", "a", "b", "c"),
        ("MSET", "a", "1", "b", "2"),
        ("MGET", "a", "b", "c", "a"),
        ("MSET", "a", "x", "a", "y"),
        ("GET", "a"),
        ("MSET", "a"),
        ("MSET", "a", "1", "b"),
        ("MSETNX", "a", "1", "b"),
        ("MSETNX", "c", "3", "a", "1"),
        ("MGET", "c"),
        ("MSETNX", "c", "3", "d", "4"),
        ("MSETNX", "e", "5", "e", "6"),
        ("MGET", "a", "b", "c", "d", "e"),
        ("MSETNX", "f"),
        ("MGET",),
    ],
    "append-strlen": [
        ("STRLEN", "k"),
        ("APPEND", "k", "hello"),
        ("APPEND", "k", " world"),
        ("APPEND", "k", ""),
        ("GET", "k"),
        ("STRLEN", "k"),
        ("APPEND", "n", ""),
        ("GET", "n"),
        ("SET", "i", "12"),
        ("APPEND", "i", "34"),
        ("INCR", "i"),
        ("APPEND", "i", "x"),
        ("STRLEN", "i"),
        ("GET", "i"),
        ("APPEND", "k"),
        ("STRLEN", "k", "x"),
    ],
    "incr-decr": [
        ("INCR", "n"),
        ("INCR", "n"),
        ("DECR", "n"),
        ("DECR", "m"),
        ("INCRBY", "n", "10"),
        ("INCRBY", "n", "-100"),
        ("DECRBY", "n", "5"),
        ("DECRBY", "n", "-5"),
        ("GET", "n"),
        ("INCRBY", "n", "abc"),
        ("INCRBY", "n", "1.5"),
        ("INCRBY", "n", " 1"),
        ("INCRBY", "n", "+1"),
        ("INCRBY", "n", "-0"),
        ("INCRBY", "n", "01"),
        ("INCRBY", "n", "99999999999999999999"),
        ("DECRBY", "n", LLONG_MIN),
        ("DECRBY", "missing", LLONG_MIN),
        ("SET", "max", LLONG_MAX),
        ("INCR", "max"),
        ("INCRBY", "max", "0"),
        ("DECRBY", "max", "-1"),
        ("SET", "min", LLONG_MIN),
        ("DECR", "min"),
        ("INCRBY", "min", "-1"),
        ("INCRBY", "min", LLONG_MAX),
        ("INCRBY", "max", LLONG_MIN),
        ("SET", "s", "abc"),
        ("INCR", "s"),
        ("DECR", "s"),
        ("SET", "s", " 1"),
        ("INCR", "s"),
        ("SET", "s", "1 "),
        ("INCR", "s"),
        ("SET", "s", "-0"),
        ("INCR", "s"),
        ("SET", "s", "007"),
        ("INCR", "s"),
        ("SET", "s", "1.0"),
        ("INCR", "s"),
        ("SET", "s", b"1\x00"),
        ("INCR", "s"),
        ("SET", "s", "9223372036854775808"),
        ("INCR", "s"),
        ("SET", "s", ""),
        ("INCR", "s"),
        ("APPEND", "z", "4"),
        ("APPEND", "z", "2"),
        ("INCR", "z"),
        ("GET", "z"),
        ("INCR", "n", "x"),
        ("INCRBY", "n"),
    ],
    "incrbyfloat-errors": [
        ("INCRBYFLOAT", "f", "abc"),
        ("INCRBYFLOAT", "f", ""),
        ("INCRBYFLOAT", "f", "nan"),
        ("INCRBYFLOAT", "f", "inf"),
        ("INCRBYFLOAT", "f", "-inf"),
        ("INCRBYFLOAT", "f", " 1"),
        ("INCRBYFLOAT", "f", "1 "),
        ("INCRBYFLOAT", "f", "1e"),
        ("INCRBYFLOAT", "f", "1e5000"),
        ("INCRBYFLOAT", "f", "1e-5000"),
        ("INCRBYFLOAT", "f", b"1\x002"),
        ("GET", "f"),
        ("SET", "f", "abc"),
        ("INCRBYFLOAT", "f", "1"),
        ("INCRBYFLOAT", "f", "abc"),
        ("SET", "f", "inf"),
        ("INCRBYFLOAT", "f", "1"),
        ("INCRBYFLOAT", "f", "abc"),
        ("SET", "f", "1e4932"),
        ("INCRBYFLOAT", "f", "1e4932"),
        ("INCRBYFLOAT", "f", "-1e4932"),
        ("INCRBYFLOAT", "f"),
    ],
    "getrange-substr": [
        ("GETRANGE", "missing", "0", "-1"),
        ("SUBSTR", "missing", "0", "-1"),
        ("SET", "s", "Hello, world"),
        ("GETRANGE", "s", "0", "4"),
        ("GETRANGE", "s", "-5", "-1"),
        ("GETRANGE", "s", "-1", "-5"),
        ("GETRANGE", "s", "5", "3"),
        ("GETRANGE", "s", "0", "-1"),
        ("GETRANGE", "s", "-100", "100"),
        ("GETRANGE", "s", "12", "20"),
        ("GETRANGE", "s", "11", "11"),
        ("GETRANGE", "s", "-100", "-90"),
        ("GETRANGE", "s", LLONG_MIN, LLONG_MAX),
        ("GETRANGE", "s", LLONG_MAX, LLONG_MIN),
        ("GETRANGE", "s", "a", "1"),
        ("GETRANGE", "s", "0", "1.5"),
        ("GETRANGE", "missing", "x", "1"),
        ("SUBSTR", "s", "7", "-1"),
        ("SUBSTR", "s", "-3", "-2"),
        ("SET", "e", ""),
        ("GETRANGE", "e", "0", "-1"),
        ("GETRANGE", "e", "0", "0"),
        ("SET", "i", "123456"),
        ("GETRANGE", "i", "1", "3"),
        ("GETRANGE", "s", "0"),
    ],
    "setrange": [
        ("SETRANGE", "k", "0", ""),
        ("SETRANGE", "k", "5", ""),
        ("SETRANGE", "k", LLONG_MAX, ""),
        ("GET", "k"),
        ("SETRANGE", "k", "3", "abc"),
        ("GET", "k"),
        ("SETRANGE", "k", "0", "X"),
        ("SETRANGE", "k", "6", "Y"),
        ("SETRANGE", "k", "10", "ZZ"),
        ("GET", "k"),
        ("SETRANGE", "k", "2", ""),
        ("SETRANGE", "k", "-1", "x"),
        ("SETRANGE", "k", "abc", "x"),
        ("SETRANGE", "k", "9223372036854775808", "x"),
        ("SETRANGE", "k", "536870912", "x"),
        ("SETRANGE", "new", "536870912", "x"),
        ("SETRANGE", "new", "536870911", ""),
        ("SET", "i", "1234"),
        ("SETRANGE", "i", "1", "0"),
        ("INCR", "i"),
        ("SETRANGE", "i", "0", "x"),
        ("INCR", "i"),
        ("GET", "i"),
        ("APPEND", "k", "!"),
        ("GET", "k"),
        ("STRLEN", "k"),
        ("SETRANGE", "k", "1"),
    ],
    "lcs": [
        ("LCS", "a", "b"),
        ("LCS", "a", "b", "LEN"),
        ("LCS", "a", "b", "IDX"),
        ("MSET", "key1", "ohmytext", "key2", "mynewtext"),
        ("LCS", "key1", "key2"),
        ("LCS", "key1", "key2", "LEN"),
        ("LCS", "key1", "key2", "IDX"),
        ("LCS", "key1", "key2", "idx", "withmatchlen"),
        ("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4"),
        ("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
        ("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "-3"),
        ("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "100"),
        ("LCS", "key1", "key2", "MINMATCHLEN", "4"),
        ("LCS", "key1", "key2", "WITHMATCHLEN"),
        ("LCS", "key1", "key2", "LEN", "WITHMATCHLEN"),
        ("LCS", "key1", "key2", "IDX", "LEN"),
        ("LCS", "key1", "key2", "LEN", "IDX"),
        ("LCS", "key1", "key2", "MINMATCHLEN"),
        ("LCS", "key1", "key2", "MINMATCHLEN", "x"),
        ("LCS", "key1", "key2", "MINMATCHLEN", "x", "FOO"),
        ("LCS", "key1", "key2", "FOO"),
        ("LCS", "key1", "key2", b"LEN\x00x"),
        ("LCS", "key1", "missing"),
        ("LCS", "missing", "key2", "IDX"),
        ("LCS", "key1", "key1", "IDX", "WITHMATCHLEN"),
        ("MSET", "x", "abcabcabc", "y", "cbacbacba"),
        ("LCS", "x", "y"),
        ("LCS", "x", "y", "IDX", "WITHMATCHLEN"),
        ("MSET", "x", "aaaa", "y", "aa"),
        ("LCS", "x", "y", "IDX", "WITHMATCHLEN"),
        ("MSET", "x", b"\x00\xff\x00", "y", b"\xff\x00"),
        ("LCS", "x", "y"),
        ("LCS", "x", "y", "IDX"),
        ("LCS", "key1"),
    ],
    "unknown-arity-errors": [
        ("GET",),
        ("GET", "a", "b"),
        ("SET", "k"),
        ("GETDEL",),
        ("GETEX",),
        ("MGET",),
        ("STRLEN",),
        ("SUBSTR", "k", "0"),
        ("LCS", "a"),
        ("INCRBYFLOAT", "k"),
    ],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(diff, name):
    diff.check_all(*SCENARIOS[name])


# -- SET option grid ----------------------------------------------------------------------------

SET_OPTIONS = [
    ("NX",),
    ("XX",),
    ("GET",),
    ("KEEPTTL",),
    ("EX", "100"),
    ("PX", "100000"),
    ("EXAT", FAR_S),
    ("PXAT", FAR_MS),
    ("ex", "0"),
    ("PERSIST",),
]


@pytest.mark.parametrize("existing", [False, True], ids=["missing", "existing"])
def test_set_option_pairs_and_triples(diff, existing):
    """Every ordered pair and triple of SET options, on a missing and on an existing key."""
    combos = itertools.chain(
        itertools.permutations(SET_OPTIONS, 2), itertools.permutations(SET_OPTIONS[:8], 3)
    )
    for combo in combos:
        if existing:
            diff.check("SET", "k", "old")
        else:
            diff.check("GETDEL", "k")
        args = [a for option in combo for a in option]
        diff.check("SET", "k", "new", *args)
        diff.check("GET", "k")


# -- INCRBYFLOAT formatting (long double arithmetic, %.17Lf) ------------------------------------

INCRBYFLOAT_CASES = [
    (None, "0"),
    (None, "1"),
    (None, "-1"),
    (None, "0.1"),
    (None, "-0"),
    (None, "-0.0"),
    ("10.5", "0.1"),
    ("10.50", "0.1"),
    ("10.5", "-10.5"),
    ("3.0e3", "0"),
    ("5.0e3", "2.0e2"),
    ("0", "3.0e3"),
    ("0", "5.0e3"),
    ("1", "1e-5"),
    ("0", "1e-5"),
    ("0", "1e-17"),
    ("0", "5e-18"),
    ("0", "1.5e-17"),
    ("0", "2.5e-17"),
    ("0", "-1e-20"),
    ("0", "1e300"),
    ("0", "-1e300"),
    ("1e300", "1"),
    ("0", "1e308"),
    ("0", "1e309"),
    ("0", "1e4000"),
    ("0", "1e4932"),
    ("0", "1.18973149535723176502e4932"),
    ("0", "4e-4951"),
    ("0", "1e-4950"),
    ("1", "0.1"),
    ("0.1", "0.2"),
    ("0.3", "-0.1"),
    ("1.1", "2.2"),
    ("3", "1.5"),
    ("-3", "1.5"),
    ("9223372036854775807", "1"),
    ("9223372036854775807", "0.5"),
    ("18446744073709551615", "1"),
    ("123456789012345678901234567890", "0.1"),
    ("1e19", "1"),
    ("1e20", "0.5"),
    ("0.333333333333333333333", "0"),
    ("2", "0.0000000000000000001"),
    ("5.0", "0"),
    ("5.", "0"),
    (".5", "0"),
    ("+5", "+.5"),
    ("0x10", "0x.8p1"),
    ("0X1P-2", "0"),
    ("0x1.8p1", "1"),
    ("1E2", "1e-2"),
    ("1e+2", "1E+2"),
    ("0000.5000", "00"),
    ("12345", "0"),
    ("-12345.6789", "0"),
    ("3.14159265358979323846264338327950288", "0"),
    ("2.718281828459045", "1e10"),
    ("1", "-0.99999999999999999"),
    ("1", "-0.999999999999999999"),
    ("100", "-0.00000000000000001"),
    ("7", "-7"),
]


@pytest.mark.parametrize(("initial", "increment"), INCRBYFLOAT_CASES)
def test_incrbyfloat_formatting(diff, initial, increment):
    if initial is not None:
        diff.check("SET", "f", initial)
    diff.check("INCRBYFLOAT", "f", increment)
    diff.check("GET", "f")
    diff.check("INCRBYFLOAT", "f", "0.1")


def test_incrbyfloat_seeded_random(diff):
    """A fixed pseudo-random walk of increments of many magnitudes and spellings."""
    rng = random.Random(7)
    spellings = [
        lambda: str(rng.randint(-(10**6), 10**6)),
        lambda: repr(rng.uniform(-1e6, 1e6)),
        lambda: "%de%d" % (rng.randint(-999, 999), rng.randint(-40, 40)),
        lambda: "%.*f" % (rng.randrange(25), rng.uniform(-1000, 1000)),
        lambda: (
            "0x%x.%xp%d" % (rng.randrange(1 << 20), rng.randrange(1 << 12), rng.randint(-60, 60))
        ),
        lambda: str(rng.randint(-100, 100) / 8),
    ]
    for _ in range(10):
        diff.check("SET", "f", rng.choice(spellings)())
        for _ in range(15):
            diff.check("INCRBYFLOAT", "f", rng.choice(spellings)())


def test_lcs_seeded_random(diff):
    """LCS with all reply shapes over random strings with many repeats (ties in the table)."""
    rng = random.Random(11)
    option_sets = [
        (),
        ("LEN",),
        ("IDX",),
        ("IDX", "WITHMATCHLEN"),
        ("IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"),
    ]
    for _ in range(40):
        alphabet = rng.choice(["ab", "abcdxyz", "ACGT"])
        a = "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        diff.check("MSET", "x", a, "y", b)
        for options in option_sets:
            diff.check("LCS", "x", "y", *options)


def test_lcs_longer_strings(diff):
    rng = random.Random(3)
    a = "".join(rng.choice("abcde") for _ in range(1500))
    b = "".join(rng.choice("abcde") for _ in range(1200))
    diff.check("MSET", "x", a, "y", b)
    diff.check("LCS", "x", "y", "LEN")
    diff.check("LCS", "x", "y")
    diff.check("LCS", "x", "y", "IDX", "MINMATCHLEN", "3", "WITHMATCHLEN")


# -- inside MULTI: replies must not change when a later command mutates the value ----------------


def test_values_read_in_a_transaction_are_snapshots(diff):
    diff.check("SET", "k", "abc")
    diff.check("APPEND", "k", "def")
    diff.check("MULTI")
    for command in [
        ("GET", "k"),
        ("MGET", "k", "k"),
        ("GETEX", "k"),
        ("APPEND", "k", "ghi"),
        ("SETRANGE", "k", "0", "XYZ"),
        ("SET", "k", "zzz", "NX", "GET"),
        ("GETRANGE", "k", "0", "-1"),
        ("APPEND", "k", "!"),
        ("GETSET", "k", "new"),
        ("GET", "k"),
    ]:
        diff.check(*command)
    diff.check("EXEC")


# -- checks that need commands of other modules --------------------------------------------------


def test_ttl_after_set_options(diff):
    diff.check_all(
        ("SET", "k", "v", "EX", "100"),
        ("TTL", "k"),
        ("SET", "k", "v", "PX", "100000"),
        ("TTL", "k"),
        ("SET", "k", "v2", "KEEPTTL"),
        ("TTL", "k"),
        ("SET", "k", "v3", "GET", "KEEPTTL"),
        ("TTL", "k"),
        ("SET", "k", "v4"),
        ("TTL", "k"),
        ("SETEX", "k", "100", "v"),
        ("TTL", "k"),
        ("PSETEX", "k", "100000", "v"),
        ("TTL", "k"),
        ("GETSET", "k", "v"),
        ("TTL", "k"),
        ("SETEX", "k", "100", "v"),
        ("APPEND", "k", "x"),
        ("SETRANGE", "k", "0", "y"),
        ("TTL", "k"),
        ("SET", "n", "1", "EX", "100"),
        ("INCR", "n"),
        ("INCRBYFLOAT", "n", "1.5"),
        ("TTL", "n"),
        ("MSET", "n", "1"),
        ("TTL", "n"),
        ("SET", "k", "v", "EX", "100"),
        ("SET", "k", "v", "NX", "EX", "200"),
        ("TTL", "k"),
        ("SET", "k", "v", "XX", "EX", "300"),
        ("TTL", "k"),
    )


def test_getex_changes_ttl(diff):
    diff.check_all(
        ("SET", "k", "v"),
        ("GETEX", "k", "EX", "100"),
        ("TTL", "k"),
        ("GETEX", "k"),
        ("TTL", "k"),
        ("GETEX", "k", "PX", "200000"),
        ("TTL", "k"),
        ("GETEX", "k", "PERSIST"),
        ("TTL", "k"),
        ("GETEX", "k", "EX", "0"),
        ("TTL", "k"),
    )


def test_absolute_expire_times(diff):
    diff.check_all(
        ("SET", "k", "v", "EXAT", FAR_S),
        ("EXPIRETIME", "k"),
        ("SET", "k", "v", "PXAT", "4000000000123"),
        ("PEXPIRETIME", "k"),
        ("SET", "k", "w", "KEEPTTL"),
        ("PEXPIRETIME", "k"),
        ("GETEX", "k", "EXAT", "4100000000"),
        ("EXPIRETIME", "k"),
        ("GETEX", "k", "PXAT", "4100000000999"),
        ("PEXPIRETIME", "k"),
        ("GETEX", "k", "PERSIST"),
        ("PEXPIRETIME", "k"),
        ("SET", "k", "v", "PXAT", LLONG_MAX),
        ("PEXPIRETIME", "k"),
    )


def test_past_absolute_time_leaves_no_key(diff):
    diff.check_all(
        ("SET", "k", "v", "PXAT", "1"),
        ("EXISTS", "k"),
        ("SET", "k", "v"),
        ("GETEX", "k", "EXAT", "1"),
        ("EXISTS", "k"),
    )


@pytest.fixture(scope="module")
def small_limit_pair():
    require_redis_server()
    with server_pair(("--proto-max-bulk-len", "1mb")) as pair:
        yield pair


def test_string_size_limits(small_limit_pair):
    ours, theirs = small_limit_pair
    differ = Differ(ours.port, theirs.port)
    try:
        mb = 1024 * 1024
        differ.check_all(
            ("SETRANGE", "k", str(mb - 1), "x"),
            ("STRLEN", "k"),
            ("SETRANGE", "k", str(mb), "x"),
            ("SETRANGE", "k", str(mb - 1), "xy"),
            ("SETRANGE", "k", str(mb), ""),
            ("APPEND", "k", "y"),
            ("APPEND", "k", ""),
            ("STRLEN", "k"),
            ("SETRANGE", "new", str(mb), "x"),
            ("SETRANGE", "new", str(mb - 2), "xy"),
            ("SET", "a", "x" * 1000),
            ("APPEND", "a", "y" * (mb - 1000)),
            ("APPEND", "a", "z"),
            ("STRLEN", "a"),
            ("SET", "p", "x" * 510),
            ("SET", "q", "y" * 510),
            ("LCS", "p", "q", "LEN"),
            ("SET", "p", "x" * 511),
            ("SET", "q", "y" * 511),
            ("LCS", "p", "q", "LEN"),
            ("SET", "p", "x" * 512),
            ("LCS", "p", "q", "LEN"),
            ("LCS", "p", "q", "IDX"),
            ("LCS", "p", "missing"),
            ("FLUSHALL",),
        )
    finally:
        differ.close()
