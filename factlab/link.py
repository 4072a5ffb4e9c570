"""Link stage: join all partners' pseudonymised rows per household, then drop the pseudonym.

The household table is the only analytic output of intake. It has one row per household
(pseudonym) with its wijk and buurt and the sorted lists of provisions, domains and
organisations, and their counts. The pseudonym is used only as the GROUP BY key and never
selected, so it cannot reach the result.

A household's rows all lie in one wijk and buurt (they are placed by one address); should they
not, the household lies in the first of those areas in sorted order: never in the wijk of one
row and the buurt of another, and the same in every run.

Rows are ordered by their own content (not by pseudonym or input order): the order tells
nothing beyond what each row already says, and a rerun on the same input gives an identical
file whatever key was used.
"""

from __future__ import annotations

import duckdb
import polars as pl

from factlab.schemas.households import HOUSEHOLD_COLUMNS, HOUSEHOLD_SCHEMA

#: The columns of the staged rows the link reads, besides the pseudonym.
LINKED_COLUMNS = ("wijk_code", "buurt_code", "voorziening", "domein", "organisatie")

#: The household table in one statement: the reference for :func:`link`, and what it runs
#: when a list column has more distinct values than :data:`MAX_BITS`.
LINK_SQL = """
WITH households AS (
    SELECT
        first(wijk_code ORDER BY wijk_code, buurt_code)    AS wijk_code,
        first(buurt_code ORDER BY wijk_code, buurt_code)   AS buurt_code,
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

# The same table as LINK_SQL, cheaper, in the steps below. DuckDB's list() + list_distinct +
# list_sort per household cost about 8x the GROUP BY itself (12.5 s of CPU on 4 M rows), and
# sorting 1.8 M rows by their texts and lists another second. So:
# 1. every distinct value of a list column gets a bit (its rank in sorted order), and every
#    distinct (wijk, buurt) a number in sorted order;
# 2. a household ORs the bits of its rows (as cheap as counting them) into its bit sets, and
#    keeps its area's number;
# 3. the few distinct bit sets become their lists of bits once, each numbered in list order:
#    bits are ranks, so lists of bits sort as the lists of their values do (sorting 125 k
#    lists of small integers, not of texts, halves this step nationally);
# 4. households are sorted by those numbers: the order of ORDER BY ALL, on narrow rows of
#    integers;
# 5. polars turns each numbered list of bits into its values and puts in each household's
#    wijk, buurt, lists and counts by their numbers.
# Used when each list column has at most MAX_BITS distinct values; the bit sets are 64-bit
# integers when every list column has at most 64 (ORing them is a sixth cheaper), else 128-bit.
MAX_BITS = 128
_BIT_TYPES = ((64, "UBIGINT"), (MAX_BITS, "UHUGEINT"))
_LISTS = (("voorziening", "voorzieningen"), ("domein", "domeinen"), ("organisatie", "organisaties"))
_AREAS_SQL = """
CREATE OR REPLACE TEMP TABLE link_areas AS
SELECT
    wijk_code,
    buurt_code,
    (row_number() OVER (ORDER BY wijk_code, buurt_code) - 1)::UINTEGER AS plek
FROM (SELECT DISTINCT wijk_code, buurt_code FROM link_staged)
"""
_BITS_SQL = """
CREATE OR REPLACE TEMP TABLE link_bits_{value} AS
SELECT {value} AS waarde, (row_number() OVER (ORDER BY {value}) - 1)::UTINYINT AS bit
FROM (SELECT DISTINCT {value} FROM link_staged WHERE {value} IS NOT NULL)
"""
_SETS_SQL = (
    """
CREATE OR REPLACE TEMP TABLE link_households AS
SELECT
    min(link_areas.plek) AS plek_gebied,
"""
    + ",\n".join(
        f"    coalesce(bit_or(1::{{bits}} << link_bits_{value}.bit), 0::{{bits}}) AS set_{value}"
        for value, _ in _LISTS
    )
    + """
FROM link_staged
JOIN link_areas
    ON link_staged.wijk_code IS NOT DISTINCT FROM link_areas.wijk_code
    AND link_staged.buurt_code IS NOT DISTINCT FROM link_areas.buurt_code
"""
    + "\n".join(
        f"LEFT JOIN link_bits_{value} ON link_staged.{value} = link_bits_{value}.waarde"
        for value, _ in _LISTS
    )
    + "\nGROUP BY link_staged.pseudoniem\n"
)
_NUMBERED_LISTS_SQL = """
CREATE OR REPLACE TEMP TABLE link_lists_{value} AS
SELECT set_{value}, set_bits, (row_number() OVER (ORDER BY set_bits) - 1)::UINTEGER AS plek
FROM (
    SELECT
        set_{value},
        list_filter(
            range(0, (SELECT count(*) FROM link_bits_{value})),
            lambda b: (set_{value} >> b::UTINYINT) & 1::{bits} = 1::{bits}
        )::UTINYINT[] AS set_bits
    FROM (SELECT DISTINCT set_{value} FROM link_households)
)
"""
_ORDER_SQL = (
    "SELECT plek_gebied, "
    + ", ".join(f"link_lists_{value}.plek AS plek_{value}" for value, _ in _LISTS)
    + "\nFROM link_households\n"
    + "\n".join(f"JOIN link_lists_{value} USING (set_{value})" for value, _ in _LISTS)
    + "\nORDER BY ALL\n"
)
_TABLES = (
    "link_households",
    "link_areas",
    *(f"link_{kind}_{value}" for kind in ("lists", "bits") for value, _ in _LISTS),
)


def _texts(numbered: pl.DataFrame, values: pl.DataFrame, lists: str) -> pl.DataFrame:
    """Each numbered list of bits (``set_bits``, in list order) as the list of its values
    (``lists``): bit ``b`` is ``values``' row ``b``."""
    return numbered.select(
        pl.col("set_bits")
        .list.eval(
            pl.element().replace_strict(
                range(values.height), values.get_column("waarde"), return_dtype=pl.String
            )
        )
        .alias(lists)
    )


def _bitset_link(connection: duckdb.DuckDBPyConnection, bits: str) -> pl.DataFrame:
    """The household table from the view ``link_staged``, in the steps described above, with
    bit sets of the integer type ``bits``."""
    try:
        connection.execute(_AREAS_SQL)
        for value, lists in _LISTS:
            connection.execute(_BITS_SQL.format(value=value, lists=lists))
        connection.execute(_SETS_SQL.format(bits=bits))  # the last step reading a pseudonym
        for value, lists in _LISTS:
            connection.execute(_NUMBERED_LISTS_SQL.format(value=value, lists=lists, bits=bits))
        order = connection.sql(_ORDER_SQL).pl()
        areas = connection.sql("SELECT wijk_code, buurt_code FROM link_areas ORDER BY plek").pl()
        numbered = {
            lists: _texts(
                connection.sql(f"SELECT set_bits FROM link_lists_{value} ORDER BY plek").pl(),
                connection.sql(f"SELECT waarde FROM link_bits_{value} ORDER BY bit").pl(),
                lists,
            )
            for value, lists in _LISTS
        }
    finally:
        for table in _TABLES:
            connection.execute(f"DROP TABLE IF EXISTS {table}")
    # One lazy select: polars gathers the columns side by side (0.3 s nationally, not 0.5 s).
    return (
        order.lazy()
        .select(
            *(pl.lit(areas.get_column(c)).gather("plek_gebied").alias(c) for c in areas.columns),
            *(
                pl.lit(numbered[lists].get_column(lists)).gather(f"plek_{value}")
                for value, lists in _LISTS
            ),
            *(
                pl.lit(numbered[lists].get_column(lists).list.len().cast(pl.UInt32))
                .gather(f"plek_{value}")
                .alias(f"aantal_{lists}")
                for value, lists in _LISTS
            ),
        )
        .collect()
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
    bits = next(kind for most, kind in _BIT_TYPES if max(counts) <= most)
    staged.create_view("link_staged", replace=True)
    try:
        return _bitset_link(connection, bits).select(HOUSEHOLD_COLUMNS)
    finally:
        connection.execute("DROP VIEW IF EXISTS link_staged")
