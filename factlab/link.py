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


#: The same table as :data:`LINK_SQL`, cheaper: each list is gathered as a bit set. Every
#: distinct value of a list column gets a bit (its rank in sorted order), a household ORs the
#: bits of its rows (as cheap as counting them), and the few distinct bit sets are turned
#: into their sorted lists once and joined back. DuckDB's list() + list_distinct + list_sort
#: per household cost about 8x the GROUP BY itself (12.5 s of CPU on 4 M rows). Used when
#: each list column has at most :data:`MAX_BITS` distinct values; otherwise LINK_SQL.
MAX_BITS = 128
_LISTS = (("voorziening", "voorzieningen"), ("domein", "domeinen"), ("organisatie", "organisaties"))
BITSET_UNORDERED_SQL = (
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
),
order_{value} AS (
    SELECT sets.set_{value}, coalesce({lists}, []::VARCHAR[]) AS {lists},
        dense_rank() OVER (ORDER BY coalesce({lists}, []::VARCHAR[])) AS order_{value}
    FROM (SELECT DISTINCT set_{value} FROM households) AS sets
    LEFT JOIN list_{value} USING (set_{value})
)"""
        for value, lists in _LISTS
    )
    + """
SELECT
    wijk_code,
    buurt_code,
    voorzieningen,
    domeinen,
    organisaties,
    len(voorzieningen)::UINTEGER AS aantal_voorzieningen,
    len(domeinen)::UINTEGER      AS aantal_domeinen,
    len(organisaties)::UINTEGER  AS aantal_organisaties,
    """
    + ", ".join(f"order_{value}" for value, _ in _LISTS)
    + """
FROM households
"""
    + "\n".join(f"JOIN order_{value} USING (set_{value})" for value, _ in _LISTS)
    + "\n"
)
#: The order of :data:`LINK_SQL`'s ORDER BY ALL, by each list's rank among the few distinct
#: lists rather than by the lists themselves: the same order, since a rank orders as its list
#: does, and the counts ORDER BY ALL sorts by next are the lists' lengths (rows equal in all
#: of these are equal in every column).
BITSET_ORDER = ("wijk_code", "buurt_code", *(f"order_{value}" for value, _ in _LISTS))
BITSET_LINK_SQL = (
    f"SELECT {', '.join(HOUSEHOLD_COLUMNS)} FROM ({BITSET_UNORDERED_SQL})\n"
    f"ORDER BY {', '.join(BITSET_ORDER)} NULLS LAST"
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
    if max(counts) > MAX_BITS:
        linked = staged.query("staged", LINK_SQL)
        assert linked is not None, "the link SQL is a SELECT, so DuckDB returns a relation"
        return linked.pl().select(HOUSEHOLD_COLUMNS)
    unordered = staged.query("staged", BITSET_UNORDERED_SQL)
    assert unordered is not None, "the link SQL is a SELECT, so DuckDB returns a relation"
    # Sorted in polars: DuckDB's sort carries the list columns through every pass (3-4 s of a
    # national link); polars orders the keys and moves each row once. Strings compare by
    # their bytes in both, nulls last as in ORDER BY ALL (tested against LINK_SQL).
    return unordered.pl().sort(BITSET_ORDER, nulls_last=True).select(HOUSEHOLD_COLUMNS)
