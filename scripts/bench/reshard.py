#!/usr/bin/env python3
"""Benchmark resharding: ``redis-cli --cluster reshard`` moves the same number of slots (and so
about the same number of keys) on a 3-master rcsim cluster (``rcsim up``) and on a 3-master
redis-server cluster (``redis-cli --cluster create``), in the same run; prints keys moved per
second for each and the ratio (issue #6 target: at least 0.5x).

Keys are loaded through ``redis-benchmark``-free pipelines (``key:<i>`` -> 16-byte values) and
counted on the source before and after, so "keys moved" is measured, not assumed. Everything
started here is stopped by PID (rcsim nodes through ``rcsim down``), also on errors.

Usage: scripts/bench/reshard.py [--keys 100000] [--slots 4096] [--pipeline 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts" / "bench"))

from cluster import rcsim_and_redis_clusters  # noqa: E402
from node.protocol.keyslot import key_slot  # noqa: E402
from tests.support.rawclient import RawClient, encode_command  # noqa: E402


def node_ids(port: int) -> dict[int, str]:
    with RawClient(port) as client:
        text = client.call("CLUSTER", "NODES").split(b"\r\n", 1)[1].decode()
    out = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 8:
            out[int(fields[1].split("@")[0].rsplit(":", 1)[1])] = fields[0]
    return out


def slot_owners(port: int) -> dict[int, int]:
    """slot -> client port of its master (CLUSTER NODES: ranges after the 8 fields)."""
    with RawClient(port) as client:
        text = client.call("CLUSTER", "NODES").split(b"\r\n", 1)[1].decode()
    owners = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        node_port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
        for item in fields[8:]:
            if item.startswith("["):
                continue
            start, _, end = item.partition("-")
            for slot in range(int(start), int(end or start) + 1):
                owners[slot] = node_port
    return owners


def load_keys(port: int, count: int) -> None:
    """SET key:<i> on the owner of its slot, pipelined per node (no client library needed)."""
    owners = slot_owners(port)
    batches: dict[int, list[bytes]] = {}
    for i in range(count):
        key = b"key:%d" % i
        batches.setdefault(owners[key_slot(key)], []).append(encode_command(b"SET", key, b"v" * 16))
    for node_port, commands in batches.items():
        with socket.create_connection(("127.0.0.1", node_port)) as sock:
            for start in range(0, len(commands), 1000):
                chunk = commands[start : start + 1000]
                sock.sendall(b"".join(chunk))
                expected = len(chunk) * len(b"+OK\r\n")
                got = 0
                while got < expected:
                    data = sock.recv(65536)
                    if not data:
                        raise RuntimeError("connection closed while loading")
                    if b"-" in data:
                        raise RuntimeError(f"load error: {data[:200]!r}")
                    got += len(data)


def dbsize(port: int) -> int:
    with RawClient(port) as client:
        return int(client.call("DBSIZE")[1:-2])


def reshard(base: int, slots: int, pipeline: int, back: bool = False) -> tuple[float, int]:
    """Move ``slots`` slots from the first master to the second (``back``: from the second to
    the first); (seconds, keys moved)."""
    ids = node_ids(base)
    ports = sorted(ids)
    source, target = (ports[1], ports[0]) if back else (ports[0], ports[1])
    before = dbsize(source)
    cmd = ["redis-cli", "--cluster", "reshard", f"127.0.0.1:{base}"]
    cmd += ["--cluster-from", ids[source], "--cluster-to", ids[target]]
    cmd += ["--cluster-slots", str(slots), "--cluster-yes", "--cluster-pipeline", str(pipeline)]
    started = time.perf_counter()
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=3600, stdin=subprocess.DEVNULL
    )
    elapsed = time.perf_counter() - started
    if out.returncode != 0 or "[ERR]" in out.stdout:
        raise RuntimeError(f"reshard failed:\n{out.stdout[-3000:]}{out.stderr}")
    return elapsed, before - dbsize(source)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keys", type=int, default=100000)
    parser.add_argument("--slots", type=int, default=4096)
    parser.add_argument("--pipeline", type=int, default=10, help="redis-cli --cluster-pipeline")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="reshards per cluster, alternating direction and which cluster goes first",
    )
    args = parser.parse_args()

    runs: list[tuple[int, str, float, int]] = []  # (round, cluster, seconds, keys moved)
    with rcsim_and_redis_clusters(3, "rcsim-bench-reshard-") as (base, redis_base):
        ports = {"redis": redis_base, "rcsim": base}
        for port in ports.values():
            load_keys(port, args.keys)
        # Alternating which cluster goes first evens out the machine's drift between the two
        # halves of a round; the second round moves the same slots (and keys) back.
        for round_no in range(args.rounds):
            order = ("redis", "rcsim") if round_no % 2 == 0 else ("rcsim", "redis")
            for name in order:
                seconds, moved = reshard(ports[name], args.slots, args.pipeline, round_no % 2 == 1)
                runs.append((round_no + 1, name, seconds, moved))

    print(
        f"\nredis-cli --cluster reshard --cluster-slots {args.slots} --cluster-pipeline"
        f" {args.pipeline}, {args.keys} keys loaded (3 masters, rcsim vs redis-server 7.0.15,"
        f" same run, {args.rounds} rounds)\n"
    )
    print("| round | cluster | slots | keys moved | seconds | keys/s | slots/s |")
    print("|---|---|---|---|---|---|---|")
    totals: dict[str, list[float]] = {"redis": [0.0, 0.0], "rcsim": [0.0, 0.0]}
    for round_no, name, seconds, moved in runs:
        totals[name][0] += seconds
        totals[name][1] += moved
        print(
            f"| {round_no} | {name} | {args.slots} | {moved} | {seconds:.2f} |"
            f" {moved / seconds:,.0f} | {args.slots / seconds:,.0f} |"
        )
    rates = {name: moved / seconds for name, (seconds, moved) in totals.items()}
    ratio = rates["rcsim"] / rates["redis"]
    print(
        f"\nkeys moved per second over all rounds: rcsim {rates['rcsim']:,.0f},"
        f" redis {rates['redis']:,.0f}"
    )
    print(f"ratio rcsim/redis (keys moved per second): {ratio:.2f}x (target >= 0.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
