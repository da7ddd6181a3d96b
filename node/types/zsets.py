"""Sorted set commands, mirroring Redis 7.0.15's ``t_zset.c`` reply for reply.

The value class and its RDB encodings live in ``node.types.zset_value``, the argument parsers in
``node.types.zset_args`` and the set algebra (ZUNION, ZINTER, ZDIFF...) in
``node.types.zset_setops``. Handlers follow Redis's order of checks exactly (argument errors,
then the key's type, then the work), since that order is visible to clients. Scores are replied
as ``Double`` (``%.17g`` bulk strings in RESP2, ``,`` doubles in RESP3); WITHSCORES replies are a
flat array in RESP2 and an array of [member, score] pairs in RESP3, as Redis 7 sends them.

Blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP) return a ``Block`` when every key is empty; the
driver runs them again when one of the keys gets data (``node.blocking``).
"""

from __future__ import annotations

import math

from node.blocking import Block, blocking_allowed, timeout_deadline
from node.glob import glob_matcher
from node.protocol.errors import RespError, syntax_error
from node.protocol.resp import NULL_ARRAY, Double
from node.session import Session
from node.types.common import parse_int, parse_scan_cursor
from node.types.zset_args import option, parse_double, parse_lex_range, parse_score_range
from node.types.zset_setops import DIFF, INTER, UNION, set_operation
from node.types.zset_value import (
    ZSet,
    changed,
    lex_slice,
    limits,
    listpack_score_text,
    parse_positive,
    rank_slice,
    read_zset,
    score_slice,
    scored_reply,
    store_result,
    write_zset,
)

NAN_SCORE = "ERR resulting score is not a number (NaN)"
XX_AND_NX = "ERR XX and NX options at the same time are not compatible"
GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
INCR_SINGLE_PAIR = "ERR INCR option supports a single increment-element pair"
LIMIT_NEEDS_SCORE_OR_LEX = (
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
)
WITHSCORES_WITH_BYLEX = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
NUMKEYS_POSITIVE = "ERR numkeys should be greater than 0"
COUNT_POSITIVE = "ERR count should be greater than 0"
OUT_OF_RANGE = "ERR value is out of range"
LONG_MAX = 2**63 - 1
# ZRANDMEMBER ... WITHSCORES refuses counts whose reply length would overflow (-LONG_MAX/2 in C).
RANDMEMBER_COUNT_LIMIT = LONG_MAX // 2
# ZRANDMEMBER switches from "copy and remove" to "pick until enough" when count * 3 <= size.
RANDMEMBER_SUB_STRATEGY_MUL = 3

# ZADD flags (Redis's ZADD_IN_*) and per-element outcomes (ZADD_OUT_*).
NX, XX, CH, INCR, GT, LT = 1, 2, 4, 8, 16, 32
_ZADD_FLAGS = {b"nx": NX, b"xx": XX, b"ch": CH, b"incr": INCR, b"gt": GT, b"lt": LT}
ADDED, UPDATED, NOP = 1, 2, 4

# zrange_type / zrange_direction
AUTO, RANK, SCORE, LEX = 0, 1, 2, 3
FORWARD, REVERSE = 1, 2


# -- ZADD, ZINCRBY, ZREM ---------------------------------------------------------------------


def zset_add(
    zset: ZSet, score: float, member: bytes, flags: int, caps: tuple[int, int]
) -> tuple[int, float]:
    """``zsetAdd``: add or update one member; returns (outcome flags, new score)."""
    current = zset.scores.get(member)
    if current is not None:
        if flags & NX:
            return NOP, score
        if flags & INCR:
            score += current
            if math.isnan(score):
                raise RespError(NAN_SCORE)
        if (flags & LT and score >= current) or (flags & GT and score <= current):
            return NOP, score
        if score != current:
            zset.set_score(member, current, score)
            return UPDATED, score
        return 0, score
    if flags & XX:
        return NOP, score
    zset.add(member, score, *caps)
    return ADDED, score


def zadd_generic(ctx: Session, argv: list[bytes], flags: int = 0) -> object:
    """``zaddGenericCommand`` (also serves ZINCRBY and GEOADD)."""
    index = 2
    while index < len(argv):
        flag = _ZADD_FLAGS.get(option(argv[index]))
        if flag is None:
            break
        flags |= flag
        index += 1
    elements = len(argv) - index
    if elements % 2 or not elements:
        raise syntax_error()
    if flags & NX and flags & XX:
        raise RespError(XX_AND_NX)
    if (flags & GT and flags & NX) or (flags & LT and flags & NX) or (flags & GT and flags & LT):
        raise RespError(GT_LT_NX)
    if flags & INCR and elements > 2:
        raise RespError(INCR_SINGLE_PAIR)
    scores = [parse_double(argv[i]) for i in range(index, len(argv), 2)]
    key = argv[1]
    zset = write_zset(ctx, key)
    incr = bool(flags & INCR)
    if zset is None and flags & XX:
        return None if incr else 0
    caps = limits(ctx)
    created = zset is None
    if zset is None:
        zset = ZSet(listpack=caps[0] != 0 and caps[1] >= len(argv[index + 1]))
    before = zset.memory_usage()
    added = updated = processed = 0
    score = 0.0
    try:
        for j, value in enumerate(scores):
            outcome, score = zset_add(zset, value, argv[index + 1 + 2 * j], flags, caps)
            added += outcome & ADDED
            updated += (outcome & UPDATED) >> 1
            processed += not outcome & NOP
    finally:
        if created:
            if zset:
                ctx.db.set(key, zset)
        elif added or updated:
            changed(ctx, key, zset, before)
    if incr:
        return Double(score) if processed else None
    return added + updated if flags & CH else added


def zadd_command(ctx: Session, argv: list[bytes]) -> object:
    return zadd_generic(ctx, argv)


def zincrby_command(ctx: Session, argv: list[bytes]) -> object:
    return zadd_generic(ctx, argv, INCR)


def zrem_command(ctx: Session, argv: list[bytes]) -> object:
    key = argv[1]
    zset = write_zset(ctx, key)
    if zset is None:
        return 0
    before = zset.memory_usage()
    deleted = 0
    for member in argv[2:]:
        deleted += zset.remove(member)
        if not zset:
            break
    if deleted:
        changed(ctx, key, zset, before)
    return deleted


# -- single-member reads -----------------------------------------------------------------------


def zcard_command(ctx: Session, argv: list[bytes]) -> object:
    zset = read_zset(ctx, argv[1])
    return len(zset) if zset is not None else 0


def zscore_command(ctx: Session, argv: list[bytes]) -> object:
    zset = read_zset(ctx, argv[1])
    score = zset.scores.get(argv[2]) if zset is not None else None
    return None if score is None else Double(score)


def zmscore_command(ctx: Session, argv: list[bytes]) -> object:
    zset = read_zset(ctx, argv[1])
    scores = zset.scores if zset is not None else {}
    return [None if (s := scores.get(m)) is None else Double(s) for m in argv[2:]]


def _rank(ctx: Session, argv: list[bytes], reverse: bool) -> object:
    zset = read_zset(ctx, argv[1])
    if zset is None:
        return None
    rank = zset.rank(argv[2])
    if rank is None:
        return None
    return len(zset) - 1 - rank if reverse else rank


def zrank_command(ctx: Session, argv: list[bytes]) -> object:
    return _rank(ctx, argv, False)


def zrevrank_command(ctx: Session, argv: list[bytes]) -> object:
    return _rank(ctx, argv, True)


# -- ZRANGE family ---------------------------------------------------------------------------


def _zrange_generic(
    ctx: Session, argv: list[bytes], first: int, store: bool, kind: int, direction: int
) -> object:
    """``zrangeGenericCommand``: ZRANGE, ZRANGESTORE and the legacy BYSCORE/BYLEX/REV forms."""
    key = argv[first]
    low, high = first + 1, first + 2
    withscores = False
    offset, limit = 0, -1
    j = first + 3
    while j < len(argv):
        left = len(argv) - j - 1
        word = option(argv[j])
        if not store and word == b"withscores":
            withscores = True
        elif word == b"limit" and left >= 2:
            offset, limit = parse_int(argv[j + 1]), parse_int(argv[j + 2])
            j += 2
        elif direction == AUTO and word == b"rev":
            direction = REVERSE
        elif kind == AUTO and word == b"bylex":
            kind = LEX
        elif kind == AUTO and word == b"byscore":
            kind = SCORE
        else:
            raise syntax_error()
        j += 1
    kind = kind or RANK
    reverse = direction == REVERSE
    if limit != -1 and kind == RANK:
        raise RespError(LIMIT_NEEDS_SCORE_OR_LEX)
    if withscores and kind == LEX:
        raise RespError(WITHSCORES_WITH_BYLEX)
    if reverse and kind != RANK:
        low, high = high, low
    if kind == RANK:
        start, end = parse_int(argv[low]), parse_int(argv[high])
    elif kind == SCORE:
        score_spec = parse_score_range(argv[low], argv[high])
    else:
        lex_spec = parse_lex_range(argv[low], argv[high])
    zset = read_zset(ctx, key)
    if zset is None:
        return store_result(ctx, argv[1], ZSet()) if store else []
    if kind == RANK:
        pairs = rank_slice(zset, start, end, reverse)
    elif kind == SCORE:
        pairs = score_slice(zset, score_spec, offset, limit, reverse)
    else:
        pairs = lex_slice(zset, lex_spec, offset, limit, reverse)
    if not store:
        return scored_reply(ctx, pairs, withscores)
    caps = limits(ctx)
    # zrangeResultBeginStore: a rank range knows its length, the others start as a listpack.
    result = ZSet(listpack=not (kind == RANK and len(pairs) > caps[0]))
    for score, member in pairs:
        result.add(member, score, *caps)
    return store_result(ctx, argv[1], result)


def zrange_command(ctx: Session, argv: list[bytes]) -> object:
    return _zrange_generic(ctx, argv, 1, False, AUTO, AUTO)


def zrangestore_command(ctx: Session, argv: list[bytes]) -> object:
    return _zrange_generic(ctx, argv, 2, True, AUTO, AUTO)


def zrevrange_command(ctx: Session, argv: list[bytes]) -> object:
    return _zrange_generic(ctx, argv, 1, False, RANK, REVERSE)


def zrangebyscore_command(ctx: Session, argv: list[bytes]) -> object:
    return _zrange_generic(ctx, argv, 1, False, SCORE, FORWARD)


def zrevrangebyscore_command(ctx: Session, argv: list[bytes]) -> object:
    return _zrange_generic(ctx, argv, 1, False, SCORE, REVERSE)


def zrangebylex_command(ctx: Session, argv: list[bytes]) -> object:
    return _zrange_generic(ctx, argv, 1, False, LEX, FORWARD)


def zrevrangebylex_command(ctx: Session, argv: list[bytes]) -> object:
    return _zrange_generic(ctx, argv, 1, False, LEX, REVERSE)


def zcount_command(ctx: Session, argv: list[bytes]) -> object:
    spec = parse_score_range(argv[2], argv[3])
    zset = read_zset(ctx, argv[1])
    if zset is None:
        return 0
    bounds = zset.score_bounds(spec)
    return 0 if bounds is None else bounds[1] - bounds[0] + 1


def zlexcount_command(ctx: Session, argv: list[bytes]) -> object:
    spec = parse_lex_range(argv[2], argv[3])
    zset = read_zset(ctx, argv[1])
    if zset is None:
        return 0
    if zset.listpack:
        return len(lex_slice(zset, spec, 0, -1, False))
    first = zset.lex_first(spec)
    if first is None:
        return 0
    last = zset.lex_last(spec)
    return (len(zset) if last is None else last + 1) - first


# -- ZREMRANGEBY* ----------------------------------------------------------------------------


def _zremrange(ctx: Session, argv: list[bytes], kind: int) -> object:
    """``zremrangeGenericCommand``."""
    if kind == RANK:
        start, end = parse_int(argv[2]), parse_int(argv[3])
    elif kind == SCORE:
        score_spec = parse_score_range(argv[2], argv[3])
    else:
        lex_spec = parse_lex_range(argv[2], argv[3])
    key = argv[1]
    zset = write_zset(ctx, key)
    if zset is None:
        return 0
    if kind == RANK:
        size = len(zset)
        start = start + size if start < 0 else start
        end = end + size if end < 0 else end
        start = max(start, 0)
        if start > end or start >= size:
            return 0
        bounds: tuple[int, int] | None = (start, min(end, size - 1))
    elif kind == SCORE:
        bounds = zset.score_bounds(score_spec)
    else:
        first = zset.lex_first(lex_spec)
        found = len(lex_slice(zset, lex_spec, 0, -1, False)) if first is not None else 0
        bounds = (first, first + found - 1) if first is not None else None
    if bounds is None:
        return 0
    before = zset.memory_usage()
    deleted = len(zset.remove_range(bounds[0], bounds[1] + 1))
    if deleted:
        changed(ctx, key, zset, before)
    return deleted


def zremrangebyrank_command(ctx: Session, argv: list[bytes]) -> object:
    return _zremrange(ctx, argv, RANK)


def zremrangebyscore_command(ctx: Session, argv: list[bytes]) -> object:
    return _zremrange(ctx, argv, SCORE)


def zremrangebylex_command(ctx: Session, argv: list[bytes]) -> object:
    return _zremrange(ctx, argv, LEX)


# -- ZUNION, ZINTER, ZDIFF and their STORE forms, ZINTERCARD ---------------------------------


def zunionstore_command(ctx: Session, argv: list[bytes]) -> object:
    return set_operation(ctx, argv, argv[1], 2, UNION, False)


def zinterstore_command(ctx: Session, argv: list[bytes]) -> object:
    return set_operation(ctx, argv, argv[1], 2, INTER, False)


def zdiffstore_command(ctx: Session, argv: list[bytes]) -> object:
    return set_operation(ctx, argv, argv[1], 2, DIFF, False)


def zunion_command(ctx: Session, argv: list[bytes]) -> object:
    return set_operation(ctx, argv, None, 1, UNION, False)


def zinter_command(ctx: Session, argv: list[bytes]) -> object:
    return set_operation(ctx, argv, None, 1, INTER, False)


def zdiff_command(ctx: Session, argv: list[bytes]) -> object:
    return set_operation(ctx, argv, None, 1, DIFF, False)


def zintercard_command(ctx: Session, argv: list[bytes]) -> object:
    return set_operation(ctx, argv, None, 1, INTER, True)


# -- pops ------------------------------------------------------------------------------------


def _zpop(
    ctx: Session,
    keys: list[bytes],
    pop_max: bool,
    emit_key: bool,
    count: int,
    nested: bool,
    nil_when_empty: bool,
) -> object:
    """``genericZpopCommand``: pop from the first existing key among ``keys``."""
    key, zset = b"", None
    for key in keys:
        zset = write_zset(ctx, key)
        if zset is not None:
            break
    if zset is None:
        return NULL_ARRAY if nil_when_empty else []
    if count == 0:
        return []
    count = 1 if count == -1 else count
    size = len(zset)
    n = min(count, size)
    before = zset.memory_usage()
    popped = zset.remove_range(size - n, size)[::-1] if pop_max else zset.remove_range(0, n)
    changed(ctx, key, zset, before)
    if nested:
        body: list = [[member, Double(score)] for score, member in popped]
    else:
        body = [item for score, member in popped for item in (member, Double(score))]
    if not emit_key:
        return body
    return [key, body] if nested else [key, *body]


def _zpop_min_max(ctx: Session, argv: list[bytes], pop_max: bool) -> object:
    if len(argv) > 3:
        raise syntax_error()
    count = parse_positive(argv[2]) if len(argv) == 3 else -1
    return _zpop(ctx, [argv[1]], pop_max, False, count, ctx.resp3 and count != -1, False)


def zpopmin_command(ctx: Session, argv: list[bytes]) -> object:
    return _zpop_min_max(ctx, argv, False)


def zpopmax_command(ctx: Session, argv: list[bytes]) -> object:
    return _zpop_min_max(ctx, argv, True)


def _blocking_zpop(
    ctx: Session, keys: list[bytes], pop_max: bool, timeout: bytes, count: int, nested: bool
) -> object:
    """``blockingGenericZpopCommand``: pop from the first non-empty key, else block."""
    deadline = timeout_deadline(ctx.node.now_ms, timeout)
    for key in keys:
        zset = write_zset(ctx, key)
        if zset:
            return _zpop(ctx, [key], pop_max, True, count, nested, nested)
    if not blocking_allowed(ctx):
        return NULL_ARRAY
    return Block(list(keys), deadline, NULL_ARRAY, ZSet)


def bzpopmin_command(ctx: Session, argv: list[bytes]) -> object:
    return _blocking_zpop(ctx, argv[1:-1], False, argv[-1], -1, False)


def bzpopmax_command(ctx: Session, argv: list[bytes]) -> object:
    return _blocking_zpop(ctx, argv[1:-1], True, argv[-1], -1, False)


def _zmpop(ctx: Session, argv: list[bytes], at: int, blocking: bool) -> object:
    """``zmpopGenericCommand``: numkeys key... MIN|MAX [COUNT count]."""
    numkeys = parse_positive(argv[at], NUMKEYS_POSITIVE, 1)
    where = at + numkeys + 1
    if where >= len(argv):
        raise syntax_error()
    side = option(argv[where])
    if side not in (b"min", b"max"):
        raise syntax_error()
    count = -1
    j = where + 1
    while j < len(argv):
        if count == -1 and option(argv[j]) == b"count" and j + 1 < len(argv):
            count = parse_positive(argv[j + 1], COUNT_POSITIVE, 1)
            j += 2
        else:
            raise syntax_error()
    count = 1 if count == -1 else count
    keys = argv[at + 1 : where]
    if blocking:
        return _blocking_zpop(ctx, keys, side == b"max", argv[1], count, True)
    return _zpop(ctx, keys, side == b"max", True, count, True, True)


def zmpop_command(ctx: Session, argv: list[bytes]) -> object:
    return _zmpop(ctx, argv, 1, False)


def bzmpop_command(ctx: Session, argv: list[bytes]) -> object:
    return _zmpop(ctx, argv, 2, True)


# -- ZRANDMEMBER, ZSCAN ----------------------------------------------------------------------


def zrandmember_command(ctx: Session, argv: list[bytes]) -> object:
    """``zrandmemberCommand``; random picks cannot match Redis's, but the shapes, the counts,
    the distinctness rules and the deterministic case (count >= size: every member, highest
    score first, as Redis iterates from the tail) do."""
    if len(argv) < 3:
        zset = read_zset(ctx, argv[1])
        if zset is None:
            return None
        return zset.order[ctx.node.rng.randrange(len(zset))][1]
    count = parse_int(argv[2])
    withscores = False
    if len(argv) > 4 or (len(argv) == 4 and option(argv[3]) != b"withscores"):
        raise syntax_error()
    if len(argv) == 4:
        withscores = True
        if not -RANDMEMBER_COUNT_LIMIT <= count <= RANDMEMBER_COUNT_LIMIT:
            raise RespError(OUT_OF_RANGE)
    zset = read_zset(ctx, argv[1])
    if zset is None or count == 0:
        return []
    rng = ctx.node.rng
    order = zset.order
    size = len(order)
    if count < 0 or count == 1:
        picks = [order[rng.randrange(size)] for _ in range(abs(count))]
    elif count >= size:
        picks = list(reversed(order))
    else:
        positions = rng.sample(range(size), count)
        if zset.listpack and count * RANDMEMBER_SUB_STRATEGY_MUL <= size:
            positions.sort()  # lpRandomPairsUnique keeps the listpack's order
        picks = [order[i] for i in positions]
    return scored_reply(ctx, picks, withscores)


def zscan_command(ctx: Session, argv: list[bytes]) -> object:
    """ZSCAN key cursor [MATCH pattern] [COUNT count]. A listpack answers in one call with the
    scores as the listpack stores them, like Redis; a skiplist also answers in one call (Redis
    walks its hash table with a cursor), which SCAN's guarantees allow."""
    parse_scan_cursor(argv[2])
    zset = read_zset(ctx, argv[1])
    if zset is None:
        return [b"0", []]
    pattern = None
    i = 3
    while i < len(argv):
        word = option(argv[i])
        if word == b"count" and i + 1 < len(argv):
            if parse_int(argv[i + 1]) < 1:
                raise syntax_error()
        elif word == b"match" and i + 1 < len(argv):
            pattern = None if argv[i + 1] == b"*" else argv[i + 1]
        else:
            raise syntax_error()
        i += 2
    matches = glob_matcher(pattern) if pattern is not None else None
    out: list[bytes] = []
    for score, member in zset.order:
        if matches is None or matches(member):
            out.append(member)
            out.append(listpack_score_text(score) if zset.listpack else b"%.17g" % score)
    return [b"0", out]


HANDLERS = {
    "zunionstore": zunionstore_command,
    "zinterstore": zinterstore_command,
    "zdiffstore": zdiffstore_command,
    "zunion": zunion_command,
    "zinter": zinter_command,
    "zdiff": zdiff_command,
    "zintercard": zintercard_command,
    "zadd": zadd_command,
    "zincrby": zincrby_command,
    "zrem": zrem_command,
    "zcard": zcard_command,
    "zscore": zscore_command,
    "zmscore": zmscore_command,
    "zrank": zrank_command,
    "zrevrank": zrevrank_command,
    "zcount": zcount_command,
    "zlexcount": zlexcount_command,
    "zrange": zrange_command,
    "zrangestore": zrangestore_command,
    "zrevrange": zrevrange_command,
    "zrangebyscore": zrangebyscore_command,
    "zrevrangebyscore": zrevrangebyscore_command,
    "zrangebylex": zrangebylex_command,
    "zrevrangebylex": zrevrangebylex_command,
    "zremrangebyrank": zremrangebyrank_command,
    "zremrangebyscore": zremrangebyscore_command,
    "zremrangebylex": zremrangebylex_command,
    "zpopmin": zpopmin_command,
    "zpopmax": zpopmax_command,
    "bzpopmin": bzpopmin_command,
    "bzpopmax": bzpopmax_command,
    "zmpop": zmpop_command,
    "bzmpop": bzmpop_command,
    "zrandmember": zrandmember_command,
    "zscan": zscan_command,
}
