"""The attacker, for the tests: the editions to attack, the attack, and what the report's HTML
carries.

The attack itself is :mod:`factlab.attack` (the release certificate runs the same program);
here it is pointed at published tables only: the tables as released, the method (rounding
rule and the identities between cells, which are public knowledge) and nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from audit_factory import audit_record, receipt
from households_factory import Gemeente, gemeente, households

from factlab.analyse import Relation
from factlab.attack import Bounds, attack_tables, is_protected
from factlab.disclose import DEFAULT_RULES, DisclosureRules, Protected
from factlab.publish import protected_tables
from factlab.report import render_report
from factlab.report.compare import REFERENCE_FILE
from factlab.schemas.audit import AuditRecord
from factlab.schemas.tables import CellKey

PROVENANCE = audit_record(
    "2026",
    [
        receipt(
            "wijkteam",
            "Wijkteam",
            {"rijen_gelezen": 60, "geaccepteerd": 55, "afgewezen": 5, "geplaatst": 50,
             "niet_geplaatst": 3, "buiten_gemeente": 2},
            {"WMO-HH": 40, "WMO-BEG": 15},
        ),
        receipt(
            "werkplein",
            "Werkplein",
            {"rijen_gelezen": 300, "geaccepteerd": 290, "afgewezen": 4, "dubbel": 6,
             "geplaatst": 280, "niet_geplaatst": 10},
            {"PW-BIJ": 290},
            delivery="L0002",
        ),
    ],
)  # fmt: skip


@dataclass(frozen=True)
class Edition:
    """A factory edition: seed, households, wijken; ``letters`` gives Amsterdam-style codes."""

    seed: int
    n: int
    wijken: int
    letters: bool = False

    def area(self) -> Gemeente:
        area = gemeente(self.wijken, code="GM0363" if self.letters else "GM0999")
        if not self.letters:
            return area
        wijken = area.wijken.with_columns(
            pl.col("wijk_code").str.replace(r"^WK(\d{4})0(\d)$", "WK${1}A${2}")
        )
        return Gemeente(area.code, area.naam, wijken)

    def households(self) -> pl.DataFrame:
        return households(self.seed, self.n, self.area())

    def publish(
        self,
        rules: DisclosureRules = DEFAULT_RULES,
        hh: pl.DataFrame | None = None,
        provenance: AuditRecord = PROVENANCE,
    ) -> Protected:
        area = self.area()
        return protected_tables(
            self.households() if hh is None else hh,
            gemeente_code=area.code,
            gemeente_naam=area.naam,
            wijken=area.wijken,
            provenance=provenance,
            rules=rules,
        )


#: Every kind of edition the tests publish: a normal gemeente, small and tiny ones where almost
#: everything is suppressed, several seeds, and alphanumeric (Amsterdam-style) wijk codes.
EDITIONS: dict[str, Edition] = {
    "normaal": Edition(1, 2000, 6),
    "middel": Edition(2, 600, 8),
    "klein": Edition(3, 120, 4),
    "piepklein": Edition(5, 9, 2),
    "letters": Edition(4, 300, 5, letters=True),
}


def weak_cells(
    tables: Mapping[str, pl.DataFrame], relations: Iterable[Relation], rules: DisclosureRules
) -> dict[CellKey, Bounds]:
    """The suppressed cells the attacker narrows down beyond the documented protection."""
    bounds = attack_tables(tables, relations, rules)
    return {k: b for k, b in bounds.items() if not is_protected(b, rules)}


def report_html(protected: Protected, area: Gemeente, rules: DisclosureRules) -> str:
    return render_report(
        protected.tables,
        gemeente_code=area.code,
        gemeente_naam=area.naam,
        kaart=None,
        provenance=PROVENANCE,
        rules=rules,
    )


# --------------------------------------------------------------------------- the report's numbers

_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:\.\d{3})+(?:,\d+)?(?![\w])|(?<![\w.,])\d+(?:,\d+)?")
_PLOT = re.compile(r'Plotly\.newPlot\(\s*"([^"]+)",\s*')
_NUMERIC_CELL = re.compile(r'<td class="num[^"]*" data-sort="([^"]*)"')


def _dutch_numbers(text: str) -> list[float]:
    return [float(m.replace(".", "").replace(",", ".")) for m in _NUMBER.findall(text)]


def _flatten(value: object) -> Iterable[object]:
    if isinstance(value, list):
        for item in value:
            yield from _flatten(item)
    else:
        yield value


REFERENCE_SHARES = (
    Path(__file__).resolve().parents[1]
    / "factlab"
    / "data"
    / ("referentie_gebruik_sociaal_domein.csv")
)


def published_numbers(tables: Mapping[str, pl.DataFrame]) -> set[float]:
    """Every number a published table holds, including those inside its labels."""
    found: set[float] = {0.0}
    for frame in tables.values():
        for column, dtype in frame.schema.items():
            values = frame.get_column(column).drop_nulls().to_list()
            if dtype == pl.String:
                found |= {n for v in values for n in _dutch_numbers(v)}
            else:
                found |= {float(v) for v in values}
    return found


def imprecise_numbers(html: str, tables: Mapping[str, pl.DataFrame]) -> list[str]:
    """Numbers in the report's charts and tables that are not in the published tables.

    Chart data (``x``, ``y``, their texts and tooltips) and every numeric table cell must be a
    published value; a heatmap's colour (``z``) must be log2 of a published ratio.
    """
    # The shipped CBS reference shares of other gemeenten are public figures, not ours.
    reference = pl.read_csv(REFERENCE_FILE).get_column("aandeel_pct").to_list()
    allowed = published_numbers(tables) | {float(v) for v in reference}
    # A share of two published counts (the CBS comparison's combination shares) carries no more
    # precision than the counts themselves.
    counts = sorted({v for v in allowed if v > 0 and v == int(v)})
    allowed |= {round(100 * a / b, 1) for i, b in enumerate(counts) for a in counts[: i + 1]}
    ratios = {round(v, 2) for v in allowed}
    problems: list[str] = []
    decoder = json.JSONDecoder()
    for match in _PLOT.finditer(html):
        traces, _ = decoder.raw_decode(html, match.end())
        for trace in traces:
            for field in ("x", "y", "text", "hovertext"):
                for value in _flatten(trace.get(field, [])):
                    if value is None:  # a suppressed cell: no number at all
                        continue
                    numbers = (
                        _dutch_numbers(value) if isinstance(value, str) else [float(value)]  # type: ignore[arg-type]
                    )
                    problems += [
                        f"{match.group(1)}.{field}: {n}" for n in numbers if n not in allowed
                    ]
            z = [v for v in _flatten(trace.get("z", [])) if v is not None]
            top = max((abs(v) for v in z), default=0.0)  # type: ignore[arg-type]
            problems += [
                f"{match.group(1)}.z: {v}"
                for v in z
                if abs(v) != top and round(2**v, 2) not in ratios  # type: ignore[operator]
            ]
    for raw in _NUMERIC_CELL.findall(html):
        if raw and float(raw) not in allowed:
            problems.append(f"tabel: {raw}")
    return problems
