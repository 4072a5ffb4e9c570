"""Hostile and odd partner files, generated at test time (no committed binaries).

Each helper returns the bytes of one file as a partner's odd export system, a careless colleague
or an attacker would make it. Files that should be refused carry :data:`CANARY` where their
content could leak into a message, so a test can check that it never does.
"""

from __future__ import annotations

import base64
import io
import struct
import zipfile

import xlsxwriter

CANARY = "KANARIE-7f3a9c"  # planted in hostile files; must never reach a message
HEADER = ["postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "voorziening", "startdatum", "einddatum"]  # fmt: skip


def rows(n: int, start: int = 1) -> list[list[str]]:
    """``n`` distinct valid rows."""
    return [["1503AB", str(i), "", "", "WMO-HH", "2026-01-01", ""] for i in range(start, start + n)]


def csv_text(table: list[list[str]], header: list[str] = HEADER, sep: str = ";") -> list[str]:
    """The lines of a CSV file (no line endings): header, then the rows."""
    return [sep.join(row) for row in [header, *table]]


def csv_bytes(
    table: list[list[str]], header: list[str] = HEADER, end: str = "\n", encoding: str = "utf-8"
) -> bytes:
    return "".join(line + end for line in csv_text(table, header)).encode(encoding)


def quote_closed_later(lines_later: int = 70, total: int = 100, at_row: int = 12) -> bytes:
    """A remark cell opened with a quote on row ``at_row``, closed ``lines_later`` lines on."""
    header = [*HEADER, "opmerking"]
    table = [[*row, ""] for row in rows(total - 1)]
    table[at_row - 2][-1] = f'"{CANARY} begin'
    table[at_row - 2 + lines_later][-1] = 'eind"'
    return csv_bytes(table, header)


def quote_never_closed(total: int = 8, at_row: int = 5) -> bytes:
    """A quote opened in a cell of row ``at_row`` and never closed (a short file)."""
    header = [*HEADER, "opmerking"]
    table = [[*row, ""] for row in rows(total - 1)]
    table[at_row - 2][-1] = f'"{CANARY}'
    return csv_bytes(table, header)


def huge_line(size: int = 20 << 20, fields: int = 1_400_000) -> bytes:
    """One line of ``size`` bytes and about ``fields`` fields, after a normal header."""
    cell = (CANARY + "x" * (size // fields))[: max(1, size // fields - 1)]
    return (";".join(HEADER) + "\n" + ";".join([cell] * fields) + "\n").encode()


def secrets_file() -> bytes:
    """A secrets file dropped into the upload folder by mistake."""
    key = base64.b64encode(bytes(range(32)) + CANARY.encode()).decode()
    return f"FACTLAB_KEY={key}\nFACTLAB_OTHER={CANARY}\n".encode()


def xlsx(table: list[list[object]], sheets_before: int = 0) -> bytes:
    """A workbook whose (first non-empty) sheet holds ``table``; cells keep their Python type."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for i in range(sheets_before):
        book.add_worksheet(f"Leeg{i}")
    sheet = book.add_worksheet("Data")
    dates = book.add_format({"num_format": "dd-mm-yyyy"})
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            if hasattr(value, "isoformat"):
                sheet.write_datetime(r, c, value, dates)
            elif value is not None and value != "":
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _members(workbook: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _patch_declared_size(workbook: bytes, member: str, size: int) -> bytes:
    """The workbook with its central directory claiming ``size`` unpacked bytes for ``member``.

    A size past 4 GiB goes, as in any zip64 archive, into a zip64 extra field of the entry.
    """
    data = bytearray(workbook)
    end = data.rfind(b"PK\x05\x06")
    at = data.find(b"PK\x01\x02")
    while 0 <= at < end:
        name_length, extra_length = struct.unpack("<HH", data[at + 28 : at + 32])
        if data[at + 46 : at + 46 + name_length] != member.encode():
            comment_length = struct.unpack("<H", data[at + 32 : at + 34])[0]
            at += 46 + name_length + extra_length + comment_length
            continue
        if size < 0xFFFFFFFF:
            data[at + 24 : at + 28] = struct.pack("<I", size)
            return bytes(data)
        data[at + 24 : at + 28] = struct.pack("<I", 0xFFFFFFFF)
        data[at + 30 : at + 32] = struct.pack("<H", extra_length + 12)
        extra_at = at + 46 + name_length + extra_length
        data[extra_at:extra_at] = struct.pack("<HHQ", 1, 8, size)
        end += 12
        directory_size = struct.unpack("<I", data[end + 12 : end + 16])[0]
        data[end + 12 : end + 16] = struct.pack("<I", directory_size + 12)
        return bytes(data)
    raise KeyError(member)


SHEET = "xl/worksheets/sheet1.xml"


def xlsx_claiming(size: int) -> bytes:
    """A small valid workbook whose zip directory claims its sheet unpacks to ``size`` bytes."""
    return _patch_declared_size(xlsx([HEADER, *rows(3)]), SHEET, size)


def xlsx_bomb(unpacked: int = 64 << 20) -> bytes:
    """A workbook whose sheet is ``unpacked`` bytes of repeated rows, deflated ~1000 times."""
    members = _members(xlsx([HEADER, *rows(1)]))
    row = b'<row><c t="inlineStr"><is><t>1503AB</t></is></c></row>'
    body = row * (unpacked // len(row))
    members[SHEET] = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData>' + body + b"</sheetData></worksheet>"
    )
    return _zip(members)


def xlsx_with_sheet_xml(sheet_xml: bytes) -> bytes:
    """A workbook whose first sheet is the given XML (for hand-made sheets)."""
    members = _members(xlsx([HEADER]))
    members[SHEET] = sheet_xml
    return _zip(members)


def sheet_xml(rows_xml: str) -> bytes:
    return (
        '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><sheetData>{rows_xml}</sheetData></worksheet>'
    ).encode()


def inline_row(number: int, cells: list[str], first_column: str = "A") -> str:
    columns = [chr(ord(first_column) + i) for i in range(len(cells))]
    inner = "".join(
        f'<c r="{col}{number}" t="inlineStr"><is><t>{text}</t></is></c>'
        for col, text in zip(columns, cells, strict=True)
    )
    return f'<row r="{number}">{inner}</row>'
