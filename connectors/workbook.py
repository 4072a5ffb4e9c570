"""Stream the rows of an XLSX worksheet in bounded memory, whatever the workbook claims.

A workbook is a zip of XML parts. Its zip directory is checked before anything is unpacked
(:func:`check_zip`: member count, unpacked size and compression ratio per member), and every part
is parsed with expat in chunks, refusing any DTD or entity. The worksheet is streamed row by row:
only cells within the header's width are kept, a shared text is referenced rather than copied,
and the row number, cell length and the count and total length of the shared texts are checked
as they stream in. So neither a zip bomb nor a cell placed at ``XFD1048576`` (which makes a
dense reader allocate the whole sheet) costs more than :class:`ReadLimits` allows.

Cells come out as Excel shows them: a formula as its saved result, a number as ``12`` rather
than ``12.0``, a date-formatted number as an ISO date.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO
from xml.parsers import expat

from factlab.connectors.limits import (
    CellTooLong,
    CompressionTooHigh,
    DamagedWorkbook,
    MemberTooLarge,
    NoSheet,
    ReadLimits,
    TextsTooLong,
    TooManyMembers,
    TooManyRows,
    TooManyTexts,
    UnreadableFile,
    count_nl,
)

Row = tuple[int, dict[int, str]]  # spreadsheet row number, {0-based column: text}

#: The text a frame of a worksheet's rows holds at most: a workbook can repeat one long text in
#: many cells, and a frame of such rows is cut early.
BATCH_CHARS = 64 << 20

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


def check_zip(path: Path, limits: ReadLimits) -> zipfile.ZipFile:
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


#: What opening, unpacking or parsing a damaged member raises.
_READ_ERRORS = (
    LookupError,  # KeyError, or an XML declaration naming an encoding Python lacks
    ValueError,
    RuntimeError,
    NotImplementedError,
    EOFError,
    expat.ExpatError,
    zipfile.BadZipFile,
    zlib.error,
)


class XmlStream:
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
        with self.open() as stream:
            while chunk := self.read(stream, _XML_READ):
                self.feed(chunk)
                yield
        self.feed(b"", final=True)
        yield

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """The member's bytes, as a stream for :meth:`read`."""
        try:
            with self.archive.open(self.member) as stream:
                yield stream
        except _READ_ERRORS:
            raise DamagedWorkbook() from None

    @staticmethod
    def read(stream: IO[bytes], size: int) -> bytes:
        """The next bytes of the member (none at its end)."""
        try:
            return stream.read(size)
        except _READ_ERRORS:
            raise DamagedWorkbook() from None

    def feed(self, chunk: bytes, final: bool = False) -> None:
        """Parse the next bytes of the member (all of them, then ``final``)."""
        try:
            self.parser.Parse(chunk, final)
        except _READ_ERRORS:
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

    rels = XmlStream(archive, posixpath.join(folder, "_rels", f"{name}.rels"))
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

    book = XmlStream(archive, main[0])
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

    styles = XmlStream(archive, member)
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

    stream = XmlStream(archive, member)
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


_DIGITS = "0123456789"


def column_index(letters: str) -> int:
    """The 0-based index of a column's letters (``A`` -> 0, ``AA`` -> 26)."""
    return _column_letters[letters]


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


def cell_text(raw: str, kind: str, style: int, date_styles: frozenset[int], epoch: datetime) -> str:
    """The text of a cell that is no shared text, as Excel shows it, from its saved ``raw``
    text, its type ``kind`` (``t``) and its ``style`` (``s``)."""
    if kind == "b":
        return "TRUE" if raw.strip() == "1" else "FALSE"
    if kind == "n":
        return _number_text(raw, style in date_styles, epoch)
    if kind == "d":
        return raw.removesuffix("T00:00:00")
    return raw  # inlineStr, str (a formula's text), e (an error such as #N/A)


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
        self.max_cell_chars = limits.max_cell_chars
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
        self.stream = XmlStream(archive, member)
        parser = self.stream.parser
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._data

    # The three handlers run for every cell of the sheet: the commonest tags are tested first
    # and the column letters looked up in place (a national check parses 1.3 M cells).
    def _start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "c":
            reference = attrs.get("r")
            self.column = (
                _column_letters[reference.rstrip(_DIGITS)] if reference else self.column + 1
            )
            self.cell_type = attrs.get("t", "n")
            self.style = int(attrs.get("s", "0"))
            self.text = []
            self.chars = 0
        elif tag == "v" or tag == "t":
            self.collect = True
        elif tag == "row":
            self.row = int(attrs["r"]) if "r" in attrs else self.row + 1
            if self.row - 1 > self.limits.max_rows:
                raise TooManyRows.of(self.limits)
            self.cells = {}
            self.column = -1

    def _data(self, text: str) -> None:
        if self.collect:
            self.chars += len(text)
            if self.chars > self.max_cell_chars:
                raise CellTooLong.of(self.limits, rij=count_nl(self.row))
            self.text.append(text)

    def _end(self, name: str) -> None:
        tag = _local(name)
        if tag == "c":
            if self.text and 0 <= self.column < self.width:
                value = self._value("".join(self.text))
                if value:
                    self.cells[self.column] = value
        elif tag == "v" or tag == "t":
            self.collect = False
        elif tag == "row":
            self.done.append((self.row, self.cells))

    def _value(self, raw: str) -> str:
        if self.cell_type == "s":
            try:
                value = self.texts[int(raw)]
            except (ValueError, IndexError):
                raise DamagedWorkbook() from None
            if len(value) > self.limits.max_cell_chars:
                raise CellTooLong.of(self.limits, rij=count_nl(self.row))
            return value
        return cell_text(raw, self.cell_type, self.style, self.book.date_styles, self.book.epoch)

    def __iter__(self) -> Iterator[tuple[int, dict[int, str]]]:
        for _ in self.stream.chunks():
            done, self.done = self.done, []
            yield from done


@dataclass
class Sheet:
    """A worksheet opened at its header row, and what reading its cells needs."""

    name: str
    header: list[str | None]
    rows: Iterator[Row]  # the rows below the header, streamed through expat
    member: str  # the worksheet's part in the zip
    texts: list[str]  # the workbook's shared texts
    date_styles: frozenset[int]
    epoch: datetime
    header_rows: int  # the rows of the sheet up to and including the header row


def open_sheet(archive: zipfile.ZipFile, sheet: str | None, limits: ReadLimits) -> Sheet:
    """``sheet`` opened at its header, or the first sheet with a header row when ``sheet`` is
    None (a leading empty or cover sheet is skipped)."""
    book = _workbook(archive)
    texts = _shared_strings(archive, book.shared_strings_member, limits)
    for name, member in book.sheets:
        if sheet is not None and name != sheet:
            continue
        rows = _SheetRows(archive, book, member, texts, limits)
        stream = iter(rows)
        for read, (_, cells) in enumerate(stream, start=1):
            if any(text.strip() for text in cells.values()):
                rows.width = max(cells) + 1
                header = [cells.get(i) for i in range(rows.width)]
                return Sheet(
                    name, header, stream, member, texts, book.date_styles, book.epoch, read
                )
    raise NoSheet()
