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

HiGHS is imported inside :class:`Attacker`, so importing this module costs nothing.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    # After a change of objective the basis stays primal feasible: primal simplex carries on
    # from it (about six times faster here than the default dual simplex, which starts over).
    solver.setOptionValue("simplex_strategy", 4)
    return solver


class Attacker:
    """The attacker's program over one set of published cells, kept for many bounds.

    ``cells``: the published cells (None = suppressed); ``exact``: cells the attacker knows
    exactly; every other cell named by a relation or inequality is unpublished and only known
    to be >= 0. The program is built once; each bound re-solves it with a changed objective,
    starting from the previous basis (primal simplex: a changed objective keeps the basis
    feasible, so few iterations are needed).

    :meth:`hide` suppresses more published cells: their columns lose their rounding interval.
    Hiding only relaxes the program, so a bound proven before stays exact unless its proof
    used the interval of a newly hidden cell: the optimum of a bound stays optimal when every
    hidden column has reduced cost 0 in it (the dual solution stays feasible with the same
    objective). Such bounds are kept; the others are solved again.
    """

    #: A reduced cost above this (in absolute value) means the bound rests on that column's
    #: interval. Real reduced costs here are sums of small fractions of the +-1 coefficients.
    _REDUCED_COST = 1e-9

    def __init__(
        self,
        cells: Mapping[CellKey, int | None],
        relations: Iterable[Relation],
        rules: DisclosureRules,
        inequalities: Iterable[Inequality] = (),
        exact: Mapping[CellKey, int] | None = None,
    ) -> None:
        import highspy
        import numpy as np

        self._highspy = highspy
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

        self.keys = keys
        self.index = {k: i for i, k in enumerate(keys)}
        index = self.index
        bounds = [interval(k) for k in keys]
        #: Columns that :meth:`hide` may still relax: published, not suppressed, not exact.
        self._hideable = np.array(
            [k not in exact and cells.get(k) is not None for k in keys], dtype=bool
        )
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
        self._solver = _solver()
        self._solver.passModel(lp)
        # Proven bounds per column: (bound, columns whose interval the proof rests on).
        self._low: dict[int, tuple[int, frozenset[int]]] = {}
        self._high: dict[int, tuple[int | None, frozenset[int]]] = {}

    def hide(self, keys: Iterable[CellKey]) -> None:
        """Suppress these published cells too: the attacker knows only that they are >= 0."""
        columns = {self.index[k] for k in keys if self._hideable[self.index[k]]}
        for column in sorted(columns):
            self._solver.changeColBounds(column, 0.0, self._highspy.kHighsInf)
            self._hideable[column] = False
        for proven in (self._low, self._high):
            for column in [c for c, (_, rests_on) in proven.items() if rests_on & columns]:
                del proven[column]

    def _run(self, costs: Mapping[int, float]) -> tuple[float | None, Any]:
        """Optimise with these costs: the optimum (None if unbounded) and HiGHS's solution.

        The solution is read before the costs are reset (a change of the model clears it).
        """
        highspy = self._highspy
        solver = self._solver
        for column, cost in costs.items():
            solver.changeColCost(column, cost)
        solver.run()
        status = solver.getModelStatus()
        value: float | None = None
        solution = None
        if status == highspy.HighsModelStatus.kOptimal:
            value = solver.getInfo().objective_function_value
            solution = solver.getSolution()
        for column in costs:
            solver.changeColCost(column, 0.0)
        if status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return None, None
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"attacker's program has no solution ({status.name})")
        return value, solution

    def _solve(self, costs: Mapping[int, float]) -> tuple[float | None, frozenset[int]]:
        """The optimum (None if unbounded) and the hideable columns its proof rests on."""
        import numpy as np

        value, solution = self._run(costs)
        if value is None:
            return None, frozenset()  # unbounded: stays so however much is hidden
        reduced = np.abs(np.asarray(solution.col_dual)) > self._REDUCED_COST
        return value, frozenset(np.flatnonzero(reduced & self._hideable).tolist())

    def bounds(self, targets: Iterable[CellKey], pins_only: bool = False) -> dict[CellKey, Bounds]:
        """The attacker's bounds on each of ``targets``.

        ``pins_only``: skip the upper bound of a target that can be 0 (it cannot be pinned
        into 1..drempel); its bound then reads ``Bounds(0, None)``. A first solve minimising
        all targets together finds every target that can be 0 at once.
        """
        columns = [self.index[t] for t in targets]
        unknown = [c for c in columns if c not in self._low]
        if unknown:
            _, solution = self._run(dict.fromkeys(unknown, 1.0))
            point = solution.col_value
            for column in unknown:
                if point[column] < 0.5:
                    self._low[column] = (0, frozenset())  # stays 0 however much is hidden
                else:
                    value, rests_on = self._solve({column: 1.0})
                    self._low[column] = (math.ceil(value - 1e-6), rests_on)  # type: ignore[operator]
        found: dict[CellKey, Bounds] = {}
        for column in columns:
            low = self._low[column][0]
            if pins_only and low == 0:
                found[self.keys[column]] = Bounds(0, None)
                continue
            if column not in self._high:
                value, rests_on = self._solve({column: -1.0})
                high = None if value is None else math.floor(-value + 1e-6)
                self._high[column] = (high, rests_on)
            found[self.keys[column]] = Bounds(low, self._high[column][0])
        return found


def attack(
    cells: Mapping[CellKey, int | None],
    relations: Iterable[Relation],
    rules: DisclosureRules,
    targets: Iterable[CellKey],
    inequalities: Iterable[Inequality] = (),
    exact: Mapping[CellKey, int] | None = None,
    pins_only: bool = False,
) -> dict[CellKey, Bounds]:
    """The attacker's bounds on each of ``targets`` (see :class:`Attacker`)."""
    return Attacker(cells, relations, rules, inequalities, exact).bounds(targets, pins_only)


def is_protected(bounds: Bounds, rules: DisclosureRules) -> bool:
    """The documented protection: not pinned into 1..drempel, and at least drempel wide.

    A cell proven empty (``[0, 0]``) is protected too: it holds no household to disclose, and
    such zeros follow from what is public anyway (no partner delivers that domain, say).
    """
    if bounds.high == 0:
        return True
    pinned = bounds.low >= 1 and bounds.high is not None and bounds.high <= rules.threshold
    return not pinned and bounds.width >= rules.threshold


def cell_attacker(
    cells: Mapping[CellKey, int | None],
    relations: Iterable[Relation],
    rules: DisclosureRules,
    domain_of: Mapping[str, str],
) -> Attacker:
    """The attacker's program on published ``cells``: relations plus what the counts mean."""
    relations = tuple(relations)
    known = set(cells) | {k for r in relations for k in (r.total, *r.parts)}
    return Attacker(cells, relations, rules, structural_inequalities(known, domain_of))


def attack_cells(
    cells: Mapping[CellKey, int | None],
    relations: Iterable[Relation],
    rules: DisclosureRules,
    domain_of: Mapping[str, str],
    targets: Iterable[CellKey] | None = None,
) -> dict[CellKey, Bounds]:
    """Bounds on ``targets`` (default: every suppressed cell) from published ``cells``."""
    if targets is None:
        targets = sorted(k for k, v in cells.items() if v is None)
    return cell_attacker(cells, relations, rules, domain_of).bounds(targets)


def attack_tables(
    tables: Mapping[str, pl.DataFrame], relations: Iterable[Relation], rules: DisclosureRules
) -> dict[CellKey, Bounds]:
    """Bounds on every suppressed cell of these published tables."""
    return attack_cells(published_cells(tables), relations, rules, domains_of_provisions(tables))
