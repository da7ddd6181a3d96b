"""Clocks: the only place drivers read the time from.

Two readings, as Redis keeps them: ``wall_ms()`` is unix milliseconds (what EXPIREAT, TIME and
CLUSTER NODES show clients, and what cores get as ``now_ms``); ``monotonic_ns()`` measures
durations (SLOWLOG, commandstats, LATENCY, a busy script's run time). ``monotonic()`` is the same
in float seconds for deadlines of blocking I/O (MIGRATE's sockets).

``RealClock`` is the process's clock. Its ``monotonic_ns`` is the builtin
``time.perf_counter_ns`` itself (an instance attribute, not a method): the client loop calls it
twice per command, and a builtin keeps that off the profile.

``TrioClock`` is trio's clock, so the same drivers run in virtual time under
``trio.testing.MockClock``: wall time is a fixed epoch plus ``trio.current_time()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import trio

# 2026-01-01T00:00:00Z: the wall time a virtual run starts at (a plausible date keeps
# EXPIREAT/TIME replies and nodes.conf looking like a real node's).
VIRTUAL_EPOCH_MS = 1_767_225_600_000


class Clock(Protocol):
    wall_ms: Callable[[], int]
    monotonic_ns: Callable[[], int]
    monotonic: Callable[[], float]

    def monotonic_us(self) -> int: ...

    def block(self, seconds: float) -> None:
        """Block the whole node for ``seconds`` (DEBUG SLEEP), as Redis blocks its event loop."""
        ...


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _monotonic_us() -> int:
    return time.perf_counter_ns() // 1000


class RealClock:
    """The operating system's clocks (builtins on the hot path)."""

    def __init__(self) -> None:
        self.wall_ms: Callable[[], int] = _wall_ms
        self.monotonic_ns: Callable[[], int] = time.perf_counter_ns
        self.monotonic: Callable[[], float] = time.monotonic
        self.monotonic_us: Callable[[], int] = _monotonic_us

    def block(self, seconds: float) -> None:
        time.sleep(seconds)


class TrioClock:
    """trio's clock: virtual under ``MockClock``. Readable only inside ``trio.run``.

    ``block`` cannot stop one node while the others of the same run go on; with the run's
    ``MockClock`` given it jumps virtual time (every node sees the time pass), else it is a
    no-op: a blocking sleep would freeze the whole simulation in real time for nothing."""

    def __init__(self, epoch_ms: int = VIRTUAL_EPOCH_MS, mock: object | None = None) -> None:
        self.epoch_ms = epoch_ms
        self.mock = mock

    def wall_ms(self) -> int:
        return self.epoch_ms + int(trio.current_time() * 1000)

    def monotonic_ns(self) -> int:
        return int(trio.current_time() * 1_000_000_000)

    def monotonic_us(self) -> int:
        return int(trio.current_time() * 1_000_000)

    def monotonic(self) -> float:
        return trio.current_time()

    def block(self, seconds: float) -> None:
        jump = getattr(self.mock, "jump", None)
        if jump is not None and seconds > 0:
            jump(seconds)
