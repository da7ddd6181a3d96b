"""Geo commands, mirroring Redis 7.0.15's ``geo.c``: a geo index is a plain sorted set whose
scores are 52-bit geohashes (TYPE says ``zset``), so every sorted set command works on it.

The arithmetic (encoding, neighbours, distances, Redis's partial quicksort) is in
``node.types.geohash``. Replies follow Redis: distances are ``%.4f`` bulk strings in both
protocols; coordinates are printed as ``addReplyHumanLongDouble`` does (``%.17Lf`` with trailing
zeros stripped: a bulk string in RESP2, a ``,`` double in RESP3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from node import long_double
from node.protocol.errors import RespError, syntax_error
from node.protocol.resp import NULL_ARRAY, Double
from node.session import Session
from node.types import geohash
from node.types.common import parse_int
from node.types.geohash import CIRCULAR_TYPE, RECTANGLE_TYPE, Shape
from node.types.zset_args import option, parse_double
from node.types.zset_value import ZSet, limits, read_zset, store_result
from node.types.zsets import zadd_generic

UNSUPPORTED_UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI"
NEED_NUMERIC_RADIUS = "ERR need numeric radius"
NEGATIVE_RADIUS = "ERR radius cannot be negative"
NEED_NUMERIC_WIDTH = "ERR need numeric width"
NEED_NUMERIC_HEIGHT = "ERR need numeric height"
NEGATIVE_BOX = "ERR height or width cannot be negative"
BAD_MEMBER = "ERR could not decode requested zset member"
COUNT_POSITIVE = "ERR COUNT must be > 0"
ANY_NEEDS_COUNT = "ERR the ANY argument requires COUNT argument"
STORE_WITH_OPTIONS = "ERR {} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
NEED_FROM = "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}"
NEED_BY = "ERR exactly one of BYRADIUS and BYBOX can be specified for {}"

UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}
GEO_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"

# georadiusGeneric's flags
RADIUS_COORDS, RADIUS_MEMBER, RADIUS_NOSTORE, GEOSEARCH, GEOSEARCHSTORE = 1, 2, 4, 8, 16
SORT_NONE, SORT_ASC, SORT_DESC = 0, 1, 2


@dataclass(slots=True)
class GeoPoint:
    lon: float
    lat: float
    dist: float
    member: bytes
    score: float


# -- argument helpers ------------------------------------------------------------------------


def extract_lonlat(argv: list[bytes], at: int) -> tuple[float, float]:
    """``extractLongLatOrReply``."""
    lon, lat = parse_double(argv[at]), parse_double(argv[at + 1])
    if not (
        geohash.GEO_LONG_MIN <= lon <= geohash.GEO_LONG_MAX
        and geohash.GEO_LAT_MIN <= lat <= geohash.GEO_LAT_MAX
    ):
        raise RespError("ERR invalid longitude,latitude pair %f,%f" % (lon, lat))
    return lon, lat


def extract_unit(raw: bytes) -> float:
    unit = UNITS.get(option(raw))
    if unit is None:
        raise RespError(UNSUPPORTED_UNIT)
    return unit


def extract_distance(argv: list[bytes], at: int) -> tuple[float, float]:
    """``extractDistanceOrReply``: (radius, conversion to meters)."""
    radius = parse_double(argv[at], NEED_NUMERIC_RADIUS)
    if radius < 0:
        raise RespError(NEGATIVE_RADIUS)
    return radius, extract_unit(argv[at + 1])


def extract_box(argv: list[bytes], at: int) -> tuple[float, float, float]:
    """``extractBoxOrReply``: (width, height, conversion)."""
    width = parse_double(argv[at], NEED_NUMERIC_WIDTH)
    height = parse_double(argv[at + 1], NEED_NUMERIC_HEIGHT)
    if height < 0 or width < 0:
        raise RespError(NEGATIVE_BOX)
    return width, height, extract_unit(argv[at + 2])


def member_lonlat(zset: ZSet, member: bytes) -> tuple[float, float]:
    score = zset.scores.get(member)
    if score is None:
        raise RespError(BAD_MEMBER)
    return geohash.decode_score(score)


def coordinate(value: float) -> Double:
    """``addReplyHumanLongDouble``: ``%.17Lf`` of the exact value, trailing zeros stripped."""
    mantissa, denominator = value.as_integer_ratio()
    return Double(value, long_double.format_human((mantissa, -(denominator.bit_length() - 1))))


def distance_text(value: float) -> bytes:
    """``addReplyDoubleDistance``: ``%.4f`` (glibc prints a NaN with its sign)."""
    if math.isnan(value):
        return b"-nan" if math.copysign(1.0, value) < 0 else b"nan"
    return b"%.4f" % value


# -- GEOADD, GEOPOS, GEODIST, GEOHASH --------------------------------------------------------


def geoadd_command(ctx: Session, argv: list[bytes]) -> object:
    """``geoaddCommand``: parse, turn each (lon, lat) into its 52-bit score, then run ZADD."""
    first = 2
    nx = xx = False
    while first < len(argv):
        word = option(argv[first])
        if word == b"nx":
            nx = True
        elif word == b"xx":
            xx = True
        elif word != b"ch":
            break
        first += 1
    if (len(argv) - first) % 3 or (nx and xx):
        raise syntax_error()
    rewritten = [b"zadd", *argv[1:first]]
    for at in range(first, len(argv), 3):
        lon, lat = extract_lonlat(argv, at)
        bits = geohash.encode(lon, lat, geohash.GEO_STEP_MAX)
        rewritten += [b"%d" % geohash.align52(bits), argv[at + 2]]  # type: ignore[arg-type]
    return zadd_generic(ctx, rewritten)


def geopos_command(ctx: Session, argv: list[bytes]) -> object:
    zset = read_zset(ctx, argv[1])
    scores = zset.scores if zset is not None else {}
    out: list = []
    for member in argv[2:]:
        score = scores.get(member)
        if score is None:
            out.append(NULL_ARRAY)
        else:
            lon, lat = geohash.decode_score(score)
            out.append([coordinate(lon), coordinate(lat)])
    return out


def geodist_command(ctx: Session, argv: list[bytes]) -> object:
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = extract_unit(argv[4])
    elif len(argv) > 5:
        raise syntax_error()
    zset = read_zset(ctx, argv[1])
    if zset is None:
        return None
    first, second = zset.scores.get(argv[2]), zset.scores.get(argv[3])
    if first is None or second is None:
        return None
    lon1, lat1 = geohash.decode_score(first)
    lon2, lat2 = geohash.decode_score(second)
    return distance_text(geohash.distance(lon1, lat1, lon2, lat2) / to_meter)


def geohash_command(ctx: Session, argv: list[bytes]) -> object:
    """Standard 11-character geohashes: decode, re-encode with latitudes in +-90."""
    zset = read_zset(ctx, argv[1])
    scores = zset.scores if zset is not None else {}
    out: list = []
    for member in argv[2:]:
        score = scores.get(member)
        if score is None:
            out.append(None)
            continue
        lon, lat = geohash.decode_score(score)
        bits = geohash.encode(lon, lat, 26, (-180.0, 180.0), (-90.0, 90.0))
        value = bits.bits if bits is not None else 0
        chars = [GEO_ALPHABET[(value >> (52 - (i + 1) * 5)) & 0x1F] for i in range(10)]
        out.append(bytes(chars) + b"0")
    return out


# -- searches --------------------------------------------------------------------------------


def _points_in_box(
    zset: ZSet, cell: geohash.HashBits, shape: Shape, found: list[GeoPoint], limit: int
) -> None:
    """``membersOfGeoHashBox`` + ``geoGetPointsInRange``: scores in [min, max) of the cell."""
    low = geohash.align52(cell)
    high = geohash.align52(geohash.HashBits(cell.bits + 1, cell.step))
    bounds = zset.score_bounds((float(low), False, float(high), True))
    if bounds is None:
        return
    for score, member in zset.order.islice(bounds[0], bounds[1] + 1):
        lon, lat = geohash.decode_score(score)
        dist = geohash.distance_if_in_shape(shape, lon, lat)
        if dist is not None:
            found.append(GeoPoint(lon, lat, dist, member, score))
        if found and limit and len(found) >= limit:
            return


def members_of_all_neighbours(
    zset: ZSet, cells: list[geohash.HashBits], shape: Shape, limit: int
) -> list[GeoPoint]:
    """``membersOfAllNeighbors``: skip zeroed cells and a cell equal to the last one read."""
    found: list[GeoPoint] = []
    last = 0
    for i, cell in enumerate(cells):
        if cell.is_zero():
            continue
        if last and cell.bits == cells[last].bits and cell.step == cells[last].step:
            continue
        if found and limit and len(found) >= limit:
            break
        _points_in_box(zset, cell, shape, found, limit)
        last = i
    return found


def _compare_asc(a: object, b: object) -> int:
    da, db = a.dist, b.dist  # type: ignore[attr-defined]
    return 1 if da > db else (0 if da == db else -1)


def _compare_desc(a: object, b: object) -> int:
    return -_compare_asc(a, b)


@dataclass(slots=True)
class _Options:
    withdist: bool = False
    withhash: bool = False
    withcoords: bool = False
    any: bool = False
    sort: int = SORT_NONE
    count: int = 0
    storekey: bytes | None = None
    storedist: bool = False
    frommember: bool = False
    fromloc: bool = False
    byradius: bool = False
    bybox: bool = False


def _parse_options(
    argv: list[bytes], base: int, flags: int, zset: ZSet | None, shape: Shape, opts: _Options
) -> None:
    """The option loop of ``georadiusGeneric`` (FROM*/BY* fill ``shape`` as they are read)."""
    i = base
    end = len(argv)
    search = bool(flags & GEOSEARCH)
    can_store = not flags & RADIUS_NOSTORE and not search
    while i < end:
        arg = option(argv[i])
        more = end - i - 1
        if arg == b"withdist":
            opts.withdist = True
        elif arg == b"withhash":
            opts.withhash = True
        elif arg == b"withcoord":
            opts.withcoords = True
        elif arg == b"any":
            opts.any = True
        elif arg == b"asc":
            opts.sort = SORT_ASC
        elif arg == b"desc":
            opts.sort = SORT_DESC
        elif arg == b"count" and more >= 1:
            opts.count = parse_int(argv[i + 1])
            if opts.count <= 0:
                raise RespError(COUNT_POSITIVE)
            i += 1
        elif arg in (b"store", b"storedist") and more >= 1 and can_store:
            opts.storekey, opts.storedist = argv[i + 1], arg == b"storedist"
            i += 1
        elif arg == b"storedist" and search and flags & GEOSEARCHSTORE:
            opts.storedist = True
        elif arg == b"frommember" and more >= 1 and search and not opts.fromloc:
            if zset is not None:
                shape.lon, shape.lat = member_lonlat(zset, argv[i + 1])
            opts.frommember = True
            i += 1
        elif arg == b"fromlonlat" and more >= 2 and search and not opts.frommember:
            shape.lon, shape.lat = extract_lonlat(argv, i + 1)
            opts.fromloc = True
            i += 2
        elif arg == b"byradius" and more >= 2 and search and not opts.bybox:
            shape.radius, shape.conversion = extract_distance(argv, i + 1)
            shape.kind = CIRCULAR_TYPE
            opts.byradius = True
            i += 2
        elif arg == b"bybox" and more >= 3 and search and not opts.byradius:
            shape.width, shape.height, shape.conversion = extract_box(argv, i + 1)
            shape.kind = RECTANGLE_TYPE
            opts.bybox = True
            i += 3
        else:
            raise syntax_error()
        i += 1


def georadius_generic(ctx: Session, argv: list[bytes], src_index: int, flags: int) -> object:
    """``georadiusGeneric``: GEORADIUS[BYMEMBER][_RO], GEOSEARCH and GEOSEARCHSTORE."""
    zset = read_zset(ctx, argv[src_index])
    shape = Shape()
    opts = _Options()
    if flags & RADIUS_COORDS:
        base = 6
        shape.kind = CIRCULAR_TYPE
        shape.lon, shape.lat = extract_lonlat(argv, 2)
        shape.radius, shape.conversion = extract_distance(argv, base - 2)
    elif flags & RADIUS_MEMBER:
        base = 5
        if zset is not None:
            shape.kind = CIRCULAR_TYPE
            shape.lon, shape.lat = member_lonlat(zset, argv[2])
            shape.radius, shape.conversion = extract_distance(argv, base - 2)
    else:
        base = 2
        if flags & GEOSEARCHSTORE:
            base = 3
            opts.storekey = argv[1]
    _parse_options(argv, base, flags, zset, shape, opts)
    name = argv[0].decode("utf-8", "surrogateescape")
    if opts.storekey is not None and (opts.withdist or opts.withhash or opts.withcoords):
        which = "GEOSEARCHSTORE" if flags & GEOSEARCHSTORE else "STORE option in GEORADIUS"
        raise RespError(STORE_WITH_OPTIONS.format(which))
    if flags & GEOSEARCH and not (opts.frommember or opts.fromloc):
        raise RespError(NEED_FROM.format(name))
    if flags & GEOSEARCH and not (opts.byradius or opts.bybox):
        raise RespError(NEED_BY.format(name))
    if opts.any and not opts.count:
        raise RespError(ANY_NEEDS_COUNT)
    if zset is None:
        if opts.storekey is not None:
            ctx.db.delete(opts.storekey)
            return 0
        return []
    if opts.count and opts.sort == SORT_NONE and not opts.any:
        opts.sort = SORT_ASC
    cells = geohash.areas_by_shape(shape)
    found = members_of_all_neighbours(zset, cells, shape, opts.count if opts.any else 0)
    if not found and opts.storekey is None:
        return []
    returned = len(found) if not opts.count or len(found) < opts.count else opts.count
    if opts.sort != SORT_NONE:
        if returned == len(found):
            found.sort(key=lambda point: point.dist, reverse=opts.sort == SORT_DESC)
        else:
            compare = _compare_asc if opts.sort == SORT_ASC else _compare_desc
            geohash.pqsort(found, compare, 0, returned - 1)
    if opts.storekey is None:
        return [_point_reply(point, shape, opts) for point in found[:returned]]
    result = ZSet(listpack=False)
    caps = limits(ctx)
    for point in found[:returned]:
        score = point.dist / shape.conversion if opts.storedist else point.score
        result.add(point.member, score, 0, 0)
    result.to_listpack_if_small(*caps)
    store_result(ctx, opts.storekey, result)
    return returned


def _point_reply(point: GeoPoint, shape: Shape, opts: _Options) -> object:
    if not (opts.withdist or opts.withhash or opts.withcoords):
        return point.member
    item: list = [point.member]
    if opts.withdist:
        item.append(distance_text(point.dist / shape.conversion))
    if opts.withhash:
        item.append(int(point.score))
    if opts.withcoords:
        item.append([coordinate(point.lon), coordinate(point.lat)])
    return item


def georadius_command(ctx: Session, argv: list[bytes]) -> object:
    return georadius_generic(ctx, argv, 1, RADIUS_COORDS)


def georadiusbymember_command(ctx: Session, argv: list[bytes]) -> object:
    return georadius_generic(ctx, argv, 1, RADIUS_MEMBER)


def georadius_ro_command(ctx: Session, argv: list[bytes]) -> object:
    return georadius_generic(ctx, argv, 1, RADIUS_COORDS | RADIUS_NOSTORE)


def georadiusbymember_ro_command(ctx: Session, argv: list[bytes]) -> object:
    return georadius_generic(ctx, argv, 1, RADIUS_MEMBER | RADIUS_NOSTORE)


def geosearch_command(ctx: Session, argv: list[bytes]) -> object:
    return georadius_generic(ctx, argv, 1, GEOSEARCH)


def geosearchstore_command(ctx: Session, argv: list[bytes]) -> object:
    return georadius_generic(ctx, argv, 2, GEOSEARCH | GEOSEARCHSTORE)


HANDLERS = {
    "geoadd": geoadd_command,
    "geopos": geopos_command,
    "geodist": geodist_command,
    "geohash": geohash_command,
    "georadius": georadius_command,
    "georadiusbymember": georadiusbymember_command,
    "georadius_ro": georadius_ro_command,
    "georadiusbymember_ro": georadiusbymember_ro_command,
    "geosearch": geosearch_command,
    "geosearchstore": geosearchstore_command,
}
