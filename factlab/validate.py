"""Validate stage: check every row against the delivery rules and normalise what passes.

Exact duplicate rows are counted and dropped first; then every rule of
:mod:`schemas.delivery` is evaluated at once. A row breaking any rule is rejected with each
rule it breaks (row number, column, rule; never the value, which may be an address). Valid rows
outside the reporting period are counted and dropped. What remains carries the canonical
address key, which exists only in memory until the pseudonymise stage replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from connectors.partner_files import ROW_COLUMN
from factlab import addresses
from factlab.config import Period
from schemas.delivery import RULES

VALID_COLUMNS = (
    ROW_COLUMN,
    "adres_sleutel",
    "postcode",
    "huisnummer",
    "voorziening",
    "startdatum",
    "einddatum",
)
REJECTION_SCHEMA = {ROW_COLUMN: pl.Int64, "kolom": pl.String, "regel": pl.String}


@dataclass(frozen=True)
class Checked:
    """Outcome of validating one delivery."""

    valid: pl.DataFrame  # VALID_COLUMNS, in period, one row per accepted input row
    rejections: pl.DataFrame  # rij, kolom, regel: one row per broken rule
    rows_read: int
    duplicates: int
    rejected_rows: int
    out_of_period: int


def parse_date(raw: pl.Expr) -> pl.Expr:
    """Dates as partners write them: ISO ``2026-03-01`` (also with a time) or ``01-03-2026``."""
    text = raw.cast(pl.String).str.strip_chars()
    return pl.coalesce(
        text.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        text.str.strptime(pl.Date, "%d-%m-%Y", strict=False),
    )


def repeated_rows(frame: pl.DataFrame) -> pl.Series:
    """True for each row that repeats an earlier row exactly (row number aside)."""
    cells = [c for c in frame.columns if c != ROW_COLUMN]
    return frame.select(~pl.struct(cells).is_first_distinct()).to_series()


def _working_columns(frame: pl.DataFrame) -> pl.DataFrame:
    number, letter, suffix = addresses.canonical_parts(
        pl.col("huisnummer"), pl.col("huisletter"), pl.col("huisnummertoevoeging")
    )
    return frame.with_columns(
        pc=addresses.postcode(pl.col("postcode")),
        nr=number,
        letter=letter,
        suffix=suffix,
        code=pl.col("voorziening").str.strip_chars(),
        start=parse_date(pl.col("startdatum")),
        eind=parse_date(pl.col("einddatum")),
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
    """Check a mapped delivery (``rij`` + canonical String columns).

    ``duplicate_mask`` marks rows that repeat an earlier row of the raw file exactly; when it is
    not given, duplicates are found on the mapped columns.
    """
    rows_read = frame.height
    if duplicate_mask is None:
        duplicate_mask = repeated_rows(frame)
    unique = frame.filter(~duplicate_mask)
    work = _working_columns(unique).with_columns(
        pl.struct(
            **{rule.code: rule.broken(catalogue_codes).fill_null(False) for rule in RULES}
        ).alias("_broken")
    )
    broken = work.select(ROW_COLUMN, pl.col("_broken").struct.unnest())
    rejections = (
        broken.unpivot(index=ROW_COLUMN, variable_name="regel", value_name="gebroken")
        .filter(pl.col("gebroken"))
        .with_columns(
            kolom=pl.col("regel").replace_strict(
                {r.code: r.column for r in RULES}, return_dtype=pl.String
            )
        )
        .select(ROW_COLUMN, "kolom", "regel")
        .sort(ROW_COLUMN, "regel")
    )
    rejected = rejections.get_column(ROW_COLUMN).unique()
    passing = work.filter(~pl.col(ROW_COLUMN).is_in(rejected.implode()))
    in_period = passing.filter(overlaps(period)) if period else passing
    valid = in_period.select(
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
    return Checked(
        valid=valid,
        rejections=rejections,
        rows_read=rows_read,
        duplicates=int(duplicate_mask.sum()),
        rejected_rows=len(rejected),
        out_of_period=passing.height - in_period.height,
    )
