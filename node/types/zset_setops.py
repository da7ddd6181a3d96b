"""The engine of ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (Redis's
``zunionInterDiffGenericCommand``); the handlers are in ``node.types.zsets``.

Inputs may be sorted sets or plain sets (members score 1). As in Redis, ZUNION and ZINTER first
sort the inputs by cardinality (a stable sort, like glibc's merge sort ``qsort``), and scores
are combined in that order, so floating point sums round exactly as Redis's do. Results are built
as a skiplist and become a listpack when small enough (``zsetConvertToListpackIfNeeded``).
"""

from __future__ import annotations

import math

from node.protocol.errors import RespError, WrongTypeError, syntax_error
from node.session import Session
from node.types.common import parse_int
from node.types.zset_args import option, parse_double
from node.types.zset_value import ZSet, limits, parse_positive, scored_reply, store_result

WEIGHT_NOT_FLOAT = "ERR weight value is not a float"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"
UNION, INTER, DIFF = 0, 1, 2


def _source(ctx: Session, key: bytes) -> tuple[object, dict[bytes, float]]:
    """A ZUNION/ZINTER input: a sorted set, or a set whose members score 1 (``zuiFind``)."""
    value = ctx.db.lookup(key, ctx.node.now_ms)
    stats = ctx.node.stats
    if value is None:
        stats.keyspace_misses += 1
        return None, {}
    stats.keyspace_hits += 1
    if type(value) is ZSet:
        return value, value.scores
    if getattr(value, "type_name", None) == b"set":
        return value, dict.fromkeys(value, 1.0)  # type: ignore[call-overload]
    raise WrongTypeError()


def _aggregate(target: float, value: float, how: bytes) -> float:
    """``zunionInterAggregate``."""
    if how == b"sum":
        target += value
        return 0.0 if math.isnan(target) else target
    if how == b"min":
        return value if value < target else target
    return value if value > target else target


def set_operation(
    ctx: Session, argv: list[bytes], dstkey: bytes | None, at: int, op: int, card_only: bool
) -> object:
    """``zunionInterDiffGenericCommand``."""
    setnum = parse_int(argv[at])
    if setnum < 1:
        name = argv[0].lower().decode("latin-1")
        raise RespError(f"ERR at least 1 input key is needed for '{name}' command")
    if setnum > len(argv) - (at + 1):
        raise syntax_error()
    sources = [_source(ctx, key) for key in argv[at + 1 : at + 1 + setnum]]
    weights = [1.0] * setnum
    how, withscores, limit = b"sum", False, 0
    j = at + 1 + setnum
    while j < len(argv):
        remaining = len(argv) - j
        word = option(argv[j])
        if op != DIFF and not card_only and remaining >= setnum + 1 and word == b"weights":
            weights = [parse_double(raw, WEIGHT_NOT_FLOAT) for raw in argv[j + 1 : j + 1 + setnum]]
            j += 1 + setnum
        elif op != DIFF and not card_only and remaining >= 2 and word == b"aggregate":
            how = option(argv[j + 1])
            if how not in (b"sum", b"min", b"max"):
                raise syntax_error()
            j += 2
        elif dstkey is None and not card_only and word == b"withscores":
            withscores = True
            j += 1
        elif card_only and remaining >= 2 and word == b"limit":
            limit = parse_positive(argv[j + 1], LIMIT_NEGATIVE)
            j += 2
        else:
            raise syntax_error()
    inputs = [(value, scores, weights[i]) for i, (value, scores) in enumerate(sources)]
    if op != DIFF:
        inputs.sort(key=lambda source: len(source[1]))  # stable, as glibc's qsort merge sort
    if op == INTER:
        result = _inter(inputs, how, card_only, limit)
    elif op == UNION:
        result = _union(inputs, how)
    else:
        result = _diff(inputs)
    if card_only:
        return result
    zset = ZSet(listpack=False)
    zset.order.update((score, member) for member, score in result.items())  # type: ignore[union-attr]
    zset.scores = result  # type: ignore[assignment]
    zset.member_bytes = sum(map(len, zset.scores))
    if dstkey is not None:
        zset.to_listpack_if_small(*limits(ctx))
        return store_result(ctx, dstkey, zset)
    return scored_reply(ctx, zset.order, withscores)


def _inter(inputs: list, how: bytes, card_only: bool, limit: int) -> dict[bytes, float] | int:
    result: dict[bytes, float] = {}
    cardinality = 0
    first, first_scores, first_weight = inputs[0]
    for member, member_score in first_scores.items():
        score = first_weight * member_score
        if math.isnan(score):
            score = 0.0
        for value, scores, weight in inputs[1:]:
            if value is first:
                score = _aggregate(score, member_score * weight, how)
            elif member in scores:
                score = _aggregate(score, scores[member] * weight, how)
            else:
                break
        else:
            if card_only:
                cardinality += 1
                if limit and cardinality >= limit:
                    break
            else:
                result[member] = score
    return cardinality if card_only else result


def _union(inputs: list, how: bytes) -> dict[bytes, float]:
    result: dict[bytes, float] = {}
    for _, scores, weight in inputs:
        for member, member_score in scores.items():
            score = weight * member_score
            if math.isnan(score):
                score = 0.0
            if member in result:
                result[member] = _aggregate(result[member], score, how)
            else:
                result[member] = score
    return result


def _diff(inputs: list) -> dict[bytes, float]:
    first, first_scores, _ = inputs[0]
    others = inputs[1:]
    if any(value is first for value, _, _ in others if value is not None):
        return {}
    return {
        member: score
        for member, score in first_scores.items()
        if not any(member in scores for _, scores, _ in others)
    }
