#!/usr/bin/env python3
"""Regenerate node/protocol/commands.json from a real redis-server's COMMAND metadata.

The command table is data, as in Redis (src/commands/*.json): we take Redis 7.0.15's own
``COMMAND INFO`` and ``COMMAND DOCS`` replies, raw RESP3, one entry per command, so that our
``COMMAND`` output (which redis-py's cluster client routes keys by) matches Redis byte for byte.

Usage: scripts/gen_command_table.py [port]   (a redis-server 7.0.x must listen on 127.0.0.1:port)
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path


def _request(sock: socket.socket, *args: bytes) -> None:
    out = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    sock.sendall(out)


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buf = sock, b""

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(1 << 20)
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.buf += self.sock.recv(1 << 20)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def raw_reply(self) -> bytes:
        """Read one reply and return its raw bytes."""
        line = self._line()
        kind, rest = line[:1], line[1:]
        raw = line + b"\r\n"
        if kind in b"$=!":
            n = int(rest)
            if n >= 0:
                raw += self._exact(n + 2)
        elif kind in b"*~>%":
            n = int(rest)
            for _ in range(max(n, 0) * (2 if kind == b"%" else 1)):
                raw += self.raw_reply()
        return raw


def split_top(raw: bytes) -> list[bytes]:
    """Split a top-level RESP3 aggregate into the raw bytes of its elements."""
    sock_reader = _Reader.__new__(_Reader)
    sock_reader.buf = raw
    head = sock_reader._line()
    n = int(head[1:]) * (2 if head[:1] == b"%" else 1)
    return [sock_reader.raw_reply() for _ in range(n)]


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    sock = socket.create_connection(("127.0.0.1", port))
    reader = _Reader(sock)
    _request(sock, b"HELLO", b"3")
    reader.raw_reply()
    _request(sock, b"COMMAND", b"LIST")
    names = sorted(a.split(b"\r\n")[1].decode() for a in split_top(reader.raw_reply()))
    table = {}
    for name in names:
        _request(sock, b"COMMAND", b"INFO", name.encode())
        info = split_top(reader.raw_reply())[0]
        _request(sock, b"COMMAND", b"DOCS", name.encode())
        docs_pairs = split_top(reader.raw_reply())
        docs = docs_pairs[1] if docs_pairs else b""
        table[name] = {"info": info.decode("latin-1"), "docs": docs.decode("latin-1")}
    target = Path(__file__).resolve().parent.parent / "node" / "protocol" / "commands.json"
    target.write_text(json.dumps(table, indent=0, sort_keys=True) + "\n")
    print(f"wrote {len(table)} commands to {target}")


if __name__ == "__main__":
    main()
