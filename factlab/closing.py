"""Close an edition once, have it reviewed, and publish it only when a reviewer releases it.

Closing is the only step that needs the pseudonymisation key, and the key exists only while
it runs. The order of effects keeps "nothing lost" and "kill and rerun gives the same result":

1. completeness is checked (expected partners present, something accepted, addresses
   plausibly in this gemeente); an edition that fails is refused unless the analyst closes it
   explicitly as incomplete with a reason, which the report then states;
2. the checked rows of every accepted delivery are pseudonymised into the staging folder and
   linked per household (:mod:`factlab.link`);
3. the review folder ``<out>/.ter-controle/<edition>/`` (its parent 0700, like the workspace) is
   written atomically, file by file: published tables, report; then the verdict of both
   quality suites (household table and tables, :class:`factlab.quality.QualityRun`, which ran
   beside the close in a helper process) — a failure removes all but the Data Docs; then the
   household table, receipts; ``audit.json`` last marks it complete;
4. the state becomes ``ter_controle``: nothing is in ``<out>/<edition>/`` yet and the raw
   deliveries are kept.

Then a named reviewer decides (:mod:`factlab.review`): a release publishes the edition, a
rejection opens it again.

A kill during (2)-(4) leaves an open edition with a review folder, which the next close wipes
and redoes (everything in it is derived). Outputs never depend on the key (the pseudonym is
dropped and rows are ordered by content), so a rerun gives the same files even with a fresh
ephemeral key.
"""

from __future__ import annotations

import io
import logging
import os
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

import polars as pl

from factlab import __version__, row_parts
from factlab.catalogue import load_catalogue
from factlab.check_size import LARGE_CHECK_BYTES
from factlab.checkpoints import checkpoint
from factlab.completeness import Completeness, assess, refusal
from factlab.config import EditionConfig, ReleaseSettings
from factlab.connectors.cbs import read_wijken, read_wijkkaart
from factlab.connectors.cbs_prepared import gemeente_areas
from factlab.difference import check_difference
from factlab.disclose import DisclosureError, DisclosureRules, Protected
from factlab.errors import FactlabError
from factlab.files import atomic_write_bytes, atomic_write_text, json_text
from factlab.keys import PseudonymKey
from factlab.link import LINKED_COLUMNS, link
from factlab.names import file_stem
from factlab.pseudonymise import pseudonymise
from factlab.publish import publish_report, publish_tables
from factlab.quality import Quality, QualityRun
from factlab.review import (
    REVIEW_FOLDER,
    Closed,
    already_published,
    households_in,
    publish_released,
    review_dir,
)
from factlab.safe_text import neutralise
from factlab.schemas.audit import Area, AuditRecord, KeyRecord, ReportingPeriod, Totals
from factlab.schemas.outputs import AUDIT_FILE, HOUSEHOLDS_FILE, QUALITY_FOLDER, RECEIPTS_FOLDER
from factlab.schemas.records import (
    PROCESSED,
    PUBLISHED,
    UNDER_REVIEW,
    EditionState,
)
from factlab.schemas.tables import TABLE_FOLDER
from factlab.staging import Staging
from factlab.workspace import Workspace, now

log = logging.getLogger(__name__)

HOUSEHOLDS_MODE = 0o600  # record-level, internal: the service account only
Progress = Callable[[str, int, int], None]  # (what, done, total)


def _software() -> dict[str, str]:
    versions = {"factlab": __version__, "python": platform.python_version()}
    for package in ("polars", "duckdb", "cryptography"):
        versions[package] = metadata.version(package)
    return versions


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
        return read_wijken(config.wijken, config.gemeente_code)
    codes = (
        gemeente_areas(config.address_table, config.gemeente_code)
        .get_column("wijk_code")
        .unique()
        .sort()
    )
    return pl.DataFrame(
        {"wijk_code": codes, "wijk_naam": codes, "woningen": [None] * len(codes)},
        schema={"wijk_code": pl.String, "wijk_naam": pl.String, "woningen": pl.Int64},
    )


def _buurten(config: EditionConfig) -> pl.DataFrame:
    """Every buurt of the gemeente, so every buurt gets a row in the buurt table."""
    return gemeente_areas(config.address_table, config.gemeente_code)


def _to_review(
    workspace: Workspace,
    state: EditionState,
    review: Path,
    closed_by: str | None,
    release: ReleaseSettings,
) -> Closed:
    """Step 4: the state says ter controle; the deliveries stay for a possible rejection."""
    audit = AuditRecord.read(review / AUDIT_FILE)
    under_review = replace(
        state,
        state=UNDER_REVIEW,
        closed=audit.finished,
        closed_by=closed_by,
        round=state.round + 1,
        reviews_required=release.required,
        reviewers=release.reviewers,
    )
    workspace.save(under_review)
    return Closed(review, audit.totals.households, under_review)


@dataclass
class Closing:
    """One close in progress. Its stages run in this order, each once: the CLI calls them in a
    row (:func:`close_edition`), the Prefect flow makes each a task. Only :meth:`link` sees
    the key; everything after it works on the de-identified household table.
    """

    workspace: Workspace
    config: EditionConfig
    state: EditionState
    completeness: Completeness
    incomplete_reason: str | None
    started: str = field(default_factory=now)
    households: pl.DataFrame | None = None
    provenance: AuditRecord | None = None  # set by link()
    quality: Quality | None = None  # the verdict of both suites (check_quality)
    reported_quality: Quality | None = None  # the verdict the report was written with
    protected: Protected | None = None
    closed_by: str | None = None  # the analyst; may not release the edition
    quality_run: QualityRun = field(init=False)

    def __post_init__(self) -> None:
        # Great Expectations imports in its own process: from the start of a small close, on
        # the core it leaves free; in a large one from the end of the link, because
        # pseudonymising and linking use both cores (its import beside them cost them 0.5 s
        # nationally, and the analysis after the link leaves a core free).
        accepted = sum(d.size for d in self.state.current() if d.status == PROCESSED)
        self.quality_run = QualityRun(
            self.edition_dir / QUALITY_FOLDER, start=accepted < LARGE_CHECK_BYTES
        )

    @property
    def edition_dir(self) -> Path:
        """Where the close writes: the review folder (published only on release)."""
        return review_dir(self.workspace.out, self.state.edition)

    @property
    def rules(self) -> DisclosureRules:
        return self.config.disclosure_rules

    def _audit(self) -> AuditRecord:
        assert self.provenance is not None, "link first"
        return self.provenance

    def _area(self) -> dict[str, str]:
        return {
            "gemeente_code": self.config.gemeente_code,
            "gemeente_naam": self.config.gemeente_naam,
        }

    def link(self, key: PseudonymKey, progress: Progress | None = None) -> int:
        """Pseudonymise every accepted delivery's rows and link them per household."""
        report = progress or (lambda what, done, total: None)
        accepted = [d for d in self.state.current() if d.status == PROCESSED]
        with Staging(self.workspace.out, self.state.edition) as staging:
            report("pseudonimiseren", 0, len(accepted))
            parts = [
                part
                for delivery in accepted
                for part in row_parts.parts(self.workspace.path / str(delivery.rows))
            ]
            if parts:
                # What the link reads, and the address it is keyed by (not the dates), streamed
                # through the hash into one staged file: memory stays bounded on a huge edition.
                checked = pl.concat(
                    row_parts.scan(part).select("adres_sleutel", *LINKED_COLUMNS).cast(pl.String)
                    for part in parts
                )
                if checked.select(pl.len()).collect().item():  # from the files' metadata
                    staging.write(pseudonymise(checked, key))
            checkpoint("gestaged")
            report("koppelen per huishouden", len(accepted), len(accepted))
            self.households = link(staging.connection, staging.files)  # type: ignore[arg-type]  # connected in __enter__
        receipts = [d.receipt for d in self.state.current()]
        self.provenance = AuditRecord(
            edition=self.state.edition,
            gemeente=Area(self.config.gemeente_code, neutralise(self.config.gemeente_naam)),
            period=ReportingPeriod.from_json(self.state.period),
            key=KeyRecord(key.mode, key.fingerprint),
            software=_software(),
            started=self.started,
            files=tuple(receipts),
            completeness=self.completeness.record(self.incomplete_reason),
            totals=Totals.of(receipts, self.households.height),
        )
        return self.households.height

    def check_households(self) -> None:
        """Hand the household table to its quality suite, which runs while the tables are
        protected; :meth:`check_quality` waits for the verdict."""
        assert self.households is not None, "link first"
        self.quality_run.households(self.households, load_catalogue(self.config.catalogue))

    def publish_tables(self) -> None:
        """Analyse, protect and write the published tables (refused whole if any cell leaks);
        then hand the written tables to their quality suite."""
        assert self.households is not None, "link first"
        try:
            self.protected = publish_tables(
                self.households, **self._area(), wijken=_wijken(self.config),
                provenance=self._audit(), out_dir=self.edition_dir, rules=self.rules,
                catalogue=load_catalogue(self.config.catalogue), buurten=_buurten(self.config),
                contact=self.config.report.contact, before_write=self._refuse_near_duplicate,
            )  # fmt: skip
        except DisclosureError as error:
            raise FactlabError(
                f"publicatie geweigerd door de openbaarmakingscontrole: {error}"
            ) from None
        self.quality_run.tables(self.edition_dir, self.rules)

    def _same_period(self) -> list[Path]:
        """Published editions in the same output folder that cover the same period, and those
        ter controle (either may be released: the second close must see the first)."""
        found = []
        out = self.workspace.out
        audits = [*out.glob(f"*/{AUDIT_FILE}"), *out.glob(f"{REVIEW_FOLDER}/*/{AUDIT_FILE}")]
        for audit in sorted(audits):
            if audit.parent.name == self.state.edition:
                continue
            if AuditRecord.read(audit).period == ReportingPeriod.from_json(self.state.period):
                found.append(audit.parent)
        return found

    def _refuse_near_duplicate(self, protected: Protected) -> None:
        """Refuse tables that, beside a published edition of the same period, reveal a small
        group of households that was added or left out (see docs/privacy.md, differencing)."""
        assert self.households is not None, "link first"
        for earlier in self._same_period():
            problems = check_difference(
                earlier / TABLE_FOLDER,
                pl.read_parquet(earlier / HOUSEHOLDS_FILE),
                protected,
                self.households,
                self.rules,
            )
            if problems:
                shown = "; ".join(problems[:3]) + (" …" if len(problems) > 3 else "")
                raise FactlabError(
                    f"editie {self.state.edition!r} wijkt te weinig af van de al gepubliceerde "
                    f"editie {earlier.name!r} over dezelfde periode: {shown}. Publiceer per "
                    "periode één editie, of trek de eerdere in voordat u deze publiceert."
                )

    def check_quality(self) -> None:
        """The verdict of both quality suites; only then is the household table written
        (service account only). The report was written before the verdict, as if every check
        passed: a failure withdraws it with everything else, and a passing verdict that reads
        otherwise (a check more, say) writes it again."""
        assert self.households is not None, "link first"
        self.quality = self.quality_run.result()
        self.provenance = self._audit().with_quality(self.quality.summary())
        _stop_if_failed(self.quality, self.edition_dir)
        if self.reported_quality != self.quality:
            self.publish_report()
        buffer = io.BytesIO()
        self.households.write_parquet(buffer)
        atomic_write_bytes(
            self.edition_dir / HOUSEHOLDS_FILE, buffer.getvalue(), mode=HOUSEHOLDS_MODE
        )
        checkpoint("huishoudens")

    def cancel(self) -> None:
        """The close stopped before its end: no quality verdict is awaited any more."""
        self.quality_run.cancel()

    def publish_report(self) -> None:
        """The report, which summarises every check above: written while the quality suites
        still run (their verdict as if all pass), so :meth:`check_quality` comes after."""
        assert self.protected is not None, "publish the tables first"
        self.reported_quality = self.quality or self.quality_run.expected()
        provenance = self._audit().with_quality(self.reported_quality.summary())
        report = self.config.report
        kaart = (
            read_wijkkaart(self.config.kaart, self.config.gemeente_code)
            if self.config.kaart
            else None
        )
        try:
            publish_report(
                self.protected, **self._area(), kaart=kaart, provenance=provenance,
                out_dir=self.edition_dir, rules=self.rules,
                catalogue=load_catalogue(self.config.catalogue),
                contact=report.contact, toelichting=report.toelichting,
                synthetisch=report.synthetisch, cbs_gebruik=report.cbs_gebruik,
                vorige_editie=report.vorige_editie,
            )  # fmt: skip
        except DisclosureError as error:
            raise FactlabError(
                f"publicatie geweigerd door de openbaarmakingscontrole: {error}"
            ) from None

    def finish(self) -> Closed:
        """Receipts, then audit.json (the outputs are complete), then the state: ter controle."""
        current = self.state.current()
        for delivery in current:
            folder = self.edition_dir / RECEIPTS_FOLDER / delivery.organisation
            text = json_text(delivery.receipt.as_json(received=False))
            atomic_write_text(folder / f"{file_stem(delivery.name)}.json", text)
        checkpoint("ontvangst")
        closed_state = replace(self.state, incomplete_reason=self.incomplete_reason)
        self.workspace.save(closed_state)
        audit = self._audit().completed(now())
        atomic_write_text(self.edition_dir / AUDIT_FILE, audit.to_text())
        checkpoint("audit")
        return _to_review(
            self.workspace,
            closed_state,
            self.edition_dir,
            self.closed_by,
            self.config.release,
        )


def begin_close(
    workspace: Workspace,
    config: EditionConfig,
    incomplete_reason: str | None = None,
    closed_by: str | None = None,
) -> Closing | Closed:
    """Start closing the edition in ``workspace`` (locked): a :class:`Closing` to run, or the
    :class:`Closed` result when there is nothing left to do (ter controle or published already;
    a release a kill interrupted is finished). Refuses an incomplete edition unless told it is
    (step 1)."""
    state = workspace.load()
    review = review_dir(workspace.out, state.edition)
    if state.state == PUBLISHED:  # closing twice changes nothing
        return already_published(workspace, state)
    if state.state == UNDER_REVIEW:
        if state.released:  # a kill interrupted the release: finish it
            return publish_released(workspace, state, review)
        return Closed(review, households_in(review), state, already=True)
    completeness = assess(state, config)
    if completeness.problems or (not completeness.complete and not incomplete_reason):
        raise FactlabError(refusal(completeness, state.edition))
    review.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(review.parent, 0o700)
    if review.exists():  # an interrupted close, or a rejected one: all derived, redo it
        shutil.rmtree(review)
    return Closing(workspace, config, state, completeness, incomplete_reason, closed_by=closed_by)


def close_edition(
    workspace: Workspace,
    config: EditionConfig,
    key: PseudonymKey,
    *,
    incomplete_reason: str | None = None,
    progress: Progress | None = None,
    closed_by: str | None = None,
) -> Closed:
    """Close the open edition in ``workspace`` (locked) for review; see the module docstring."""
    closing = begin_close(workspace, config, incomplete_reason, closed_by)
    if isinstance(closing, Closed):
        return closing
    report = progress or (lambda what, done, total: None)
    try:
        closing.link(key, report)
        closing.check_households()
        report("publiceren: tabellen en rapport", 1, 1)
        closing.publish_tables()
        closing.publish_report()
        closing.check_quality()
    except BaseException:
        closing.cancel()
        raise
    return closing.finish()
