"""The host facts INFO shows, read from the operating system (``real_host``) or made up for a
node in a simulation (``virtual_host``). ``node.host.Host`` is the pure data class cores read;
config-file I/O (CONFIG REWRITE) goes through the runtime's storage."""

from __future__ import annotations

import os
import platform
import sys

from node.host import Host
from node.runtime.storage import DiskStorage, MemoryStorage


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


def real_host(storage: DiskStorage | MemoryStorage | None = None) -> Host:
    """This process: pid, OS, executable, RSS and CPU times; config files via ``storage``."""
    files = storage if storage is not None else DiskStorage()
    uname = platform.uname()
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else sys.executable
    return Host(
        pid=os.getpid(),
        os_name=f"{uname.system} {uname.release} {uname.machine}",
        executable=os.path.abspath(argv0),
        total_system_memory=_total_system_memory(),
        rss_bytes=_read_rss_bytes,
        cpu_times=_cpu_times,
        read_text=files.read_text,
        write_text=files.write_text,
    )


def virtual_host(storage: DiskStorage | MemoryStorage, pid: int = 1) -> Host:
    """``Host.fixed()``'s constant facts, with config files in ``storage``."""
    host = Host.fixed()
    host.pid = pid
    host.read_text = storage.read_text  # type: ignore[assignment]
    host.write_text = storage.write_text  # type: ignore[assignment]
    return host
