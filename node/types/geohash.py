"""A faithful port of Redis 7.0's ``geohash.c``, ``geohash_helper.c`` and ``pqsort.c``.

Theory of operation
-------------------
A geo member is a sorted set member whose score is a 52-bit geohash: 26 bits of latitude
(interleaved at the even positions) and 26 of longitude (odd positions), each the coordinate's
offset within its range scaled to 2**26 and truncated. Latitudes are limited to +-85.05112878
(the Web Mercator limit), so the score is not a standard geohash; GEOHASH re-encodes with the
standard +-90 range.

A search estimates a geohash precision (step) from the radius, takes the cell of the centre and
its eight neighbours (dropping neighbours the bounding box cannot reach), reads each cell's score
range from the sorted set and keeps the points whose haversine distance (or box test) passes.
Every operation is done in the same order, on the same IEEE doubles, with the same libm
functions (Python's ``math`` calls the C library), so coordinates and distances print exactly as
Redis prints them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

GEO_STEP_MAX = 26
GEO_LAT_MIN = -85.05112878
GEO_LAT_MAX = 85.05112878
GEO_LONG_MIN = -180.0
GEO_LONG_MAX = 180.0
D_R = math.pi / 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37
MASK64 = (1 << 64) - 1

CIRCULAR_TYPE = 1
RECTANGLE_TYPE = 2


@dataclass(slots=True)
class HashBits:
    bits: int = 0
    step: int = 0

    def is_zero(self) -> bool:
        return not self.bits and not self.step


@dataclass(slots=True)
class Area:
    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float


@dataclass(slots=True)
class Shape:
    """Redis's GeoShape: a centre, a circle (radius) or a box (width, height), and the unit."""

    kind: int = 0
    lon: float = 0.0
    lat: float = 0.0
    conversion: float = 1.0
    radius: float = 0.0
    width: float = 0.0
    height: float = 0.0
    bounds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])


# -- geohash.c -------------------------------------------------------------------------------


def interleave64(xlo: int, ylo: int) -> int:
    """Bits of ``xlo`` at the even positions, bits of ``ylo`` at the odd ones."""
    b = (0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF)
    x, y = xlo & 0xFFFFFFFF, ylo & 0xFFFFFFFF
    x = (x | (x << 16)) & 0x0000FFFF0000FFFF
    y = (y | (y << 16)) & 0x0000FFFF0000FFFF
    for shift, mask in zip((8, 4, 2, 1), reversed(b), strict=True):
        x = (x | (x << shift)) & mask
        y = (y | (y << shift)) & mask
    return x | (y << 1)


def deinterleave64(interleaved: int) -> int:
    """The inverse: even bits in the low 32 bits, odd bits in the high 32."""
    masks = (
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    )
    x, y = interleaved, interleaved >> 1
    for shift, mask in zip((0, 1, 2, 4, 8, 16), masks, strict=True):
        x = (x | (x >> shift)) & mask
        y = (y | (y >> shift)) & mask
    return x | (y << 32)


def encode(
    longitude: float,
    latitude: float,
    step: int,
    lon_range: tuple[float, float] = (GEO_LONG_MIN, GEO_LONG_MAX),
    lat_range: tuple[float, float] = (GEO_LAT_MIN, GEO_LAT_MAX),
) -> HashBits | None:
    """``geohashEncode``: None where the C function returns 0."""
    if step > 32 or step == 0:
        return None
    if (
        longitude > GEO_LONG_MAX
        or longitude < GEO_LONG_MIN
        or latitude > GEO_LAT_MAX
        or latitude < GEO_LAT_MIN
    ):
        return None
    if not (lat_range[0] <= latitude <= lat_range[1] and lon_range[0] <= longitude <= lon_range[1]):
        return None
    lat_offset = (latitude - lat_range[0]) / (lat_range[1] - lat_range[0])
    long_offset = (longitude - lon_range[0]) / (lon_range[1] - lon_range[0])
    lat_offset *= 1 << step
    long_offset *= 1 << step
    return HashBits(interleave64(int(lat_offset), int(long_offset)), step)


def decode(hash_bits: HashBits) -> Area | None:
    """``geohashDecode`` with Redis's coordinate ranges."""
    if hash_bits.is_zero():
        return None
    step = hash_bits.step
    separated = deinterleave64(hash_bits.bits)
    lat_scale = GEO_LAT_MAX - GEO_LAT_MIN
    long_scale = GEO_LONG_MAX - GEO_LONG_MIN
    ilato = separated & 0xFFFFFFFF
    ilono = (separated >> 32) & 0xFFFFFFFF
    cells = float(1 << step)
    return Area(
        GEO_LONG_MIN + (ilono / cells) * long_scale,
        GEO_LONG_MIN + ((ilono + 1) / cells) * long_scale,
        GEO_LAT_MIN + (ilato / cells) * lat_scale,
        GEO_LAT_MIN + ((ilato + 1) / cells) * lat_scale,
    )


def area_centre(area: Area) -> tuple[float, float]:
    """``geohashDecodeAreaToLongLat``: the cell's centre, clamped to the valid ranges."""
    lon = (area.lon_min + area.lon_max) / 2
    lon = min(max(lon, GEO_LONG_MIN), GEO_LONG_MAX)
    lat = (area.lat_min + area.lat_max) / 2
    lat = min(max(lat, GEO_LAT_MIN), GEO_LAT_MAX)
    return lon, lat


def score_to_bits(score: float) -> int:
    """``(uint64_t)score`` as x86-64 compiles it."""
    if math.isnan(score) or math.isinf(score):
        return 1 << 63
    return int(score) & MASK64


def decode_score(score: float) -> tuple[float, float]:
    """``decodeGeohash``: the (longitude, latitude) a 52-bit score stands for."""
    area = decode(HashBits(score_to_bits(score), GEO_STEP_MAX))
    return area_centre(area)  # type: ignore[arg-type]


def _move_x(hash_bits: HashBits, d: int) -> None:
    if d == 0:
        return
    x = hash_bits.bits & 0xAAAAAAAAAAAAAAAA
    y = hash_bits.bits & 0x5555555555555555
    zz = 0x5555555555555555 >> (64 - hash_bits.step * 2)
    if d > 0:
        x = (x + (zz + 1)) & MASK64
    else:
        x = ((x | zz) - (zz + 1)) & MASK64
    x &= 0xAAAAAAAAAAAAAAAA >> (64 - hash_bits.step * 2)
    hash_bits.bits = x | y


def _move_y(hash_bits: HashBits, d: int) -> None:
    if d == 0:
        return
    x = hash_bits.bits & 0xAAAAAAAAAAAAAAAA
    y = hash_bits.bits & 0x5555555555555555
    zz = 0xAAAAAAAAAAAAAAAA >> (64 - hash_bits.step * 2)
    if d > 0:
        y = (y + (zz + 1)) & MASK64
    else:
        y = ((y | zz) - (zz + 1)) & MASK64
    y &= 0x5555555555555555 >> (64 - hash_bits.step * 2)
    hash_bits.bits = x | y


# Redis's neighbour order in membersOfAllNeighbors: self, N, S, E, W, NE, NW, SE, SW.
_NEIGHBOURS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))


def neighbours(hash_bits: HashBits) -> list[HashBits]:
    """``geohashNeighbors`` in the order north, south, east, west, NE, NW, SE, SW."""
    out = []
    for dx, dy in _NEIGHBOURS:
        moved = HashBits(hash_bits.bits, hash_bits.step)
        _move_x(moved, dx)
        _move_y(moved, dy)
        out.append(moved)
    return out


# -- geohash_helper.c ------------------------------------------------------------------------


def estimate_steps_by_radius(range_meters: float, lat: float) -> int:
    """``geohashEstimateStepsByRadius``."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), 26)


def _deg_rad(angle: float) -> float:
    return angle * D_R


def _rad_deg(angle: float) -> float:
    return angle / D_R


def bounding_box(shape: Shape) -> list[float]:
    """``geohashBoundingBox``: [min lon, min lat, max lon, max lat]."""
    circle = shape.kind == CIRCULAR_TYPE
    height = shape.conversion * (shape.radius if circle else shape.height / 2)
    width = shape.conversion * (shape.radius if circle else shape.width / 2)
    lat_delta = _rad_deg(height / EARTH_RADIUS_IN_METERS)
    long_delta_top = _rad_deg(
        width / EARTH_RADIUS_IN_METERS / math.cos(_deg_rad(shape.lat + lat_delta))
    )
    long_delta_bottom = _rad_deg(
        width / EARTH_RADIUS_IN_METERS / math.cos(_deg_rad(shape.lat - lat_delta))
    )
    long_delta = long_delta_bottom if shape.lat < 0 else long_delta_top
    return [
        shape.lon - long_delta,
        shape.lat - lat_delta,
        shape.lon + long_delta,
        shape.lat + lat_delta,
    ]


def areas_by_shape(shape: Shape) -> list[HashBits]:
    """``geohashCalculateAreasByShapeWGS84``: the centre cell and its neighbours, with the
    useless neighbours zeroed, in membersOfAllNeighbors's order."""
    shape.bounds = bounds = bounding_box(shape)
    min_lon, min_lat, max_lon, max_lat = bounds
    if shape.kind == CIRCULAR_TYPE:
        radius_meters = shape.radius
    else:
        radius_meters = math.sqrt(
            (shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2)
        )
    radius_meters *= shape.conversion
    steps = estimate_steps_by_radius(radius_meters, shape.lat)
    centre = encode(shape.lon, shape.lat, steps) or HashBits(0, steps)
    around = neighbours(centre)
    area = decode(centre)
    north, south, east, west = (decode(n) for n in around[:4])
    decrease = (
        (north is not None and north.lat_max < max_lat)
        or (south is not None and south.lat_min > min_lat)
        or (east is not None and east.lon_max < max_lon)
        or (west is not None and west.lon_min > min_lon)
    )
    if steps > 1 and decrease:
        steps -= 1
        centre = encode(shape.lon, shape.lat, steps) or HashBits(0, steps)
        around = neighbours(centre)
        area = decode(centre)
    if steps >= 2 and area is not None:
        zero = HashBits()
        n, s, e, w, ne, nw, se, sw = range(8)
        if area.lat_min < min_lat:
            around[s] = around[sw] = around[se] = zero
        if area.lat_max > max_lat:
            around[n] = around[ne] = around[nw] = zero
        if area.lon_min < min_lon:
            around[w] = around[sw] = around[nw] = zero
        if area.lon_max > max_lon:
            around[e] = around[se] = around[ne] = zero
    return [centre, *around]


def align52(hash_bits: HashBits) -> int:
    """``geohashAlign52Bits``."""
    return (hash_bits.bits << (52 - hash_bits.step * 2)) & MASK64


def distance(lon1d: float, lat1d: float, lon2d: float, lat2d: float) -> float:
    """``geohashGetDistance``: haversine on a sphere of EARTH_RADIUS_IN_METERS."""
    lat1r = _deg_rad(lat1d)
    lon1r = _deg_rad(lon1d)
    lat2r = _deg_rad(lat2d)
    lon2r = _deg_rad(lon2d)
    u = math.sin((lat2r - lat1r) / 2)
    v = math.sin((lon2r - lon1r) / 2)
    root = math.sqrt(u * u + math.cos(lat1r) * math.cos(lat2r) * v * v)
    if root > 1.0:
        return -math.nan  # C's asin outside [-1, 1]: the x86 default NaN, sign bit set
    return 2.0 * EARTH_RADIUS_IN_METERS * math.asin(root)


def distance_if_in_shape(shape: Shape, lon: float, lat: float) -> float | None:
    """``geohashGetDistanceIfInRadiusWGS84`` / ``geohashGetDistanceIfInRectangle``."""
    if shape.kind == CIRCULAR_TYPE:
        found = distance(shape.lon, shape.lat, lon, lat)
        return None if found > shape.radius * shape.conversion else found
    width = shape.width * shape.conversion
    height = shape.height * shape.conversion
    lon_distance = distance(lon, lat, shape.lon, lat)
    lat_distance = distance(lon, lat, lon, shape.lat)
    if lon_distance > width / 2 or lat_distance > height / 2:
        return None
    return distance(shape.lon, shape.lat, lon, lat)


# -- pqsort.c --------------------------------------------------------------------------------


def pqsort(items: list, cmp: Callable[[object, object], int], lrange: int, rrange: int) -> None:
    """Redis's ``pqsort``: NetBSD's quicksort that only sorts the parts overlapping positions
    ``lrange..rrange``, so ties among equal distances land exactly where Redis puts them."""
    _pqsort(items, 0, len(items), cmp, lrange, rrange)


def _med3(a: list, i: int, j: int, k: int, cmp: Callable[[object, object], int]) -> int:
    if cmp(a[i], a[j]) < 0:
        if cmp(a[j], a[k]) < 0:
            return j
        return k if cmp(a[i], a[k]) < 0 else i
    if cmp(a[j], a[k]) > 0:
        return j
    return i if cmp(a[i], a[k]) < 0 else k


def _vecswap(a: list, i: int, j: int, n: int) -> None:
    for offset in range(n):
        a[i + offset], a[j + offset] = a[j + offset], a[i + offset]


def _pqsort(
    a: list, base: int, n: int, cmp: Callable[[object, object], int], lrange: int, rrange: int
) -> None:
    while True:
        if n < 7:
            for pm in range(base + 1, base + n):
                pl = pm
                while pl > base and cmp(a[pl - 1], a[pl]) > 0:
                    a[pl], a[pl - 1] = a[pl - 1], a[pl]
                    pl -= 1
            return
        pm = base + n // 2
        if n > 7:
            pl, pn = base, base + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(a, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(a, pm - d, pm, pm + d, cmp)
                pn = _med3(a, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(a, pl, pm, pn, cmp)
        a[base], a[pm] = a[pm], a[base]
        pa = pb = base + 1
        pc = pd = base + n - 1
        while True:
            while pb <= pc:
                result = cmp(a[pb], a[base])
                if result > 0:
                    break
                if result == 0:
                    a[pa], a[pb] = a[pb], a[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                result = cmp(a[pc], a[base])
                if result < 0:
                    break
                if result == 0:
                    a[pc], a[pd] = a[pd], a[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            a[pb], a[pc] = a[pc], a[pb]
            pb += 1
            pc -= 1
        pn = base + n
        r = min(pa - base, pb - pa)
        _vecswap(a, base, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(a, pb, pn - r, r)
        r = pb - pa
        if r > 1 and not (
            (lrange < base and rrange < base) or (lrange > base + r - 1 and rrange > base + r - 1)
        ):
            _pqsort(a, base, r, cmp, lrange, rrange)
        r = pd - pc
        if r <= 1:
            return
        base, n = pn - r, r
        if (lrange < base and rrange < base) or (lrange > base + r - 1 and rrange > base + r - 1):
            return
