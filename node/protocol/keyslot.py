"""Cluster hash slots: CRC16-XMODEM of the key (or of its ``{hashtag}``) modulo 16384."""

from __future__ import annotations

import crcmod.predefined

SLOT_COUNT = 16384

_crc16 = crcmod.predefined.mkPredefinedCrcFun("xmodem")


def hash_tag(key: bytes) -> bytes:
    """The bytes that decide the slot: between the first ``{`` and the first ``}`` after it, when
    that is non-empty; otherwise the whole key (Redis's ``keyHashSlot``)."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            return key[start + 1 : end]
    return key


def key_slot(key: bytes) -> int:
    if b"{" in key:
        key = hash_tag(key)
    return _crc16(key) & 0x3FFF
