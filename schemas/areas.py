"""What an area code is: the one definition every check of a gebied, wijk or buurt code uses.

CBS codes carry the four-digit gemeente number; the wijk and buurt parts after it are
alphanumeric in some gemeenten (Amsterdam: ``WK0363AF``, ``BU0363AF01``). A household whose
address could not be placed is in ``onbekend``. The publication gate, the household schema and
the quality suites read :data:`AREA_CODES` when they run, so changing it here changes them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class AreaCodes:
    """Regular expressions (without anchors) for each kind of area code."""

    gemeente: str = r"GM\d{4}"
    wijk: str = r"WK\d{4}[0-9A-Z]{2}"
    buurt: str = r"BU\d{4}[0-9A-Z]{4}"
    onbekend: str = "onbekend"

    @property
    def wijk_pattern(self) -> str:
        """A household's wijk: a wijk code, or ``onbekend`` for an address not placed."""
        return rf"^(?:{self.wijk}|{re.escape(self.onbekend)})$"

    @property
    def buurt_pattern(self) -> str:
        """A household's buurt (null when the wijk is ``onbekend``)."""
        return rf"^{self.buurt}$"

    @property
    def gebied_pattern(self) -> str:
        """A published table's ``gebied_code``: the gemeente, a wijk, or ``onbekend``."""
        return rf"^(?:{self.gemeente}|{self.wijk}|{re.escape(self.onbekend)})$"

    def is_gebied(self, code: object) -> bool:
        return isinstance(code, str) and re.fullmatch(self.gebied_pattern, code) is not None


AREA_CODES = AreaCodes()
