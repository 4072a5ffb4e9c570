"""Run one edition: uploads in, de-identified household table and receipts out.

This is the edge where the pure stages meet files, keys and time::

    intake -> validate -> place -> pseudonymise -> (staging) -> link -> publish

Crash safety ("nothing lost") comes from the order of effects:

1. Uploads are only read while the run works; pseudonymised rows go to the staging folder.
2. Outputs are written atomically into ``<out>/<edition>/``; ``audit.json`` is written last and
   marks the edition complete.
3. Only then are uploads consumed: processed files deleted, unreadable files moved to
   quarantine. A run killed before (3) leaves every upload in place, and the rerun redoes the
   work from scratch (an incomplete edition folder is wiped first). A run killed during (3) is
   finished by the rerun, which recognises the remaining uploads by name and SHA-256 in the
   audit record.

Outputs never depend on the key (the pseudonym is dropped and rows are ordered by content),
so a rerun gives the same files even with a fresh ephemeral key.
"""

from __future__ import annotations

import io
import json
import logging
import platform
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from connectors.cbs import read_pc6hnr, read_wijken, read_wijkkaart
from connectors.partner_files import UnreadableFile
from factlab import __version__
from factlab.catalogue import load_catalogue
from factlab.config import EditionConfig, Period
from factlab.disclose import DEFAULT_RULES, DisclosureError, DisclosureRules
from factlab.errors import FactlabError
from factlab.files import atomic_write_bytes, atomic_write_text
from factlab.intake import QUARANTINE_FOLDER, Upload, discover, read_delivery
from factlab.keys import PseudonymKey
from factlab.link import link
from factlab.place import OUTSIDE, place, placement_counts
from factlab.pseudonymise import pseudonymise
from factlab.publish import publish
from factlab.receipts import (
    QUARANTINED,
    Outcome,
    duplicate_upload_receipt,
    processed_receipt,
    quarantine_receipt,
    totals,
)
from factlab.staging import Staging
from factlab.validate import repeated_rows, validate

log = logging.getLogger(__name__)

EDITION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HOUSEHOLDS_FILE = "huishoudens.parquet"
AUDIT_FILE = "audit.json"
RECEIPTS_FOLDER = "ontvangst"

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass(frozen=True)
class RunSettings:
    """What a run needs: where, which edition, with which configuration and period."""

    uploads: Path
    out: Path
    edition: str
    config: EditionConfig
    period: Period | None = None
    replace: bool = False


@dataclass
class RunResult:
    """Summary of a finished run, for the CLI and the flows."""

    edition_dir: Path
    households: int
    outcomes: list[Outcome] = field(default_factory=list)
    already_published: bool = False

    @property
    def households_file(self) -> Path:
        return self.edition_dir / HOUSEHOLDS_FILE


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def _software() -> dict[str, str]:
    versions = {"factlab": __version__, "python": platform.python_version()}
    for package in ("polars", "duckdb", "cryptography"):
        versions[package] = metadata.version(package)
    return versions


def _receipt_path(edition_dir: Path, upload: Upload) -> Path:
    return edition_dir / RECEIPTS_FOLDER / upload.organisation / f"{upload.name}.json"


def _check_edition_name(edition: str) -> None:
    if not EDITION_PATTERN.match(edition):
        raise FactlabError(
            f"editienaam {edition!r} is ongeldig: gebruik letters, cijfers, '.', '_' of '-' "
            "(bijvoorbeeld 2026 of 2026-h1)"
        )


def _quarantine_target(uploads: Path, upload: Upload) -> Path:
    return uploads / QUARANTINE_FOLDER / upload.organisation / upload.name


def _consume(settings: RunSettings, outcomes: list[Outcome]) -> None:
    """Delete processed uploads; move quarantined ones, with their feedback, aside."""
    for outcome in outcomes:
        upload = outcome.upload
        if not upload.path.exists():
            continue
        if outcome.status == QUARANTINED:
            target = _quarantine_target(settings.uploads, upload)
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(
                target.with_name(f"{upload.name}.feedback.txt"),
                f"Bestand {upload.label} is niet verwerkt.\nReden: {outcome.receipt['reden']}\n"
                "Verbeter het bestand en lever het opnieuw aan in uw uploadmap.\n",
            )
            upload.path.replace(target)
        else:
            upload.path.unlink()


def _finish_published(settings: RunSettings, edition_dir: Path) -> RunResult | None:
    """If the edition is already complete, finish consuming its uploads and say so."""
    audit_path = edition_dir / AUDIT_FILE
    if not audit_path.exists():
        if edition_dir.exists():  # an interrupted earlier attempt: all derived, redo it
            shutil.rmtree(edition_dir)
        return None
    audit = json.loads(audit_path.read_text(encoding="utf-8"))
    known = {(r["organisatie"], r["bestand"], r["sha256"]): r for r in audit["bestanden"]}
    present = list(discover(settings.uploads))
    leftovers = [
        Outcome(u, known[(u.organisation, u.name, u.sha256)])
        for u in present
        if (u.organisation, u.name, u.sha256) in known
    ]
    new = [u for u in present if (u.organisation, u.name, u.sha256) not in known]
    _consume(settings, leftovers)
    if new and not settings.replace:
        raise FactlabError(
            f"editie {settings.edition!r} is al gepubliceerd ({audit['voltooid']}); er staan "
            f"{len(new)} nieuwe bestanden klaar. Kies een nieuwe editienaam, of gebruik "
            "--replace om deze editie opnieuw op te bouwen uit alleen de nieuwe bestanden."
        )
    if new:
        audit_path.unlink()
        shutil.rmtree(edition_dir)
        return None
    households = int(audit["totalen"]["huishoudens"])
    return RunResult(edition_dir, households, leftovers, already_published=True)


def _process_upload(
    upload: Upload,
    settings: RunSettings,
    staging: Staging,
    key: PseudonymKey,
    address_table: pl.DataFrame,
    catalogue: pl.DataFrame,
) -> Outcome:
    partner = settings.config.partner(upload.organisation)
    try:
        delivery = read_delivery(upload, partner)
    except UnreadableFile as error:
        log.warning("%s: in quarantaine: %s", upload.label, error)
        return Outcome(upload, quarantine_receipt(upload, partner.naam, str(error)))
    checked = validate(
        delivery.frame,
        catalogue_codes=frozenset(catalogue.get_column("code")),
        period=settings.period,
        duplicate_mask=repeated_rows(delivery.raw.frame),
    )
    placed = place(checked.valid, address_table, settings.config.gemeente_code)
    analysed = placed.filter(pl.col("plaatsing") != OUTSIDE).join(
        catalogue.select(pl.col("code").alias("voorziening"), "domein"), on="voorziening"
    )
    staged = pseudonymise(
        analysed.select(
            "adres_sleutel",
            "wijk_code",
            "buurt_code",
            "voorziening",
            "domein",
            "startdatum",
            "einddatum",
        ).with_columns(organisatie=pl.lit(upload.organisation)),
        key,
        staging.connection,  # type: ignore[arg-type]
    )
    staging.write(staged)
    file_format = {
        "type": delivery.raw.file_format,
        "codering": delivery.raw.encoding,
        "scheidingsteken": {";": ";", ",": ",", "\t": "tab"}.get(delivery.raw.delimiter or ""),
    }
    receipt = processed_receipt(
        upload,
        partner.naam,
        file_format,
        checked,
        placement_counts(placed),
        placed.select("voorziening"),
    )
    log.info(
        "%s: %d rijen gelezen, %d geaccepteerd, %d afgewezen",
        upload.label,
        checked.rows_read,
        checked.valid.height,
        checked.rejected_rows,
    )
    return Outcome(upload, receipt)


def _wijken(config: EditionConfig, address_table: pl.DataFrame) -> pl.DataFrame:
    """Wijk names and dwellings from CBS kerncijfers; without them, the wijken of the address table."""
    if config.wijken is not None:
        return read_wijken(config.wijken)
    codes = (
        address_table.filter(pl.col("gemeente_code") == config.gemeente_code)
        .get_column("wijk_code")
        .unique()
        .sort()
    )
    return pl.DataFrame(
        {"wijk_code": codes, "wijk_naam": codes, "woningen": [None] * len(codes)},
        schema={"wijk_code": pl.String, "wijk_naam": pl.String, "woningen": pl.Int64},
    )


def _publish(
    config: EditionConfig,
    households: pl.DataFrame,
    address_table: pl.DataFrame,
    catalogue: pl.DataFrame,
    provenance: dict[str, Any],
    edition_dir: Path,
) -> None:
    """Analyse, protect and write the tables and the report (issue 3's publish stage)."""
    rules = DisclosureRules(
        threshold=int(config.disclosure.get("drempel", DEFAULT_RULES.threshold)),
        rounding=int(config.disclosure.get("afronding", DEFAULT_RULES.rounding)),
    )
    try:
        publish(
            households,
            gemeente_code=config.gemeente_code,
            gemeente_naam=config.gemeente_naam,
            wijken=_wijken(config, address_table),
            kaart=read_wijkkaart(config.kaart) if config.kaart else None,
            provenance=provenance,
            out_dir=edition_dir,
            rules=rules,
            catalogue=catalogue,
        )
    except DisclosureError as error:
        raise FactlabError(
            f"publicatie geweigerd door de openbaarmakingscontrole: {error}"
        ) from None


def run_edition(
    settings: RunSettings, key: PseudonymKey, progress: Progress | None = None
) -> RunResult:
    """Process every upload into ``<out>/<edition>/``; see the module docstring for the order."""
    _check_edition_name(settings.edition)
    if not settings.uploads.is_dir():
        raise FactlabError(f"uploadmap {settings.uploads} bestaat niet")
    report = progress or (lambda what, done, total: None)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    edition_dir = settings.out / settings.edition
    with Staging(settings.out, settings.edition) as staging:
        finished = _finish_published(settings, edition_dir)
        if finished is not None:
            return finished
        address_table = read_pc6hnr(settings.config.address_table)
        catalogue = load_catalogue(settings.config.catalogue)
        uploads = list(discover(settings.uploads))
        outcomes: list[Outcome] = []
        first_by_hash: dict[str, Upload] = {}
        for done, upload in enumerate(uploads):
            report(f"verwerken: {upload.label}", done, len(uploads))
            if upload.sha256 in first_by_hash:
                partner_name = settings.config.partner(upload.organisation).naam
                receipt = duplicate_upload_receipt(
                    upload, partner_name, first_by_hash[upload.sha256]
                )
                outcomes.append(Outcome(upload, receipt))
                continue
            first_by_hash[upload.sha256] = upload
            outcomes.append(
                _process_upload(upload, settings, staging, key, address_table, catalogue)
            )
        report("koppelen per huishouden", len(uploads), len(uploads))
        households = link(staging.connection, staging.files)  # type: ignore[arg-type]

        buffer = io.BytesIO()
        households.write_parquet(buffer)
        atomic_write_bytes(edition_dir / HOUSEHOLDS_FILE, buffer.getvalue())
        receipts = [outcome.receipt for outcome in outcomes]
        for outcome in outcomes:
            atomic_write_text(_receipt_path(edition_dir, outcome.upload), _json(outcome.receipt))
        audit = {
            "editie": settings.edition,
            "gemeente": {
                "code": settings.config.gemeente_code,
                "naam": settings.config.gemeente_naam,
            },
            "periode": settings.period.as_dict() if settings.period else None,
            "sleutel": {"modus": key.mode, "vingerafdruk": key.fingerprint},
            "software": _software(),
            "gestart": started,
            "bestanden": [{k: v for k, v in r.items() if k != "afwijzingen"} for r in receipts],
            "totalen": totals(receipts) | {"huishoudens": households.height},
        }
        report("publiceren: tabellen en rapport", len(uploads), len(uploads))
        _publish(settings.config, households, address_table, catalogue, audit, edition_dir)
        audit["voltooid"] = datetime.now(UTC).isoformat(timespec="seconds")
        atomic_write_text(edition_dir / AUDIT_FILE, _json(audit))
        _consume(settings, outcomes)
    report("klaar", len(uploads), len(uploads))
    return RunResult(edition_dir, households.height, outcomes)
