#!/usr/bin/env python3
"""A game leaderboard on a sorted set: ZADD scores, top-N with ZREVRANGE, a player's rank with
ZREVRANK (the playbook's "Scenario A"). All keys share the {game} hash tag, so the example also
runs on a cluster."""

from __future__ import annotations

import random

import redis

BOARD = "{game}:leaderboard"


def run(client: redis.Redis, players: int = 1000, seed: int = 7) -> dict:
    rng = random.Random(seed)
    client.delete(BOARD)
    scores = {f"player:{i}": rng.randint(0, 100_000) for i in range(players)}
    pipe = client.pipeline(transaction=False)
    for start in range(0, players, 200):
        chunk = dict(list(scores.items())[start : start + 200])
        pipe.zadd(BOARD, chunk)
    pipe.execute()
    client.zincrby(BOARD, 500, "player:0")  # a match won
    scores["player:0"] += 500
    top = client.zrevrange(BOARD, 0, 9, withscores=True)
    # ZREVRANGE: score descending, equal scores by member in reverse byte order.
    expected = sorted(scores.items(), key=lambda kv: (kv[1], kv[0].encode()), reverse=True)
    rank = client.zrevrank(BOARD, "player:0")
    assert rank == [name for name, _ in expected].index("player:0"), "rank mismatch"
    assert [score for _, score in top] == [float(s) for _, s in expected[:10]], "top-10 mismatch"
    assert client.zcard(BOARD) == players
    return {"top3": top[:3], "player0_rank": rank}


if __name__ == "__main__":
    from _common import connect

    print(run(connect(__doc__)))
