"""HMAC-SHA256 in DuckDB must be exactly HMAC-SHA256: RFC 4231 vectors and the standard library."""

import hashlib
import hmac

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factlab.keys import derive_edition_key
from factlab.pseudonymise import hmac_sha256_hex, pseudonymise

# RFC 4231 section 4: test cases with text messages (cases 1, 2, 6, 7; 3-5 use binary data).
RFC4231 = [
    (b"\x0b" * 20, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (
        b"Jefe",
        "what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (
        b"\xaa" * 131,
        "Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        b"\xaa" * 131,
        "This is a test using a larger than block-size key and a larger than block-size data. "
        "The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]


@pytest.fixture(scope="module")
def connection():
    with duckdb.connect() as connection:
        yield connection


@pytest.mark.parametrize(("key", "message", "expected"), RFC4231)
def test_rfc4231_vectors(connection, key: bytes, message: str, expected: str) -> None:
    result = hmac_sha256_hex(connection, pl.Series([message]), key)
    assert result.get_column("pseudonym").to_list() == [expected]


@settings(max_examples=50, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=200),
    messages=st.lists(st.text(min_size=0, max_size=80), min_size=1, max_size=5),
)
def test_matches_standard_library(key: bytes, messages: list[str]) -> None:
    with duckdb.connect() as connection:
        result = dict(
            hmac_sha256_hex(connection, pl.Series(messages, dtype=pl.String), key).iter_rows()
        )
    for message in messages:
        assert result[message] == hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def test_pseudonymise_replaces_address_and_hashes_each_distinct_once(connection) -> None:
    key = derive_edition_key(b"m" * 32, "2026")
    frame = pl.DataFrame(
        {"adres_sleutel": ["1503AB|12|A|", "1503AB|12|A|", "1503AB|13||"], "x": [1, 2, 3]}
    )
    result = pseudonymise(frame, key, connection)
    assert result.columns == ["x", "pseudoniem"]
    assert result.get_column("x").to_list() == [1, 2, 3]
    pseudonyms = result.get_column("pseudoniem").to_list()
    assert pseudonyms[0] == pseudonyms[1] != pseudonyms[2]
    assert pseudonyms[0] == hmac.new(key.secret, b"1503AB|12|A|", hashlib.sha256).hexdigest()
