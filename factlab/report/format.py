"""Dutch number formatting and the cell/table model the report template renders.

Why a model: every shown count carries its raw value (``data-count``) so the HTML gate can
re-check it; every table knows how to print itself (sortable or not, wide or not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from factlab.schemas import areas

GEHEIM = "geheim"


def is_wijk(code: object) -> bool:
    """A wijk's gebied code, as :data:`factlab.schemas.areas.AREA_CODES` defines it."""
    return isinstance(code, str) and re.fullmatch(areas.AREA_CODES.wijk, code) is not None


def is_gemeente(code: object) -> bool:
    """A gemeente's gebied code, as :data:`factlab.schemas.areas.AREA_CODES` defines it."""
    return isinstance(code, str) and re.fullmatch(areas.AREA_CODES.gemeente, code) is not None


def fmt_count(value: int | None) -> str:
    """Dutch thousands separator; a suppressed count reads ``geheim``."""
    return GEHEIM if value is None else f"{int(value):,}".replace(",", ".")


def fmt_pct(value: float | None, secret: bool = True) -> str:
    """One decimal with a decimal comma; a missing share is ``geheim`` or a dash (not applicable)."""
    if value is None:
        return GEHEIM if secret else "\u2013"
    return f"{value:.1f}%".replace(".", ",")


def fmt_ratio(value: float | None) -> str:
    return GEHEIM if value is None else f"{value:.2f}".replace(".", ",")


def fmt_decimal(value: float | None, decimals: int = 1) -> str:
    return GEHEIM if value is None else f"{value:.{decimals}f}".replace(".", ",")


def fmt_change(value: int | None) -> str:
    """A signed difference of counts with a true minus sign (U+2212), or ``geheim``."""
    if value is None:
        return GEHEIM
    sign = "+" if value > 0 else "\u2212" if value < 0 else "\u00b1"
    return sign + fmt_count(abs(value))


def share(part: int | None, whole: int | None, decimals: int = 1) -> float | None:
    """Percentage from two published counts; None when either is secret or the whole is 0."""
    if part is None or not whole:
        return None
    return round(100 * part / whole, decimals)


@dataclass(frozen=True)
class Cell:
    tekst: str
    sort: str = ""
    cls: str = ""
    aantal: bool = False
    ruw: str = ""


def count_cell(value: int | None) -> Cell:
    raw = "" if value is None else str(int(value))
    return Cell(fmt_count(value), raw, "num geheim" if value is None else "num", True, raw)


def public_cell(value: int | None) -> Cell:
    """A public CBS number (not a count of ours): never ``geheim``, a dash when missing."""
    return Cell(
        "\u2013" if value is None else fmt_count(value),
        "" if value is None else str(value),
        "num",
    )


def pct_cell(value: float | None, secret: bool = True) -> Cell:
    cls = "num geheim" if value is None and secret else "num"
    return Cell(fmt_pct(value, secret), "" if value is None else str(value), cls)


def text_cell(value: Any) -> Cell:
    return Cell("" if value is None else str(value), "" if value is None else str(value))


@dataclass(frozen=True)
class DisplayTable:
    id: str
    koppen: list[dict[str, str]]
    rijen: list[list[Cell]]
    bijschrift: str = ""
    sorteerbaar: bool = False
    breed: bool = False  # many columns: printed in a smaller font so it fits A4 portrait


def heads(*names: tuple[str, bool]) -> list[dict[str, str]]:
    return [{"tekst": n, "cls": "num" if numeric else ""} for n, numeric in names]
