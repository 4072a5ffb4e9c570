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

Each upload is read twice, in batches (bounded memory): the first pass only validates, so a file
with too many invalid rows (``max_rejected_share``) or one that cannot be read is quarantined
whole before any of its rows is staged; the second pass places, pseudonymises and stages the
valid rows. The quality checkpoint (:mod:`factlab.quality`) runs on the household table before
it is written and on the published tables after; a failure stops the run before ``audit.json``
so the edition is never complete.

For the kill-and-rerun tests, ``FACTLAB_TEST_KILL_AT=<point>`` makes the process SIGKILL itself
at one of :data:`KILL_POINTS`; without it the checkpoints do nothing.
"""

from __future__ import annotations

import io
import json
import logging
import os
import platform
import re
import shutil
import signal
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
from factlab.config import (
    MAX_REJECTED_SHARE,
    SETTLE_SECONDS,
    EditionConfig,
    Period,
    check_seconds,
    check_share,
    load_config,
)
from factlab.disclose import DEFAULT_RULES, DisclosureError, DisclosureRules
from factlab.errors import FactlabError
from factlab.feedback import CSV_SUFFIX, MARKDOWN_SUFFIX, Feedback, feedback, percent_nl
from factlab.files import atomic_write_bytes, atomic_write_text
from factlab.intake import (
    QUARANTINE_FOLDER,
    Delivery,
    Skipped,
    Upload,
    find_uploads,
    open_delivery,
)
from factlab.keys import PseudonymKey
from factlab.link import link
from factlab.place import OUTSIDE, PLACEMENTS, place, placement_counts
from factlab.pseudonymise import pseudonymise
from factlab.publish import publish_report, publish_tables
from factlab.quality import Quality, check_households, check_tables
from factlab.receipts import (
    QUARANTINED,
    Outcome,
    duplicate_upload_receipt,
    processed_receipt,
    quarantine_receipt,
    totals,
)
from factlab.safe_text import neutralise
from factlab.staging import Staging
from factlab.validate import DuplicateTracker, Tally, validate

log = logging.getLogger(__name__)

EDITION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HOUSEHOLDS_FILE = "huishoudens.parquet"
AUDIT_FILE = "audit.json"
RECEIPTS_FOLDER = "ontvangst"
QUALITY_FOLDER = "kwaliteit"
KILL_ENVIRONMENT = "FACTLAB_TEST_KILL_AT"
#: Where a test may kill a run: after the first upload's first pass, after staging, after the
#: household table, after the receipts, after audit.json, and after consuming the first upload.
KILL_POINTS = ("gelezen", "gestaged", "huishoudens", "ontvangst", "audit", "opruimen")

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
    max_rejected_share: float = MAX_REJECTED_SHARE  # above this share a file is quarantined
    settle_seconds: float = SETTLE_SECONDS  # files modified more recently are left for later

    def __post_init__(self) -> None:
        check_share(self.max_rejected_share, "max_afgewezen")
        check_seconds(self.settle_seconds, "wachttijd")

    @classmethod
    def from_options(
        cls,
        config_path: Path,
        *,
        uploads: Path,
        out: Path,
        edition: str,
        period: str | None = None,
        replace: bool = False,
        max_rejected_share: float | None = None,
        settle_seconds: float | None = None,
    ) -> RunSettings:
        """Settings from the config file, with the options a user gave taking precedence."""
        config = load_config(config_path)
        return cls(
            uploads=uploads,
            out=out,
            edition=edition,
            config=config,
            period=Period.parse(period) if period else config.period,
            replace=replace,
            max_rejected_share=config.max_rejected_share
            if max_rejected_share is None
            else max_rejected_share,
            settle_seconds=config.settle_seconds if settle_seconds is None else settle_seconds,
        )


@dataclass
class RunResult:
    """Summary of a finished run, for the CLI and the flows."""

    edition_dir: Path
    households: int
    outcomes: list[Outcome] = field(default_factory=list)
    already_published: bool = False
    skipped: list[Skipped] = field(default_factory=list)

    def status_counts(self) -> dict[str, int]:
        """How many uploads ended in each status (verwerkt, quarantaine, ...)."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return dict(sorted(counts.items()))

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


def _checkpoint(point: str) -> None:
    """Die here, without cleaning up, if a kill-and-rerun test asks for it."""
    if os.environ.get(KILL_ENVIRONMENT) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _receipt_path(edition_dir: Path, upload: Upload) -> Path:
    return edition_dir / RECEIPTS_FOLDER / upload.organisation / f"{upload.name}.json"


def _check_edition_name(edition: str) -> None:
    if not EDITION_PATTERN.match(edition):
        raise FactlabError(
            f"editienaam {edition!r} is ongeldig: gebruik letters, cijfers, '.', '_' of '-' "
            "(bijvoorbeeld 2026 of 2026-h1)"
        )


def _write_feedback(folder: Path, name: str, written: Feedback) -> None:
    atomic_write_text(folder / f"{name}{MARKDOWN_SUFFIX}", written.markdown)
    atomic_write_bytes(folder / f"{name}{CSV_SUFFIX}", written.csv)


def _quarantine_target(uploads: Path, upload: Upload) -> Path:
    """Where a quarantined upload goes; an earlier quarantined file of that name is kept."""
    target = uploads / QUARANTINE_FOLDER / upload.organisation / upload.name
    if target.exists():
        target = target.with_name(f"{target.stem}.{upload.sha256[:8]}{target.suffix}")
    return target


def _consume(settings: RunSettings, outcomes: list[Outcome]) -> None:
    """Delete processed uploads; move quarantined ones, with their feedback, aside.

    A file that changed after this run read it (a re-upload under the same name) is left for
    the next run.
    """
    for outcome in outcomes:
        upload = outcome.upload
        if not upload.unchanged():
            continue
        if outcome.status == QUARANTINED:
            target = _quarantine_target(settings.uploads, upload)
            if outcome.feedback is not None:
                _write_feedback(target.parent, target.name, outcome.feedback)
            upload.path.replace(target)
        else:
            upload.path.unlink()
        _checkpoint("opruimen")


def _identity(upload: Upload) -> tuple[str, str, str]:
    return upload.organisation, neutralise(upload.name), upload.sha256


def _finish_published(settings: RunSettings, edition_dir: Path) -> RunResult | None:
    """If the edition is already complete, finish consuming its uploads and say so."""
    audit_path = edition_dir / AUDIT_FILE
    if not audit_path.exists():
        if edition_dir.exists():  # an interrupted earlier attempt: all derived, redo it
            shutil.rmtree(edition_dir)
        return None
    audit = json.loads(audit_path.read_text(encoding="utf-8"))
    known = {(r["organisatie"], r["bestand"], r["sha256"]): r for r in audit["bestanden"]}
    found = find_uploads(settings.uploads, settings.settle_seconds)
    leftovers = [
        _leftover(edition_dir, upload, known[_identity(upload)])
        for upload in found.uploads
        if _identity(upload) in known
    ]
    new = [u for u in found.uploads if _identity(u) not in known]
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
    return RunResult(
        edition_dir, households, leftovers, already_published=True, skipped=found.skipped
    )


def _leftover(edition_dir: Path, upload: Upload, receipt: dict[str, Any]) -> Outcome:
    """A published edition's upload that a killed run did not consume yet, with its feedback."""
    folder = _receipt_path(edition_dir, upload).parent
    markdown = folder / f"{upload.name}{MARKDOWN_SUFFIX}"
    written = (
        Feedback(
            markdown.read_text(encoding="utf-8"),
            (folder / f"{upload.name}{CSV_SUFFIX}").read_bytes(),
        )
        if markdown.exists()
        else None
    )
    return Outcome(upload, receipt, written)


def _first_pass(delivery: Delivery, codes: frozenset[str], period: Period | None) -> Tally:
    """Validate every batch; nothing is kept but the counts and the rejections."""
    tally = Tally()
    duplicates = DuplicateTracker()
    for raw, mapped in delivery.batches():
        checked = validate(
            mapped, catalogue_codes=codes, period=period, duplicate_mask=duplicates.mask(raw)
        )
        tally = tally.add(checked)
        _checkpoint("gelezen")
    return tally


def _second_pass(
    delivery: Delivery,
    settings: RunSettings,
    staging: Staging,
    key: PseudonymKey,
    address_table: pl.DataFrame,
    catalogue: pl.DataFrame,
) -> tuple[dict[str, int], dict[str, int]]:
    """Place, pseudonymise and stage the valid rows; returns (placements, rows per provision)."""
    codes = frozenset(catalogue.get_column("code"))
    domains = catalogue.select(pl.col("code").alias("voorziening"), "domein")
    placements = dict.fromkeys(PLACEMENTS, 0)
    provisions: dict[str, int] = {}
    duplicates = DuplicateTracker()
    for raw, mapped in delivery.batches():
        checked = validate(
            mapped,
            catalogue_codes=codes,
            period=settings.period,
            duplicate_mask=duplicates.mask(raw),
        )
        placed = place(checked.valid, address_table, settings.config.gemeente_code)
        for outcome, n in placement_counts(placed).items():
            placements[outcome] += n
        for code, n in placed.group_by("voorziening").len().iter_rows():
            provisions[code] = provisions.get(code, 0) + n
        analysed = placed.filter(pl.col("plaatsing") != OUTSIDE).join(domains, on="voorziening")
        if analysed.height:
            columns = ("adres_sleutel", "wijk_code", "buurt_code", "voorziening", "domein")
            staged = pseudonymise(
                analysed.select(*columns, "startdatum", "einddatum").with_columns(
                    organisatie=pl.lit(delivery.upload.organisation)
                ),
                key,
                staging.connection,  # type: ignore[arg-type]
            )
            staging.write(staged)
    return placements, provisions


def _quarantined(upload: Upload, name: str, reason: str, tally: Tally | None) -> Outcome:
    log.warning("%s: in quarantaine: %s", upload.label, reason)
    written = feedback(upload.label, name, processed=False, reason=reason, tally=tally)
    return Outcome(upload, quarantine_receipt(upload, name, reason), written)


def _too_many_rejected(tally: Tally, limit: float) -> str:
    return (
        f"{tally.rejected_rows} van de {tally.rows_read - tally.duplicates} rijen "
        f"({percent_nl(tally.rejected_share)}) zijn afgewezen; boven {percent_nl(limit, 0)} wordt een bestand niet "
        "verwerkt, want dan is er waarschijnlijk iets mis met de export als geheel"
    )


def _process_upload(
    upload: Upload,
    settings: RunSettings,
    staging: Staging,
    key: PseudonymKey,
    address_table: pl.DataFrame,
    catalogue: pl.DataFrame,
) -> Outcome:
    name = settings.config.partner(upload.organisation).naam
    try:
        delivery = open_delivery(upload, settings.config.partner(upload.organisation))
        tally = _first_pass(delivery, frozenset(catalogue.get_column("code")), settings.period)
    except UnreadableFile as error:
        return _quarantined(upload, name, str(error), None)
    if tally.rejected_share > settings.max_rejected_share:
        return _quarantined(
            upload, name, _too_many_rejected(tally, settings.max_rejected_share), tally
        )
    placements, provisions = _second_pass(
        delivery, settings, staging, key, address_table, catalogue
    )
    receipt = processed_receipt(
        upload, name, delivery.file.describe(), tally, placements, provisions
    )
    log.info(
        "%s: %d rijen gelezen, %d geaccepteerd, %d afgewezen",
        upload.label,
        tally.rows_read,
        tally.accepted,
        tally.rejected_rows,
    )
    written = feedback(upload.label, name, processed=True, reason=None, tally=tally)
    return Outcome(upload, receipt, written)


def _process_all(
    settings: RunSettings,
    uploads: list[Upload],
    staging: Staging,
    key: PseudonymKey,
    report: Progress,
) -> list[Outcome]:
    address_table = read_pc6hnr(settings.config.address_table)
    catalogue = load_catalogue(settings.config.catalogue)
    outcomes: list[Outcome] = []
    first_by_hash: dict[str, Upload] = {}
    for done, upload in enumerate(uploads):
        report(f"verwerken: {upload.label}", done, len(uploads))
        if upload.sha256 in first_by_hash:
            partner_name = settings.config.partner(upload.organisation).naam
            receipt = duplicate_upload_receipt(upload, partner_name, first_by_hash[upload.sha256])
            outcomes.append(Outcome(upload, receipt))
            continue
        first_by_hash[upload.sha256] = upload
        outcomes.append(_process_upload(upload, settings, staging, key, address_table, catalogue))
    changed = [u.label for u in uploads if not u.unchanged()]
    if changed:
        raise FactlabError(
            f"bestand(en) gewijzigd terwijl de run ze las: {', '.join(changed)}; er is niets "
            "verwerkt of verwijderd. Start de run opnieuw als de aanlevering klaar is."
        )
    return outcomes


def _stop_if_failed(checked: Quality, edition_dir: Path) -> None:
    """A failed quality check withdraws what was written (Data Docs stay, to explain why)."""
    if checked.passed:
        return
    for path in edition_dir.iterdir():
        if path.name == QUALITY_FOLDER:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    raise FactlabError(
        f"de kwaliteitscontrole is niet geslaagd; er is niets gepubliceerd. {checked.message()} "
        f"Zie {edition_dir / QUALITY_FOLDER / 'index.html'}."
    )


def _wijken(config: EditionConfig) -> pl.DataFrame:
    """Wijk names and dwellings from CBS kerncijfers; without them, the wijken of the address table."""
    if config.wijken is not None:
        return read_wijken(config.wijken)
    codes = (
        read_pc6hnr(config.address_table)
        .filter(pl.col("gemeente_code") == config.gemeente_code)
        .get_column("wijk_code")
        .unique()
        .sort()
    )
    return pl.DataFrame(
        {"wijk_code": codes, "wijk_naam": codes, "woningen": [None] * len(codes)},
        schema={"wijk_code": pl.String, "wijk_naam": pl.String, "woningen": pl.Int64},
    )


def _disclosure_rules(config: EditionConfig) -> DisclosureRules:
    return DisclosureRules(
        threshold=int(config.disclosure.get("drempel", DEFAULT_RULES.threshold)),
        rounding=int(config.disclosure.get("afronding", DEFAULT_RULES.rounding)),
    )


def _publish(
    config: EditionConfig,
    households: pl.DataFrame,
    provenance: dict[str, Any],
    edition_dir: Path,
    checked: Quality,
) -> None:
    """Publish tables, check them as written, then the report that summarises every check.

    Adds the table checks to ``provenance["kwaliteit"]``; a failed check stops the run before
    the report is written.
    """
    rules = _disclosure_rules(config)
    catalogue = load_catalogue(config.catalogue)
    area = {"gemeente_code": config.gemeente_code, "gemeente_naam": config.gemeente_naam}
    try:
        protected = publish_tables(
            households, **area, wijken=_wijken(config), provenance=provenance,
            out_dir=edition_dir, rules=rules, catalogue=catalogue,
        )  # fmt: skip
        checked = checked.merge(check_tables(edition_dir, edition_dir / QUALITY_FOLDER, rules))
        provenance["kwaliteit"] = checked.summary()
        _stop_if_failed(checked, edition_dir)
        publish_report(
            protected, **area, kaart=read_wijkkaart(config.kaart) if config.kaart else None,
            provenance=provenance, out_dir=edition_dir, rules=rules, catalogue=catalogue,
        )  # fmt: skip
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
        found = find_uploads(settings.uploads, settings.settle_seconds)
        for skipped in found.skipped:
            log.warning(
                "%s/%s: %s: %s",
                skipped.organisation,
                neutralise(skipped.name),
                skipped.status,
                skipped.reason,
            )
        uploads = found.uploads
        outcomes = _process_all(settings, uploads, staging, key, report)
        _checkpoint("gestaged")
        report("koppelen per huishouden", len(uploads), len(uploads))
        households = link(staging.connection, staging.files)  # type: ignore[arg-type]
        receipts = [outcome.receipt for outcome in outcomes]
        quality_dir = edition_dir / QUALITY_FOLDER
        checked = check_households(households, quality_dir)
        provenance: dict[str, Any] = {
            "editie": settings.edition,
            "gemeente": {
                "code": settings.config.gemeente_code,
                "naam": neutralise(settings.config.gemeente_naam),
            },
            "periode": settings.period.as_dict() if settings.period else None,
            "sleutel": {"modus": key.mode, "vingerafdruk": key.fingerprint},
            "software": _software(),
            "gestart": started,
            "bestanden": [{k: v for k, v in r.items() if k != "afwijzingen"} for r in receipts],
            "overgeslagen": [skipped.as_dict() for skipped in found.skipped],
            "totalen": totals(receipts) | {"huishoudens": households.height},
            "kwaliteit": checked.summary(),
        }
        _stop_if_failed(checked, edition_dir)

        buffer = io.BytesIO()
        households.write_parquet(buffer)
        atomic_write_bytes(edition_dir / HOUSEHOLDS_FILE, buffer.getvalue())
        _checkpoint("huishoudens")
        report("publiceren: tabellen en rapport", len(uploads), len(uploads))
        _publish(settings.config, households, provenance, edition_dir, checked)
        for outcome in outcomes:
            path = _receipt_path(edition_dir, outcome.upload)
            atomic_write_text(path, _json(outcome.receipt))
            if outcome.feedback is not None:
                _write_feedback(path.parent, outcome.upload.name, outcome.feedback)
        _checkpoint("ontvangst")
        audit = provenance | {"voltooid": datetime.now(UTC).isoformat(timespec="seconds")}
        atomic_write_text(edition_dir / AUDIT_FILE, _json(audit))
        _checkpoint("audit")
        _consume(settings, outcomes)
    report("klaar", len(uploads), len(uploads))
    return RunResult(edition_dir, households.height, outcomes, skipped=found.skipped)
