"""Intake stage: find the uploads, read each one, and map it onto the delivery format.

The upload folder holds one folder per partner organisation (``<uploads>/<organisatie>/``).
Intake only reads: consuming (deleting) an upload happens at the end of a run, after its
receipt is written, so that a crash never loses a delivery.

Not every file in an upload folder is a delivery. A file that is still being written (a
``.part``/``.tmp`` download, an Office lock file ``~$...``, or one modified within the
settling time) is left for the next run; a symbolic link, or anything resolving outside the
upload folder, is refused, because following it could read (and later delete) a file the
partner never delivered. Both are reported, neither is consumed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connectors.partner_files import (
    BATCH_ROWS,
    DUPLICATE_SUFFIX,
    ROW_COLUMN,
    SOURCE_ROW,
    PartnerFile,
    UnreadableFile,
    open_partner_file,
)
from factlab.config import CANONICAL_COLUMNS, ORGANISATION_PATTERN, PartnerSettings, header_key
from factlab.files import sha256_file
from factlab.safe_text import neutralise

QUARANTINE_FOLDER = "_quarantaine"
_ALIASES = {"toevoeging": "huisnummertoevoeging"}
REQUIRED_COLUMNS = ("postcode", "huisnummer", "voorziening")
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart")
IN_PROGRESS_PREFIXES = ("~$", ".~lock.")
_DUPLICATE_NAME = re.compile(re.escape(DUPLICATE_SUFFIX) + r"\d+$")

WRITING = "wordt nog geschreven"
REFUSED = "geweigerd"


@dataclass(frozen=True)
class Upload:
    """One file in the upload folder, as it was when the run found it."""

    organisation: str
    path: Path
    sha256: str
    stamp: tuple[int, int] = (0, 0)  # (size, mtime_ns): a changed file is not consumed

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def label(self) -> str:
        """How the file is named in receipts and messages: ``organisatie/bestand``."""
        return neutralise(f"{self.organisation}/{self.path.name}")

    def unchanged(self) -> bool:
        """True if the file on disk is still the one this run read."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return False
        return (stat.st_size, stat.st_mtime_ns) == self.stamp


@dataclass(frozen=True)
class Skipped:
    """A file found in the upload folder but not read in this run, and why (in Dutch)."""

    organisation: str
    name: str
    status: str  # WRITING or REFUSED
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {
            "organisatie": self.organisation,
            "bestand": neutralise(self.name),
            "status": self.status,
            "reden": self.reason,
        }


@dataclass(frozen=True)
class Found:
    """What a look at the upload folder found: deliveries to read and files left alone."""

    uploads: list[Upload]
    skipped: list[Skipped]


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _refusal(path: Path, root: Path) -> str | None:
    if path.is_symlink():
        return "symbolische koppeling; lever het bestand zelf aan in de uploadmap"
    if not path.resolve().is_relative_to(root):
        return "het pad wijst buiten de uploadmap"
    return None


def _in_progress(path: Path, now: float, settle_seconds: float) -> str | None:
    name = path.name.lower()
    if name.endswith(IN_PROGRESS_SUFFIXES) or path.name.startswith(IN_PROGRESS_PREFIXES):
        return "tijdelijk of vergrendeld bestand: het wordt nog geschreven; volgende run opnieuw"
    if now - path.stat().st_mtime < settle_seconds:
        return f"minder dan {settle_seconds:g} seconden geleden gewijzigd; volgende run opnieuw"
    return None


def find_uploads(uploads: Path, settle_seconds: float = 0.0) -> Found:
    """Every delivery in a stable order (organisation, file name), plus the files left alone.

    Hidden files and the quarantine folder are ignored silently; a folder whose name is no
    organisation code (see the configuration) too.
    """
    root = uploads.resolve()
    now = time.time()
    found: list[Upload] = []
    skipped: list[Skipped] = []
    for folder in sorted(uploads.iterdir()):
        if folder.name.startswith((".", "_")) or not ORGANISATION_PATTERN.match(folder.name):
            continue
        refusal = _refusal(folder, root)
        if refusal:
            skipped.append(Skipped(folder.name, "", REFUSED, f"uploadmap: {refusal}"))
            continue
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            refusal = _refusal(path, root)
            if refusal:
                skipped.append(Skipped(folder.name, path.name, REFUSED, refusal))
                continue
            writing = _in_progress(path, now, settle_seconds)
            if writing:
                skipped.append(Skipped(folder.name, path.name, WRITING, writing))
            elif path.is_file() and not path.name.startswith("."):
                found.append(Upload(folder.name, path, sha256_file(path), _stamp(path)))
    return Found(found, skipped)


class MissingColumns(UnreadableFile):
    """Required columns are absent (or ambiguous) after mapping."""


def _canonical_targets(columns: list[str], partner: PartnerSettings) -> dict[str, str]:
    """Partner column -> canonical column; a canonical column named twice is refused."""
    renames: dict[str, str] = {}
    for column in columns:
        if column == SOURCE_ROW:
            continue
        key = header_key(_DUPLICATE_NAME.sub("", column))
        target = partner.columns.get(key) or _ALIASES.get(key) or key
        if target not in CANONICAL_COLUMNS:
            continue
        if target in renames.values():
            raise MissingColumns(
                f"de kolom {target} komt meer dan eens voor in de kopregel; houd er één over"
            )
        renames[column] = target
    missing = [c for c in REQUIRED_COLUMNS if c not in renames.values()]
    if missing:
        raise MissingColumns(
            f"verplichte kolom(men) ontbreken: {', '.join(missing)} "
            f"({_found_columns(columns, renames)})"
        )
    return renames


def _found_columns(columns: list[str], recognised: dict[str, str]) -> str:
    """What the header held, for the partner; but never a header cell itself.

    Without a header row the first data row is read as column names, and echoing it would put
    an address (or anything else a file carries) into the receipt, the feedback and the log. So
    only the recognised columns are named, by their canonical name (our text, not the file's);
    the others are counted.
    """
    names = [c for c in columns if c != SOURCE_ROW]
    shown = [recognised[c] for c in names if c in recognised]
    others = [c for c in names if c not in recognised]
    text = f"herkende kolommen: {', '.join(shown) or 'geen'}"
    if others:
        text += f"; {len(others)} andere kolom(men), namen niet getoond"
    if any(ch.isdigit() for c in others for ch in _DUPLICATE_NAME.sub("", c)):
        text += (
            ". Er staan cijfers in de kolomnamen: als dat gegevens zijn, lijkt de eerste regel "
            "gegevens in plaats van een kopregel; zet de kolomnamen op regel 1"
        )
    return text


def _cell(column: str) -> pl.Expr:
    """A cell as written, minus surrounding spaces and Excel's text-marking apostrophe."""
    return pl.col(column).str.strip_chars().str.strip_prefix("'").str.strip_chars()


def map_columns(raw: pl.DataFrame, partner: PartnerSettings) -> pl.DataFrame:
    """Rename the partner's columns to canonical names and map its own provision codes.

    Unknown extra columns are dropped here (they may hold free text we do not want to carry).
    """
    renames = _canonical_targets(raw.columns, partner)
    frame = raw.select(
        pl.col(SOURCE_ROW).alias(ROW_COLUMN),
        *(_cell(src).alias(dst) for src, dst in renames.items()),
    )
    frame = frame.with_columns(
        pl.lit(None, dtype=pl.String).alias(c) for c in CANONICAL_COLUMNS if c not in frame.columns
    ).select(ROW_COLUMN, *CANONICAL_COLUMNS)
    if partner.codes:
        code = pl.col("voorziening")
        frame = frame.with_columns(
            code.str.to_uppercase().replace_strict(partner.codes, default=code).alias("voorziening")
        )
    return frame


@dataclass(frozen=True)
class Delivery:
    """An upload whose format is known, readable (again and again) as mapped batches."""

    upload: Upload
    file: PartnerFile
    partner: PartnerSettings

    def batches(self, rows: int = BATCH_ROWS) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
        """(raw, mapped) frames: the cells as written, and the canonical String columns."""
        for raw in self.file.batches(rows):
            yield raw, map_columns(raw, self.partner)


def open_delivery(upload: Upload, partner: PartnerSettings) -> Delivery:
    """Detect an upload's format; raises :class:`UnreadableFile` for a file that is no table."""
    return Delivery(upload, open_partner_file(upload.path), partner)
