"""The node as an OS process: start-up, shutdown, config file, isolation between connections,
many concurrent clients, abrupt disconnects and what goes to the log."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.procs import READY_PREFIX, REPO, ServerProcess, _env, start_rcsim
from tests.support.rawclient import RawClient, encode_command
from tests.support.waiting import wait_for


def launch(*args: str, timeout: float = 15.0) -> tuple[ServerProcess, str]:
    """``python -m node <args>`` exactly as given (a config file may come first); returns the
    process and its READY line."""
    workdir = Path(tempfile.mkdtemp(prefix="rcsim-proc-"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "node", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(READY_PREFIX):
            info = json.loads(line[len(READY_PREFIX) :])
            return ServerProcess(info["port"], proc, workdir, "rcsim", None, info), line
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"no READY line: {proc.stderr.read() if proc.stderr else ''}")


@pytest.fixture(scope="module")
def node():
    server = start_rcsim()
    yield server
    server.stop()


# -- start-up and shutdown ---------------------------------------------------------------------


def test_ready_line_port_zero_sigterm_and_pidfile(tmp_path):
    pidfile = tmp_path / "node.pid"
    server, line = launch(
        "--port", "0", "--dir", str(tmp_path), "--pidfile", str(pidfile), "--save", ""
    )
    try:
        assert line.startswith(READY_PREFIX) and line.endswith("\n")
        info = json.loads(line[len(READY_PREFIX) :])
        assert info["pid"] == server.pid
        assert 0 < info["port"] < 65536
        with RawClient(info["port"]) as client:
            assert client.call("PING") == b"+PONG\r\n"
        assert pidfile.read_text().strip() == str(server.pid)
        idle = socket.create_connection(("127.0.0.1", info["port"]))  # open during shutdown
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(5) == 0
        assert time.monotonic() - started < 5
        assert not pidfile.exists()
        idle.settimeout(2)
        assert idle.recv(16) == b""  # the node closed it on the way out
        idle.close()
    finally:
        server.stop()


def test_two_nodes_with_port_zero_get_different_ports():
    first, second = start_rcsim(), start_rcsim()
    try:
        assert first.port != second.port
        for server in (first, second):
            with RawClient(server.port) as client:
                assert client.call("PING") == b"+PONG\r\n"
    finally:
        first.stop()
        second.stop()


def test_config_file_as_first_argument(tmp_path):
    config = tmp_path / "node.conf"
    config.write_text(
        "# a redis.conf-style file\nport 0\nrequirepass secret\ndatabases 4\n\nmaxclients 50\n"
    )
    log = tmp_path / "node.log"
    server, _line = launch(str(config), "--dir", str(tmp_path), "--logfile", str(log))
    try:
        with RawClient(server.port) as client:
            assert client.call("PING") == b"-NOAUTH Authentication required.\r\n"
            assert client.call("AUTH", "secret") == b"+OK\r\n"
            assert client.call("SELECT", "3") == b"+OK\r\n"
            assert client.call("SELECT", "4") == b"-ERR DB index is out of range\r\n"
        assert "ready to accept connections" in log.read_text()
    finally:
        server.stop()


def test_command_line_overrides_the_config_file(tmp_path):
    config = tmp_path / "node.conf"
    config.write_text("port 0\nrequirepass secret\n")
    server, _line = launch(str(config), "--requirepass", "other", "--dir", str(tmp_path))
    try:
        with RawClient(server.port) as client:
            assert client.call("AUTH", "secret").startswith(b"-WRONGPASS")
            assert client.call("AUTH", "other") == b"+OK\r\n"
    finally:
        server.stop()


# -- isolation and robustness -----------------------------------------------------------------


def test_garbage_on_one_connection_does_not_disturb_another_mid_pipeline(node):
    with RawClient(node.port) as good, RawClient(node.port) as bad:
        pipeline = encode_command("SET", "iso", "v1") + encode_command("GET", "iso")
        good.send(pipeline + encode_command("SET", "iso", "v2")[:9])  # stop mid-request
        bad.send(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n:bogus\r\n")
        assert bad.read_available(0.5) == (
            b"+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n<EOF>"
        )
        good.send(encode_command("SET", "iso", "v2")[9:] + encode_command("GET", "iso"))
        replies = [good.read_reply() for _ in range(4)]
        assert replies == [b"+OK\r\n", b"$2\r\nv1\r\n", b"+OK\r\n", b"$2\r\nv2\r\n"]


def test_200_concurrent_connections(node):
    async def one(i: int, start: asyncio.Event) -> list[bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
        try:
            await start.wait()  # every connection is open before anyone talks
            writer.write(
                encode_command("SET", f"conc:{i}", f"value-{i}")
                + encode_command("GET", f"conc:{i}")
            )
            await writer.drain()
            expected = b"+OK\r\n" + b"$%d\r\nvalue-%d\r\n" % (len(f"value-{i}"), i)
            data = b""
            while len(data) < len(expected):
                chunk = await reader.read(4096)
                if not chunk:
                    break
                data += chunk
            return [data, expected]
        finally:
            writer.close()

    async def main() -> list[list[bytes]]:
        start = asyncio.Event()
        tasks = [asyncio.create_task(one(i, start)) for i in range(200)]
        await asyncio.sleep(0.2)
        start.set()
        return await asyncio.wait_for(asyncio.gather(*tasks), 30)

    results = asyncio.run(main())
    assert all(got == expected for got, expected in results)
    with RawClient(node.port) as client:
        assert client.call("GET", "conc:199") == b"$9\r\nvalue-199\r\n"


def test_client_disconnecting_mid_request_leaves_the_node_serving(node):
    partial = socket.create_connection(("127.0.0.1", node.port))
    partial.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100\r\nonly-part")
    partial.close()
    unread = socket.create_connection(("127.0.0.1", node.port))
    unread.sendall(encode_command("SET", "big", "x" * 100_000) * 50)  # replies never read
    unread.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    unread.close()  # linger 0: a reset instead of a clean close
    with RawClient(node.port) as client:
        assert client.call("PING") == b"+PONG\r\n"
        assert client.call("GET", "half") == b"$-1\r\n"
        assert client.call("SET", "after", "ok") == b"+OK\r\n"
        assert client.call("GET", "after") == b"$2\r\nok\r\n"


def test_killed_clients_are_gone_from_the_client_list(node):
    with RawClient(node.port) as me, RawClient(node.port) as victim:
        victim_id = victim.call("CLIENT", "ID")[1:-2]
        assert me.call("CLIENT", "KILL", "ID", victim_id) == b":1\r\n"
        assert victim.read_available(0.5) == b"<EOF>"
        assert me.call("CLIENT", "LIST", "ID", victim_id) == b"$0\r\n\r\n"


# -- the log ----------------------------------------------------------------------------------


def _log_lines(server: ServerProcess) -> list[str]:
    return server.log_text().splitlines()


def test_log_has_one_line_per_protocol_error_and_none_per_command():
    server = start_rcsim("--loglevel", "notice")
    try:
        wait_for("start-up lines", lambda: _log_lines(server), 5.0)
        baseline = _log_lines(server)
        with RawClient(server.port) as client:
            for i in range(100):
                assert client.call("SET", f"log:{i}", "v") == b"+OK\r\n"
                assert client.call("GET", f"log:{i}") == b"$1\r\nv\r\n"
            assert client.call("NOSUCHCOMMAND").startswith(b"-ERR unknown command")
            assert client.call("GET").startswith(b"-ERR wrong number")
        for garbage in (b"*1\r\n:5\r\n", b"*x\r\n", b'SET "unbalanced\r\n'):
            with RawClient(server.port) as bad:
                bad.send(garbage)
                assert bad.read_available(0.3).endswith(b"<EOF>")
        wait_for("error lines", lambda: len(_log_lines(server)) >= len(baseline) + 3, 5.0)
        time.sleep(0.2)  # nothing else should follow
        added = _log_lines(server)[len(baseline) :]
        assert len(added) == 3, added
        assert all("Protocol error" in line for line in added), added
    finally:
        server.stop()


def test_pidfile_relative_to_dir_is_removed(tmp_path):
    server, _line = launch("--port", "0", "--dir", str(tmp_path), "--pidfile", "rel.pid")
    try:
        wait_for("pidfile", lambda: (tmp_path / "rel.pid").exists(), 5.0)
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(5) == 0
        assert not (tmp_path / "rel.pid").exists()
    finally:
        server.stop()
