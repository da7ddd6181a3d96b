"""Fixtures shared by every test layer: server processes and the differential harness."""

from __future__ import annotations

import os

import pytest

from tests.support.procs import redis_server_path, start_rcsim, start_redis
from tests.support.rawclient import RawClient


def require_redis_server() -> None:
    """Compatibility tests need the oracle. Skipping is allowed only outside CI."""
    if redis_server_path() is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI (./scripts/test installs it)")
        pytest.skip("redis-server not installed (apt-get install redis-server)")


@pytest.fixture(scope="session")
def rcsim_node():
    node = start_rcsim()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def redis_node():
    require_redis_server()
    server = start_redis()
    yield server
    server.stop()


class Differ:
    """Sends the same commands to rcsim and to redis-server and compares the raw replies."""

    def __init__(self, ours_port: int, theirs_port: int) -> None:
        self.ours = RawClient(ours_port)
        self.theirs = RawClient(theirs_port)
        self.ours_port, self.theirs_port = ours_port, theirs_port
        self.protocol = 2

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()

    def both(self, *args: bytes | str | int) -> tuple[bytes, bytes]:
        """Run one command on both servers; return (rcsim reply, redis reply) unchecked."""
        return self.ours.call(*args), self.theirs.call(*args)

    def check(self, *args: bytes | str | int) -> bytes:
        """Run one command on both and assert byte-identical replies; returns the reply."""
        ours, theirs = self.both(*args)
        assert ours == theirs, f"{args!r}:\n  rcsim: {ours!r}\n  redis: {theirs!r}"
        return ours

    def check_all(self, *commands: tuple) -> None:
        for command in commands:
            self.check(*command)

    def check_raw(self, data: bytes, quiet: float = 0.3) -> bytes:
        """Send raw bytes to fresh connections on both; compare all bytes that come back."""
        with RawClient(self.ours_port) as ours, RawClient(self.theirs_port) as theirs:
            ours.send(data)
            theirs.send(data)
            got_ours, got_theirs = ours.read_available(quiet), theirs.read_available(quiet)
        assert got_ours == got_theirs, (
            f"{data[:80]!r}:\n  rcsim: {got_ours!r}\n  redis: {got_theirs!r}"
        )
        return got_ours

    def resp3(self) -> None:
        self.ours.call("HELLO", "3")
        self.theirs.call("HELLO", "3")


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def diff(request, rcsim_node, redis_node):
    """A Differ on fresh connections to both servers, both flushed, in RESP2 and then RESP3."""
    differ = Differ(rcsim_node.port, redis_node.port)
    differ.protocol = request.param
    if request.param == 3:
        differ.resp3()
    differ.check("FLUSHALL")
    yield differ
    differ.close()
