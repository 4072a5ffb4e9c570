"""The partner-file reader on random and hostile bytes: it reads, or refuses without echoing.

Whatever the bytes, :func:`open_partner_file` and a full pass over the batches either succeed or
raise :class:`UnreadableFile`; any other exception is a bug. A refusal's message holds no slice
of the input: neither the planted canary nor any 12-character run of the file's text.
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from factlab.connectors.partner_files import (
    SOURCE_ROW,
    ReadCounts,
    ReadLimits,
    UnreadableFile,
    open_partner_file,
)
from tests import hostile
from tests.hostile import CANARY, HEADER, rows

SMALL = ReadLimits(max_line_chars=4_000, max_cell_chars=1_000, max_rows=500)
WINDOW = 12
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _texts(data: bytes) -> list[str]:
    """The input as a reader could decode it."""
    texts = [data.decode(codec, errors="replace") for codec in ("utf-8", "cp1252")]
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        texts.append(data.decode("utf-16", errors="replace"))
    return texts


def _echoes(message: str, data: bytes) -> bool:
    if CANARY in message:
        return True
    for text in _texts(data):
        for start in range(len(text) - WINDOW + 1):
            window = text[start : start + WINDOW]
            if window.strip() and window in message:
                return True
    return False


def _read_or_refuse(data: bytes, name: str = "a.csv") -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            for _ in open_partner_file(path, SMALL).batches(rows=50):
                pass
        except UnreadableFile as error:
            assert not _echoes(str(error), data), type(error).__name__


CSV_PIECES = [b";", b",", b"\t", b'"', b'""', b"\n", b"\r", b"\r\n", b"\x00", b"\xff\xfe"]
CSV_PIECES += [b"\xef\xbb\xbf", b"\xe9", b"\xc3", b"\x80", CANARY.encode(), b"1503AB", b"12"]
VALID_CSV = hostile.csv_bytes([[*row, CANARY] for row in rows(20)], [*HEADER, "opmerking"])
VALID_XLSX = hostile.xlsx([[*HEADER, "opmerking"], *[[*row, CANARY] for row in rows(20)]])


@FUZZ
@given(st.binary(max_size=4_000))
def test_random_bytes(data: bytes) -> None:
    _read_or_refuse(data)


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.sampled_from(CSV_PIECES),
            st.binary(max_size=20),
        ),
        max_size=200,
    )
)
@example([b";", b"!\n", b"\n\x01"])  # an empty header cell: polars renamed it "column_0"
def test_csv_shaped_noise(pieces: list[bytes]) -> None:
    _read_or_refuse(b"".join(pieces))


@FUZZ
@given(
    position=st.integers(0, len(VALID_CSV)),
    insert=st.binary(max_size=40) | st.sampled_from([b'"', b"\x00", b"\r", b"\xff" * 3]),
    cut=st.booleans(),
)
def test_a_mutated_delivery(position: int, insert: bytes, cut: bool) -> None:
    data = VALID_CSV[:position] if cut else VALID_CSV[:position] + insert + VALID_CSV[position:]
    _read_or_refuse(data)


@FUZZ
@given(st.integers(4, len(VALID_XLSX)))
def test_a_truncated_workbook(length: int) -> None:
    _read_or_refuse(VALID_XLSX[:length], "a.xlsx")


def _members(workbook: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@FUZZ
@given(
    member=st.sampled_from(sorted(_members(VALID_XLSX))),
    position=st.integers(0, 2_000),
    insert=st.binary(max_size=30) | st.sampled_from([b"<", b"&", b"<!DOCTYPE x>", b'"', b"\x00"]),
)
@example(member="_rels/.rels", position=31, insert=b"-")  # encoding="U-TF-8": a LookupError
def test_a_workbook_with_a_damaged_part(member: str, position: int, insert: bytes) -> None:
    members = _members(VALID_XLSX)
    part = members[member]
    members[member] = part[:position] + insert + part[position:]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    _read_or_refuse(buffer.getvalue(), "a.xlsx")


def test_named_hostile_files() -> None:
    for data in (
        hostile.secrets_file(),
        hostile.huge_line(200_000, 20_000),
        hostile.quote_closed_later(),
        hostile.quote_never_closed(),
        hostile.csv_bytes(rows(3)) + b"\x00" * 100,
        b"\xff\xfe" + b"\x00\xd8" * 50,  # UTF-16 with lone surrogates
        CANARY.encode() * 1_000,
        hostile.xlsx_claiming(100),
    ):
        _read_or_refuse(data)
        _read_or_refuse(data, "a.xlsx")


# --- Round trip: what a CSV writer writes is what the reader reads, row for row ----------------

PLAIN = st.text(alphabet=st.sampled_from('ab Zoë1;,"\t'), max_size=8)
BROKEN = st.text(alphabet=st.sampled_from("ab Zoë1\n"), max_size=8)  # a line break, no delimiter
TABLES = st.lists(st.lists(PLAIN | BROKEN, min_size=3, max_size=3), max_size=30)


@FUZZ
@given(
    table=TABLES,
    end=st.sampled_from(["\n", "\r\n", "\r"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    quote_all=st.booleans(),
)
def test_written_rows_read_back_and_add_up(
    table: list[list[str]], end: str, encoding: str, quote_all: bool
) -> None:
    buffer = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    # CRLF makes the writer quote any cell with a line break; then the row ends are replaced
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=quoting)
    writer.writerows([["kolom a", "kolom b", "kolom c"], *table, ["x", "y", "z"]])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.csv"
        path.write_bytes(buffer.getvalue().replace("\r\n", end).encode(encoding))
        counts = ReadCounts()
        frames = list(open_partner_file(path).batches(rows=7, counts=counts))
    read = pl.concat(frames)
    written = [*table, ["x", "y", "z"]]
    filled = [i for i, row in enumerate(written) if any(cell.strip() for cell in row)]
    assert counts.rows == len(written)
    assert counts.rows == read.height + counts.blank_rows
    assert read[SOURCE_ROW].to_list() == [i + 2 for i in filled]
    cells = [[cell or None for cell in written[i]] for i in filled]
    assert [list(row[1:]) for row in read.rows()] == cells


XLSX_CELLS = (
    st.text(alphabet=st.sampled_from('ab Zoë1;,"<&\n'), max_size=8).filter(str.strip)
    | st.integers(-(10**9), 10**9)
    | st.integers(-(10**8), 10**8).map(lambda n: n / 100)  # amounts, as a partner has them
    | st.none()
)


def _shown(cell: object) -> str | None:
    """A cell as Excel shows it in text: 12 for 12.0, 12.5 for 12.5."""
    if cell is None:
        return None
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    return str(cell)


@FUZZ
@given(st.lists(st.lists(XLSX_CELLS, min_size=3, max_size=3), min_size=1, max_size=25))
def test_workbook_cells_read_back(table: list[list[object]]) -> None:
    header = ["kolom a", "kolom b", "kolom c"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.xlsx"
        path.write_bytes(hostile.xlsx([header, *table, ["x", "y", "z"]]))
        counts = ReadCounts()
        read = pl.concat(list(open_partner_file(path).batches(rows=7, counts=counts)))
    written = [*table, ["x", "y", "z"]]
    filled = [i for i, row in enumerate(written) if any(cell is not None for cell in row)]
    assert read[SOURCE_ROW].to_list() == [i + 2 for i in filled]
    assert [list(row[1:]) for row in read.rows()] == [
        [_shown(cell) for cell in written[i]] for i in filled
    ]
    assert counts.rows == read.height + counts.blank_rows
