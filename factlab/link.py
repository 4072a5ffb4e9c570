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

#: The columns of the staged rows the link reads, besides the pseudonym.
LINKED_COLUMNS = ("wijk_code", "buurt_code", "voorziening", "domein", "organisatie")

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


#: The same table as :data:`LINK_SQL`, cheaper: each list is gathered as a bit set. Every
#: distinct value of a list column gets a bit (its rank in sorted order), a household ORs the
#: bits of its rows (as cheap as counting them), and the few distinct bit sets are turned
#: into their sorted lists once and joined back. DuckDB's list() + list_distinct + list_sort
#: per household cost about 8x the GROUP BY itself (12.5 s of CPU on 4 M rows). Used when
#: each list column has at most :data:`MAX_BITS` distinct values; otherwise LINK_SQL.
MAX_BITS = 128
_LISTS = (("voorziening", "voorzieningen"), ("domein", "domeinen"), ("organisatie", "organisaties"))
BITSET_LINK_SQL = (
    "WITH "
    + ",\n".join(
        f"""rank_{value} AS (
    SELECT {value} AS waarde, (row_number() OVER (ORDER BY {value}) - 1)::UTINYINT AS bit
    FROM (SELECT DISTINCT {value} FROM staged WHERE {value} IS NOT NULL)
)"""
        for value, _ in _LISTS
    )
    + """,
households AS (
    SELECT
        any_value(wijk_code) AS wijk_code,
        any_value(buurt_code) AS buurt_code,
"""
    + ",\n".join(
        f"        coalesce(bit_or(1::UHUGEINT << rank_{value}.bit), 0::UHUGEINT) AS set_{value}"
        for value, _ in _LISTS
    )
    + """
    FROM staged
"""
    + "\n".join(
        f"    LEFT JOIN rank_{value} ON staged.{value} = rank_{value}.waarde" for value, _ in _LISTS
    )
    + """
    GROUP BY staged.pseudoniem
),
"""
    + ",\n".join(
        f"""list_{value} AS (
    SELECT sets.set_{value}, list(waarde ORDER BY waarde) AS {lists}
    FROM (SELECT DISTINCT set_{value} FROM households) AS sets
    JOIN rank_{value} ON (sets.set_{value} >> rank_{value}.bit) & 1::UHUGEINT = 1::UHUGEINT
    GROUP BY sets.set_{value}
)"""
        for value, lists in _LISTS
    )
    + """
SELECT
    wijk_code,
    buurt_code,
    coalesce(voorzieningen, []::VARCHAR[]) AS voorzieningen,
    coalesce(domeinen, []::VARCHAR[]) AS domeinen,
    coalesce(organisaties, []::VARCHAR[]) AS organisaties,
    len(coalesce(voorzieningen, []::VARCHAR[]))::UINTEGER AS aantal_voorzieningen,
    len(coalesce(domeinen, []::VARCHAR[]))::UINTEGER      AS aantal_domeinen,
    len(coalesce(organisaties, []::VARCHAR[]))::UINTEGER  AS aantal_organisaties
FROM households
"""
    + "\n".join(f"LEFT JOIN list_{value} USING (set_{value})" for value, _ in _LISTS)
    + """
ORDER BY ALL
"""
)


def link(connection: duckdb.DuckDBPyConnection, staged_files: list[str]) -> pl.DataFrame:
    """Households from the staged parquet files (pseudoniem, wijk/buurt, voorziening, ...)."""
    if not staged_files:
        return pl.DataFrame(schema=HOUSEHOLD_SCHEMA)
    staged = connection.read_parquet(staged_files)
    distinct = staged.query(
        "staged",
        "SELECT " + ", ".join(f"count(DISTINCT {value})" for value, _ in _LISTS) + " FROM staged",
    )
    assert distinct is not None, "a SELECT gives a relation"
    (counts,) = distinct.fetchall()  # an aggregate without GROUP BY: one row
    sql = BITSET_LINK_SQL if max(counts) <= MAX_BITS else LINK_SQL
    linked = staged.query("staged", sql)
    assert linked is not None, "the link SQL is a SELECT, so DuckDB returns a relation"
    return linked.pl().select(HOUSEHOLD_COLUMNS)
