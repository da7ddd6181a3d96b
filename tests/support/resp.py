"""Helpers for differential tests whose replies must be normalised before comparing (element
order that Redis takes from its hash tables, cursors that differ by design)."""

from __future__ import annotations

from tests.support.rawclient import RawClient


def parse(raw: bytes) -> object:
    """Decode exactly one RESP2/RESP3 reply: statuses, errors and doubles as their text, nulls
    as None, maps/sets/pushes as flat lists."""
    value, rest = _parse(raw)
    assert rest == b"", raw
    return value


def _parse(raw: bytes) -> tuple[object, bytes]:
    line, _, rest = raw.partition(b"\r\n")
    kind, body = line[:1], line[1:]
    if kind in (b"+", b"-", b",", b"#", b"("):
        return body, rest
    if kind == b":":
        return int(body), rest
    if kind == b"_":
        return None, rest
    if kind in (b"$", b"="):
        n = int(body)
        if n < 0:
            return None, rest
        return rest[:n], rest[n + 2 :]
    if kind in (b"*", b"~", b"%", b">"):
        n = int(body) * (2 if kind == b"%" else 1)
        if n < 0:
            return None, rest
        items = []
        for _ in range(n):
            item, rest = _parse(rest)
            items.append(item)
        return items, rest
    raise AssertionError(f"unexpected reply {raw[:40]!r}")


def header(raw: bytes) -> bytes:
    """The first line of a reply: its type and length."""
    return raw.partition(b"\r\n")[0]


def pairs(items: list) -> list[tuple]:
    return sorted(zip(items[::2], items[1::2], strict=True))


def check_unordered(diff, *args: object, paired: bool = False) -> list:
    """Same reply type and length, same elements (or field/value pairs) in any order."""
    ours, theirs = diff.both(*args)
    assert header(ours) == header(theirs), f"{args!r}: {ours[:60]!r} vs {theirs[:60]!r}"
    mine, redis = parse(ours), parse(theirs)
    assert isinstance(mine, list) and isinstance(redis, list), (ours[:60], theirs[:60])
    if paired:
        assert pairs(mine) == pairs(redis), args
    else:
        assert sorted(mine) == sorted(redis), args
    return mine


def scan_all(client: RawClient, command: str, key: str, *options: str) -> list[bytes]:
    """Follow a key's SCAN cursor to 0 (bounded), returning everything it returned."""
    cursor: bytes = b"0"
    seen: list[bytes] = []
    for _ in range(10_000):
        reply = parse(client.call(command, key, cursor, *options))
        assert isinstance(reply, list) and len(reply) == 2, reply
        cursor, items = reply  # type: ignore[assignment]
        seen.extend(items)  # type: ignore[arg-type]
        if cursor == b"0":
            return seen
    raise AssertionError("scan did not finish")


def scan_keys(client: RawClient, *options: str) -> set[bytes]:
    """Every key SCAN returns (rcsim's cursor is a slot, Redis's a bucket: follow both to 0)."""
    cursor: bytes = b"0"
    seen: set[bytes] = set()
    for _ in range(100_000):
        cursor, keys = parse(client.call("SCAN", cursor, *options))  # type: ignore[misc]
        seen.update(keys)
        if cursor == b"0":
            return seen
    raise AssertionError("scan did not finish")
