"""List commands (Redis 7.0's t_list.c), blocking ones included.

The value is ``ListValue`` (``node.types.quicklist``): a deque plus a model of the quicklist
node layout, so OBJECT ENCODING says ``quicklist`` and DUMP is byte-identical with Redis 7.0.

Lookups follow Redis: read commands (LLEN, LRANGE, LINDEX, LPOS) count keyspace hits and
misses (``lookupKeyRead``), writes do not (``lookupKeyWrite``). Arguments are parsed in
Redis's order, which decides which error wins (LRANGE parses its indexes before the lookup,
LINDEX after it). A list that loses its last element is deleted.

Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) first try to serve themselves
like their non-blocking forms; finding nothing, they return ``Block`` (see ``node.blocking``)
whose timeout reply is the null array (for BLMOVE/BRPOPLPUSH too, as Redis 7.0's
``replyToBlockedClientTimedOut`` answers), or their non-blocking "nothing" reply at once where
blocking is denied (MULTI, scripts): a null array, or a null bulk for BLMOVE/BRPOPLPUSH.
When a key gets data the command is simply run again for the blocked client, which gives the
same reply Redis's ``serveClientBlockedOnList`` builds (including WRONGTYPE for a BLMOVE whose
destination is not a list).
"""

from __future__ import annotations

from node.blocking import Block, blocking_allowed, timeout_deadline
from node.protocol.errors import RespError, syntax_error, wrong_arity
from node.protocol.resp import EMPTY_ARRAY, NULL_ARRAY, OK
from node.session import Session
from node.types.common import lookup_typed, parse_int
from node.types.listpack import entry_size
from node.types.quicklist import ListValue

NO_SUCH_KEY = "ERR no such key"
INDEX_OUT_OF_RANGE = "ERR index out of range"
MUST_BE_POSITIVE = "ERR value is out of range, must be positive"
NUMKEYS_POSITIVE = "ERR numkeys should be greater than 0"
COUNT_POSITIVE = "ERR count should be greater than 0"
RANK_ZERO = (
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    "or use negative to start from the end of the list"
)
COUNT_NEGATIVE = "ERR COUNT can't be negative"
MAXLEN_NEGATIVE = "ERR MAXLEN can't be negative"
LONG_MIN = -(2**63)


# -- lookups and small helpers -----------------------------------------------------------------


def _read(ctx: Session, key: bytes) -> ListValue | None:
    """``lookupKeyRead`` + ``checkType``."""
    return lookup_typed(ctx, key, ListValue)  # type: ignore[return-value]


def _write(ctx: Session, key: bytes) -> ListValue | None:
    """``lookupKeyWrite`` + ``checkType``; a RESTOREd list adopts the node limits now."""
    value = lookup_typed(ctx, key, ListValue, read=False)
    if value is not None and value.size_limit is None:  # type: ignore[attr-defined]
        _configure(ctx, value)  # type: ignore[arg-type]
    return value  # type: ignore[return-value]


def _configure(ctx: Session, value: ListValue) -> None:
    config = ctx.node.config
    value.set_options(
        config.get_int("list-max-listpack-size"), config.get_int("list-compress-depth")
    )


def _new_list(ctx: Session) -> ListValue:
    """``createQuicklistObject`` + ``quicklistSetOptions`` from the current config."""
    value = ListValue()
    _configure(ctx, value)
    return value


def _store(ctx: Session, key: bytes, value: ListValue, before: int) -> None:
    """After an existing list changed in place (``before`` was its memory estimate): delete
    it if it became empty, else report the change (WATCH, blocked clients, memory)."""
    db = ctx.db
    db.modified(key, value.memory_usage() - before)
    if not value.items:
        db.delete(key)


def _where(arg: bytes) -> bool:
    """``getListPositionFromObjectOrReply``: True for LEFT (head), False for RIGHT."""
    lowered = arg.lower()
    if lowered == b"left":
        return True
    if lowered == b"right":
        return False
    raise syntax_error()


def _positive_count(raw: bytes, error: str) -> int:
    """``getRangeLongFromObjectOrReply(1, LONG_MAX, error)``: ``error`` for anything else."""
    value = parse_int(raw, error)
    if value < 1:
        raise RespError(error)
    return value


def _clamp_range(start: int, end: int, length: int) -> tuple[int, int] | None:
    """LRANGE/LTRIM index rules: negatives from the end; None for an empty range."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    if start < 0:
        start = 0
    if start > end or start >= length:
        return None
    return start, min(end, length - 1)


# -- pushes ------------------------------------------------------------------------------------


def _push(ctx: Session, argv: list[bytes], head: bool, only_existing: bool) -> int:
    """``pushGenericCommand`` / ``pushxGenericCommand``."""
    key = argv[1]
    value = _write(ctx, key)
    if value is None:
        if only_existing:
            return 0
        value = _new_list(ctx)
        push = value.push_head if head else value.push_tail
        for elem in argv[2:]:
            push(elem)
        ctx.db.set(key, value)
        return len(value.items)
    before = value.memory_usage()
    push = value.push_head if head else value.push_tail
    for elem in argv[2:]:
        push(elem)
    ctx.db.modified(key, value.memory_usage() - before)
    return len(value.items)


def lpush_command(ctx: Session, argv: list[bytes]) -> object:
    return _push(ctx, argv, head=True, only_existing=False)


def rpush_command(ctx: Session, argv: list[bytes]) -> object:
    return _push(ctx, argv, head=False, only_existing=False)


def lpushx_command(ctx: Session, argv: list[bytes]) -> object:
    return _push(ctx, argv, head=True, only_existing=True)


def rpushx_command(ctx: Session, argv: list[bytes]) -> object:
    return _push(ctx, argv, head=False, only_existing=True)


# -- pops --------------------------------------------------------------------------------------


def _pop_count(ctx: Session, key: bytes, value: ListValue, count: int, head: bool) -> list:
    """Pop up to ``count`` elements from one end (``listPopRangeAndReplyWithKey``)."""
    before = value.memory_usage()
    popped = value.pop_many(count, head)
    _store(ctx, key, value, before)
    return popped


def _pop_one(ctx: Session, key: bytes, value: ListValue, head: bool) -> bytes:
    before = value.memory_usage()
    elem = value.pop(head)
    _store(ctx, key, value, before)
    return elem


def _pop(ctx: Session, argv: list[bytes], head: bool) -> object:
    """``popGenericCommand``: LPOP key [count]. The count is validated before the lookup; a
    missing key is a null (array with a count), a count of 0 an empty array."""
    if len(argv) > 3:
        raise wrong_arity(argv[0].decode("latin-1").lower())
    count = None
    if len(argv) == 3:
        count = parse_int(argv[2], MUST_BE_POSITIVE)
        if count < 0:
            raise RespError(MUST_BE_POSITIVE)
    key = argv[1]
    value = _write(ctx, key)
    if value is None:
        return None if count is None else NULL_ARRAY
    if count is None:
        return _pop_one(ctx, key, value, head)
    if count == 0:
        return EMPTY_ARRAY
    return _pop_count(ctx, key, value, count, head)


def lpop_command(ctx: Session, argv: list[bytes]) -> object:
    return _pop(ctx, argv, head=True)


def rpop_command(ctx: Session, argv: list[bytes]) -> object:
    return _pop(ctx, argv, head=False)


# -- reads -------------------------------------------------------------------------------------


def llen_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read(ctx, argv[1])
    return 0 if value is None else len(value.items)


def lrange_command(ctx: Session, argv: list[bytes]) -> object:
    start, end = parse_int(argv[2]), parse_int(argv[3])
    value = _read(ctx, argv[1])
    if value is None:
        return EMPTY_ARRAY
    bounds = _clamp_range(start, end, len(value.items))
    if bounds is None:
        return EMPTY_ARRAY
    return value.range(*bounds)


def lindex_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read(ctx, argv[1])
    if value is None:
        return None
    index = parse_int(argv[2])
    length = len(value.items)
    if index < 0:
        index += length
    if not 0 <= index < length:
        return None
    return value.items[index]


def lpos_command(ctx: Session, argv: list[bytes]) -> object:
    """LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] (``lposCommand``)."""
    rank, count, maxlen = 1, -1, 0
    i = 3
    while i < len(argv):
        option = argv[i].lower()
        if i + 1 >= len(argv):
            raise syntax_error()
        i += 1
        if option == b"rank":
            rank = parse_int(argv[i])
            if rank == 0:
                raise RespError(RANK_ZERO)
        elif option == b"count":
            count = parse_int(argv[i], COUNT_NEGATIVE)
            if count < 0:
                raise RespError(COUNT_NEGATIVE)
        elif option == b"maxlen":
            maxlen = parse_int(argv[i], MAXLEN_NEGATIVE)
            if maxlen < 0:
                raise RespError(MAXLEN_NEGATIVE)
        else:
            raise syntax_error()
        i += 1
    value = _read(ctx, argv[1])
    if value is None:
        return EMPTY_ARRAY if count != -1 else None
    return _lpos_scan(value, argv[2], rank, count, maxlen)


def _lpos_scan(value: ListValue, element: bytes, rank: int, count: int, maxlen: int) -> object:
    """The search loop of ``lposCommand``. RANK LONG_MIN negates to itself in C: every match
    then qualifies and COUNT never stops the scan, which is what Redis answers."""
    from_tail = rank < 0
    unbounded = rank == LONG_MIN
    rank = 1 if unbounded else abs(rank)
    if unbounded and count != -1:
        count = 0
    items = value.items
    length = len(items)
    scan = reversed(items) if from_tail else iter(items)
    matches = 0
    found = []
    for index, elem in enumerate(scan):
        if maxlen and index >= maxlen:
            break
        if elem == element:
            matches += 1
            if matches >= rank:
                found.append(length - index - 1 if from_tail else index)
                if count == -1 or (count and len(found) >= count):
                    break
    if count == -1:
        return found[0] if found else None
    return found


# -- changes in the middle ---------------------------------------------------------------------


def lset_command(ctx: Session, argv: list[bytes]) -> object:
    key = argv[1]
    value = _write(ctx, key)
    if value is None:
        raise RespError(NO_SUCH_KEY)
    index = parse_int(argv[2])
    length = len(value.items)
    if index < 0:
        index += length
    if not 0 <= index < length:
        raise RespError(INDEX_OUT_OF_RANGE)
    before = value.memory_usage()
    value.replace(index, argv[3])
    ctx.db.modified(key, value.memory_usage() - before)
    return OK


def linsert_command(ctx: Session, argv: list[bytes]) -> object:
    """LINSERT key BEFORE|AFTER pivot element: -1 without the pivot, 0 without the key."""
    where = argv[2].lower()
    if where not in (b"before", b"after"):
        raise syntax_error()
    key = argv[1]
    value = _write(ctx, key)
    if value is None:
        return 0
    try:
        index = value.items.index(argv[3])
    except ValueError:
        return -1
    before = value.memory_usage()
    value.insert(index, argv[4], after=where == b"after")
    ctx.db.modified(key, value.memory_usage() - before)
    return len(value.items)


def lrem_command(ctx: Session, argv: list[bytes]) -> object:
    """LREM key count element: count > 0 from the head, < 0 from the tail, 0 all."""
    count = parse_int(argv[2])
    key = argv[1]
    value = _write(ctx, key)
    if value is None:
        return 0
    element = argv[3]
    items = value.items
    if count < 0:
        last = len(items) - 1
        indices = [last - i for i, elem in enumerate(reversed(items)) if elem == element]
        if len(indices) > -count:
            del indices[-count:]
        indices.reverse()
    else:
        indices = [i for i, elem in enumerate(items) if elem == element]
        if count and len(indices) > count:
            del indices[count:]
    if not indices:
        return 0
    before = value.memory_usage()
    value.remove_indices(indices, entry_size(element))
    _store(ctx, key, value, before)
    return len(indices)


def ltrim_command(ctx: Session, argv: list[bytes]) -> object:
    """LTRIM key start stop: always a write (WATCH sees it), even when nothing is removed."""
    start, end = parse_int(argv[2]), parse_int(argv[3])
    key = argv[1]
    value = _write(ctx, key)
    if value is None:
        return OK
    length = len(value.items)
    bounds = _clamp_range(start, end, length)
    before = value.memory_usage()
    if bounds is None:
        value.clear()
    else:
        value.trim(bounds[0], length - 1 - bounds[1])
    _store(ctx, key, value, before)
    return OK


# -- moves -------------------------------------------------------------------------------------


def _move(ctx: Session, source: bytes, target: bytes, from_head: bool, to_head: bool) -> object:
    """``lmoveGenericCommand``: null without a source; WRONGTYPE for a destination of another
    type (checked before anything moves). The push comes first, then the emptied source is
    deleted, as in Redis; source and destination may be the same list (a rotation)."""
    value = _write(ctx, source)
    if value is None:
        return None
    destination = _write(ctx, target)
    source_before = value.memory_usage()
    elem = value.pop(from_head)
    if destination is value:
        value.push(elem, to_head)
        ctx.db.modified(source, value.memory_usage() - source_before)
        return elem
    if destination is None:
        created = _new_list(ctx)
        created.push(elem, to_head)
        ctx.db.set(target, created)
    else:
        target_before = destination.memory_usage()
        destination.push(elem, to_head)
        ctx.db.modified(target, destination.memory_usage() - target_before)
    _store(ctx, source, value, source_before)
    return elem


def lmove_command(ctx: Session, argv: list[bytes]) -> object:
    from_head, to_head = _where(argv[3]), _where(argv[4])
    return _move(ctx, argv[1], argv[2], from_head, to_head)


def rpoplpush_command(ctx: Session, argv: list[bytes]) -> object:
    return _move(ctx, argv[1], argv[2], False, True)


def _blocking_move(
    ctx: Session, argv: list[bytes], from_head: bool, to_head: bool, raw_timeout: bytes
) -> object:
    """``blmoveGenericCommand``: the destination's type is only checked once there is
    something to move. Denied blocking answers a null bulk, but a timeout (or CLIENT UNBLOCK)
    the null array, as ``replyToBlockedClientTimedOut`` does for every list block in 7.0."""
    deadline = timeout_deadline(ctx.node.now_ms, raw_timeout)
    if _write(ctx, argv[1]) is not None:
        return _move(ctx, argv[1], argv[2], from_head, to_head)
    if not blocking_allowed(ctx):
        return None
    return Block([argv[1]], deadline, NULL_ARRAY, ListValue)


def blmove_command(ctx: Session, argv: list[bytes]) -> object:
    from_head, to_head = _where(argv[3]), _where(argv[4])
    return _blocking_move(ctx, argv, from_head, to_head, argv[5])


def brpoplpush_command(ctx: Session, argv: list[bytes]) -> object:
    return _blocking_move(ctx, argv, False, True, argv[3])


# -- multi-key pops ----------------------------------------------------------------------------


def _first_list(ctx: Session, keys: list[bytes]) -> tuple[bytes, ListValue] | None:
    """The first of ``keys`` holding a list; WRONGTYPE for another type met on the way. A
    blocked client being served looks only at the key that became ready
    (``serveClientsBlockedOnListKey``)."""
    serving = ctx.node.blocking.serving_key
    if serving is not None:
        keys = [serving]
    for key in keys:
        value = _write(ctx, key)
        if value is not None and value.items:
            return key, value
    return None


def _blocking_pop(ctx: Session, argv: list[bytes], head: bool) -> object:
    """``blockingPopGenericCommand`` for BLPOP/BRPOP: reply [key, element]."""
    deadline = timeout_deadline(ctx.node.now_ms, argv[-1])
    keys = argv[1:-1]
    found = _first_list(ctx, keys)
    if found is not None:
        key, value = found
        return [key, _pop_one(ctx, key, value, head)]
    if not blocking_allowed(ctx):
        return NULL_ARRAY
    return Block(keys, deadline, NULL_ARRAY, ListValue)


def blpop_command(ctx: Session, argv: list[bytes]) -> object:
    return _blocking_pop(ctx, argv, head=True)


def brpop_command(ctx: Session, argv: list[bytes]) -> object:
    return _blocking_pop(ctx, argv, head=False)


def _parse_mpop(argv: list[bytes], numkeys_index: int) -> tuple[list[bytes], bool, int]:
    """``lmpopGenericCommand``'s arguments: numkeys, keys, LEFT|RIGHT, [COUNT n]."""
    numkeys = _positive_count(argv[numkeys_index], NUMKEYS_POSITIVE)
    where_index = numkeys_index + numkeys + 1
    if where_index >= len(argv):
        raise syntax_error()
    head = _where(argv[where_index])
    count = -1
    i = where_index + 1
    while i < len(argv):
        if count == -1 and argv[i].lower() == b"count" and i + 1 < len(argv):
            count = _positive_count(argv[i + 1], COUNT_POSITIVE)
            i += 2
        else:
            raise syntax_error()
    keys = argv[numkeys_index + 1 : where_index]
    return keys, head, 1 if count == -1 else count


def lmpop_command(ctx: Session, argv: list[bytes]) -> object:
    """LMPOP numkeys key... LEFT|RIGHT [COUNT n]: [key, [elements]] or a null array."""
    keys, head, count = _parse_mpop(argv, 1)
    found = _first_list(ctx, keys)
    if found is None:
        return NULL_ARRAY
    key, value = found
    return [key, _pop_count(ctx, key, value, count, head)]


def blmpop_command(ctx: Session, argv: list[bytes]) -> object:
    """BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n]; the timeout is checked last."""
    keys, head, count = _parse_mpop(argv, 2)
    deadline = timeout_deadline(ctx.node.now_ms, argv[1])
    found = _first_list(ctx, keys)
    if found is not None:
        key, value = found
        return [key, _pop_count(ctx, key, value, count, head)]
    if not blocking_allowed(ctx):
        return NULL_ARRAY
    return Block(keys, deadline, NULL_ARRAY, ListValue)


HANDLERS = {
    "lpush": lpush_command,
    "rpush": rpush_command,
    "lpushx": lpushx_command,
    "rpushx": rpushx_command,
    "lpop": lpop_command,
    "rpop": rpop_command,
    "llen": llen_command,
    "lrange": lrange_command,
    "lindex": lindex_command,
    "lpos": lpos_command,
    "lset": lset_command,
    "linsert": linsert_command,
    "lrem": lrem_command,
    "ltrim": ltrim_command,
    "lmove": lmove_command,
    "rpoplpush": rpoplpush_command,
    "blmove": blmove_command,
    "brpoplpush": brpoplpush_command,
    "blpop": blpop_command,
    "brpop": brpop_command,
    "lmpop": lmpop_command,
    "blmpop": blmpop_command,
}
