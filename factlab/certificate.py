"""The release certificate (``openbaarmaking.json``): the evidence a privacy officer signs off on.

It records the disclosure rules applied, per published table how many count cells were
suppressed (primary: at or below the threshold; secondary: complements), and for every
suppressed cell the interval the attacker's linear program proves (:mod:`factlab.attack`),
with the verdict against the documented protection (docs/privacy.md).

What it must not do is reveal a suppressed value. Each cell's interval is what anyone can
compute from the published tables, so it adds nothing; no true count is in it. The split
into primary and secondary per table is the one thing the published tables do not show
(it tells which cells are small), so the certificate is for the reviewer and the FG, like
``audit.json``, and :meth:`Certificate.public` leaves the split out for the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from factlab.attack import is_protected
from factlab.disclose import CONTRACTS, Protected
from factlab.files import atomic_write_text, json_text
from factlab.schemas.disclosure import MIN_ROUNDING, MIN_THRESHOLD, DisclosureRules
from factlab.schemas.outputs import CERTIFICATE

PROTECTION = (
    "Geen onderdrukte cel ligt volgens de best mogelijke aanval (lineaire programmering over "
    "alle gepubliceerde cellen, hun afrondingsintervallen en alle optelrelaties binnen en "
    "tussen tabellen) vast binnen 1 tot en met de drempel zonder 0 uit te sluiten, en het "
    "interval van elke onderdrukte cel is minstens de drempel breed."
)


@dataclass(frozen=True)
class SuppressedCell:
    """One suppressed cell where it is published, and what an attacker can prove about it."""

    tabel: str
    rij: dict[str, str]  # gebied_code and the row's categories
    kolom: str
    ondergrens: int
    bovengrens: int | None  # None: no upper bound at all
    beschermd: bool


@dataclass(frozen=True)
class TableSummary:
    tabel: str
    cellen: int
    onderdrukt: int
    primair: int
    secundair: int


@dataclass(frozen=True)
class PublicTableSummary:
    """Per table what the report may say: cells and how many are suppressed, not why."""

    tabel: str
    cellen: int
    onderdrukt: int


@dataclass(frozen=True)
class PublicCertificate:
    """What the report's verantwoording may show of the certificate: nothing the published
    tables do not (no split into primary and secondary suppression)."""

    regels: dict[str, int]
    bescherming: str
    beschermd: bool
    tabellen: tuple[PublicTableSummary, ...]
    smalste_interval: int | None  # the narrowest proven interval of a suppressed cell

    def as_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Certificate:
    regels: dict[str, int]
    bescherming: str
    beschermd: bool
    tabellen: tuple[TableSummary, ...]
    onderdrukte_cellen: tuple[SuppressedCell, ...]

    def to_json(self) -> str:
        return json_text(asdict(self))

    def public(self) -> PublicCertificate:
        """What the report's verantwoording may show: nothing the published tables do not."""
        widths = [
            c.bovengrens - c.ondergrens for c in self.onderdrukte_cellen if c.bovengrens is not None
        ]
        return PublicCertificate(
            regels=dict(self.regels),
            bescherming=self.bescherming,
            beschermd=self.beschermd,
            tabellen=tuple(
                PublicTableSummary(t.tabel, t.cellen, t.onderdrukt) for t in self.tabellen
            ),
            smalste_interval=min(widths, default=None),
        )


def build_certificate(protected: Protected, rules: DisclosureRules) -> Certificate:
    """The certificate of protected tables (pure: nothing is computed but bookkeeping)."""
    summaries: list[TableSummary] = []
    suppressed: list[SuppressedCell] = []
    for name, frame in protected.tables.items():
        contract = CONTRACTS[name]
        keys = ["gebied_code", *(c.name for c in contract.role("key"))]
        counts = contract.role("count")
        primary = secondary = 0
        for row in frame.iter_rows(named=True):
            for column in counts:
                if row[column.name] is not None:
                    continue
                key = contract.count_key(column, row)
                bounds = protected.bounds[key]
                primary += key in protected.primary
                secondary += key not in protected.primary
                suppressed.append(
                    SuppressedCell(
                        tabel=name,
                        rij={k: str(row[k]) for k in keys},
                        kolom=column.name,
                        ondergrens=bounds.low,
                        bovengrens=bounds.high,
                        beschermd=is_protected(bounds, rules),
                    )
                )
        summaries.append(
            TableSummary(name, frame.height * len(counts), primary + secondary, primary, secondary)
        )
    return Certificate(
        regels={
            "drempel": rules.threshold,
            "afronding": rules.rounding,
            "minimale_drempel": MIN_THRESHOLD,
            "minimale_afronding": MIN_ROUNDING,
            "decimalen_percentage": rules.pct_decimals,
            "decimalen_verwacht": rules.expected_decimals,
            "decimalen_ratio": rules.ratio_decimals,
        },
        bescherming=PROTECTION,
        beschermd=all(c.beschermd for c in suppressed),
        tabellen=tuple(summaries),
        onderdrukte_cellen=tuple(suppressed),
    )


def write_certificate(certificate: Certificate, out_dir: Path) -> Path:
    """Write ``<edition>/openbaarmaking.json`` atomically; returns its path."""
    path = out_dir / CERTIFICATE
    atomic_write_text(path, certificate.to_json())
    return path
