"""Text that reaches a spreadsheet or a report must not be read as a formula.

File names, organisation and gemeente names and catalogue texts are shown in receipts, the
report's verantwoording, the published CSV tables and the Excel workbook. A cell starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return may be run as a formula when a spreadsheet
opens it (CSV/formula injection; these six are OWASP's list). Prefixing a single quote makes it
plain text everywhere, and leaves every other text exactly as it was.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where it is used: the light commands (factlab status) show
    import polars as pl  # names without loading polars

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = "^[" + re.escape("".join(FORMULA_PREFIXES)) + "]"


def neutralise(text: str) -> str:
    """``text`` made inert for spreadsheets: a leading formula character gets a ``'`` before it."""
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def neutralise_column(text: pl.Expr) -> pl.Expr:
    """:func:`neutralise` for a whole String column at once (nulls stay null)."""
    import polars as pl

    return (
        pl.when(text.str.contains(_FORMULA_START))
        .then(pl.concat_str([pl.lit("'"), text]))
        .otherwise(text)
    )
