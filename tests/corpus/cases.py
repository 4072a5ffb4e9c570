"""The corpus of real-world bad and awkward uploads, each with the exact outcome it must get.

One table (:data:`CASES`): a case is one partner folder with its files (bytes, generated here
so that encodings, BOMs and binary content are exact) and the expected outcome per file:
processed with N accepted/rejected rows and which (row, rule) pairs, quarantined with which
reason, a duplicate upload, or left alone (still being written / refused). Every case uses its
own house numbers, so no two files are identical unless a case says so.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import xlsxwriter

from tests.hostile import xlsx_bomb

PROCESSED = "verwerkt"
QUARANTINED = "quarantaine"
DUPLICATE = "dubbele_aanlevering"
WRITING = "wordt nog geschreven"
REFUSED = "geweigerd"

HEADER = ["postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "voorziening", "startdatum", "einddatum"]  # fmt: skip
GOOD_ROWS = 40
POSTCODE = "1503AB"  # every number 1-9999 of it is in the corpus address table


@dataclass(frozen=True)
class Expected:
    """What must happen to one file."""

    status: str
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    rules: frozenset[tuple[int, str]] | None = None  # exact (rij, regel) set when given
    reason: str = ""  # part of the receipt's or skip's reason


@dataclass(frozen=True)
class Case:
    name: str  # the partner folder (an organisation code)
    what: str  # the real-world situation, in a few words
    files: dict[str, bytes]
    expected: dict[str, Expected]
    partner_name: str | None = None  # [partners.<name>] naam in the corpus config
    links: dict[str, str] = field(default_factory=dict)  # symlink name -> target outside


def rows(case: int, n: int = GOOD_ROWS, code: str = "WMO-HH") -> list[list[str]]:
    """``n`` distinct valid rows with house numbers unique to the case."""
    return [
        [POSTCODE, str(case * 100 + i), "", "", code, "2026-01-01", ""] for i in range(1, n + 1)
    ]


def _field(value: str, sep: str) -> str:
    """A CSV field, quoted (quotes doubled) when it holds the separator, a quote or a newline."""
    if any(ch in value for ch in (sep, '"', "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv(table: list[list[str]], sep: str = ";", end: str = "\n", header: list[str] = HEADER) -> str:
    return "".join(sep.join(_field(v, sep) for v in r) + end for r in [header, *table])


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


def xlsx(sheets: list[tuple[str, list[list[object]]]], formulas: bool = False) -> bytes:
    """A workbook; with ``formulas`` the voorziening cells are formulas (with cached values)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for title, table in sheets:
        sheet = book.add_worksheet(title)
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                if formulas and r and c == 4:
                    sheet.write_formula(r, c, f'="{value}"', None, value)
                else:
                    sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def _bad(case: int, *bad: list[str], good: int = GOOD_ROWS) -> bytes:
    return utf8(csv(rows(case, good) + list(bad)))


def _rules(*pairs: tuple[int, str]) -> frozenset[tuple[int, str]]:
    return frozenset(pairs)


def _quote_left_open(case: int, at_line: int, closed_after: int) -> bytes:
    """A remark opened with a quote on ``at_line``, closed ``closed_after`` lines further."""
    lines = csv([[*r, ""] for r in rows(case)], header=[*HEADER, "opmerking"]).splitlines()
    lines[at_line - 1] += '"begin'
    lines[at_line - 1 + closed_after] += 'eind"'
    return utf8("\n".join(lines) + "\n")


OK = Expected(PROCESSED, accepted=GOOD_ROWS)
FIRST_BAD = GOOD_ROWS + 2  # row number of the first row after the good ones

CASES: tuple[Case, ...] = (
    Case(
        "c01-plain",
        "UTF-8, puntkomma: the format we ask for",
        {"a.csv": utf8(csv(rows(1)))},
        {"a.csv": OK},
    ),
    Case("c02-komma", "comma-separated", {"a.csv": utf8(csv(rows(2), sep=","))}, {"a.csv": OK}),
    Case("c03-tab", "tab-separated text", {"a.txt": utf8(csv(rows(3), sep="\t"))}, {"a.txt": OK}),
    Case(
        "c04-bom",
        "UTF-8 with BOM (Excel 'CSV UTF-8')",
        {"a.csv": b"\xef\xbb\xbf" + utf8(csv(rows(4)))},
        {"a.csv": OK},
    ),
    Case(
        "c05-cp1252",
        "Windows-1252 accents in an extra column (Excel 'CSV')",
        {
            "a.csv": csv(
                [[*r, "Zoë Brontë café"] for r in rows(5)], header=[*HEADER, "opmerking"]
            ).encode("cp1252")
        },
        {"a.csv": OK},
    ),
    Case(
        "c06-utf16",
        "UTF-16 from Excel 'Unicode text' (tabs, CRLF)",
        {"a.txt": csv(rows(6), sep="\t", end="\r\n").encode("utf-16")},
        {"a.txt": OK},
    ),
    Case(
        "c07-alleen-kop",
        "header only: refused, as the delivery format says",
        {"a.csv": utf8(csv([]))},
        {"a.csv": Expected(QUARANTINED, reason="alleen een kopregel")},
    ),
    Case("c08-leeg", "empty file", {"a.csv": b""}, {"a.csv": Expected(QUARANTINED, reason="leeg")}),
    Case(
        "c08b-witruimte",
        "only blank lines",
        {"a.csv": b"\r\n\r\n  \n"},
        {"a.csv": Expected(QUARANTINED, reason="leeg")},
    ),
    Case(
        "c09-kolom-mist",
        "required column voorziening missing",
        {"a.csv": utf8(csv([r[:4] for r in rows(9)], header=HEADER[:4]))},
        {"a.csv": Expected(QUARANTINED, reason="ontbreken: voorziening")},
    ),
    Case(
        "c10-extra-kolommen",
        "extra columns (naam, bsn) are dropped",
        {
            "a.csv": utf8(
                csv(
                    [[*r, "Jansen", "123456782"] for r in rows(10)], header=[*HEADER, "naam", "bsn"]
                )
            )
        },
        {"a.csv": OK},
    ),
    Case(
        "c11-dubbele-kop",
        "a header named twice",
        {"a.csv": utf8(csv([[*r, "1503AC"] for r in rows(11)], header=[*HEADER, "Postcode"]))},
        {"a.csv": Expected(QUARANTINED, reason="meer dan eens")},
    ),
    Case(
        "c12-quotes",
        "quoted fields with embedded newlines and delimiters",
        {
            "a.csv": utf8(
                csv(
                    [[*r, 'regel 1;\nregel 2, "aanhalingstekens"'] for r in rows(12)],
                    header=[*HEADER, "opmerking"],
                )
            )
        },
        {"a.csv": OK},
    ),
    Case(
        "c13-lege-regels",
        "trailing separators and trailing empty lines",
        {"a.csv": utf8(csv([[*r, ""] for r in rows(13)], header=[*HEADER, ""]) + ";;;;;;;;\n\n\n")},
        {"a.csv": OK},
    ),
    Case(
        "c14-excel-serial",
        "Excel serial dates (46023 = 2026-01-01)",
        {"a.csv": utf8(csv([[*r[:5], "46023", "46387"] for r in rows(14)]))},
        {"a.csv": OK},
    ),
    Case(
        "c15-jj",
        "dates as dd-mm-jj and dd/mm/yyyy",
        {"a.csv": utf8(csv([[*r[:5], "01-02-26", "31/12/2026"] for r in rows(15)]))},
        {"a.csv": OK},
    ),
    Case(
        "c16-eind-voor-start",
        "einddatum before startdatum",
        {"a.csv": _bad(16, [POSTCODE, "1699", "", "", "WMO-HH", "2026-05-01", "01-04-2026"])},
        {
            "a.csv": Expected(
                PROCESSED, GOOD_ROWS, 1, rules=_rules((FIRST_BAD, "einddatum_voor_startdatum"))
            )
        },
    ),
    Case(
        "c17-postcodes",
        "invalid postcodes 1234 A, 0123AB, 1234SA",
        {
            "a.csv": _bad(
                17,
                ["1234 A", "1", "", "", "WMO-HH", "", ""],
                ["0123AB", "2", "", "", "WMO-HH", "", ""],
                ["1234SA", "3", "", "", "WMO-HH", "", ""],
                good=60,
            )
        },
        {
            "a.csv": Expected(
                PROCESSED, 60, 3, rules=_rules(*((62 + i, "postcode_ongeldig") for i in range(3)))
            )
        },
    ),
    Case(
        "c18-huisnummers",
        "huisnummer 0, negative, text only",
        {
            "a.csv": _bad(
                18,
                [POSTCODE, "0", "", "", "WMO-HH", "", ""],
                [POSTCODE, "-5", "", "", "WMO-HH", "", ""],
                [POSTCODE, "abc", "", "", "WMO-HH", "", ""],
                good=60,
            )
        },
        {
            "a.csv": Expected(
                PROCESSED, 60, 3, rules=_rules(*((62 + i, "huisnummer_ongeldig") for i in range(3)))
            )
        },
    ),
    Case(
        "c19-postbus",
        "a Postbus instead of a home address",
        {"a.csv": _bad(19, ["1500AA", "Postbus 123", "", "", "WMO-HH", "", ""])},
        {"a.csv": Expected(PROCESSED, GOOD_ROWS, 1, rules=_rules((FIRST_BAD, "postbus")))},
    ),
    Case(
        "c20-onbekende-code",
        "unknown provision code",
        {"a.csv": _bad(20, [POSTCODE, "2099", "", "", "XYZ-99", "", ""])},
        {
            "a.csv": Expected(
                PROCESSED, GOOD_ROWS, 1, rules=_rules((FIRST_BAD, "voorziening_onbekend"))
            )
        },
    ),
    Case(
        "c21-apostrof",
        "numbers stored as text with a leading apostrophe",
        {"a.csv": utf8(csv([["'" + r[0], "'" + r[1], *r[2:]] for r in rows(21)]))},
        {"a.csv": OK},
    ),
    Case(
        "c22-xlsx-bladen",
        "XLSX with several sheets: the first filled one is read",
        {
            "a.xlsx": xlsx(
                [("Levering", [HEADER, *rows(22)]), ("Toelichting", [["Zie handleiding"]])]
            )
        },
        {"a.xlsx": OK},
    ),
    Case(
        "c23-xlsx-leeg-blad",
        "XLSX whose first sheet is empty",
        {"a.xlsx": xlsx([("Blad1", []), ("Data", [HEADER, *rows(23)])])},
        {"a.xlsx": OK},
    ),
    Case(
        "c24-xlsx-formules",
        "XLSX with formulas (their saved values are read)",
        {"a.xlsx": xlsx([("Data", [HEADER, *rows(24)])], formulas=True)},
        {"a.xlsx": OK},
    ),
    Case(
        "c25-binair",
        "a binary file named .csv",
        {"a.csv": bytes(range(256)) * 8},
        {"a.csv": Expected(QUARANTINED, reason="binaire inhoud")},
    ),
    Case(
        "c26-kapot-xlsx",
        "a damaged workbook",
        {"a.xlsx": b"PK\x03\x04" + b"kapot" * 50},
        {"a.xlsx": Expected(QUARANTINED, reason="niet te openen")},
    ),
    Case(
        "c27-part",
        "a download still in progress (.part) and an editor's temp file",
        {"a.csv.part": utf8(csv(rows(27))), "b.tmp": utf8(csv(rows(27, 3)))},
        {
            "a.csv.part": Expected(WRITING, reason="nog geschreven"),
            "b.tmp": Expected(WRITING, reason="nog geschreven"),
        },
    ),
    Case(
        "c28-lock",
        "an Office lock file next to the workbook",
        {"~$a.xlsx": b"\x00lock", "a.xlsx": xlsx([("Data", [HEADER, *rows(28)])])},
        {"~$a.xlsx": Expected(WRITING, reason="vergrendeld"), "a.xlsx": OK},
    ),
    Case(
        "c29-symlink",
        "a symlink to a file outside the upload folder",
        {},
        {"geheim.csv": Expected(REFUSED, reason="symbolische koppeling")},
        links={"geheim.csv": "buiten/geheim.csv"},
    ),
    Case(
        "c30-formule-injectie",
        "formula injection in cells, the file name and the organisation name",
        {
            '=HYPERLINK("http-x","klik").csv': _bad(
                30,
                [POSTCODE, "3098", "", "", '=HYPERLINK("http://x","klik")', "", ""],
                ["+31", "3099", "", "", "WMO-HH", "", ""],
                [POSTCODE, "@SUM(1)", "", "", "WMO-HH", "", ""],
                good=60,
            )
        },
        {
            '=HYPERLINK("http-x","klik").csv': Expected(
                PROCESSED,
                60,
                3,
                rules=_rules(
                    (62, "voorziening_onbekend"),
                    (63, "postcode_ongeldig"),
                    (64, "huisnummer_ongeldig"),
                ),
            )
        },
        partner_name="=cmd|' /C calc'!A0",
    ),
    Case(
        "c31-twee-keer",
        "the same file uploaded twice under two names",
        {"a.csv": utf8(csv(rows(31))), "b.csv": utf8(csv(rows(31)))},
        {"a.csv": OK, "b.csv": Expected(DUPLICATE, reason="identiek aan")},
    ),
    Case(
        "c32-te-veel-fout",
        "too many invalid rows (25%): quarantined whole, with feedback",
        {
            "a.csv": _bad(
                32, *[["1234 A", str(i), "", "", "WMO-HH", "", ""] for i in range(10)], good=30
            )
        },
        {"a.csv": Expected(QUARANTINED, reason="10 van de 40 rijen")},
    ),
    Case(
        "c33-gemengd",
        "mixed delimiters: one row with commas",
        {"a.csv": _bad(33, [f"{POSTCODE},3399,,,WMO-HH,,"])},
        {
            "a.csv": Expected(
                PROCESSED,
                GOOD_ROWS,
                1,
                rules=_rules(
                    (FIRST_BAD, "postcode_ongeldig"),
                    (FIRST_BAD, "huisnummer_ontbreekt"),
                    (FIRST_BAD, "voorziening_ontbreekt"),
                ),
            )
        },
    ),
    Case(
        "c34-pipes",
        "a delimiter we do not know (|)",
        {"a.csv": utf8(csv(rows(34), sep="|"))},
        {"a.csv": Expected(QUARANTINED, reason="geen scheidingsteken")},
    ),
    Case(
        "c35-dubbele-rij",
        "an exact duplicate row inside a file",
        {"a.csv": utf8(csv([*rows(35), rows(35)[0]]))},
        {"a.csv": Expected(PROCESSED, GOOD_ROWS, 0, duplicates=1)},
    ),
    Case(
        "c36-crlf",
        "Windows line endings",
        {"a.csv": utf8(csv(rows(36), end="\r\n"))},
        {"a.csv": OK},
    ),
    Case(
        "c37-kop-anders",
        "headers in other case, with spaces, and 'toevoeging'",
        {
            "a.csv": utf8(
                csv(
                    rows(37),
                    header=[
                        "Post code",
                        "HUISNUMMER",
                        "Huis_letter",
                        "Toevoeging",
                        "Voorziening",
                        "Start datum",
                        "Eind-datum",
                    ],
                )
            )
        },
        {"a.csv": OK},
    ),
    Case(
        "c38-lege-kop",
        "a first line without column names",
        {"a.csv": utf8(";;;;;;\n" + csv(rows(38)).split("\n", 1)[1])},
        {"a.csv": Expected(QUARANTINED, reason="kopregel is leeg")},
    ),
    Case(
        "c39-geen-kopregel",
        "no header row: the first data row would be taken for column names",
        {"a.csv": utf8(csv(rows(39)).split("\n", 1)[1])},
        {"a.csv": Expected(QUARANTINED, reason="lijkt de eerste regel gegevens")},
    ),
    Case(
        "c40-cr",
        "old Mac export: CR-only line endings",
        {"a.csv": utf8(csv(rows(40), end="\r"))},
        {"a.csv": OK},
    ),
    Case(
        "c41-xlsx-kolom-rij",
        "XLSX with a column named rij (the reader's own row number is apart)",
        {"a.xlsx": xlsx([("Data", [["rij", *HEADER], *[["7", *r] for r in rows(41)]])])},
        {"a.xlsx": OK},
    ),
    Case(
        "c42-aanhalingsteken",
        "a quote opened on row 12 and closed 20 lines later: refused, not merged",
        {"a.csv": _quote_left_open(42, at_line=12, closed_after=20)},
        {"a.csv": Expected(QUARANTINED, reason="rij 12 (regel 12 tot en met 13")},
    ),
    Case(
        "c43-lange-regel",
        "one line of 2 MB with 140,000 fields",
        {"a.csv": utf8(";".join(HEADER) + "\n" + ";".join(["1503AB4301"] * 140_000) + "\n")},
        {"a.csv": Expected(QUARANTINED, reason="langer dan 1.000.000 tekens")},
    ),
    Case(
        "c44-zip-bom",
        "an XLSX whose sheet unpacks a thousand times its size: refused before unpacking",
        {"a.xlsx": xlsx_bomb(4 << 20)},
        {"a.xlsx": Expected(QUARANTINED, reason="zip-bom")},
    ),
)
