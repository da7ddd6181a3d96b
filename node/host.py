"""The few facts about the host process that INFO shows, and the config-file I/O of CONFIG REWRITE.

Command handlers are pure, so everything here sits behind one small object on ``NodeState.host``.
This module is pure data: ``Host.fixed()`` returns constants so unit tests and simulations stay
deterministic; the facts of a real process are read by the runtime
(``node.runtime.host.real_host``), which drivers install on the node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


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
