"""The pseudonym must be exactly HMAC-SHA256 (its first 128 bits): RFC 4231 vectors and the
standard library.

The plugin takes its key as text, so the RFC 4231 cases with text keys (1 and 2) are checked
directly; the binary keys of cases 3-7 cannot be spelled as text. Keys longer than the SHA-256
block (hashed first, as in cases 6 and 7) are covered by the comparison with ``hmac``.
"""

import hashlib
import hmac

import polars as pl
import polars_hash as plh
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factlab.keys import derive_edition_key
from factlab.pseudonymise import hmac_key, hmac_sha256_hex, leading_bits, pseudonymise

RFC4231 = [
    ("\x0b" * 20, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (
        "Jefe",
        "what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
]


@pytest.mark.parametrize(("key", "message", "expected"), RFC4231)
def test_rfc4231_vectors(key: str, message: str, expected: str) -> None:
    hashed = pl.DataFrame({"message": [message]}).select(hmac_sha256_hex("message", key))
    assert hashed.to_series().to_list() == [expected]


@settings(max_examples=50, deadline=None)
@given(
    key=st.text(min_size=1, max_size=200),
    messages=st.lists(st.text(min_size=0, max_size=80), min_size=1, max_size=5),
)
def test_matches_standard_library(key: str, messages: list[str]) -> None:
    frame = pl.DataFrame({"message": messages}, schema={"message": pl.String})
    result = frame.select(hmac_sha256_hex("message", key)).to_series().to_list()
    assert result == [
        hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest() for message in messages
    ]


def test_pseudonymise_replaces_address_by_its_truncated_hmac_keyed_with_the_hex_secret() -> None:
    key = derive_edition_key(b"m" * 32, "2026")
    frame = pl.DataFrame(
        {
            "adres_sleutel": ["1503AB|12|A|", "1503AB|12|A|", "1503AB|13||", None],
            "x": [1, 2, 3, 4],
        }
    )
    result = pseudonymise(frame, key)
    assert result.columns == ["x", "pseudoniem"]
    assert result.get_column("x").to_list() == [1, 2, 3, 4]
    pseudonyms = result.get_column("pseudoniem").to_list()
    assert pseudonyms[0] == pseudonyms[1] != pseudonyms[2]
    assert pseudonyms[3] is None
    assert hmac_key(key) == key.secret.hex()
    expected = hmac.new(key.secret.hex().encode(), b"1503AB|12|A|", hashlib.sha256).digest()
    assert result.schema["pseudoniem"] == pl.UInt128
    assert pseudonyms[0] == int.from_bytes(expected[:16], "big")  # the HMAC's first 128 bits


@pytest.mark.parametrize("digest", [bytes(32), b"\xff" * 32, bytes(range(32)), b"\x80" + bytes(31)])
def test_the_leading_bits_are_the_digests_first_sixteen_bytes(digest: bytes) -> None:
    hexed = pl.DataFrame({"h": [digest.hex()]}).select(leading_bits(pl.col("h"))).item()
    assert hexed == int.from_bytes(digest[:16], "big")


def test_a_lazy_frame_is_pseudonymised_as_a_frame_is() -> None:
    """The close streams the checked rows through the hash as a query."""
    key = derive_edition_key(b"m" * 32, "2026")
    frame = pl.DataFrame({"adres_sleutel": ["1503AB|12|A|", None, "1503AB|13||"], "x": [1, 2, 3]})
    assert pseudonymise(frame.lazy(), key).collect().equals(pseudonymise(frame, key))


def test_key_never_appears_in_an_error_or_a_plan() -> None:
    """A plugin failure (here: numbers instead of text) reports the plan, never the key.

    The key travels as a plugin argument; what this design relies on is that Polars never
    shows plugin arguments, in an expression's repr, a query plan or an error.
    """
    key = derive_edition_key(b"m" * 32, "2026")
    expression = plh.col("adres_sleutel").chash.hmac_sha256(key=hmac_key(key))
    plan = pl.LazyFrame({"adres_sleutel": ["1503AB|12||"]}).select(expression).explain()
    for text in (repr(expression), str(expression), plan):
        assert hmac_key(key) not in text
    with pytest.raises(Exception) as raised:
        pseudonymise(pl.DataFrame({"adres_sleutel": [1, 2]}), key)
    assert key.secret.hex() not in str(raised.value)
    assert key.secret.hex() not in repr(raised.value)
