"""Node processes of a run directory: spawn detached, find, stop by pid.

Layout of a run directory (``--dir``, default ``.rcsim``): one sub-directory per node, named
by its port, holding the node's working dir (nodes.conf), ``node.log``, ``node.pid`` and
``stdout.log`` (where the READY line appears). Each node is its own OS process in its own
session, so it outlives ``rcsim up`` and a Ctrl-C in the terminal that started it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

READY_PREFIX = "RCSIM-READY "
SPAWN_FILE = "spawn.json"  # how the node was started, so ``restart`` starts it the same way
DEFAULT_NODE_TIMEOUT_MS = 2000
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class NodeDir:
    port: int
    path: Path

    @property
    def pidfile(self) -> Path:
        return self.path / "node.pid"

    @property
    def logfile(self) -> Path:
        return self.path / "node.log"

    @property
    def stdout(self) -> Path:
        return self.path / "stdout.log"

    def pid(self) -> int | None:
        """The running node's pid, or None (no pid file, or a stale one)."""
        try:
            pid = int(self.pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def node_dirs(run_dir: Path) -> list[NodeDir]:
    """Every node directory of a run, by port."""
    if not run_dir.is_dir():
        return []
    found = [NodeDir(int(p.name), p) for p in run_dir.iterdir() if p.is_dir() and p.name.isdigit()]
    return sorted(found, key=lambda d: d.port)


def spawn(run_dir: Path, port: int, node_timeout_ms: int, timeout_s: float = 20.0) -> int:
    """Start one cluster-enabled node, detached; return its pid once it printed READY."""
    nd = NodeDir(port, run_dir.resolve() / str(port))
    nd.path.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "node",
        "--cluster-enabled",
        "yes",
        "--port",
        str(port),
        "--dir",
        str(nd.path),
        "--logfile",
        str(nd.logfile),
        "--pidfile",
        str(nd.pidfile),
        "--cluster-node-timeout",
        str(node_timeout_ms),
        # Drills break clusters on purpose (DEBUG BUS-ISOLATE, DEBUG SLEEP), from this host.
        "--enable-debug-command",
        "local",
    ]
    (nd.path / SPAWN_FILE).write_text(json.dumps({"node_timeout_ms": node_timeout_ms}))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    with open(nd.stdout, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=nd.path,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in nd.stdout.read_text(errors="replace").splitlines():
            if line.startswith(READY_PREFIX):
                return int(json.loads(line[len(READY_PREFIX) :])["pid"])
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
    tail = nd.stdout.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"node on port {port} did not start:\n{tail}")


def stop(nd: NodeDir, timeout_s: float = 10.0) -> str:
    """SIGTERM the node, SIGKILL it after ``timeout_s``; say what happened."""
    pid = nd.pid()
    if pid is None:
        return "not running"
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "not running"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            nd.pidfile.unlink(missing_ok=True)
            return f"stopped (pid {pid})"
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    nd.pidfile.unlink(missing_ok=True)
    return f"killed (pid {pid})"


def kill(nd: NodeDir) -> int | None:
    """SIGKILL the node (a crash: no nodes.conf save, no goodbye); its pid, or None."""
    pid = nd.pid()
    if pid is None:
        return None
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return None
    deadline = time.monotonic() + 5.0
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    nd.pidfile.unlink(missing_ok=True)
    return pid


def restart(nd: NodeDir, timeout_s: float = 20.0) -> int:
    """Start a stopped node again on its port, in its directory, with its nodes.conf and the
    directives it was first started with; its pid."""
    if nd.pid() is not None:
        raise RuntimeError(f"the node on port {nd.port} is running (pid {nd.pid()})")
    try:
        spec = json.loads((nd.path / SPAWN_FILE).read_text())
    except (OSError, ValueError):
        spec = {}
    timeout_ms = int(spec.get("node_timeout_ms", DEFAULT_NODE_TIMEOUT_MS))
    return spawn(nd.path.parent, nd.port, timeout_ms, timeout_s)
