"""String commands (being completed: see HANDLERS)."""

from __future__ import annotations

from node.commands.common import read_string
from node.protocol.resp import OK
from node.session import Session


def get_command(ctx: Session, argv: list[bytes]) -> object:
    return read_string(ctx, argv[1])


def set_command(ctx: Session, argv: list[bytes]) -> object:
    ctx.db.set(argv[1], argv[2])
    return OK


HANDLERS = {"get": get_command, "set": set_command}
