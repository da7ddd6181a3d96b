"""COMMAND, COMMAND INFO/DOCS/COUNT/LIST/GETKEYS/GETKEYSANDFLAGS/HELP against redis-server 7.0.15.

rcsim lists only the commands it serves, so the oracle's replies are restricted to those before
comparing. Redis iterates its command table in hash order, which differs between processes (the
hash seed is random), so lists of commands, and the subcommands of a container, are compared as
sorted sets of exact entries; every single entry is still compared byte for byte. The set of
served commands is read from rcsim at test time: other commands may be added at any moment.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import pytest

from node.commands.introspection import key_flags_reply
from node.protocol.commands import CommandSpec, redis_command_specs
from node.protocol.errors import RespError
from node.protocol.keys import getkeys
from node.protocol.resp import encode
from tests.support.rawclient import RawClient, encode_command

# -- a small RESP tree that keeps exact bytes --------------------------------------------------


@dataclass
class Agg:
    """An aggregate reply; maps keep their flat key, value, key, value... children."""

    kind: bytes
    children: list


def parse(raw: bytes) -> object:
    node, pos = _parse(raw, 0)
    assert pos == len(raw), raw[pos : pos + 80]
    return node


def _parse(raw: bytes, pos: int) -> tuple[object, int]:
    end = raw.index(b"\r\n", pos)
    kind, body = raw[pos : pos + 1], raw[pos + 1 : end]
    if kind in (b"$", b"=", b"!") and int(body) >= 0:
        stop = end + 2 + int(body) + 2
        return raw[pos:stop], stop
    if kind in (b"*", b"~", b"%", b">") and int(body) >= 0:
        count = int(body) * (2 if kind == b"%" else 1)
        children, pos = [], end + 2
        for _ in range(count):
            child, pos = _parse(raw, pos)
            children.append(child)
        return Agg(kind, children), pos
    return raw[pos : end + 2], end + 2


def serialize(node: object) -> bytes:
    if isinstance(node, Agg):
        count = len(node.children) // (2 if node.kind == b"%" else 1)
        return node.kind + b"%d\r\n" % count + b"".join(serialize(c) for c in node.children)
    return node  # type: ignore[return-value]


def text(node: object) -> bytes:
    """The payload of a bulk or simple string leaf."""
    raw = node  # type: ignore[assignment]
    if raw[:1] == b"$":
        return raw.split(b"\r\n", 2)[1]
    return raw[1:-2]


def pairs(node: Agg) -> list[tuple[object, object]]:
    return list(zip(node.children[::2], node.children[1::2], strict=True))


def is_map(node: Agg, protocol: int) -> bool:
    return node.kind == b"%" or protocol == 2


def normal_info(entry: object, keep: set[bytes] | None) -> bytes:
    """A COMMAND INFO entry with its subcommands (element 10) filtered to ``keep`` and sorted."""
    if not isinstance(entry, Agg):
        return serialize(entry)
    subs = entry.children[9]
    if isinstance(subs, Agg) and subs.children:
        kept = [s for s in subs.children if keep is None or text(s.children[0]) in keep]
        subs = Agg(subs.kind, sorted(kept, key=serialize))
    return serialize(Agg(entry.kind, [*entry.children[:9], subs]))


def normal_docs(docs: Agg, keep: set[bytes] | None) -> bytes:
    """A COMMAND DOCS value with its ``subcommands`` map filtered to ``keep`` and sorted."""
    out = []
    for key, value in pairs(docs):
        if text(key) == b"subcommands":
            kept = [(n, d) for n, d in pairs(value) if keep is None or text(n) in keep]
            kept.sort(key=lambda p: serialize(p[0]))
            value = Agg(value.kind, [x for p in kept for x in p])
        out += [key, value]
    return serialize(Agg(docs.kind, out))


# -- what rcsim serves ---------------------------------------------------------------------


def served_names(diff) -> list[bytes]:
    """Every command and subcommand rcsim serves, as ``COMMAND LIST`` says."""
    reply = parse(diff.ours.call("COMMAND", "LIST"))
    names = [text(n) for n in reply.children]
    assert len(names) == len(set(names)), "COMMAND LIST repeats a name"
    return names


def subcommands_of(names: list[bytes], container: bytes) -> set[bytes]:
    return {n for n in names if n.startswith(container + b"|")}


def test_command_info_matches_redis_for_every_served_command(diff):
    names = served_names(diff)
    assert b"command" in names and b"get" in names
    mismatches = []
    for name in names:
        ours, theirs = diff.both("COMMAND", "INFO", name)
        subs = subcommands_of(names, name)
        if not subs:
            if ours != theirs:
                mismatches.append((name, ours[:300], theirs[:300]))
            continue
        our_entry = parse(ours).children[0]  # type: ignore[attr-defined]
        their_entry = parse(theirs).children[0]  # type: ignore[attr-defined]
        listed = {text(s.children[0]) for s in our_entry.children[9].children}
        assert listed == subs, f"{name!r} lists {listed} but COMMAND LIST has {subs}"
        if normal_info(our_entry, None) != normal_info(their_entry, subs):
            mismatches.append((name, ours[:300], theirs[:300]))
    assert not mismatches, "\n".join(
        f"{n!r}:\n  rcsim: {o!r}\n  redis: {t!r}" for n, o, t in mismatches
    )


def test_command_docs_matches_redis_for_every_served_command(diff):
    names = served_names(diff)
    mismatches = []
    for name in names:
        ours, theirs = diff.both("COMMAND", "DOCS", name)
        subs = subcommands_of(names, name)
        if not subs:
            if ours != theirs:
                mismatches.append((name, ours[:300], theirs[:300]))
            continue
        our_key, our_docs = parse(ours).children  # type: ignore[attr-defined]
        their_key, their_docs = parse(theirs).children  # type: ignore[attr-defined]
        if our_key != their_key or normal_docs(our_docs, None) != normal_docs(their_docs, subs):
            mismatches.append((name, ours[:300], theirs[:300]))
    assert not mismatches, "\n".join(
        f"{n!r}:\n  rcsim: {o!r}\n  redis: {t!r}" for n, o, t in mismatches
    )


def test_command_lists_every_served_command_as_redis_describes_it(diff):
    names = served_names(diff)
    top = sorted(n for n in names if b"|" not in n)
    for args in (("COMMAND",), ("COMMAND", "INFO")):
        reply = parse(diff.ours.call(*args))
        entries = {text(e.children[0]): e for e in reply.children}  # type: ignore[attr-defined]
        assert sorted(entries) == top
        for name, entry in entries.items():
            theirs = parse(diff.theirs.call("COMMAND", "INFO", name)).children[0]  # type: ignore[attr-defined]
            keep = subcommands_of(names, name)
            assert normal_info(entry, None) == normal_info(theirs, keep or None), name
    assert diff.ours.call("COMMAND", "COUNT") == b":%d\r\n" % len(top)


def test_command_docs_without_names_covers_every_served_command(diff):
    names = served_names(diff)
    top = sorted(n for n in names if b"|" not in n)
    reply = parse(diff.ours.call("COMMAND", "DOCS"))
    assert is_map(reply, diff.protocol)  # type: ignore[arg-type]
    docs = {text(k): v for k, v in pairs(reply)}  # type: ignore[arg-type]
    assert sorted(docs) == top
    for name in (b"get", b"command"):
        theirs = parse(diff.theirs.call("COMMAND", "DOCS", name)).children[1]  # type: ignore[attr-defined]
        keep = subcommands_of(names, name)
        assert normal_docs(docs[name], None) == normal_docs(theirs, keep or None)


def test_command_list_is_a_subset_of_redis_list(diff):
    ours = set(served_names(diff))
    theirs = {text(n) for n in parse(diff.theirs.call("COMMAND", "LIST")).children}  # type: ignore[attr-defined]
    assert ours <= theirs, ours - theirs


@pytest.mark.parametrize(
    "args",
    [
        ("PATTERN", "*"),
        ("PATTERN", "get*"),
        ("pattern", "COMMAND|*"),
        ("PATTERN", "c[lo]*"),
        ("PATTERN", "*|*"),
        ("PATTERN", "nothing-matches"),
        ("ACLCAT", "read"),
        ("aclcat", "WRITE"),
        ("ACLCAT", "connection"),
        ("ACLCAT", "@read"),
        ("ACLCAT", "nope"),
        ("MODULE", "anything"),
    ],
)
def test_command_list_filterby_matches_redis_on_served_commands(diff, args):
    served = set(served_names(diff))
    ours = [text(n) for n in parse(diff.ours.call("COMMAND", "LIST", "FILTERBY", *args)).children]  # type: ignore[attr-defined]
    theirs = [
        text(n) for n in parse(diff.theirs.call("COMMAND", "LIST", "FILTERBY", *args)).children
    ]  # type: ignore[attr-defined]
    assert len(ours) == len(set(ours))
    assert set(ours) == set(theirs) & served


@pytest.mark.parametrize(
    "command",
    [
        "COMMAND LIST x",
        "COMMAND LIST FILTERBY",
        "COMMAND LIST FILTERBY pattern",
        "COMMAND LIST FILTERBY foo bar",
        "COMMAND LIST FILTERBY pattern a b",
        "COMMAND LIST FILTERBY pattern a FILTERBY pattern b",
        "COMMAND COUNT x",
        "COMMAND HELP",
        "command help",
        "COMMAND HELP x",
        "COMMAND FOO",
        "COMMAND INFO nope",
        "COMMAND INFO '' | get|x nope|x CONFIG|GET|x config|",
        "COMMAND INFO get GET gEt nope",
        "COMMAND INFO COMMAND|COUNT command|info command|nope",
        "COMMAND DOCS nope",
        "COMMAND DOCS get nope get",
        "COMMAND DOCS command|help COMMAND|COUNT",
        "COMMAND GETKEYS",
        "COMMAND GETKEYS get",
        "COMMAND GETKEYSANDFLAGS get",
        "COMMAND GETKEYS nope x",
        "COMMAND GETKEYS get a b",
        "COMMAND GETKEYS GET a",
        "COMMAND GETKEYS set a b c d",
        "COMMAND GETKEYS ping x",
        "COMMAND GETKEYS command count",
        "COMMAND GETKEYS command nope",
        "COMMAND GETKEYS command getkeys get a",
        "COMMAND GETKEYSANDFLAGS command info",
    ],
)
def test_command_subcommands_match_redis(diff, command):
    diff.check(*shlex.split(command))


# -- GETKEYS ------------------------------------------------------------------------------

GETKEYS_CASES = [
    "get a",
    "set a b",
    "set a b get",
    "set a b EX 10 GeT",
    "set a b nx px 5",
    "getex a persist",
    "getdel a",
    "getset a b",
    "mget a b c",
    "mset a 1 b 2",
    "mset a 1 b",
    "msetnx a 1 b 2 c 3",
    "del a",
    "del a b c",
    "unlink a b",
    "exists a a b",
    "touch a b",
    "incr a",
    "incrby a 5",
    "decr a",
    "incrbyfloat a 1.5",
    "append a x",
    "strlen a",
    "setrange a 0 x",
    "getrange a 0 1",
    "setnx a b",
    "setex a 10 b",
    "psetex a 10 b",
    "lcs a b",
    "expire a 10",
    "expire a 10 NX",
    "pexpireat a 10",
    "ttl a",
    "pttl a",
    "persist a",
    "type a",
    "rename a b",
    "renamenx a b",
    "copy a b",
    "copy a b db 1 replace",
    "move a 1",
    "dump a",
    "restore a 0 x",
    "object encoding a",
    "object freq a",
    "memory usage a",
    "watch a b",
    "eval s 0",
    "eval s 2 a b",
    "eval s 2 a",
    "eval s 2x a b",
    "evalsha s 1 a b",
    "fcall f 1 a",
    "sort a",
    "sort a by x get y store z",
    "sort_ro a",
    "zunionstore d 2 a b",
    "zunionstore d 3x a b c",
    "zunionstore d 0 a",
    "zunion 2 a b",
    "lmove a b left right",
    "blmpop 0 2 a b left",
    "xread count 1 streams a b 0 0",
    "xreadgroup group g c streams a 0",
    "georadius k 1 2 3 m store x",
    "migrate h p '' 0 5 keys a b",
    "bitfield a get u8 0",
    "bitfield a set u8 0 1",
    "hset h f v",
    "sadd s m",
    "zadd z 1 m",
    "rpush l a",
    "pfcount a b",
    "spublish c m",
    "publish c m",
    "keys *",
    "scan 0",
    "dbsize",
    "flushall",
    "randomkey",
    "debug object a",
]


def _served_top(diff) -> set[bytes]:
    return {n for n in served_names(diff) if b"|" not in n}


@pytest.mark.parametrize("flags", [False, True], ids=["getkeys", "getkeysandflags"])
def test_getkeys_matches_redis_for_served_commands(diff, flags):
    """Served commands: exact; commands rcsim does not serve are unknown to it."""
    served = _served_top(diff)
    sub = "GETKEYSANDFLAGS" if flags else "GETKEYS"
    compared = 0
    for case in GETKEYS_CASES:
        target = shlex.split(case)
        if target[0].encode() in served or len(target) < 2:  # (too short: an arity error)
            diff.check("COMMAND", sub, *target)
            compared += 1
        else:
            assert diff.ours.call("COMMAND", sub, *target) == b"-ERR Invalid command specified\r\n"
    assert compared >= 2  # GET and SET at least


# -- key extraction for every command Redis has (in-process, against the oracle) ---------------


def _spec_for(target: list[bytes]) -> CommandSpec | None:
    specs = redis_command_specs()
    spec = specs.get(target[0].lower().decode("latin-1"))
    if spec is not None and spec.subcommands:
        return spec.subcommands.get(target[1].lower().decode("latin-1"))
    return spec


def _our_getkeys(target: list[bytes], flags: bool) -> bytes:
    spec = _spec_for(target)
    try:
        if spec is None:
            raise RespError("ERR Invalid command specified")
        keys = getkeys(spec, target)
    except RespError as error:
        return error.encode()
    if flags:
        return encode([[target[p], key_flags_reply(f)] for p, f in keys], False)
    return encode([target[p] for p, _ in keys], False)


def _generated_requests() -> list[list[bytes]]:
    """Requests of several lengths around every command's arity, with fillers that trip numkeys,
    keywords (STORE, KEYS, STREAMS, GET) and negative counts, plus the hand-written cases."""
    out: dict[tuple[bytes, ...], None] = {}
    fillers = (b"k", b"2", b"0", b"-1", b"store", b"keys", b"streams", b"get", b"limit")
    for spec in redis_command_specs().values():
        if "only_sentinel" in spec.flags:
            continue  # Sentinel's rows: redis-server does not know them
        for cmd in (spec, *spec.subcommands.values()):
            head = [part.encode() for part in cmd.name.split("|")]
            extra = range(4) if cmd.arity < 0 else range(1)
            for more in extra:
                for filler in fillers:
                    n = abs(cmd.arity) + more - len(head)
                    tail = [filler + b"%d" % i if filler.isalpha() else filler for i in range(n)]
                    target = head + tail
                    if len(target) >= 2:
                        out[tuple(target)] = None
    for case in GETKEYS_CASES:
        target = tuple(a.encode() for a in shlex.split(case))
        if len(target) >= 2:  # shorter is an arity error of COMMAND GETKEYS itself
            out[target] = None
    return [list(t) for t in out]


def test_key_extraction_matches_redis_for_every_redis_command(redis_node):
    """``node.protocol.keys.getkeys`` (also used for routing) against the oracle, for all of Redis's commands,
    served or not. Requests are pipelined: thousands of cases in well under a second."""
    requests = _generated_requests()
    with RawClient(redis_node.port) as oracle:
        for flags in (False, True):
            sub = b"GETKEYSANDFLAGS" if flags else b"GETKEYS"
            oracle.send(b"".join(encode_command(b"COMMAND", sub, *t) for t in requests))
            wrong = []
            for target in requests:
                theirs = oracle.read_reply()
                ours = _our_getkeys(target, flags)
                if ours != theirs:
                    wrong.append(
                        f"{sub.decode()} {target!r}\n  ours:  {ours!r}\n  redis: {theirs!r}"
                    )
            assert not wrong, f"{len(wrong)} of {len(requests)} differ:\n" + "\n".join(wrong[:20])
