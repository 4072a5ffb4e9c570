"""Read one partner upload (CSV in any of the agreed dialects, or XLSX) as batches of text cells.

Partners export from whatever system they have: Excel "CSV" in Windows-1252 with ``;``, UTF-8
with a BOM, Excel "Unicode text" (UTF-16, tab-separated), or an XLSX workbook. This connector
detects encoding, delimiter and file type from the content (not the file name), and returns
every cell as text, so that validation sees exactly what the partner wrote. Nothing here
interprets addresses.

Files are read in batches of rows, so a file of hundreds of megabytes is processed in bounded
memory. UTF-8 files (the format we ask for, and what most systems export) are streamed from
disk by polars. Windows-1252 and UTF-16 files come from Excel, which cannot export more than
about a million rows: they are decoded in memory, then batched.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl
from python_calamine import CalamineWorkbook

from factlab.errors import FactlabError

ROW_COLUMN = "rij"  # spreadsheet row number: header is row 1, first data row is row 2
BATCH_ROWS = 500_000
DUPLICATE_SUFFIX = "_duplicated_"  # polars' name for a repeated header; XLSX does the same
_XLSX_MAGIC = b"PK\x03\x04"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"
_DELIMITERS = (";", ",", "\t")
_SNIFF_BYTES = 1 << 16
_CHUNK_BYTES = 1 << 20


class UnreadableFile(FactlabError):
    """The file cannot be read as a delivery at all; the message says why, in Dutch."""


@dataclass(frozen=True)
class PartnerFile:
    """An upload whose format is known; :meth:`batches` reads it (again) from the start.

    Reading is repeatable because a run decides about a file (accept or quarantine) after one
    pass over all its rows, and only then stages the accepted rows in a second pass.
    """

    path: Path
    file_format: str  # "csv" or "xlsx"
    encoding: str | None
    delimiter: str | None
    sheet: str | None = None

    def describe(self) -> dict[str, str | None]:
        """The detected format as it appears in the receipt (Dutch keys)."""
        described = {
            "type": self.file_format,
            "codering": self.encoding,
            "scheidingsteken": {";": ";", ",": ",", "\t": "tab"}.get(self.delimiter or ""),
        }
        if self.sheet is not None:
            described["werkblad"] = self.sheet
        return described

    def batches(self, rows: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
        """Frames of at most ``rows`` rows: ``rij`` + one String column per header cell."""
        if self.file_format == "xlsx":
            yield from _xlsx_batches(self.path, self.sheet, rows)
        elif self.encoding in ("utf-8", "utf-8-sig"):
            yield from _csv_file_batches(self.path, self.delimiter or ";", rows)
        else:
            text = self.path.read_bytes().decode(self.encoding or "cp1252", errors="replace")
            yield from _csv_text_batches(text, self.delimiter or ";", rows)


def _is_utf8(path: Path) -> bool:
    """Decode the whole file incrementally: one bad byte anywhere means it is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _encoding(path: Path, head: bytes) -> str:
    if head.startswith(_UTF8_BOM):
        return "utf-8-sig"
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    return "utf-8" if _is_utf8(path) else "cp1252"


def _header_line(text: str) -> str:
    text = text.lstrip("\ufeff\r\n")
    if not text.strip():
        raise UnreadableFile("het bestand is leeg")
    return text.split("\n", 1)[0].rstrip("\r")


def _delimiter(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in _DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    if counts[best] == 0:
        raise UnreadableFile(
            "de kopregel bevat geen scheidingsteken (; , of tab); is dit een CSV-bestand met "
            "een kopregel?"
        )
    return best


def _check_header(names: list[str]) -> None:
    if not any(name.strip() for name in names):
        raise UnreadableFile("de kopregel is leeg; de eerste regel moet de kolomnamen bevatten")


def _drop_blank_rows(frame: pl.DataFrame) -> pl.DataFrame:
    cells = [c for c in frame.columns if c != ROW_COLUMN]
    if not cells:
        return frame
    filled = pl.any_horizontal(pl.col(c).str.strip_chars().fill_null("") != "" for c in cells)
    return frame.filter(filled)


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    return _drop_blank_rows(frame.with_columns(pl.col(ROW_COLUMN).cast(pl.Int64)))


def _scan_options(delimiter: str) -> dict[str, object]:
    return {
        "separator": delimiter,
        "infer_schema": False,
        "truncate_ragged_lines": True,
        "raise_if_empty": False,
    }


def _csv_file_batches(path: Path, delimiter: str, rows: int) -> Iterator[pl.DataFrame]:
    """Slice by slice: each slice is parsed on demand, so at most one batch is in memory.

    (``collect_batches`` would be simpler, but it reads ahead of a slow consumer without bound.)
    Blank lines stay as empty records, so ``rij`` counts records as a spreadsheet shows them.
    """
    scan = pl.scan_csv(path, **_scan_options(delimiter)).with_row_index(ROW_COLUMN, offset=2)  # type: ignore[arg-type]
    offset = 0
    while True:
        try:
            batch = scan.slice(offset, rows).collect()
        except pl.exceptions.PolarsError as error:
            raise UnreadableFile(
                f"het bestand is geen leesbare CSV ({type(error).__name__})"
            ) from None
        yield _finish(batch)
        if batch.height < rows:
            return
        offset += rows


def _csv_text_batches(text: str, delimiter: str, rows: int) -> Iterator[pl.DataFrame]:
    try:
        frame = pl.read_csv(
            io.BytesIO(text.lstrip("\ufeff").encode("utf-8")),
            **_scan_options(delimiter),  # type: ignore[arg-type]
        ).with_row_index(ROW_COLUMN, offset=2)
    except pl.exceptions.PolarsError as error:
        raise UnreadableFile(f"het bestand is geen leesbare CSV ({type(error).__name__})") from None
    for offset in range(0, max(frame.height, 1), rows):
        yield _finish(frame.slice(offset, rows))


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _open_workbook(path: Path) -> CalamineWorkbook:
    """Open a workbook with calamine (Rust): about ten times faster than openpyxl.

    Like Excel, it reads formula cells as their stored result, never as a formula.
    """
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises several types for a damaged workbook
        raise UnreadableFile(
            f"het Excel-bestand is niet te openen ({type(error).__name__})"
        ) from None


def _header_names(header: Sequence[object]) -> list[str]:
    names: list[str] = []
    for position, cell in enumerate(header):
        name = _cell_text(cell) or ""
        names.append(name if name not in names else f"{name}{DUPLICATE_SUFFIX}{position}")
    return names


def _first_filled_sheet(path: Path) -> str:
    """The first worksheet with a header row: a leading empty or cover sheet is skipped."""
    workbook = _open_workbook(path)
    for name in workbook.sheet_names:
        header = next(iter(workbook.get_sheet_by_name(name).iter_rows()), None)
        if header and any(_cell_text(c) and str(c).strip() for c in header):
            return str(name)
    raise UnreadableFile("de werkmap bevat geen werkblad met een kopregel")


def _xlsx_batches(path: Path, sheet_name: str | None, rows: int) -> Iterator[pl.DataFrame]:
    workbook = _open_workbook(path)
    sheet = workbook.get_sheet_by_name(sheet_name) if sheet_name else workbook.get_sheet_by_index(0)
    cells = iter(sheet.iter_rows())
    names = _header_names(next(cells, ()))
    _check_header(names)
    schema = {ROW_COLUMN: pl.Int64} | dict.fromkeys(names, pl.String)
    records: list[list[object]] = []
    for index, row in enumerate(cells):
        texts = [_cell_text(cell) for cell in row[: len(names)]]
        records.append([index + 2, *texts, *[None] * (len(names) - len(texts))])
        if len(records) == rows:
            yield _drop_blank_rows(pl.DataFrame(records, schema=schema, orient="row"))
            records = []
    yield _drop_blank_rows(pl.DataFrame(records, schema=schema, orient="row"))


def _csv_header_names(header_line: str, delimiter: str) -> list[str]:
    return next(csv.reader([header_line], delimiter=delimiter), [])


def open_partner_file(path: Path) -> PartnerFile:
    """Detect an upload's format; raise :class:`UnreadableFile` if it is no table at all."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith(_XLSX_MAGIC):
        return PartnerFile(path, "xlsx", None, None, _first_filled_sheet(path))
    if b"\0" in head[:8192] and not head.startswith(_UTF16_BOMS):
        raise UnreadableFile(
            "dit is geen tekstbestand (binaire inhoud); lever CSV (UTF-8 of Windows-1252) of XLSX aan"
        )
    encoding = _encoding(path, head)
    header = _header_line(head.decode(encoding, errors="replace"))
    delimiter = _delimiter(header)
    _check_header(_csv_header_names(header, delimiter))
    return PartnerFile(path, "csv", encoding, delimiter)
