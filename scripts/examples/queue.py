#!/usr/bin/env python3
"""A work queue on a list: producers LPUSH, consumers block in BRPOP until a job arrives."""

from __future__ import annotations

import threading
import time

import redis

QUEUE = "{jobs}:queue"


def run(client: redis.Redis, jobs: int = 200, new_client=None) -> dict:
    """``new_client()`` makes the consumer's own client (a plain Redis or a RedisCluster)."""
    client.delete(QUEUE)
    consumer = new_client() if new_client else redis.Redis(connection_pool=client.connection_pool)
    done: list[str] = []

    def consume() -> None:
        while len(done) < jobs:
            item = consumer.brpop([QUEUE], timeout=5)
            if item is None:
                return
            done.append(item[1])

    worker = threading.Thread(target=consume)
    worker.start()
    time.sleep(0.05)  # let the consumer block first: the pushes below wake it
    for i in range(jobs):
        client.lpush(QUEUE, f"job:{i}")
    worker.join(timeout=30)
    assert done == [f"job:{i}" for i in range(jobs)], "jobs lost or out of order"
    assert client.brpop([QUEUE], timeout=0.1) is None  # empty queue: BRPOP times out
    return {"processed": len(done)}


if __name__ == "__main__":
    from _common import connect

    print(run(connect(__doc__)))
