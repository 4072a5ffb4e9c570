"""Read a plain worksheet column-wise, with polars' regular expressions instead of expat's calls.

:mod:`factlab.connectors.workbook` streams a worksheet through expat with a Python call for
every tag and text of every cell: 0.8-0.9 s for a workbook of 40 k rows, as long as a CSV file
ten times its size. Most worksheets are plain: rows of cells, each a value (``<v>``), an inline
text (``<is><t>``) or a formula with its saved value, written in the usual attribute order, in
UTF-8, with no comments, character references or carriage returns. Such a sheet is cut into
pieces of whole rows, and each piece is taken apart by regular expressions over all its cells
at once.

The rows come out as the expat reader gives them (tested on generated and hostile workbooks),
because nothing is guessed:

- expat still parses every byte, without handlers but refusing a DTD or entity, so XML that is
  not well-formed is refused exactly as before;
- the rows of a piece must make up all of it, the cells of a row all of its content, and each
  cell must be one of the plain forms in full; numbers and flags are converted by the expat
  reader's own :func:`factlab.connectors.workbook.cell_text`, once per distinct value;
- anything else (:class:`NotPlain`: a comment, a character reference, a row that closes
  itself, a cell past a limit, a shared text out of range, ...) hands the rest of the sheet to
  expat, which reads it, or refuses it with the error it always gave.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator

import polars as pl

from factlab.connectors.limits import ReadLimits
from factlab.connectors.workbook import BATCH_CHARS, Sheet, XmlStream, cell_text, column_index

#: Unpacked bytes per piece of whole rows (~25 k rows of a partner's sheet).
PIECE_BYTES = 8 << 20
_READ = 1 << 20

#: What a plain piece never holds: markup declarations (a comment, CDATA), processing
#: instructions, character references, carriage returns (XML reads them as line feeds) and
#: single-quoted attributes. Looked for in one pass (Aho-Corasick): 26 ms for a national
#: workbook's 12 MB, against 43 ms for five scans of the bytes and ten times that for one
#: regular expression.
_NOT_PLAIN = ("<!", "<?", "&#", "\r", "='")
_ENCODING = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")
_ROW_END = b"</row>"

#: A row's start tag, up to its first ">" (which ends it: no attribute of a plain row holds
#: one), and the row's number in it. Only the tag is matched, not the row's cells after it.
_ROW_TAG = r'^<row r="([0-9]{1,12})"(?:\s[^>]*)?$'
_CELL = r"(?s)<c(?:\s[^>]*?)?(?:/>|>.*?</c>)"
#: A plain cell, whole: column letters, style, type, then a value or an inline text (after
#: the formula it is the saved result of, if any), or nothing.
_PLAIN_CELL = (
    r'^<c r="([A-Z]{1,3})[0-9]{1,12}"(?: s="([0-9]{1,9})")?(?: t="([a-zA-Z]{1,12})")?'
    r"\s*(?:/>|>(?:<f(?:\s[^>]*?)?(?:/>|>[^<]*</f>))?"
    r"(?:<v>([^<]*)</v>|<v\s*/>|<is><t(?:\s[^>]*?)?>([^<]*)</t></is>|<is><t(?:\s[^>]*?)?/></is>)?"
    r"</c>)$"
)
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


class NotPlain(Exception):
    """The sheet holds something only expat reads; ``rows`` rows below the header were read."""

    def __init__(self, rows: int) -> None:
        super().__init__(rows)
        self.rows = rows


def plain_frames(
    archive: zipfile.ZipFile, sheet: Sheet, names: list[str], row_column: str, limits: ReadLimits
) -> Iterator[pl.DataFrame]:
    """Frames of the rows below the header of ``sheet``: the row number (``row_column``) and a
    String column per name, a row per row of the sheet (blank ones included). Raises
    :class:`NotPlain` where expat must take over."""
    pieces = _Pieces(archive, sheet.member)
    texts = pl.DataFrame({"text": sheet.texts}, schema={"text": pl.String}).with_columns(
        chars=pl.col("text").str.len_chars()
    )
    skip, done = sheet.header_rows, 0
    for piece in pieces:
        try:
            frame = _piece_frame(piece, sheet, texts, len(names), limits)
        except NotPlain:
            raise NotPlain(done) from None
        dropped = min(skip, frame.height)
        frame, skip = frame.slice(dropped), skip - dropped
        if frame.height:
            frame.columns = [row_column, *names]
            done += frame.height
            yield frame
    if pieces.not_plain:
        raise NotPlain(done)


class _Pieces:
    """The rows of a worksheet member (inside ``<sheetData>``) in pieces of whole rows, as text.

    Every byte is also fed to expat (refusing a DTD or entity), so XML that is not well-formed
    is refused before a row of it is read. Stops, with ``not_plain`` set, at a sheet that is
    not UTF-8 or whose ``sheetData`` is written another way, at anything but white space after
    the last row, and where no row ends within twice :data:`PIECE_BYTES` (memory stays
    bounded, as in the expat reader).
    """

    def __init__(self, archive: zipfile.ZipFile, member: str) -> None:
        self.archive, self.member = archive, member
        self.not_plain = False

    def __iter__(self) -> Iterator[str]:
        validator = XmlStream(self.archive, self.member)
        buffer, begun = b"", False
        with validator.open() as stream:
            while True:
                chunk = validator.read(stream, _READ)
                validator.feed(chunk, final=not chunk)
                buffer += chunk
                if not begun:
                    begin = self._rows_start(buffer, final=not chunk)
                    if begin is None:
                        if self.not_plain:
                            return
                        continue
                    begun, buffer = True, buffer[begin:]
                end = buffer.find(b"</sheetData>")
                last = buffer.rfind(_ROW_END, 0, end if end >= 0 else len(buffer))
                cut = last + len(_ROW_END) if last >= 0 else 0
                if end < 0 and chunk and cut < PIECE_BYTES:
                    if len(buffer) >= 2 * PIECE_BYTES:  # no end of a row in sight
                        self.not_plain = True
                        return
                    continue
                piece, buffer = buffer[:cut], buffer[cut:]
                if piece:
                    yield piece.decode("utf-8")
                if end >= 0 or not chunk:  # only white space may follow the last row
                    self.not_plain = end < 0 or bool(buffer[: end - cut].strip())
                    return

    def _rows_start(self, buffer: bytes, final: bool) -> int | None:
        """Where the rows begin (after ``<sheetData>``), once the buffer holds it; None, with
        ``not_plain`` set when expat is to read the sheet instead."""
        found = buffer.find(b"sheetData")
        if found < 0:
            self.not_plain = final or len(buffer) >= PIECE_BYTES  # no rows in sight
            return None
        declared = _ENCODING.match(buffer)
        self.not_plain = (
            buffer[found - 1 : found + 10] != b"<sheetData>"  # <sheetData/>, a prefix, attributes
            or not buffer.startswith(b"<")  # a byte-order mark, so maybe UTF-16
            or (declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8"))
        )
        return None if self.not_plain else found + len(b"sheetData>")


def _piece_frame(
    piece: str, sheet: Sheet, texts: pl.DataFrame, width: int, limits: ReadLimits
) -> pl.DataFrame:
    """The rows of one piece: their numbers and ``width`` String columns (:class:`NotPlain`
    for a piece holding any of :data:`_NOT_PLAIN`)."""
    whole = pl.Series([piece], dtype=pl.String)
    if whole.str.contains_any(list(_NOT_PLAIN)).item():
        raise NotPlain(0)
    rows = (
        whole.str.split(_ROW_END.decode())
        .explode()
        .head(-1)  # after the last end tag: nothing
        .str.splitn(">", 2)
        .struct.rename_fields(["tag", "content"])
        .struct.unnest()
        .select(
            pl.col("tag").str.extract(_ROW_TAG, 1).cast(pl.Int64).alias("number"),
            "content",
            cells=pl.col("content").str.extract_all(_CELL),
        )
    )
    numbers = rows.get_column("number")
    if (
        numbers.null_count()
        or rows.get_column("content").null_count()
        or (numbers - 1 > limits.max_rows).any()
        or not rows.select(_tiled(pl.col("cells"), pl.col("content")).all()).item()
    ):
        raise NotPlain(0)
    frame = pl.DataFrame(
        [numbers, *(pl.Series(f"c{i}", [None] * rows.height, pl.String) for i in range(width))]
    )
    # Most pieces hold no "&", so no entity either: five passes over every cell saved (13 %).
    cells = _cells(rows, sheet, texts, width, limits, entities="&" in piece)
    for (column,), part in cells.partition_by("column", as_dict=True).items():
        name = f"c{column}"
        frame = frame.with_columns(
            frame.get_column(name).scatter(part.get_column("at"), part.get_column("value"))
        )
    return frame


def _tiled(parts: pl.Expr, whole: pl.Expr) -> pl.Expr:
    """True where the matches ``parts`` (a list per row) make up all of ``whole``."""
    return parts.list.eval(pl.element().str.len_bytes()).list.sum() == whole.str.len_bytes()


def _cells(
    rows: pl.DataFrame,
    sheet: Sheet,
    texts: pl.DataFrame,
    width: int,
    limits: ReadLimits,
    *,
    entities: bool,
) -> pl.DataFrame:
    """``at`` (the row's place in the piece), ``column`` and ``value`` of the cells the expat
    reader keeps: within the header's width, holding text, not empty once converted.
    ``entities``: whether the piece may hold an entity (an ``&``)."""
    raw = pl.coalesce("value", "text")
    for entity, character in _ENTITIES if entities else ():
        raw = raw.str.replace_all(entity, character, literal=True)
    cells = (
        rows.select(pl.col("cells").alias("cell"), at=pl.int_range(pl.len(), dtype=pl.Int64))
        .explode("cell")
        .drop_nulls("cell")
        .with_columns(
            pl.col("cell")
            .str.extract_groups(_PLAIN_CELL)
            .struct.rename_fields(["letters", "style", "kind", "value", "text"])
        )
        .unnest("cell")
        .with_columns(raw=raw, kind=pl.col("kind").fill_null("n"))
    )
    if (
        cells.get_column("letters").null_count()
        or (cells.get_column("raw").str.len_chars() > limits.max_cell_chars).any()
    ):
        raise NotPlain(0)
    letters = cells.get_column("letters").unique().to_list()
    cells = cells.with_columns(
        column=pl.col("letters")
        .replace_strict(letters, [column_index(letter) for letter in letters])
        .cast(pl.Int64),  # also when there are no cells (no mapping then)
        style=pl.col("style").cast(pl.Int64).fill_null(0),
    )
    in_order = (pl.col("column").diff() > 0) | (pl.col("at").diff() != 0)
    if not cells.select(in_order.fill_null(True).all()).item():
        raise NotPlain(0)  # a column twice in a row (the last would count), or out of order
    kept = cells.filter(
        (pl.col("column") < width) & pl.col("raw").is_not_null() & (pl.col("raw") != "")
    )
    return _values(kept, sheet, texts, limits).filter(pl.col("value") != "")


def _values(
    cells: pl.DataFrame, sheet: Sheet, texts: pl.DataFrame, limits: ReadLimits
) -> pl.DataFrame:
    """Each cell's text as Excel shows it, by the expat reader's rules: shared texts looked up,
    each distinct number and flag converted once by :func:`cell_text`."""
    converted = cells.filter(pl.col("kind").is_in(["n", "b"])).select("raw", "kind", "style")
    table = pl.DataFrame(
        [
            (raw, kind, style, cell_text(raw, kind, style, sheet.date_styles, sheet.epoch))
            for raw, kind, style in converted.unique().iter_rows()
        ],
        schema={"raw": pl.String, "kind": pl.String, "style": pl.Int64, "shown": pl.String},
        orient="row",
    )
    value = (
        pl.when(pl.col("kind").is_in(["n", "b"]))
        .then(pl.col("shown"))
        .when(pl.col("kind") == "d")
        .then(pl.col("raw").str.strip_suffix("T00:00:00"))
        .otherwise(pl.col("raw"))  # a shared text's number until it is looked up below
    )
    out = cells.join(table, on=["raw", "kind", "style"], how="left", maintain_order="left")
    out = out.select("at", "column", "kind", value.alias("value"))
    shared = out.select(pl.arg_where(pl.col("kind") == "s")).to_series()
    if shared.len():
        index = out.get_column("value").gather(shared)
        if not index.str.contains(r"^[0-9]{1,9}$").all():
            raise NotPlain(0)
        positions = index.cast(pl.Int64)
        if positions.max() >= texts.height:  # type: ignore[operator]  # an integer column
            raise NotPlain(0)
        chars = texts.get_column("chars").gather(positions)
        # One long text in many cells: the expat reader cuts such rows into small batches.
        if chars.max() > limits.max_cell_chars or chars.sum() > BATCH_CHARS:  # type: ignore[operator]
            raise NotPlain(0)
        found = texts.get_column("text").gather(positions)
        out = out.with_columns(out.get_column("value").scatter(shared, found))
    return out.select("at", "column", "value")
