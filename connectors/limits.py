"""What reading one partner file may cost, and every way a file is refused.

A partner file is untrusted input. :class:`ReadLimits` bounds what one file may cost (size,
rows, columns, line and cell length, and for a workbook its zip members); each limit has its own
:class:`LimitExceeded` subclass, and every other reason to refuse a file as a whole its own
:class:`UnreadableFile` subclass. Their messages are Dutch templates whose fields are only
numbers (row, line, limit), never content: a cell may hold an address, a header cell too.
``docs/aanleverformaat.md`` lists every limit and refusal with its message (a test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from factlab.errors import FactlabError


def count_nl(n: int) -> str:
    """A count as Dutch readers write it: 20.000.000."""
    return f"{n:,}".replace(",", ".")


def percent_nl(share: float, decimals: int = 1) -> str:
    """A share as a Dutch percentage: 0.012 -> ``1,2%``."""
    return f"{share:.{decimals}%}".replace(".", ",")


def bytes_nl(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{count_nl(n // size)} {unit}"
    return f"{count_nl(n)} bytes"


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
        return cls(None, grens=count_nl(value), grootte=bytes_nl(value), **fields)


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
