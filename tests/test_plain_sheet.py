"""The column-wise reader of plain worksheets gives what the expat reader gives, or hands over.

Every sheet is read twice, through ``_XlsxTable.frames``: as it is (plain pieces column-wise,
the rest through expat) and with the plain reader switched off (expat only). The rows, or the
refusal, must be the same, for sheets mixing every plain cell form with forms only expat reads,
cut into small pieces so that a hand-over happens in the middle of a sheet.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import factlab.connectors.partner_files as partner_files
import factlab.connectors.plain_sheet as plain_sheet
import factlab.connectors.workbook as workbook_reader
from factlab.connectors.limits import DEFAULT_LIMITS, ReadLimits, UnreadableFile
from factlab.connectors.plain_sheet import NotPlain, plain_frames
from factlab.connectors.workbook import check_zip, open_sheet
from tests import hostile

#: A workbook whose styles hold a date format (style 1).
BASE = hostile.xlsx([hostile.HEADER, [date(2026, 1, 1)]])
#: Its shared texts: an empty one, entities, a line break.
SHARED = ["postcode", "", "a & b <c>", "\u00e9\u2013\nx"]
SHARED_TEXTS = len(SHARED)


def _escaped(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _workbook(sheet: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(BASE)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[hostile.SHEET] = sheet
    members["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main">'
        + "".join(f"<si><t>{_escaped(text)}</t></si>" for text in SHARED)
        + "</sst>"
    ).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _expat_only(*_: object) -> Iterator[pl.DataFrame]:
    raise NotPlain(0)
    yield  # a generator, as plain_frames is


def _read(path: Path, limits: ReadLimits, *, plain: bool) -> pl.DataFrame | tuple[str, str]:
    """The sheet's rows as one frame, or the refusal (its class and message)."""
    with pytest.MonkeyPatch.context() as patch:
        if not plain:
            patch.setattr(partner_files, "plain_frames", _expat_only)
        try:
            frames = list(partner_files._XlsxTable(path, None, limits).frames())
        except UnreadableFile as refused:
            return type(refused).__name__, str(refused)
    return pl.concat(frames) if frames else pl.DataFrame()


def _same_both_ways(tmp_path: Path, sheet: bytes, limits: ReadLimits = DEFAULT_LIMITS) -> None:
    path = tmp_path / "blad.xlsx"
    path.write_bytes(_workbook(sheet))
    plain, expat = _read(path, limits, plain=True), _read(path, limits, plain=False)
    if isinstance(expat, pl.DataFrame):
        assert isinstance(plain, pl.DataFrame), plain
        assert plain.equals(expat)
    else:
        assert plain == expat


_TEXT = st.text(alphabet="ab 1-é\u2013\n&<>\"'", max_size=6)


#: The first forms :func:`_cell` draws from are plain.
PLAIN_FORMS = 15


@st.composite
def _cell(draw: st.DrawFn, reference: str, plain: bool) -> str:
    """One cell, in one of the plain forms or (unless ``plain``) a form only expat reads."""
    r = f'r="{reference}"'
    form = draw(st.integers(0, PLAIN_FORMS - 1 if plain else 20))
    text = _escaped(draw(_TEXT))
    number = draw(st.sampled_from(["12", "007", "-3", "1.5", "46082", "0.25", "1e3", "", "x"]))
    return [
        f'<c {r} t="inlineStr"><is><t>{text}</t></is></c>',
        f'<c {r} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>',
        f'<c {r} t="s"><v>{draw(st.integers(0, SHARED_TEXTS - plain))}</v></c>',  # or past them
        f"<c {r}><v>{number}</v></c>",
        f'<c {r} s="1"><v>{number}</v></c>',
        f'<c {r} s="1" t="n"><v>{number}</v></c>',
        f'<c {r} t="b"><v>{draw(st.sampled_from(["0", "1", " 1"]))}</v></c>',
        f'<c {r} t="d"><v>2026-03-01T00:00:00</v></c>',
        f'<c {r} t="e"><v>#N/A</v></c>',
        f'<c {r} t="str"><f>A1&amp;"x"</f><v>{text}</v></c>',
        f'<c {r} s="1"/>',
        f'<c {r} t="inlineStr" />',
        f"<c {r}><v></v></c>",
        f"<c {r}><f>B1*2</f><v /></c>",
        f'<c {r} t="inlineStr"><is><t xml:space="preserve"/></is></c>',
        # Forms only expat reads.
        f'<c t="inlineStr"><is><t>{text}</t></is></c>',  # no reference
        f'<c {r} t="inlineStr"><is><r><t>{text}</t></r><r><t>b</t></r></is></c>',  # rich text
        f'<c {r} t="inlineStr"><is><t>&#65;{text}</t></is></c>',  # a character reference
        f'<c {r} t="inlineStr"><is><t><![CDATA[{text}]]></t></is></c>',
        f'<c t="s" {r}><v>1</v></c>',  # attributes in another order
        f'<c {r} t="s"><v> 1</v></c>',  # a shared text's number with a space
    ][form]


#: Four plain rows, for the examples: beyond them the expat reader that finds the header has
#: read nothing (see :func:`small_pieces`).
_ROWS = "".join(hostile.inline_row(n, [f"r{n}", "x"]) for n in range(1, 5))


@st.composite
def _sheet(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A sheet of plain rows only (and True), or with rows and cells only expat reads."""
    plain = draw(st.booleans())
    rows: list[str] = []
    for number in range(1, draw(st.integers(1, 12)) + 1):
        kind = draw(st.integers(0, 6 if plain else 9))
        if kind == 7:
            rows.append(f'<row r="{number}"/>')  # a row closing itself
            continue
        if kind == 8:
            rows.append(f"<!-- rij {number} -->")
            continue
        columns = draw(st.lists(st.sampled_from("ABCDEFGHI"), max_size=5, unique=True))
        if kind != 9:  # 9: the columns as drawn, maybe out of order
            columns.sort()
        if number == 1:
            columns = ["A", *[c for c in columns if c != "A"]]
        cells = [
            '<c r="A1" t="inlineStr"><is><t>kop</t></is></c>'
            if (number, column) == (1, "A")
            else draw(_cell(f"{column}{number}", plain))
            for column in columns
        ]
        rows.append(f'<row r="{number}" spans="1:9">{"".join(cells)}</row>')
    return hostile.sheet_xml("".join(rows)), plain


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces of a few rows, read a few bytes at a time: hand-overs fall mid-sheet, and the
    expat reader that finds the header reads no further than it (so what lies beyond is seen
    by the reader under test first)."""
    monkeypatch.setattr(plain_sheet, "PIECE_BYTES", 300)
    monkeypatch.setattr(plain_sheet, "_READ", 97)
    monkeypatch.setattr(workbook_reader, "_XML_READ", 97)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    drawn=_sheet(),
    max_cell_chars=st.sampled_from([3, 5, *[DEFAULT_LIMITS.max_cell_chars] * 3]),
    max_rows=st.sampled_from([4, *[DEFAULT_LIMITS.max_rows] * 2]),
)
@example(
    drawn=(
        hostile.sheet_xml(
            hostile.inline_row(1, ["a", "b"]) + '<row r="2"><c r="A2" t="s"><v>99</v></c></row>'
        ),
        False,
    ),
    max_cell_chars=DEFAULT_LIMITS.max_cell_chars,
    max_rows=DEFAULT_LIMITS.max_rows,
)  # a shared text out of range: refused the same way
@example(  # every entity, beyond the header's chunk
    drawn=(
        hostile.sheet_xml(
            _ROWS + hostile.inline_row(5, ["a &amp; b &lt;c&gt; &quot;d&quot; &apos;"])
        ),
        True,
    ),
    max_cell_chars=DEFAULT_LIMITS.max_cell_chars,
    max_rows=DEFAULT_LIMITS.max_rows,
)
@example(  # a shared text longer than the limit
    drawn=(hostile.sheet_xml(_ROWS + '<row r="5"><c r="A5" t="s"><v>0</v></c></row>'), True),
    max_cell_chars=5,
    max_rows=DEFAULT_LIMITS.max_rows,
)
@example(  # an empty shared text
    drawn=(
        hostile.sheet_xml(
            _ROWS + '<row r="5"><c r="A5" t="s"><v>1</v></c><c r="B5"><v>2</v></c></row>'
        ),
        True,
    ),
    max_cell_chars=DEFAULT_LIMITS.max_cell_chars,
    max_rows=DEFAULT_LIMITS.max_rows,
)
@example(  # a shared text's number with a space
    drawn=(hostile.sheet_xml(_ROWS + '<row r="5"><c r="A5" t="s"><v> 1</v></c></row>'), False),
    max_cell_chars=DEFAULT_LIMITS.max_cell_chars,
    max_rows=DEFAULT_LIMITS.max_rows,
)
@example(  # a shared text past the last
    drawn=(hostile.sheet_xml(_ROWS + '<row r="5"><c r="A5" t="s"><v>9</v></c></row>'), False),
    max_cell_chars=DEFAULT_LIMITS.max_cell_chars,
    max_rows=DEFAULT_LIMITS.max_rows,
)
@example(  # a cell with a prefix (expat reads it by its local name)
    drawn=(
        hostile.sheet_xml(
            _ROWS
            + '<row r="5"><x:c xmlns:x="urn:x" r="A5" t="inlineStr"><x:is><x:t>p</x:t></x:is></x:c></row>'
        ),
        False,
    ),
    max_cell_chars=DEFAULT_LIMITS.max_cell_chars,
    max_rows=DEFAULT_LIMITS.max_rows,
)
@example(  # a row closing itself after the last row
    drawn=(hostile.sheet_xml(_ROWS + '<row r="5" spans="1:9"/>'), False),
    max_cell_chars=DEFAULT_LIMITS.max_cell_chars,
    max_rows=DEFAULT_LIMITS.max_rows,
)
def test_the_plain_reader_gives_the_expat_readers_rows(
    tmp_path: Path, drawn: tuple[bytes, bool], max_cell_chars: int, max_rows: int
) -> None:
    sheet, plain = drawn
    limits = ReadLimits(max_cell_chars=max_cell_chars, max_rows=max_rows)
    _same_both_ways(tmp_path, sheet, limits)
    if plain and limits == DEFAULT_LIMITS:  # read column-wise to its end: compared above
        _rows_read_plainly(_workbook(sheet), tmp_path)


#: Sheets the plain reader leaves to expat before it holds more than two pieces (of 300 bytes
#: here): one whose rows start late, and one with a row longer than that.
_LONG_PRELUDE = hostile.sheet_xml(hostile.inline_row(1, ["a"])).replace(
    b"<sheetData>", b"<cols>" + b'<col min="1" max="1" width="9"/>' * 30 + b"</cols><sheetData>"
)
_LONG_ROW = hostile.sheet_xml(hostile.inline_row(1, ["a"]) + hostile.inline_row(2, ["x" * 700]))


@pytest.mark.parametrize("sheet", [_LONG_PRELUDE, _LONG_ROW])
def test_memory_stays_bounded_without_rows_in_sight(tmp_path: Path, sheet: bytes) -> None:
    path = tmp_path / "blad.xlsx"
    path.write_bytes(_workbook(sheet))
    with zipfile.ZipFile(path) as archive:
        pieces = plain_sheet._Pieces(archive, hostile.SHEET)
        assert sum(map(len, pieces)) < 2 * plain_sheet.PIECE_BYTES
    assert pieces.not_plain


def test_one_long_shared_text_in_many_cells_is_left_to_expat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Looked up, the texts a piece refers to may hold far more than the piece: past
    :data:`BATCH_CHARS` expat reads on, in its batches cut by that much text."""
    monkeypatch.setattr(plain_sheet, "BATCH_CHARS", 100)
    monkeypatch.setattr(plain_sheet, "PIECE_BYTES", 1 << 20)  # one piece

    def row(n: int) -> str:  # seven cells of "postcode" (shared text 0): 56 characters
        cells = "".join(f'<c r="{column}{n}" t="s"><v>0</v></c>' for column in "ABCDEFG")
        return f'<row r="{n}">{cells}</row>'

    header = hostile.inline_row(1, list("abcdefg"))
    assert _rows_read_plainly(_workbook(hostile.sheet_xml(header + row(2))), tmp_path) == 1
    with pytest.raises(NotPlain):
        _rows_read_plainly(_workbook(hostile.sheet_xml(header + row(2) + row(3))), tmp_path)
    _same_both_ways(tmp_path, hostile.sheet_xml(header + row(2) + row(3)))


@pytest.mark.parametrize(
    "sheet",
    [
        b"\xef\xbb\xbf" + hostile.sheet_xml(hostile.inline_row(1, ["a"])),  # a byte-order mark
        b"\xef\xbb\xbf"  # ... and another encoding declared
        + hostile.sheet_xml(_ROWS + hostile.inline_row(5, ["\u00e9"])).replace(
            b'version="1.0"', b'version="1.0" encoding="ISO-8859-1"'
        ),
        hostile.sheet_xml(_ROWS + hostile.inline_row(5, ["\u00e9"])).replace(
            b'version="1.0"', b'version="1.0" encoding="ISO-8859-1"'
        ),
        hostile.sheet_xml(hostile.inline_row(1, ["a"]) + "\n  "),  # white space after the rows
        hostile.sheet_xml(hostile.inline_row(1, ["a"]) + "\n  " + hostile.inline_row(2, ["b"])),
        hostile.sheet_xml(hostile.inline_row(1, ["a"])).replace(b"<sheetData>", b"<sheetData >"),
        hostile.sheet_xml(hostile.inline_row(1, ["a"]) + hostile.inline_row(2, ["b\r"])),
        hostile.sheet_xml(hostile.inline_row(1, ["a"])).replace(b"</sheetData>", b""),  # broken
        hostile.sheet_xml(hostile.inline_row(1, ["a"]) + '<row r="2"><c r="A2"><v>1</v></c>'),
        _LONG_PRELUDE,
        _LONG_ROW,
    ],
)
def test_sheets_written_another_way_read_the_same(tmp_path: Path, sheet: bytes) -> None:
    _same_both_ways(tmp_path, sheet)


def _rows_read_plainly(workbook: bytes, tmp_path: Path) -> int:
    """Rows below the header the plain reader gives (raises NotPlain where it hands over)."""
    path = tmp_path / "blad.xlsx"
    path.write_bytes(workbook)
    with check_zip(path, DEFAULT_LIMITS) as archive:
        sheet = open_sheet(archive, None, DEFAULT_LIMITS)
        names = [f"k{i}" for i in range(len(sheet.header))]
        return sum(f.height for f in plain_frames(archive, sheet, names, "rij", DEFAULT_LIMITS))


def test_workbooks_as_excel_writers_save_them_are_plain(tmp_path: Path) -> None:
    """What xlsxwriter and openpyxl write (shared and inline texts, numbers, dates, formulas'
    results) is read column-wise to the end, and equals the expat reader's rows."""
    import openpyxl

    table = [
        hostile.HEADER,
        *hostile.rows(40),
        ["1503AB", 7, None, "2", "WMO-HH", date(2026, 2, 1)],
    ]
    book = openpyxl.Workbook()
    for row in table:
        book.active.append(row)
    book.active["H2"] = "=B2*2"
    saved = io.BytesIO()
    book.save(saved)
    for workbook in (hostile.xlsx(table), saved.getvalue()):
        assert _rows_read_plainly(workbook, tmp_path) == len(table) - 1
        path = tmp_path / "blad.xlsx"
        path.write_bytes(workbook)
        plain = _read(path, DEFAULT_LIMITS, plain=True)
        assert isinstance(plain, pl.DataFrame) and plain.equals(
            _read(path, DEFAULT_LIMITS, plain=False)
        )


def test_a_sheet_hands_over_where_it_stops_being_plain(tmp_path: Path) -> None:
    rows = [hostile.inline_row(n, [f"r{n}", "x"]) for n in range(1, 40)]
    rows[30] = rows[30].replace("<c ", "<!-- opmerking --><c ", 1)
    workbook = _workbook(hostile.sheet_xml("".join(rows)))
    with pytest.raises(NotPlain) as stopped:
        _rows_read_plainly(workbook, tmp_path)
    assert 0 < stopped.value.rows < 30  # the pieces before the comment were read column-wise
    _same_both_ways(tmp_path, hostile.sheet_xml("".join(rows)))


@pytest.mark.parametrize("row", ['<row r="7"</row>', '<row r="7" spans="1:2"</row>'])
def test_a_row_whose_start_tag_never_ends_is_not_read_plainly(row: str) -> None:
    """Expat refuses such XML before a piece of it is read; the piece reader does not rely on
    that order."""
    sheet = workbook_reader.Sheet(
        "blad", ["a"], iter(()), "x", [], frozenset(), datetime(1899, 12, 30), 1
    )
    texts = pl.DataFrame({"text": [], "chars": []}, schema={"text": pl.String, "chars": pl.UInt32})
    with pytest.raises(NotPlain):
        plain_sheet._piece_frame(row, sheet, texts, 1, DEFAULT_LIMITS)
