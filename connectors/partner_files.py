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
import itertools
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import AnyStr, Protocol, overload

import polars as pl

from factlab.connectors.limits import (
    DEFAULT_LIMITS,
    LIMIT_ERRORS,
    REFUSALS,
    BinaryFile,
    CannotOpen,
    CellTooLong,
    EmptyFile,
    EmptyHeader,
    FileTooLarge,
    HeaderOnly,
    LimitExceeded,
    LineTooLong,
    NoDelimiter,
    NotAFile,
    NotCsv,
    OldExcelFile,
    QuoteSpansRows,
    ReadLimits,
    RowSpansTooManyLines,
    TooManyColumns,
    TooManyRows,
    UnclosedQuote,
    UnreadableFile,
    count_nl,
)
from factlab.connectors.plain_sheet import NotPlain, plain_frames
from factlab.connectors.workbook import BATCH_CHARS, Row, check_zip, open_sheet

__all__ = [  # the reader's API; each refusal's own class is in factlab.connectors.limits
    "BATCH_ROWS",
    "DEFAULT_LIMITS",
    "DUPLICATE_SUFFIX",
    "LIMIT_ERRORS",
    "REFUSALS",
    "ROW_COLUMN",
    "SOURCE_ROW",
    "LimitExceeded",
    "PartnerFile",
    "ReadCounts",
    "ReadLimits",
    "UnreadableFile",
    "open_partner_file",
]

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
#: A UTF-8 file's block of lines then stays below the default limit of 1 M characters in
#: bytes too, so its lines are not measured one by one (see _Lines._check).
_CHUNK_BYTES = 1 << 19
#: The first read of a text file is small: detecting the format and finding the header read
#: only the first lines, three times per file (the blocks' boundaries change no line).
_FIRST_CHUNK_BYTES = 1 << 16
_BATCH_BYTES = 256 << 20  # any batch is cut early when it takes this much memory
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
    held = 0
    size: float = 0  # polars estimates sizes as int | float
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


def _filled(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().fill_null("") != ""


def _drop_blank_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows with at least one cell that is not empty or white space.

    The first column decides almost every row (a real row has its first cell filled); only
    the rows it leaves open are checked cell by cell, which costs a fraction of stripping
    every cell of every row.
    """
    cells = [c for c in frame.columns if c != SOURCE_ROW]
    if not cells:
        return frame.clear()
    filled = frame.select(_filled(cells[0])).to_series()
    open_rows = (~filled).arg_true()
    if open_rows.is_empty():
        return frame
    if len(cells) > 1:
        rest = frame[open_rows].select(pl.any_horizontal(_filled(c) for c in cells[1:]))
        filled = filled.scatter(open_rows, rest.to_series())
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
    frame.columns = names  # polars names a Series called "" "column_0"
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


class _LineBlock(Sequence[str]):
    """Consecutive lines of a file, kept as their UTF-8 bytes joined by line breaks.

    Decoded and split into lines only when something reads them one by one (a quote, the
    header, a line over a limit): most blocks of most files go to polars as these bytes and
    are never decoded, which saves a third of reading a plain CSV file and, for a UTF-8 file,
    the decoding and encoding again of every byte.
    """

    __slots__ = ("_count", "_lines", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._count = data.count(b"\n") + 1
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.data.decode("utf-8", errors="replace").split("\n")
        return self._lines

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self.lines[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines)


def _characters(data: bytes) -> int:
    """Characters in UTF-8 bytes whose end may cut a character in two (not counted)."""
    return len(data.decode("utf-8", errors="ignore"))


def _has_blank_line(joined: bytes) -> bool:
    """Whether lines joined by line breaks include an empty one (searched in the encoded text:
    a search in a Python string holding any non-ASCII character is several times slower)."""
    return not joined or joined[:1] == b"\n" or joined[-1:] == b"\n" or b"\n\n" in joined


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

    def blocks(self) -> Iterator[_LineBlock]:
        # A UTF-8 file (checked whole when it was opened) is cut into lines as the bytes it
        # holds: a line break, a quote and a delimiter are one byte that is never part of
        # another character. Any other encoding is decoded, then encoded as UTF-8.
        decoder = (
            None
            if self.encoding == "utf-8"
            else codecs.getincrementaldecoder(self.encoding)(errors="replace")
        )
        pending = b""
        with self.path.open("rb") as handle:
            while True:
                raw = handle.read(_CHUNK_BYTES if handle.tell() else _FIRST_CHUNK_BYTES)
                if handle.tell() > self.limits.max_file_bytes:  # it grew since it was opened
                    raise FileTooLarge.of(self.limits)
                data = pending + (
                    raw if decoder is None else decoder.decode(raw, final=not raw).encode("utf-8")
                )
                if b"\x00" in data:
                    raise BinaryFile()
                if raw and data.endswith(b"\r"):  # maybe half a CRLF: decide with the next chunk
                    data, held = data[:-1], b"\r"
                else:
                    held = b""
                if b"\r" in data:
                    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
                if raw:  # the lines up to the last line break; the rest waits for more
                    cut = data.rfind(b"\n") + 1
                    block = _LineBlock(data[: cut - 1]) if cut else None
                else:  # the end of the file: a last line needs no line break
                    cut = len(data)
                    block = _LineBlock(data.removesuffix(b"\n")) if data else None
                pending = data[cut:] + held
                self._check(block, pending)
                if block is not None:
                    self.consumed += len(block)
                    yield block
                if not raw:
                    return

    def _check(self, block: _LineBlock | None, pending: bytes) -> None:
        limit = self.limits.max_line_chars
        # Bytes are never fewer than the characters they hold: characters are counted only
        # where the bytes pass the limit.
        if len(pending) > limit and _characters(pending) > limit:
            lines = len(block) if block is not None else 0
            raise LineTooLong.of(self.limits, regel=count_nl(self.consumed + lines + 1))
        # Only a block longer than the limit can hold a line longer than the limit.
        if block is not None and len(block.data) > limit and max(map(len, block)) > limit:
            index = next(i for i, line in enumerate(block) if len(line) > limit)
            raise LineTooLong.of(self.limits, regel=count_nl(self.consumed + index + 1))


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


def _whole_rows(text: AnyStr, quote: AnyStr, closed: re.Pattern[AnyStr]) -> bool:
    """True if every line of ``text`` (starting outside quotes) is a whole row (``closed``: the
    pattern of :func:`_closed_rows`, for text or for its UTF-8 bytes).

    Quick when every run of quotes is even (``""``, as many exports write an empty cell):
    such a run at the start of a cell opens and closes it, anywhere else it is text.
    """
    return (
        quote not in text
        or quote not in text.replace(quote + quote, quote[:0])
        or bool(closed.fullmatch(text))
    )


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
    data: bytes | None = None  # the rows last yielded joined by line breaks, when known

    def __post_init__(self) -> None:
        self._closed = _closed_rows(self.delimiter)
        # The same pattern over UTF-8 bytes: its quote, delimiter and line break are one byte
        # that is never part of another character.
        self._closed_bytes = re.compile(self._closed.pattern.encode("utf-8"))

    def blocks(self) -> Iterator[tuple[Sequence[str], bool]]:
        """(rows, whether any holds a quote) per block of lines."""
        open_row: list[str] = []  # lines of a row whose quoted cell is still open
        open_fields = open_line = open_rij = 0
        for lines in self.lines.blocks():
            first_line = self.lines.consumed - len(lines) + 1
            if not open_row and _whole_rows(lines.data, b'"', self._closed_bytes):
                self.rows += len(lines)
                self.data = lines.data
                yield lines, b'"' in lines.data
                continue
            self.data = None
            rows: list[str] = []
            for offset, line in enumerate(lines):
                if not open_row and _whole_rows(line, '"', self._closed):
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
                            self.limits, rij=count_nl(open_rij), regel=count_nl(open_line)
                        )
                    continue
                if len(open_row) > 1 and self.expected_fields not in (None, open_fields + 1):
                    raise self._spans(open_rij, open_line, len(open_row))
                rows.append("\n".join(open_row))
                open_row = []
            self.rows += len(rows)
            yield rows, True
        if open_row:
            raise UnclosedQuote(rij=count_nl(open_rij), regel=count_nl(open_line))

    def _swallowed_a_row(self, quoted_delimiters: int) -> bool:
        """A continuation line whose quoted part holds a whole row's delimiters is a row that a
        forgotten quote swallowed (a real multi-line cell rarely holds that many)."""
        expected = self.expected_fields or 0
        return expected > 1 and quoted_delimiters >= expected - 1

    @staticmethod
    def _spans(rij: int, line: int, lines: int) -> QuoteSpansRows:
        return QuoteSpansRows(
            rij=count_nl(rij), regel=count_nl(line), tot=count_nl(line + lines - 1)
        )


def _blank(record: str, delimiter: str) -> bool:
    return not record.replace(delimiter, "").replace('"', "").strip()


def _delimiter(header: str) -> str:
    counts = {sep: header.count(sep) for sep in _DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    if counts[best] == 0:
        raise NoDelimiter()
    return best


def _split(records: Iterable[str], delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(records, delimiter=delimiter))
    except csv.Error:
        raise NotCsv() from None


# rows, row number of the first, whether any has a quote, and the rows joined by line breaks
# (UTF-8) when those bytes are at hand
_Block = tuple[Sequence[str], int, bool, bytes | None]


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
                        self.limits, rij=count_nl(first), regel=count_nl(first)
                    )
        if parts:
            raise UnclosedQuote(rij=count_nl(first), regel=count_nl(first))
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
                    yield (
                        (rows[skip:], first + skip, quoted, None)
                        if skip
                        else (rows, first, quoted, records.data)
                    )

        return names, blocks()

    def frames(self) -> Iterator[pl.DataFrame]:
        names, blocks = self.data()
        for rows, first_row, quoted, text in blocks:
            yield self._parse(rows, first_row, names, quoted, text)

    def _parse(
        self,
        rows: Sequence[str],
        first_row: int,
        names: list[str],
        quoted: bool,
        joined: bytes | None,
    ) -> pl.DataFrame:
        data = joined if joined is not None else b""
        if joined is None or _has_blank_line(data):  # an empty line is a blank row
            data = "\n".join(row or self.delimiter for row in rows).encode("utf-8")
        try:
            frame: pl.DataFrame | None = pl.read_csv(
                io.BytesIO(data),
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
            frame.columns = names  # polars renames an empty header cell ("" -> "column_0")
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
        _check_cells(frame, self.limits)
        return frame


def _check_cells(frame: pl.DataFrame, limits: ReadLimits) -> None:
    """Refuse a cell longer than ``max_cell_chars``, naming the first row that holds one.

    Its length in bytes is at hand without reading it and never below its length in
    characters, so characters are counted only in a frame with a cell that long in bytes.
    """
    cells = [c for c in frame.columns if c != SOURCE_ROW]
    if not cells:
        return
    longest = frame.select(pl.max_horizontal(pl.col(c).str.len_bytes().max() for c in cells))
    if (longest.item() or 0) <= limits.max_cell_chars:
        return
    too_long = frame.filter(
        pl.any_horizontal(
            pl.col(c).str.len_chars().fill_null(0) > limits.max_cell_chars for c in cells
        )
    )
    if too_long.height:
        raise CellTooLong.of(limits, rij=count_nl(too_long.item(0, SOURCE_ROW)))


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
    if all(_blank(row, table.delimiter) for rows, _, _, _ in blocks for row in rows):
        raise HeaderOnly()
    return PartnerFile(path, "csv", encoding, table.delimiter, None, limits)


@dataclass
class _XlsxTable:
    path: Path
    sheet: str | None  # None: the first sheet with a header row
    limits: ReadLimits

    def frames(self) -> Iterator[pl.DataFrame]:
        """Frames of the rows the sheet holds (a row the sheet leaves out is not a row): read
        column-wise while the sheet is plain (:mod:`factlab.connectors.plain_sheet`), the rest
        row by row through expat."""
        with check_zip(self.path, self.limits) as archive:
            sheet = open_sheet(archive, self.sheet, self.limits)
            names = _header_names(sheet.header, self.limits)
            try:
                yield from plain_frames(archive, sheet, names, SOURCE_ROW, self.limits)
                return
            except NotPlain as stopped:
                stream = itertools.islice(sheet.rows, stopped.rows, None)
            batch: list[Row] = []
            chars = 0
            for number, cells in stream:
                batch.append((number, cells))
                chars += sum(map(len, cells.values()))
                if len(batch) >= BATCH_ROWS or chars >= BATCH_CHARS:
                    yield _sheet_frame(batch, names)
                    batch, chars = [], 0
            if batch:
                yield _sheet_frame(batch, names)


def _sheet_frame(batch: list[Row], names: list[str]) -> pl.DataFrame:
    numbers = pl.Series(SOURCE_ROW, [number for number, _ in batch], dtype=pl.Int64)
    return _frame(numbers, names, [[cells.get(i) for _, cells in batch] for i in range(len(names))])


def _open_xlsx(path: Path, limits: ReadLimits) -> PartnerFile:
    with check_zip(path, limits) as archive:
        sheet = open_sheet(archive, None, limits)
        _header_names(sheet.header, limits)
        if not any(any(text.strip() for text in cells.values()) for _, cells in sheet.rows):
            raise HeaderOnly()
    return PartnerFile(path, "xlsx", None, None, sheet.name, limits)


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
