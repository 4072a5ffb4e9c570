"""Quality checkpoint (Great Expectations): the household table and the published tables.

Two suites run in every edition: one over the de-identified household table before it is
written (types, ranges, allowed codes, no identifying columns, counts consistent with the
lists) and one over the published tables after :mod:`factlab.publish` wrote them (only contract
columns; gebied codes well-formed; every published count above the threshold and a multiple of
the rounding base; totals within rounding of their parts). Both suites are built from the
contracts in :mod:`schemas` (areas, households, tables, disclosure rules), so they follow any
change there. A failure stops the run before ``audit.json``, so nothing is published.

Great Expectations 1.x validates pandas frames; it runs in an ephemeral context (no project
folder, nothing written but the Data Docs into ``<out>/<edition>/kwaliteit/``) with usage
statistics off. Its cost is fixed, not per row (1.6 s of import, then a few hundredths of a
second per checkpoint and half a second of Data Docs rendering), so it runs in a helper process
beside the close (:class:`QualityRun`, :mod:`factlab.helper_process`): started before the run
imports anything when it can (:mod:`factlab.quality_helper`, :mod:`factlab.launch`), or else
with the close (after the link, in a large close), it imports while the run checks and links
(or while it analyses), validates the household table while the tables are protected, and
only the table suite and the Data Docs (rendered once, for both suites) remain between the
written tables and the report. Each suite is handed to the store whole, and the household
suite sees distinct values only (:func:`distinct_rows`). Importing it in a background
thread was measured and dropped: the import holds the GIL (docs/schaal-rondes.md).

Data Docs load their styling from CDNs, so the run also keeps a self-contained summary
(:meth:`Quality.summary`) that the report renders from the audit record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from factlab.catalogue import DOMAINS, load_catalogue
from factlab.helper_process import CallFailed, HelperProcess, ProcessGone
from factlab.names import ORGANISATION_PATTERN
from factlab.quality_helper import helper, import_great_expectations, keep
from factlab.schemas import areas
from factlab.schemas.audit import CheckOutcome, QualitySummary
from factlab.schemas.disclosure import DEFAULT_RULES, DisclosureRules
from factlab.schemas.households import HOUSEHOLD_COLUMNS, area_patterns
from factlab.schemas.tables import CONTRACTS, TABLE_FOLDER

_LIST_SEPARATOR = "|"
PASSED = "in orde"  # a passed check's toelichting
_ORG = ORGANISATION_PATTERN.pattern.removeprefix("^").removesuffix("$")


@dataclass(frozen=True)
class Check:
    """One expectation's outcome, in Dutch, without data values."""

    naam: str
    geslaagd: bool
    toelichting: str


@dataclass(frozen=True)
class Quality:
    """The outcome of the quality suites run so far."""

    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(check.geslaagd for check in self.checks)

    def summary(self) -> QualitySummary:
        """The outcome as the audit record and the report carry it."""
        return QualitySummary(
            tuple(CheckOutcome(c.naam, c.geslaagd, c.toelichting) for c in self.checks)
        )

    def message(self) -> str:
        failed = [f"{c.naam} ({c.toelichting})" for c in self.checks if not c.geslaagd]
        return "Niet geslaagd: " + "; ".join(failed) + "."


# --------------------------------------------------------------------------- running a suite


@dataclass(frozen=True)
class _Expect:
    """An expectation to build once GE is imported: its class name, arguments and Dutch name."""

    kind: str
    naam: str
    kwargs: dict[str, Any]


def _new_context(gx: Any, docs_dir: Path) -> Any:
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites={
            "kwaliteit": {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                # The validation pages show every expectation with its outcome; separate pages
                # per suite would repeat them and double the rendering time.
                "site_section_builders": {"expectations": "0", "profiling": "0"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


Batch = tuple[str, pl.DataFrame, list[_Expect]]

#: In the helper process: one ephemeral context per Data Docs folder (one per close), so every
#: suite of a close lands in one site, rendered once.
_CONTEXTS: dict[str, Any] = {}


def _validate(docs_dir: str, batches: list[Batch]) -> tuple[Check, ...]:
    """Validate each (name, frame, expectations) as a checkpoint (runs in the helper process)."""
    import_great_expectations()
    import great_expectations as gx

    if docs_dir not in _CONTEXTS:
        context = _new_context(gx, Path(docs_dir))
        context.data_sources.add_pandas("factlab")
        _CONTEXTS[docs_dir] = context
    context = _CONTEXTS[docs_dir]
    source = context.data_sources.get("factlab")
    checks: list[Check] = []
    for name, frame, expectations in batches:
        built = []
        for expect in expectations:
            expectation = getattr(gx.expectations, expect.kind)(**expect.kwargs)
            expectation.notes = expect.naam
            built.append(expectation)
        # Given whole to the store: adding one by one saves the suite after every expectation.
        suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=built))
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        # A failing row of the table suite is named by its table (never by its value).
        by_table = {"unexpected_index_column_names": ["tabel"]} if "tabel" in frame.columns else {}
        result = context.checkpoints.add(
            gx.Checkpoint(
                name=name,
                validation_definitions=[definition],
                result_format={"result_format": "SUMMARY", **by_table},
            )
        ).run(batch_parameters={"dataframe": frame.to_pandas()})
        for run in result.run_results.values():
            checks.extend(_check(name, outcome) for outcome in run.results)
    return tuple(checks)


def _build_docs(docs_dir: str) -> None:
    """Render the Data Docs of every suite validated into ``docs_dir`` (helper process)."""
    context = _CONTEXTS.pop(docs_dir, None)
    if context is not None:
        context.build_data_docs()  # once, for all suites: a rebuild per checkpoint costs seconds


class QualityRun:
    """The quality suites of one close, run in a helper process beside it.

    Made when the close starts, so Great Expectations imports while the close links (in a
    large close, from the first hand-over, see :meth:`__init__`). The suites are handed over
    as soon as their data exist (:meth:`households`, :meth:`tables`) and validated while the
    close goes on; :meth:`result` waits for the verdict and renders the Data Docs once. If the
    helper process dies, :meth:`result` starts a new one and validates everything again (once).
    """

    def __init__(self, docs_dir: Path, *, start: bool = True) -> None:
        """``start=False``: the helper starts with the first suite handed over, not now (a
        large close: pseudonymising and linking use both cores, and an import beside them only
        slows them down; the analysis and the report after the link leave a core free)."""
        self._docs = str(docs_dir.resolve())  # GE wants absolute
        #: Each suite handed over (by name), to validate again in a new helper if need be.
        self._suites: dict[str, list[Batch]] = {}
        self._helper: HelperProcess | None = helper() if start else None
        #: A suite still being prepared in a thread (:meth:`households`).
        self._handing_over: Future[None] | None = None

    def _handed_over(self) -> None:
        """Wait until a suite being prepared is handed over; its error is raised here."""
        pending, self._handing_over = self._handing_over, None
        if pending is not None:
            pending.result()

    def _submit(self, suite: str, batches: list[Batch]) -> None:
        if not batches:
            return
        self._suites[suite] = batches
        if self._helper is not None:
            self._helper.call(_validate, self._docs, batches)

    def households(self, households: pl.DataFrame, catalogue: pl.DataFrame | None = None) -> None:
        """Hand over the household-table suite; it runs while the close goes on.

        Its frame is prepared and pickled in a thread of its own (~0.9 s for a national
        table, mostly in polars, which leaves the GIL): the close goes on to its tables at
        once instead of waiting for the hand-over.
        """
        codes = (catalogue if catalogue is not None else load_catalogue()).get_column("code")
        expectations = household_expectations(codes)

        def hand_over() -> None:
            frame = distinct_rows(_household_frame(households), expectations)
            self._submit("huishoudens", [("huishoudens", frame, expectations)])

        self._handed_over()
        if self._helper is None:  # not started yet (start=False): it imports meanwhile
            self._helper = helper()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kwaliteit")
        self._handing_over = pool.submit(hand_over)
        pool.shutdown(wait=False)  # the hand-over runs on; nothing else is submitted

    def tables(self, edition_dir: Path, rules: DisclosureRules = DEFAULT_RULES) -> None:
        """Hand over the published-tables suite over ``<edition>/tabellen/*.csv`` as written.

        ``rules`` must be the edition's disclosure rules: the suite checks the counts against
        them.
        """
        self._handed_over()  # the helper answers in the order the suites were handed over
        self._submit("tabellen", table_batches(edition_dir, rules))

    def expected(self) -> Quality:
        """The verdict if every check handed over passes: what the report can show before
        the verdict is in (a failure publishes no report, see :mod:`factlab.closing`)."""
        self._handed_over()
        return Quality(
            tuple(
                Check(f"{name}: {expect.naam}", True, PASSED)
                for batches in self._suites.values()
                for name, _, expectations in batches
                for expect in expectations
            )
        )

    def result(self) -> Quality:
        """Wait for every suite handed over, render the Data Docs, and give the verdict."""
        self._handed_over()
        try:
            checks = self._collect()
        except ProcessGone:
            self._drop()
            checks = self._collect()  # a new helper process, everything again
        assert self._helper is not None
        keep(self._helper)
        self._helper = None
        # In the suites' own order (GE reorders its results): the verdict then reads exactly
        # as :meth:`expected` when all pass.
        position: dict[str, int] = {}
        for i, check in enumerate(self.expected().checks):
            position.setdefault(check.naam, i)
        found = [check for batch in checks for check in batch]
        return Quality(tuple(sorted(found, key=lambda c: position.get(c.naam, len(position)))))

    def _collect(self) -> list[tuple[Check, ...]]:
        if self._helper is None:
            self._helper = helper()
            for batches in self._suites.values():
                self._helper.call(_validate, self._docs, batches)
        self._helper.call(_build_docs, self._docs, wanted=False)
        try:
            return self._helper.replies()
        except CallFailed as error:
            keep(self._helper)
            self._helper = None
            raise RuntimeError(
                f"de kwaliteitscontrole kon niet worden uitgevoerd ({error})"
            ) from None

    def _drop(self) -> None:
        if self._helper is not None:
            self._helper.stop()
        self._helper = None

    def cancel(self) -> None:
        """The close stopped early: the helper goes back, its suites left to finish unread."""
        if self._handing_over is not None:  # nothing may reach the helper after forget()
            futures.wait([self._handing_over])
            self._handing_over = None
        if self._helper is not None:
            self._helper.forget()
            keep(self._helper)
        self._helper = None


def _run(batches: Iterable[Batch], docs_dir: Path) -> Quality:
    """Validate each (name, frame, expectations) as a checkpoint, then build the Data Docs."""
    run = QualityRun(docs_dir)
    run._submit("suite", list(batches))
    return run.result()


def _check(suite: str, outcome: Any) -> Check:
    """Dutch summary of one GE result: counts only, never the unexpected values themselves."""
    notes = outcome.expectation_config.notes or outcome.expectation_config.type
    result = outcome.result or {}
    if outcome.success:
        detail = PASSED
    elif "unexpected_count" in result:
        detail = f"{result['unexpected_count']} waarde(n) buiten de verwachting"
        rows = result.get("partial_unexpected_index_list") or ()
        tables = sorted({str(r["tabel"]) for r in rows if isinstance(r, dict) and "tabel" in r})
        if tables:
            detail += f" (tabellen: {', '.join(tables)})"
    elif outcome.exception_info and outcome.exception_info.get("raised_exception"):
        detail = "de controle kon niet worden uitgevoerd"
    else:
        detail = "niet volgens de verwachting"
    return Check(f"{suite}: {notes}", bool(outcome.success), detail)


# --------------------------------------------------------------------------- the suites


def _one_of(values: Iterable[str]) -> str:
    return "|".join(sorted(re.escape(v) for v in values))


def _list_pattern(values: Iterable[str]) -> str:
    """A ``|``-joined list whose every element is one of ``values``."""
    one = f"(?:{_one_of(values)})"
    return rf"^{one}(?:\|{one})*$"


def _household_frame(households: pl.DataFrame) -> pl.DataFrame:
    """GE sees lists as ``|``-joined text plus their lengths, next to the table's own columns."""
    lists = ("voorzieningen", "domeinen", "organisaties")
    return households.with_columns(
        *(pl.col(c).list.join(_LIST_SEPARATOR) for c in lists if c in households.columns),
        *(
            pl.col(c).list.len().cast(pl.Int64).alias(f"lengte_{c}")
            for c in lists
            if c in households.columns
        ),
    )


def household_expectations(codes: Iterable[str]) -> list[_Expect]:
    """The suite over the de-identified household table (see the module docstring)."""
    codes = sorted(codes)
    patterns = area_patterns()
    counted = {
        "aantal_voorzieningen": ("voorzieningen", len(codes)),
        "aantal_domeinen": ("domeinen", len(DOMAINS)),
        "aantal_organisaties": ("organisaties", None),
    }
    expectations = [
        _Expect(
            "ExpectTableColumnsToMatchOrderedList",
            "alleen de kolommen van het contract (geen adres, pseudoniem of rijnummer)",
            {"column_list": [*HOUSEHOLD_COLUMNS, *(f"lengte_{v}" for v, _ in counted.values())]},
        ),
        _Expect("ExpectColumnValuesToNotBeNull", "wijkcode altijd gevuld", {"column": "wijk_code"}),
        _Expect(
            "ExpectColumnValuesToMatchRegex",
            "wijkcode is een CBS-wijkcode of 'onbekend'",
            {"column": "wijk_code", "regex": patterns["wijk_code"]},
        ),
        _Expect(
            "ExpectColumnValuesToMatchRegex",
            "buurtcode is een CBS-buurtcode (of leeg)",
            {"column": "buurt_code", "regex": patterns["buurt_code"]},
        ),
        _Expect(
            "ExpectColumnValuesToMatchRegex",
            "voorzieningen komen uit de catalogus",
            {"column": "voorzieningen", "regex": _list_pattern(codes)},
        ),
        _Expect(
            "ExpectColumnValuesToMatchRegex",
            "domeinen zijn bekende domeinen",
            {"column": "domeinen", "regex": _list_pattern(DOMAINS)},
        ),
        _Expect(
            "ExpectColumnValuesToMatchRegex",
            "organisaties zijn organisatiecodes",
            {"column": "organisaties", "regex": rf"^{_ORG}(?:\|{_ORG})*$"},
        ),
    ]
    for count, (listed, most) in counted.items():
        expectations += [
            _Expect(
                "ExpectColumnValuesToBeInTypeList",
                f"{count} is een geheel getal",
                {"column": count, "type_list": ["uint32", "UInt32", "int64", "Int64"]},
            ),
            _Expect(
                "ExpectColumnValuesToBeBetween",
                f"{count} ligt tussen 1 en {most or 'het aantal partners'}",
                {"column": count, "min_value": 1, "max_value": most},
            ),
            _Expect(
                "ExpectColumnPairValuesToBeEqual",
                f"{count} klopt met de lijst {listed}",
                {"column_A": count, "column_B": f"lengte_{listed}"},
            ),
        ]
    expectations.append(
        _Expect(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            "niet meer domeinen dan voorzieningen",
            {"column_A": "aantal_voorzieningen", "column_B": "aantal_domeinen", "or_equal": True},
        )
    )
    return expectations


_PLACE_COLUMNS = ("wijk_code", "buurt_code")


def _columns_of(expect: _Expect) -> set[str]:
    """The columns one expectation reads (all of them for a table-level one)."""
    named = {expect.kwargs.get(k) for k in ("column", "column_A", "column_B")} - {None}
    return {str(c) for c in named} or {"*"}


def distinct_rows(frame: pl.DataFrame, expectations: list[_Expect]) -> pl.DataFrame:
    """A frame on which each of ``expectations`` holds exactly when it holds on ``frame``.

    Every expectation of the household suite is about one row (or only the column names), so
    distinct rows suffice. Fewer still: when no expectation reads a place column (wijk, buurt)
    together with another, the distinct places and the distinct contents are checked apart,
    each completed with the first row's other columns (values from the frame itself, so they
    add nothing that is not already checked). A million households become a few ten thousand
    rows: GE's cost grows with rows. A failure then counts distinct values, not households.
    """
    if frame.is_empty():
        return frame
    place = set(_PLACE_COLUMNS)
    mixed = any(
        len(cols & place) and (cols - place or "*" in cols)
        for cols in map(_columns_of, expectations)
    )
    if mixed or not place <= set(frame.columns):
        return frame.unique(maintain_order=True)
    rest = [c for c in frame.columns if c not in place]
    first = frame.head(1)
    places = frame.select(*_PLACE_COLUMNS).unique(maintain_order=True)
    contents = frame.select(rest).unique(maintain_order=True)
    return pl.concat(
        [
            places.join(first.select(rest), how="cross").select(frame.columns),
            first.select(*_PLACE_COLUMNS).join(contents, how="cross").select(frame.columns),
        ]
    )


def check_households(
    households: pl.DataFrame, docs_dir: Path, catalogue: pl.DataFrame | None = None
) -> Quality:
    """Run the household-table suite and wait for it; Data Docs go to ``docs_dir``."""
    run = QualityRun(docs_dir)
    run.households(households, catalogue)
    return run.result()


def _cells(name: str, frame: pl.DataFrame, rules: DisclosureRules) -> pl.DataFrame:
    """One row per count cell of a published table: its table, gebied, column and value, and
    the value's remainder modulo the rounding base (-1 for a cell that is not a whole number,
    so it fails like a bad multiple). A table without counts gives one row per gebied."""
    contract = CONTRACTS.get(name)
    counts = [c.name for c in contract.role("count")] if contract else []
    counts = [c for c in counts if c in frame.columns]
    place = (
        pl.col("gebied_code") if "gebied_code" in frame.columns else pl.lit(None, pl.String)
    ).alias("gebied_code")
    if counts:
        long = frame.select(place, *counts).unpivot(
            index="gebied_code", on=counts, variable_name="kolom", value_name="tekst"
        )
    else:
        long = frame.select(place, kolom=pl.lit(None, pl.String), tekst=pl.lit(None, pl.String))
    value = pl.col("tekst").cast(pl.Int64, strict=False)
    return long.select(
        tabel=pl.lit(name),
        gebied_code="gebied_code",
        kolom="kolom",
        waarde=value,
        rest=pl.when(pl.col("tekst").is_null())
        .then(None)
        .otherwise((value % rules.rounding).fill_null(-1)),
    )


def table_expectations(rules: DisclosureRules = DEFAULT_RULES) -> dict[str, list[_Expect]]:
    """The published-tables suite, per batch (see :func:`table_batches`), from the contracts.

    ``tabellen``: one row per table, its columns as written beside its contract's;
    ``tabelcellen``: one row per count cell of every table. Two batches instead of one per table: Great
    Expectations costs about 10 ms per expectation, whatever the rows.
    """
    return {
        "tabellen": [
            _Expect(
                "ExpectColumnValuesToBeInSet",
                "elke tabel heeft een contract",
                {"column": "tabel", "value_set": sorted(CONTRACTS)},
            ),
            _Expect(
                "ExpectColumnPairValuesToBeEqual",
                "alleen de kolommen van het contract, in zijn volgorde",
                {"column_A": "kolommen", "column_B": "contract"},
            ),
        ],
        "tabelcellen": [
            _Expect(
                "ExpectColumnValuesToMatchRegex",
                "gebied_code is een CBS-gemeente- of wijkcode of 'onbekend'",
                {"column": "gebied_code", "regex": areas.AREA_CODES.gebied_pattern},
            ),
            _Expect(
                "ExpectColumnValuesToBeBetween",
                f"elke telling: nooit 0-{rules.threshold}",
                {"column": "waarde", "min_value": rules.threshold + 1},
            ),
            _Expect(
                "ExpectColumnValuesToBeInSet",
                f"elke telling: veelvoud van {rules.rounding}",
                {"column": "rest", "value_set": [0]},
            ),
        ],
    }


def _total_gaps(name: str, frame: pl.DataFrame, rules: DisclosureRules) -> pl.DataFrame:
    """Per total cell: its distance to the sum of its wijk parts, and the rounding margin.

    Only where the gemeente total and all its parts are published: each published count may be
    off by :attr:`DisclosureRules.max_rounding_error`, the total too.
    """
    schema = {"tabel": pl.String, "kolom": pl.String, "verschil": pl.Float64, "marge": pl.Float64}
    contract = CONTRACTS.get(name)
    if contract is None or not contract.per_gebied or "gebied_code" not in frame.columns:
        return pl.DataFrame(schema=schema)
    keys = [c.name for c in contract.columns if c.role == "key" and c.name in frame.columns]
    is_total = pl.col("gebied_code").str.contains(f"^(?:{areas.AREA_CODES.gemeente})$")
    gaps = []
    for column in (c.name for c in contract.columns if c.role == "count"):
        if column not in frame.columns:
            continue
        values = frame.select(
            "gebied_code", *keys, pl.col(column).cast(pl.Int64, strict=False).alias("n")
        ).with_columns(_alle=pl.lit(0))
        by = [*keys, "_alle"]
        parts = (
            values.filter(~is_total)
            .group_by(by)
            .agg(som=pl.col("n").sum(), delen=pl.len(), verborgen=pl.col("n").null_count())
        )
        gaps.append(
            values.filter(is_total & pl.col("n").is_not_null())
            .join(parts.filter(pl.col("verborgen") == 0), on=by)
            .select(
                tabel=pl.lit(name),
                kolom=pl.lit(column),
                verschil=(pl.col("n") - pl.col("som")).abs().cast(pl.Float64),
                marge=((pl.col("delen") + 1) * rules.max_rounding_error).cast(pl.Float64),
            )
        )
    return pl.concat([pl.DataFrame(schema=schema), *gaps])


def table_batches(edition_dir: Path, rules: DisclosureRules = DEFAULT_RULES) -> list[Batch]:
    """The published-tables suite over ``<edition>/tabellen/*.csv`` (if publish wrote any)."""
    folder = edition_dir / TABLE_FOLDER
    paths = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not paths:
        return []
    frames = {path.stem: pl.read_csv(path, infer_schema=False) for path in paths}
    tables = pl.DataFrame(
        {
            "tabel": list(frames),
            "kolommen": [_LIST_SEPARATOR.join(f.columns) for f in frames.values()],
            "contract": [
                _LIST_SEPARATOR.join(CONTRACTS[n].names) if n in CONTRACTS else None for n in frames
            ],
        }
    )
    cells = pl.concat([_cells(name, frame, rules) for name, frame in frames.items()])
    expectations = table_expectations(rules)
    totals = _Expect(
        "ExpectColumnPairValuesAToBeGreaterThanB",
        "totalen binnen de afronding gelijk aan de som van hun delen",
        {"column_A": "marge", "column_B": "verschil", "or_equal": True},
    )
    gaps = pl.concat([_total_gaps(name, frame, rules) for name, frame in frames.items()])
    return [
        ("tabellen", tables, expectations["tabellen"]),
        ("tabelcellen", cells, expectations["tabelcellen"]),
        ("totalen", gaps, [totals]),
    ]


def check_tables(
    edition_dir: Path, docs_dir: Path, rules: DisclosureRules = DEFAULT_RULES
) -> Quality:
    """Run the published-tables suite and wait for it (see :meth:`QualityRun.tables`)."""
    run = QualityRun(docs_dir)
    run.tables(edition_dir, rules)
    return run.result()
