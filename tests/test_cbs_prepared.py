"""The prepared CBS table gives exactly what the CSV gives, is made once per release, and
filtering to the postcodes present keeps every row of those postcodes."""

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from cbs_fixtures import write_pc6hnr
from hypothesis import example, given, settings
from hypothesis import strategies as st

from factlab.connectors.cbs import read_pc6hnr
from factlab.connectors.cbs_prepared import (
    LOCK_FILE,
    cache_folder,
    gemeente_areas,
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


def _files(cache: Path) -> Iterator[Path]:
    """What the cache folder holds besides its lock file."""
    return (p for p in cache.iterdir() if p.name != LOCK_FILE)


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
    assert [p.name for p in _files(cache) if p.name.startswith(".")] == []  # no temp left


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


@given(st.lists(st.from_regex(r"\A[0-9]{4}[A-Z]{2}\Z"), max_size=20))
def test_each_postcode_has_a_key_of_its_own(postcodes: list[str]) -> None:
    """Placing joins on the key instead of the text: two postcodes never share one."""
    frame = pl.DataFrame({"p": postcodes}, schema={"p": pl.String})
    pairs = frame.select("p", k=postcode_key(pl.col("p"))).unique()
    assert pairs.get_column("k").null_count() == 0  # also 0123AB
    assert pairs.get_column("k").n_unique() == pairs.get_column("p").n_unique()


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
# No row with a valid postcode, and not in file order: the postcode path saw no batch at all.
@example(rows=[("", "12", "04790101"), ("", "1", "04790101"), ("", "1", "04790101")])
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
    in_copy_order = read_pc6hnr_prepared(path, cache=folder / "cache").join(
        addresses, on=KEY, how="semi", maintain_order="left"
    )
    assert found.equals(in_copy_order)  # the same rows in the same order every run


def test_a_gemeentes_areas_are_those_of_its_rows_in_the_csv_table(
    csv: Path, tmp_path: Path
) -> None:
    areas = ["wijk_code", "buurt_code"]
    for code in ("GM0479", "GM0363", "0479", "GM", "GM047"):
        found = gemeente_areas(csv, code, cache=tmp_path / "cache")
        expected = read_pc6hnr(csv).filter(pl.col("gemeente_code") == code).select(areas)
        assert found.equals(expected.unique().sort(areas))
        assert (found.height > 0) == (code in {"GM0479", "GM0363"})


# --------------------------------------------------------------------------- the copy itself
# Preparing streams the CSV: a table in key order is written as it comes, any other order is
# sorted per key range. Either way the copy must hold exactly what the earlier preparation
# held: read_pc6hnr's rows (the first of each address) with the key, sorted as a whole.


def _sorted_whole(path: Path) -> pl.DataFrame:
    """The earlier preparation: the whole table in memory, one stable sort."""
    return (
        read_pc6hnr(path)
        .with_columns(pc6_sleutel=postcode_key(pl.col("postcode")))
        .sort(["pc6_sleutel", *KEY], nulls_last=True, maintain_order=True)
    )


def _copy(path: Path, cache: Path) -> pl.DataFrame:
    """The copy in its order as its readers see it (codes prefixed), with its key column."""
    keys = pl.read_parquet(prepare(path, cache), columns=["pc6_sleutel"])
    return read_pc6hnr_prepared(path, cache=cache).with_columns(keys)


def _write(path: Path, lines: list[str], *, newline: str = "\n", separator: str = ";") -> Path:
    header = TABLE.splitlines()[0].replace(";", separator)
    path.write_bytes((newline.join([header, *lines]) + newline).encode("utf-8"))
    return path


ROW = st.tuples(
    st.sampled_from(
        ["1503AB", "1503AC", "1000AA", "9999ZZ", "0123AB", " 1503ab ", "15O3AB", "1503A", "é"]
    ),
    st.sampled_from(["1", "12", "2", " 12 ", "", "abc", "99999", "²", "١٢"]),
    st.sampled_from(["04790101", "04790102", "0363AF01", " 09990101"]),
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(ROW, max_size=40),
    st.sampled_from(["file", "postcodes", "full"]),
    st.sampled_from(["\n", "\r\n"]),
)
def test_the_copy_is_the_table_sorted_whole_in_any_order(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str, str]],
    order: str,
    newline: str,
) -> None:
    """Same rows in the same order as sorting the whole table, whether the CSV comes in key
    order (written as it comes), with each postcode's rows together (sorted per batch) or in
    any order (sorted per key range), plain or with spaces."""
    folder = tmp_path_factory.mktemp("pc6hnr")
    lines = [f"{pc};{nr};{bu};{bu[:6]};{bu[:4]}" for pc, nr, bu in rows]
    path = _write(folder / "pc6hnr.csv", lines, newline=newline)
    if order != "file":  # the file order of sorting (CBS publishes the table so), or by key only
        ordered = _line_order(path, by_number=order == "full")
        path = _write(path, [lines[i] for i in ordered], newline=newline)
    assert _copy(path, folder / "cache").equals(_sorted_whole(path))


def _line_order(path: Path, *, by_number: bool) -> list[int]:
    """The line numbers of ``path`` sorted by key, postcode and huisnummer (``by_number``) or
    by key alone (stably): all lines, repeats and invalid rows too."""
    raw = pl.read_csv(path, separator=";", infer_schema=False, truncate_ragged_lines=True)
    postcode = pl.col("PC6").str.strip_chars().str.to_uppercase()
    order = ["sleutel", "postcode", "nummer"] if by_number else ["sleutel"]
    return (
        raw.with_row_index("rij")
        .select(
            "rij",
            sleutel=postcode_key(postcode),
            postcode=postcode,
            nummer=pl.col("Huisnummer").str.strip_chars().cast(pl.Int64, strict=False),
        )
        .sort(order, nulls_last=True, maintain_order=True)
        .get_column("rij")
        .to_list()
    )


def _only(monkeypatch: pytest.MonkeyPatch, *allowed: str) -> None:
    """Let preparing take only the ``allowed`` of its ways beyond writing the CSV as it comes."""
    import factlab.connectors.cbs_prepared as prepared

    for way in ("_by_postcode", "_by_key_range"):
        if way not in allowed:

            def not_this_way(*_: object, way: str = way) -> None:
                raise AssertionError(f"{way} not expected here")

            monkeypatch.setattr(prepared, way, not_this_way)


def _national_like(rows: int) -> list[str]:
    """``rows`` lines in key order, 20 addresses per postcode, every address twice in a row
    (the second one's buurt differs: the first must win), so that repeats and postcodes
    straddle the reader's batch boundaries."""
    lines = []
    for i in range(rows // 2):
        pc4, letters = divmod(i // 20, 676)
        postcode = f"{1000 + pc4:04d}{chr(65 + letters // 26)}{chr(65 + letters % 26)}"
        number = i % 20 + 1
        lines += [
            f"{postcode};{number};04790101;047901;0479",
            f"{postcode};{number};09990101;099901;0999",
        ]
    return lines


def test_in_key_order_across_batches_the_first_of_each_address_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 000 rows: the streamed reader hands them over in several batches."""
    path = _write(tmp_path / "pc6hnr.csv", _national_like(20_000))
    _only(monkeypatch)  # written as it comes
    copy = _copy(path, tmp_path / "cache")
    assert copy.equals(_sorted_whole(path))
    assert copy.height == 10_000 and set(copy.get_column("gemeente_code")) == {"GM0479"}


def test_postcodes_in_order_and_numbers_as_text_are_sorted_per_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Huisnummers 1, 10, 11, ..., 2 within each postcode; a postcode's rows at the end of
    one batch continue in the next."""
    lines = _national_like(20_000)
    lines.sort(key=lambda line: (line[:6], line.split(";")[1]))  # stable: the first stays first
    path = _write(tmp_path / "pc6hnr.csv", lines)
    _only(monkeypatch, "_by_postcode")
    copy = _copy(path, tmp_path / "cache")
    assert copy.equals(_sorted_whole(path)) and copy.height == 10_000
    assert set(copy.get_column("gemeente_code")) == {"GM0479"}


def test_one_row_out_of_order_near_the_end_is_sorted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _national_like(20_000)
    lines[-3], lines[-300] = lines[-300], lines[-3]
    path = _write(tmp_path / "pc6hnr.csv", lines)
    _only(monkeypatch, "_by_key_range")
    copy = _copy(path, tmp_path / "cache")
    assert copy.equals(_sorted_whole(path)) and copy.height == 10_000
    assert copy.get_column("pc6_sleutel").is_sorted()
    assert [p.name for p in _files(tmp_path / "cache")] == [prepare(path, tmp_path / "cache").name]


def test_postcodes_in_order_at_first_only_are_sorted_per_key_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first lines look like postcode order, the end is not: sorting per batch stops."""
    lines = _national_like(20_000)
    lines.sort(key=lambda line: (line[:6], line.split(";")[1]))
    lines[-3], lines[-300] = lines[-300], lines[-3]
    path = _write(tmp_path / "pc6hnr.csv", lines)
    import factlab.connectors.cbs_prepared as prepared

    tried = []
    by_postcode = prepared._by_postcode

    def spy(rows: pl.LazyFrame) -> Iterator[pl.DataFrame]:
        tried.append(True)
        return by_postcode(rows)

    monkeypatch.setattr(prepared, "_by_postcode", spy)
    copy = _copy(path, tmp_path / "cache")
    assert tried and copy.equals(_sorted_whole(path)) and copy.height == 10_000


@pytest.mark.parametrize("as_zip", [False, True], ids=["csv", "zip"])
def test_prepared_from_the_zip_as_cbs_ships_it(tmp_path: Path, as_zip: bool) -> None:
    table = pl.DataFrame(
        {
            "PC6": ["1011AB", "1011AB", "9166LA", "1012CD"],
            "Huisnummer": ["1", "3", "12", "4"],
            "buurt": ["0363AF01", "0363AF01", "00880000", "0363AF02"],
            "wijk": ["0363AF", "0363AF", "008800", "0363AF"],
            "gemeente": ["0363", "0363", "0088", "0363"],
        }
    )
    path = write_pc6hnr(
        tmp_path / ("pc6hnr.zip" if as_zip else "pc6hnr.csv"), table, 2024, separator=",",
        as_zip=as_zip,
    )  # fmt: skip
    assert _copy(path, tmp_path / "cache").equals(_sorted_whole(path))


def test_a_table_unreadable_halfway_leaves_no_copy_and_no_spill(tmp_path: Path) -> None:
    lines = _national_like(6_000)
    lines[4_000] = '1503AB;"12;04790101;047901;0479'  # a quote never closed
    path = _write(tmp_path / "pc6hnr.csv", lines)
    with pytest.raises(ReferenceFileError, match="kan niet als CSV gelezen worden"):
        prepare(path, tmp_path / "cache")
    assert list(_files(tmp_path / "cache")) == []


@pytest.mark.parametrize(
    ("body", "plain"),
    [
        ("1503AB;12;04790101;047901;0479\n", True),
        ("1503AB;12;04790101;047901;0479\r\n1503AB;14;04790101;047901;0479\r\n", True),
        ("1503AB;12;04790101;047901;0479\r1503AB;14;04790101;047901;0479\n", False),
        ("1503ab;12;04790101;047901;0479\n", False),
        ("1503AB ;12;04790101;047901;0479\n", False),
        ('"1503AB";12;04790101;047901;0479\n', False),
        ("1503AB;12;04790101;047901;0479\u00a0\n", False),
        ("1503AB,12,04790101,047901,0479\n", False),  # not the separator
    ],
)
def test_only_a_file_of_digits_and_capitals_is_read_without_trimming(
    tmp_path: Path, body: str, plain: bool
) -> None:
    from factlab.connectors.cbs import _pc6hnr_plain

    path = tmp_path / "pc6hnr.csv"
    path.write_bytes((TABLE.splitlines()[0] + "\r\n" + body).encode("utf-8"))
    assert _pc6hnr_plain(path, ";") is plain
    assert _copy(path, tmp_path / "cache").equals(_sorted_whole(path))


def _key_by_hand(text: str) -> int | None:
    if len(text.encode("utf-8")) != 6:
        return None
    try:
        number = int(text[:4])
    except ValueError:
        return None
    letters = text[4:]
    if not (len(letters) == 2 and all("A" <= c <= "Z" for c in letters)):
        return None
    return number * 676 + (ord(letters[0]) - 65) * 26 + ord(letters[1]) - 65


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.from_regex(r"[0-9]{4}[A-Z]{2}", fullmatch=True),
            st.text(alphabet="0123456789ABYZabz +-é ", max_size=7),
        ),
        max_size=20,
    )
)
def test_postcode_key_is_four_digits_and_two_capitals(texts: list[str]) -> None:
    keys = pl.DataFrame({"p": texts}, schema={"p": pl.String}).select(postcode_key(pl.col("p")))
    assert keys.to_series().to_list() == [_key_by_hand(t) for t in texts]


def test_what_a_killed_preparation_left_is_removed_by_the_next(csv: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    stale_copy = cache / ".pc6hnr-0123.parquet.4242.tmp"
    stale_spill = cache / ".pc6hnr-0123.parquet.abc123"
    fresh_copy = cache / ".pc6hnr-0123.parquet.4343.tmp"  # another run preparing right now
    stale_index = cache / ".pc6hnr-0123.adresindex-1.arrow.4444.5f3a.tmp"  # a killed check's
    stale_copy.write_bytes(b"half")
    (stale_spill / "3.arrow").parent.mkdir()
    (stale_spill / "3.arrow").write_bytes(b"rows")
    fresh_copy.write_bytes(b"half")
    stale_index.write_bytes(b"half")
    two_hours_ago = time.time() - 7200
    for path in (stale_copy, stale_spill, stale_index):
        os.utime(path, (two_hours_ago, two_hours_ago))
    copy = prepare(csv, cache)
    assert sorted(p.name for p in _files(cache)) == sorted([copy.name, fresh_copy.name])


def test_a_copy_being_prepared_elsewhere_is_waited_for_and_used(csv: Path, tmp_path: Path) -> None:
    """Two processes needing the copy at once (a large check's readers) prepare it once."""
    cache = tmp_path / "cache"
    target = prepared_path(csv, cache)
    cache.mkdir()
    lock = os.open(cache / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)  # another process is preparing
    script = (
        "import sys; from pathlib import Path\n"
        "from factlab.connectors.cbs_prepared import prepare\n"
        "print(prepare(Path(sys.argv[1]), Path(sys.argv[2])))\n"
    )
    waiting = subprocess.Popen(
        [sys.executable, "-c", script, str(csv), str(cache)], stdout=subprocess.PIPE, text=True
    )
    try:
        time.sleep(2)
        assert waiting.poll() is None, "it did not wait for the preparation under way"
        read_pc6hnr_prepared(csv, cache=tmp_path / "elders")  # the other process's copy ...
        prepared_path(csv, tmp_path / "elders").replace(target)  # ... lands, then the lock goes
        made = target.stat().st_mtime_ns
    finally:
        os.close(lock)
    out, _ = waiting.communicate(timeout=60)
    assert waiting.returncode == 0 and Path(out.strip()) == target
    assert target.stat().st_mtime_ns == made, "it prepared the copy a second time"
