"""Formula neutralisation follows OWASP: =, +, -, @, tab and CR at the start; nothing else changes."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factlab.safe_text import FORMULA_PREFIXES, neutralise, neutralise_column

OWASP = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ('=HYPERLINK("http://x","klik")', '\'=HYPERLINK("http://x","klik")'),
        ("+31 6 1234", "'+31 6 1234"),
        ("-Welzijn", "'-Welzijn"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Zaanstad", "Zaanstad"),
        ("WMO-HH", "WMO-HH"),
        (" =1+1", " =1+1"),
        ("'=1+1", "'=1+1"),
        ("", ""),
    ],
)
def test_owasp_prefixes_are_neutralised(text: str, safe: str) -> None:
    assert neutralise(text) == safe
    column = pl.DataFrame({"t": [text, None]}).select(neutralise_column(pl.col("t")))
    assert column.to_series().to_list() == [safe, None]


def test_the_prefixes_are_owasps() -> None:
    assert set(FORMULA_PREFIXES) == set(OWASP)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from([*OWASP, "a", "'", " ", "1", "\n"])), max_size=20))
def test_neutralised_text_never_starts_a_formula_and_is_otherwise_unchanged(
    texts: list[str],
) -> None:
    column = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    vectorised = column.select(neutralise_column(pl.col("t"))).to_series().to_list()
    for text, safe, fast in zip(texts, map(neutralise, texts), vectorised, strict=True):
        assert fast == safe
        assert not safe.startswith(OWASP)
        assert safe in (text, "'" + text)
        assert neutralise(safe) == safe  # neutralising twice changes nothing
