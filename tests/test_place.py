"""Placement in buurt/wijk from the CBS pc6hnr table in its real format."""

import os
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from factlab.connectors.cbs import read_pc6hnr
from factlab.connectors.cbs_prepared import CACHE_ENVIRONMENT, prepare, read_pc6hnr_addresses
from factlab.errors import ReferenceFileError
from factlab.place import INDEX_SUFFIX, AddressIndex, place, placement_counts


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


ADDRESS_TABLE = (
    "PC6;Huisnummer;Buurt2024;Wijk2024;Gemeente2024\n"
    "9999ZZ;1;09990101;099901;0999\n"
    "1503AB;12;04790101;047901;0479\n"
    "1503AB;14;04790101;047901;0479\n"
    "1503AB;16;04790101;047902;0479\n"  # the buurt of the row before, in another wijk ...
    "1503AB;18;04790101;047902;0480\n"  # ... and in another gemeente: each row its own areas
    "1503AB;12;04790102;047901;0479\n"  # a repeat: the first row counts
    "1503AA;100012;04790103;047901;0479\n"  # its integer key is 1503AB 12's
    "1025LL;119;0363NC01;0363NC;0363\n"
    " 1503ac ;3;04790102;047901;0479\n"
    "12345;5;04790102;047901;0479\n"  # no PC6
    "1503AC;99999;04790102;047901;0479\n"
)


@pytest.mark.parametrize("shared_key", [True, False], ids=["key-shared", "keys-unique"])
@settings(max_examples=60, deadline=None)
@example(wanted=[("1503AA", 100012), ("1503AB", 12)])  # 1503AA 100012 has 1503AB 12's key
@given(
    wanted=st.lists(
        st.tuples(
            st.sampled_from(["1503AB", "1503AC", "1503AA", "9999ZZ", "1025LL", "12345", ""]),
            st.one_of(st.none(), st.sampled_from([1, 3, 5, 12, 14, 16, 18, 119, 99999, 100012])),
        ),
        max_size=12,
    )
)
def test_the_address_index_finds_what_reading_the_prepared_copy_finds(
    tmp_path_factory: pytest.TempPathFactory, wanted: list[tuple[str, int | None]], shared_key: bool
) -> None:
    """Held whole, the table places a batch as the rows read from the prepared copy place it."""
    folder = tmp_path_factory.mktemp("pc6hnr")
    table = ADDRESS_TABLE if shared_key else ADDRESS_TABLE.replace("1503AA;100012", "1503AA;7")
    csv = _write(folder / "pc6hnr.csv", table)
    # Not monkeypatch (function-scoped, shared by hypothesis's examples); the process's own
    # cache folder (tests/conftest.py) is set again afterwards, not removed.
    with mock.patch.dict(os.environ, {CACHE_ENVIRONMENT: str(folder / "cache")}):
        index = AddressIndex.load(csv)
        valid = pl.DataFrame(
            [(f"k{n}", pc, nr, "WMO-HH") for n, (pc, nr) in enumerate(wanted)],
            schema={"adres_sleutel": pl.String, "postcode": pl.String, "huisnummer": pl.Int64,
                    "voorziening": pl.String},
            orient="row",
        )  # fmt: skip
        expected = read_pc6hnr_addresses(csv, valid.select("postcode", "huisnummer"))
        for gemeente in ("GM0479", "GM0363", "GM9999"):
            assert index.place(valid, gemeente).equals(place(valid, expected, gemeente))


def test_the_address_index_is_saved_beside_the_prepared_copy_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later check reads the saved index instead of building it, with the same rows; a
    saved index that cannot be read is built and saved again; one of an earlier version goes."""
    monkeypatch.setenv(CACHE_ENVIRONMENT, str(tmp_path / "cache"))
    csv = _write(tmp_path / "pc6hnr.csv", ADDRESS_TABLE)
    valid = pl.DataFrame({"postcode": ["1503AB", "1503AC", "9999ZZ"], "huisnummer": [1, 3, 5]})
    earlier = prepare(csv).with_name(prepare(csv).stem + ".adresindex-0.arrow")
    earlier.write_bytes(b"an index of an earlier version")
    built = AddressIndex.load(csv).place(valid, "GM0479")
    (saved,) = (tmp_path / "cache").rglob(f"*{INDEX_SUFFIX}")
    assert not earlier.exists()  # removed when the current one was saved
    monkeypatch.setattr(AddressIndex, "build", None)  # a second build would fail
    assert AddressIndex.load(csv).place(valid, "GM0479").equals(built)
    monkeypatch.undo()
    monkeypatch.setenv(CACHE_ENVIRONMENT, str(tmp_path / "cache"))
    saved.write_bytes(saved.read_bytes()[:100])  # cut short, as by a full disk
    assert AddressIndex.load(csv).place(valid, "GM0479").equals(built)
    assert pl.read_ipc(saved).height == AddressIndex.build(pl.scan_parquet(prepare(csv))).height


def test_a_huisnummer_over_99999_is_found_although_its_key_is_another_postcodes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1503AA 100012 has the integer key of 1503AB 12: both ways of placing tell them apart."""
    monkeypatch.setenv(CACHE_ENVIRONMENT, str(tmp_path / "cache"))
    csv = _write(tmp_path / "pc6hnr.csv", ADDRESS_TABLE)
    valid = pl.DataFrame(
        {"adres_sleutel": ["a", "b"], "postcode": ["1503AA", "1503AB"], "huisnummer": [100012, 12]}
    )
    expected = ["BU04790103", "BU04790101"]
    read = read_pc6hnr_addresses(csv, valid.select("postcode", "huisnummer"))
    assert place(valid, read, "GM0479").get_column("buurt_code").to_list() == expected
    held = AddressIndex.load(csv).place(valid, "GM0479")
    assert held.get_column("buurt_code").to_list() == expected


def test_an_index_of_a_table_without_a_valid_postcode_places_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held whole, a table whose rows all lack a PC6 (so an index without areas) finds no
    address, as the rows read from the prepared copy find none."""
    monkeypatch.setenv(CACHE_ENVIRONMENT, str(tmp_path / "cache"))
    csv = _write(
        tmp_path / "pc6hnr.csv",
        "PC6;Huisnummer;Buurt2024;Wijk2024;Gemeente2024\n12345;5;04790102;047901;0479\n",
    )
    valid = pl.DataFrame({"adres_sleutel": ["a"], "postcode": ["1503AB"], "huisnummer": [12]})
    read = read_pc6hnr_addresses(csv, valid.select("postcode", "huisnummer"))
    held = AddressIndex.load(csv).place(valid, "GM0479")
    assert held.equals(place(valid, read, "GM0479"))
    assert placement_counts(held) == {"geplaatst": 0, "onbekend": 1, "buiten_gemeente": 0}
