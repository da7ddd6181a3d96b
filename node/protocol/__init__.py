"""Pure RESP protocol layer: request parsing, reply encoding, command table, keyslot, error texts.

Nothing here awaits, reads a clock or touches a socket; the trio drivers in ``node.drivers`` feed
bytes in and write the bytes that come out.
"""
