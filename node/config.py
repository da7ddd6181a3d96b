"""Configuration directives, named and formatted as Redis names and formats them.

``Config`` holds every directive as the string ``CONFIG GET`` shows. The table below is the single
place a directive is declared: its default, its kind (which decides how ``CONFIG SET`` validates
and normalises a value) and whether it may change at run time. It parses redis.conf files and
``--name value`` flags, and ``CONFIG REWRITE`` writes it back.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.glob import glob_match


class ConfigError(Exception):
    """A rejected directive; ``str(error)`` is the reason Redis gives."""


@dataclass(frozen=True, slots=True)
class Directive:
    name: str
    default: str
    kind: str = "string"  # string | int | bool | memory | enum | special
    mutable: bool = True
    choices: tuple[str, ...] = ()
    minimum: int = -(2**63)
    maximum: int = 2**63 - 1
    aliases: tuple[str, ...] = ()


_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1024,
    "m": 1000**2,
    "mb": 1024**2,
    "g": 1000**3,
    "gb": 1024**3,
}


def parse_memory(text: str) -> int:
    """``memtoull``: ``1gb``, ``512mb``, ``100k`` ... (case-insensitive)."""
    lowered = text.strip().lower()
    digits = lowered.rstrip("bkmg")
    unit = lowered[len(digits) :]
    if unit not in _MEMORY_UNITS or not digits.lstrip("-").isdigit():
        raise ConfigError("argument must be a memory value")
    return int(digits) * _MEMORY_UNITS[unit]


DIRECTIVES: tuple[Directive, ...] = (
    Directive("bind", "127.0.0.1", mutable=True),
    Directive("port", "6379", "int", minimum=0, maximum=65535),
    Directive("dir", ".", mutable=True),
    Directive("requirepass", "", "string"),
    Directive("masterauth", ""),
    Directive("maxclients", "10000", "int", minimum=1),
    Directive("timeout", "0", "int", minimum=0),
    Directive("tcp-keepalive", "300", "int", minimum=0),
    Directive("databases", "16", "int", mutable=False, minimum=1),
    Directive(
        "loglevel", "notice", "enum", choices=("debug", "verbose", "notice", "warning", "nothing")
    ),
    Directive("logfile", "", mutable=False),
    Directive("pidfile", "", mutable=False),
    Directive("daemonize", "no", "bool", mutable=False),
    Directive("save", "", "special"),
    Directive("appendonly", "no", "bool"),
    Directive("appendfilename", "appendonly.aof", mutable=False),
    Directive("appendfsync", "everysec", "enum", choices=("always", "everysec", "no")),
    Directive("dbfilename", "dump.rdb"),
    Directive("rdbcompression", "yes", "bool"),
    Directive("rdbchecksum", "yes", "bool"),
    Directive("hz", "10", "int", minimum=1, maximum=500),
    Directive("proto-max-bulk-len", "536870912", "memory", minimum=1024 * 1024),
    Directive("client-query-buffer-limit", "1073741824", "memory", minimum=1024 * 1024),
    Directive("slowlog-log-slower-than", "10000", "int"),
    Directive("slowlog-max-len", "128", "int", minimum=0),
    Directive("latency-monitor-threshold", "0", "int", minimum=0),
    Directive("maxmemory", "0", "memory", minimum=0),
    Directive(
        "maxmemory-policy",
        "noeviction",
        "enum",
        choices=(
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ),
    ),
    Directive("maxmemory-samples", "5", "int", minimum=1),
    Directive("lazyfree-lazy-user-del", "no", "bool"),
    Directive("lazyfree-lazy-user-flush", "no", "bool"),
    Directive("protected-mode", "yes", "bool"),
    Directive("tcp-backlog", "511", "int", mutable=False),
    Directive("unixsocket", "", mutable=False),
    Directive("notify-keyspace-events", "", "string"),
    Directive("lua-time-limit", "5000", "int", aliases=("busy-reply-threshold",)),
    Directive("busy-reply-threshold", "5000", "int", aliases=("lua-time-limit",)),
    Directive("replica-read-only", "yes", "bool", aliases=("slave-read-only",)),
    Directive("replica-serve-stale-data", "yes", "bool", aliases=("slave-serve-stale-data",)),
    Directive("repl-backlog-size", "1048576", "memory", minimum=1),
    Directive("cluster-enabled", "no", "bool", mutable=False),
    Directive("cluster-config-file", "nodes.conf", mutable=False),
    Directive("cluster-node-timeout", "15000", "int", minimum=1),
    Directive("cluster-port", "0", "int", mutable=False, minimum=0, maximum=65535),
    Directive("cluster-announce-ip", ""),
    Directive("cluster-announce-port", "0", "int", minimum=0, maximum=65535),
    Directive("cluster-announce-bus-port", "0", "int", minimum=0, maximum=65535),
    Directive("cluster-announce-hostname", ""),
    Directive(
        "cluster-preferred-endpoint-type",
        "ip",
        "enum",
        choices=("ip", "hostname", "unknown-endpoint"),
    ),
    Directive("cluster-require-full-coverage", "yes", "bool"),
    Directive("cluster-allow-reads-when-down", "no", "bool"),
    Directive("cluster-replica-no-failover", "no", "bool"),
    Directive("cluster-migration-barrier", "1", "int", minimum=0),
    Directive("enable-debug-command", "no", "enum", mutable=False, choices=("no", "yes", "local")),
    Directive("rcsim-fault-injection", "no", "bool", mutable=False),
)

_BY_NAME = {d.name: d for d in DIRECTIVES}


class Config:
    """Directive values as strings, in the form ``CONFIG GET`` returns them."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {d.name: d.default for d in DIRECTIVES}
        self.source_file: str | None = None

    @staticmethod
    def directive(name: str) -> Directive | None:
        return _BY_NAME.get(name.lower())

    def get(self, name: str) -> str:
        return self.values[name]

    def get_int(self, name: str) -> int:
        return int(self.values[name])

    def get_bool(self, name: str) -> bool:
        return self.values[name] == "yes"

    def matching(self, pattern: str) -> list[tuple[str, str]]:
        """Directives whose name matches a glob, as CONFIG GET lists them (aliases only by exact name)."""
        lowered = pattern.lower()
        if lowered in _BY_NAME:
            return [(lowered, self.values[lowered])]
        return [
            (d.name, self.values[d.name])
            for d in DIRECTIVES
            if glob_match(lowered.encode(), d.name.encode())
        ]

    def set(self, name: str, raw: str, startup: bool = False) -> None:
        """Validate and store ``raw``; raises ConfigError with Redis's reason."""
        directive = _BY_NAME.get(name.lower())
        if directive is None:
            raise ConfigError("Unknown option or number of arguments for CONFIG SET")
        if not directive.mutable and not startup:
            raise ConfigError("can't set immutable config")
        value = normalise(directive, raw)
        self.values[directive.name] = value
        for alias in directive.aliases:
            self.values[alias] = value

    def load_file_text(self, text: str) -> None:
        """Parse redis.conf syntax: ``name arg ...`` lines, ``#`` comments, quoted arguments."""
        from node.protocol.resp import split_inline_args

        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            words = split_inline_args(stripped.encode())
            if not words:
                continue
            name = words[0].decode().lower()
            value = " ".join(w.decode() for w in words[1:])
            if name == "include":
                continue
            try:
                self.set(name, value, startup=True)
            except ConfigError as error:
                raise ConfigError(f"line {number}: {name}: {error}") from None

    def rewrite_text(self) -> str:
        """CONFIG REWRITE: every directive that differs from its default, one per line."""
        lines = ["# Generated by CONFIG REWRITE (rcsim)"]
        for directive in DIRECTIVES:
            value = self.values[directive.name]
            if value != directive.default and directive.name not in directive.aliases:
                lines.append(f"{directive.name} {_quote(value)}")
        return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    if value == "" or any(c in value for c in " \"'\\"):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def normalise(directive: Directive, raw: str) -> str:
    kind = directive.kind
    if kind == "bool":
        lowered = raw.lower()
        if lowered not in ("yes", "no"):
            raise ConfigError("argument must be 'yes' or 'no'")
        return lowered
    if kind == "int":
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError("argument couldn't be parsed into an integer") from None
        if not directive.minimum <= value <= directive.maximum:
            raise ConfigError(
                f"argument must be between {directive.minimum} and {directive.maximum} inclusive"
            )
        return str(value)
    if kind == "memory":
        value = parse_memory(raw)
        if not directive.minimum <= value <= directive.maximum:
            raise ConfigError(
                f"argument must be between {directive.minimum} and {directive.maximum} inclusive"
            )
        return str(value)
    if kind == "enum":
        lowered = raw.lower()
        if lowered not in directive.choices:
            raise ConfigError(
                f"argument(s) must be one of the following: {', '.join(directive.choices)}"
            )
        return lowered
    if directive.name == "save":
        words = raw.split()
        if len(words) % 2:
            raise ConfigError("Invalid save parameters")
        for word in words:
            if not word.isdigit():
                raise ConfigError("Invalid save parameters")
        return " ".join(words)
    return raw
