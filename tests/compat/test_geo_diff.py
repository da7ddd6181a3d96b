"""Geo commands: rcsim answers byte for byte as redis-server 7.0.15, in RESP2 and RESP3.

The data set is 200 seeded points around Paris plus a few world cities and edge coordinates;
every search form (GEOSEARCH FROMMEMBER/FROMLONLAT x BYRADIUS/BYBOX, GEORADIUS,
GEORADIUSBYMEMBER and the _RO variants) is run with every combination of WITHCOORD, WITHDIST,
WITHHASH, ASC/DESC and COUNT [ANY], so distances (``%.4f``), coordinates (Redis's long double
"human" format) and the order of equal distances (Redis's partial quicksort) are all compared.
"""

from __future__ import annotations

import itertools
import random

import pytest

CENTRE = ("2.3522", "48.8566")


def _paris_points(count: int = 200, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    args: list[str] = []
    for i in range(count):
        lon = 2.3522 + rng.uniform(-0.3, 0.3)
        lat = 48.8566 + rng.uniform(-0.2, 0.2)
        args += [f"{lon:.6f}", f"{lat:.6f}", f"p{i}"]
    return args


def _load_paris(diff) -> None:
    diff.check("GEOADD", "paris", *_paris_points())
    diff.check("GEOADD", "paris", *CENTRE, "centre", "2.3522", "48.9", "north", *CENTRE, "twin")


WITH_OPTIONS = [
    combo
    for size in range(4)
    for combo in itertools.combinations(("WITHCOORD", "WITHDIST", "WITHHASH"), size)
]
ORDER_OPTIONS = [(), ("ASC",), ("DESC",)]
COUNT_OPTIONS = [(), ("COUNT", "5"), ("COUNT", "5", "ANY"), ("COUNT", "300")]

SEARCHES = {
    "geosearch-member-radius": (
        "GEOSEARCH",
        "paris",
        "FROMMEMBER",
        "centre",
        "BYRADIUS",
        "4",
        "km",
    ),
    "geosearch-lonlat-box": (
        "GEOSEARCH",
        "paris",
        "FROMLONLAT",
        "2.35",
        "48.85",
        "BYBOX",
        "6",
        "4",
        "km",
    ),
    "geosearch-member-box-ft": (
        "GEOSEARCH",
        "paris",
        "FROMMEMBER",
        "p3",
        "BYBOX",
        "20000",
        "9000",
        "ft",
    ),
    "geosearch-lonlat-radius-mi": (
        "GEOSEARCH",
        "paris",
        "FROMLONLAT",
        "2.4",
        "48.8",
        "BYRADIUS",
        "3",
        "mi",
    ),
    "georadius": ("GEORADIUS", "paris", *CENTRE, "5", "km"),
    "georadius-ro": ("GEORADIUS_RO", "paris", "2.3", "48.88", "3000", "m"),
    "georadiusbymember": ("GEORADIUSBYMEMBER", "paris", "centre", "3000", "m"),
    "georadiusbymember-ro": ("GEORADIUSBYMEMBER_RO", "paris", "p10", "2.5", "KM"),
}


@pytest.mark.parametrize("search", list(SEARCHES))
def test_search_option_grid(diff, search):
    _load_paris(diff)
    base = SEARCHES[search]
    for with_options, order, count in itertools.product(WITH_OPTIONS, ORDER_OPTIONS, COUNT_OPTIONS):
        diff.check(*base, *with_options, *order, *count)
    diff.check(*base, "withdist", "desc", "count", "7", "withhash", "asc")  # options in any order


@pytest.mark.parametrize("search", list(SEARCHES))
def test_search_store_forms(diff, search):
    _load_paris(diff)
    base = SEARCHES[search]
    if base[0] in ("GEOSEARCH", "GEORADIUS_RO", "GEORADIUSBYMEMBER_RO"):
        diff.check(*base, "STORE", "dst")  # refused: syntax error
        if base[0] == "GEOSEARCH":
            store_base = ("GEOSEARCHSTORE", "dst", *base[1:])
            for extra in (
                (),
                ("STOREDIST",),
                ("STOREDIST", "COUNT", "4", "DESC"),
                ("COUNT", "3", "ANY"),
            ):
                diff.check(*store_base, *extra)
                diff.check("ZRANGE", "dst", "0", "-1", "WITHSCORES")
                diff.check("OBJECT", "ENCODING", "dst")
            diff.check(*store_base, "WITHDIST")
        return
    for option, extra in itertools.product(
        ("STORE", "STOREDIST"), ((), ("COUNT", "4"), ("COUNT", "150", "DESC"))
    ):
        diff.check(*base, option, "dst", *extra)
        diff.check("ZRANGE", "dst", "0", "-1", "WITHSCORES")
        diff.check("OBJECT", "ENCODING", "dst")
    diff.check(*base, "STORE", "dst", "WITHCOORD")
    diff.check(*base, "STOREDIST", "dst", "WITHHASH")


def test_positions_hashes_and_distances(diff):
    _load_paris(diff)
    members = [f"p{i}" for i in range(200)] + ["centre", "north", "twin", "missing"]
    diff.check("GEOPOS", "paris", *members)
    diff.check("GEOHASH", "paris", *members)
    diff.check("ZRANGE", "paris", "0", "-1", "WITHSCORES")
    for unit in ((), ("m",), ("km",), ("ft",), ("mi",), ("KM",), ("Mi",)):
        for a, b in (("p0", "p1"), ("centre", "north"), ("centre", "twin"), ("p5", "p150")):
            diff.check("GEODIST", "paris", a, b, *unit)
    diff.check("GEODIST", "paris", "p0", "missing")
    diff.check("GEODIST", "missing", "p0", "p1")
    diff.check("GEODIST", "paris", "p0", "p1", "yd")
    diff.check("GEODIST", "missing", "p0", "p1", "yd")
    diff.check("GEODIST", "paris", "p0", "p1", "km", "extra")
    diff.check("GEOPOS", "missing", "a", "b")
    diff.check("GEOHASH", "missing", "a", "b")
    diff.check("TYPE", "paris")
    diff.check("OBJECT", "ENCODING", "paris")


def test_world_cities_and_edges(diff):
    diff.check(
        "GEOADD", "world",
        "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania",
        "-122.4194", "37.7749", "SF", "139.6917", "35.6895", "Tokyo", "151.2093", "-33.8688",
        "Sydney", "-58.3816", "-34.6037", "BA", "37.6173", "55.7558", "Moscow",
        "18.0686", "59.3293", "Stockholm", "-0.1276", "51.5072", "London",
    )  # fmt: skip
    diff.check(
        "GEOADD", "world", "180", "85.05112878", "ne", "-180", "-85.05112878", "sw", "0", "0",
        "zero", "-0.0000001", "0.0000001", "tiny", "179.9999999", "0", "east", "-180", "0", "west",
    )  # fmt: skip
    cities = ("Palermo", "Catania", "SF", "Tokyo", "Sydney", "BA", "Moscow", "Stockholm", "London")
    edges = ("ne", "sw", "zero", "tiny", "east", "west")
    diff.check("GEOPOS", "world", *cities, *edges)
    diff.check("GEOHASH", "world", *cities, *edges)
    for a, b in itertools.combinations(cities + edges, 2):
        diff.check("GEODIST", "world", a, b, "km")
    for search in (
        ("GEOSEARCH", "world", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"),
        ("GEOSEARCH", "world", "FROMLONLAT", "0", "0", "BYRADIUS", "20000", "km"),
        ("GEOSEARCH", "world", "FROMLONLAT", "0", "0", "BYBOX", "40000", "20000", "km"),
        ("GEOSEARCH", "world", "FROMLONLAT", "151", "-33", "BYBOX", "5000", "3000", "km"),
        ("GEOSEARCH", "world", "FROMMEMBER", "Tokyo", "BYRADIUS", "10000", "km"),
        ("GEOSEARCH", "world", "FROMMEMBER", "ne", "BYRADIUS", "3000", "km"),
        ("GEOSEARCH", "world", "FROMLONLAT", "179.9", "0", "BYBOX", "100", "100", "km"),
        ("GEORADIUS", "world", "15", "37", "10000", "mi"),
        ("GEORADIUS", "world", "15", "37", "1", "m"),
        ("GEORADIUS", "world", "15", "37", "0", "m"),
        ("GEORADIUS", "world", "13.361389", "38.115556", "0", "m"),
    ):
        diff.check(*search, "WITHDIST", "WITHCOORD", "WITHHASH", "ASC")
        diff.check(*search, "COUNT", "3", "DESC", "WITHDIST")
    diff.check(
        "GEOADD", "polar", "0", "84", "a", "90", "84.5", "b", "180", "85", "c", "-90", "83", "d"
    )
    diff.check("GEOSEARCH", "polar", "FROMLONLAT", "0", "85", "BYRADIUS", "1000", "km", "WITHDIST")
    diff.check(
        "GEOSEARCH", "polar", "FROMLONLAT", "0", "85", "BYBOX", "2000", "2000", "km", "WITHDIST"
    )
    diff.check("GEOSEARCH", "polar", "FROMLONLAT", "0", "-70", "BYRADIUS", "9000", "km", "WITHDIST")


def test_equal_distances_keep_redis_order(diff):
    """Many members on a few spots: ties are ordered by Redis's pqsort/qsort exactly."""
    rng = random.Random(3)
    spots = [(2.35 + rng.uniform(-0.05, 0.05), 48.85 + rng.uniform(-0.05, 0.05)) for _ in range(6)]
    args: list[str] = []
    for i in range(120):
        lon, lat = spots[rng.randrange(len(spots))]
        args += [f"{lon:.6f}", f"{lat:.6f}", f"d{i}"]
    diff.check("GEOADD", "dups", *args)
    for count in (1, 3, 7, 10, 25, 41, 60, 119, 120):
        for tail in (("ASC",), ("DESC",), ("ANY",), ("ANY", "DESC")):
            diff.check(
                "GEOSEARCH",
                "dups",
                "FROMLONLAT",
                "2.35",
                "48.85",
                "BYRADIUS",
                "50",
                "km",
                "COUNT",
                str(count),
                *tail,
            )
    for tail in ((), ("ASC",), ("DESC",)):
        diff.check(
            "GEOSEARCH", "dups", "FROMLONLAT", "2.35", "48.85", "BYRADIUS", "50", "km", *tail
        )


def test_geoadd_options_and_errors(diff):
    diff.check("SET", "str", "v")
    for command in (
        ("GEOADD", "g", "200", "10", "m"),
        ("GEOADD", "g", "10", "86", "m"),
        ("GEOADD", "g", "-180.0000001", "0", "m"),
        ("GEOADD", "g", "abc", "10", "m"),
        ("GEOADD", "g", "10", "inf", "m"),
        ("GEOADD", "g", "10", "10"),
        ("GEOADD", "g", "nx", "xx", "10", "10", "m"),
        ("GEOADD", "g", "ch", "10", "10", "m"),
        ("GEOADD", "g", "CH", "10", "10", "m", "11", "11", "m2"),
        ("GEOADD", "g", "ch", "xx", "12", "12", "m", "13", "13", "m3"),
        ("GEOADD", "g", "nx", "14", "14", "m", "15", "15", "m4"),
        ("GEOADD", "g", "gt", "14", "14", "m"),
        ("GEOADD", "g", "nx", "ch", "ch"),
        ("GEOADD", "g", "1", "1", "ok", "200", "1", "bad"),
        ("GEOADD", "str", "1", "1", "m"),
        ("GEOADD", "g", b"nx\x00", "16", "16", "m5"),
        ("ZRANGE", "g", "0", "-1", "WITHSCORES"),
        ("GEOPOS", "g", "m", "m2", "m4", "ok"),
        ("GEOPOS", "str", "m"),
        ("GEOHASH", "str", "m"),
        ("GEODIST", "str", "m", "m2"),
        ("GEOADD", "g", "2", "2", "m"),
        ("ZSCORE", "g", "m"),
        ("ZADD", "g", "-5", "neg", "9999999999999999", "huge"),
        ("GEOPOS", "g", "neg", "huge"),
        ("GEOHASH", "g", "neg", "huge"),
    ):
        diff.check(*command)


SEARCH_ERRORS = [
    ("GEOSEARCH", "paris", "FROMMEMBER", "missing", "BYRADIUS", "1", "km"),
    ("GEOSEARCH", "nokey", "FROMMEMBER", "missing", "BYRADIUS", "1", "km"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km"),
    ("GEOSEARCH", "paris", "FROMLONLAT", "1", "2", "FROMMEMBER", "centre", "BYRADIUS", "1", "km"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYBOX", "1", "1", "km", "BYRADIUS", "1", "km"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "-1", "km"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "abc", "km"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1", "parsec"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYBOX", "-1", "1", "km"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYBOX", "1", "-1", "km"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYBOX", "1", "abc", "km"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYBOX", "abc", "1", "km"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYBOX", "1", "1", "yd"),
    ("GEOSEARCH", "paris", "FROMLONLAT", "200", "1", "BYRADIUS", "1", "km"),
    ("GEOSEARCH", "paris", "FROMLONLAT", "1", "89", "BYRADIUS", "1", "km"),
    ("GEOSEARCH", "paris", "FROMLONLAT", "abc", "1", "BYRADIUS", "1", "km"),
    ("GEOSEARCH", "paris", "FROMLONLAT", "1", "BYRADIUS", "1", "km"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1", "km", "STORE", "dst"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1", "km", "STOREDIST"),
    ("GEOSEARCH", "paris", "BYRADIUS", "1", "km"),
    ("geosearch", "paris", "byradius", "1", "km"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1", "km", "ANY"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1", "km", "COUNT", "0"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1", "km", "COUNT", "-3"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1", "km", "COUNT", "abc"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1", "km", "COUNT"),
    ("GEOSEARCH", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1", "km", "foo"),
    ("GEOSEARCH", "str", "FROMMEMBER", "centre", "BYRADIUS", "1", "km"),
    ("GEOSEARCHSTORE", "dst", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1", "km", "WITHDIST"),
    ("GEOSEARCHSTORE", "dst", "paris", "FROMMEMBER", "centre", "BYRADIUS", "1", "km", "STORE", "x"),
    ("GEOSEARCHSTORE", "dst", "paris", "FROMMEMBER", "centre"),
    ("geosearchstore", "dst", "paris", "BYRADIUS", "2", "km"),
    ("GEOSEARCHSTORE", "dst", "nokey", "FROMMEMBER", "centre", "BYRADIUS", "2", "km"),
    ("GEOSEARCHSTORE", "dst", "str", "FROMMEMBER", "centre", "BYRADIUS", "2", "km"),
    ("GEORADIUS", "paris", "200", "48", "5", "km"),
    ("GEORADIUS", "paris", "2", "48", "-5", "km"),
    ("GEORADIUS", "paris", "2", "48", "5", "parsec"),
    ("GEORADIUS", "paris", "2", "48", "5", "km", "foo"),
    ("GEORADIUS", "paris", "2", "48", "5", "km", "STORE"),
    ("GEORADIUS", "paris", "2", "48", "5", "km", "FROMMEMBER", "centre"),
    ("GEORADIUS", "nokey", "2", "48", "5", "km"),
    ("GEORADIUS", "nokey", "200", "48", "5", "km"),
    ("GEORADIUS", "str", "2", "48", "5", "km"),
    ("GEORADIUS_RO", "paris", "2", "48", "5", "km", "STORE", "dst"),
    ("GEORADIUS_RO", "paris", "2", "48", "5", "km", "STOREDIST", "dst"),
    ("GEORADIUSBYMEMBER", "paris", "missing", "5", "km"),
    ("GEORADIUSBYMEMBER", "paris", "centre", "abc", "km"),
    ("GEORADIUSBYMEMBER", "nokey", "missing", "abc", "xyz"),
    ("GEORADIUSBYMEMBER", "nokey", "missing", "abc", "xyz", "WITHDIST"),
    ("GEORADIUSBYMEMBER", "nokey", "missing", "abc", "xyz", "foo"),
    ("GEORADIUSBYMEMBER", "nokey", "missing", "1", "km", "ANY"),
    ("GEORADIUSBYMEMBER_RO", "paris", "centre", "5", "km", "STORE", "dst"),
]


def test_search_errors_and_missing_keys(diff):
    _load_paris(diff)
    diff.check("SET", "str", "v")
    for command in SEARCH_ERRORS:
        diff.check(*command)
    diff.check("SET", "dst", "v")
    diff.check("GEORADIUS", "nokey", "2", "48", "5", "km", "STORE", "dst")
    diff.check("EXISTS", "dst")
    diff.check("SET", "dst", "v")
    diff.check("GEOSEARCHSTORE", "dst", "nokey", "FROMLONLAT", "2", "48", "BYRADIUS", "2", "km")
    diff.check("EXISTS", "dst")
    diff.check("SET", "dst", "v")
    diff.check("GEORADIUS", "paris", "100", "0", "1", "km", "STORE", "dst")
    diff.check("EXISTS", "dst")


def test_geo_values_are_sorted_sets(diff):
    _load_paris(diff)
    diff.check("ZCARD", "paris")
    diff.check("ZRANGE", "paris", "0", "4", "WITHSCORES")
    diff.check("ZREM", "paris", "p0")
    diff.check("GEOPOS", "paris", "p0", "p1")
    diff.check("DUMP", "paris")
    diff.check("DEBUG", "DIGEST-VALUE", "paris")
    diff.check("GEOADD", "small", "2.35", "48.85", "a", "2.36", "48.86", "b")
    diff.check("DUMP", "small")
    diff.check("OBJECT", "ENCODING", "small")
