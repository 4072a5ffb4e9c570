"""Intake stage: find the uploads, read each one, and map it onto the delivery format.

The upload folder holds one folder per partner organisation (``<uploads>/<organisatie>/``);
each partner folder gets a ``terugkoppeling/`` folder where Factlab writes receipts and
feedback (never read back as uploads). Intake only reads: taking an upload into the edition
happens in :mod:`factlab.arrival`, after its receipt is written, so a crash never loses one.

Every entry under the upload folder is either a delivery or listed with its reason, never
ignored silently: a file still being written (``.part``/``.tmp``, an Office lock file ``~$...``,
or one modified within the settling time) is left for the next check; a symbolic link, or
anything resolving outside the upload folder, is refused, because following it could read (and
later delete) a file the partner never delivered; hidden files, nested folders, files outside a
partner folder and anything that is not a regular file (a FIFO, a socket) are listed too.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from factlab.config import CANONICAL_COLUMNS, PartnerSettings, header_key
from factlab.connectors.limits import DEFAULT_LIMITS, ReadLimits
from factlab.connectors.partner_files import (
    BATCH_ROWS,
    DUPLICATE_SUFFIX,
    ROW_COLUMN,
    SOURCE_ROW,
    PartnerFile,
    ReadCounts,
    UnreadableFile,
    open_partner_file,
)
from factlab.names import ORGANISATION_RULE, display_name, is_organisation
from factlab.safe_text import neutralise

FEEDBACK_FOLDER = "terugkoppeling"
WITHDRAW_SUFFIX = ".intrekken"
_ALIASES = {"toevoeging": "huisnummertoevoeging"}
REQUIRED_COLUMNS = ("postcode", "huisnummer", "voorziening")
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart")
IN_PROGRESS_PREFIXES = ("~$", ".~lock.")
_DUPLICATE_NAME = re.compile(re.escape(DUPLICATE_SUFFIX) + r"\d+$")

WRITING = "wordt nog geschreven"
REFUSED = "geweigerd"
NOT_READ = "niet gelezen"


@dataclass(frozen=True)
class Upload:
    """One file in a partner folder, as it was when the check found it."""

    organisation: str
    path: Path
    stamp: tuple[int, int] = (0, 0)  # (size, mtime_ns): a changed file is not taken in

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        return self.stamp[0]

    @property
    def label(self) -> str:
        """How the file is named in receipts and messages: ``organisatie/bestand``, escaped."""
        return neutralise(f"{self.organisation}/{display_name(self.path.name)}")

    @property
    def withdraws(self) -> str | None:
        """For a withdrawal marker ``<bestand>.intrekken``: the name of the file withdrawn."""
        if self.name.lower().endswith(WITHDRAW_SUFFIX) and len(self.name) > len(WITHDRAW_SUFFIX):
            return self.name[: -len(WITHDRAW_SUFFIX)]
        return None

    def unchanged(self) -> bool:
        """True if the file on disk is still the one this check read."""
        try:
            return _stamp(self.path) == self.stamp
        except FileNotFoundError:
            return False


@dataclass(frozen=True)
class Skipped:
    """An entry in the upload folder that was not read, and why (in Dutch)."""

    organisation: str  # "" for an entry outside any partner folder
    name: str
    status: str  # WRITING, REFUSED or NOT_READ
    reason: str

    @property
    def label(self) -> str:
        where = display_name(self.organisation) if self.organisation else "(uploadmap)"
        return neutralise(f"{where}/{display_name(self.name)}") if self.name else where

    def as_dict(self) -> dict[str, str]:
        return {
            "organisatie": display_name(self.organisation),
            "bestand": display_name(self.name),
            "status": self.status,
            "reden": self.reason,
        }


@dataclass(frozen=True)
class Found:
    """What a look at the upload folder found: deliveries to read and entries left alone."""

    uploads: list[Upload]
    skipped: list[Skipped]


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _refusal(path: Path, root: Path) -> str | None:
    if path.is_symlink():
        return "symbolische koppeling; lever het bestand zelf aan in de uploadmap"
    if not path.resolve().is_relative_to(root):
        return "het pad wijst buiten de uploadmap"
    return None


def _in_progress(path: Path, now: float, settle_seconds: float) -> str | None:
    name = path.name.lower()
    if name.endswith(IN_PROGRESS_SUFFIXES) or path.name.startswith(IN_PROGRESS_PREFIXES):
        return (
            "tijdelijk of vergrendeld bestand: het wordt nog geschreven; volgende controle opnieuw"
        )
    if now - path.stat().st_mtime < settle_seconds:
        return (
            f"minder dan {settle_seconds:g} seconden geleden gewijzigd; volgende controle opnieuw"
        )
    return None


def _not_a_delivery(path: Path) -> str | None:
    """Why an entry in a partner folder is no delivery file, or None if it may be one."""
    mode = os.lstat(path).st_mode
    if stat.S_ISDIR(mode):
        return "submap: zet bestanden direct in de organisatiemap, niet in een submap"
    if not stat.S_ISREG(mode):
        return "geen gewoon bestand (bijvoorbeeld een pipe of apparaat); lever een bestand aan"
    if path.name.startswith("."):
        return "verborgen bestand (naam begint met een punt); geef het een gewone naam"
    return None


def _partner_folder(
    folder: Path, root: Path, now: float, settle: float
) -> Iterator[Upload | Skipped]:
    org = folder.name
    for path in sorted(folder.iterdir()):
        if path.name == FEEDBACK_FOLDER and path.is_dir() and not path.is_symlink():
            continue  # Factlab's own feedback for this partner
        refusal = _refusal(path, root) or _not_a_delivery(path)
        if refusal:
            yield Skipped(org, path.name, REFUSED, refusal)
            continue
        writing = _in_progress(path, now, settle)
        if writing:
            yield Skipped(org, path.name, WRITING, writing)
        else:
            yield Upload(org, path, _stamp(path))


def find_uploads(uploads: Path, settle_seconds: float = 0.0) -> Found:
    """Every delivery in a stable order (organisation, file name), plus every entry left alone."""
    root = uploads.resolve()
    now = time.time()
    found: list[Upload] = []
    skipped: list[Skipped] = []
    for entry in sorted(uploads.iterdir()):
        name = entry.name
        if not entry.is_dir() or entry.is_symlink():
            reason = (
                _refusal(entry, root)
                or "staat niet in een organisatiemap; zet het in <uploadmap>/<organisatie>/"
            )
            skipped.append(Skipped("", name, REFUSED, reason))
            continue
        if name.startswith((".", "_")):
            skipped.append(
                Skipped(name, "", NOT_READ, "verborgen of interne map; wordt niet gelezen")
            )
            continue
        if not is_organisation(name):
            skipped.append(Skipped(name, "", REFUSED, f"ongeldige naam: {ORGANISATION_RULE}"))
            continue
        for item in _partner_folder(entry, root, now, settle_seconds):
            (found if isinstance(item, Upload) else skipped).append(item)  # type: ignore[arg-type]  # mypy does not narrow across the conditional
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
    # _cell per column, in two steps: strip every cell, then take the apostrophe off only in
    # the columns where a cell starts with one (few do; the other two passes copy every cell).
    frame = raw.select(
        pl.col(SOURCE_ROW).alias(ROW_COLUMN),
        *(pl.col(src).str.strip_chars().alias(dst) for src, dst in renames.items()),
    )
    marked = frame.select(pl.col(dst).str.starts_with("'").any() for dst in renames.values())
    apostrophes = [name for name in marked.columns if marked.get_column(name).item()]
    if apostrophes:
        frame = frame.with_columns(_cell(name) for name in apostrophes)
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

    def batches(
        self, rows: int = BATCH_ROWS, counts: ReadCounts | None = None
    ) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
        """(raw, mapped) frames: the cells as written, and the canonical String columns.

        ``counts`` (if given) is filled as the file is read: rows below the header, and the
        blank ones among them that are in no batch.
        """
        for raw in self.file.batches(rows, counts):
            yield raw, map_columns(raw, self.partner)


def open_delivery(
    upload: Upload, partner: PartnerSettings, limits: ReadLimits = DEFAULT_LIMITS
) -> Delivery:
    """Detect an upload's format; raises :class:`UnreadableFile` for a file that is no table."""
    return Delivery(upload, open_partner_file(upload.path, limits), partner)
