"""Hash-slot bitmaps and ranges: the 16384-bit map every bus header carries, and the ascending
``start-end`` ranges CLUSTER NODES, CLUSTER SLOTS and CLUSTER SHARDS print.

Bit ``s`` lives in byte ``s // 8`` at bit ``s % 8`` (least significant first), as Redis's
``bitmapTestBit``/``bitmapSetBit``, so a bitmap printed by either side means the same slots.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gossip.errors import INVALID_SLOT, ClusterCommandError

CLUSTER_SLOTS = 16384
SLOT_BITMAP_BYTES = CLUSTER_SLOTS // 8
EMPTY_SLOT_BITMAP = bytes(SLOT_BITMAP_BYTES)

# Redis's string2ll: an optional '-', then no leading zeros (except "0" itself), digits only.
_STRICT_INT = re.compile(rb"(?:0|-?[1-9][0-9]{0,18})")
_LLONG_MIN, _LLONG_MAX = -(2**63), 2**63 - 1

# For each byte value, the bit positions set in it (bitmap_slots walks bytes, not 16384 bits).
_BITS_IN_BYTE: tuple[tuple[int, ...], ...] = tuple(
    tuple(bit for bit in range(8) if value & (1 << bit)) for value in range(256)
)


_ONE = re.compile("1")


# Up to this many runs the run-by-run walk beats printing 16,384 bits (measured: 2 us vs 7 us
# for one run; they cross at about 30).
_FEW_RUNS = 24


def bitmap_ranges(bitmap: bytes | bytearray) -> list[tuple[int, int]]:
    """``slot_ranges(bitmap_slots(bitmap))`` without a Python loop over slots. CLUSTER NODES and
    every nodes.conf save (each CLUSTER SETSLOT during a reshard) print the ranges of each node
    whose slots changed. The bitmap is one integer (bit ``s`` is slot ``s``): a node with a few
    runs, the usual case, is walked run by run with integer arithmetic (``x & -x`` is the lowest
    set bit, ``x + low`` carries through the lowest run); a fragmented one is printed in binary
    and scanned with ``str.find``, which is faster once there are dozens of runs."""
    x = int.from_bytes(bitmap, "little")
    ranges: list[tuple[int, int]] = []
    if (x & ~(x << 1)).bit_count() <= _FEW_RUNS:  # bits that start a run
        append = ranges.append
        while x:
            low = x & -x
            above = x + low  # the run's bits cleared, the bit just above it set
            append((low.bit_length() - 1, (above & -above).bit_length() - 2))
            x &= above
        return ranges
    text = bin(x)[:1:-1]
    find = text.find
    start = find("1")
    while start >= 0:
        end = find("0", start)
        if end < 0:
            ranges.append((start, len(text) - 1))
            break
        ranges.append((start, end - 1))
        start = find("1", end)
    return ranges


def bitmap_test(bitmap: bytes | bytearray, slot: int) -> bool:
    return bool(bitmap[slot >> 3] & (1 << (slot & 7)))


def bitmap_set(bitmap: bytearray, slot: int) -> None:
    bitmap[slot >> 3] |= 1 << (slot & 7)


def bitmap_clear(bitmap: bytearray, slot: int) -> None:
    bitmap[slot >> 3] &= ~(1 << (slot & 7)) & 0xFF


def bitmap_slots(bitmap: bytes | bytearray) -> list[int]:
    """The set slots in ascending order (skips zero bytes, so a sparse map is cheap)."""
    out: list[int] = []
    for index, value in enumerate(bitmap):
        if value:
            base = index << 3
            out.extend(base + bit for bit in _BITS_IN_BYTE[value])
    return out


def bitmap_count(bitmap: bytes | bytearray) -> int:
    """How many slots are set."""
    return int.from_bytes(bitmap, "little").bit_count()


def bitmap_slots_outside(claimed: bytes | bytearray, owned: bytes | bytearray) -> list[int]:
    """The slots set in ``claimed`` but not in ``owned``, ascending. A master's ping claims the
    slots it owns; only those my table gives to someone else can change anything, and during a
    reshard that is one slot out of thousands (walking them all cost ~4 ms per ping)."""
    diff = int.from_bytes(claimed, "little") & ~int.from_bytes(owned, "little")
    if not diff:
        return []
    return [m.start() for m in _ONE.finditer(bin(diff)[:1:-1])]


def slots_to_bitmap(slots: Iterable[int]) -> bytes:
    bitmap = bytearray(SLOT_BITMAP_BYTES)
    for slot in slots:
        bitmap_set(bitmap, slot)
    return bytes(bitmap)


def slot_ranges(slots: Iterable[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive slots, from slots given in ascending order."""
    ranges: list[tuple[int, int]] = []
    start = prev = -2
    for slot in slots:
        if slot != prev + 1:
            if start >= 0:
                ranges.append((start, prev))
            start = slot
        prev = slot
    if start >= 0:
        ranges.append((start, prev))
    return ranges


def format_slot_range(start: int, end: int) -> str:
    """``N`` for a single slot, ``start-end`` otherwise (clusterGenNodesSlotsInfo)."""
    return str(start) if start == end else f"{start}-{end}"


def parse_slot(arg: int | str | bytes) -> int:
    """A slot argument as Redis's getSlotOrReply reads it: a strict integer in [0, 16383].

    Raises ClusterCommandError("ERR Invalid or out of range slot") otherwise.
    """
    if isinstance(arg, int) and not isinstance(arg, bool):
        value = arg
    else:
        raw = arg.encode("utf-8", "surrogateescape") if isinstance(arg, str) else bytes(arg)
        if not _STRICT_INT.fullmatch(raw):
            raise ClusterCommandError(INVALID_SLOT)
        value = int(raw)
        if not _LLONG_MIN <= value <= _LLONG_MAX:
            raise ClusterCommandError(INVALID_SLOT)
    if not 0 <= value < CLUSTER_SLOTS:
        raise ClusterCommandError(INVALID_SLOT)
    return value
