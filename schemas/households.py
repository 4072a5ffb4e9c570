"""The de-identified household table (``huishoudens.parquet``): the contract between the link
stage, which writes it, and everything after it (analysis, quality checks, notebooks).

One row per household; no address, no pseudonym. Lists are sorted and hold distinct values,
and each ``aantal_*`` column is the length of its list.
"""

from __future__ import annotations

import polars as pl

from factlab.schemas import areas

HOUSEHOLD_SCHEMA: dict[str, pl.DataType] = {
    "wijk_code": pl.String(),  # WK... of the gemeente, or "onbekend" (address not placed)
    "buurt_code": pl.String(),  # BU..., null when the wijk is "onbekend"
    "voorzieningen": pl.List(pl.String()),  # catalogue codes
    "domeinen": pl.List(pl.String()),  # domains of those provisions
    "organisaties": pl.List(pl.String()),  # organisation codes (upload folder names)
    "aantal_voorzieningen": pl.UInt32(),
    "aantal_domeinen": pl.UInt32(),
    "aantal_organisaties": pl.UInt32(),
}
HOUSEHOLD_COLUMNS: tuple[str, ...] = tuple(HOUSEHOLD_SCHEMA)


def area_patterns() -> dict[str, str]:
    """The pattern each area column follows, from :data:`factlab.schemas.areas.AREA_CODES` as it is now.

    ``wijk_code`` may be "onbekend"; ``buurt_code`` is null exactly there.
    """
    codes = areas.AREA_CODES
    return {"wijk_code": codes.wijk_pattern, "buurt_code": codes.buurt_pattern}
