"""Read one partner upload (CSV in any of the agreed dialects, or XLSX) as batches of text cells.

Partners export from whatever system they have: Excel "CSV" in Windows-1252 with ``;``, UTF-8
with a BOM, Excel "Unicode text" (UTF-16, tab-separated), old Mac exports with CR line endings,
or an XLSX workbook. This connector detects encoding, delimiter and file type from the content
(not the file name), and returns every cell as text, so that validation sees exactly what the
partner wrote. Nothing here interprets addresses.

A file is also untrusted input: it may be damaged, or built to exhaust the machine. Every file
is read as a stream under :class:`ReadLimits` (file size, rows, columns, line and cell length;
for a workbook its zip directory is checked before anything is decompressed), so memory stays
bounded by the limits, not by what the file claims or expands to. Anything that stops a file
from being read raises an :class:`UnreadableFile` subclass with a Dutch message that never
quotes the file's content (a cell may hold an address, a header cell too).

The encoding rule (documented for partners in ``docs/aanleverformaat.md``): a UTF-8 BOM means
UTF-8, a UTF-16 BOM means UTF-16; otherwise a file that is valid UTF-8 throughout is UTF-8, and
any other file is Windows-1252 (the only other encoding a Dutch Excel writes). Guessing among
more encodings misreads short Dutch text: charset-normalizer takes Windows-1252 lines with
``café``, ``Brontë`` and an en dash for mac_latin2 (``BrontŽ``), so it is not used.

A CSV row may span several lines when a quoted cell holds a line break; but a row spanning more
than ``max_lines_per_row`` lines, a multi-line row with another number of fields than the
header, a continuation line that is a complete row by itself, or a quote never closed all mean
a forgotten quote: the file is refused with the row numbers, never merged silently.
"""

from __future__ import annotations

import codecs
import csv
import io
import posixpath
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar, Protocol
from xml.parsers import expat

import polars as pl

from factlab.errors import FactlabError

ROW_COLUMN = "rij"  # row number in mapped frames, rejections and receipts (a canonical name)
#: The row number in raw frames, beside the partner's own columns. A partner cannot produce this
#: name: a NUL makes a text file binary, XML cannot hold one, and header names are cleaned of
#: control characters anyway. So a partner column called ``rij`` is just a partner column.
SOURCE_ROW = "\x00rij"
BATCH_ROWS = 500_000
DUPLICATE_SUFFIX = "_duplicated_"  # a repeated header name gets this and its position
_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old .xls, or a password-protected workbook
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"
_DELIMITERS = (";", ",", "\t")
_SNIFF_BYTES = 1 << 16
_CHUNK_BYTES = 1 << 20
_BATCH_CHARS = 64 << 20  # an XLSX batch is cut early when its cells hold this much text
_BATCH_BYTES = 256 << 20  # and any batch when it takes this much memory
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _count_nl(n: int) -> str:
    """A count as Dutch readers write it: 20.000.000."""
    return f"{n:,}".replace(",", ".")


def _bytes_nl(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{_count_nl(n // size)} {unit}"
    return f"{_count_nl(n)} bytes"


@dataclass(frozen=True)
class ReadLimits:
    """What one file may cost. Each limit has its own refusal (see :data:`LIMIT_ERRORS`).

    The defaults are far above any real delivery and far below what hurts the machine.
    """

    max_file_bytes: int = 2 << 30  # an export of ~20 million rows
    max_rows: int = 20_000_000  # rows below the header
    max_columns: int = 1_000  # header cells
    max_line_chars: int = 1_000_000  # one line of a CSV file
    max_cell_chars: int = 32_767  # Excel's own limit for one cell
    max_lines_per_row: int = 10  # lines one CSV row may span (line breaks in quoted cells)
    max_xlsx_members: int = 1_000  # files inside the XLSX zip
    max_xlsx_member_bytes: int = 1 << 30  # one file inside the zip, uncompressed
    max_xlsx_ratio: int = 200  # uncompressed / compressed size of one zip member
    max_shared_strings: int = 5_000_000  # distinct texts in a workbook
    max_shared_string_chars: int = 100_000_000  # their total length, kept in memory

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ReadLimits.{name} must be a positive integer")

    @classmethod
    def from_settings(cls, section: Mapping[str, object]) -> ReadLimits:
        """The limits an edition sets in ``[aanlevering]`` (keys: :data:`SETTINGS`).

        Keys that are no limit belong to others and are left alone; a limit that is not a
        positive whole number raises :class:`ValueError` with a Dutch message.
        """
        values: dict[str, int] = {}
        for name, key in SETTINGS.items():
            if key in section:
                value = section[key]
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise ValueError(f"[aanlevering] {key} moet een positief geheel getal zijn")
                values[name] = value
        return cls(**values)


#: The ``factlab.toml`` key, in ``[aanlevering]``, of each limit.
SETTINGS: dict[str, str] = {
    "max_file_bytes": "max_bestand_bytes",
    "max_rows": "max_rijen",
    "max_columns": "max_kolommen",
    "max_line_chars": "max_regellengte",
    "max_cell_chars": "max_cellengte",
    "max_lines_per_row": "max_regels_per_rij",
    "max_xlsx_members": "max_xlsx_onderdelen",
    "max_xlsx_member_bytes": "max_xlsx_onderdeel_bytes",
    "max_xlsx_ratio": "max_xlsx_compressie",
    "max_shared_strings": "max_xlsx_teksten",
    "max_shared_string_chars": "max_xlsx_tekstlengte",
}
DEFAULT_LIMITS = ReadLimits()


class UnreadableFile(FactlabError):
    """The file cannot be read as a delivery at all; the message says why, in Dutch.

    Subclasses carry their message as :attr:`message`, a template whose fields are only numbers
    (row, line, limit), never content; ``docs/aanleverformaat.md`` lists every one of them.
    """

    message: ClassVar[str] = "het bestand is niet te lezen"

    def __init__(self, message: str | None = None, **fields: object) -> None:
        super().__init__(message if message is not None else self.message.format(**fields))


class CannotOpen(UnreadableFile):
    message = "het bestand is niet te openen"


class NotAFile(UnreadableFile):
    message = "dit is geen gewoon bestand (maar bijvoorbeeld een map of een pipe)"


class EmptyFile(UnreadableFile):
    message = "het bestand is leeg"


class BinaryFile(UnreadableFile):
    message = (
        "dit is geen tekstbestand (binaire inhoud); lever CSV (UTF-8 of Windows-1252) of XLSX aan"
    )


class OldExcelFile(UnreadableFile):
    message = (
        "dit is een oud Excel-bestand (.xls) of een werkmap met wachtwoord; sla het op als "
        "XLSX zonder wachtwoord of als CSV"
    )


class NoDelimiter(UnreadableFile):
    message = (
        "de kopregel bevat geen scheidingsteken (; , of tab); is dit een CSV-bestand met "
        "een kopregel?"
    )


class EmptyHeader(UnreadableFile):
    message = "de kopregel is leeg; de eerste regel moet de kolomnamen bevatten"


class HeaderOnly(UnreadableFile):
    message = (
        "het bestand bevat alleen een kopregel en geen gegevens; lever het bestand met de "
        "regels eronder"
    )


class NotCsv(UnreadableFile):
    message = "het bestand is geen leesbare CSV"


class UnclosedQuote(UnreadableFile):
    message = (
        'rij {rij} (regel {regel} van het bestand): een aanhalingsteken (") wordt nergens '
        "gesloten; de rest van het bestand zou in één cel belanden. Sluit of verwijder het "
        "aanhalingsteken"
    )


class QuoteSpansRows(UnreadableFile):
    message = (
        "rij {rij} (regel {regel} tot en met {tot} van het bestand): een cel tussen aanhalingstekens "
        "loopt over meerdere regels die zelf rijen lijken; waarschijnlijk ontbreekt een "
        'afsluitend aanhalingsteken (")'
    )


class DamagedWorkbook(UnreadableFile):
    message = "het Excel-bestand is niet te openen: het is beschadigd of geen geldige XLSX-werkmap"


class NoSheet(UnreadableFile):
    message = "de werkmap bevat geen werkblad met een kopregel"


class LimitExceeded(UnreadableFile):
    """A file costs more than :class:`ReadLimits` allows; ``limit`` names the field."""

    limit: ClassVar[str]

    @classmethod
    def of(cls, limits: ReadLimits, **fields: object) -> LimitExceeded:
        value = getattr(limits, cls.limit)
        return cls(grens=_count_nl(value), grootte=_bytes_nl(value), **fields)


class FileTooLarge(LimitExceeded):
    limit = "max_file_bytes"
    message = "het bestand is groter dan {grootte}; splits het in kleinere bestanden"


class TooManyRows(LimitExceeded):
    limit = "max_rows"
    message = "het bestand heeft meer dan {grens} rijen; splits het in kleinere bestanden"


class TooManyColumns(LimitExceeded):
    limit = "max_columns"
    message = "de kopregel heeft meer dan {grens} kolommen; lever alleen de gevraagde kolommen"


class LineTooLong(LimitExceeded):
    limit = "max_line_chars"
    message = (
        "regel {regel} van het bestand is langer dan {grens} tekens; is het scheidingsteken "
        "of het regeleinde goed?"
    )


class CellTooLong(LimitExceeded):
    limit = "max_cell_chars"
    message = "rij {rij}: een cel is langer dan {grens} tekens (de grens van Excel)"


class RowSpansTooManyLines(LimitExceeded):
    limit = "max_lines_per_row"
    message = (
        "rij {rij} (vanaf regel {regel} van het bestand) loopt over meer dan {grens} regels: "
        'waarschijnlijk ontbreekt een afsluitend aanhalingsteken (")'
    )


class TooManyMembers(LimitExceeded):
    limit = "max_xlsx_members"
    message = "de werkmap bestaat uit meer dan {grens} onderdelen; dit is geen gewone XLSX"


class MemberTooLarge(LimitExceeded):
    limit = "max_xlsx_member_bytes"
    message = "een onderdeel van de werkmap is uitgepakt groter dan {grootte}; splits de werkmap"


class CompressionTooHigh(LimitExceeded):
    limit = "max_xlsx_ratio"
    message = (
        "een onderdeel van de werkmap pakt uit tot meer dan {grens} keer zijn gecomprimeerde "
        "grootte; zo'n werkmap wordt niet geopend (zip-bom)"
    )


class TooManyTexts(LimitExceeded):
    limit = "max_shared_strings"
    message = "de werkmap bevat meer dan {grens} verschillende teksten; splits de werkmap"


class TextsTooLong(LimitExceeded):
    limit = "max_shared_string_chars"
    message = "de teksten in de werkmap zijn samen langer dan {grens} tekens; splits de werkmap"


#: Every limit's refusal, in the order of :class:`ReadLimits`.
LIMIT_ERRORS: tuple[type[LimitExceeded], ...] = (
    FileTooLarge,
    TooManyRows,
    TooManyColumns,
    LineTooLong,
    CellTooLong,
    RowSpansTooManyLines,
    TooManyMembers,
    MemberTooLarge,
    CompressionTooHigh,
    TooManyTexts,
    TextsTooLong,
)
#: Every other refusal of a file as a whole (missing columns are refused by the intake stage).
REFUSALS: tuple[type[UnreadableFile], ...] = (
    CannotOpen,
    NotAFile,
    EmptyFile,
    BinaryFile,
    OldExcelFile,
    NoDelimiter,
    EmptyHeader,
    HeaderOnly,
    NotCsv,
    UnclosedQuote,
    QuoteSpansRows,
    DamagedWorkbook,
    NoSheet,
)


@dataclass
class ReadCounts:
    """Filled while :meth:`PartnerFile.batches` reads: every row below the header is counted.

    ``rows`` counts the rows below the header as a spreadsheet shows them (a quoted line break
    does not start a row); ``blank_rows`` of them are empty and not in the batches. So the
    batches' rows plus ``blank_rows`` always add up to ``rows``.
    """

    rows: int = 0
    blank_rows: int = 0


@dataclass(frozen=True)
class PartnerFile:
    """An upload whose format is known; :meth:`batches` reads it (again) from the start.

    Reading is repeatable because a run decides about a file (accept or quarantine) after one
    pass over all its rows, and only then stages the accepted rows in a second pass. Any pass may
    raise :class:`UnreadableFile` (a limit or a forgotten quote far down the file); the file is
    unchanged between passes, so the first pass finds it.
    """

    path: Path
    file_format: str  # "csv" or "xlsx"
    encoding: str | None
    delimiter: str | None
    sheet: str | None = None
    limits: ReadLimits = DEFAULT_LIMITS

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

    def batches(
        self, rows: int = BATCH_ROWS, counts: ReadCounts | None = None
    ) -> Iterator[pl.DataFrame]:
        """Frames of at most ``rows`` rows: :data:`SOURCE_ROW` + one String column per header cell.

        Blank rows are left out (and counted in ``counts``); every row keeps its spreadsheet row
        number (the header is row 1 when it is on the first line).
        """
        counts = counts if counts is not None else ReadCounts()
        if self.file_format == "xlsx":
            table: _Table = _XlsxTable(self.path, self.sheet, self.limits)
        else:
            table = _CsvTable(
                self.path, self.encoding or "utf-8", self.delimiter or ";", self.limits
            )
        for frame in _rebatch(table.frames(), rows):
            counts.rows += frame.height
            kept = _drop_blank_rows(frame)
            counts.blank_rows += frame.height - kept.height
            yield kept


def _rebatch(frames: Iterable[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """The same rows in frames of ``rows`` rows, or fewer when they hold more than
    :data:`_BATCH_BYTES` (a workbook can repeat one long text in many cells)."""
    pending: list[pl.DataFrame] = []
    held = size = 0
    for frame in frames:
        pending.append(frame)
        held += frame.height
        size += frame.estimated_size()
        while held >= rows or (size >= _BATCH_BYTES and held):
            whole = pl.concat(pending, rechunk=False)
            yield whole.slice(0, rows)
            rest = whole.slice(rows)
            pending = [rest] if rest.height else []
            held, size = rest.height, rest.estimated_size() if rest.height else 0
    if held:
        yield pl.concat(pending)


def _drop_blank_rows(frame: pl.DataFrame) -> pl.DataFrame:
    cells = [c for c in frame.columns if c != SOURCE_ROW]
    filled = pl.any_horizontal(pl.col(c).str.strip_chars().fill_null("") != "" for c in cells)
    return frame.filter(filled)


def _header_names(cells: Iterable[str | None], limits: ReadLimits) -> list[str]:
    """Column names for the header cells: control characters removed, repeats made unique.

    Raises :class:`EmptyHeader` for a header without any name, and :class:`TooManyColumns`.
    """
    cleaned = [_CONTROL.sub("", cell or "") for cell in cells]
    if not any(name.strip() for name in cleaned):
        raise EmptyHeader()
    if len(cleaned) > limits.max_columns:
        raise TooManyColumns.of(limits)
    names: list[str] = []
    taken: set[str] = set()
    for position, name in enumerate(cleaned):
        while name in taken:
            name = f"{name}{DUPLICATE_SUFFIX}{position}"
        taken.add(name)
        names.append(name)
    return names


def _row_numbers(first_row: int, height: int) -> pl.Series:
    return pl.int_range(first_row, first_row + height, dtype=pl.Int64, eager=True).alias(SOURCE_ROW)


def _frame(numbers: pl.Series, names: list[str], columns: list[list[str | None]]) -> pl.DataFrame:
    """A raw frame: the row numbers, then one String column per header name."""
    frame = pl.DataFrame(
        [
            pl.Series(name, column, dtype=pl.String)
            for name, column in zip(names, columns, strict=True)
        ]
    )
    return frame.insert_column(0, numbers)


class _Table(Protocol):
    """A file as a stream of raw frames (row number + header columns), blank rows included."""

    def frames(self) -> Iterator[pl.DataFrame]: ...


# --- CSV ------------------------------------------------------------------------------------


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


@dataclass
class _Lines:
    """Physical lines of a text file, in blocks, with every kind of line ending (LF, CRLF, CR).

    Memory is bounded by the block size and ``max_line_chars``: a line growing past the limit is
    refused as soon as it does, however long it would have become.
    """

    path: Path
    encoding: str
    limits: ReadLimits
    consumed: int = 0  # lines yielded so far

    def blocks(self) -> Iterator[list[str]]:
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="replace")
        pending = ""
        with self.path.open("rb") as handle:
            while True:
                raw = handle.read(_CHUNK_BYTES)
                if handle.tell() > self.limits.max_file_bytes:  # it grew since it was opened
                    raise FileTooLarge.of(self.limits)
                text = pending + decoder.decode(raw, final=not raw)
                if "\x00" in text:
                    raise BinaryFile()
                if raw and text.endswith("\r"):  # maybe half a CRLF: decide with the next chunk
                    text, held = text[:-1], "\r"
                else:
                    held = ""
                text = text.replace("\r\n", "\n").replace("\r", "\n")
                cut = text.rfind("\n") + 1 if raw else len(text)
                lines = text[:cut].split("\n")
                if raw:
                    lines.pop()  # the empty string after the last line break
                elif lines and lines[-1] == "":
                    lines.pop()
                pending = text[cut:] + held
                self._check(lines, pending)
                if lines:
                    self.consumed += len(lines)
                    yield lines
                if not raw:
                    return

    def _check(self, lines: list[str], pending: str) -> None:
        limit = self.limits.max_line_chars
        if len(pending) > limit:
            raise LineTooLong.of(self.limits, regel=_count_nl(self.consumed + len(lines) + 1))
        if lines and max(map(len, lines)) > limit:
            index = next(i for i, line in enumerate(lines) if len(line) > limit)
            raise LineTooLong.of(self.limits, regel=_count_nl(self.consumed + index + 1))


def _quote_state(line: str, delimiter: str, quoted: bool) -> tuple[bool, int, int]:
    """(still inside a quoted cell at the end of ``line``, delimiters outside quotes, delimiters
    in the quoted cell the line starts in).

    The same reading as Python's csv module: a quote opens a quoted cell only at the start of a
    cell; inside one, ``""`` is a quote and ``"`` closes it.
    """
    outside = carried = 0
    in_carried = quoted
    at_start = not quoted
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if quoted:
            if ch == '"':
                if i + 1 < n and line[i + 1] == '"':
                    i += 1
                else:
                    quoted = in_carried = False
            elif ch == delimiter and in_carried:
                carried += 1
        elif ch == delimiter:
            outside += 1
            at_start = True
            i += 1
            continue
        elif ch == '"' and at_start:
            quoted = True
        at_start = False
        i += 1
    return quoted, outside, carried


def _closed_rows(delimiter: str) -> re.Pattern[str]:
    """Matches lines that are each a whole row: every quoted cell closes on its own line.

    A cell is quoted (``"..."`` with ``""`` inside, then anything up to the delimiter, as
    Python's csv module reads it) or does not start with a quote. Possessive quantifiers keep
    the match linear in the length of the text.
    """
    d = re.escape(delimiter)
    cell = rf'(?:"(?:[^"\n]++|"")*+"[^{d}\n]*+|(?:[^{d}"\n][^{d}\n]*+)?)'
    row = rf"{cell}(?:{d}{cell})*+"
    return re.compile(rf"{row}(?:\n{row})*+")


@dataclass
class _Records:
    """Rows of a CSV file as text (a row spans lines only inside a quoted cell), checked.

    ``expected_fields`` is the header's field count once the header is known: a row spanning
    lines must have it, and none of its continuation lines may look like a row by itself.
    """

    lines: _Lines
    delimiter: str
    limits: ReadLimits
    expected_fields: int | None = None
    rows: int = 0  # rows (records) yielded so far

    def __post_init__(self) -> None:
        self._closed = _closed_rows(self.delimiter)

    def blocks(self) -> Iterator[tuple[list[str], bool]]:
        """(rows, whether any holds a quote) per block of lines."""
        open_row: list[str] = []  # lines of a row whose quoted cell is still open
        open_fields = open_line = open_rij = 0
        for lines in self.lines.blocks():
            first_line = self.lines.consumed - len(lines) + 1
            if not open_row:
                text = "\n".join(lines)
                if self._whole_rows(text):
                    self.rows += len(lines)
                    yield lines, '"' in text
                    continue
            rows: list[str] = []
            for offset, line in enumerate(lines):
                if not open_row and self._whole_rows(line):
                    rows.append(line)
                    continue
                quoted, fields, quoted_delimiters = _quote_state(
                    line, self.delimiter, bool(open_row)
                )
                if open_row:
                    open_fields += fields
                    if self._swallowed_a_row(quoted_delimiters):
                        raise self._spans(open_rij, open_line, len(open_row) + 1)
                else:
                    open_fields = fields
                    open_line = first_line + offset
                    open_rij = self.rows + len(rows) + 1
                open_row.append(line)
                if quoted:
                    if len(open_row) >= self.limits.max_lines_per_row:
                        raise RowSpansTooManyLines.of(
                            self.limits, rij=_count_nl(open_rij), regel=_count_nl(open_line)
                        )
                    continue
                if len(open_row) > 1 and self.expected_fields not in (None, open_fields + 1):
                    raise self._spans(open_rij, open_line, len(open_row))
                rows.append("\n".join(open_row))
                open_row = []
            self.rows += len(rows)
            yield rows, True
        if open_row:
            raise UnclosedQuote(rij=_count_nl(open_rij), regel=_count_nl(open_line))

    def _whole_rows(self, text: str) -> bool:
        """True if every line of ``text`` (starting outside quotes) is a whole row.

        Quick when every run of quotes is even (``""``, as many exports write an empty cell):
        such a run at the start of a cell opens and closes it, anywhere else it is text.
        """
        return '"' not in text.replace('""', "") or bool(self._closed.fullmatch(text))

    def _swallowed_a_row(self, quoted_delimiters: int) -> bool:
        """A continuation line whose quoted part holds a whole row's delimiters is a row that a
        forgotten quote swallowed (a real multi-line cell rarely holds that many)."""
        expected = self.expected_fields or 0
        return expected > 1 and quoted_delimiters >= expected - 1

    @staticmethod
    def _spans(rij: int, line: int, lines: int) -> QuoteSpansRows:
        return QuoteSpansRows(
            rij=_count_nl(rij), regel=_count_nl(line), tot=_count_nl(line + lines - 1)
        )


def _blank(record: str, delimiter: str) -> bool:
    return not record.replace(delimiter, "").replace('"', "").strip()


def _delimiter(header: str) -> str:
    counts = {sep: header.count(sep) for sep in _DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    if counts[best] == 0:
        raise NoDelimiter()
    return best


def _split(records: list[str], delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(records, delimiter=delimiter))
    except csv.Error:
        raise NotCsv() from None


_Block = tuple[list[str], int, bool]  # rows, row number of the first, whether any has a quote


@dataclass
class _CsvTable:
    path: Path
    encoding: str
    delimiter: str
    limits: ReadLimits

    def _records(self, expected_fields: int | None) -> _Records:
        lines = _Lines(self.path, self.encoding, self.limits)
        return _Records(lines, self.delimiter, self.limits, expected_fields)

    def _header(self) -> tuple[list[str], int]:
        """The header names and the header's row number (blank lines above it are rows).

        Read from the lines directly, so that every row below it is checked against its width.
        """
        lines = _Lines(self.path, self.encoding, self.limits)
        parts: list[str] = []
        quoted, first = False, 0
        for block in lines.blocks():
            for offset, line in enumerate(block):
                if not parts:
                    if not line.strip():
                        continue
                    first = lines.consumed - len(block) + offset + 1
                parts.append(line)
                quoted, _, _ = _quote_state(line, self.delimiter, quoted)
                if not quoted:
                    record = "\n".join(parts)
                    return _header_names(_split([record], self.delimiter)[0], self.limits), first
                if len(parts) >= self.limits.max_lines_per_row:
                    raise RowSpansTooManyLines.of(
                        self.limits, rij=_count_nl(first), regel=_count_nl(first)
                    )
        if parts:
            raise UnclosedQuote(rij=_count_nl(first), regel=_count_nl(first))
        raise EmptyFile()

    def data(self) -> tuple[list[str], Iterator[_Block]]:
        """The header names, and the blocks of rows below the header."""
        names, header_row = self._header()
        records = self._records(len(names))

        def blocks() -> Iterator[_Block]:
            for rows, quoted in records.blocks():
                first = records.rows - len(rows) + 1
                skip = max(0, header_row + 1 - first)
                if records.rows - header_row > self.limits.max_rows:
                    raise TooManyRows.of(self.limits)
                if len(rows) > skip:
                    yield rows[skip:], first + skip, quoted

        return names, blocks()

    def frames(self) -> Iterator[pl.DataFrame]:
        names, blocks = self.data()
        for rows, first_row, quoted in blocks:
            yield self._parse(rows, first_row, names, quoted)

    def _parse(
        self, rows: list[str], first_row: int, names: list[str], quoted: bool
    ) -> pl.DataFrame:
        text = "\n".join(row or self.delimiter for row in rows)  # an empty line is a blank row
        try:
            frame: pl.DataFrame | None = pl.read_csv(
                io.BytesIO(text.encode("utf-8")),
                has_header=False,
                schema=dict.fromkeys(names, pl.String),
                separator=self.delimiter,
                quote_char='"' if quoted else None,
                truncate_ragged_lines=True,
                raise_if_empty=False,
            )
        except pl.exceptions.PolarsError:
            frame = None
        if frame is not None and frame.height == len(rows):
            if quoted:  # a quoted empty cell ("") is as empty as an unquoted one
                frame = frame.with_columns(
                    pl.when(pl.col(n) != "").then(pl.col(n)).alias(n) for n in names
                )
            frame = frame.insert_column(0, _row_numbers(first_row, len(rows)))
        else:  # polars reads quotes more strictly than partners write them
            split = _split(rows, self.delimiter)
            columns = [
                [r[i] or None if i < len(r) else None for r in split] for i in range(len(names))
            ]
            frame = _frame(_row_numbers(first_row, len(rows)), names, columns)
        if max(map(len, rows)) > self.limits.max_cell_chars:
            _check_cells(frame, self.limits)
        return frame


def _check_cells(frame: pl.DataFrame, limits: ReadLimits) -> None:
    cells = [c for c in frame.columns if c != SOURCE_ROW]
    too_long = frame.filter(
        pl.any_horizontal(
            pl.col(c).str.len_chars().fill_null(0) > limits.max_cell_chars for c in cells
        )
    )
    if too_long.height:
        raise CellTooLong.of(limits, rij=_count_nl(too_long.item(0, SOURCE_ROW)))


def _open_csv(path: Path, head: bytes, limits: ReadLimits) -> PartnerFile:
    if b"\0" in head[:8192] and not head.startswith(_UTF16_BOMS):
        raise BinaryFile()
    encoding = _encoding(path, head)
    lines = _Lines(path, encoding, limits).blocks()
    first = next((line for block in lines for line in block if line.strip()), None)
    if first is None:
        raise EmptyFile()
    table = _CsvTable(path, encoding, _delimiter(first), limits)
    _, blocks = table.data()
    if all(_blank(row, table.delimiter) for rows, _, _ in blocks for row in rows):
        raise HeaderOnly()
    return PartnerFile(path, "csv", encoding, table.delimiter, None, limits)


# --- XLSX -----------------------------------------------------------------------------------

_DATE_FORMAT_IDS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 30, 36, 45, 46, 47, 50, 57})
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)
_MAX_SERIAL = 2_958_465  # 9999-12-31
_XML_READ = 1 << 16


def _member_count(path: Path) -> int:
    """Entries in the zip's central directory, from its end record (read before zipfile does)."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - (1 << 16) - 22))
        tail = handle.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) < end + 22:
        raise DamagedWorkbook()
    return int(struct.unpack("<H", tail[end + 10 : end + 12])[0])


def _check_zip(path: Path, limits: ReadLimits) -> zipfile.ZipFile:
    """Open the zip after checking its directory: member count, sizes and ratios."""
    if _member_count(path) > limits.max_xlsx_members:
        raise TooManyMembers.of(limits)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise DamagedWorkbook() from None
    try:
        _check_members(archive.infolist(), limits)
    except UnreadableFile:
        archive.close()
        raise
    return archive


def _check_members(members: list[zipfile.ZipInfo], limits: ReadLimits) -> None:
    if len(members) > limits.max_xlsx_members:
        raise TooManyMembers.of(limits)
    for member in members:
        if member.file_size > limits.max_xlsx_member_bytes:
            raise MemberTooLarge.of(limits)
        if member.file_size > (1 << 20) and (
            member.file_size > limits.max_xlsx_ratio * max(member.compress_size, 1)
        ):
            raise CompressionTooHigh.of(limits)


class _LocalNames(dict[str, str]):
    """Element name without its namespace (``ns row`` -> ``row``), remembered: a sheet has few."""

    def __missing__(self, name: str) -> str:
        local = self[name] = name.rsplit(" ", 1)[-1]
        return local


_local = _LocalNames().__getitem__


class _XmlStream:
    """Parse one zip member with expat, in chunks; no DTD, no entities (a workbook has none)."""

    def __init__(self, archive: zipfile.ZipFile, member: str) -> None:
        self.archive, self.member = archive, member
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.StartDoctypeDeclHandler = self._refuse
        self.parser.EntityDeclHandler = self._refuse
        self.parser.buffer_text = True

    @staticmethod
    def _refuse(*_: object) -> None:
        raise DamagedWorkbook()

    def chunks(self) -> Iterator[None]:
        """Feed the member to the parser; yields after each chunk so callers can drain."""
        try:
            with self.archive.open(self.member) as stream:
                while chunk := stream.read(_XML_READ):
                    self.parser.Parse(chunk, False)
                    yield
            self.parser.Parse(b"", True)
            yield
        except (
            KeyError,
            ValueError,
            RuntimeError,
            NotImplementedError,
            EOFError,
            expat.ExpatError,
            zipfile.BadZipFile,
            zlib.error,
        ):
            raise DamagedWorkbook() from None

    def run(self) -> None:
        for _ in self.chunks():
            pass


def _relationships(archive: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(id, type, member) of each relationship of ``part`` (its ``_rels/<name>.rels``)."""
    folder, name = posixpath.split(part)
    found: list[tuple[str, str, str]] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            member = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            found.append((attrs.get("Id", ""), attrs.get("Type", ""), posixpath.normpath(member)))

    rels = _XmlStream(archive, posixpath.join(folder, "_rels", f"{name}.rels"))
    rels.parser.StartElementHandler = start
    rels.run()
    return found


@dataclass
class _Workbook:
    """The parts of a workbook that say where its sheets are and how to read their cells."""

    sheets: list[tuple[str, str]]  # (name, member) in workbook order
    shared_strings_member: str | None
    date_styles: frozenset[int]
    epoch: datetime


def _workbook(archive: zipfile.ZipFile) -> _Workbook:
    """Follow the package's relationships to the workbook, its sheets, texts and styles.

    Element and attribute names are matched without their namespace, so both the usual
    (transitional) and the strict OOXML flavour are read.
    """
    main = [m for _, kind, m in _relationships(archive, "") if kind.endswith("/officeDocument")]
    if not main:
        raise DamagedWorkbook()
    sheets: list[tuple[str, str]] = []
    epoch = [_EXCEL_EPOCH]

    def book_start(name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "sheet":
            rid = next((v for k, v in attrs.items() if k.endswith(" id")), "")
            sheets.append((attrs.get("name", ""), rid))
        elif tag == "workbookPr" and attrs.get("date1904") in ("1", "true"):
            epoch[0] = _EPOCH_1904

    book = _XmlStream(archive, main[0])
    book.parser.StartElementHandler = book_start
    book.run()
    relations = _relationships(archive, main[0])
    targets = {rid: member for rid, _, member in relations}
    members = set(archive.namelist())
    located = [(name, targets.get(rid, "")) for name, rid in sheets]
    if not located or any(member not in members for _, member in located):
        raise DamagedWorkbook()

    def part(kind: str) -> str | None:
        found = [m for _, k, m in relations if k.endswith(kind) and m in members]
        return found[0] if found else None

    styles = part("/styles")
    date_styles = _date_styles(archive, styles) if styles else frozenset[int]()
    return _Workbook(located, part("/sharedStrings"), date_styles, epoch[0])


def _is_date_format(code: str) -> bool:
    bare = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", code).lower()
    return "d" in bare or "y" in bare


def _date_styles(archive: zipfile.ZipFile, member: str) -> frozenset[int]:
    """Indexes of the cell styles whose number format is a date (their numbers are dates)."""
    custom: dict[int, str] = {}
    formats: list[int] = []
    in_cell_xfs = [False]

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "numFmt":
            custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif tag == "cellXfs":
            in_cell_xfs[0] = True
        elif tag == "xf" and in_cell_xfs[0]:
            formats.append(int(attrs.get("numFmtId", "0")))

    def end(name: str) -> None:
        if _local(name) == "cellXfs":
            in_cell_xfs[0] = False

    styles = _XmlStream(archive, member)
    styles.parser.StartElementHandler = start
    styles.parser.EndElementHandler = end
    styles.run()
    return frozenset(
        index
        for index, fmt in enumerate(formats)
        if fmt in _DATE_FORMAT_IDS or (fmt in custom and _is_date_format(custom[fmt]))
    )


def _shared_strings(archive: zipfile.ZipFile, member: str | None, limits: ReadLimits) -> list[str]:
    """The workbook's texts, counted and measured while they stream in."""
    if member is None:
        return []
    texts: list[str] = []
    parts: list[str] = []
    state = {"t": False, "phonetic": 0, "chars": 0}

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "sst" and int(attrs.get("uniqueCount", "0") or 0) > limits.max_shared_strings:
            raise TooManyTexts.of(limits)
        if tag == "rPh":
            state["phonetic"] += 1
        elif tag == "t" and not state["phonetic"]:
            state["t"] = True

    def end(name: str) -> None:
        tag = _local(name)
        if tag == "rPh":
            state["phonetic"] -= 1
        elif tag == "t":
            state["t"] = False
        elif tag == "si":
            texts.append("".join(parts))
            parts.clear()
            if len(texts) > limits.max_shared_strings:
                raise TooManyTexts.of(limits)

    def data(text: str) -> None:
        if state["t"]:
            parts.append(text)
            state["chars"] += len(text)
            if state["chars"] > limits.max_shared_string_chars:
                raise TextsTooLong.of(limits)

    stream = _XmlStream(archive, member)
    stream.parser.StartElementHandler = start
    stream.parser.EndElementHandler = end
    stream.parser.CharacterDataHandler = data
    stream.run()
    return texts


class _ColumnIndexes(dict[str, int]):
    """Column letters to a 0-based index (``A`` -> 0, ``AA`` -> 26), remembered."""

    def __missing__(self, letters: str) -> int:
        index = 0
        for ch in letters:
            index = index * 26 + ord(ch.upper()) - 64
        self[letters] = index - 1
        return index - 1


_column_letters = _ColumnIndexes()


def _column_index(reference: str) -> int:
    return _column_letters[reference.rstrip("0123456789")]


def _number_text(value: str, is_date: bool, epoch: datetime) -> str:
    """A numeric cell as Excel shows it: 12 not 12.0, and a date-formatted one as ISO date."""
    try:
        number = float(value)
    except ValueError:
        return value
    if is_date and 0 <= number <= _MAX_SERIAL:
        moment = epoch + timedelta(days=number)
        moment = moment.replace(microsecond=0)
        return (
            moment.date().isoformat()
            if moment.time() == datetime.min.time()
            else moment.isoformat()
        )
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


class _SheetRows:
    """A worksheet's rows as (row number, {column: text}), streamed; limits checked per cell."""

    def __init__(
        self,
        archive: zipfile.ZipFile,
        book: _Workbook,
        member: str,
        texts: list[str],
        limits: ReadLimits,
    ) -> None:
        self.book, self.texts, self.limits = book, texts, limits
        self.width = limits.max_columns + 1  # the header's width once it is known
        self.done: list[tuple[int, dict[int, str]]] = []
        self.row = 0
        self.cells: dict[int, str] = {}
        self.column = -1
        self.cell_type = ""
        self.style = 0
        self.text: list[str] = []
        self.chars = 0
        self.collect = False
        self.stream = _XmlStream(archive, member)
        parser = self.stream.parser
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._data

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "row":
            self.row = int(attrs["r"]) if "r" in attrs else self.row + 1
            if self.row - 1 > self.limits.max_rows:
                raise TooManyRows.of(self.limits)
            self.cells = {}
            self.column = -1
        elif tag == "c":
            reference = attrs.get("r")
            self.column = _column_index(reference) if reference else self.column + 1
            self.cell_type = attrs.get("t", "n")
            self.style = int(attrs.get("s", "0"))
            self.text, self.chars = [], 0
        elif tag in ("v", "t"):
            self.collect = True

    def _data(self, text: str) -> None:
        if self.collect:
            self.chars += len(text)
            if self.chars > self.limits.max_cell_chars:
                raise CellTooLong.of(self.limits, rij=_count_nl(self.row))
            self.text.append(text)

    def _end(self, name: str) -> None:
        tag = _local(name)
        if tag in ("v", "t"):
            self.collect = False
        elif tag == "c":
            if 0 <= self.column < self.width and self.text:
                value = self._value("".join(self.text))
                if value:
                    self.cells[self.column] = value
        elif tag == "row":
            self.done.append((self.row, self.cells))

    def _value(self, raw: str) -> str:
        kind = self.cell_type
        if kind == "s":
            try:
                value = self.texts[int(raw)]
            except (ValueError, IndexError):
                raise DamagedWorkbook() from None
            if len(value) > self.limits.max_cell_chars:
                raise CellTooLong.of(self.limits, rij=_count_nl(self.row))
            return value
        if kind == "b":
            return "TRUE" if raw.strip() == "1" else "FALSE"
        if kind == "n":
            return _number_text(raw, self.style in self.book.date_styles, self.book.epoch)
        if kind == "d":
            return raw.removesuffix("T00:00:00")
        return raw  # inlineStr, str (a formula's text), e (an error such as #N/A)

    def __iter__(self) -> Iterator[tuple[int, dict[int, str]]]:
        for _ in self.stream.chunks():
            done, self.done = self.done, []
            yield from done


@dataclass
class _XlsxTable:
    path: Path
    sheet: str | None  # None: the first sheet with a header row
    limits: ReadLimits

    def data(
        self, archive: zipfile.ZipFile
    ) -> tuple[str, list[str], Iterator[tuple[int, dict[int, str]]]]:
        """(sheet name, header names, the rows below the header) of the chosen sheet."""
        book = _workbook(archive)
        texts = _shared_strings(archive, book.shared_strings_member, self.limits)
        for name, member in book.sheets:
            if self.sheet is not None and name != self.sheet:
                continue
            rows = _SheetRows(archive, book, member, texts, self.limits)
            stream = iter(rows)
            for _, cells in stream:
                if any(text.strip() for text in cells.values()):
                    width = max(cells) + 1
                    names = _header_names((cells.get(i) for i in range(width)), self.limits)
                    rows.width = width
                    return name, names, stream
        raise NoSheet()

    def frames(self) -> Iterator[pl.DataFrame]:
        """Frames of the rows the sheet holds (a row the sheet leaves out is not a row)."""
        with _check_zip(self.path, self.limits) as archive:
            _, names, stream = self.data(archive)
            batch: list[tuple[int, dict[int, str]]] = []
            chars = 0
            for number, cells in stream:
                batch.append((number, cells))
                chars += sum(map(len, cells.values()))
                if len(batch) >= BATCH_ROWS or chars >= _BATCH_CHARS:
                    yield _sheet_frame(batch, names)
                    batch, chars = [], 0
            if batch:
                yield _sheet_frame(batch, names)


def _sheet_frame(batch: list[tuple[int, dict[int, str]]], names: list[str]) -> pl.DataFrame:
    numbers = pl.Series(SOURCE_ROW, [number for number, _ in batch], dtype=pl.Int64)
    return _frame(numbers, names, [[cells.get(i) for _, cells in batch] for i in range(len(names))])


def _open_xlsx(path: Path, limits: ReadLimits) -> PartnerFile:
    with _check_zip(path, limits) as archive:
        sheet, _, stream = _XlsxTable(path, None, limits).data(archive)
        if not any(any(text.strip() for text in cells.values()) for _, cells in stream):
            raise HeaderOnly()
    return PartnerFile(path, "xlsx", None, None, sheet, limits)


def open_partner_file(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> PartnerFile:
    """Detect an upload's format and check that it holds a table with data.

    Raises an :class:`UnreadableFile` subclass for a file that is no table, has no rows below its
    header, or breaks one of ``limits`` on the way (the file size before anything is read).
    """
    try:
        status = path.stat()
    except OSError:
        raise CannotOpen() from None
    if not stat.S_ISREG(status.st_mode):  # opening a FIFO would wait for a writer forever
        raise NotAFile()
    if status.st_size > limits.max_file_bytes:
        raise FileTooLarge.of(limits)
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        raise CannotOpen() from None
    if not head.strip(b" \t\r\n" + _UTF8_BOM):
        raise EmptyFile()
    if head.startswith(_XLSX_MAGIC):
        return _open_xlsx(path, limits)
    if head.startswith(_OLE_MAGIC):
        raise OldExcelFile()
    return _open_csv(path, head, limits)
