"""Malformed and unusual client input: rcsim answers exactly as redis-server does."""

from __future__ import annotations

import pytest

CASES = [
    b"*1\r\n:5\r\n",
    b"*2\r\n$3\r\nGET\r\n$9999999999\r\n",
    b"*2147483648\r\n",
    b"*x\r\n",
    b'*1\r\n$4\r\nPING\r\nPING\r\n"unbal\r\n',
    b"*0\r\n*-1\r\nPING\r\n",
    b"foo a b\r\n",
    b"$3\r\nfoo\r\n",
    b"\r\n\r\nPING\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$4\r\nPINGxxPING\r\n",
    b"*1\r\n$+3\r\nfoo\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$536870913\r\n",
    b"x" * 70000,
    b"*" + b"1" * 70000,
    b"*1\r\n$" + b"1" * 70000,
    b"set 'a'b c\r\n",
    b'echo "a\\x41\\n"\r\n',
    b"*1\r\n$4\r\nping\r\n*1\r\n$2\r\nxx\r\n*2\r\n$4\r\nFOOB\r\n$1\r\nx\r\n",
    b"*1\r\n$-5\r\n",
    b"*1\r\n*1\r\n$4\r\nPING\r\n",
    b"*9999999\r\n",
]


@pytest.mark.parametrize("data", CASES, ids=[repr(c[:24]) for c in CASES])
def test_raw_input_matches_redis(diff, data):
    diff.check_raw(data)
