"""Start rcsim nodes and real redis-servers on free loopback ports; stop them by PID."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
READY_PREFIX = "RCSIM-READY "


def free_port() -> int:
    """A free loopback port whose port+10000 is free too (cluster bus), for either server."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair found")


@dataclass
class ServerProcess:
    port: int
    proc: subprocess.Popen
    workdir: Path
    kind: str
    log_path: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_text(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return ""


def start_rcsim(*args: str, timeout: float = 15.0) -> ServerProcess:
    """``python -m node --port 0 ...``; waits for its READY line."""
    workdir = Path(tempfile.mkdtemp(prefix="rcsim-test-"))
    log_path = workdir / "node.log"
    cmd = [
        sys.executable,
        "-m",
        "node",
        "--port",
        "0",
        "--dir",
        str(workdir),
        "--logfile",
        str(log_path),
        "--enable-debug-command",
        "yes",
        *args,
    ]
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(READY_PREFIX):
            info = json.loads(line[len(READY_PREFIX) :])
            return ServerProcess(info["port"], proc, workdir, "rcsim", log_path, info)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    err = proc.stderr.read() if proc.stderr else ""
    raise RuntimeError(f"rcsim node did not start: {err}")


def redis_server_path() -> str | None:
    return shutil.which("redis-server")


def start_redis(*args: str, timeout: float = 10.0) -> ServerProcess:
    """A real redis-server 7 as the oracle, persistence off, DEBUG enabled."""
    binary = redis_server_path()
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    workdir = Path(tempfile.mkdtemp(prefix="redis-test-"))
    port = free_port()
    cmd = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(workdir),
        "--save",
        "",
        "--appendonly",
        "no",
        "--enable-debug-command",
        "yes",
        "--daemonize",
        "no",
        "--logfile",
        str(workdir / "redis.log"),
        *args,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith((b"+PONG", b"-NOAUTH")):  # NOAUTH: requirepass
                    return ServerProcess(port, proc, workdir, "redis", workdir / "redis.log")
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


@contextlib.contextmanager
def server_pair(
    ours_args: tuple[str, ...] = (), theirs_args: tuple[str, ...] | None = None
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """An rcsim node and a real redis-server for a differential test (``theirs_args`` default
    to ``ours_args``); both are stopped on the way out, the rcsim one also when redis-server
    fails to start."""
    ours = start_rcsim(*ours_args)
    try:
        theirs = start_redis(*(ours_args if theirs_args is None else theirs_args))
        try:
            yield ours, theirs
        finally:
            theirs.stop()
    finally:
        ours.stop()


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env
