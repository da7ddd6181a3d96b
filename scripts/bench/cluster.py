#!/usr/bin/env python3
"""Benchmark a 3-master rcsim cluster (``rcsim up``) against a 3-master redis-server cluster made
the way Redis users do (``redis-cli --cluster create``), in the same run, and print the ratios.

Runs ``redis-benchmark --cluster -q -t set,get -n N -c 50`` against each cluster. Everything
started here is stopped by PID (rcsim nodes through ``rcsim down``), also on errors.

Usage: scripts/bench/cluster.py [--requests 100000] [--masters 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.cluster import free_port_run, rcsim  # noqa: E402

RESULT_LINE = re.compile(
    r"^[ \t]*([A-Za-z][A-Za-z0-9_ ()\-:]*?):[ \t]+([\d.]+) requests per second", re.MULTILINE
)


def run_benchmark(port: int, requests: int) -> dict[str, float]:
    cmd = ["redis-benchmark", "--cluster", "-p", str(port), "-q", "-t", "set,get"]
    cmd += ["-n", str(requests), "-c", "50"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    text = out.stdout.replace("\r", "\n")
    if out.returncode != 0 or "error" in (out.stdout + out.stderr).lower():
        print(f"redis-benchmark problem on port {port}:\n{out.stdout}{out.stderr}", file=sys.stderr)
    return {name.strip(): float(rps) for name, rps in RESULT_LINE.findall(text)}


def wait_cluster_ok(ports: list[int], timeout: float = 30.0) -> None:
    """Poll CLUSTER INFO on every node until each reports ``cluster_state:ok``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [
            subprocess.run(
                ["redis-cli", "-p", str(p), "cluster", "info"], capture_output=True, text=True
            ).stdout
            for p in ports
        ]
        if all("cluster_state:ok" in s for s in states):
            return
        time.sleep(0.1)
    raise RuntimeError("redis cluster did not reach cluster_state:ok")


def start_redis_cluster(masters: int, work: Path) -> tuple[int, list[subprocess.Popen]]:
    """Bare cluster-enabled redis-servers joined by ``redis-cli --cluster create``."""
    base = free_port_run(masters)
    procs = []
    try:
        for port in range(base, base + masters):
            d = work / f"redis-{port}"
            d.mkdir()
            procs.append(
                subprocess.Popen(
                    [
                        "redis-server",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        str(d / "nodes.conf"),
                        "--port",
                        str(port),
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(d),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port in range(base, base + masters):
            deadline = time.monotonic() + 10
            while (
                subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
                ).stdout.strip()
                != "PONG"
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on {port} did not start")
                time.sleep(0.05)
        addrs = [f"127.0.0.1:{p}" for p in range(base, base + masters)]
        created = subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *addrs,
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if created.returncode != 0:
            raise RuntimeError(
                f"redis-cli --cluster create failed:\n{created.stdout}{created.stderr}"
            )
        wait_cluster_ok(list(range(base, base + masters)))
    except BaseException:
        stop_procs(procs)
        raise
    return base, procs


def stop_procs(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()


@contextlib.contextmanager
def rcsim_and_redis_clusters(masters: int, prefix: str) -> Iterator[tuple[int, int]]:
    """An ``rcsim up`` cluster and a ``redis-cli --cluster create`` one, ``masters`` masters and
    no replicas each, both cluster_state:ok; yields (rcsim first port, redis first port) and
    stops every process by PID on the way out, also on errors."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    run_dir = work / "rcsim"
    redis_procs: list[subprocess.Popen] = []
    rcsim_started = False
    try:
        base = free_port_run(masters)
        up = rcsim(
            "up", "--masters", str(masters), "--replicas", "0", "--port", str(base),
            "--dir", str(run_dir),
        )  # fmt: skip
        rcsim_started = True
        if up.returncode != 0:
            raise RuntimeError(f"rcsim up failed:\n{up.stdout}{up.stderr}")
        wait_cluster_ok(list(range(base, base + masters)))
        redis_base, redis_procs = start_redis_cluster(masters, work)
        yield base, redis_base
    finally:
        if rcsim_started:
            rcsim("down", "--dir", str(run_dir))
        stop_procs(redis_procs)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100000)
    parser.add_argument("--masters", type=int, default=3)
    args = parser.parse_args()

    with rcsim_and_redis_clusters(args.masters, "rcsim-bench-cluster-") as (base, redis_base):
        r_theirs = run_benchmark(redis_base, args.requests)
        r_ours = run_benchmark(base, args.requests)

    print(
        f"\nredis-benchmark --cluster -q -t set,get -n {args.requests} -c 50"
        f"  ({args.masters}-master rcsim vs redis-server 7.0.15 cluster, same run)\n"
    )
    print("| test | rcsim req/s | redis req/s | ratio |")
    print("|---|---|---|---|")
    for name, theirs_rps in r_theirs.items():
        ours_rps = r_ours.get(name, 0.0)
        ratio = ours_rps / theirs_rps if theirs_rps else 0.0
        print(f"| {name} | {ours_rps:,.0f} | {theirs_rps:,.0f} | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
