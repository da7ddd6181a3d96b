"""Placeholder: being written."""

from node.protocol.resp import Map


def config_get_command(ctx, argv):
    pairs = []
    for pattern in argv[2:]:
        pairs.extend(ctx.node.config.matching(pattern.decode()))
    return Map([(k.encode(), v.encode()) for k, v in pairs])


HANDLERS: dict = {"config|get": config_get_command}


def flushall_command(ctx, argv):
    from node.protocol.resp import OK

    for db in ctx.node.dbs:
        db.flush()
    return OK


HANDLERS["flushall"] = flushall_command
