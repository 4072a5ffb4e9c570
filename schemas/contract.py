"""The delivery contract as a pandera schema, built from the row rules in :mod:`factlab.schemas.delivery`.

One source of truth: every :class:`~factlab.schemas.delivery.RowRule` becomes one dataframe-level
pandera check (check number = position in :data:`~factlab.schemas.delivery.RULES`), and the columns are
those of the delivery format after connector mapping plus the working columns the validate
stage derives from them. The validate stage runs this schema eagerly with lazy error
collection, so one pass finds every failing row and every rule it breaks.

pandera's error objects carry the failing rows' values (``failure_case``): they may hold an
address, so only the check number and the row index are ever read from them
(:func:`broken_rules`); the error is never printed or logged.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from factlab.config import CANONICAL_COLUMNS
from factlab.connectors.partner_files import ROW_COLUMN
from factlab.schemas.delivery import RULES, RowRule

#: Columns the validate stage derives before checking (see :mod:`factlab.schemas.delivery`).
WORKING_COLUMNS: dict[str, type[pl.DataType]] = {
    "pc": pl.String,
    "nr": pl.Int64,
    "postbus": pl.Boolean,
    "letter": pl.String,
    "suffix": pl.String,
    "code": pl.String,
    "start": pl.Date,
    "eind": pl.Date,
}


def _check(rule: RowRule, catalogue_codes: frozenset[str]) -> pa.Check:
    def holds(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~rule.broken(catalogue_codes).fill_null(False))

    return pa.Check(holds, name=rule.code, error=rule.problem)


def delivery_schema(catalogue_codes: frozenset[str]) -> pa.DataFrameSchema:
    """The contract for one checked delivery, given the catalogue's provision codes."""
    columns = {ROW_COLUMN: pa.Column(pl.Int64, unique=True, nullable=False)}
    columns |= {name: pa.Column(pl.String, nullable=True) for name in CANONICAL_COLUMNS}
    columns |= {name: pa.Column(dtype, nullable=True) for name, dtype in WORKING_COLUMNS.items()}
    return pa.DataFrameSchema(
        columns,
        checks=[_check(rule, catalogue_codes) for rule in RULES],
        name="aanlevering",
        strict=False,
    )


def broken_rules(work: pl.DataFrame, catalogue_codes: frozenset[str]) -> pl.DataFrame:
    """``rij, kolom, regel``: one row per rule a row breaks (empty when all rows pass).

    A failure that is not a row rule (a missing or mistyped column) is a bug upstream, not a
    partner's mistake: it is raised as a :class:`RuntimeError` without the failing values.
    """
    empty = pl.DataFrame(schema={ROW_COLUMN: pl.Int64, "kolom": pl.String, "regel": pl.String})
    try:
        delivery_schema(catalogue_codes).validate(work, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.select("schema_context", "check_number", "index", "check")
    else:
        return empty
    is_row_rule = (pl.col("schema_context") == "DataFrameSchema") & pl.col("index").is_not_null()
    row_level = cases.filter(is_row_rule)
    if row_level.height != cases.height:
        other = cases.filter(~is_row_rule)
        broken = other.get_column("check").unique().to_list()
        raise RuntimeError(f"delivery frame breaks its column contract: {broken}")
    codes = pl.Series([r.code for r in RULES])
    columns = pl.Series([r.column for r in RULES])
    numbers = row_level.get_column("check_number")
    return (
        pl.DataFrame(
            {
                ROW_COLUMN: work.get_column(ROW_COLUMN).gather(row_level.get_column("index")),
                "kolom": columns.gather(numbers),
                "regel": codes.gather(numbers),
            }
        )
        .unique()
        .sort(ROW_COLUMN, "regel")
    )
