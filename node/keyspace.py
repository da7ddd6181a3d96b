"""One logical database: keys, values, expiry, a per-slot key index and WATCH bookkeeping.

Theory of operation
-------------------
* ``data`` maps key -> value. Strings are ``bytes`` (``bytearray`` once APPEND/SETRANGE mutate them,
  which is also what makes OBJECT ENCODING say ``raw``); other types are objects with a
  ``type_name`` attribute (see ``node.types``).
* ``expires`` maps key -> absolute unix time in ms. Expiry is lazy (every lookup checks it) and
  active: ``active_expire_cycle`` samples keys with a TTL, like Redis's ``activeExpireCycle``,
  bounded by a number of keys per call (cores never read a clock, so the budget is a count).
* ``_slot_keys[slot]`` is the set of keys in each of the 16,384 cluster slots, so
  COUNTKEYSINSLOT / GETKEYSINSLOT are O(keys in slot) and SCAN can use the slot as its cursor:
  a whole slot is returned at once, so a key present for a whole scan is always returned,
  whatever is inserted or deleted meanwhile (Redis's SCAN guarantee).
* ``watchers`` maps a watched key to the sessions watching it; every write calls ``touch`` so
  their EXEC fails, as Redis's ``signalModifiedKey``/``touchWatchedKey`` do.
* ``access`` maps key -> unix second of its last access, for OBJECT IDLETIME (Redis keeps a
  24-bit LRU clock in seconds inside every object; a Python ``bytes`` value has no room for it).
  ``lookup`` and ``set`` record it, ``peek`` does not (Redis's ``LOOKUP_NOTOUCH``: TYPE, TTL,
  EXISTS, OBJECT). Memory: one dict entry per key (~40 bytes at 1M keys) and no int object per
  key, because all keys touched in the same second share one interned int (``access_clock_s``).
"""

from __future__ import annotations

import builtins
import random
from collections.abc import Callable, Iterator

from node.protocol.keyslot import SLOT_COUNT, key_slot

ACTIVE_EXPIRE_KEYS_PER_LOOP = 20
ACTIVE_EXPIRE_ACCEPTABLE_STALE_PERCENT = 10
ACTIVE_EXPIRE_MAX_KEYS_PER_CYCLE = 2000
SCAN_MIN_SLOTS_PER_CALL = 1024

# Approximate per-key overheads (dict entry, key object, value header) for INFO memory figures.
KEY_OVERHEAD_BYTES = 96


def value_size(value: object) -> int:
    """An estimate of the memory a value uses (strings exactly, containers via their own hook)."""
    if type(value) is bytes or type(value) is bytearray:
        return len(value)
    estimate: Callable[[], int] | None = getattr(value, "memory_usage", None)
    return estimate() if estimate else 64


class Database:
    __slots__ = (
        "_slot_keys",
        "_ttl_keys",
        "_ttl_pos",
        "access",
        "access_clock_ms",
        "access_clock_s",
        "blocking",
        "blocking_keys",
        "clock",
        "data",
        "expire_guard",
        "expires",
        "id",
        "on_expired",
        "used_bytes",
        "watchers",
    )

    def __init__(self, db_id: int) -> None:
        self.id = db_id
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}
        self._slot_keys: list[set[bytes] | None] = [None] * SLOT_COUNT
        self._ttl_keys: list[bytes] = []
        self._ttl_pos: dict[bytes, int] = {}
        self.watchers: dict[bytes, set] = {}
        self.used_bytes = 0
        self.access: dict[bytes, int] = {}
        self.access_clock_ms = -1
        self.access_clock_s = -1
        # Anything with a ``now_ms`` (the NodeState): where ``set`` reads the time of a write.
        self.clock: object | None = None
        # Called with (db, key) when a key expires, so replication/AOF can emit a DEL later on.
        self.on_expired: Callable[[Database, bytes], None] | None = None
        # On a replica (set by node.replication): called instead of deleting a key past its
        # time; True reports it missing, False serves it (commands from the master).
        self.expire_guard: Callable[[], bool] | None = None
        # Keys some client is blocked on (BLPOP...), and the node's BlockingState to tell when
        # one of them gets a value that wakes waiters (lists and sorted sets, as in Redis 7.0).
        self.blocking_keys: set[bytes] = set()
        self.blocking: object | None = None

    # -- reads ---------------------------------------------------------------------------

    def lookup(self, key: bytes, now_ms: int) -> object | None:
        """The live value of ``key`` or None, expiring it first if its time has come; records
        the access for OBJECT IDLETIME (Redis's ``lookupKey`` updating the object's LRU).
        A key expires once ``now_ms`` is *past* its time, as in Redis's ``keyIsExpired``."""
        if (
            self.expires
            and key in self.expires
            and self.expires[key] < now_ms
            and self._expire(key)
        ):
            return None
        value = self.data.get(key)
        if value is not None:
            if now_ms is not self.access_clock_ms:
                self.tick_access_clock(now_ms)
            self.access[key] = self.access_clock_s
        return value

    def peek(self, key: bytes, now_ms: int) -> object | None:
        """``lookup`` without recording an access (Redis's ``LOOKUP_NOTOUCH``)."""
        if (
            self.expires
            and key in self.expires
            and self.expires[key] < now_ms
            and self._expire(key)
        ):
            return None
        return self.data.get(key)

    def exists(self, key: bytes, now_ms: int) -> bool:
        return self.peek(key, now_ms) is not None

    def last_access_s(self, key: bytes, now_ms: int) -> int:
        """Unix second of the last access to ``key`` (now, if never recorded)."""
        return self.access.get(key, now_ms // 1000)

    def tick_access_clock(self, now_ms: int) -> None:
        """Advance the access clock: one shared int object per second, not one per key."""
        self.access_clock_ms = now_ms
        seconds = now_ms // 1000
        if seconds != self.access_clock_s:
            self.access_clock_s = seconds

    def ttl_ms(self, key: bytes) -> int | None:
        return self.expires.get(key)

    def __len__(self) -> int:
        return len(self.data)

    # -- writes --------------------------------------------------------------------------

    def set(self, key: bytes, value: object, keep_ttl: bool = False) -> None:
        """Store ``value``; like Redis's ``setKey`` this clears the TTL unless ``keep_ttl``.
        The key's access time becomes ``clock.now_ms`` (unknown without a clock: idle 0)."""
        data = self.data
        old = data.get(key)
        # value_size inlined for strings: set() is on every write's path.
        size = len(value) if type(value) is bytes else value_size(value)
        if old is None:
            slot = key_slot(key)
            members = self._slot_keys[slot]
            if members is None:
                members = self._slot_keys[slot] = set()
            members.add(key)
            self.used_bytes += KEY_OVERHEAD_BYTES + len(key) + size
        else:
            self.used_bytes += size - (len(old) if type(old) is bytes else value_size(old))
            if not keep_ttl and self.expires and key in self.expires:
                self._drop_ttl(key)
        data[key] = value
        clock = self.clock
        if clock is not None:
            now_ms: int = clock.now_ms  # type: ignore[attr-defined]
            if now_ms is not self.access_clock_ms:
                self.tick_access_clock(now_ms)
            self.access[key] = self.access_clock_s
        elif self.access:
            self.access.pop(key, None)
        if self.watchers:
            self.touch(key)
        if self.blocking_keys and key in self.blocking_keys:
            self._signal_ready(key, value)

    def modified(self, key: bytes, size_delta: int = 0) -> None:
        """A value changed in place (LPUSH onto a list, SADD...): invalidate WATCHes, wake
        clients blocked on the key (Redis's ``signalModifiedKey`` + ``signalKeyAsReady``) and
        adjust the memory estimate by ``size_delta`` bytes."""
        self.used_bytes += size_delta
        if self.watchers:
            self.touch(key)
        if self.blocking_keys and key in self.blocking_keys:
            self._signal_ready(key, self.data.get(key))

    def _signal_ready(self, key: bytes, value: object) -> None:
        if getattr(value, "wakes_blocked", False) and self.blocking is not None:
            self.blocking.signal_ready(self, key)  # type: ignore[attr-defined]

    def set_many(self, argv: list[bytes], now_ms: int) -> None:
        """MSET: ``set`` for each ``argv[i], argv[i + 1]`` pair from index 1, with the
        invariant work hoisted out of the loop (MSET of 10 keys is a benchmark staple)."""
        data = self.data
        slot_keys = self._slot_keys
        access = self.access
        if self.clock is not None:
            if now_ms is not self.access_clock_ms:
                self.tick_access_clock(now_ms)
            stamp = self.access_clock_s
        used = 0
        for i in range(1, len(argv), 2):
            key = argv[i]
            value = argv[i + 1]
            if self.expires and key in self.expires:
                self.lookup(key, now_ms)  # expire a due key first, as setKey's lookup does
                if key in self.expires:
                    self._drop_ttl(key)
            old = data.get(key)
            if old is None:
                members = slot_keys[key_slot(key)]
                if members is None:
                    members = slot_keys[key_slot(key)] = set()
                members.add(key)
                used += KEY_OVERHEAD_BYTES + len(key) + len(value)
            else:
                used += len(value) - (len(old) if type(old) is bytes else value_size(old))
            data[key] = value
            if self.clock is not None:
                access[key] = stamp
        self.used_bytes += used
        if self.watchers:
            for i in range(1, len(argv), 2):
                self.touch(argv[i])

    def replace_value(self, key: bytes, value: object) -> None:
        """Swap the value of an existing key in place (TTL kept), e.g. after INCR or APPEND."""
        old = self.data[key]
        if type(value) is bytes and type(old) is bytes:
            self.used_bytes += len(value) - len(old)
        else:
            self.used_bytes += value_size(value) - value_size(old)
        self.data[key] = value
        if self.watchers:
            self.touch(key)

    def delete(self, key: bytes) -> bool:
        value = self.data.pop(key, None)
        if value is None:
            return False
        self.used_bytes -= KEY_OVERHEAD_BYTES + len(key) + value_size(value)
        members = self._slot_keys[key_slot(key)]
        if members is not None:
            members.discard(key)
        self.access.pop(key, None)
        if self.expires and key in self.expires:
            self._drop_ttl(key)
        if self.watchers:
            self.touch(key)
        return True

    def set_expire(self, key: bytes, when_ms: int) -> None:
        if key not in self.expires:
            self._ttl_pos[key] = len(self._ttl_keys)
            self._ttl_keys.append(key)
        self.expires[key] = when_ms
        if self.watchers:
            self.touch(key)

    def persist(self, key: bytes) -> bool:
        if key in self.expires:
            self._drop_ttl(key)
            if self.watchers:
                self.touch(key)
            return True
        return False

    def flush(self) -> None:
        if self.watchers:
            self.touch_all_watched_keys(None, 0)
        self.data = {}
        self.expires = {}
        self._slot_keys = [None] * SLOT_COUNT
        self._ttl_keys = []
        self._ttl_pos = {}
        self.used_bytes = 0
        self.access = {}

    def touch(self, key: bytes) -> None:
        """Invalidate every WATCH on ``key``: the watching sessions' EXEC will fail (Redis's
        ``touchWatchedKey``; ``Session.watched_key_changed`` has the already-expired cases)."""
        sessions = self.watchers.get(key)
        if sessions:
            exists = key in self.data
            for session in sessions:
                session.watched_key_changed(self, key, True, exists, False)

    def touch_all_watched_keys(self, replaced_with: Database | None, now_ms: int) -> None:
        """Redis's ``touchAllWatchedKeysInDb``: this db is about to be emptied (FLUSHDB,
        FLUSHALL) or to take ``replaced_with``'s contents (SWAPDB); invalidate the WATCHes of
        keys present before or after."""
        for key, sessions in list(self.watchers.items()):
            existed = key in self.data
            exists = replaced_with is not None and key in replaced_with.data
            if existed or exists:
                when = replaced_with.expires.get(key) if exists else None  # type: ignore[union-attr]
                expired = when is not None and now_ms > when
                for session in list(sessions):
                    session.watched_key_changed(self, key, existed, exists, expired)

    def swap_contents(self, other: Database, now_ms: int = 0) -> None:
        """SWAPDB: exchange data with ``other``; watchers stay with their db number and their
        WATCHes are invalidated first, as in Redis's ``dbSwapDatabases``."""
        if self.watchers:
            self.touch_all_watched_keys(other, now_ms)
        if other.watchers:
            other.touch_all_watched_keys(self, now_ms)
        for name in (
            "data",
            "expires",
            "_slot_keys",
            "_ttl_keys",
            "_ttl_pos",
            "used_bytes",
            "access",
        ):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, theirs)
            setattr(other, name, mine)
        # Clients blocked in either database may find their keys now (scanDatabaseForReadyKeys).
        for db in (self, other):
            for key in list(db.blocking_keys):
                if key in db.data:
                    db._signal_ready(key, db.data[key])

    # -- expiry --------------------------------------------------------------------------

    def _drop_ttl(self, key: bytes) -> None:
        del self.expires[key]
        pos = self._ttl_pos.pop(key)
        last = self._ttl_keys.pop()
        if last != key:
            self._ttl_keys[pos] = last
            self._ttl_pos[last] = pos

    def _expire(self, key: bytes) -> bool:
        """Delete a key past its time; True (report it missing) unless a replica's
        ``expire_guard`` keeps it (Redis 7's expireIfNeeded)."""
        if self.expire_guard is not None:
            return self.expire_guard()
        self.delete(key)
        if self.on_expired is not None:
            self.on_expired(self, key)
        return True

    def active_expire_cycle(self, now_ms: int, rng: random.Random) -> int:
        """Sample keys with a TTL and delete the expired ones; repeat while more than 10% of a
        sample was stale, up to ``ACTIVE_EXPIRE_MAX_KEYS_PER_CYCLE`` keys. Returns keys expired."""
        expired = checked = 0
        while self._ttl_keys and checked < ACTIVE_EXPIRE_MAX_KEYS_PER_CYCLE:
            sample = min(ACTIVE_EXPIRE_KEYS_PER_LOOP, len(self._ttl_keys))
            stale = 0
            for _ in range(sample):
                if not self._ttl_keys:
                    break
                key = self._ttl_keys[rng.randrange(len(self._ttl_keys))]
                if self.expires[key] < now_ms:
                    if not self._expire(key):
                        return expired  # a replica keeps its keys until the master's DEL
                    stale += 1
            checked += sample
            expired += stale
            if stale * 100 <= sample * ACTIVE_EXPIRE_ACCEPTABLE_STALE_PERCENT:
                break
        return expired

    # -- slots, scan, sampling -----------------------------------------------------------

    # ``builtins.set``: in the class body ``set`` names the method above.
    def keys_in_slot(self, slot: int) -> builtins.set[bytes]:
        return self._slot_keys[slot] or set()

    def count_keys_in_slot(self, slot: int) -> int:
        members = self._slot_keys[slot]
        return len(members) if members else 0

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """Return whole slots, starting at slot ``cursor``, until at least ``count`` keys are
        collected. The next cursor is the next slot to visit, or 0 when done."""
        if not self.data:
            return 0, []
        keys: list[bytes] = []
        slot_keys = self._slot_keys
        slot = cursor
        # Redis bounds the empty buckets one call visits (10*COUNT); visiting at least
        # SCAN_MIN_SLOTS_PER_CALL lets a sparse keyspace finish in a few calls.
        end = min(SLOT_COUNT, cursor + max(count * 10, SCAN_MIN_SLOTS_PER_CALL))
        while slot < end and len(keys) < count:
            members = slot_keys[slot]
            if members:
                keys.extend(members)
            slot += 1
        return (slot if slot < SLOT_COUNT else 0), keys

    def random_key(self, rng: random.Random, now_ms: int) -> bytes | None:
        """A random live key. Like Redis, gives up on expired picks after a bounded number of tries."""
        data = self.data
        for _ in range(100):
            if not data:
                return None
            # dict has no O(1) random access; sample a non-empty slot, then a key within it.
            key = self._random_key_fast(rng)
            if self.peek(key, now_ms) is not None:
                return key
        return None

    def _random_key_fast(self, rng: random.Random) -> bytes:
        if len(self.data) < 64:
            return rng.choice(list(self.data))
        slot_keys = self._slot_keys
        while True:
            members = slot_keys[rng.randrange(SLOT_COUNT)]
            if members:
                return rng.choice(tuple(members))

    def iter_keys(self) -> Iterator[bytes]:
        return iter(list(self.data))
