"""A tiny blocking RESP2 client: the CLI learns topology the way any Redis client does.

redis-py would parse CLUSTER NODES/INFO into its own structures; the tools here want the raw
text, exactly as ``redis-cli --cluster`` reads it, so this client returns replies untouched:
``str`` for simple strings, ``bytes`` for bulk strings, ``int``, ``list``, and ``ReplyError``
instances (returned, not raised, by ``call``; ``check`` raises them).
"""

from __future__ import annotations

import socket


class ReplyError(Exception):
    """An error reply (``-ERR ...``)."""


class RespClient:
    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RespClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, *args: str | bytes | int) -> object:
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        out = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        self.sock.sendall(out)
        return self._reply()

    def check(self, *args: str | bytes | int) -> object:
        """``call``, raising an error reply."""
        reply = self.call(*args)
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    def text(self, *args: str | bytes | int) -> str:
        reply = self.check(*args)
        return reply.decode() if isinstance(reply, bytes) else str(reply)

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by the node")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by the node")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def _reply(self) -> object:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return ReplyError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ConnectionError(f"unexpected reply {line[:40]!r}")
