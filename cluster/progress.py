"""A one-line progress display for slot moves: slots and keys done, keys per second, time left.

On a terminal the line is redrawn in place (at most 10 times a second); otherwise a line is
printed every few seconds, so logs of CI runs stay short. No dependency beyond the stdlib.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    def __init__(
        self, total_slots: int, out: TextIO | None = None, quiet: bool = False, width: int = 24
    ) -> None:
        self.total_slots = total_slots
        self.out = out or sys.stderr
        self.quiet = quiet
        self.width = width
        self.slots = 0
        self.keys = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._tty = bool(getattr(self.out, "isatty", lambda: False)())
        self._interval = 0.1 if self._tty else 5.0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def keys_per_second(self) -> float:
        elapsed = self.elapsed
        return self.keys / elapsed if elapsed > 0 else 0.0

    def on_keys(self, count: int) -> None:
        self.keys += count
        self._maybe_draw()

    def on_slot(self, _slot: int) -> None:
        self.slots += 1
        self._maybe_draw()

    def line(self) -> str:
        done = self.slots / self.total_slots if self.total_slots else 1.0
        filled = int(done * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        left = self.elapsed / done - self.elapsed if done > 0 else 0.0
        return (
            f"[{bar}] {self.slots}/{self.total_slots} slots  {self.keys} keys  "
            f"{self.keys_per_second:,.0f} keys/s  {_clock(self.elapsed)} elapsed  "
            f"{_clock(left)} left"
        )

    def _maybe_draw(self) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if now - self._last_draw < self._interval and self.slots < self.total_slots:
            return
        self._last_draw = now
        if self._tty:
            self.out.write("\r\x1b[2K" + self.line())
        else:
            self.out.write(self.line() + "\n")
        self.out.flush()

    def finish(self) -> str:
        """End the display; returns the summary line."""
        if self._tty and not self.quiet:
            self.out.write("\n")
            self.out.flush()
        return (
            f"Moved {self.slots} slots and {self.keys} keys in {self.elapsed:.2f} s "
            f"({self.keys_per_second:,.0f} keys/s)"
        )
