#!/usr/bin/env python3
"""Drivers within 5 km of a rider with GEOADD and GEOSEARCH (the playbook's geo use case)."""

from __future__ import annotations

import math
import random

import redis

KEY = "{city}:drivers"
RIDER = (13.4050, 52.5200)  # Berlin, longitude first as Redis wants


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6372.797560856 * math.asin(math.sqrt(h))


def run(client: redis.Redis, drivers: int = 500, seed: int = 3) -> dict:
    rng = random.Random(seed)
    client.delete(KEY)
    points = {
        f"driver:{i}": (RIDER[0] + rng.uniform(-0.15, 0.15), RIDER[1] + rng.uniform(-0.1, 0.1))
        for i in range(drivers)
    }
    values = []
    for name, (lon, lat) in points.items():
        values += [lon, lat, name]
    client.geoadd(KEY, values)
    found = client.geosearch(
        KEY, longitude=RIDER[0], latitude=RIDER[1], radius=5, unit="km", withdist=True, sort="ASC"
    )
    expected = {n for n, p in points.items() if _distance_km(RIDER, p) <= 5}
    names = {name for name, _ in found}
    # Stored coordinates are 52-bit geohashes: allow the few points within a metre of the edge.
    assert len(names ^ expected) <= 2, "GEOSEARCH disagrees with the haversine distance"
    assert [d for _, d in found] == sorted(d for _, d in found)
    return {"within_5km": len(found), "nearest": found[0] if found else None}


if __name__ == "__main__":
    from _common import connect

    print(run(connect(__doc__)))
