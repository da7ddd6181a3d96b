"""Shared argument handling for the worked examples: each runs against any Redis-compatible node."""

from __future__ import annotations

import argparse

import redis


def connect(description: str) -> redis.Redis:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7000)
    args = parser.parse_args()
    return redis.Redis(host=args.host, port=args.port, decode_responses=True)
