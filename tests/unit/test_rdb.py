"""DUMP payloads: CRC-64, LZF and RDB string encodings, checked against bytes redis-server 7.0.15
produced (captured with ``SET k <value>`` + ``DUMP k``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node import rdb


def payload(body: bytes, version: int = rdb.RDB_VERSION) -> bytes:
    """A payload with a correct footer around ``body`` (type byte included)."""
    head = body + version.to_bytes(2, "little")
    return head + rdb.crc64(head).to_bytes(8, "little")


# Redis 7.0.15's DUMP output for these values, byte for byte.
REDIS_DUMPS = [
    (b"1", b"\x00\xc0\x01\n\x00&x\xe7\xb6\xd1\x01\x11\xfc"),
    (b"-129", b"\x00\xc1\x7f\xff\n\x00\x17`\x82(T\x80\x84\x80"),
    (b"40000", b"\x00\xc2@\x9c\x00\x00\n\x00\t\xcdc\x1f\xf3\xb9\x8c\xf2"),
    (b"123", b"\x00\xc0{\n\x00H\xe2S\xe1\x00zg\xb9"),
    (b"5000000000", b"\x00\n5000000000\n\x00i\xa9\x0f\xd5~\x0f\xf4%"),
    (b"x" * 30, b"\x00\xc3\t\x1e\x01xx\xe0\x11\x00\x01xx\n\x00\xf0g?\xdf \x01\xeb\x95"),
    (b"x" * 100, b"\x00\xc3\t@d\x01xx\xe0W\x00\x01xx\n\x00]\xb7\xf6c\xbb\x08b_"),
    (
        b"abcdefghijklmnopqrstuvwxyz0123",
        b"\x00\x1eabcdefghijklmnopqrstuvwxyz0123\n\x00\x1e\xfb\xae\xdb\xae\xad@\xd1",
    ),
    (b"", b"\x00\x00\n\x00]\x9b\\@\x0f\x7f\xa2\xda"),
    (b"v", b"\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce"),
    # A case where the match search runs into the end of the input (lzf 3.6 behaviour).
    (
        b"\xda\xda\xda\xda\xda\xda_\xda\xda\xda\xda_\xda\xda\xda\xda_\xda\xda__\xda\xda\xda\xda__"
        b"\xda_\xda",
        b"\x00\xc3\x12\x1e\x01\xda\xda@\x00\x00_\xe0\x03\x04\x00_\x80\r\x00_ \x15\n\x00}\xec."
        b"\x9e\xed\xa6a\x84",
    ),
]


def test_crc64_check_value():
    assert rdb.crc64(b"123456789") == 0xE9C6D914C4B8D9CA


def test_crc64_is_incremental():
    assert rdb.crc64(b"6789", rdb.crc64(b"12345")) == rdb.crc64(b"123456789")


@pytest.mark.parametrize("value,expected", REDIS_DUMPS, ids=[repr(v[:12]) for v, _ in REDIS_DUMPS])
def test_dump_matches_redis(value, expected):
    assert rdb.dump_payload(value) == expected
    assert rdb.dump_payload(bytearray(value)) == expected


@pytest.mark.parametrize("value,expected", REDIS_DUMPS, ids=[repr(v[:12]) for v, _ in REDIS_DUMPS])
def test_redis_payloads_load(value, expected):
    assert rdb.verify_payload(expected)
    assert rdb.load_payload(expected) == value


def test_rdbcompression_off_stores_verbatim():
    assert rdb.dump_payload(b"x" * 30, compress=False) == payload(b"\x00\x1e" + b"x" * 30)


@pytest.mark.parametrize(
    "value,encoded",
    [
        (b"0", b"\xc0\x00"),
        (b"-128", b"\xc0\x80"),
        (b"127", b"\xc0\x7f"),
        (b"128", b"\xc1\x80\x00"),
        (b"-32768", b"\xc1\x00\x80"),
        (b"2147483647", b"\xc2\xff\xff\xff\x7f"),
        (b"-2147483648", b"\xc2\x00\x00\x00\x80"),
        (b"2147483648", b"\x0a2147483648"),  # does not fit 32 bits: raw
        (b"01", b"\x0201"),  # not canonical: raw
        (b"-0", b"\x02-0"),
        (b"+1", b"\x02+1"),
        (b" 1", b"\x02 1"),
    ],
)
def test_integer_encodings(value, encoded):
    assert rdb.encode_string(value) == encoded
    assert rdb.Reader(encoded).read_string() == value


@pytest.mark.parametrize("length", [0, 63, 64, 16383, 16384, 2**32 - 1, 2**32, 2**40])
def test_length_round_trip(length):
    encoded = rdb.encode_length(length)
    assert rdb.Reader(encoded).read_length() == (length, False)
    assert len(encoded) == (
        1 if length < 64 else 2 if length < 16384 else 5 if length < 2**32 else 9
    )


def test_short_strings_are_never_compressed():
    assert rdb.encode_string(b"a" * 20) == b"\x14" + b"a" * 20
    assert rdb.encode_string(b"a" * 21)[:1] == b"\xc3"


def test_incompressible_strings_stay_raw():
    value = bytes(range(256))
    assert rdb.lzf_compress(value, len(value) - 4) is None
    assert rdb.encode_string(value) == b"\x41\x00" + value


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=3000))
def test_lzf_round_trip(data):
    packed = rdb.lzf_compress(data, len(data) + 64)
    assert packed is not None
    assert rdb.lzf_decompress(packed, len(data)) == data


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([b"ab", b"abc", b"x", b"hello ", b"\x00\xff"]), max_size=400).map(
        b"".join
    )
)
def test_lzf_round_trip_repetitive(data):
    compressed = rdb.encode_string(data)
    assert rdb.Reader(compressed).read_string() == data


def test_lzf_long_runs_use_long_backrefs():
    data = b"a" * 100_000
    packed = rdb.lzf_compress(data, len(data))
    assert packed is not None and len(packed) < 1500
    assert rdb.lzf_decompress(packed, len(data)) == data


def test_lzf_decompress_rejects_corrupt_input():
    assert rdb.lzf_decompress(b"\x05ab", 6) is None  # literal run past the input
    assert rdb.lzf_decompress(b"\x00a\x20\x05", 10) is None  # backref before the start
    assert rdb.lzf_decompress(b"\x00a\x20", 10) is None  # truncated backref
    assert rdb.lzf_decompress(b"\x02abc", 2) is None  # output past out_len
    assert rdb.lzf_decompress(b"", 0) is None


def test_verify_payload_checks_version_and_crc():
    good = payload(b"\x00\x01a")
    assert rdb.verify_payload(good)
    assert rdb.verify_payload(payload(b"\x00\x01a", version=9))
    assert not rdb.verify_payload(payload(b"\x00\x01a", version=11))
    assert not rdb.verify_payload(good[:-1] + bytes([good[-1] ^ 1]))
    assert not rdb.verify_payload(b"\x00" * 9)


@pytest.mark.parametrize(
    "body,value",
    [
        (b"\x00\xc0", b"10"),  # Redis reads the INT8 from the footer's version byte
        (b"\x00\x05ab", b"ab\n\x00" + b"?"),  # a raw string running into the footer
        (b"\x00\x01abcdef", b"a"),  # trailing bytes are ignored
        (b"\x00\xc3\x01\x00\x00", b""),  # LZF to length 0: Redis's failure check passes
        (b"\x00\x80\x00\x00\x00\x02ab", b"ab"),  # 32-bit length
        (b"\x00\x81" + (2).to_bytes(8, "big") + b"ab", b"ab"),  # 64-bit length
        (b"\x00\x40\x02ab", b"ab"),  # 14-bit length
        (b"\x00\xc1\xff\xff", b"-1"),
    ],
)
def test_quirky_payloads_load_like_redis(body, value):
    data = payload(body)
    loaded = rdb.load_payload(data)
    if value.endswith(b"?"):  # the rest comes from the CRC bytes
        assert loaded == data[2:7]
    else:
        assert loaded == value


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\xc3\x00\x05",  # empty LZF input
        b"\x00\xc3\x02\x05\x01a",  # LZF input shorter than declared
        b"\x00\xc3\x02\x05\x00a",  # decompresses to the wrong length
        b"\x00\xc4",  # unknown string encoding
        b"\x00\x3fab",  # raw string past the end of the payload
        b"\x00\x82ab",  # unknown length encoding
        b"\x08\x01a",  # 8 is not an object type
        b"\x14\x01a",  # 20 is not an object type in RDB 10
        b"\xff",
    ],
)
def test_bad_payloads_raise_rdb_error(body):
    with pytest.raises(rdb.RdbError):
        rdb.load_payload(payload(body))


def test_unsupported_types_are_named():
    class Fake:
        type_name = b"stream"  # streams are not modelled

    with pytest.raises(rdb.UnsupportedTypeError) as error:
        rdb.dump_payload(Fake())
    assert error.value.type_name == "stream"
    with pytest.raises(rdb.UnsupportedTypeError) as error:
        rdb.load_payload(payload(b"\x13\x01\x02"))
    assert error.value.type_name == "stream (v2)"


def test_registered_types_dump_and_load():
    class Pair:
        type_name = b"pair"

        def __init__(self, a: bytes, b: bytes) -> None:
            self.a, self.b = a, b

    def encode(value, compress):
        return rdb.encode_string(value.a, compress) + rdb.encode_string(value.b, compress)

    def decode(reader):
        return Pair(reader.read_string(), reader.read_string())

    saved = rdb._DECODERS.get(4)
    rdb.register_type(Pair, 4, encode, decode)  # hash's type code, for the test only
    try:
        dumped = rdb.dump_payload(Pair(b"k", b"12"))
        assert dumped[:1] == b"\x04" and rdb.verify_payload(dumped)
        loaded = rdb.load_payload(dumped)
        assert (loaded.a, loaded.b) == (b"k", b"12")
    finally:
        del rdb._ENCODERS[Pair]
        if saved is None:
            del rdb._DECODERS[4]
        else:
            rdb._DECODERS[4] = saved  # the hash decoder, for the rest of the run
