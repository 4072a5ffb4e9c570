"""Statistical disclosure control: what may leave the gemeente, and the gate that enforces it.

Rules (defaults follow CBS practice for care figures and OpenSAFELY's output checking):

* primary suppression: a household count of 0 up to ``threshold`` (7) is never published,
  also a true zero;
* secondary suppression: in every additive relation (categories adding up to a total, wijken
  plus ``onbekend`` adding up to the gemeente, and identities *across* tables, e.g. the
  kerncijfers total equals the sum of the ``aantal_voorzieningen`` categories) either nothing is
  hidden, or the hidden cells hold more than ``threshold`` households together and no
  suppressed cell is the only hidden one (else it is recovered by subtraction);
* every published count is rounded to a multiple of ``rounding`` (5), deterministically, so
  that reruns cannot be averaged;
* shares, expected counts and ratios are computed from the *published* counts and are empty
  wherever one of their inputs is;
* the suppression is attacked as a whole (:mod:`factlab.attack`, a linear program over every
  published cell, its rounding interval and every relation) and complemented until no
  suppressed cell is narrowed down beyond the documented protection (docs/privacy.md).

The rules themselves (:class:`DisclosureRules`, with their floors) live in
:mod:`factlab.schemas.disclosure`, the table contracts in :mod:`factlab.schemas.tables`, the area codes in
:mod:`factlab.schemas.areas`; they are re-exported here.

:func:`gate` checks a finished table against its contract and refuses anything else, so a
mistake upstream cannot leak.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from factlab.analyse import Relation
from factlab.attack import (
    Bounds,
    cell_attacker,
    domains_of_provisions,
    is_protected,
    structural_inequalities,
)
from factlab.schemas import areas
from factlab.schemas.disclosure import DEFAULT_RULES, DisclosureRules
from factlab.schemas.tables import CONTRACTS, RECORD_LEVEL_NAMES, CellKey, TableContract

__all__ = [
    "CONTRACTS",
    "DEFAULT_RULES",
    "DisclosureError",
    "DisclosureRules",
    "Protected",
    "TableContract",
    "check_text",
    "gate",
    "protect",
    "round_count",
    "suppress",
    "table_cells",
]


class DisclosureError(RuntimeError):
    """An output would reveal something about individual households; nothing was written."""


#: A long unbroken token (hex digest, base64/base32 pseudonym, a 128-bit pseudonym in decimal)
#: never belongs in a publication.
TOKEN = re.compile(r"(?<![A-Za-z0-9_\-+/=])[A-Za-z0-9_\-+/=]{24,}(?![A-Za-z0-9_\-+/=])")


# --------------------------------------------------------------------------- cells


def round_count(value: int, rules: DisclosureRules) -> int:
    """The published value of a count that is not suppressed (see :class:`DisclosureRules`)."""
    return rules.round_count(value)


def table_cells(contract: TableContract, frame: pl.DataFrame) -> dict[CellKey, int]:
    """True values of every count cell of a table, by cell key."""
    cells: dict[CellKey, int] = {}
    for row in frame.iter_rows(named=True):
        for column in contract.role("count"):
            key = contract.count_key(column, row)
            value = int(row[column.name])
            if cells.get(key, value) != value:
                raise DisclosureError(f"{contract.name}: cel {key} heeft twee waarden")
            cells[key] = value
    return cells


def _violation(
    rel: Relation,
    values: Mapping[CellKey, int],
    published: set[CellKey],
    suppressed: set[CellKey],
    threshold: int,
) -> CellKey | None:
    """The cell to suppress next to protect this relation, or None if it is safe."""

    def visible(key: CellKey) -> bool:
        return key in published and key not in suppressed

    hidden = [p for p in rel.parts if not visible(p)]
    shown = [p for p in rel.parts if visible(p)]
    if visible(rel.total):
        if not hidden:
            return None
        mass = sum(values[p] for p in hidden)
        lone_suppressed = len(hidden) == 1 and hidden[0] in published
        if mass > threshold and not lone_suppressed:
            return None
        candidates = shown or [rel.total]
    else:
        if hidden or rel.total not in published:
            return None  # nothing to subtract from, or an unpublished total that is large
        candidates = shown
    return min(candidates, key=lambda k: (values[k], k)) if candidates else None


def suppress(
    values: Mapping[CellKey, int],
    published: Iterable[CellKey],
    relations: Iterable[Relation],
    rules: DisclosureRules,
) -> set[CellKey]:
    """Primary plus secondary suppression; returns the published cells that must stay hidden.

    Secondary suppression hides the smallest visible part of a violated relation (the least
    information lost), or its total if no part is left, and repeats over all relations until
    nothing changes. It only ever adds cells, so it terminates.
    """
    relations = tuple(relations)
    published = set(published)
    for rel in relations:
        if values[rel.total] != sum(values[p] for p in rel.parts):
            raise DisclosureError(
                f"relatie klopt niet: {rel.total} != som van {len(rel.parts)} delen"
            )
    suppressed = {k for k in published if values[k] <= rules.threshold}
    changed = True
    while changed:
        changed = False
        for rel in relations:
            cell = _violation(rel, values, published, suppressed, rules.threshold)
            if cell is not None:
                suppressed.add(cell)
                changed = True
    return suppressed


# --------------------------------------------------------------------------- protection


@dataclass(frozen=True)
class Protected:
    """Published tables (rounded/suppressed counts, derived columns) and the cell audit.

    ``primary``: the suppressed cells at or below the threshold (the rest are complements).
    ``bounds``: for each suppressed cell, what the attacker's linear program proves about it.
    """

    tables: dict[str, pl.DataFrame]
    cells: dict[CellKey, int | None]
    suppressed: frozenset[CellKey]
    relations: tuple[Relation, ...] = field(default=())
    primary: frozenset[CellKey] = field(default=frozenset())
    bounds: Mapping[CellKey, Bounds] = field(default_factory=dict)


def _round_or_none(
    value: int, key: CellKey, suppressed: set[CellKey], rules: DisclosureRules
) -> int | None:
    return None if key in suppressed else round_count(value, rules)


def _share(num: float | None, den: float | None, scale: float, decimals: int) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return round(scale * num / den, decimals)


def _derive(
    contract: TableContract,
    row: dict[str, object],
    cells: Mapping[CellKey, int | None],
    rules: DisclosureRules,
) -> None:
    """Fill the derived columns of one row from published values only (in place)."""
    for column in contract.role("derived"):
        if column.kind == "pct":
            num, den = (row[i] for i in column.inputs)
            row[column.name] = _share(num, den, 100.0, rules.pct_decimals)  # type: ignore[arg-type]
        elif column.kind == "expected":
            marginal, total = column.inputs
            g = str(row["gebied_code"])
            n_a = cells.get((marginal, g, str(row["a"])))
            n_b = cells.get((marginal, g, str(row["b"])))
            n = cells.get((total, g))
            row[column.name] = (
                None
                if n_a is None or n_b is None or not n
                else round(n_a * n_b / n, rules.expected_decimals)
            )
        elif column.kind == "ratio":
            num, den = (row[i] for i in column.inputs)
            row[column.name] = _share(num, den, 1.0, rules.ratio_decimals)  # type: ignore[arg-type]
        else:  # pragma: no cover - contracts are static
            raise DisclosureError(f"onbekende afgeleide kolom {column.kind}")


def _complement(
    weak: CellKey,
    values: Mapping[CellKey, int],
    published: set[CellKey],
    suppressed: set[CellKey],
    neighbours: Mapping[CellKey, set[CellKey]],
) -> CellKey:
    """The smallest visible cell nearest to ``weak``: suppressing it widens ``weak``'s interval.

    ``neighbours``: per cell, the cells it shares a relation or structural inequality with
    (what the attacker uses); a cell whose neighbours are all hidden is narrowed down from
    further away.
    """
    seen = {weak}
    frontier = {weak}
    while frontier:
        near = {k for cell in frontier for k in neighbours.get(cell, ())} - seen
        candidates = sorted((values[k], k) for k in near & published - suppressed)
        if candidates:
            return candidates[0][1]
        seen |= near
        frontier = near
    raise DisclosureError(f"cel {weak} is niet te beschermen")


def _audit_and_repair(
    values: Mapping[CellKey, int],
    published: set[CellKey],
    suppressed: set[CellKey],
    relations: Sequence[Relation],
    rules: DisclosureRules,
    domain_of: Mapping[str, str],
) -> tuple[set[CellKey], dict[CellKey, Bounds]]:
    """Attack the suppression as it stands; complement every cell the attacker narrows down.

    The rules of :func:`suppress` hold relation by relation; the attacker combines all
    relations and the rounding intervals at once (:mod:`factlab.attack`), so chains of
    relations can still narrow a cell down. Suppressing more only widens every interval, so
    after a repair only the weak cells and the new complements need another look; the final
    bounds are given for all, for the certificate. One program serves every round: a repair
    hides the complements in it, and only bounds whose proof used a complement's published
    interval are solved again (:class:`factlab.attack.Attacker`).
    """
    suppressed = set(suppressed)
    targets = set(suppressed)
    known = set(values) | {k for r in relations for k in (r.total, *r.parts)}
    links = [(r.total, *r.parts) for r in relations]
    links += [tuple(k for k, _ in row) for row in structural_inequalities(known, domain_of)]
    neighbours: dict[CellKey, set[CellKey]] = {}
    for link in links:
        for cell in link:
            neighbours.setdefault(cell, set()).update(link)
    shown = {k: None if k in suppressed else rules.round_count(values[k]) for k in published}
    attacker = cell_attacker(shown, relations, rules, domain_of)
    repaired = False
    while True:
        bounds = attacker.bounds(sorted(targets))
        weak = sorted(k for k, b in bounds.items() if not is_protected(b, rules))
        if not weak:
            break
        added = {_complement(k, values, published, suppressed, neighbours) for k in weak}
        suppressed |= added
        attacker.hide(added)
        targets = set(weak) | added
        repaired = True
    if repaired:
        bounds = attacker.bounds(sorted(suppressed))
    return suppressed, bounds


def protect(
    tables: Mapping[str, pl.DataFrame],
    hidden: Mapping[CellKey, int],
    relations: Iterable[Relation],
    rules: DisclosureRules = DEFAULT_RULES,
) -> Protected:
    """Turn true-count tables into publishable tables.

    Order matters: all cells of all tables are suppressed together (cross-table relations),
    the suppression is attacked and repaired until every suppressed cell keeps the documented
    protection, then the counts are rounded, and only then are shares and ratios computed,
    from the rounded values.
    Tables must be in :data:`CONTRACTS`.
    """
    relations = tuple(relations)
    values: dict[CellKey, int] = dict(hidden)
    published: set[CellKey] = set()
    for name, frame in tables.items():
        cells = table_cells(CONTRACTS[name], frame)
        published |= set(cells)
        values |= cells
    missing = {k for r in relations for k in (r.total, *r.parts) if k not in values}
    if missing:
        raise DisclosureError(f"relaties verwijzen naar onbekende cellen: {sorted(missing)[:3]}")
    suppressed = suppress(values, published, relations, rules)
    suppressed, bounds = _audit_and_repair(
        values, published, suppressed, relations, rules, domains_of_provisions(tables)
    )
    out_cells = {k: _round_or_none(values[k], k, suppressed, rules) for k in published}
    out: dict[str, pl.DataFrame] = {}
    for name, frame in tables.items():
        contract = CONTRACTS[name]
        rows = []
        for source in frame.iter_rows(named=True):
            row: dict[str, object] = {c.name: source.get(c.name) for c in contract.columns}
            for column in contract.role("count"):
                row[column.name] = out_cells[contract.count_key(column, source)]
            _derive(contract, row, out_cells, rules)
            rows.append(row)
        out[name] = pl.DataFrame(rows, schema=contract.schema, orient="row")
    primary = frozenset(k for k in suppressed if values[k] <= rules.threshold)
    return Protected(out, out_cells, frozenset(suppressed), relations, primary, bounds)


# --------------------------------------------------------------------------- the gate


def gate(name: str, frame: pl.DataFrame, rules: DisclosureRules = DEFAULT_RULES) -> None:
    """Refuse a table that is not exactly what its contract allows. Raises DisclosureError.

    Checks: known table, exact columns in order with the contract's types, no record-level
    column names, gebied codes as :data:`factlab.schemas.areas.AREA_CODES` defines them, every count
    empty or publishable under ``rules``, derived columns empty when an input count is, no
    token-like text (a pseudonym or key) in any text cell.
    """
    contract = CONTRACTS.get(name)
    if contract is None:
        raise DisclosureError(f"tabel {name!r} staat niet in de tabelcontracten")
    bad = sorted(RECORD_LEVEL_NAMES & {c.lower() for c in frame.columns})
    if bad:
        raise DisclosureError(f"{name}: kolommen op recordniveau: {', '.join(bad)}")
    if tuple(frame.columns) != contract.names:
        extra = [c for c in frame.columns if c not in contract.names]
        raise DisclosureError(
            f"{name}: kolommen {list(frame.columns)} wijken af van het contract "
            f"{list(contract.names)} (onbekend: {extra})"
        )
    wrong_types = [c for c, t in contract.schema.items() if frame.schema[c] != t]
    if wrong_types:
        raise DisclosureError(
            f"{name}: kolommen {wrong_types} hebben niet het type van het contract"
        )
    codes = frame.get_column("gebied_code").to_list()
    wrong = [c for c in codes if not areas.AREA_CODES.is_gebied(c)]
    if wrong:
        raise DisclosureError(f"{name}: ongeldige gebied_code {wrong[:3]}")
    for column in contract.role("count"):
        for value in frame.get_column(column.name).drop_nulls().to_list():
            if not rules.is_publishable(value):
                raise DisclosureError(
                    f"{name}.{column.name}: waarde {value} is niet gepubliceerd te mogen "
                    f"(0-{rules.threshold} of niet afgerond op {rules.rounding})"
                )
    for column in contract.role("derived"):
        counts = [i for i in column.inputs if i in frame.columns and i in _count_names(contract)]
        for cond in counts:
            leak = frame.filter(pl.col(cond).is_null() & pl.col(column.name).is_not_null())
            if leak.height:
                raise DisclosureError(f"{name}.{column.name}: gevuld terwijl {cond} geheim is")
    for column_name, dtype in frame.schema.items():
        if dtype == pl.String:
            for value in frame.get_column(column_name).drop_nulls().to_list():
                check_text(f"{name}.{column_name}", value)


def _count_names(contract: TableContract) -> set[str]:
    return {c.name for c in contract.role("count")}


def check_text(where: str, text: str, allowed: Iterable[str] = ()) -> None:
    """Refuse text containing a long token (pseudonym, key, digest) not explicitly allowed."""
    allow = set(allowed)
    for match in TOKEN.finditer(text):
        token = match.group(0)
        digits = re.search(r"\d", token)
        if token in allow or not (digits and (re.search(r"[A-Za-z]", token) or token.isdigit())):
            continue  # plain words and identifiers (fig-aantal-voorzieningen) are no pseudonym
        raise DisclosureError(
            f"{where}: tekst bevat een token dat op een pseudoniem lijkt: {token[:12]}…"
        )
