"""``rcsim up`` (3 masters x 1 replica by default), ``status`` with shard names, ``kill``,
``restart``, ``failover`` and ``drill kill-master`` (and its script), on real processes."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cluster.topology import query
from tests.support import waiting
from tests.support.cluster import free_port_run, rcsim
from tests.support.procs import REPO, _env

NODES = 6


# Nodes are killed, restarted and failed over under these tests: a refused or reset
# connection, or a redis-py error, means "not yet".
wait_for = functools.partial(
    waiting.wait_for, retry_on=(OSError, ConnectionError, StopIteration, redis.RedisError)
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[int, Path]]:
    """``rcsim up`` with the default topology (no --masters/--replicas)."""
    run_dir = Path(tempfile.mkdtemp(prefix="rcsim-ops-"))
    base = free_port_run(NODES)
    up = rcsim("up", "--port", str(base), "--dir", str(run_dir), "--node-timeout", "1000")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield base, run_dir
    finally:
        rcsim("down", "--dir", str(run_dir))
        shutil.rmtree(run_dir, ignore_errors=True)


def status_rows(run_dir: Path) -> dict[int, list[str]]:
    """port -> the status row's columns (ID ADDRESS SHARD ROLE ...)."""
    out = rcsim("status", "--dir", str(run_dir)).stdout
    rows = {}
    for line in out.splitlines():
        cols = line.split()
        if len(cols) > 3 and re.fullmatch(r"127\.0\.0\.1:\d+", cols[1]):
            rows[int(cols[1].rsplit(":", 1)[1])] = cols
    return rows


def healthy(base: int) -> bool:
    views = [query("127.0.0.1", p, timeout=1.0, with_repl=True) for p in range(base, base + NODES)]
    return all(v.info.get("cluster_state") == "ok" for v in views) and all(
        v.repl.get("master_link_status") == "up" for v in views if v.myself.role == "replica"
    )


def test_default_up_is_three_masters_with_one_replica_each(cluster):
    base, run_dir = cluster
    rows = status_rows(run_dir)
    assert sorted(rows) == list(range(base, base + NODES))
    roles = [(rows[p][2], rows[p][3]) for p in sorted(rows)]
    assert roles == [
        ("shard-0", "master"),
        ("shard-1", "master"),
        ("shard-2", "master"),
        ("shard-0", "replica"),
        ("shard-1", "replica"),
        ("shard-2", "replica"),
    ]
    check = rcsim("check", "--dir", str(run_dir))
    assert check.returncode == 0, check.stdout
    assert check.stdout.count("| 1 slaves.") == 3
    cli = subprocess.run(
        ["redis-cli", "--cluster", "check", f"127.0.0.1:{base}"], capture_output=True, text=True
    )
    assert cli.returncode == 0 and cli.stdout.count("1 slaves.") == 3, cli.stdout


def test_status_shard_names_are_what_sentinel_answers(cluster):
    base, run_dir = cluster
    rows = status_rows(run_dir)
    with redis.Redis(port=base + 4) as any_node:
        for port, cols in rows.items():
            if cols[3] == "master":
                addr = any_node.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", cols[2])
                assert addr == [b"127.0.0.1", str(port).encode()]


def test_kill_and_restart_by_id_prefix(cluster):
    base, run_dir = cluster
    replica_id = status_rows(run_dir)[base + 5][0][:8]
    killed = rcsim("kill", replica_id, "--dir", str(run_dir))
    assert killed.returncode == 0, killed.stderr
    assert f"port {base + 5}: killed" in killed.stdout
    assert rcsim("kill", str(base + 5), "--dir", str(run_dir)).returncode != 0  # not running
    status = rcsim("status", "--dir", str(run_dir))
    assert status.returncode != 0 and f"(port {base + 5}: not reachable)" in status.stdout
    restarted = rcsim("restart", replica_id, "--dir", str(run_dir))
    assert restarted.returncode == 0, restarted.stderr
    wait_for("the restarted replica", lambda: healthy(base), 20)
    assert status_rows(run_dir)[base + 5][2:4] == ["shard-2", "replica"]


def test_failover_keeps_the_shard_name(cluster):
    base, run_dir = cluster
    out = rcsim("failover", str(base + 4), "--dir", str(run_dir))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"port {base + 4}: now a master" in out.stdout

    def swapped() -> bool:
        rows = status_rows(run_dir)
        return rows[base + 4][2:4] == ["shard-1", "master"] and rows[base + 1][2:4] == [
            "shard-1",
            "replica",
        ]

    wait_for("the roles to swap", swapped, 10)
    wait_for("a whole cluster", lambda: healthy(base), 20)
    assert rcsim("failover", str(base + 4), "--dir", str(run_dir)).returncode != 0  # a master


def test_drill_kill_master_prints_the_timings(cluster):
    base, run_dir = cluster
    out = rcsim("drill", "kill-master", "--runs", "1", "--shard", "shard-2", "--dir", str(run_dir))
    assert out.returncode == 0, out.stdout + out.stderr
    run = re.search(r"detect ([\d.]+)s, elect ([\d.]+)s, recover ([\d.]+)s", out.stdout)
    assert run, out.stdout
    detect, elect, recover = (float(x) for x in run.groups())
    assert 0 < detect <= elect <= recover < 10
    assert "median over 1 runs" in out.stdout
    wait_for("a whole cluster", lambda: healthy(base), 20)


def test_drill_script_runs_its_own_cluster():
    script = REPO / "scripts" / "drills" / "kill_master.sh"
    env = dict(_env(), RUNS="1", RCSIM_PORT=str(free_port_run(NODES)))
    out = subprocess.run(
        [str(script)], capture_output=True, text=True, timeout=120, env=env, cwd=REPO
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "median over 1 runs: detect" in out.stdout
    assert os.access(script, os.X_OK)
