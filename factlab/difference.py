"""Differencing between two editions of one period: what their tables together reveal about
the households that differ.

A late partner, a corrected file or a re-closed aanleverperiode gives a second edition that
differs from a published one by a few households. Each edition on its own is protected, but
the pair is not: with deterministic rounding, a cell that moves up one rounding step shows that
the added household is in it. The defence (docs/privacy.md) is to attack the pair before the
second edition is published, and refuse it if the attack succeeds.

The attacker's program: every household count splits into households in both editions, those
only in the previous one (removed) and those only in the new one (added); each part obeys
every additive relation; the previous edition's published cells bound ``both + removed``, the
new edition's ``both + added``; and the attacker knows exactly how many households were
removed and added (a partner who adds one known client knows it is one). Any cell whose
removed or added part is pinned into 1..``drempel`` (a group of 1 to ``drempel`` changed
households located, or a changed household's provision revealed) refuses the new edition.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from factlab.analyse import Relation
from factlab.attack import (
    Bounds,
    Inequality,
    attack,
    domains_of_provisions,
    published_cells,
    read_published,
    structural_inequalities,
)
from factlab.disclose import Protected
from factlab.schemas import areas
from factlab.schemas.disclosure import DisclosureRules
from factlab.schemas.tables import CellKey

#: Quantities that are not household counts (delivery rows) or exist only in one edition's data
#: (the exact combinations): the differencing program leaves them out.
_NOT_HOUSEHOLDS = frozenset({"aanlevering", "aanlevering_voorziening", "combinatie"})
_BOTH, _REMOVED, _ADDED, _OLD, _NEW = "beide", "weg", "erbij", "vorige", "nieuwe"
_IDENTITY = ("wijk_code", "buurt_code", "voorzieningen", "organisaties")


def changed_households(previous: pl.DataFrame, new: pl.DataFrame) -> tuple[int, int]:
    """``(removed, added)``: households of one edition that the other lacks, compared as rows.

    Households carry no identity across editions; comparing their rows as multisets gives the
    smallest change consistent with both tables (a household whose provisions changed counts
    as one removed and one added).
    """

    def rows(frame: pl.DataFrame) -> Counter[tuple[object, ...]]:
        return Counter(
            tuple(tuple(v) if isinstance(v, list) else v for v in row)
            for row in frame.select(_IDENTITY).iter_rows()
        )

    old, fresh = rows(previous), rows(new)
    return sum((old - fresh).values()), sum((fresh - old).values())


def _prefixed(prefix: str, key: CellKey) -> CellKey:
    return (prefix, *key)


def difference_bounds(
    previous: Mapping[str, pl.DataFrame],
    new: Mapping[str, pl.DataFrame],
    relations: tuple[Relation, ...],
    rules: DisclosureRules,
    removed: int,
    added: int,
) -> dict[CellKey, Bounds]:
    """The attacker's bounds on the removed and added part of every household cell.

    Keys are ``("weg", *cell)`` and ``("erbij", *cell)``; a part that can be 0 reads
    ``Bounds(0, None)`` (its upper bound is not needed to rule out a pin).
    """
    relations = tuple(
        r
        for r in relations
        if not {k[0] for k in (r.total, *r.parts)} & _NOT_HOUSEHOLDS and r.parts
    )
    old_cells = {k: v for k, v in published_cells(previous).items() if k[0] not in _NOT_HOUSEHOLDS}
    new_cells = {k: v for k, v in published_cells(new).items() if k[0] not in _NOT_HOUSEHOLDS}
    cells = set(old_cells) | set(new_cells) | {k for r in relations for k in (r.total, *r.parts)}
    gemeente = next(
        k
        for k in cells
        if k[0] == "met_voorziening" and re.fullmatch(areas.AREA_CODES.gemeente, k[1])
    )
    shown = {_prefixed(_OLD, k): v for k, v in old_cells.items()}
    shown |= {_prefixed(_NEW, k): v for k, v in new_cells.items()}
    program: list[Relation] = [
        Relation(_prefixed(part, r.total), tuple(_prefixed(part, p) for p in r.parts))
        for part in (_BOTH, _REMOVED, _ADDED)
        for r in relations
    ]
    program += [
        Relation(_prefixed(_OLD, k), (_prefixed(_BOTH, k), _prefixed(_REMOVED, k)))
        for k in old_cells
    ]
    program += [
        Relation(_prefixed(_NEW, k), (_prefixed(_BOTH, k), _prefixed(_ADDED, k))) for k in new_cells
    ]
    domain_of = domains_of_provisions(new)
    inequalities: list[Inequality] = [
        tuple((_prefixed(part, k), v) for k, v in row)
        for part in (_BOTH, _REMOVED, _ADDED)
        for row in structural_inequalities(cells, domain_of)
    ]
    exact = {
        _prefixed(_REMOVED, gemeente): removed,
        _prefixed(_ADDED, gemeente): added,
    }
    targets = [_prefixed(part, k) for part in (_REMOVED, _ADDED) for k in sorted(cells)]
    targets = [t for t in targets if t not in exact]  # known by assumption, not from the tables
    return attack(shown, program, rules, targets, inequalities, exact=exact, pins_only=True)


def pinned(bounds: Bounds, rules: DisclosureRules) -> bool:
    """A group of 1 to ``drempel`` changed households located in a cell."""
    return bounds.low >= 1 and bounds.high is not None and bounds.high <= rules.threshold


def check_difference(
    previous_tables_dir: Path,
    previous_households: pl.DataFrame,
    new: Protected,
    new_households: pl.DataFrame,
    rules: DisclosureRules,
) -> list[str]:
    """Problems (Dutch, naming cells only) that refuse ``new`` next to a published edition.

    ``previous_tables_dir`` is the published edition's ``tabellen`` folder and
    ``previous_households`` its household table; ``new`` the protected tables of the edition
    about to be published. Empty when the pair reveals no group of changed households.
    """
    removed, added = changed_households(previous_households, new_households)
    if removed == added == 0:
        return []
    bounds = difference_bounds(
        read_published(previous_tables_dir), new.tables, new.relations, rules, removed, added
    )
    side = {_REMOVED: "verdwenen", _ADDED: "bijgekomen"}
    return [
        f"cel {', '.join(key[1:])}: samen met de vorige editie zijn hier 1 tot "
        f"{rules.threshold} {side[key[0]]} huishoudens aan te wijzen"
        for key, b in sorted(bounds.items())
        if pinned(b, rules)
    ]
