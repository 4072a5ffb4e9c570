"""Placement in buurt/wijk from the CBS pc6hnr table in its real format."""

from pathlib import Path

import polars as pl
import pytest

from factlab.connectors.cbs import read_pc6hnr
from factlab.errors import ReferenceFileError
from factlab.place import place, placement_counts


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_real_cbs_format_with_leading_zeros_and_any_year(tmp_path: Path) -> None:
    table = read_pc6hnr(
        _write(
            tmp_path / "pc6hnr.csv",
            "PC6;Huisnummer;Buurt2025;Wijk2025;Gemeente2025\n"
            "5611AA;1;07721110;077211;0772\n1011AB;3;0363AF01;0363AF;0363\n",
        )
    )
    assert table.rows() == [
        ("5611AA", 1, "BU07721110", "WK077211", "GM0772"),
        ("1011AB", 3, "BU0363AF01", "WK0363AF", "GM0363"),
    ]


def test_reads_comma_separated_2024_release(tmp_path: Path) -> None:
    table = read_pc6hnr(
        _write(
            tmp_path / "p.csv",
            "PC6,Huisnummer,Buurt2024,Wijk2024,Gemeente2024\n5611AA,1,07721110,077211,0772\n",
        )
    )
    assert table.row(0) == ("5611AA", 1, "BU07721110", "WK077211", "GM0772")


def test_wrong_table_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReferenceFileError, match="ontbreken"):
        read_pc6hnr(_write(tmp_path / "p.csv", "postcode;nummer\n1234AB;1\n"))


def test_placed_unknown_and_outside_are_all_kept_and_counted() -> None:
    table = pl.DataFrame(
        {
            "postcode": ["1503AB", "1011AB"],
            "huisnummer": [12, 3],
            "buurt_code": ["BU04791101", "BU0363AF01"],
            "wijk_code": ["WK047911", "WK0363AF"],
            "gemeente_code": ["GM0479", "GM0363"],
        }
    )
    valid = pl.DataFrame(
        {
            "adres_sleutel": ["a", "b", "c", "d"],
            "postcode": ["1503AB", "1503AB", "9999ZZ", "1011AB"],
            "huisnummer": [12, 12, 1, 3],
        }
    )
    placed = place(valid, table, "GM0479")
    assert placed.select("adres_sleutel", "plaatsing", "buurt_code", "wijk_code").rows() == [
        ("a", "geplaatst", "BU04791101", "WK047911"),
        ("b", "geplaatst", "BU04791101", "WK047911"),
        ("c", "onbekend", None, "onbekend"),
        ("d", "buiten_gemeente", None, None),
    ]
    assert placement_counts(placed) == {"geplaatst": 2, "onbekend": 1, "buiten_gemeente": 1}
    assert "postcode" not in placed.columns and "huisnummer" not in placed.columns
