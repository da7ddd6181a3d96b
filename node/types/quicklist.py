"""The list value: elements in a deque, plus a model of Redis 7.0's quicklist node layout.

Theory of operation
-------------------
Redis 7.0 keeps every list as a *quicklist*: a doubly linked list of listpack nodes, each
bounded by ``list-max-listpack-size`` (a byte budget for negative values, an element count for
positive ones), and a DUMP payload (RDB type 18, quicklist v2) writes one listpack per node.
Which elements share a node depends on the history of the list (pushes on each side, inserts
that split nodes, pops that empty them), so a byte-identical DUMP needs that history.

``ListValue`` therefore keeps two things in step:

* ``items``: the elements, a ``collections.deque`` of ``bytes`` (O(1) pushes and pops at both
  ends; indexing walks from the nearer end in blocks of 64).
* ``nodes``: one ``[count, size]`` pair per quicklist node, ``size`` being the exact listpack
  byte length (``lpBytes``). Every mutation updates it the way ``quicklist.c`` would
  (``quicklistPushHead/Tail``, ``quicklistDelIndex``, ``quicklistDelRange``, ``lpReplace`` for
  LSET, ``_quicklistInsert`` with its split and merge rules for LINSERT). Listpacks are only
  materialised by DUMP (``encode_rdb``), so ordinary commands never pay for them.

Sizes follow listpack's encodings (``node.types.listpack``) and the quicklist limits of
7.0.15, measured against redis-server: ``SIZE_ESTIMATE_OVERHEAD`` 8 per insert,
``SIZE_SAFETY_LIMIT`` 8192, optimisation levels 4/8/16/32/64 KiB, and a merge estimate that
still subtracts a ziplist's 11 header bytes. ``list-compress-depth`` is honoured when dumping: nodes
more than ``depth`` from either end are LZF-compressed when that saves 8+ bytes, as Redis's
``__quicklistCompressNode`` leaves them. Elements of 1 GiB or more (Redis's PLAIN nodes) are not
modelled.

RESTORE accepts quicklist v2 (18) with its node layout, quicklist v1 (14, ziplist nodes), and
the pre-3.2 ziplist (10) and linked-list (1) encodings, which Redis rebuilds by pushing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from itertools import islice

from node import rdb
from node.types.listpack import (
    LP_EMPTY_BYTES,
    build_listpack,
    decode_listpack,
    decode_ziplist,
    entry_size,
)

# quicklist.c (Redis 7.0.15)
OPTIMIZATION_LEVEL = (4096, 8192, 16384, 32768, 65536)
SIZE_SAFETY_LIMIT = 8192
SIZE_ESTIMATE_OVERHEAD = 8
FILL_MAX = (1 << 15) - 1
COMPRESS_MAX = (1 << 16) - 1
MIN_COMPRESS_BYTES = 48
MIN_COMPRESS_IMPROVE = 8
# _quicklistNodeAllowMerge in 7.0 still subtracts a ziplist header and end (10 + 1 bytes).
MERGE_SAVING_ESTIMATE = 11
CONTAINER_PLAIN = 1
CONTAINER_PACKED = 2
DEFAULT_FILL = -2

RDB_TYPE_LIST = 1
RDB_TYPE_LIST_ZIPLIST = 10
RDB_TYPE_LIST_QUICKLIST = 14
RDB_TYPE_LIST_QUICKLIST_2 = 18

# Rough sizes for INFO memory: the quicklist struct, and one quicklistNode.
QUICKLIST_BYTES = 48
NODE_BYTES = 32


# -- the value class -------------------------------------------------------------------------


def _limits(fill: int) -> tuple[int, int]:
    """``quicklistNodeLimit``: (byte limit or 0, count limit or 0) for a ``fill`` setting."""
    fill = max(-5, min(fill, FILL_MAX))  # quicklistSetFill
    if fill >= 0:
        return 0, (1 if fill == 0 else fill)
    return OPTIMIZATION_LEVEL[-fill - 1], 0


class ListValue:
    """A Redis list (see the module docstring). ``size_limit``/``count_limit`` are the node
    limits fixed when the list was created (``quicklistSetOptions`` at creation: a later
    CONFIG SET does not change existing lists); ``size_limit`` None means "not known yet"
    (a RESTOREd list), resolved from the config by the first write."""

    __slots__ = ("count_limit", "depth", "items", "lp_bytes", "nodes", "size_limit")

    type_name = b"list"
    wakes_blocked = True

    def __init__(self, fill: int | None = DEFAULT_FILL, depth: int = 0) -> None:
        self.items: deque[bytes] = deque()
        self.nodes: deque[list[int]] = deque()
        self.lp_bytes = 0
        self.depth = max(0, min(depth, COMPRESS_MAX))
        if fill is None:
            self.size_limit: int | None = None
            self.count_limit = 0
        else:
            self.size_limit, self.count_limit = _limits(fill)

    def set_options(self, fill: int, depth: int) -> None:
        self.size_limit, self.count_limit = _limits(fill)
        self.depth = max(0, min(depth, COMPRESS_MAX))

    # -- the value protocol ----------------------------------------------------------------

    def encoding(self) -> bytes:
        return b"quicklist"  # Redis 7.0 has no listpack-encoded lists (that came in 7.2)

    def copy(self) -> ListValue:
        """``quicklistDup``: same elements, same nodes, same options."""
        other = ListValue.__new__(ListValue)
        other.items = deque(self.items)
        other.nodes = deque([list(node) for node in self.nodes])
        other.lp_bytes = self.lp_bytes
        other.size_limit, other.count_limit, other.depth = (
            self.size_limit,
            self.count_limit,
            self.depth,
        )
        return other

    def memory_usage(self) -> int:
        return QUICKLIST_BYTES + NODE_BYTES * len(self.nodes) + self.lp_bytes

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.items)

    # -- node limits -----------------------------------------------------------------------

    def _exceeds(self, new_size: int, new_count: int) -> bool:
        """``quicklistNodeExceedsLimit``."""
        size_limit = self.size_limit
        if size_limit is None:
            size_limit, self.count_limit = _limits(DEFAULT_FILL)
            self.size_limit = size_limit
        if size_limit:
            return new_size > size_limit
        return new_size > SIZE_SAFETY_LIMIT or new_count > self.count_limit

    def _allow_insert(self, node: list[int] | None, length: int) -> bool:
        """``_quicklistNodeAllowInsert`` for an element of ``length`` bytes."""
        if node is None:
            return False
        return not self._exceeds(node[1] + length + SIZE_ESTIMATE_OVERHEAD, node[0] + 1)

    def _allow_merge(self, a: list[int] | None, b: list[int] | None) -> bool:
        """``_quicklistNodeAllowMerge``: one listpack header and terminator are saved."""
        if a is None or b is None:
            return False
        return not self._exceeds(a[1] + b[1] - MERGE_SAVING_ESTIMATE, a[0] + b[0])

    # -- pushes and pops -------------------------------------------------------------------

    def push_head(self, elem: bytes) -> None:
        """``quicklistPushHead``."""
        self.items.appendleft(elem)
        size = entry_size(elem)
        nodes = self.nodes
        if nodes and self._allow_insert(nodes[0], len(elem)):
            head = nodes[0]
            head[0] += 1
            head[1] += size
            self.lp_bytes += size
        else:
            nodes.appendleft([1, LP_EMPTY_BYTES + size])
            self.lp_bytes += LP_EMPTY_BYTES + size

    def push_tail(self, elem: bytes) -> None:
        """``quicklistPushTail``."""
        self.items.append(elem)
        size = entry_size(elem)
        nodes = self.nodes
        if nodes and self._allow_insert(nodes[-1], len(elem)):
            tail = nodes[-1]
            tail[0] += 1
            tail[1] += size
            self.lp_bytes += size
        else:
            nodes.append([1, LP_EMPTY_BYTES + size])
            self.lp_bytes += LP_EMPTY_BYTES + size

    def push(self, elem: bytes, head: bool) -> None:
        if head:
            self.push_head(elem)
        else:
            self.push_tail(elem)

    def pop(self, head: bool) -> bytes:
        """``quicklistPop`` at one end (the list must not be empty); an emptied node goes."""
        if head:
            elem = self.items.popleft()
            node = self.nodes[0]
        else:
            elem = self.items.pop()
            node = self.nodes[-1]
        node[0] -= 1
        if node[0]:
            size = entry_size(elem)
            node[1] -= size
            self.lp_bytes -= size
        else:
            self.lp_bytes -= node[1]
            if head:
                self.nodes.popleft()
            else:
                self.nodes.pop()
        return elem

    def pop_many(self, count: int, head: bool) -> list[bytes]:
        """Up to ``count`` elements from one end, in pop order (``listPopRangeAndReplyWithKey``
        followed by ``quicklistDelRange``, which drops whole nodes without listpack math)."""
        count = min(count, len(self.items))
        if count == len(self.items):
            out = list(self.items) if head else list(reversed(self.items))
            self.clear()
            return out
        items, nodes = self.items, self.nodes
        take = items.popleft if head else items.pop
        out = [take() for _ in range(count)]
        remaining = count
        position = 0
        while remaining:
            node = nodes[0] if head else nodes[-1]
            if node[0] <= remaining:
                remaining -= node[0]
                position += node[0]
                self.lp_bytes -= node[1]
                if head:
                    nodes.popleft()
                else:
                    nodes.pop()
            else:
                freed = sum(map(entry_size, out[position : position + remaining]))
                node[0] -= remaining
                node[1] -= freed
                self.lp_bytes -= freed
                remaining = 0
        return out

    def clear(self) -> None:
        self.items.clear()
        self.nodes.clear()
        self.lp_bytes = 0

    # -- reads -----------------------------------------------------------------------------

    def range(self, start: int, end: int) -> list[bytes]:
        """Elements ``start..end`` (inclusive, already clamped to the list), walking from the
        nearer end."""
        items = self.items
        n = len(items)
        if start <= n - 1 - end:
            return list(islice(items, start, end + 1))
        out = list(islice(reversed(items), n - 1 - end, n - start))
        out.reverse()
        return out

    # -- changes in the middle -------------------------------------------------------------

    def _locate(self, index: int) -> tuple[int, int]:
        """(node number, offset in that node) of the element at ``index`` (0 <= index < len)."""
        nodes = self.nodes
        if index < len(self.items) // 2:
            for number, node in enumerate(nodes):
                if index < node[0]:
                    return number, index
                index -= node[0]
        else:
            back = len(self.items) - 1 - index
            for number in range(len(nodes) - 1, -1, -1):
                count = nodes[number][0]
                if back < count:
                    return number, count - 1 - back
                back -= count
        raise IndexError(index)

    def replace(self, index: int, elem: bytes) -> None:
        """LSET: ``lpReplace`` in the element's node, whatever its new size (7.0)."""
        number, _ = self._locate(index)
        delta = entry_size(elem) - entry_size(self.items[index])
        self.nodes[number][1] += delta
        self.lp_bytes += delta
        self.items[index] = elem

    def remove_indices(self, indices: list[int], size: int) -> None:
        """Delete the elements at ``indices`` (ascending), each ``size`` bytes in its listpack
        (LREM removes equal elements), as ``quicklistDelIndex`` does: an emptied node is
        dropped, nothing is merged."""
        nodes = self.nodes
        removed = [0] * len(nodes)
        number, node_end = 0, nodes[0][0]
        for index in indices:
            while index >= node_end:
                number += 1
                node_end += nodes[number][0]
            removed[number] += 1
        kept: deque[list[int]] = deque()
        for node, gone in zip(nodes, removed, strict=True):
            if gone == node[0]:
                self.lp_bytes -= node[1]
            else:
                kept.append([node[0] - gone, node[1] - gone * size])
                self.lp_bytes -= gone * size
        self.nodes = kept
        skip = set(indices)
        self.items = deque([e for i, e in enumerate(self.items) if i not in skip])

    def trim(self, left: int, right: int) -> None:
        """LTRIM: drop ``left`` elements at the head and ``right`` at the tail
        (``quicklistDelRange`` twice)."""
        if left:
            self.pop_many(left, head=True)
        if right:
            self.pop_many(right, head=False)

    def insert(self, index: int, elem: bytes, after: bool) -> None:
        """LINSERT next to the element at ``index``: ``_quicklistInsert``'s cases (room in the
        node; the neighbour node at an edge; a new node at an edge; else split and merge)."""
        nodes = self.nodes
        number, offset = self._locate(index)
        node = nodes[number]
        length, size = len(elem), entry_size(elem)
        full = not self._allow_insert(node, length)
        at_tail = after and offset == node[0] - 1
        at_head = not after and offset == 0
        neighbour = None
        if at_tail and number + 1 < len(nodes):
            neighbour = nodes[number + 1]
        elif at_head and number > 0:
            neighbour = nodes[number - 1]
        available = (at_tail or at_head) and self._allow_insert(neighbour, length)
        self.items.insert(index + 1 if after else index, elem)
        self.lp_bytes += size
        if not full:
            node[0] += 1
            node[1] += size
        elif available:
            neighbour[0] += 1  # type: ignore[index]
            neighbour[1] += size  # type: ignore[index]
        elif at_tail or at_head:
            nodes.insert(number + 1 if after else number, [1, LP_EMPTY_BYTES + size])
            self.lp_bytes += LP_EMPTY_BYTES
        else:
            self._split_insert(number, index - offset, offset, size, after)

    def _split_insert(self, number: int, start: int, offset: int, size: int, after: bool) -> None:
        """``_quicklistSplitNode`` + the new element + ``_quicklistMergeNodes(node)``. ``items``
        already holds the new element; ``start`` is the node's first index."""
        nodes = self.nodes
        node = nodes[number]
        count = node[0]
        if after:
            kept = offset + 1  # the node keeps [0, offset]; the new node takes the rest
            moved = list(islice(self.items, start + kept + 1, start + count + 1))
        else:
            kept = count - offset  # the node keeps [offset, end]; the new node takes [0, offset)
            moved = list(islice(self.items, start, start + offset))
        moved_size = sum(map(entry_size, moved))
        node[0] = kept
        node[1] -= moved_size
        new_node = [len(moved) + 1, LP_EMPTY_BYTES + moved_size + size]
        self.lp_bytes += LP_EMPTY_BYTES
        nodes.insert(number + 1 if after else number, new_node)
        self._merge_around(node)

    def _merge_around(self, center: list[int]) -> None:
        """``_quicklistMergeNodes``: (prev_prev, prev), (next, next_next), (prev, center), then
        (center or its merge, next)."""
        nodes = self.nodes

        def at(i: int) -> list[int] | None:
            return nodes[i] if 0 <= i < len(nodes) else None

        def position(node: list[int]) -> int:
            for i, candidate in enumerate(nodes):
                if candidate is node:
                    return i
            raise ValueError("node not found")

        i = position(center)
        if self._allow_merge(at(i - 1), at(i - 2)):
            self._merge(i - 2)
            i -= 1
        if self._allow_merge(at(i + 1), at(i + 2)):
            self._merge(i + 1)
        if self._allow_merge(center, at(i - 1)):
            self._merge(i - 1)
            i -= 1
        if self._allow_merge(at(i), at(i + 1)):
            self._merge(i)

    def _merge(self, left: int) -> None:
        """Merge node ``left + 1`` into node ``left`` (``lpMerge``)."""
        nodes = self.nodes
        a, b = nodes[left], nodes[left + 1]
        a[0] += b[0]
        a[1] += b[1] - LP_EMPTY_BYTES
        self.lp_bytes -= LP_EMPTY_BYTES
        del nodes[left + 1]

    # -- building from elements ------------------------------------------------------------

    @classmethod
    def from_nodes(cls, node_elements: list[list[bytes]]) -> ListValue:
        """A list with exactly these nodes (RESTORE of a quicklist payload)."""
        value = cls(fill=None)
        for elements in node_elements:
            if not elements:
                continue  # Redis silently skips empty listpacks
            size = LP_EMPTY_BYTES + sum(map(entry_size, elements))
            value.items.extend(elements)
            value.nodes.append([len(elements), size])
            value.lp_bytes += size
        return value

    def node_elements(self) -> Iterator[list[bytes]]:
        iterator = iter(self.items)
        for count, _ in self.nodes:
            yield list(islice(iterator, count))


# -- DUMP / RESTORE --------------------------------------------------------------------------


def encode_rdb(value: object, compress: bool) -> bytes:
    """``rdbSaveObject`` for a quicklist (RDB_TYPE_LIST_QUICKLIST_2): the node count, then per
    node its container and its listpack, LZF-compressed in memory for interior nodes when
    ``list-compress-depth`` is set, else as ``rdbSaveRawString`` writes it."""
    assert isinstance(value, ListValue)
    nodes = value.nodes
    total = len(nodes)
    depth = value.depth
    parts = [rdb.encode_length(total)]
    for number, elements in enumerate(value.node_elements()):
        parts.append(rdb.encode_length(CONTAINER_PACKED))
        lp = build_listpack(elements)
        interior = depth and total >= 2 * depth and depth <= number < total - depth
        packed = _compress_node(lp) if interior else None
        if packed is not None:
            parts.append(
                b"\xc3" + rdb.encode_length(len(packed)) + rdb.encode_length(len(lp)) + packed
            )
        else:
            parts.append(rdb.encode_string(lp, compress))
    return b"".join(parts)


def _compress_node(lp: bytes) -> bytes | None:
    """``__quicklistCompressNode``: LZF if the node is 48+ bytes and it saves 8+ bytes."""
    if len(lp) < MIN_COMPRESS_BYTES:
        return None
    packed = rdb.lzf_compress(lp, len(lp))
    if not packed or len(packed) + MIN_COMPRESS_IMPROVE >= len(lp):
        return None
    return packed


def _decode_quicklist(reader: rdb.Reader, ziplist_nodes: bool) -> ListValue:
    count, _ = reader.read_length()
    node_elements = []
    for _ in range(count):
        if not ziplist_nodes:
            container, _ = reader.read_length()
            if container not in (CONTAINER_PLAIN, CONTAINER_PACKED):
                raise rdb.RdbError("quicklist integrity check failed")
        else:
            container = CONTAINER_PACKED
        blob = reader.read_string()
        if not blob:
            raise rdb.RdbError("empty quicklist node")
        if container == CONTAINER_PLAIN:
            node_elements.append([blob])
        elif ziplist_nodes:
            node_elements.append(decode_ziplist(blob))
        else:
            node_elements.append(decode_listpack(blob))
    value = ListValue.from_nodes(node_elements)
    if not value.items:
        raise rdb.RdbError("empty list")
    return value


def decode_quicklist2(reader: rdb.Reader) -> object:
    return _decode_quicklist(reader, ziplist_nodes=False)


def decode_quicklist1(reader: rdb.Reader) -> object:
    return _decode_quicklist(reader, ziplist_nodes=True)


def _pushed(elements: list[bytes]) -> ListValue:
    """Old encodings are rebuilt by pushing at the tail, as Redis loads them."""
    if not elements:
        raise rdb.RdbError("empty list")
    value = ListValue(fill=None)
    for elem in elements:
        value.push_tail(elem)
    return value


def decode_ziplist_list(reader: rdb.Reader) -> object:
    return _pushed(decode_ziplist(reader.read_string()))


def decode_linked_list(reader: rdb.Reader) -> object:
    count, _ = reader.read_length()
    return _pushed([reader.read_string() for _ in range(count)])


rdb.register_type(ListValue, RDB_TYPE_LIST_QUICKLIST_2, encode_rdb, decode_quicklist2)
rdb.register_decoder(RDB_TYPE_LIST_QUICKLIST, decode_quicklist1)
rdb.register_decoder(RDB_TYPE_LIST_ZIPLIST, decode_ziplist_list)
rdb.register_decoder(RDB_TYPE_LIST, decode_linked_list)
