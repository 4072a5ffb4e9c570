"""Link stage: join all partners' pseudonymised rows per household, then drop the pseudonym.

The household table is the only analytic output of intake. It has one row per household
(pseudonym) with its wijk and buurt and the sorted lists of provisions, domains and
organisations, and their counts. The pseudonym is used only as the GROUP BY key and never
selected, so it cannot reach the result. Rows are ordered by their own content (not by
pseudonym or input order): the order tells nothing beyond what each row already says, and a
rerun on the same input gives an identical file whatever key was used.
"""

from __future__ import annotations

import duckdb
import polars as pl

from factlab.schemas.households import HOUSEHOLD_COLUMNS, HOUSEHOLD_SCHEMA

LINK_SQL = """
WITH households AS (
    SELECT
        any_value(wijk_code)                               AS wijk_code,
        any_value(buurt_code)                              AS buurt_code,
        list_sort(list_distinct(list(voorziening)))        AS voorzieningen,
        list_sort(list_distinct(list(domein)))             AS domeinen,
        list_sort(list_distinct(list(organisatie)))        AS organisaties
    FROM staged
    GROUP BY pseudoniem
)
SELECT
    wijk_code,
    buurt_code,
    voorzieningen,
    domeinen,
    organisaties,
    len(voorzieningen)::UINTEGER AS aantal_voorzieningen,
    len(domeinen)::UINTEGER      AS aantal_domeinen,
    len(organisaties)::UINTEGER  AS aantal_organisaties
FROM households
ORDER BY ALL
"""


def link(connection: duckdb.DuckDBPyConnection, staged_files: list[str]) -> pl.DataFrame:
    """Households from the staged parquet files (pseudoniem, wijk/buurt, voorziening, ...)."""
    if not staged_files:
        return pl.DataFrame(schema=HOUSEHOLD_SCHEMA)
    linked = connection.read_parquet(staged_files).query("staged", LINK_SQL)
    assert linked is not None, "LINK_SQL is a SELECT, so DuckDB returns a relation"
    return linked.pl().select(HOUSEHOLD_COLUMNS)
