"""The prepared CBS table gives exactly what the CSV gives, is made once per release, and
filtering to the postcodes present keeps every row of those postcodes."""

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factlab.connectors.cbs import read_pc6hnr
from factlab.connectors.cbs_prepared import (
    cache_folder,
    postcode_key,
    prepare,
    prepared_path,
    read_pc6hnr_addresses,
    read_pc6hnr_prepared,
)
from factlab.errors import ReferenceFileError

TABLE = (
    "PC6;Huisnummer;Buurt2024;Wijk2024;Gemeente2024\n"
    "9999ZZ;1;09990101;099901;0999\n"
    "1503AB;12;04790101;047901;0479\n"
    "1503AB;14;04790101;047901;0479\n"
    "1503AB;12;04790102;047901;0479\n"  # duplicate (postcode, huisnummer): first one wins
    "1025LL;119;0363NC01;0363NC;0363\n"
    " 1503ac ;3;04790102;047901;0479\n"
)
KEY = ["postcode", "huisnummer"]


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "pc6hnr.csv"
    path.write_text(TABLE, encoding="utf-8")
    return path


def test_prepared_table_equals_the_csv_table(csv: Path, tmp_path: Path) -> None:
    prepared = read_pc6hnr_prepared(csv, cache=tmp_path / "cache")
    assert prepared.sort(KEY).equals(read_pc6hnr(csv).sort(KEY))
    assert prepared.filter(postcode="1503AB", huisnummer=12).get_column("buurt_code").to_list() == [
        "BU04790101"
    ]


def test_filtered_to_postcodes_keeps_all_their_rows_and_nothing_else(
    csv: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    wanted = ["1503AB", "1503AC", "4444XX"]  # 4444XX is not in the table
    prepared = read_pc6hnr_prepared(csv, wanted, cache=cache)
    expected = read_pc6hnr(csv).filter(pl.col("postcode").is_in(wanted))
    assert prepared.sort(KEY).equals(expected.sort(KEY))
    assert prepared.height == 3
    empty = read_pc6hnr_prepared(csv, pl.Series(["geen postcode"]), cache=cache)
    assert empty.is_empty() and empty.schema == prepared.schema


def test_made_once_per_release(csv: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = prepare(csv, cache)
    written = first.stat().st_mtime_ns
    assert prepare(csv, cache) == first and first.stat().st_mtime_ns == written
    csv.write_text(TABLE + "1234AB;1;01230101;012301;0123\n", encoding="utf-8")  # new release
    second = prepare(csv, cache)
    assert second != first
    assert read_pc6hnr_prepared(csv, ["1234AB"], cache=cache).height == 1
    assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_a_wrong_table_is_the_csv_reader_error_and_leaves_no_copy(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("postcode;nummer\n1234AB;1\n", encoding="utf-8")
    with pytest.raises(ReferenceFileError, match="ontbreken"):
        prepare(path, tmp_path / "cache")
    assert not prepared_path(path, tmp_path / "cache").exists()
    assert list(tmp_path.rglob("*.parquet*")) == []


def test_cache_folder_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FACTLAB_CACHE", str(tmp_path))
    assert cache_folder() == tmp_path / "cbs"


def test_postcode_key_orders_postcodes_and_rejects_the_rest() -> None:
    keys = (
        pl.DataFrame({"p": ["1000AA", "1000AB", "1000BA", "1503AB", "9999ZZ", "12AB", "1503ab"]})
        .select(postcode_key(pl.col("p")))
        .to_series()
        .to_list()
    )
    assert keys[:5] == sorted(keys[:5]) and len(set(keys[:5])) == 5
    assert keys[0] == 1000 * 676 and keys[3] == 1503 * 676 + 1
    assert keys[5:] == [None, None]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["1503AB", " 1503ab ", "1503AC", "9999ZZ", "0123AB", "15O3AB", "", "X"]
            ),
            st.sampled_from(["1", "12", " 12 ", "", "abc", "99999"]),
            st.sampled_from(["04790101", "04790102", "09990101"]),
        ),
        max_size=30,
    )
)
def test_prepared_copy_keeps_the_first_of_each_address_like_the_csv_reader(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str, str]]
) -> None:
    """Duplicates (also of postcodes written differently), invalid postcodes and numbers."""
    folder = tmp_path_factory.mktemp("pc6hnr")
    path = folder / "pc6hnr.csv"
    lines = [f"{pc};{nr};{bu};{bu[:6]};{bu[:4]}" for pc, nr, bu in rows]
    path.write_text("\n".join([TABLE.splitlines()[0], *lines]) + "\n", encoding="utf-8")
    prepared = read_pc6hnr_prepared(path, cache=folder / "cache")
    assert prepared.sort(KEY).equals(read_pc6hnr(path).sort(KEY))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["1503AB", "1503AC", "9999ZZ", "1025LL", "0123AB", "1234XY", ""]),
            st.one_of(st.none(), st.sampled_from([1, 3, 12, 14, 119, 99999])),
        ),
        max_size=12,
    )
)
def test_rows_of_the_addresses_are_the_csv_rows_of_those_addresses(
    tmp_path_factory: pytest.TempPathFactory, wanted: list[tuple[str, int | None]]
) -> None:
    folder = tmp_path_factory.mktemp("pc6hnr")
    path = folder / "pc6hnr.csv"
    path.write_text(TABLE, encoding="utf-8")
    addresses = pl.DataFrame(
        wanted, schema={"postcode": pl.String, "huisnummer": pl.Int64}, orient="row"
    )
    found = read_pc6hnr_addresses(path, addresses, cache=folder / "cache")
    expected = read_pc6hnr(path).join(addresses, on=KEY, how="semi")
    assert found.sort(KEY).equals(expected.sort(KEY))


def test_one_gemeente_is_the_csv_table_filtered_to_it(csv: Path, tmp_path: Path) -> None:
    found = read_pc6hnr_prepared(csv, cache=tmp_path / "cache", gemeente_code="GM0479")
    expected = read_pc6hnr(csv).filter(pl.col("gemeente_code") == "GM0479")
    assert found.sort(KEY).equals(expected.sort(KEY)) and found.height > 0
