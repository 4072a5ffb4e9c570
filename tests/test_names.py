"""Partner-chosen names: shown escaped and short, stored exactly, folders with real names."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from factlab.names import display_name, file_stem, is_organisation


def test_real_organisation_names_are_accepted() -> None:
    for name in (
        "gemeente-wmo",
        "Stichting Welzijn Zaanstad",
        "Jeugdteam Crommenie",
        "Sociaal team (Oost) & Co",
        "Stichting Überbrug",
        "kredietbank.zaanstad",
    ):
        assert is_organisation(name), name


def test_odd_organisation_names_are_refused() -> None:
    for name in (
        "",
        " voorloopspatie",
        "achterloop ",
        "_intern",
        ".verborgen",
        "a" * 65,
        "a/b",
        "naam\ttab",
        "=cmd",
        "x\udcff",
    ):
        assert not is_organisation(name), name


def test_a_long_name_is_shortened_with_a_stable_id() -> None:
    one, two = "a" * 240 + "1.csv", "a" * 240 + "2.csv"
    assert len(display_name(one)) <= 80 and display_name(one) == display_name(one)
    assert display_name(one) != display_name(two)
    assert len(file_stem(one).encode()) <= 100 and file_stem(one) != file_stem(two)


def test_a_name_that_is_not_utf8_is_escaped_not_decoded_wrongly() -> None:
    name = os.fsdecode(b"lijst-\xe9t\xe9.csv")  # Latin-1 bytes on a UTF-8 file system
    assert display_name(name) == "lijst-\\xe9t\\xe9.csv"
    assert file_stem(name).encode("utf-8")  # a valid UTF-8 name to derive files from


def test_formula_like_names_are_neutralised() -> None:
    assert display_name('=HYPERLINK("x")').startswith("'")


@given(st.text(min_size=1, max_size=300).filter(lambda s: "\x00" not in s and "/" not in s))
def test_any_name_gives_a_safe_stem_and_display(name: str) -> None:
    stem = file_stem(name)
    assert 0 < len(stem.encode("utf-8")) <= 100 and "/" not in stem
    assert stem.isprintable() and display_name(name).isprintable()
