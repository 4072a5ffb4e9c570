"""Place stage: put each valid address in its buurt and wijk, before it is pseudonymised.

Placement uses the CBS postcode-huisnummer table (no huisletter/toevoeging: all dwellings of
one number share a row). An address may be ``geplaatst`` (in the table, in this gemeente),
``onbekend`` (not in the table: analysed in wijk ``onbekend``) or ``buiten_gemeente`` (in the
table but another gemeente: excluded from the analysis). Every outcome is counted in the
receipt; nothing is dropped silently.
"""

from __future__ import annotations

import polars as pl

PLACED = "geplaatst"
UNKNOWN = "onbekend"
OUTSIDE = "buiten_gemeente"
PLACEMENTS = (PLACED, UNKNOWN, OUTSIDE)


def place(valid: pl.DataFrame, address_table: pl.DataFrame, gemeente_code: str) -> pl.DataFrame:
    """Add ``plaatsing``, ``buurt_code`` and ``wijk_code`` and drop postcode/huisnummer.

    ``address_table`` is :func:`factlab.connectors.cbs.read_pc6hnr` output. The canonical address key is
    kept: it is what the pseudonymise stage hashes.
    """
    joined = valid.join(address_table, on=["postcode", "huisnummer"], how="left")
    in_gemeente = pl.col("gemeente_code") == gemeente_code
    return joined.with_columns(
        plaatsing=pl.when(pl.col("gemeente_code").is_null())
        .then(pl.lit(UNKNOWN))
        .when(in_gemeente)
        .then(pl.lit(PLACED))
        .otherwise(pl.lit(OUTSIDE)),
        buurt_code=pl.when(in_gemeente).then(pl.col("buurt_code")),
        wijk_code=pl.when(pl.col("gemeente_code").is_null())
        .then(pl.lit(UNKNOWN))
        .when(in_gemeente)
        .then(pl.col("wijk_code")),
    ).drop("postcode", "huisnummer", "gemeente_code")


def placement_counts(placed: pl.DataFrame) -> dict[str, int]:
    """Rows per placement outcome, every outcome present (zero when absent)."""
    counts = dict(placed.group_by("plaatsing").len().iter_rows())
    return {outcome: int(counts.get(outcome, 0)) for outcome in PLACEMENTS}
