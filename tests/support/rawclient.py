"""A blocking raw-RESP client that returns each reply's exact bytes (for byte-for-byte diffs)."""

from __future__ import annotations

import socket


def encode_command(*args: bytes | str | int) -> bytes:
    parts = []
    for arg in args:
        raw = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"*%d\r\n" % len(parts) + b"".join(parts)


class RawClient:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, *args: bytes | str | int) -> bytes:
        """Send one command and return the raw bytes of its reply."""
        self.send(encode_command(*args))
        return self.read_reply()

    def read_reply(self) -> bytes:
        line = self._line()
        kind, rest = line[:1], line[1:]
        raw = line + b"\r\n"
        if kind in (b"$", b"=", b"!"):
            n = int(rest)
            if n >= 0:
                raw += self._exact(n + 2)
        elif kind in (b"*", b"~", b">", b"%", b"|"):
            n = int(rest)
            count = n * 2 if kind in (b"%", b"|") else n
            for _ in range(max(count, 0)):
                raw += self.read_reply()
            if kind == b"|":  # attribute: the real reply follows
                raw += self.read_reply()
        return raw

    def read_available(self, quiet: float = 0.3) -> bytes:
        """Everything the server sends until it is quiet for ``quiet`` s, plus ``<EOF>`` if it closed."""
        out, self.buf = self.buf, b""
        self.sock.settimeout(quiet)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    out += b"<EOF>"
                    break
                out += chunk
        except TimeoutError:
            pass
        except ConnectionResetError:
            out += b"<RESET>"
        finally:
            self.sock.settimeout(10.0)
        return out

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out
