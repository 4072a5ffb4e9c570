"""Check on arrival: each new upload is validated when it lands and taken into the open edition.

For every complete new file in a partner folder, in this order (so that a kill at any point,
then a rerun, loses nothing and counts nothing twice):

1. copy it into the workspace (fsynced) and check that the original did not change meanwhile;
2. read the copy once: validate every row, place the valid addresses (no key is needed for
   that), and keep the placed rows in the workspace for the close; decide accepted or
   quarantined (unreadable, over a limit, or too many rejected rows);
3. record the delivery in the edition's state (atomically); a delivery under a name the
   partner used before supersedes the earlier one;
4. write the receipt and Dutch feedback into the partner's ``terugkoppeling/`` folder;
5. remove the upload from the partner folder and mark it consumed.

A rerun after a kill between 3 and 5 finds the upload still in place with exactly the content of
a recorded, unconsumed delivery, and only finishes 4 and 5. A large check does step 2 ahead, in
reader processes (one per core, :class:`_ReadAhead`), and takes each result in this same order,
so a check on many cores ends exactly as one in a single process. Any failure while reading one
file (an exception, a limit) quarantines that file with a receipt and the check goes on with the
others: one hostile file never stops the edition. A file whose reading ended the process that
read it (a crash in a library, the memory killer) is read once more in a process of its own:
after a reader process died on it, or when a rerun finds the copy a killed check made of it in
step 1. If that process ends too, the file is quarantined; a kill of the check at any point
therefore still reruns to the same end, and a file that crashes its reader stops the edition
at most once. Logs name organisation and delivery id, never a file name (partner-chosen, it
may carry anything) and never a cell value.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from factlab import readers, row_parts
from factlab.catalogue import load_catalogue
from factlab.check_size import LARGE_CHECK_BYTES, READ_AHEAD_UPLOADS
from factlab.checkpoints import KILL_ENVIRONMENT, checkpoint
from factlab.config import EditionConfig, Period
from factlab.connectors.cbs_prepared import prepare, read_pc6hnr_addresses
from factlab.connectors.limits import percent_nl
from factlab.connectors.partner_files import ReadCounts, UnreadableFile
from factlab.errors import FactlabError
from factlab.feedback import CSV_SUFFIX, MARKDOWN_SUFFIX, Feedback, feedback
from factlab.files import atomic_write_bytes, atomic_write_text, json_text, same_content
from factlab.helper_process import CallFailed, HelperProcess, ProcessGone
from factlab.intake import (
    FEEDBACK_FOLDER,
    REFUSED,
    Found,
    Skipped,
    Upload,
    find_uploads,
    open_delivery,
)
from factlab.names import file_stem
from factlab.place import OUTSIDE, PLACEMENTS, AddressIndex, place, placement_counts
from factlab.receipts import (
    Outcome,
    duplicate_receipt,
    processed_receipt,
    quarantine_receipt,
    withdrawal_receipt,
)
from factlab.schemas.records import (
    CURRENT,
    OPEN,
    PROCESSED,
    SUPERSEDED,
    UNDER_REVIEW,
    WITHDRAWN,
    Delivery,
    EditionState,
    Receipt,
    Status,
)
from factlab.validate import DuplicateTracker, Tally, validate
from factlab.workspace import Workspace, now, private_folder

log = logging.getLogger(__name__)

RECEIPT_SUFFIX = ".ontvangst.json"
SKIPPED_PAGE = "overgeslagen.md"
#: A test's stand-in for a file that crashes its reader: reading an upload of this name ends the
#: process reading it, wherever it is read (a kill point names a point of the check's own process).
CRASH_ENVIRONMENT = "FACTLAB_TEST_CRASH_READING"
STAGED_COLUMNS = ("adres_sleutel", "wijk_code", "buurt_code", "voorziening", "domein")
#: Rows per batch while checking: each batch is validated, placed and written as one part, so
#: this bounds the check's memory on a huge upload (the test holds 6 M rows under 1 GB).
CHECK_BATCH_ROWS = 200_000
#: Rows looked up in the CBS table, per check, after which the table is held whole: reading
#: the national table (~0.5 s, ~360 MB) costs what two or three nationally spread batches cost.
WHOLE_TABLE_AFTER_ROWS = 500_000
READ_AHEAD_FOLDER = "voorlezen"


def _crash_if_asked(upload: Upload) -> None:
    """End this process as a reader crash would, if a test names this upload."""
    if os.environ.get(CRASH_ENVIRONMENT) == upload.name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class CheckSettings:
    """What checking needs besides the workspace: the config and the delivery rules."""

    uploads: Path
    config: EditionConfig
    period: Period | None
    max_rejected_share: float
    settle_seconds: float


@dataclass(frozen=True)
class CheckResult:
    """What one check did: the outcomes of new uploads, and the entries it left alone."""

    outcomes: list[Outcome]
    skipped: list[Skipped]
    state: EditionState


class TooSlow(UnreadableFile):
    """Reading and checking one file took longer than ``[aanlevering] max_seconden``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"het lezen en controleren van het bestand duurde langer dan {seconds:g} seconden; "
            "splits het in kleinere bestanden"
        )


class _Reference:
    """The catalogue, and the address table's rows for placing the addresses a batch holds.

    The CBS table is parsed once per release into a prepared copy
    (:mod:`factlab.connectors.cbs_prepared`); a batch reads only the rows of its own addresses,
    until the check has looked up :data:`WHOLE_TABLE_AFTER_ROWS` rows (or from the start, with
    ``whole_table``: a check of :data:`LARGE_CHECK_BYTES`): from then on the table is
    held whole (:class:`factlab.place.AddressIndex`, the same placement). A gemeente's check never
    holds it; a national one reads it once instead of once per batch.
    """

    def __init__(self, config: EditionConfig, whole_table: bool = False) -> None:
        self._config = config
        self.catalogue = load_catalogue(config.catalogue)
        self.codes = frozenset(self.catalogue.get_column("code"))
        self.domains = self.catalogue.select(pl.col("code").alias("voorziening"), "domein")
        self._looked_up = WHOLE_TABLE_AFTER_ROWS if whole_table else 0
        self._index: AddressIndex | None = None

    def place(self, valid: pl.DataFrame) -> pl.DataFrame:
        """:func:`factlab.place.place` of ``valid``: each address in its buurt and wijk."""
        self._looked_up += valid.height
        if self._index is None and self._looked_up > WHOLE_TABLE_AFTER_ROWS:
            self._index = AddressIndex.load(self._config.address_table)
        if self._index is not None:
            return self._index.place(valid, self._config.gemeente_code)
        table = read_pc6hnr_addresses(
            self._config.address_table, valid.select("postcode", "huisnummer")
        )
        return place(valid, table, self._config.gemeente_code)


@dataclass(frozen=True)
class _Read:
    """One file read: its counts, or the reason it cannot be taken in."""

    tally: Tally | None
    placements: dict[str, int]
    provisions: dict[str, int]
    file_format: dict[str, str | None]
    reason: str | None
    blank_rows: int = 0  # rows below the header with no cell filled: in the file, not counted
    #: An unexpected failure: (reference, exception type) for the maintainer's log, written by
    #: the checking process (a reader process has no log of its own).
    failure: tuple[str, str] | None = None


def _too_many_rejected(tally: Tally, limit: float) -> str:
    return (
        f"{tally.rejected_rows} van de {tally.rows_read - tally.duplicates} rijen "
        f"({percent_nl(tally.rejected_share)}) zijn afgewezen; boven {percent_nl(limit, 0)} wordt "
        "een bestand niet verwerkt, want dan is er waarschijnlijk iets mis met de export als geheel"
    )


def _read(
    upload: Upload, stored: Path, rows_dir: Path, settings: CheckSettings, reference: _Reference
) -> _Read:
    """Validate and place every row of the stored copy; the placed rows go to ``rows_dir``."""
    _crash_if_asked(upload)
    partner = settings.config.partner(upload.organisation)
    limits = settings.config.read_limits
    started = time.monotonic()
    delivery = open_delivery(replace(upload, path=stored), partner, limits)
    counts = ReadCounts()
    tally = Tally()
    duplicates = DuplicateTracker()
    placements = dict.fromkeys(PLACEMENTS, 0)
    provisions: dict[str, int] = {}
    private_folder(rows_dir)
    for part, (raw, mapped) in enumerate(delivery.batches(CHECK_BATCH_ROWS, counts)):
        if time.monotonic() - started > settings.config.max_seconds_per_file:
            raise TooSlow(settings.config.max_seconds_per_file)
        checked = validate(
            mapped,
            catalogue_codes=reference.codes,
            period=settings.period,
            duplicate_mask=duplicates.mask(raw),
        )
        tally = tally.add(checked)
        placed = reference.place(checked.valid)
        for outcome, n in placement_counts(placed).items():
            placements[outcome] += n
        for code, n in placed.group_by("voorziening").len().iter_rows():
            provisions[code] = provisions.get(code, 0) + n
        kept = placed.filter(pl.col("plaatsing") != OUTSIDE).join(
            reference.domains, on="voorziening"
        )
        row_parts.write(
            kept.select(*STAGED_COLUMNS, "startdatum", "einddatum").with_columns(
                organisatie=pl.lit(upload.organisation)
            ),
            row_parts.part_path(rows_dir, part),
        )
        checkpoint("gelezen")
    reason = None
    if tally.rows_read == 0:
        reason = "het bestand bevat geen gegevensregels (alleen een kopregel of niets)"
    elif tally.rejected_share > settings.max_rejected_share:
        reason = _too_many_rejected(tally, settings.max_rejected_share)
    return _Read(tally, placements, provisions, delivery.file.describe(), reason, counts.blank_rows)


def _read_guarded(
    upload: Upload, stored: Path, rows_dir: Path, settings: CheckSettings, reference: _Reference
) -> _Read:
    """Read one file; any failure quarantines it (with a reference for the maintainer)."""
    try:
        return _read(upload, stored, rows_dir, settings, reference)
    except UnreadableFile as error:
        return _Read(None, dict.fromkeys(PLACEMENTS, 0), {}, {}, str(error))
    # Isolation is the point: one file never stops the check. A panic in polars' Rust code
    # arrives as a BaseException, not an Exception.
    except (Exception, pl.exceptions.PanicException) as error:
        return _failed(
            "het bestand kon niet worden gelezen door een onverwachte fout", type(error).__name__
        )


def _failed(what: str, failure: str) -> _Read:
    """A quarantine for an unexpected failure; the maintainer's log gets its reference and
    ``failure`` (only a type: a library's message may quote a cell)."""
    reference_id = uuid.uuid4().hex[:8]
    return _Read(
        None, dict.fromkeys(PLACEMENTS, 0), {}, {},
        f"{what}; de beheerder vindt de oorzaak onder referentie {reference_id}",
        failure=(reference_id, failure),
    )  # fmt: skip


def read_stored_copy(
    upload: Upload, stored: Path, rows_dir: Path, settings: CheckSettings
) -> _Read:
    """In a process of its own: read the stored copy of an upload (see
    :func:`_read_in_own_process`)."""
    return _read_guarded(upload, stored, rows_dir, settings, _Reference(settings.config))


def _read_in_own_process(
    upload: Upload, stored: Path, rows_dir: Path, settings: CheckSettings
) -> _Read:
    """Read an upload whose reading ended a process before, in a process of its own; if that
    one ends too, the file is quarantined instead of ending the check."""
    try:
        reader = HelperProcess("het lezen van één upload", unset=(KILL_ENVIRONMENT,))
    except OSError as error:  # no process to be had: read here, as a small check does
        log.warning("geen leesproces te starten (%s): de controle leest zelf", type(error).__name__)
        return read_stored_copy(upload, stored, rows_dir, settings)
    try:
        reader.call(read_stored_copy, upload, stored, rows_dir, settings)
        read: _Read = reader.replies()[0]
        return read
    except (ProcessGone, CallFailed) as error:
        row_parts.remove(rows_dir)
        return _failed(
            "het bestand kon niet worden gelezen: het proces dat het las stopte onverwacht, "
            "ook bij een tweede poging",
            type(error).__name__,
        )
    finally:
        reader.stop()


# ---------------------------------------------------------------------- partner feedback


def feedback_folder(upload: Upload) -> Path:
    return upload.path.parent / FEEDBACK_FOLDER


def _write_feedback(upload: Upload, receipt: Receipt, written: Feedback) -> None:
    """Receipt and feedback in the partner's own folder, under a name derived safely."""
    folder = feedback_folder(upload)
    stem = file_stem(upload.name)
    text = json_text(receipt.as_json())
    atomic_write_text(folder / f"{stem}{RECEIPT_SUFFIX}", text)
    atomic_write_text(folder / f"{stem}{MARKDOWN_SUFFIX}", written.markdown)
    atomic_write_bytes(folder / f"{stem}{CSV_SUFFIX}", written.csv)


def _write_skipped_pages(uploads: Path, skipped: list[Skipped]) -> None:
    """Per partner folder, the entries that were refused (or remove the page when none are)."""
    by_partner: dict[str, list[Skipped]] = {}
    for entry in skipped:
        if entry.organisation and entry.name and entry.status == REFUSED:
            by_partner.setdefault(entry.organisation, []).append(entry)
    for folder in sorted(p for p in uploads.iterdir() if p.is_dir() and not p.is_symlink()):
        page = folder / FEEDBACK_FOLDER / SKIPPED_PAGE
        entries = by_partner.get(folder.name, [])
        if not entries:
            if page.exists():
                page.unlink()
            continue
        lines = [
            "# Niet verwerkte bestanden in uw uploadmap",
            "",
            "Deze bestanden zijn niet gelezen en blijven staan. Wat u kunt doen staat erbij.",
            "",
            *(f"- {e.as_dict()['bestand']}: {e.reason}" for e in entries),
        ]
        atomic_write_text(page, "\n".join(lines) + "\n")


# ---------------------------------------------------------------------- one upload


class _Check:
    """The state of one check: the workspace, the edition's state, and what happened."""

    def __init__(
        self,
        workspace: Workspace,
        state: EditionState,
        settings: CheckSettings,
        upload_bytes: int = 0,
    ) -> None:
        self.workspace = workspace
        self.state = state
        self.settings = settings
        self._whole_table = upload_bytes >= LARGE_CHECK_BYTES
        self._reference: _Reference | None = None
        self.outcomes: list[Outcome] = []
        self.ahead: _ReadAhead | None = None

    @property
    def reference(self) -> _Reference:
        if self._reference is None:
            self._reference = _Reference(self.settings.config, self._whole_table)
        return self._reference

    def _name(self, organisation: str) -> str:
        return self.settings.config.partner(organisation).naam

    def _save(self, *deliveries: Delivery) -> None:
        by_id = {d.id: d for d in deliveries}
        known = [by_id.pop(d.id, d) for d in self.state.deliveries]
        self.state = replace(self.state, deliveries=(*known, *by_id.values()))
        self.workspace.save(self.state)

    def _current_named(self, upload: Upload) -> Delivery | None:
        return next(
            (
                d
                for d in reversed(self.state.deliveries)
                if d.status in CURRENT
                and d.organisation == upload.organisation
                and d.name == upload.name
            ),
            None,
        )

    def _same_content(self, upload: Upload, candidates: list[Delivery]) -> Delivery | None:
        for delivery in candidates:
            if delivery.stored and delivery.size == upload.size:
                stored = self.workspace.path / delivery.stored
                if stored.exists() and same_content(stored, upload.path):
                    return delivery
        return None

    def _finish(self, upload: Upload, delivery: Delivery) -> None:
        """Steps 4 and 5: the partner's feedback, then the upload leaves the partner folder."""
        written = self._stored_feedback(delivery.id)
        _write_feedback(upload, delivery.receipt, written)
        if upload.unchanged():
            upload.path.unlink()
        self._save(replace(delivery, consumed=True))
        self.outcomes.append(Outcome(upload, delivery.receipt, written))

    def _store_feedback(self, delivery_id: str, written: Feedback) -> None:
        """Keep the feedback with the delivery, so a rerun after a kill writes the same pages."""
        folder = self.workspace.feedback_dir
        private_folder(folder)
        atomic_write_text(folder / f"{delivery_id}{MARKDOWN_SUFFIX}", written.markdown, 0o600)
        atomic_write_bytes(folder / f"{delivery_id}{CSV_SUFFIX}", written.csv, 0o600)

    def _stored_feedback(self, delivery_id: str) -> Feedback:
        folder = self.workspace.feedback_dir
        return Feedback(
            (folder / f"{delivery_id}{MARKDOWN_SUFFIX}").read_text(encoding="utf-8"),
            (folder / f"{delivery_id}{CSV_SUFFIX}").read_bytes(),
        )

    def _record(
        self, upload: Upload, delivery: Delivery, tally: Tally | None, *retired: Delivery
    ) -> None:
        """Step 3, then 4 and 5: feedback kept, state saved, partner told, upload consumed."""
        self._store_feedback(delivery.id, feedback(delivery.receipt, upload.label, tally))
        self._save(*retired, delivery)
        checkpoint("aangenomen")
        self._finish(upload, delivery)

    def _retire(self, delivery: Delivery, status: Status) -> Delivery:
        self.workspace.remove(delivery.stored)
        if delivery.rows:
            row_parts.remove(self.workspace.path / delivery.rows)
        return replace(
            delivery,
            receipt=delivery.receipt.with_status(status),
            stored=None,
            rows=None,
        )

    def upload(self, upload: Upload) -> None:
        """Take one upload in (see the module docstring for the order of effects)."""
        pending = self._same_content(
            upload,
            [
                d
                for d in self.state.deliveries
                if not d.consumed
                and d.organisation == upload.organisation
                and d.name == upload.name
            ],
        )
        if pending is not None:  # recorded by a killed check; finish it
            self._finish(upload, pending)
            return
        received = now()
        new_id = self.state.next_id()
        name = self._name(upload.organisation)
        if upload.withdraws is not None:
            self._withdraw(upload, new_id, name, received)
            return
        same = self._same_content(upload, [d for d in self.state.deliveries if d.status in CURRENT])
        if same is not None:
            receipt = duplicate_receipt(upload, new_id, name, received, same.receipt)
            # Kept until published, like every delivery, so a rerun after a kill recognises it.
            stored = self.workspace.store_raw(upload.path, new_id)
            delivery = Delivery(
                new_id, upload.organisation, upload.name, upload.size, stored, None, receipt
            )
            self._record(upload, delivery, None)
            return
        self._take_in(upload, new_id, name, received)

    def _ended_a_check(self, upload: Upload, new_id: str) -> bool:
        """True if a check was killed while it read this upload: the copy it made in step 1 is
        still there, under the id this delivery gets again, with the same content."""
        copy = self.workspace.raw_path(new_id)
        return copy.is_file() and same_content(copy, upload.path)

    def _take_in(self, upload: Upload, new_id: str, name: str, received: str) -> None:
        suspect = self._ended_a_check(upload, new_id)
        stored = self.workspace.store_raw(upload.path, new_id)
        if not upload.unchanged():
            self.workspace.remove(stored)
            log.warning(
                "%s: levering %s gewijzigd tijdens het lezen; volgende controle opnieuw",
                upload.organisation,
                new_id,
            )
            return
        rows = f"rijen/{new_id}"
        rows_dir = self.workspace.path / rows
        row_parts.remove(rows_dir)  # a killed earlier try's
        read = self.ahead.take(upload, rows_dir) if self.ahead else None
        if read is None:
            stored_path = self.workspace.path / stored
            if suspect or (self.ahead is not None and self.ahead.ended_a_reader(upload)):
                read = _read_in_own_process(upload, stored_path, rows_dir, self.settings)
            else:
                read = _read_guarded(upload, stored_path, rows_dir, self.settings, self.reference)
        if read.failure:
            log.error("onverwachte fout bij het lezen van een bestand (ref %s): %s", *read.failure)
        previous = self._current_named(upload)
        replaces = previous.id if previous else None
        if read.reason is None and read.tally is not None:
            receipt = processed_receipt(
                upload, new_id, name, received, file_format=read.file_format, tally=read.tally,
                placements=read.placements, provisions=read.provisions, replaces=replaces,
                blank_rows=read.blank_rows,
            )  # fmt: skip
        else:
            log.warning(
                "%s: levering %s in quarantaine: %s", upload.organisation, new_id, read.reason
            )
            receipt = quarantine_receipt(upload, new_id, name, received, str(read.reason), replaces)
            row_parts.remove(rows_dir)
        delivery = Delivery(
            new_id, upload.organisation, upload.name, upload.size, stored,
            rows if receipt.status == PROCESSED else None, receipt,
        )  # fmt: skip
        retired = [self._retire(previous, SUPERSEDED)] if previous else []
        self._record(upload, delivery, read.tally, *retired)

    def _withdraw(self, upload: Upload, new_id: str, name: str, received: str) -> None:
        target_name = upload.withdraws
        target = next(
            (
                d
                for d in reversed(self.state.deliveries)
                if d.status in CURRENT
                and d.organisation == upload.organisation
                and d.name == target_name
            ),
            None,
        )
        receipt = withdrawal_receipt(
            upload, new_id, name, received, target.receipt if target else None
        )
        stored = self.workspace.store_raw(upload.path, new_id)  # recognised after a kill
        marker = Delivery(
            new_id, upload.organisation, upload.name, upload.size, stored, None, receipt
        )
        retired = [self._retire(target, WITHDRAWN)] if target else []
        if target:
            log.info("%s: levering %s ingetrokken", upload.organisation, target.id)
        self._record(upload, marker, None, *retired)


# ---------------------------------------------------------------------- reading ahead


#: A reader process's reference data, loaded by its first read (a reader serves one check).
_READER_REFERENCE: list[_Reference] = []


def read_ahead(upload: Upload, rows_dir: Path, settings: CheckSettings) -> _Read | None:
    """In a reader process: read and check an upload where it lies; None when it changed
    before or while it was read (the check then reads the stored copy itself).

    The check takes the result only if the upload is still unchanged after it was copied into
    the workspace, so what was read here is what was stored: the guarantee of reading the
    copy, by the same stamp (size and time of change) the copy itself relies on.
    """
    if not upload.unchanged():
        return None
    if not _READER_REFERENCE:
        _READER_REFERENCE.append(_Reference(settings.config, whole_table=True))
    read = _read_guarded(upload, upload.path, rows_dir, settings, _READER_REFERENCE[0])
    return read if upload.unchanged() else None


class _ReadAhead:
    """The uploads of a large check, read and checked in reader processes ahead of the check.

    Reading is nine tenths of a check and mostly Python, so one process checks one file at a
    time on one core. Here one reader process per core (:func:`factlab.readers.plan`) takes the
    next upload in turn and writes its checked rows into ``voorlezen/`` in the workspace; the
    check itself goes on exactly as before, in order, and only takes a result when it reaches
    that upload (moving the rows under the delivery's id), so ids, receipts and kill points are
    those of a check in one process. Whatever is not taken (a duplicate, an upload that changed)
    the check reads itself, and an upload a reader died on in a process of its own;
    ``voorlezen/`` is emptied before and after.
    """

    def __init__(
        self,
        folder: Path,
        uploads: list[Upload],
        settings: CheckSettings,
    ) -> None:
        shutil.rmtree(folder, ignore_errors=True)  # a killed check's
        private_folder(folder)
        self._folder = folder
        self._settings = settings
        self._todo: queue.SimpleQueue[tuple[Upload, Path] | None] = queue.SimpleQueue()
        self._results: dict[Upload, tuple[Path, Future[_Read | None]]] = {}
        self._ended_readers: set[Upload] = set()  # uploads a reader died reading
        for index, upload in enumerate(uploads):
            rows_dir = folder / f"{index:05d}"
            self._results[upload] = (rows_dir, Future())
            self._todo.put((upload, rows_dir))
        try:  # those started early (factlab.launch) first
            self._readers = readers.take(*readers.plan(len(uploads)))
        except OSError:  # no process to be had (a process or memory limit): none at all
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._serving = len(self._readers)
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._serve, args=(reader,), daemon=True)
            for reader in self._readers
        ]
        for thread in self._threads:
            thread.start()

    def _serve(self, reader: HelperProcess) -> None:
        """One thread per reader: the next upload in turn, until none is left or it died."""
        try:
            while True:
                item = self._todo.get()
                if item is None:
                    return
                upload, rows_dir = item
                future = self._results[upload][1]
                try:
                    reader.call(read_ahead, upload, rows_dir, self._settings)
                    future.set_result(reader.replies()[0])
                except ProcessGone:
                    with self._lock:
                        self._ended_readers.add(upload)
                    future.set_result(None)
                    return
                except (CallFailed, OSError, TypeError):  # read by the check instead
                    future.set_result(None)
        finally:
            with self._lock:
                self._serving -= 1
                last = self._serving == 0
            if last:  # nobody reads what is left: the check does
                self._drain()

    def _drain(self) -> None:
        while True:
            try:
                item = self._todo.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                self._results[item[0]][1].set_result(None)

    def ended_a_reader(self, upload: Upload) -> bool:
        """True if a reader process died while it read ``upload`` (once :meth:`take` gave
        None for it)."""
        with self._lock:
            return upload in self._ended_readers

    def take(self, upload: Upload, rows_dir: Path) -> _Read | None:
        """The upload's read, its checked rows moved into ``rows_dir``; None if it has none."""
        rows_from, future = self._results.pop(upload, (None, None))
        if future is None or rows_from is None or (read := future.result()) is None:
            return None
        private_folder(rows_dir)
        for part in row_parts.parts(rows_from):
            os.replace(part, rows_dir / part.name)
            checkpoint("gelezen")  # where a check reading in one process writes this part
        return read

    def close(self) -> None:
        """Stop the readers (a read nobody will take is cut short) and empty ``voorlezen/``."""
        self._drain()
        for _ in self._threads:
            self._todo.put(None)
        for reader in self._readers:
            reader.kill()
        for thread in self._threads:
            thread.join()
        for reader in self._readers:
            reader.stop()
        shutil.rmtree(self._folder, ignore_errors=True)


def _reading_ahead(check: _Check, uploads: list[Upload]) -> _ReadAhead | None:
    """Read ahead for a large check on more than one core; else the check reads each upload."""
    pending = {(d.organisation, d.name) for d in check.state.deliveries if not d.consumed}
    readable = [
        u for u in uploads if u.withdraws is None and (u.organisation, u.name) not in pending
    ]
    if (
        len(readable) < READ_AHEAD_UPLOADS
        or readers.plan(len(readable))[0] < 2
        or sum(u.size for u in readable) < LARGE_CHECK_BYTES
    ):
        return None
    try:
        return _ReadAhead(check.workspace.path / READ_AHEAD_FOLDER, readable, check.settings)
    except OSError as error:  # the check reads each upload itself, as a small check does
        log.warning(
            "geen leesprocessen te starten (%s): de controle leest zelf", type(error).__name__
        )
        return None


def check_uploads(
    workspace: Workspace,
    settings: CheckSettings,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    spare_core: Callable[[], None] | None = None,
) -> CheckResult:
    """Check every complete new upload into the open edition; the workspace must be locked.

    ``spare_core`` is called before the uploads are read when this process reads them alone
    (a small check): a core is then free for other work (a close's quality helper). A large
    check leaves none: its readers use both, and so does the close after it until the link
    is done (:class:`factlab.closing.Closing` starts the helper then).
    """
    state = workspace.load()
    if not settings.uploads.is_dir():
        raise FactlabError(f"uploadmap {settings.uploads} bestaat niet")
    found: Found = find_uploads(settings.uploads, settings.settle_seconds)
    if state.state != OPEN:
        if found.uploads and state.state == UNDER_REVIEW:
            raise FactlabError(
                f"editie {state.edition!r} is gesloten en staat ter controle ({state.closed}); "
                f"er staan {len(found.uploads)} nieuwe bestanden klaar. Die worden pas "
                "verwerkt als de beoordelaar de editie afwijst (dan is ze weer open); anders "
                "horen ze in een nieuwe editie."
            )
        if found.uploads:
            raise FactlabError(
                f"editie {state.edition!r} is al gepubliceerd ({state.closed}); er staan "
                f"{len(found.uploads)} nieuwe bestanden klaar. Die horen in een nieuwe editie: "
                "kies een nieuwe editienaam."
            )
        return CheckResult([], found.skipped, state)
    check = _Check(workspace, state, settings, sum(u.size for u in found.uploads))
    report = progress or (lambda what, done, total: None)
    check.ahead = _reading_ahead(check, found.uploads)
    if check.ahead is None and spare_core is not None:
        spare_core()
    try:
        # The CBS copy is made (on first use) or found before any upload is read, while the
        # readers start (they wait for it at their first address lookup): a CBS table that
        # cannot be read stops the check with its own message, instead of quarantining every
        # partner's upload for what is the gemeente's reference data.
        if any(upload.withdraws is None for upload in found.uploads):
            prepare(settings.config.address_table)
        for done, upload in enumerate(found.uploads):
            report(f"controleren: {upload.organisation}", done, len(found.uploads))
            check.upload(upload)
    finally:
        if check.ahead is not None:
            check.ahead.close()
    skipped_per_partner: dict[str, int] = {}
    for entry in found.skipped:
        skipped_per_partner[entry.organisation] = skipped_per_partner.get(entry.organisation, 0) + 1
    for organisation, n in sorted(skipped_per_partner.items()):  # names stay out of logs
        log.warning("%s: %d bestand(en) of map(pen) niet gelezen", organisation or "(uploadmap)", n)
    _write_skipped_pages(settings.uploads, found.skipped)
    return CheckResult(check.outcomes, found.skipped, check.state)
