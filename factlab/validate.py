"""Validate stage: check every row against the delivery rules and normalise what passes.

Exact duplicate rows are counted and dropped first; then the delivery contract
(:mod:`factlab.schemas.contract`, a pandera schema built from the rules of :mod:`factlab.schemas.delivery`) is
checked eagerly with lazy error collection, so every failing row and every rule it breaks is
found in one pass. A row breaking any rule is rejected with each rule it breaks (row number,
column, rule; never the value, which may be an address). Valid rows outside the reporting
period are counted and dropped. What remains carries the canonical address key, which exists
only in memory until the pseudonymise stage replaces it.

A large file is validated batch by batch: :class:`DuplicateTracker` finds repeats across
batches, and :class:`Tally` adds the batches' counts up to the file's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from factlab import addresses
from factlab.config import Period
from factlab.connectors.partner_files import ROW_COLUMN, SOURCE_ROW

REJECTION_SCHEMA = {ROW_COLUMN: pl.Int64, "kolom": pl.String, "regel": pl.String}


@dataclass(frozen=True)
class Checked:
    """Outcome of validating one delivery."""

    # rij, adres_sleutel, postcode, huisnummer, voorziening, startdatum, einddatum:
    # one row per accepted input row, in the period.
    valid: pl.DataFrame
    rejections: pl.DataFrame  # rij, kolom, regel: one row per broken rule
    rows_read: int
    duplicates: int
    rejected_rows: int
    out_of_period: int


EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's serial dates (1900 leap-year bug included)
#: A two-digit year jj below this is 20jj, otherwise 19jj.
TWO_DIGIT_YEAR_PIVOT = 70
_ISO = r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$"
_DMY = r"^(\d{1,2})-(\d{1,2})-(\d{4}|\d{2})$"


def _ymd(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """A date from its text parts; null when there is no such day (31-02)."""
    return pl.concat_str([year, month.str.zfill(2), day.str.zfill(2)], separator="-").str.strptime(
        pl.Date, "%Y-%m-%d", strict=False
    )


def parse_date(raw: pl.Expr) -> pl.Expr:
    """Dates as partners write them (the forms ``docs/aanleverformaat.md`` lists, tested there).

    ISO ``2026-03-01`` (also ``2026-3-1`` and with a time after it), day first ``01-03-2026``,
    ``1-3-2026`` and the two-digit year ``01-03-26`` (:data:`TWO_DIGIT_YEAR_PIVOT`), with ``-``,
    ``/`` or ``.`` between the parts, and an Excel serial date such as ``46082``: what a date
    cell becomes when a workbook is saved as CSV with a number format. Each form is recognised by
    its whole shape, so a two-digit year is never read as a year 0001 to 0099.
    """
    text = raw.cast(pl.String).str.strip_chars().str.replace_all(r"[./]", "-")
    iso = text.str.extract_groups(_ISO)
    dmy = text.str.extract_groups(_DMY)
    year = dmy.struct.field("3")
    short = year.cast(pl.Int64, strict=False)
    full_year = (
        pl.when(year.str.len_chars() == 4)
        .then(year)
        .when(short < TWO_DIGIT_YEAR_PIVOT)
        .then((short + 2000).cast(pl.String))
        .otherwise((short + 1900).cast(pl.String))
    )
    serial = text.str.extract(r"^([1-9]\d{4})$", 1).cast(pl.Int64, strict=False)
    return pl.coalesce(
        _ymd(iso.struct.field("1"), iso.struct.field("2"), iso.struct.field("3")),
        _ymd(full_year, dmy.struct.field("2"), dmy.struct.field("1")),
        pl.lit(EXCEL_EPOCH) + pl.duration(days=serial),
    )


def repeated_rows(frame: pl.DataFrame) -> pl.Series:
    """True for each row that repeats an earlier row exactly (row number aside)."""
    cells = [c for c in frame.columns if c != ROW_COLUMN]
    return frame.select(~pl.struct(cells).is_first_distinct()).to_series()


class DuplicateTracker:
    """Finds rows repeating an earlier row of the same file, also across batches.

    Rows are compared by a 128-bit fingerprint: two independently seeded 64-bit row hashes
    side by side in one unsigned 128-bit integer (16 bytes per row kept, so memory stays
    proportionate even for a huge file; comparing the text cells themselves costs far more,
    and one integer a fifth less than the pair as a struct). The earlier fingerprints are
    probed with the batch's (a small hash set), never the other way round.
    """

    def __init__(self) -> None:
        self._seen = pl.Series("fingerprint", [], pl.UInt128)

    def mask(self, raw: pl.DataFrame) -> pl.Series:
        """True for each row of ``raw`` that repeats an earlier row of the file."""
        cells = raw.select(c for c in raw.columns if c != SOURCE_ROW)
        high, low = (pl.lit(cells.hash_rows(seed=seed)).cast(pl.UInt128) for seed in (1, 2))
        fingerprints = pl.select(high * pl.lit(1 << 64, pl.UInt128) + low).to_series()
        earlier = self._seen.filter(self._seen.is_in(fingerprints.implode()))
        repeats = fingerprints.is_in(earlier.implode()) | ~fingerprints.is_first_distinct()
        self._seen = pl.concat([self._seen, fingerprints], rechunk=False)
        return repeats


#: The address fields, postcode first; the postbus rule reads them all.
_ADDRESS_FIELDS = ("postcode", "huisnummer", "huisletter", "huisnummertoevoeging")


def _per_row_working_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """The working columns, each computed on every row (the reference for :func:`_working_columns`)."""
    number, letter, suffix = addresses.canonical_parts(
        pl.col("huisnummer"), pl.col("huisletter"), pl.col("huisnummertoevoeging")
    )
    return frame.with_columns(
        pc=addresses.postcode(pl.col("postcode")),
        nr=number,
        postbus=addresses.is_postbus(*(pl.col(c) for c in _ADDRESS_FIELDS)),
        letter=letter,
        suffix=suffix,
        code=pl.col("voorziening"),  # mapped cells come stripped (intake.map_columns)
        start=parse_date(pl.col("startdatum")),
        eind=parse_date(pl.col("einddatum")),
    )


def per_distinct(frame: pl.DataFrame, raw: list[str], **derived: pl.Expr) -> pl.DataFrame:
    """``frame`` with ``derived`` columns computed once per distinct value of the ``raw`` columns.

    The same as ``frame.with_columns(**derived)`` for expressions that read only ``raw`` and
    look at one row at a time (no aggregation or window): millions of rows hold a few thousand
    distinct dates and house-number suffixes, and the regular expressions then run on those.
    Row order is kept.
    """
    distinct = frame.select(raw).unique().with_columns(**derived)
    return frame.join(distinct, on=raw, how="left", nulls_equal=True, maintain_order="left")


def _working_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """The working columns the rules read (see :mod:`factlab.schemas.delivery`).

    Address suffixes, the postbus test of the number fields and dates are computed once per
    distinct raw value; the result equals :func:`_per_row_working_columns` (tested on generated
    deliveries).
    """
    house = _ADDRESS_FIELDS[1:]
    number, letter, suffix = addresses.canonical_parts(*(pl.col(c) for c in house))
    frame = per_distinct(
        frame, list(house), nr=number, letter=letter, suffix=suffix,
        _postbus_nummer=addresses.is_postbus(*(pl.col(c) for c in house)),
    )  # fmt: skip
    frame = per_distinct(frame, ["startdatum"], start=parse_date(pl.col("startdatum")))
    frame = per_distinct(frame, ["einddatum"], eind=parse_date(pl.col("einddatum")))
    working = ("pc", "nr", "postbus", "letter", "suffix", "code", "start", "eind")
    return frame.with_columns(
        pc=addresses.postcode(pl.col("postcode")),
        # A postbus in any address field (is_postbus is an "any" over the fields).
        postbus=addresses.is_postbus(pl.col("postcode")) | pl.col("_postbus_nummer"),
        code=pl.col("voorziening"),  # mapped cells come stripped (intake.map_columns)
    ).select(*(c for c in frame.columns if c not in (*working, "_postbus_nummer")), *working)


def broken_rules(work: pl.DataFrame, catalogue_codes: frozenset[str]) -> pl.DataFrame:
    """``rij, kolom, regel``: one row per rule a row breaks, sorted (empty when all rows pass).

    The rules of :data:`factlab.schemas.delivery.RULES` evaluated as the polars expressions they
    are, in one pass. :func:`factlab.schemas.contract.broken_rules` runs the same rules as the
    contract's pandera schema and gives the same frame (tested); this path skips pandera's
    import (seconds) and its per-check collection on the run's hot path.
    """
    from factlab.schemas.delivery import RULES

    flags = (
        work.lazy()
        .select(
            ROW_COLUMN,
            *(rule.broken(catalogue_codes).fill_null(False).alias(rule.code) for rule in RULES),
        )
        # Only the few rows breaking a rule are unpivoted (one row per row and rule otherwise).
        .filter(pl.any_horizontal(rule.code for rule in RULES))
    )
    columns = pl.DataFrame(
        {"regel": [r.code for r in RULES], "kolom": [r.column for r in RULES]}
    ).lazy()
    return (
        flags.unpivot(index=ROW_COLUMN, variable_name="regel", value_name="gebroken")
        .filter(pl.col("gebroken"))
        .join(columns, on="regel")
        .select(ROW_COLUMN, "kolom", "regel")
        .unique()
        .sort(ROW_COLUMN, "regel")
        .collect()
    )


def overlaps(period: Period) -> pl.Expr:
    """True where [start, eind] overlaps the period; a missing date is open-ended."""
    return (pl.col("start").is_null() | (pl.col("start") <= period.end)) & (
        pl.col("eind").is_null() | (pl.col("eind") >= period.start)
    )


def validate(
    frame: pl.DataFrame,
    *,
    catalogue_codes: frozenset[str],
    period: Period | None,
    duplicate_mask: pl.Series | None = None,
) -> Checked:
    """Check a mapped delivery (``rij`` + canonical String columns, as
    :func:`factlab.intake.map_columns` gives them: each cell stripped).

    ``duplicate_mask`` marks rows that repeat an earlier row of the raw file exactly; when it is
    not given, duplicates are found on the mapped columns.
    """
    rows_read = frame.height
    if duplicate_mask is None:
        duplicate_mask = repeated_rows(frame)
    work = _working_columns(frame.filter(~duplicate_mask))
    rejections = broken_rules(work, catalogue_codes)
    rejected = rejections.get_column(ROW_COLUMN).unique()
    # Counted, then filtered and selected in one pass: no copy of the passing rows in between.
    passes = ~pl.col(ROW_COLUMN).is_in(rejected.implode())
    kept = (passes & overlaps(period)) if period else passes
    passing, in_period = work.select(passes.sum().alias("a"), kept.sum().alias("b")).row(0)
    valid = (
        work.lazy()
        .filter(kept)
        .select(
            ROW_COLUMN,
            addresses.canonical_key(
                pl.col("pc"), pl.col("nr"), pl.col("letter"), pl.col("suffix")
            ).alias("adres_sleutel"),
            pl.col("pc").alias("postcode"),
            pl.col("nr").alias("huisnummer"),
            pl.col("code").alias("voorziening"),
            pl.col("start").alias("startdatum"),
            pl.col("eind").alias("einddatum"),
        )
        .collect()
    )
    return Checked(
        valid=valid,
        rejections=rejections,
        rows_read=rows_read,
        duplicates=int(duplicate_mask.sum()),
        rejected_rows=len(rejected),
        out_of_period=int(passing) - int(in_period),
    )


@dataclass(frozen=True)
class Tally:
    """A whole file's validation counts, added up over its batches (no rows kept)."""

    rows_read: int = 0
    duplicates: int = 0
    rejected_rows: int = 0
    out_of_period: int = 0
    accepted: int = 0
    rejections: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REJECTION_SCHEMA))

    def add(self, checked: Checked) -> Tally:
        return Tally(
            rows_read=self.rows_read + checked.rows_read,
            duplicates=self.duplicates + checked.duplicates,
            rejected_rows=self.rejected_rows + checked.rejected_rows,
            out_of_period=self.out_of_period + checked.out_of_period,
            accepted=self.accepted + checked.valid.height,
            rejections=pl.concat([self.rejections, checked.rejections]),
        )

    @property
    def rejected_share(self) -> float:
        """Rejected rows as a share of the distinct rows read (0 for a file without rows)."""
        distinct = self.rows_read - self.duplicates
        return self.rejected_rows / distinct if distinct else 0.0
