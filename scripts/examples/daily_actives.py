#!/usr/bin/env python3
"""Daily active users as bitmaps: SETBIT per user id per day, BITCOUNT per day, BITOP AND for
users active every day and OR for the weekly total (retention)."""

from __future__ import annotations

import random

import redis

DAYS = [f"{{dau}}:2026-11-{d:02d}" for d in range(20, 27)]


def run(client: redis.Redis, users: int = 100_000, seed: int = 11) -> dict:
    rng = random.Random(seed)
    client.delete(*DAYS, "{dau}:all-week", "{dau}:any-day")
    active: list[set[int]] = []
    pipe = client.pipeline(transaction=False)
    for day in DAYS:
        ids = {rng.randrange(users) for _ in range(users // 4)}
        active.append(ids)
        for uid in ids:
            pipe.setbit(day, uid, 1)
        pipe.execute()
    for day, ids in zip(DAYS, active, strict=True):
        assert client.bitcount(day) == len(ids)
    client.bitop("AND", "{dau}:all-week", *DAYS)
    client.bitop("OR", "{dau}:any-day", *DAYS)
    every_day = set.intersection(*active)
    any_day = set.union(*active)
    assert client.bitcount("{dau}:all-week") == len(every_day)
    assert client.bitcount("{dau}:any-day") == len(any_day)
    return {
        "daily": [len(ids) for ids in active],
        "every_day": len(every_day),
        "any_day": len(any_day),
    }


if __name__ == "__main__":
    from _common import connect

    print(run(connect(__doc__)))
