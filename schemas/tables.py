"""The published tables as data: every table's columns, their role and their type.

One definition drives the publication gate (:func:`factlab.disclose.gate`), the Great
Expectations suites over the written tables (:mod:`factlab.quality`), the column types of the
published frames and the documentation check (``tests/test_docs.py``).

Roles: ``gebied`` (the area code, see :mod:`factlab.schemas.areas`), ``label`` (a name), ``key`` (a
category), ``public`` (public CBS data, published as is), ``count`` (a household or row count,
disclosure-controlled) and ``derived`` (a share, expected count or ratio computed from published
counts only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from factlab.schemas.receipt import COUNT_KEYS as RECEIPT_COUNT_KEYS

#: A cell: ``(quantity, gebied_code, *category)``; the same quantity in two tables is one cell.
CellKey = tuple[str, ...]

#: The folder of an edition that holds the published tables as CSV.
TABLE_FOLDER = "tabellen"

#: The type of each role's column in a published table.
ROLE_DTYPES: dict[str, pl.DataType] = {
    "gebied": pl.String(),
    "label": pl.String(),
    "key": pl.String(),
    "public": pl.Int64(),
    "count": pl.Int64(),
    "derived": pl.Float64(),
}


@dataclass(frozen=True)
class Column:
    """One published column. ``role``: gebied, key, label, public, count or derived.

    A count column names its ``quantity``: the cell key is ``(quantity, gebied_code, *keys)``
    plus the column name when ``per_column`` (several count columns of one quantity).
    A derived column names its ``kind`` and the inputs it is computed from.
    """

    name: str
    role: str
    quantity: str = ""
    per_column: bool = False
    kind: str = ""
    inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.role not in ROLE_DTYPES:
            raise ValueError(f"unknown column role {self.role!r}")


@dataclass(frozen=True)
class TableContract:
    name: str
    title: str
    columns: tuple[Column, ...]
    per_gebied: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """The published frame's column types, in order."""
        return {c.name: ROLE_DTYPES[c.role] for c in self.columns}

    def role(self, role: str) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.role == role)

    def count_key(self, column: Column, row: Mapping[str, object]) -> CellKey:
        keys = tuple(str(row[c.name]) for c in self.role("key"))
        suffix = (column.name,) if column.per_column else ()
        return (column.quantity, str(row["gebied_code"]), *keys, *suffix)


GEBIED = (Column("gebied_code", "gebied"), Column("gebied_naam", "label"))


def _count(name: str, quantity: str, per_column: bool = False) -> Column:
    return Column(name, "count", quantity=quantity, per_column=per_column)


def _derived(name: str, kind: str, *inputs: str) -> Column:
    return Column(name, "derived", kind=kind, inputs=inputs)


_PAIR = (
    Column("a", "key"),
    Column("b", "key"),
)

CONTRACTS: dict[str, TableContract] = {
    c.name: c
    for c in (
        TableContract(
            "kerncijfers",
            "Kerncijfers per gebied",
            (
                *GEBIED,
                Column("woningen", "public"),
                # CBS households as a second public denominator (where the kerncijfers have it).
                Column("huishoudens_cbs", "public"),
                _count("huishoudens_met_voorziening", "met_voorziening"),
                _derived(
                    "aandeel_met_voorziening_pct", "pct", "huishoudens_met_voorziening", "woningen"
                ),
                _derived(
                    "aandeel_van_huishoudens_pct",
                    "pct",
                    "huishoudens_met_voorziening",
                    "huishoudens_cbs",
                ),
                _count("huishoudens_meerdere_voorzieningen", "meerdere_voorzieningen"),
                _count("huishoudens_meerdere_domeinen", "meerdere_domeinen"),
                _derived(
                    "aandeel_meerdere_domeinen_pct",
                    "pct",
                    "huishoudens_meerdere_domeinen",
                    "huishoudens_met_voorziening",
                ),
            ),
        ),
        TableContract(
            "aantal_voorzieningen",
            "Samenloop van voorzieningen: aantal verschillende voorzieningen per huishouden",
            (
                *GEBIED,
                Column("aantal_voorzieningen", "key"),
                _count("huishoudens", "aantal_voorzieningen"),
            ),
        ),
        TableContract(
            "aantal_organisaties",
            "Samenloop van organisaties: aantal hulpverlenende organisaties per huishouden",
            (
                *GEBIED,
                Column("aantal_organisaties", "key"),
                _count("huishoudens", "aantal_organisaties"),
            ),
        ),
        TableContract(
            "domeincombinaties",
            "Combinaties van Jeugd, Wmo en Participatie (CBS-indeling)",
            (*GEBIED, Column("combinatie", "key"), _count("huishoudens", "domeincombinatie")),
        ),
        TableContract(
            "kwetsbaarheid",
            "Huishoudens met voorzieningen uit meerdere domeinen, naar aantal voorzieningen",
            (
                *GEBIED,
                Column("aantal_voorzieningen", "key"),
                _count("huishoudens", "aantal_voorzieningen"),
                _count("huishoudens_meerdere_domeinen", "meerdere_domeinen_naar_aantal"),
                _derived(
                    "aandeel_meerdere_domeinen_pct",
                    "pct",
                    "huishoudens_meerdere_domeinen",
                    "huishoudens",
                ),
            ),
        ),
        TableContract(
            "top_combinaties",
            "Meest voorkomende combinaties van domeinen (alle domeinen)",
            (*GEBIED, Column("combinatie", "key"), _count("huishoudens", "combinatie")),
            per_gebied=False,
        ),
        TableContract(
            "voorzieningen",
            "Huishoudens per voorziening",
            (
                *GEBIED,
                Column("voorziening", "key"),
                Column("voorziening_naam", "label"),
                Column("domein", "label"),
                _count("huishoudens", "voorziening"),
            ),
            per_gebied=False,
        ),
        TableContract(
            "domeinen",
            "Huishoudens per domein",
            (*GEBIED, Column("domein", "key"), _count("huishoudens", "domein")),
            per_gebied=False,
        ),
        TableContract(
            "samenloop_voorzieningen",
            "Samenloop van voorzieningen (paarsgewijs)",
            (
                *GEBIED,
                *_PAIR,
                _count("huishoudens", "beide_voorzieningen"),
                _derived("verwacht", "expected", "voorziening", "met_voorziening"),
                _derived("ratio", "ratio", "huishoudens", "verwacht"),
            ),
            per_gebied=False,
        ),
        TableContract(
            "samenloop_domeinen",
            "Samenloop van domeinen (paarsgewijs)",
            (
                *GEBIED,
                *_PAIR,
                _count("huishoudens", "beide_domeinen"),
                _derived("verwacht", "expected", "domein", "met_voorziening"),
                _derived("ratio", "ratio", "huishoudens", "verwacht"),
            ),
            per_gebied=False,
        ),
        # Buurt figures inside their wijk; the buurt code is a key (not a gebied), so the
        # wijk's relation "its buurten plus those without a buurt" holds.
        TableContract(
            "buurten",
            "Huishoudens per buurt",
            (
                *GEBIED,
                Column("buurt", "key"),
                _count("huishoudens_met_voorziening", "buurt_met_voorziening"),
                _count("huishoudens_meerdere_domeinen", "buurt_meerdere_domeinen"),
                _derived(
                    "aandeel_meerdere_domeinen_pct",
                    "pct",
                    "huishoudens_meerdere_domeinen",
                    "huishoudens_met_voorziening",
                ),
            ),
            per_gebied=False,
        ),
        TableContract(
            "aanlevering",
            "Aanlevering per organisatie (aantallen rijen)",
            (
                *GEBIED,
                Column("organisatie", "key"),
                Column("organisatie_naam", "label"),
                *(_count(n, "aanlevering", per_column=True) for n in RECEIPT_COUNT_KEYS),
                _derived("plaatsingsgraad_pct", "pct", "geplaatst", "geaccepteerd"),
            ),
            per_gebied=False,
        ),
        TableContract(
            "aanlevering_voorzieningen",
            "Aangeleverde rijen per organisatie en voorziening",
            (
                *GEBIED,
                Column("organisatie", "key"),
                Column("organisatie_naam", "label"),
                Column("voorziening", "key"),
                _count("rijen", "aanlevering_voorziening"),
            ),
            per_gebied=False,
        ),
    )
}

#: Column names that would mean record-level data; refused anywhere, whatever the contract says.
RECORD_LEVEL_NAMES = frozenset(
    {
        "pseudoniem",
        "pseudonym",
        "pseudo_id",
        "huishouden_id",
        "adres",
        "address",
        "postcode",
        "huisnummer",
        "bsn",
        "geboortedatum",
        "sleutel",
        "hmac",
        "voorzieningen",
        "domeinen",
        "organisaties",
        "buurt_code",
    }
)
