#!/usr/bin/env python3
"""Benchmark one rcsim node against one redis-server in the same run and print the ratios.

Runs ``redis-benchmark -q -c 50 -n N [-t <tests>]`` against each server, without and with
``-P 16``, then loads 1,000,000 keys with 16-byte values into each and compares resident memory.
``--tests default`` (the default) runs redis-benchmark's own default test list.

Usage: scripts/bench/node.py [--requests 200000] [--tests default|set,get,incr,mset]
                             [--keys 1000000] [--no-memory]
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.procs import start_rcsim, start_redis  # noqa: E402

RESULT_LINE = re.compile(r"^([A-Za-z0-9_ ()\-:]+?):\s+([\d.]+) requests per second", re.MULTILINE)


def run_benchmark(port: int, tests: str, requests: int, pipeline: int) -> dict[str, float]:
    cmd = ["redis-benchmark", "-p", str(port), "-q", "-c", "50", "-n", str(requests)]
    if tests != "default":
        cmd += ["-t", tests]
    if pipeline > 1:
        cmd += ["-P", str(pipeline)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    text = out.stdout.replace("\r", "\n")
    results = {}
    for name, rps in RESULT_LINE.findall(text):
        results[name.strip()] = float(rps)
    if out.returncode != 0 or "error" in (out.stdout + out.stderr).lower():
        print(
            f"redis-benchmark reported a problem on port {port}:\n{out.stdout}{out.stderr}",
            file=sys.stderr,
        )
    return results


def load_keys(port: int, count: int, value_size: int = 16) -> None:
    """Pipelined SETs of ``key:<n>`` -> a ``value_size``-byte value, 1,000 per batch."""
    value = b"v" * value_size
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for start in range(0, count, 1000):
            batch = []
            for i in range(start, min(start + 1000, count)):
                key = b"key:%d" % i
                batch.append(
                    b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                    % (len(key), key, len(value), value)
                )
            sock.sendall(b"".join(batch))
            expected = len(batch) * 5
            got = 0
            while got < expected:
                got += len(sock.recv(1 << 20))


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200000)
    parser.add_argument("--tests", default="default")
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()

    rows = []
    for pipeline in (1, 16):
        ours = start_rcsim()
        theirs = start_redis()
        try:
            r_theirs = run_benchmark(theirs.port, args.tests, args.requests, pipeline)
            r_ours = run_benchmark(ours.port, args.tests, args.requests, pipeline)
        finally:
            ours.stop()
            theirs.stop()
        for name, theirs_rps in r_theirs.items():
            ours_rps = r_ours.get(name, 0.0)
            rows.append(
                (name, pipeline, ours_rps, theirs_rps, ours_rps / theirs_rps if theirs_rps else 0.0)
            )

    tests = "" if args.tests == "default" else f" -t {args.tests}"
    print(
        f"\nredis-benchmark -q -c 50 -n {args.requests}{tests}  (rcsim vs redis-server 7.0.15, same run)\n"
    )
    print("| test | pipeline | rcsim req/s | redis req/s | ratio |")
    print("|---|---|---|---|---|")
    for name, pipeline, ours_rps, theirs_rps, ratio in rows:
        print(f"| {name} | {pipeline} | {ours_rps:,.0f} | {theirs_rps:,.0f} | {ratio:.2f}x |")

    if not args.no_memory:
        ours = start_rcsim()
        theirs = start_redis()
        try:
            base_ours, base_theirs = rss_bytes(ours.pid), rss_bytes(theirs.pid)
            t0 = time.monotonic()
            load_keys(ours.port, args.keys)
            load_ours = time.monotonic() - t0
            load_keys(theirs.port, args.keys)
            mem_ours, mem_theirs = rss_bytes(ours.pid), rss_bytes(theirs.pid)
        finally:
            ours.stop()
            theirs.stop()
        print(
            f"\nMemory, {args.keys:,} keys with 16-byte values (RSS; empty-server RSS in brackets)\n"
        )
        print("| server | RSS | ratio |")
        print("|---|---|---|")
        print(
            f"| rcsim | {mem_ours / 2**20:,.1f} MiB ({base_ours / 2**20:.1f}) | {mem_ours / mem_theirs:.2f}x |"
        )
        print(
            f"| redis-server | {mem_theirs / 2**20:,.1f} MiB ({base_theirs / 2**20:.1f}) | 1.00x |"
        )
        print(f"\n(rcsim loaded them in {load_ours:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
