"""The attacker's linear program: what the published tables reveal about each suppressed cell.

An attacker holds every published cell of an edition and knows the method: a published count
``p`` means the true count lies in :meth:`DisclosureRules.interval` of ``p``; a suppressed or
unpublished count is some whole number >= 0; the additive identities between cells (within and
across tables, :class:`factlab.analyse.Relation`) hold exactly; and the counts mean something,
so a pair of provisions is never more common than either provision, a provision never more
common than its domain, and so on (:func:`structural_inequalities`). Minimising and maximising
each suppressed cell over that polytope (HiGHS, via highspy) gives the tightest interval an
attacker can prove. Integrality is used by rounding the bounds inwards.

The protection Factlab promises (docs/privacy.md) is checked by :func:`is_protected`: no
suppressed cell's interval may exclude 0 while staying within 1..``drempel``, and every
interval is at least ``drempel`` wide.

HiGHS is imported inside :func:`attack`, so importing this module costs nothing.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from factlab.analyse import Relation
from factlab.schemas.disclosure import DisclosureRules
from factlab.schemas.tables import CONTRACTS, CellKey

#: An inequality ``sum(coef * cell) <= 0``.
Inequality = tuple[tuple[CellKey, float], ...]


@dataclass(frozen=True)
class Bounds:
    """The interval an attacker can prove for one cell; ``high`` is None when unbounded."""

    low: int
    high: int | None

    @property
    def width(self) -> float:
        return math.inf if self.high is None else self.high - self.low


def published_cells(tables: Mapping[str, pl.DataFrame]) -> dict[CellKey, int | None]:
    """Every count cell of the published tables: its value, or None where it is suppressed."""
    cells: dict[CellKey, int | None] = {}
    for name, frame in tables.items():
        contract = CONTRACTS[name]
        for row in frame.iter_rows(named=True):
            for column in contract.role("count"):
                value = row[column.name]
                cells[contract.count_key(column, row)] = None if value is None else int(value)
    return cells


def read_published(folder: Path) -> dict[str, pl.DataFrame]:
    """Published CSV tables as released (``tabellen/``), typed by their contracts."""
    return {
        name: pl.read_csv(folder / f"{name}.csv", schema=contract.schema)
        for name, contract in CONTRACTS.items()
        if (folder / f"{name}.csv").exists()
    }


def domains_of_provisions(tables: Mapping[str, pl.DataFrame]) -> dict[str, str]:
    """Each provision's domain, as the ``voorzieningen`` table publishes it."""
    frame = tables.get("voorzieningen")
    if frame is None:
        return {}
    return dict(frame.select("voorziening", "domein").iter_rows())


def structural_inequalities(
    cells: Iterable[CellKey], domain_of: Mapping[str, str]
) -> list[Inequality]:
    """What the meaning of the counts implies, beyond the additive relations.

    Pairs: ``both(a, b) <= n(a)``, ``<= n(b)``, ``<= households with several`` and
    ``>= n(a) + n(b) - all households`` (inclusion-exclusion). Provisions and domains:
    ``n(provision) <= n(its domain) <= all households`` and
    ``n(domain) <= sum of n(provision)`` over the domain's provisions.
    """
    cells = set(cells)
    found: list[Inequality] = []

    def at_most(small: CellKey, *large: CellKey) -> None:
        if small in cells and all(k in cells for k in large):
            found.append(((small, 1.0), *((k, -1.0) for k in large)))

    pairs = {"beide_voorzieningen": "voorziening", "beide_domeinen": "domein"}
    several = {
        "beide_voorzieningen": "meerdere_voorzieningen",
        "beide_domeinen": "meerdere_domeinen",
    }
    for key in cells:
        if key[0] in pairs:
            quantity, g, a, b = key
            one = pairs[quantity]
            at_most(key, (one, g, a))
            at_most(key, (one, g, b))
            at_most(key, (several[quantity], g))
            total = ("met_voorziening", g)
            if {(one, g, a), (one, g, b), total} <= cells:
                found.append((((one, g, a), 1.0), ((one, g, b), 1.0), (total, -1.0), (key, -1.0)))
    members: dict[tuple[str, ...], list[CellKey]] = {}
    for key in cells:
        if key[0] == "voorziening" and key[2] in domain_of:
            domain = ("domein", key[1], domain_of[key[2]])
            at_most(key, domain)
            members.setdefault(domain[1:], []).append(key)
    for key in cells:
        if key[0] == "domein":
            at_most(key, ("met_voorziening", key[1]))
            parts = members.get(key[1:], [])
            if parts:
                found.append(((key, 1.0), *((p, -1.0) for p in parts)))
    return found


def _solver():
    """A silent HiGHS instance.

    HiGHS prints a licence banner to standard output when an instance is made, before any
    option can be set; it is kept out of Factlab's output by pointing that file descriptor
    at the null device for the duration of the constructor.
    """
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            solver = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("presolve", "off")  # presolve would discard the basis to start from
    return solver


def attack(
    cells: Mapping[CellKey, int | None],
    relations: Iterable[Relation],
    rules: DisclosureRules,
    targets: Iterable[CellKey],
    inequalities: Iterable[Inequality] = (),
    exact: Mapping[CellKey, int] | None = None,
    pins_only: bool = False,
) -> dict[CellKey, Bounds]:
    """The attacker's bounds on each of ``targets``.

    ``cells``: the published cells (None = suppressed); ``exact``: cells the attacker knows
    exactly; every other cell named by a relation or inequality is unpublished and only known
    to be >= 0. ``pins_only``: skip the upper bound of a target that can be 0 (it cannot be
    pinned into 1..drempel); its bound then reads ``Bounds(0, None)``. One program is built once and
    re-solved per bound with a changed objective (HiGHS starts from the previous basis); a
    first solve minimising all targets together finds every target that can be 0 at once.
    """
    import highspy
    import numpy as np

    rows: list[tuple[dict[CellKey, float], float]] = []  # (row, lower bound); upper is 0
    for relation in relations:
        row = {relation.total: 1.0}
        for part in relation.parts:
            row[part] = row.get(part, 0.0) - 1.0
        rows.append((row, 0.0))
    rows += [(dict(row), -highspy.kHighsInf) for row in inequalities]
    exact = exact or {}
    keys = sorted({k for row, _ in rows for k in row} | set(cells) | set(exact))

    def interval(key: CellKey) -> tuple[float, float]:
        if key in exact:
            return exact[key], exact[key]
        value = cells.get(key)
        return (0.0, highspy.kHighsInf) if value is None else rules.interval(value)

    index = {k: i for i, k in enumerate(keys)}
    bounds = [interval(k) for k in keys]
    lp = highspy.HighsLp()
    lp.num_col_ = len(keys)
    lp.num_row_ = len(rows)
    lp.col_cost_ = np.zeros(len(keys))
    lp.col_lower_ = np.array([low for low, _ in bounds], dtype=float)
    lp.col_upper_ = np.array([high for _, high in bounds], dtype=float)
    lp.row_lower_ = np.array([low for _, low in rows], dtype=float)
    lp.row_upper_ = np.zeros(len(rows))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = len(keys)
    lp.a_matrix_.num_row_ = len(rows)
    lp.a_matrix_.start_ = np.cumsum([0] + [len(row) for row, _ in rows], dtype=np.int32)
    lp.a_matrix_.index_ = np.array([index[k] for row, _ in rows for k in row], dtype=np.int32)
    lp.a_matrix_.value_ = np.array([v for row, _ in rows for v in row.values()], dtype=float)
    solver = _solver()
    solver.passModel(lp)

    def solve(costs: Mapping[int, float]) -> tuple[float | None, list[float]]:
        """The optimum (None if unbounded) and the solution; costs are reset afterwards."""
        for column, cost in costs.items():
            solver.changeColCost(column, cost)
        solver.run()
        status = solver.getModelStatus()
        value = solver.getInfo().objective_function_value
        point = list(solver.getSolution().col_value)
        for column in costs:
            solver.changeColCost(column, 0.0)
        if status == highspy.HighsModelStatus.kOptimal:
            return value, point
        if status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return None, point
        raise RuntimeError(f"attacker's program has no solution ({status.name})")

    columns = [index[t] for t in targets]
    _, point = solve(dict.fromkeys(columns, 1.0))
    found: dict[CellKey, Bounds] = {}
    for column in columns:
        low = 0 if point[column] < 0.5 else math.ceil(solve({column: 1.0})[0] - 1e-6)  # type: ignore[operator]
        if pins_only and low == 0:
            found[keys[column]] = Bounds(0, None)
            continue
        high, _ = solve({column: -1.0})
        found[keys[column]] = Bounds(low, None if high is None else math.floor(-high + 1e-6))
    return found


def is_protected(bounds: Bounds, rules: DisclosureRules) -> bool:
    """The documented protection: not pinned into 1..drempel, and at least drempel wide.

    A cell proven empty (``[0, 0]``) is protected too: it holds no household to disclose, and
    such zeros follow from what is public anyway (no partner delivers that domain, say).
    """
    if bounds.high == 0:
        return True
    pinned = bounds.low >= 1 and bounds.high is not None and bounds.high <= rules.threshold
    return not pinned and bounds.width >= rules.threshold


def attack_cells(
    cells: Mapping[CellKey, int | None],
    relations: Iterable[Relation],
    rules: DisclosureRules,
    domain_of: Mapping[str, str],
    targets: Iterable[CellKey] | None = None,
) -> dict[CellKey, Bounds]:
    """Bounds on ``targets`` (default: every suppressed cell) from published ``cells``."""
    relations = tuple(relations)
    known = set(cells) | {k for r in relations for k in (r.total, *r.parts)}
    inequalities = structural_inequalities(known, domain_of)
    if targets is None:
        targets = sorted(k for k, v in cells.items() if v is None)
    return attack(cells, relations, rules, targets, inequalities)


def attack_tables(
    tables: Mapping[str, pl.DataFrame], relations: Iterable[Relation], rules: DisclosureRules
) -> dict[CellKey, Bounds]:
    """Bounds on every suppressed cell of these published tables."""
    return attack_cells(published_cells(tables), relations, rules, domains_of_provisions(tables))
