"""Close an edition once: link the accepted deliveries per household and publish.

Closing is the only step that needs the pseudonymisation key, and the key exists only while
it runs. The order of effects keeps "nothing lost" and "kill and rerun gives the same result":

1. completeness is checked (expected partners present, something accepted, addresses
   plausibly in this gemeente); an edition that fails is refused unless the analyst closes it
   explicitly as incomplete with a reason, which the report then states;
2. the checked rows of every accepted delivery are pseudonymised into the staging folder and
   linked per household (:mod:`factlab.link`); the household table is checked;
3. ``<out>/<edition>/`` is written atomically, file by file: household table, published tables,
   report, receipts; ``audit.json`` last marks the edition complete;
4. the state becomes ``gepubliceerd`` and the workspace's raw files and rows are deleted.

A kill before (3) ends leaves an incomplete edition folder that the rerun wipes and redoes; a
kill after ``audit.json`` is finished by the rerun (4). Outputs never depend on the key (the
pseudonym is dropped and rows are ordered by content), so a rerun gives the same files even with
a fresh ephemeral key.
"""

from __future__ import annotations

import io
import json
import logging
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from factlab import __version__
from factlab.arrival import checkpoint
from factlab.catalogue import load_catalogue
from factlab.config import EditionConfig
from factlab.connectors.cbs import read_wijken, read_wijkkaart
from factlab.connectors.cbs_prepared import read_pc6hnr_prepared
from factlab.difference import check_difference
from factlab.disclose import DisclosureError, DisclosureRules, Protected
from factlab.errors import FactlabError
from factlab.feedback import percent_nl
from factlab.files import atomic_write_bytes, atomic_write_text
from factlab.keys import PseudonymKey
from factlab.link import link
from factlab.names import file_stem
from factlab.pseudonymise import pseudonymise
from factlab.publish import publish_report, publish_tables
from factlab.quality import Quality, check_households, check_tables
from factlab.safe_text import neutralise
from factlab.schemas.records import PROCESSED, PUBLISHED, QUARANTINED, EditionState, total_counts
from factlab.schemas.tables import TABLE_FOLDER
from factlab.staging import Staging
from factlab.workspace import Workspace, now

log = logging.getLogger(__name__)

HOUSEHOLDS_FILE = "huishoudens.parquet"
AUDIT_FILE = "audit.json"
RECEIPTS_FOLDER = "ontvangst"
QUALITY_FOLDER = "kwaliteit"
#: Above this share of accepted rows outside the gemeente or not placeable, the edition is
#: implausible (a wrong [editie] gemeente, or the wrong address table) and closing refuses it.
MAX_UNPLACED_SHARE = 0.5
HOUSEHOLDS_MODE = 0o600  # record-level, internal: the service account only
Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass(frozen=True)
class Missing:
    """An expected partner without an accepted delivery, and why (in Dutch)."""

    organisation: str
    name: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {
            "organisatie": self.organisation,
            "naam": neutralise(self.name),
            "reden": self.reason,
        }


@dataclass(frozen=True)
class Completeness:
    """Whether an edition may close: who is missing, and what else is wrong."""

    missing: tuple[Missing, ...]
    problems: tuple[str, ...]  # reasons no explicit "incomplete" can override
    warnings: tuple[str, ...]  # reasons an explicit "incomplete" close may override

    @property
    def complete(self) -> bool:
        return not (self.missing or self.problems or self.warnings)

    def as_json(self, incomplete_reason: str | None) -> dict[str, Any]:
        return {
            "volledig": self.complete,
            "ontbrekend": [m.as_json() for m in self.missing],
            "waarschuwingen": list(self.warnings),
            "toelichting": incomplete_reason,
        }


def assess(state: EditionState, config: EditionConfig) -> Completeness:
    """Completeness of an open edition (see the module docstring, step 1)."""
    current = state.current()
    accepted = [d for d in current if d.status == PROCESSED]
    missing = []
    for organisation in state.expected:
        own = [d for d in current if d.organisation == organisation]
        name = config.partner(organisation).naam
        if any(d.status == PROCESSED for d in own):
            continue
        quarantined = [d for d in own if d.status == QUARANTINED]
        reason = (
            f"in quarantaine: {quarantined[-1].receipt.reason}"
            if quarantined
            else "niets aangeleverd"
        )
        missing.append(Missing(organisation, name, reason))
    problems = [] if accepted else ["er is nog geen enkele aanlevering geaccepteerd"]
    warnings = []
    totals = total_counts([d.receipt for d in accepted])
    if totals["geaccepteerd"]:
        unplaced = (totals["niet_geplaatst"] + totals["buiten_gemeente"]) / totals["geaccepteerd"]
        if unplaced > MAX_UNPLACED_SHARE:
            warnings.append(
                f"{percent_nl(unplaced)} van de geaccepteerde rijen ligt buiten gemeente "
                f"{config.gemeente_code} of staat niet in de adrestabel; klopt [editie] gemeente, "
                "en is [referentie] adressen de goede tabel?"
            )
    return Completeness(tuple(missing), tuple(problems), tuple(warnings))


def refusal(completeness: Completeness, edition: str) -> str:
    """The Dutch message when closing is refused."""
    lines = [f"editie {edition!r} kan niet worden gesloten:"]
    lines += [f"  - {problem}" for problem in completeness.problems]
    lines += [f"  - {m.name} ({m.organisation}): {m.reason}" for m in completeness.missing]
    lines += [f"  - {warning}" for warning in completeness.warnings]
    if not completeness.problems:
        lines.append(
            "Wacht op de ontbrekende aanleveringen, of sluit de editie bewust als onvolledig met "
            '--onvolledig "reden"; het rapport vermeldt dan wie ontbreekt en waarom.'
        )
    return "\n".join(lines)


def _software() -> dict[str, str]:
    versions = {"factlab": __version__, "python": platform.python_version()}
    for package in ("polars", "duckdb", "cryptography"):
        versions[package] = metadata.version(package)
    return versions


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


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
        read_pc6hnr_prepared(config.address_table)
        .filter(pl.col("gemeente_code") == config.gemeente_code)
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
    return read_pc6hnr_prepared(config.address_table, gemeente_code=config.gemeente_code).select(
        "wijk_code", "buurt_code"
    )


@dataclass(frozen=True)
class Closed:
    """A published edition: where, and how many households."""

    edition_dir: Path
    households: int
    state: EditionState
    already: bool = False  # it was published before this close


def _finish(workspace: Workspace, state: EditionState, edition_dir: Path) -> Closed:
    """Step 4: the state says published; raw files, rows and partner-chosen names go."""
    audit = json.loads((edition_dir / AUDIT_FILE).read_text(encoding="utf-8"))
    deliveries = tuple(replace(d, name="", stored=None, rows=None) for d in state.deliveries)
    published = replace(
        state,
        state=PUBLISHED,
        deliveries=deliveries,
        closed=audit["voltooid"],
        uploads=state.uploads,
    )
    workspace.save(published)
    checkpoint("opruimen")
    workspace.clear_personal_data()
    return Closed(edition_dir, int(audit["totalen"]["huishoudens"]), published)


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
    provenance: dict[str, Any] = field(default_factory=dict)
    quality: Quality | None = None
    protected: Protected | None = None

    @property
    def edition_dir(self) -> Path:
        return self.workspace.out / self.state.edition

    @property
    def rules(self) -> DisclosureRules:
        return self.config.disclosure_rules

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
            for done, delivery in enumerate(accepted):
                report(f"pseudonimiseren: {delivery.organisation}", done, len(accepted))
                # Part by part, as the check wrote them: memory stays bounded on a huge upload.
                for part in sorted((self.workspace.path / str(delivery.rows)).glob("*.parquet")):
                    rows = pl.read_parquet(part)
                    if rows.height:
                        staging.write(pseudonymise(rows, key, staging.connection))
            checkpoint("gestaged")
            report("koppelen per huishouden", len(accepted), len(accepted))
            self.households = link(staging.connection, staging.files)  # type: ignore[arg-type]  # connected in __enter__
        receipts = [d.receipt for d in self.state.current()]
        self.provenance = {
            "editie": self.state.edition,
            "gemeente": {
                "code": self.config.gemeente_code,
                "naam": neutralise(self.config.gemeente_naam),
            },
            "periode": self.state.period,
            "sleutel": {"modus": key.mode, "vingerafdruk": key.fingerprint},
            "software": _software(),
            "gestart": self.started,
            "bestanden": [r.as_json(rejections=False, received=False) for r in receipts],
            "volledigheid": self.completeness.as_json(self.incomplete_reason),
            "totalen": total_counts(receipts) | {"huishoudens": self.households.height},
        }
        return self.households.height

    def check_households(self) -> None:
        """The household table's quality suite; then the table is written (service account only)."""
        assert self.households is not None, "link first"
        catalogue = load_catalogue(self.config.catalogue)
        self.quality = check_households(
            self.households, self.edition_dir / QUALITY_FOLDER, catalogue
        )
        self.provenance["kwaliteit"] = self.quality.summary()
        _stop_if_failed(self.quality, self.edition_dir)
        buffer = io.BytesIO()
        self.households.write_parquet(buffer)
        atomic_write_bytes(
            self.edition_dir / HOUSEHOLDS_FILE, buffer.getvalue(), mode=HOUSEHOLDS_MODE
        )
        checkpoint("huishoudens")

    def publish_tables(self) -> None:
        """Analyse, protect and write the published tables (refused whole if any cell leaks)."""
        assert self.households is not None, "link first"
        try:
            self.protected = publish_tables(
                self.households, **self._area(), wijken=_wijken(self.config),
                provenance=self.provenance, out_dir=self.edition_dir, rules=self.rules,
                catalogue=load_catalogue(self.config.catalogue), buurten=_buurten(self.config),
                contact=self.config.report.contact, before_write=self._refuse_near_duplicate,
            )  # fmt: skip
        except DisclosureError as error:
            raise FactlabError(
                f"publicatie geweigerd door de openbaarmakingscontrole: {error}"
            ) from None

    def _same_period(self) -> list[Path]:
        """Published editions in the same output folder that cover the same period."""
        found = []
        for audit in sorted(self.workspace.out.glob(f"*/{AUDIT_FILE}")):
            if audit.parent.name == self.state.edition:
                continue
            recorded = json.loads(audit.read_text(encoding="utf-8"))
            if recorded.get("periode") == self.state.period:
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

    def check_tables(self) -> None:
        """The published tables' quality suite, on the files as written."""
        assert self.quality is not None, "check the households first"
        self.quality = self.quality.merge(
            check_tables(self.edition_dir, self.edition_dir / QUALITY_FOLDER, self.rules)
        )
        self.provenance["kwaliteit"] = self.quality.summary()
        _stop_if_failed(self.quality, self.edition_dir)

    def publish_report(self) -> None:
        """The report, which summarises every check above."""
        assert self.protected is not None, "publish the tables first"
        report = self.config.report
        kaart = (
            read_wijkkaart(self.config.kaart, self.config.gemeente_code)
            if self.config.kaart
            else None
        )
        try:
            publish_report(
                self.protected, **self._area(), kaart=kaart, provenance=self.provenance,
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
        """Receipts, then audit.json (the edition is complete), then the workspace is emptied."""
        current = self.state.current()
        for delivery in current:
            folder = self.edition_dir / RECEIPTS_FOLDER / delivery.organisation
            text = _json(delivery.receipt.as_json(received=False))
            atomic_write_text(folder / f"{file_stem(delivery.name)}.json", text)
        checkpoint("ontvangst")
        closed_state = replace(self.state, incomplete_reason=self.incomplete_reason)
        self.workspace.save(closed_state)
        audit = self.provenance | {"voltooid": now()}
        atomic_write_text(self.edition_dir / AUDIT_FILE, _json(audit))
        checkpoint("audit")
        return _finish(self.workspace, closed_state, self.edition_dir)


def begin_close(
    workspace: Workspace, config: EditionConfig, incomplete_reason: str | None = None
) -> Closing | Closed:
    """Start closing the edition in ``workspace`` (locked): a :class:`Closing` to run, or the
    :class:`Closed` result when there is nothing left to do (already published, or a kill
    came after ``audit.json``). Refuses an incomplete edition unless told it is (step 1)."""
    state = workspace.load()
    edition_dir = workspace.out / state.edition
    if state.state == PUBLISHED:  # closing twice changes nothing
        workspace.clear_personal_data()  # in case a kill came between publishing and this
        audit = json.loads((edition_dir / AUDIT_FILE).read_text(encoding="utf-8"))
        return Closed(edition_dir, int(audit["totalen"]["huishoudens"]), state, already=True)
    if (edition_dir / AUDIT_FILE).exists():  # killed after publishing: finish the close
        return _finish(workspace, state, edition_dir)
    completeness = assess(state, config)
    if completeness.problems or (not completeness.complete and not incomplete_reason):
        raise FactlabError(refusal(completeness, state.edition))
    if edition_dir.exists():  # an interrupted earlier close: all derived, redo it
        shutil.rmtree(edition_dir)
    return Closing(workspace, config, state, completeness, incomplete_reason)


def close_edition(
    workspace: Workspace,
    config: EditionConfig,
    key: PseudonymKey,
    *,
    incomplete_reason: str | None = None,
    progress: Progress | None = None,
) -> Closed:
    """Close the open edition in ``workspace`` (locked) and publish it; see the module docstring."""
    closing = begin_close(workspace, config, incomplete_reason)
    if isinstance(closing, Closed):
        return closing
    report = progress or (lambda what, done, total: None)
    closing.link(key, report)
    closing.check_households()
    report("publiceren: tabellen en rapport", 1, 1)
    closing.publish_tables()
    closing.check_tables()
    closing.publish_report()
    return closing.finish()
