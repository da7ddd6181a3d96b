"""Hash slots: CRC16-XMODEM % 16384 with Redis's {hashtag} rule, through crcmod's C routine."""

from __future__ import annotations

import random

import crcmod.predefined

from node.protocol.keyslot import hash_tag, key_slot

REFERENCE = crcmod.predefined.mkPredefinedCrcFun("xmodem")


def test_known_slots_from_redis():
    assert key_slot(b"foo") == 12182
    assert key_slot(b"{user1000}.following") == key_slot(b"{user1000}.followers") == 3443
    assert key_slot(b"") == 0
    assert key_slot(b"{}foo") == REFERENCE(b"{}foo") & 0x3FFF  # an empty tag: the whole key


def test_the_direct_routine_matches_crcmods_public_function():
    rng = random.Random(7)
    for _ in range(5000):
        key = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 48)))
        assert key_slot(key) == REFERENCE(hash_tag(key)) & 0x3FFF
