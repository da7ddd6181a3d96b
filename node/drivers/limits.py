"""Sizes and replies the client drivers share."""

RECV_BYTES = 65536  # bytes asked for per read of a connection
MAX_CLIENTS_REPLY = b"-ERR max number of clients reached\r\n"
ACCEPTS_PER_WAKE = 128  # connections accepted per wake-up of a listener
