#!/usr/bin/env python3
"""Unique visitors with HyperLogLog: 1,000,000 distinct IPs in 12 KB, within 1% (Scenario E)."""

from __future__ import annotations

import redis

KEY = "{visits}:2026-11-26"


def run(client: redis.Redis, visitors: int = 1_000_000, batch: int = 5000) -> dict:
    client.delete(KEY)
    pipe = client.pipeline(transaction=False)
    for start in range(0, visitors, batch):
        pipe.pfadd(
            KEY,
            *(
                f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}:{i}"
                for i in range(start, min(start + batch, visitors))
            ),
        )
        if len(pipe) >= 20:
            pipe.execute()
    pipe.execute()
    count = client.pfcount(KEY)
    error = abs(count - visitors) / visitors
    size = client.strlen(KEY)
    assert error < 0.01, f"estimate {count} is {error:.2%} off"
    assert size <= 12 * 1024 + 16, f"{size} bytes is more than a dense HLL"
    return {"estimate": count, "error": round(error, 5), "bytes": size}


if __name__ == "__main__":
    from _common import connect

    print(run(connect(__doc__)))
