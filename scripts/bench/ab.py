#!/usr/bin/env python3
"""rcsim against rcsim: this checkout's node and another revision's, in the same run.

The node and cluster benchmarks compare rcsim with redis-server; this one answers "did my change
make the node slower?" without the noise of two separate runs. Both nodes run at once (each from
its own source tree, through PYTHONPATH), and ``redis-benchmark -q -c 50 -n N -t <tests>`` is run
against them in alternation (which side goes first alternates too), ``--rounds`` times each,
with and without ``-P 16``; the median of each side and their ratio are printed. Run it with
``--this`` and ``--base`` on the same checkout to see this machine's noise.

Usage: scripts/bench/ab.py --base /path/to/other/checkout [--this /path/to/checkout]
                           [--tests set,get] [--requests 200000] [--rounds 5]
(``git worktree add /tmp/base <rev>`` gives a checkout of any revision.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from scripts.bench.node import run_benchmark  # noqa: E402
from tests.support.procs import READY_PREFIX  # noqa: E402


def start_node(tree: Path) -> tuple[subprocess.Popen, int]:
    """``python -m node --port 0`` from ``tree``'s sources; returns the process and its port."""
    workdir = Path(tempfile.mkdtemp(prefix="rcsim-ab-"))
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.Popen(
        [sys.executable, "-m", "node", "--port", "0", "--dir", str(workdir)],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(READY_PREFIX):
            return proc, json.loads(line[len(READY_PREFIX) :])["port"]
    proc.kill()
    raise RuntimeError(f"the node from {tree} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the other checkout")
    parser.add_argument("--this", type=Path, default=REPO, help="default: this checkout")
    parser.add_argument("--tests", default="set,get")
    parser.add_argument("--requests", type=int, default=200000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sides = {"this": args.this.resolve(), "base": args.base.resolve()}
    procs = {}
    try:
        ports = {}
        for side, tree in sides.items():
            procs[side], ports[side] = start_node(tree)
        print("| test | pipeline | this req/s | base req/s | this / base |")
        print("|---|---|---|---|---|")
        for pipeline in (1, 16):
            runs: dict[str, dict[str, list[float]]] = {"this": {}, "base": {}}
            for round_index in range(args.rounds):
                # Alternate which side goes first: the machine drifts within a round too.
                order = ("base", "this") if round_index % 2 == 0 else ("this", "base")
                for side in order:
                    for name, rps in run_benchmark(
                        ports[side], args.tests, args.requests, pipeline
                    ).items():
                        runs[side].setdefault(name, []).append(rps)
            for name, values in runs["this"].items():
                mine = statistics.median(values)
                theirs = statistics.median(runs["base"].get(name, [0.0]))
                ratio = mine / theirs if theirs else 0.0
                print(f"| {name} | {pipeline} | {mine:,.0f} | {theirs:,.0f} | {ratio:.2f}x |")
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
