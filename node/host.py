"""The few facts about the host process that INFO shows, and the config-file I/O of CONFIG REWRITE.

Command handlers are pure, so everything here sits behind one small object on ``NodeState.host``:
``Host.real()`` asks the operating system (``/proc/self/statm``, ``os.times``, the file system),
``Host.fixed()`` returns constants so unit tests and simulations stay deterministic.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field


def _read_rss_bytes() -> int:
    """Resident set size, as Redis's ``zmalloc_get_rss`` reads it on Linux."""
    try:
        with open("/proc/self/statm", "rb") as f:
            fields = f.read().split()
        return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _cpu_times() -> tuple[float, float, float, float]:
    """(sys, user, children sys, children user) CPU seconds, like ``getrusage`` in INFO cpu."""
    t = os.times()
    return t.system, t.user, t.children_system, t.children_user


def _total_system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return 0


def _read_text(path: str) -> str | None:
    """A config file's text, or None if it does not exist (other errors propagate)."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except FileNotFoundError:
        return None


def _write_text(path: str, text: str) -> None:
    """Overwrite ``path`` in place and fsync it (``rewriteConfigOverwriteFile``)."""
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


@dataclass
class Host:
    pid: int
    os_name: str
    executable: str
    total_system_memory: int
    rss_bytes: Callable[[], int] = field(default=lambda: 0)
    cpu_times: Callable[[], tuple[float, float, float, float]] = field(
        default=lambda: (0.0, 0.0, 0.0, 0.0)
    )
    read_text: Callable[[str], str | None] = field(default=lambda path: None)
    write_text: Callable[[str, str], None] = field(default=lambda path, text: None)

    @classmethod
    def real(cls) -> Host:
        uname = platform.uname()
        argv0 = sys.argv[0] if sys.argv and sys.argv[0] else sys.executable
        return cls(
            pid=os.getpid(),
            os_name=f"{uname.system} {uname.release} {uname.machine}",
            executable=os.path.abspath(argv0),
            total_system_memory=_total_system_memory(),
            rss_bytes=_read_rss_bytes,
            cpu_times=_cpu_times,
            read_text=_read_text,
            write_text=_write_text,
        )

    @classmethod
    def fixed(cls, files: dict[str, str] | None = None) -> Host:
        """Deterministic facts; config files live in the ``files`` dict (for unit tests)."""
        store = files if files is not None else {}
        return cls(
            pid=1,
            os_name="Linux 0.0.0 x86_64",
            executable="/usr/local/bin/rcsim-node",
            total_system_memory=8 * 1024**3,
            read_text=store.get,
            write_text=store.__setitem__,
        )
