"""Linking per household in DuckDB: the pseudonym groups rows and then disappears."""

from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factlab.link import LINK_SQL, MAX_BITS, link
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


def test_a_household_over_several_areas_lies_in_the_first_whole(tmp_path: Path) -> None:
    """Not a wijk of one row and a buurt of another: the first (wijk, buurt) in sorted order,
    an unknown buurt last."""
    rows = [
        ("p1", "WK2", "BU2", "WMO-HH", "wmo", "a"),
        ("p1", "WK1", None, "WMO-HH", "wmo", "b"),
        ("p1", "WK1", "BU1", "JGD-AMB", "jeugd", "c"),
    ]
    staged = _staged(tmp_path, "gebieden.parquet", rows)
    with duckdb.connect() as connection:
        linked = link(connection, [staged])
        plain = connection.read_parquet([staged]).query("staged", LINK_SQL).pl()
    assert linked.select("wijk_code", "buurt_code").rows() == [("WK1", "BU1")]
    assert linked.equals(plain.select(HOUSEHOLD_COLUMNS))


def test_no_uploads_give_an_empty_table_with_the_contract_columns() -> None:
    with duckdb.connect() as connection:
        households = link(connection, [])
    assert households.height == 0 and tuple(households.columns) == HOUSEHOLD_COLUMNS


_VALUES = st.one_of(st.none(), st.sampled_from(["A", "B", "a", "AB", "B-1", "É", "z", ""]))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["p1", "p2", "p3", "p4", "p5"]),
            st.sampled_from(["WK1", "WK2", "onbekend"]),
            st.one_of(st.none(), st.sampled_from(["BU1", "BU2"])),
            _VALUES,
            _VALUES,
            _VALUES,
        ),
        min_size=1,
        max_size=30,
    )
)
def test_bitset_link_gives_the_list_link_table(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple]
) -> None:
    """Same households, lists, counts and row order as the plain list aggregation, and the
    link's working tables gone afterwards."""
    folder = tmp_path_factory.mktemp("staged")
    staged = str(folder / "s.parquet")
    columns = ["pseudoniem", "wijk_code", "buurt_code", "voorziening", "domein", "organisatie"]
    pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row").write_parquet(staged)
    with duckdb.connect() as connection:
        relation = connection.read_parquet([staged])
        plain = relation.query("staged", LINK_SQL).pl()
        linked = link(connection, [staged])
        left = connection.sql("SELECT table_name FROM duckdb_tables()").fetchall()
        left += connection.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    assert linked.equals(plain.select(HOUSEHOLD_COLUMNS))
    assert left == []


@pytest.mark.parametrize("values", [64, 65, MAX_BITS])
def test_bit_sets_of_either_width_give_the_list_link_table(tmp_path: Path, values: int) -> None:
    """Up to 64 distinct values the bit sets are 64-bit integers, up to MAX_BITS 128-bit."""
    rows = [
        (f"p{i % 9}", f"WK{i % 2}", None, f"C{i:03d}", "wmo", f"o{i % 3}") for i in range(values)
    ]
    staged = _staged(tmp_path, "breed.parquet", rows)
    with duckdb.connect() as connection:
        plain = connection.read_parquet([staged]).query("staged", LINK_SQL).pl()
        linked = link(connection, [staged])
    assert linked.equals(plain.select(HOUSEHOLD_COLUMNS))
    assert linked.get_column("aantal_voorzieningen").sum() == values


def test_more_distinct_values_than_bits_fall_back_to_lists(tmp_path: Path) -> None:
    rows = [(f"p{i % 7}", "WK1", None, f"C{i:03d}", "wmo", "a") for i in range(MAX_BITS + 5)]
    staged = _staged(tmp_path, "veel.parquet", rows)
    with duckdb.connect() as connection:
        plain = connection.read_parquet([staged]).query("staged", LINK_SQL).pl()
        linked = link(connection, [staged])
    assert linked.equals(plain.select(HOUSEHOLD_COLUMNS))
    assert sorted(linked.get_column("aantal_voorzieningen").to_list()) == [19] * 7
