"""Address normalisation: the variants partners really write must give one canonical key."""

import polars as pl
import pytest

from factlab.addresses import (
    canonical_key,
    canonical_parts,
    is_postbus,
    postcode,
    postcode_is_valid,
)


def _key(postcode_raw: str, number: str, letter: str = "", suffix: str = "") -> str:
    frame = pl.DataFrame(
        {"p": [postcode_raw], "n": [number], "l": [letter], "t": [suffix]},
        schema={c: pl.String for c in "pnlt"},
    )
    nr, hl, tv = canonical_parts(pl.col("n"), pl.col("l"), pl.col("t"))
    return frame.select(canonical_key(postcode(pl.col("p")), nr, hl, tv)).item()


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        (
            [("1234 ab", "12"), ("1234AB", "12"), (" 1234ab ", " 12 "), ("1234 AB", "12")],
            "1234AB|12||",
        ),
        (
            [
                ("1234AB", "12a"),
                ("1234AB", "12 A"),
                ("1234AB", "12-A"),
                ("1234AB", "12", "a"),
                ("1234AB", "12", "", "A"),
                ("1234AB", "12", "A", ""),
            ],
            "1234AB|12|A|",
        ),
        (
            [("1234AB", "12-2"), ("1234AB", "12 2"), ("1234AB", "12", "", "2"), ("1234AB", "12/2")],
            "1234AB|12||2",
        ),
        (
            [("1234AB", "12 bis"), ("1234AB", "12-BIS"), ("1234AB", "12", "", "bis")],
            "1234AB|12||BIS",
        ),
        (
            [
                ("1234AB", "12-1hg"),
                ("1234AB", "12 I"),
                ("1234AB", "12", "", "1"),
                ("1234AB", "12 1 hoog"),
                ("1234AB", "12-1e"),
                ("1234AB", "12", "", "1-hg"),
            ],
            "1234AB|12||1",
        ),
        ([("1234AB", "12 II"), ("1234AB", "12-2hg"), ("1234AB", "12", "", "II")], "1234AB|12||2"),
        ([("1234AB", "12a-2"), ("1234AB", "12", "a", "2"), ("1234AB", "12 A 2")], "1234AB|12|A|2"),
    ],
)
def test_variants_link_to_one_key(variants: list[tuple[str, ...]], expected: str) -> None:
    assert {_key(*variant) for variant in variants} == {expected}


def test_different_addresses_stay_different() -> None:
    keys = [
        _key("1234AB", "12"),
        _key("1234AB", "12a"),
        _key("1234AB", "12-1"),
        _key("1234AB", "121"),
    ]
    assert len(set(keys)) == len(keys)


def test_explicit_huisletter_column_is_kept_even_when_roman_looking() -> None:
    assert _key("1234AB", "12", "I") == "1234AB|12|I|"


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("1234AB", True),
        ("1234 ab", True),
        ("9999ZZ", True),
        ("1234 A", False),
        ("0123AB", False),
        ("1234SA", False),
        ("1234SD", False),
        ("1234 ss", False),
        ("12345A", False),
        ("", False),
    ],
)
def test_postcode_validity(raw: str, valid: bool) -> None:
    frame = pl.DataFrame({"p": [raw]})
    assert frame.select(postcode_is_valid(postcode(pl.col("p")))).item() is valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Postbus 123", True),
        ("postbus", True),
        ("Antwoordnummer 5", True),
        ("12", False),
        ("12 bis", False),
    ],
)
def test_postbus_is_recognised(text: str, expected: bool) -> None:
    assert pl.DataFrame({"n": [text]}).select(is_postbus(pl.col("n"))).item() is expected
