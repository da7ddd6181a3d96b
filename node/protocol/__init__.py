"""Pure RESP protocol layer: request parsing, reply encoding, command table, keyslot, error texts.

Nothing here awaits, reads a clock or touches a socket; the trio driver in ``node.server`` feeds
bytes in and writes the bytes that come out.
"""
