"""Intake stage: find the uploads, read each one, and map it onto the delivery format.

The upload folder holds one folder per partner organisation (``<uploads>/<organisatie>/``).
Intake only reads: consuming (deleting) an upload happens at the end of a run, after its
receipt is written, so that a crash never loses a delivery.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connectors.partner_files import ROW_COLUMN, RawTable, UnreadableFile, read_partner_file
from factlab.config import CANONICAL_COLUMNS, ORGANISATION_PATTERN, PartnerSettings, header_key
from factlab.files import sha256_file

QUARANTINE_FOLDER = "_quarantaine"
_ALIASES = {"toevoeging": "huisnummertoevoeging"}
REQUIRED_COLUMNS = ("postcode", "huisnummer", "voorziening")


@dataclass(frozen=True)
class Upload:
    """One file in the upload folder."""

    organisation: str
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def label(self) -> str:
        """How the file is named in receipts and messages: ``organisatie/bestand``."""
        return f"{self.organisation}/{self.path.name}"


@dataclass(frozen=True)
class Delivery:
    """An upload mapped onto the delivery format: canonical String columns plus ``rij``."""

    upload: Upload
    frame: pl.DataFrame
    raw: RawTable


def discover(uploads: Path) -> Iterator[Upload]:
    """Yield every upload file in a stable order (organisation, file name).

    Hidden files and the quarantine folder are skipped.
    """
    for folder in sorted(p for p in uploads.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")) or not ORGANISATION_PATTERN.match(folder.name):
            continue
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            if path.name.startswith("."):
                continue
            yield Upload(folder.name, path, sha256_file(path))


class MissingColumns(UnreadableFile):
    """Required columns are absent after mapping."""


def map_columns(raw: pl.DataFrame, partner: PartnerSettings) -> pl.DataFrame:
    """Rename the partner's columns to canonical names and map its own provision codes.

    Unknown extra columns are dropped here (they may hold free text we do not want to carry).
    """
    renames: dict[str, str] = {}
    for column in raw.columns:
        if column == ROW_COLUMN:
            continue
        key = header_key(column)
        target = partner.columns.get(key) or _ALIASES.get(key) or key
        if target in CANONICAL_COLUMNS and target not in renames.values():
            renames[column] = target
    missing = [c for c in REQUIRED_COLUMNS if c not in renames.values()]
    if missing:
        raise MissingColumns(
            f"verplichte kolom(men) ontbreken: {', '.join(missing)} "
            f"(gevonden kolommen: {', '.join(c for c in raw.columns if c != ROW_COLUMN)})"
        )
    frame = raw.select(ROW_COLUMN, *(pl.col(src).alias(dst) for src, dst in renames.items()))
    frame = frame.with_columns(
        pl.lit(None, dtype=pl.String).alias(c) for c in CANONICAL_COLUMNS if c not in frame.columns
    ).select(ROW_COLUMN, *CANONICAL_COLUMNS)
    if partner.codes:
        code = pl.col("voorziening").str.strip_chars()
        frame = frame.with_columns(
            code.str.to_uppercase().replace_strict(partner.codes, default=code).alias("voorziening")
        )
    return frame


def read_delivery(upload: Upload, partner: PartnerSettings) -> Delivery:
    """Read and map one upload; raises :class:`UnreadableFile` for a file that is no delivery."""
    raw = read_partner_file(upload.path)
    return Delivery(upload, map_columns(raw.frame, partner), raw)
