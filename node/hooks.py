"""The ordered hooks around the one invocation function (``node.invoke.invoke``).

Redis's ``call()`` has fixed steps around the handler; rcsim makes them a list a layer can plug
into without the invocation function knowing it: *before* hooks run ahead of the handler (fault
injection, ACL, OOM checks) and may answer instead of it; *after* hooks see the reply (replication
feed, AOF, keyspace notifications, MONITOR). Hooks are registered by name once, when the node is
assembled, and switched on and off as the node's state changes (a replica attaches, a client
runs MONITOR), so an unused hook costs nothing: while none is enabled the invocation function
pays one branch (``NodeState.hooked``) for all of them.

A before hook is ``hook(session, command, argv, flags) -> reply | None`` (None: carry on); an
after hook is ``hook(session, command, argv, reply, flags) -> None``. ``flags`` are the
``CALL_*`` bits below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# How a command reached the invocation function (Redis's CMD_CALL_* flags, rcsim's meaning).
CALL_NESTED = 1  # inside EXEC or a script: the outermost command propagates the effects
CALL_RETRY = 2  # a blocked client served again: not another call (no stats, no MONITOR)
CALL_SCRIPT = 4  # from a script's redis.call / redis.pcall
CALL_FAILED = 8  # given to after hooks: the handler raised an error (or a before hook answered)

BeforeHook = Callable[..., object]
AfterHook = Callable[..., None]


@dataclass(slots=True)
class _Registered:
    name: str
    stage: str  # "before" | "after"
    order: int
    hook: Callable[..., object]
    enabled: bool


class Hooks:
    """Named hooks in a fixed order; ``before`` and ``after`` list only the enabled ones."""

    __slots__ = ("_on_change", "_registered", "after", "before")

    def __init__(self, on_change: Callable[[bool], None] | None = None) -> None:
        self._registered: dict[str, _Registered] = {}
        self.before: list[BeforeHook] = []
        self.after: list[AfterHook] = []
        # Told whether any hook is enabled after every change (NodeState.hooked: the one
        # branch the invocation function's hot path pays).
        self._on_change = on_change

    def register(
        self, name: str, stage: str, hook: Callable[..., object], order: int = 0, enabled=False
    ) -> None:
        """Add a hook under ``name`` (lower ``order`` runs first; ties keep registration order)."""
        if stage not in ("before", "after"):
            raise ValueError(f"unknown hook stage {stage!r}")
        if name in self._registered:
            raise ValueError(f"hook {name!r} is already registered")
        self._registered[name] = _Registered(name, stage, order, hook, enabled)
        self._rebuild()

    def unregister(self, name: str) -> None:
        if self._registered.pop(name, None) is not None:
            self._rebuild()

    def enable(self, name: str, enabled: bool = True) -> None:
        entry = self._registered[name]
        if entry.enabled != enabled:
            entry.enabled = enabled
            self._rebuild()

    def disable(self, name: str) -> None:
        self.enable(name, False)

    def names(self) -> list[str]:
        return list(self._registered)

    def is_enabled(self, name: str) -> bool:
        entry = self._registered.get(name)
        return entry is not None and entry.enabled

    def _rebuild(self) -> None:
        ordered = sorted(self._registered.values(), key=lambda e: e.order)
        # Replace the lists' contents in place: the hot path may hold a reference to them.
        self.before[:] = [e.hook for e in ordered if e.enabled and e.stage == "before"]
        self.after[:] = [e.hook for e in ordered if e.enabled and e.stage == "after"]
        if self._on_change is not None:
            self._on_change(bool(self.before or self.after))
