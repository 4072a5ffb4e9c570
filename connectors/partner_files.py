"""Read one partner upload (CSV in any of the agreed dialects, or XLSX) into a string frame.

Partners export from whatever system they have: Excel "CSV" in Windows-1252 with ``;``, UTF-8
with a BOM, tab-separated text, or an XLSX workbook. This connector detects encoding, delimiter
and file type from the content (not the file name), and returns every cell as text, so that
validation sees exactly what the partner wrote. Nothing here interprets addresses.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from factlab.errors import FactlabError

ROW_COLUMN = "rij"  # spreadsheet row number: header is row 1, first data row is row 2
_XLSX_MAGIC = b"PK\x03\x04"
_DELIMITERS = (";", ",", "\t")


class UnreadableFile(FactlabError):
    """The file cannot be read as a delivery at all; the message says why, in Dutch."""


@dataclass(frozen=True)
class RawTable:
    """A partner file as text cells plus what was detected about its format."""

    frame: pl.DataFrame  # ``rij`` + one String column per header cell, names as written
    file_format: str  # "csv" or "xlsx"
    encoding: str | None
    delimiter: str | None


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


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


def read_csv_text(text: str) -> tuple[pl.DataFrame, str]:
    """Parse CSV text (header required) into string columns plus ``rij``."""
    text = text.lstrip("\r\n")
    first = text.split("\n", 1)[0]
    if not text.strip():
        raise UnreadableFile("het bestand is leeg")
    delimiter = _delimiter(first)
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            separator=delimiter,
            infer_schema=False,
            truncate_ragged_lines=True,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as error:
        raise UnreadableFile(f"het bestand is geen leesbare CSV ({type(error).__name__})") from None
    _check_header(frame.columns)
    frame = frame.with_row_index(ROW_COLUMN, offset=2).with_columns(
        pl.col(ROW_COLUMN).cast(pl.Int64)
    )
    return _drop_blank_rows(frame), delimiter


def _cell_text(value: object) -> str | None:
    if value is None:
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


def read_xlsx(path: Path) -> pl.DataFrame:
    """First sheet of a workbook as text cells plus ``rij``."""
    from openpyxl import load_workbook  # imported here: only XLSX uploads pay for it

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged workbook
        raise UnreadableFile(
            f"het Excel-bestand is niet te openen ({type(error).__name__})"
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise UnreadableFile("het eerste werkblad is leeg")
        names = [_cell_text(cell) or "" for cell in header]
        _check_header(names)
        records = []
        for index, row in enumerate(rows):
            cells = [_cell_text(cell) for cell in row]
            if any(cell and cell.strip() for cell in cells):
                records.append((index + 2, cells))
    finally:
        workbook.close()
    columns: dict[str, list[object]] = {ROW_COLUMN: [r for r, _ in records]}
    for position, name in enumerate(names):
        columns[name if name not in columns else f"{name}_duplicated_{position}"] = [
            cells[position] if position < len(cells) else None for _, cells in records
        ]
    schema = {name: pl.String for name in columns} | {ROW_COLUMN: pl.Int64}
    return pl.DataFrame(columns, schema=schema)


def read_partner_file(path: Path) -> RawTable:
    """Read an upload whatever its dialect; raise :class:`UnreadableFile` if it is no table."""
    data = path.read_bytes()
    if data.startswith(_XLSX_MAGIC):
        return RawTable(read_xlsx(path), "xlsx", None, None)
    if b"\0" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile(
            "dit is geen tekstbestand (binaire inhoud); lever CSV (UTF-8 of Windows-1252) of XLSX aan"
        )
    text, encoding = _decode(data)
    frame, delimiter = read_csv_text(text)
    return RawTable(frame, "csv", encoding, delimiter)
