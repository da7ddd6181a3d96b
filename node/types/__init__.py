"""Data types beyond strings: one module per type, holding its value class and its commands.

A value class follows this protocol (strings are plain ``bytes``/``bytearray`` instead):

- ``type_name``: ``b"hash"``, ``b"list"``, ``b"set"``, ``b"zset"`` (TYPE, SCAN TYPE, WRONGTYPE).
- ``encoding() -> bytes``: what OBJECT ENCODING says, following Redis 7.0's thresholds
  (``hash-max-listpack-entries`` ...) read from the node's config when the value changes.
- ``copy()``: an independent deep copy (COPY, RESTORE of a DUMPed value).
- ``memory_usage() -> int``: an estimate for INFO memory.
- ``wakes_blocked``: True for lists and sorted sets, whose writes wake blocked clients.
- Collections iterate their elements (lists, sets) or offer ``items()`` (hashes: field, value;
  sorted sets: member, score) for DEBUG DIGEST-VALUE.

Handlers keep the keyspace right through ``Database``: ``set`` for a new key, ``modified(key,
size_delta)`` after changing a value in place (WATCH, blocked clients, memory estimate), and
``delete`` when a collection becomes empty (Redis never keeps empty collections).
"""
