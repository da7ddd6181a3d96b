"""redis-cli and redis-benchmark against rcsim: the same invocations print what they print for a
real redis-server 7.0.15 (raw and formatted output, RESP2 and RESP3), piped commands and --pipe
mass insertion work, and a short benchmark runs clean."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.support.rawclient import RawClient, encode_command

pytestmark = pytest.mark.compat

TIMEOUT_S = 60


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI")
        pytest.skip(f"{name} not installed (apt-get install redis-tools)")
    return path


@pytest.fixture
def cli() -> str:
    return _tool("redis-cli")


def flushall(port: int) -> None:
    with RawClient(port) as client:
        assert client.call("FLUSHALL") == b"+OK\r\n"


@pytest.fixture
def ports(rcsim_node, redis_node):
    """(rcsim port, redis port), both flushed before and rcsim flushed after."""
    flushall(rcsim_node.port)
    flushall(redis_node.port)
    yield rcsim_node.port, redis_node.port
    flushall(rcsim_node.port)


def run_cli(
    cli: str, port: int, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [cli, "-p", str(port), *args],
        input=stdin,
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_ping_set_get_incr(cli, ports):
    port = ports[0]
    assert run_cli(cli, port, "ping").stdout == b"PONG\n"
    assert run_cli(cli, port, "set", "k", "v").stdout == b"OK\n"
    assert run_cli(cli, port, "get", "k").stdout == b"v\n"
    assert run_cli(cli, port, "incr", "n").stdout == b"1\n"
    assert run_cli(cli, port, "incr", "n").stdout == b"2\n"


def test_info(cli, ports):
    done = run_cli(cli, ports[0], "info")
    assert done.returncode == 0
    assert b"redis_version:7.0.15\r\n" in done.stdout
    assert b"# Keyspace" in done.stdout


def test_scan(cli, ports):
    port = ports[0]
    keys = [b"key:%d" % i for i in range(250)] + [b"other"]
    with RawClient(port) as client:
        client.call("MSET", *[x for k in keys for x in (k, b"1")])
    listed = run_cli(cli, port, "--scan").stdout.splitlines()
    assert sorted(listed) == sorted(keys)
    matched = run_cli(cli, port, "--scan", "--pattern", "key:1*").stdout.splitlines()
    assert sorted(matched) == sorted(k for k in keys if k.startswith(b"key:1"))


def test_piped_commands(cli, ports):
    stdin = b"SET a 1\nGET a\nINCR a\nGET missing\nNOSUCH x\nECHO 'two words'\n"
    ours, theirs = (run_cli(cli, port, stdin=stdin) for port in ports)
    assert ours.stdout == (
        b"OK\n1\n2\n\nERR unknown command 'NOSUCH', with args beginning with: 'x' \n\ntwo words\n"
    )
    assert (ours.stdout, ours.returncode) == (theirs.stdout, theirs.returncode)


# Run in order on both servers, each through a fresh redis-cli.
SESSION = [
    ["SET", "k", "hello world"],
    ["GET", "k"],
    ["GET", "missing"],
    ["INCR", "n"],
    ["INCR", "k"],
    ["MSET", "a", "1", "b", "2"],
    ["MGET", "a", "b", "missing"],
    ["EXISTS", "a", "b", "missing"],
    ["DEL", "a"],
    ["TTL", "k"],
    ["SET", "bin", "\x01\x7f tab\there"],
    ["GET", "bin"],
    ["ECHO", "multi\nline"],
    ["PING"],
    ["NOSUCH", "arg"],
    ["GET"],
    ["COMMAND", "INFO", "get"],
    ["COMMAND", "DOCS", "set"],
    ["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b", "get"],
    ["COMMAND", "GETKEYS", "nosuch", "x"],
    ["MULTI"],
    ["EXEC"],
]


@pytest.mark.parametrize(
    "mode", [["--no-raw"], ["--raw"], ["-3", "--no-raw"], ["-3", "--raw"]], ids=" ".join
)
def test_output_matches_redis(cli, ports, mode):
    for command in SESSION:
        ours, theirs = (run_cli(cli, port, *mode, *command) for port in ports)
        assert (ours.stdout, ours.stderr, ours.returncode) == (
            theirs.stdout,
            theirs.stderr,
            theirs.returncode,
        ), command


def test_pipe_mass_insertion(cli, ports):
    port = ports[0]
    count = 10_000
    data = b"".join(encode_command("SET", b"key:%d" % i, b"value:%d" % i) for i in range(count))
    done = run_cli(cli, port, "--pipe", stdin=data)
    assert done.returncode == 0, done.stderr
    assert b"errors: 0, replies: 10000" in done.stdout
    with RawClient(port) as client:
        assert client.call("DBSIZE") == b":10000\r\n"
        assert client.call("GET", "key:9999") == b"$10\r\nvalue:9999\r\n"


def test_benchmark_runs_clean(ports):
    benchmark = _tool("redis-benchmark")
    done = subprocess.run(
        [benchmark, "-p", str(ports[0]), "-q", "-n", "2000", "-t", "set,get,incr,mset"],
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 0, output
    assert not re.search(r"error|warning", output, re.IGNORECASE), output
    for test in ("SET", "GET", "INCR", "MSET"):
        assert re.search(rf"\b{test}\b[^\n]*requests per second", output), output
