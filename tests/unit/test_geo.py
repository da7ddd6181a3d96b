"""The geohash port without sockets: encodings, neighbours, distances and the partial quicksort,
checked against values redis-server 7.0.15 returned (the GEOADD Sicily example)."""

from __future__ import annotations

import functools
import math
import random

import pytest

from node.config import Config
from node.core import execute
from node.protocol.resp import encode
from node.session import Session
from node.types import geohash
from node.types.geo import coordinate, distance_text
from node.types.geohash import CIRCULAR_TYPE, RECTANGLE_TYPE, HashBits, Shape
from tests.support.nodes import make_node

PALERMO = (13.361389, 38.115556)
CATANIA = (15.087269, 37.502669)


@pytest.fixture
def session() -> Session:
    node = make_node(Config())
    node.now_ms = 1_700_000_000_000
    return Session(node, 1)


def _score(lon: float, lat: float) -> int:
    return geohash.align52(geohash.encode(lon, lat, geohash.GEO_STEP_MAX))  # type: ignore[arg-type]


def test_scores_match_redis():
    assert _score(*PALERMO) == 3479099956230698
    assert _score(*CATANIA) == 3479447370796909


def test_decoded_positions_print_as_redis_prints_them():
    lon, lat = geohash.decode_score(3479099956230698)
    assert encode(coordinate(lon), False) == b"$20\r\n13.36138933897018433\r\n"
    assert encode(coordinate(lat), True) == b",38.11555639549629859\r\n"
    assert coordinate(-0.5).text == b"-0.5"


def test_distance_matches_redis():
    palermo = geohash.decode_score(3479099956230698)
    catania = geohash.decode_score(3479447370796909)
    assert distance_text(geohash.distance(*palermo, *catania)) == b"166274.1516"
    assert distance_text(geohash.distance(*palermo, *catania) / 1000) == b"166.2742"


def test_commands_on_the_sicily_example(session):
    run = functools.partial(execute, session)
    assert run([b"GEOADD", b"Sicily", *map(str.encode, map(str, PALERMO)), b"Palermo"]) == 1
    run([b"GEOADD", b"Sicily", *map(str.encode, map(str, CATANIA)), b"Catania"])
    assert run([b"GEOHASH", b"Sicily", b"Palermo", b"Catania", b"x"]) == [
        b"sqc8b49rny0",
        b"sqdtr74hyu0",
        None,
    ]
    assert run([b"GEODIST", b"Sicily", b"Palermo", b"Catania", b"km"]) == b"166.2742"
    reply = run([b"GEOSEARCH", b"Sicily", b"FROMLONLAT", b"15", b"37", b"BYRADIUS", b"200", b"km",
                 b"ASC", b"WITHDIST"])  # fmt: skip
    assert reply == [[b"Catania", b"56.4413"], [b"Palermo", b"190.4424"]]


def test_interleave_round_trips():
    rng = random.Random(1)
    for _ in range(200):
        x, y = rng.getrandbits(32), rng.getrandbits(32)
        packed = geohash.interleave64(x, y)
        assert geohash.deinterleave64(packed) == x | (y << 32)
        assert packed & 0x5555555555555555 == geohash.interleave64(x, 0)


def test_neighbours_are_adjacent_cells():
    centre = geohash.encode(2.35, 48.85, 10)
    assert centre is not None
    north, south, east, west = geohash.neighbours(centre)[:4]
    area = geohash.decode(centre)
    assert geohash.decode(north).lat_min == pytest.approx(area.lat_max)  # type: ignore[union-attr]
    assert geohash.decode(south).lat_max == pytest.approx(area.lat_min)  # type: ignore[union-attr]
    assert geohash.decode(east).lon_min == pytest.approx(area.lon_max)  # type: ignore[union-attr]
    assert geohash.decode(west).lon_max == pytest.approx(area.lon_min)  # type: ignore[union-attr]
    back = HashBits(east.bits, east.step)
    geohash._move_x(back, -1)
    assert back == centre


def test_encode_refuses_what_redis_refuses():
    assert geohash.encode(181, 0, 26) is None
    assert geohash.encode(0, 86, 26) is None
    assert geohash.encode(0, 0, 0) is None
    assert geohash.encode(0, 0, 33) is None


@pytest.mark.parametrize(
    ("radius", "lat", "steps"),
    [(0, 0, 26), (1, 0, 24), (1000, 0, 14), (5000, 70, 10), (5000, 85, 9), (1e8, 0, 1)],
)
def test_estimated_steps(radius, lat, steps):
    assert geohash.estimate_steps_by_radius(radius, lat) == steps


def test_search_cells_drop_useless_neighbours():
    shape = Shape(kind=CIRCULAR_TYPE, lon=2.35, lat=48.85, radius=1000, conversion=1.0)
    cells = geohash.areas_by_shape(shape)
    assert len(cells) == 9
    assert not cells[0].is_zero()
    assert shape.bounds[0] < 2.35 < shape.bounds[2]
    assert shape.bounds[1] < 48.85 < shape.bounds[3]


def test_box_test_uses_both_half_sides():
    shape = Shape(kind=RECTANGLE_TYPE, lon=0.0, lat=0.0, width=2000, height=1000, conversion=1.0)
    inside = geohash.distance_if_in_shape(shape, 0.008, 0.004)
    assert inside is not None and inside == pytest.approx(geohash.distance(0, 0, 0.008, 0.004))
    assert geohash.distance_if_in_shape(shape, 0.0, 0.0046) is None  # 511 m north
    assert geohash.distance_if_in_shape(shape, 0.0091, 0.0) is None  # 1012 m east


def test_distance_outside_asin_domain_is_negative_nan(monkeypatch):
    """C's asin returns the x86 default NaN (sign bit set) where Python's raises; glibc's printf
    then prints ``-nan``."""
    monkeypatch.setattr(geohash.math, "sqrt", lambda _: 1.0000000000000002)
    value = geohash.distance(0, 0, 180, 0)
    monkeypatch.undo()
    assert math.isnan(value) and math.copysign(1.0, value) < 0
    assert distance_text(value) == b"-nan"
    assert distance_text(math.nan) == b"nan"


def _asc(a, b):
    return 1 if a[0] > b[0] else (0 if a[0] == b[0] else -1)


@pytest.mark.parametrize("seed", range(20))
def test_pqsort_sorts_the_requested_prefix(seed):
    rng = random.Random(seed)
    size = rng.choice([5, 8, 30, 41, 100, 500])
    items = [(rng.randrange(20), i) for i in range(size)]
    keep = rng.randrange(1, size + 1)
    sorted_items = list(items)
    geohash.pqsort(sorted_items, _asc, 0, keep - 1)
    assert sorted(sorted_items) == sorted(items)  # a permutation
    assert [d for d, _ in sorted_items[:keep]] == sorted(d for d, _ in items)[:keep]
