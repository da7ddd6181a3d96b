#!/usr/bin/env python3
"""Print the commands rcsim serves as a Markdown table grouped like Redis's docs (for the README)."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.commands import build_table
from node.protocol.command_table import served_commands
from node.protocol.resp import Map


def _group(docs: object) -> str:
    if isinstance(docs, Map):
        for key, value in docs.items:
            if key == b"group":
                return value.decode()
    return "other"


def main() -> None:
    groups: dict[str, list[str]] = defaultdict(list)
    for command in served_commands(build_table()):
        name = command.name.upper()
        if command.subcommands:
            subs = " ".join(sorted(s.decode().upper() for s in command.subcommands))
            name += f" ({subs})"
        groups[_group(command.spec.docs_reply)].append(name)
    print("| group | commands |")
    print("|---|---|")
    for group in sorted(groups):
        print(f"| {group} | {', '.join(groups[group])} |")


if __name__ == "__main__":
    main()
