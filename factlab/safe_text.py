"""Text that reaches a spreadsheet or a report must not be read as a formula.

File names and organisation names (from the configuration) are shown in receipts, the
report's verantwoording and the Excel workbook. A name starting with ``=``, ``+``, ``-``, ``@``
(or a tab/carriage return) would be run as a formula when a spreadsheet opens it (CSV/formula
injection, OWASP). Prefixing a single quote makes it plain text everywhere.
"""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text`` made inert for spreadsheets: a leading formula character gets a ``'`` before it."""
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text
