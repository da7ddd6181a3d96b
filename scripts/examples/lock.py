#!/usr/bin/env python3
"""A distributed lock: acquire with SET key token NX PX, release with a Lua compare-and-delete so
a client never deletes a lock another client acquired after its own expired (Scenario B)."""

from __future__ import annotations

import time
import uuid

import redis

LOCK = "{cron}:lock"
RELEASE = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
else
    return 0
end
"""


def acquire(client: redis.Redis, ttl_ms: int) -> str | None:
    token = uuid.uuid4().hex
    return token if client.set(LOCK, token, nx=True, px=ttl_ms) else None


def run(client: redis.Redis) -> dict:
    client.delete(LOCK)
    release = client.register_script(RELEASE)
    first = acquire(client, ttl_ms=200)
    assert first is not None
    assert acquire(client, ttl_ms=200) is None, "a second client got a held lock"
    assert release(keys=[LOCK], args=["not-my-token"]) == 0, "released someone else's lock"
    assert release(keys=[LOCK], args=[first]) == 1
    # An expired lock is taken over; the slow first owner must not delete the new one.
    slow = acquire(client, ttl_ms=50)
    deadline = time.monotonic() + 2
    while client.exists(LOCK) and time.monotonic() < deadline:
        time.sleep(0.01)
    second = acquire(client, ttl_ms=5000)
    assert second is not None
    assert release(keys=[LOCK], args=[slow]) == 0, "a stale owner deleted the new lock"
    assert client.get(LOCK) == second
    assert release(keys=[LOCK], args=[second]) == 1
    return {"held_then_released": True}


if __name__ == "__main__":
    from _common import connect

    print(run(connect(__doc__)))
