"""Hostile and odd files at reader level: each is read right, or refused with its own message.

The files come from :mod:`tests.hostile` (generated, nothing committed). A refused file's message
is Dutch, names rows and lines by number, and never carries the planted :data:`CANARY`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from factlab.config import PartnerSettings
from factlab.connectors.limits import (
    SETTINGS,
    CellTooLong,
    CompressionTooHigh,
    DamagedWorkbook,
    EmptyFile,
    FileTooLarge,
    HeaderOnly,
    LineTooLong,
    MemberTooLarge,
    NoDelimiter,
    NotAFile,
    QuoteSpansRows,
    RowSpansTooManyLines,
    TextsTooLong,
    TooManyColumns,
    TooManyMembers,
    TooManyRows,
    TooManyTexts,
    UnclosedQuote,
)
from factlab.connectors.partner_files import (
    DEFAULT_LIMITS,
    LIMIT_ERRORS,
    SOURCE_ROW,
    ReadCounts,
    ReadLimits,
    UnreadableFile,
    open_partner_file,
)
from factlab.intake import MissingColumns, Upload, open_delivery
from tests import hostile
from tests.hostile import CANARY, HEADER, rows


def _write(tmp_path: Path, data: bytes, name: str = "a.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _read_all(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> tuple[pl.DataFrame, ReadCounts]:
    counts = ReadCounts()
    frames = list(open_partner_file(path, limits).batches(counts=counts))
    return pl.concat(frames), counts


def _refusal(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        _read_all(path, limits)
    message = str(caught.value)
    assert CANARY not in message and "1503AB" not in message
    return caught.value


# --- Dialects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "cp1252"])
def test_every_line_ending_in_every_encoding(tmp_path: Path, end: str, encoding: str) -> None:
    header = [*HEADER, "opmerking"]
    table = [[*row, "Zoë"] for row in rows(4)]
    data = hostile.csv_bytes(table, header, end=end, encoding=encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # Excel writes the BOM; big-endian is rare but legal
    frame, counts = _read_all(_write(tmp_path, data))
    assert frame[SOURCE_ROW].to_list() == [2, 3, 4, 5]
    assert frame["opmerking"].to_list() == ["Zoë"] * 4
    assert (counts.rows, counts.blank_rows) == (4, 0)


def test_mixed_line_endings_and_a_line_break_in_a_quoted_cell(tmp_path: Path) -> None:
    header = ";".join([*HEADER, "opmerking"])
    lines = [f"1503AB;{i};;;WMO-HH;;;" for i in range(1, 6)]
    lines[2] += '"regel een\r\nregel twee"'
    data = (header + "\r\n" + lines[0] + "\r" + lines[1] + "\n" + "\r\n".join(lines[2:])).encode()
    frame, counts = _read_all(_write(tmp_path, data))
    assert frame[SOURCE_ROW].to_list() == [2, 3, 4, 5, 6]  # the quoted break starts no row
    assert frame["huisnummer"].to_list() == ["1", "2", "3", "4", "5"]
    assert frame["opmerking"][2] == "regel een\nregel twee"
    assert counts.rows == 5


def test_blank_rows_are_counted_so_the_rows_add_up(tmp_path: Path) -> None:
    lines = hostile.csv_text(rows(3))
    data = (
        "\n".join([lines[0], lines[1], "", ";;;;;;", lines[2], lines[3], "", ""]) + "\n"
    ).encode()
    frame, counts = _read_all(_write(tmp_path, data))
    assert frame[SOURCE_ROW].to_list() == [2, 5, 6]
    assert (counts.rows, counts.blank_rows) == (7, 4)
    assert counts.rows == frame.height + counts.blank_rows


def test_a_quote_inside_a_cell_is_text(tmp_path: Path) -> None:
    remark = 'Jan "de Bakker", 12" scherm'
    data = (";".join([*HEADER, "x"]) + "\n1503AB;1;;;WMO-HH;;;" + remark + "\n").encode()
    frame, _ = _read_all(_write(tmp_path, data))
    assert frame["x"].to_list() == [remark]


# --- Quotes that do not close ----------------------------------------------------------------


def test_a_quote_closed_70_lines_later_is_refused_with_its_row(tmp_path: Path) -> None:
    error = _refusal(_write(tmp_path, hostile.quote_closed_later(70, total=100, at_row=12)))
    assert isinstance(error, QuoteSpansRows)
    assert str(error).startswith("rij 12 (regel 12 tot en met 13 van het bestand)")


def test_a_quote_closed_later_on_lines_that_are_no_rows_is_refused_by_length(
    tmp_path: Path,
) -> None:
    lines = [";".join([*HEADER, "opmerking"]), "1503AB;1;;;WMO-HH;;;" + f'"{CANARY}']
    lines += ["vrije tekst"] * 20 + ['eind"', "1503AB;2;;;WMO-HH;;;"]
    error = _refusal(_write(tmp_path, ("\n".join(lines) + "\n").encode()))
    assert isinstance(error, RowSpansTooManyLines)
    assert "rij 2 (vanaf regel 2 van het bestand)" in str(error)


def test_a_multi_line_row_with_another_width_is_refused(tmp_path: Path) -> None:
    lines = [";".join(HEADER), '1503AB;1;"a', 'b";;WMO-HH', "1503AB;2;;;WMO-HH;;"]
    error = _refusal(_write(tmp_path, ("\n".join(lines) + "\n").encode()))
    assert isinstance(error, QuoteSpansRows)
    assert "regel 2 tot en met 3" in str(error)


def test_a_quote_never_closed_is_refused_with_its_row(tmp_path: Path) -> None:
    lines = [";".join([*HEADER, "x"]), "1503AB;1;;;WMO-HH;;;", f'1503AB;2;;;WMO-HH;;;"{CANARY}']
    lines += ["vrije tekst"] * 3
    error = _refusal(_write(tmp_path, ("\n".join(lines) + "\n").encode()))
    assert isinstance(error, UnclosedQuote)
    assert str(error).startswith("rij 3 (regel 3 van het bestand)")


# --- Files that are no delivery ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "refusal"),
    [
        (b"", EmptyFile),
        (b"\r\n\r\n  \n", EmptyFile),
        (";".join(HEADER).encode() + b"\n", HeaderOnly),
        (";".join(HEADER).encode() + b"\r\n;;;;;;\r\n\r\n", HeaderOnly),
        (hostile.secrets_file(), NoDelimiter),
    ],
    ids=["leeg", "witruimte", "alleen-kop", "kop-en-lege-regels", "geheimen"],
)
def test_files_without_data_are_refused(tmp_path: Path, data: bytes, refusal: type) -> None:
    assert isinstance(_refusal(_write(tmp_path, data)), refusal)


def test_a_header_only_workbook_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, hostile.xlsx([HEADER]), "a.xlsx")
    assert isinstance(_refusal(path), HeaderOnly)


def test_a_headerless_file_names_no_cell_in_its_message(tmp_path: Path) -> None:
    table = [["1503AB", "12", "", "", "WMO-HH", f"{CANARY} Jansen", ""], *rows(3)]
    path = _write(tmp_path, "\n".join(";".join(r) for r in table).encode() + b"\n")
    delivery = open_delivery(Upload("p", path, ""), PartnerSettings(naam="p"))
    with pytest.raises(MissingColumns) as caught:
        list(delivery.batches())
    message = str(caught.value)
    assert CANARY not in message and "Jansen" not in message and "WMO" not in message
    assert "7 andere kolom(men), namen niet getoond" in message
    assert "lijkt de eerste regel gegevens" in message


def test_missing_columns_name_only_the_recognised_ones(tmp_path: Path) -> None:
    header = ["Post code", CANARY, "opmerking"]
    path = _write(tmp_path, hostile.csv_bytes([["1503AB", "x", "y"]], header))
    delivery = open_delivery(Upload("p", path, ""), PartnerSettings(naam="p"))
    with pytest.raises(MissingColumns) as caught:
        list(delivery.batches())
    message = str(caught.value)
    assert message.startswith(
        "verplichte kolom(men) ontbreken: huisnummer, voorziening (herkende kolommen: postcode; "
        "2 andere kolom(men), namen niet getoond"
    )
    assert CANARY not in message and "opmerking" not in message


# --- A partner column named like a bookkeeping column -------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_partner_column_named_rij_is_just_a_column(tmp_path: Path, kind: str) -> None:
    header = ["rij", *HEADER]
    table = [["99", *row] for row in rows(3)]
    data = hostile.xlsx([header, *table]) if kind == "xlsx" else hostile.csv_bytes(table, header)
    path = _write(tmp_path, data, f"a.{kind}")
    delivery = open_delivery(Upload("p", path, ""), PartnerSettings(naam="p"))
    (raw, mapped), *_ = list(delivery.batches())
    assert raw["rij"].to_list() == ["99"] * 3
    assert mapped["rij"].to_list() == [2, 3, 4]
    assert mapped["huisnummer"].to_list() == ["1", "2", "3"]


# --- Workbooks ---------------------------------------------------------------------------------


def test_workbook_cells_read_as_excel_shows_them(tmp_path: Path) -> None:
    table = [
        HEADER,
        ["1503AB", 12, "a", "", "WMO-HH", datetime(2026, 3, 1), 12.5],
        ["1503AB", 13.0, True, "", "WMO-HH", datetime(2026, 3, 1, 12, 30), ""],
    ]
    path = _write(tmp_path, hostile.xlsx(table, sheets_before=1), "a.xlsx")
    assert open_partner_file(path).describe()["werkblad"] == "Data"
    frame, _ = _read_all(path)
    assert frame.rows() == [
        (2, "1503AB", "12", "a", None, "WMO-HH", "2026-03-01", "12.5"),
        (3, "1503AB", "13", "TRUE", None, "WMO-HH", "2026-03-01T12:30:00", None),
    ]


def test_a_far_away_cell_costs_nothing(tmp_path: Path) -> None:
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    xml = hostile.sheet_xml(hostile.inline_row(1, HEADER) + hostile.inline_row(2, rows(1)[0]) + far)
    frame, counts = _read_all(_write(tmp_path, hostile.xlsx_with_sheet_xml(xml), "a.xlsx"))
    assert frame[SOURCE_ROW].to_list() == [2]
    assert (counts.rows, counts.blank_rows) == (2, 1)


@pytest.mark.parametrize(
    ("data", "refusal"),
    [
        (hostile.xlsx_claiming(0xFFFFFFF0), MemberTooLarge),
        (hostile.xlsx_claiming(10 << 30), MemberTooLarge),  # 10 GiB, zip64
        (hostile.xlsx_claiming(100), DamagedWorkbook),  # the directory lies: CRC check fails
        (b"PK\x03\x04" + b"kapot" * 50, DamagedWorkbook),
        (hostile.xlsx_with_sheet_xml(b'<!DOCTYPE x [<!ENTITY a "b">]><x/>'), DamagedWorkbook),
    ],
    ids=["claims-4-GiB", "claims-10-GiB", "lying-directory", "truncated", "doctype"],
)
def test_damaged_and_oversized_workbooks_are_refused(
    tmp_path: Path, data: bytes, refusal: type
) -> None:
    assert isinstance(_refusal(_write(tmp_path, data, "a.xlsx")), refusal)


def _peak_rss_of_reading(path: Path) -> tuple[str, int]:
    """Read ``path`` in a fresh process: (its refusal class or "gelezen", peak RSS in bytes)."""
    code = (
        "import json, resource, sys\n"
        "from pathlib import Path\n"
        "from factlab.connectors.partner_files import UnreadableFile, open_partner_file\n"
        "try:\n"
        "    for _ in open_partner_file(Path(sys.argv[1])).batches(): pass\n"
        "    outcome = 'gelezen'\n"
        "except UnreadableFile as error:\n"
        "    outcome = type(error).__name__\n"
        "print(json.dumps([outcome, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    outcome, peak = json.loads(done.stdout)
    return outcome, peak


@pytest.mark.parametrize(
    ("make", "refusal"),
    [
        (lambda: hostile.xlsx_bomb(64 << 20), CompressionTooHigh),  # 64 MiB sheet in ~200 KB
        (lambda: hostile.xlsx_claiming(10 << 30), MemberTooLarge),  # 10 GiB sheet in ~5 KB
    ],
    ids=["inpakverhouding", "10-GiB"],
)
def test_a_zip_bomb_is_refused_before_it_is_unpacked(
    tmp_path: Path, make: Callable[[], bytes], refusal: type
) -> None:
    path = _write(tmp_path, make(), "bom.xlsx")
    assert path.stat().st_size < 1 << 20
    outcome, peak = _peak_rss_of_reading(path)
    assert outcome == refusal.__name__
    assert peak < 1 << 30


def test_a_20_mb_line_of_1_4_million_fields_is_refused_early(tmp_path: Path) -> None:
    path = _write(tmp_path, hostile.huge_line(20 << 20, 1_400_000))
    outcome, peak = _peak_rss_of_reading(path)
    assert outcome == LineTooLong.__name__
    assert peak < 1 << 30


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
@pytest.mark.parametrize("limit", [60, 400_000], ids=["kort", "langer-dan-een-leesblok"])
def test_the_line_limit_counts_characters_not_bytes(
    tmp_path: Path, encoding: str, limit: int
) -> None:
    """A line of exactly the limit in two-byte characters (twice the limit in UTF-8 bytes) is
    read; one character more is refused, naming its line."""
    limits = ReadLimits(max_line_chars=limit, max_cell_chars=limit)
    header = "postcode;huisnummer;voorziening;opmerking\n1503AB;12;WMO-HH;kort\n"
    cell = "ë" * (limit - len("1503AB;14;WMO-HH;"))
    fits = _write(tmp_path, f"{header}1503AB;14;WMO-HH;{cell}\n".encode(encoding))
    frame, _ = _read_all(fits, limits)
    assert frame.get_column("opmerking").to_list() == ["kort", cell]
    over = _write(tmp_path, f"{header}1503AB;14;WMO-HH;{cell}ë\n".encode(encoding), "b.csv")
    refusal = _refusal(over, limits)
    assert isinstance(refusal, LineTooLong) and "regel 3" in str(refusal)


# --- Every limit, each with its own refusal -----------------------------------------------------


def _tiny(**limit: int) -> ReadLimits:
    return ReadLimits(**limit)


def _shared_strings_workbook(texts: list[str]) -> bytes:
    return hostile.xlsx(
        [HEADER, *[[*row[:6], text] for row, text in zip(rows(len(texts)), texts, strict=True)]]
    )


LIMIT_CASES = {  # the refusal -> (limits just below the file, the file, its kind)
    FileTooLarge: (_tiny(max_file_bytes=100), lambda: hostile.csv_bytes(rows(10)), "csv"),
    TooManyRows: (_tiny(max_rows=5), lambda: hostile.csv_bytes(rows(6)), "csv"),
    TooManyColumns: (_tiny(max_columns=5), lambda: hostile.csv_bytes(rows(2)), "csv"),
    LineTooLong: (
        _tiny(max_line_chars=60),
        lambda: hostile.csv_bytes([[*rows(1)[0][:6], "x" * 80]]),
        "csv",
    ),
    CellTooLong: (
        _tiny(max_cell_chars=20),
        lambda: hostile.csv_bytes([[*rows(1)[0][:6], '"' + "x;" * 15 + '"']]),
        "csv",
    ),
    RowSpansTooManyLines: (
        _tiny(max_lines_per_row=3),
        lambda: hostile.csv_bytes([[*rows(1)[0][:6], '"a\nb\nc\nd"']]),
        "csv",
    ),
    TooManyMembers: (_tiny(max_xlsx_members=3), lambda: hostile.xlsx([HEADER, *rows(2)]), "xlsx"),
    MemberTooLarge: (
        _tiny(max_xlsx_member_bytes=500),
        lambda: hostile.xlsx([HEADER, *rows(2)]),
        "xlsx",
    ),
    CompressionTooHigh: (  # a plain workbook: its 1.3 MB sheet deflates about ten times
        _tiny(max_xlsx_ratio=2),
        lambda: hostile.xlsx([HEADER, *rows(8000)]),
        "xlsx",
    ),
    TooManyTexts: (
        _tiny(max_shared_strings=5),
        lambda: _shared_strings_workbook(list("abcdefgh")),
        "xlsx",
    ),
    TextsTooLong: (
        _tiny(max_shared_string_chars=50),
        lambda: _shared_strings_workbook(["x" * 30, "y" * 30]),
        "xlsx",
    ),
}


def test_every_limit_has_a_case() -> None:
    assert set(LIMIT_CASES) == set(LIMIT_ERRORS)
    assert {error.limit for error in LIMIT_ERRORS} == set(SETTINGS)


@pytest.mark.parametrize("refusal", LIMIT_ERRORS, ids=lambda e: e.limit)
def test_each_limit_refuses_with_its_own_message(tmp_path: Path, refusal: type) -> None:
    limits, data, kind = LIMIT_CASES[refusal]
    path = _write(tmp_path, data(), f"a.{kind}")
    _read_all(path)  # within the default limits the file is fine
    error = _refusal(path, limits)
    assert type(error) is refusal
    template = refusal.message.split("{")[0]
    assert str(error).startswith(template)


def test_limits_come_from_the_settings_with_dutch_keys() -> None:
    limits = ReadLimits.from_settings({"max_rijen": 10, "max_afgewezen": 0.1})
    assert limits == ReadLimits(max_rows=10)
    with pytest.raises(ValueError, match="max_cellengte moet een positief geheel getal"):
        ReadLimits.from_settings({"max_cellengte": 0})
    with pytest.raises(ValueError):
        ReadLimits(max_rows=-1)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "a.csv"
    os.mkfifo(fifo)
    with pytest.raises(NotAFile):
        open_partner_file(fifo)
