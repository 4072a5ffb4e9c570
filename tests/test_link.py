"""Linking per household in DuckDB: the pseudonym groups rows and then disappears."""

from pathlib import Path

import duckdb
import polars as pl

from factlab.link import link
from factlab.schemas.households import HOUSEHOLD_COLUMNS


def _staged(tmp_path: Path, name: str, rows: list[tuple]) -> str:
    frame = pl.DataFrame(
        rows,
        schema=["pseudoniem", "wijk_code", "buurt_code", "voorziening", "domein", "organisatie"],
        orient="row",
    )
    path = tmp_path / name
    frame.write_parquet(path)
    return str(path)


def test_households_joined_across_partners_without_pseudonym(tmp_path: Path) -> None:
    files = [
        _staged(
            tmp_path,
            "a.parquet",
            [
                ("p1", "WK1", "BU1", "WMO-HH", "wmo", "a"),
                ("p2", "onbekend", None, "PW-BIJ", "participatie", "a"),
            ],
        ),
        _staged(
            tmp_path,
            "b.parquet",
            [
                ("p1", "WK1", "BU1", "JGD-AMB", "jeugd", "b"),
                ("p1", "WK1", "BU1", "WMO-HH", "wmo", "b"),
            ],
        ),
    ]
    with duckdb.connect() as connection:
        households = link(connection, files)
    assert tuple(households.columns) == HOUSEHOLD_COLUMNS
    assert households.rows() == [
        ("WK1", "BU1", ["JGD-AMB", "WMO-HH"], ["jeugd", "wmo"], ["a", "b"], 2, 2, 2),
        ("onbekend", None, ["PW-BIJ"], ["participatie"], ["a"], 1, 1, 1),
    ]
    assert not any("p1" in str(value) for value in households.rows())


def test_row_order_depends_on_content_only(tmp_path: Path) -> None:
    rows = [(f"p{i}", f"WK{i % 3}", None, "WMO-HH", "wmo", "a") for i in range(30)]
    renamed = [(f"q{29 - i}", *row[1:]) for i, row in enumerate(rows)]
    with duckdb.connect() as connection:
        first = link(connection, [_staged(tmp_path, "x.parquet", rows)])
        second = link(connection, [_staged(tmp_path, "y.parquet", list(reversed(renamed)))])
    assert first.equals(second)


def test_no_uploads_give_an_empty_table_with_the_contract_columns() -> None:
    with duckdb.connect() as connection:
        households = link(connection, [])
    assert households.height == 0 and tuple(households.columns) == HOUSEHOLD_COLUMNS
