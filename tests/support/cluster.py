"""Start and stop whole rcsim clusters through the CLI (``rcsim up`` / ``rcsim down``)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.procs import REPO, _env


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_run(count: int) -> int:
    """A base port such that base..base+count-1 and their bus ports (+10000) are free."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        ports = range(base, base + count)
        if base + count + 10000 < 65535 and all(_free(p) and _free(p + 10000) for p in ports):
            return base
    raise RuntimeError("no free port run found")


def rcsim(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    """Run the ``rcsim`` CLI from this checkout."""
    cmd = [sys.executable, "-c", "from cluster.cli import main; main()", *args]
    return subprocess.run(
        cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=timeout
    )


@contextlib.contextmanager
def rcsim_cluster(masters: int = 3, replicas: int = 0, *extra: str) -> Iterator[tuple[int, Path]]:
    """``rcsim up`` on free ports in a temporary run directory; ``rcsim down`` afterwards.
    Yields (first port, run directory); masters are on the first ports, replicas after."""
    run_dir = Path(tempfile.mkdtemp(prefix="rcsim-up-"))
    base = free_port_run(masters * (1 + replicas))
    started = rcsim(
        "up",
        "--masters",
        str(masters),
        "--replicas",
        str(replicas),
        "--port",
        str(base),
        "--dir",
        str(run_dir),
        *extra,
    )
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield base, run_dir
    finally:
        rcsim("down", "--dir", str(run_dir))
        shutil.rmtree(run_dir, ignore_errors=True)
