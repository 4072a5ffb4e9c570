"""The attacker's linear program against every kind of edition: suppressed cells stay protected,
the report's charts and tables carry no more than the published tables, and the attack finds
what a weakened disclosure control leaks."""

from __future__ import annotations

import random
from dataclasses import replace

import polars as pl
import pytest
from attacker import EDITIONS, PROVENANCE, imprecise_numbers, report_html, weak_cells
from audit_factory import receipt
from households_factory import gemeente, households
from hypothesis import example, given, settings
from hypothesis import strategies as st

import factlab.disclose
from factlab.analyse import Relation
from factlab.attack import (
    Attacker,
    Bounds,
    attack,
    attack_tables,
    bounds_one_by_one,
    cell_attacker,
    domains_of_provisions,
    is_protected,
    published_cells,
)
from factlab.disclose import DEFAULT_RULES, DisclosureRules
from factlab.publish import protected_tables
from factlab.schemas.tables import CellKey


@pytest.fixture(scope="module", params=list(EDITIONS))
def edition(request):
    name = request.param
    return EDITIONS[name], EDITIONS[name].publish()


def _sample(bounds: dict[CellKey, Bounds], every: int = 6) -> list[CellKey]:
    """Targets to check against the reference (a few ms per bound): every ``every``-th, and
    every one with a lower bound above 0 or no upper bound."""
    keys = sorted(bounds)
    rare = {k for k in keys if bounds[k].low > 0 or bounds[k].high is None}
    return sorted({*keys[::every], *rare})


def _attacker_on(protected) -> Attacker:
    cells = published_cells(protected.tables)
    return cell_attacker(
        cells, protected.relations, DEFAULT_RULES, domains_of_provisions(protected.tables)
    )


def test_no_suppressed_cell_is_narrowed_down(edition) -> None:
    _, protected = edition
    assert protected.suppressed
    bounds = attack_tables(protected.tables, protected.relations, DEFAULT_RULES)
    assert set(bounds) == protected.suppressed
    assert [k for k, b in bounds.items() if not is_protected(b, DEFAULT_RULES)] == []
    assert bounds == protected.bounds  # what the release certificate reports
    # ... and each is what a program of its own, solved from scratch, proves.
    sample = _sample(bounds)
    assert bounds_one_by_one(_attacker_on(protected), sample) == {k: bounds[k] for k in sample}


def test_most_bounds_need_no_solve_of_their_own() -> None:
    """The tiny edition's hundreds of suppressed cells take far fewer solves than bounds, and
    each bound is still exactly what a program solving it alone proves."""
    protected = EDITIONS["piepklein"].publish()
    attacker = _attacker_on(protected)
    targets = sorted(protected.suppressed)
    bounds = attacker.bounds(targets)
    assert attacker.solves < len(targets) / 4
    sample = _sample(bounds, every=3)
    assert bounds_one_by_one(_attacker_on(protected), sample) == {k: bounds[k] for k in sample}


def test_interchangeable_wijken_share_their_bounds() -> None:
    """In a tiny edition nothing of a wijk is published, so swapping two wijken (their buurten
    by rank) leaves the program unchanged: one point or proof serves all of them. The swaps
    are found, buurt cells included, and every bound is still what it is alone."""
    area = gemeente(6)
    buurten = pl.DataFrame(
        [(w, f"BU{w[2:]}{i:02d}") for w in area.wijken.get_column("wijk_code") for i in range(4)],
        schema=["wijk_code", "buurt_code"],
        orient="row",
    )
    protected = protected_tables(
        households(7, 14, area),
        gemeente_code=area.code,
        gemeente_naam=area.naam,
        wijken=area.wijken,
        provenance=PROVENANCE,
        buurten=buurten,
    )
    attacker = _attacker_on(protected)
    targets = sorted(protected.suppressed)
    bounds = attacker.bounds(targets)
    orbits = attacker._orbits()
    buurt = [attacker.index[k] for k in targets if k[0].startswith("buurt")]
    assert buurt and len({orbits[c] for c in buurt}) < len(buurt) / 4
    assert attacker.solves < len(targets) / 10
    sample = _sample(bounds, every=3) + [k for k in targets if k[0].startswith("buurt")][:12]
    assert bounds_one_by_one(_attacker_on(protected), sample) == {k: bounds[k] for k in sample}


def test_a_swap_of_areas_is_verified_not_assumed() -> None:
    """Two areas whose cells look alike (same quantities, same intervals) but whose rows differ
    are not interchangeable: only A's cell ``x`` is bounded (by ``n``, at most the total)."""
    rules = DisclosureRules()
    cells = {("t", "GM"): 20, ("n", "A"): None, ("n", "B"): None}
    cells |= {("x", "A"): None, ("x", "B"): None}
    relations = [Relation(("t", "GM"), (("n", "A"), ("n", "B")))]
    inequality = ((("x", "A"), 1.0), (("n", "A"), -1.0))
    attacker = Attacker(cells, relations, rules, [inequality])
    assert attacker.bounds([("x", "A"), ("x", "B")]) == {
        ("x", "A"): Bounds(0, 22),
        ("x", "B"): Bounds(0, None),
    }
    orbits = attacker._orbits()
    assert orbits[attacker.index["x", "A"]] != orbits[attacker.index["x", "B"]]
    # Without the inequality the areas are interchangeable, and found so.
    symmetric = Attacker(cells, relations, rules)
    orbits = symmetric._orbits()
    assert orbits[symmetric.index["n", "A"]] == orbits[symmetric.index["n", "B"]]
    assert symmetric.bounds([("n", "A"), ("n", "B")]) == dict.fromkeys(
        [("n", "A"), ("n", "B")], Bounds(0, 22)
    )


def test_a_shortcut_that_trusts_propagation_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Teeth: propagated bounds are proofs from above only. An attacker that takes them as
    the maximum without a feasible point reaching them overstates some bounds, and the
    comparison with the reference catches it."""
    protected = EDITIONS["klein"].publish()
    known = Attacker._known

    def trusting(self: Attacker, columns):
        low_known, low, _, high = known(self, columns)
        return low_known, low, high == high, high

    monkeypatch.setattr(Attacker, "_known", trusting)
    bounds = _attacker_on(protected).bounds(sorted(protected.suppressed))
    sample = _sample(bounds)
    assert bounds_one_by_one(_attacker_on(protected), sample) != {k: bounds[k] for k in sample}


def test_the_seed_bound_is_checked_not_assumed(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a seed weight too small to put the seed at its bound, the bound derived from the
    seeded optimum is loose; the check sends such seeds to a solve of their own, so every
    bound stays exact."""
    protected = EDITIONS["letters"].publish()
    targets = sorted(protected.suppressed)
    exact = _attacker_on(protected).bounds(targets)
    alone: list[int] = []
    for name in ("_minimise", "_maximise"):
        solve = getattr(Attacker, name)

        def counted(self: Attacker, column: int, solve=solve) -> None:  # type: ignore[no-untyped-def]
            alone.append(column)
            solve(self, column)

        monkeypatch.setattr(Attacker, name, counted)
    _attacker_on(protected).bounds(targets)
    strong = len(alone)
    monkeypatch.setattr(Attacker, "_SEED_WEIGHT", 1.0)
    weak = _attacker_on(protected)
    assert weak.bounds(targets) == exact
    assert strong == 0 and len(alone) > 5  # seeds that failed the check were solved alone
    sample = _sample(exact)
    assert bounds_one_by_one(weak, sample) == {k: exact[k] for k in sample}


def test_the_heuristic_alone_is_not_enough_and_the_audit_repairs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Relation-by-relation suppression misses chains the attacker combines; the audit adds
    complements until the attack fails.

    A small partner that places all its rows: ``rijen_gelezen`` and ``geplaatst`` are published
    (15), ``geaccepteerd`` is suppressed as the complement of the zeros, but lies between them,
    so the zeros are pinned to 0-4 by chaining the two identities.
    """
    small = receipt(
        "klein", "Klein", {"rijen_gelezen": 15, "geaccepteerd": 15, "geplaatst": 15}, {}
    )
    provenance = replace(PROVENANCE, files=(*PROVENANCE.files, small))
    spec = EDITIONS["klein"]
    repaired = spec.publish(provenance=provenance)
    assert weak_cells(repaired.tables, repaired.relations, DEFAULT_RULES) == {}
    monkeypatch.setattr(
        factlab.disclose, "_audit_and_repair", lambda _v, _p, suppressed, *_: (suppressed, {})
    )
    heuristic = spec.publish(provenance=provenance)
    assert heuristic.suppressed < repaired.suppressed
    assert weak_cells(heuristic.tables, heuristic.relations, DEFAULT_RULES)


def test_report_numbers_are_published_numbers(edition) -> None:
    spec, protected = edition
    html = report_html(protected, spec.area(), DEFAULT_RULES)
    assert "Plotly.newPlot" in html
    assert imprecise_numbers(html, protected.tables) == []


def test_a_report_with_more_precision_is_caught() -> None:
    spec = EDITIONS["middel"]
    protected = spec.publish()
    sharper = dict(protected.tables)
    sharper["kerncijfers"] = protected.tables["kerncijfers"].with_columns(
        pl.col("aandeel_met_voorziening_pct") + 0.04
    )
    html = report_html(
        type(protected)(sharper, protected.cells, protected.suppressed, protected.relations),
        spec.area(),
        DEFAULT_RULES,
    )
    assert any(p.startswith("tabel:") for p in imprecise_numbers(html, protected.tables))


def test_the_attack_finds_what_primary_suppression_alone_leaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Teeth: with secondary suppression switched off, subtraction narrows small cells down.

    (Rounding alone keeps most of them from being pinned exactly, but not to a range as wide
    as the threshold: that is the protection secondary suppression adds.)
    """
    monkeypatch.setattr(factlab.disclose, "_violation", lambda *args: None)
    monkeypatch.setattr(
        factlab.disclose, "_audit_and_repair", lambda _v, _p, suppressed, *_: (suppressed, {})
    )
    protected = EDITIONS["middel"].publish()
    weak = weak_cells(protected.tables, protected.relations, DEFAULT_RULES)
    assert any(key[0] == "aantal_voorzieningen" for key in weak)
    assert all(b.width < DEFAULT_RULES.threshold for b in weak.values())


@pytest.mark.parametrize(("threshold", "rounding"), [(10, 3), (5, 4)])
def test_other_allowed_rules_protect_too(threshold: int, rounding: int) -> None:
    rules = DisclosureRules(threshold=threshold, rounding=rounding)
    protected = EDITIONS["klein"].publish(rules)
    assert weak_cells(protected.tables, protected.relations, rules) == {}


def test_the_program_on_a_table_small_enough_to_check_by_hand() -> None:
    """total 20 (true 18..22) = a (published 10: 8..12) + b (suppressed): b is 6..14."""
    rules = DisclosureRules()
    cells = {("t",): 20, ("a",): 10, ("b",): None}
    bounds = attack(cells, [Relation(("t",), (("a",), ("b",)))], rules, [("b",)])
    assert bounds == {("b",): Bounds(6, 14)}
    assert not is_protected(Bounds(1, 7), rules)  # pinned to 1..7
    assert not is_protected(Bounds(0, 6), rules)  # narrower than the threshold
    assert is_protected(Bounds(0, 7), rules) and is_protected(Bounds(3, 14), rules)
    assert is_protected(Bounds(0, 0), rules)  # proven empty: no household to disclose


def test_bounds_kept_after_hiding_more_are_what_a_fresh_program_proves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The repair re-solves only bounds whose proof used a newly hidden cell's interval.

    Hide published cells in steps (the smallest first, as a repair does) and compare every
    bound with a program built from scratch on what is then published, and a sample with
    each bound solved alone. Teeth: an attacker that keeps every bound after hiding is caught.
    """
    protected = EDITIONS["klein"].publish()
    cells = published_cells(protected.tables)
    domain_of = domains_of_provisions(protected.tables)
    shown = sorted((v, k) for k, v in cells.items() if v is not None)
    steps = [[k for _, k in shown[i : i + 3]] for i in range(0, 9, 3)]

    def kept_and_fresh(check: bool = True) -> tuple[dict, list[tuple[dict, dict]]]:
        attacker = cell_attacker(cells, protected.relations, DEFAULT_RULES, domain_of)
        hidden = dict(cells)
        targets = sorted(k for k, v in cells.items() if v is None)
        before = attacker.bounds(targets)
        compared = []
        for step in steps:
            attacker.hide(step)
            hidden |= dict.fromkeys(step)
            targets = sorted({*targets, *step})
            fresh = cell_attacker(hidden, protected.relations, DEFAULT_RULES, domain_of)
            compared.append((attacker.bounds(targets), fresh.bounds(targets)))
        if check:  # the kept bounds are what programs of their own prove after the last step
            sample = _sample(compared[-1][0])
            reference.update(bounds_one_by_one(attacker, sample))
        return before, compared

    reference: dict[CellKey, Bounds] = {}
    before, compared = kept_and_fresh()
    assert all(kept == fresh for kept, fresh in compared)
    assert reference == {k: compared[-1][0][k] for k in reference}
    after = compared[-1][1]
    assert any(after[k] != b for k, b in before.items())  # hiding widened some proven bound
    monkeypatch.setattr(Attacker, "_REDUCED_COST", float("inf"))  # no proof rests on anything
    assert any(kept != fresh for kept, fresh in kept_and_fresh(check=False)[1])


def _random_program(seed: int) -> tuple[Attacker, dict[CellKey, int | None], random.Random]:
    """A random gemeente of 1-5 areas and 1-2 quantities in 1-4 categories, true counts from
    a seed, relations (categories to totals, areas to the gemeente), some inequalities the
    truth obeys, and a random share published (sometimes nothing of any area)."""
    rng = random.Random(seed)
    rules = DisclosureRules()
    areas = [f"WK{i}" for i in range(rng.randint(1, 5))]
    categories = [str(i) for i in range(rng.randint(1, 4))]
    quantities = ["q", "r"][: rng.randint(1, 2)]
    truth: dict[CellKey, int] = {}
    for q in quantities:
        for a in areas:
            for c in categories:
                truth[q, a, c] = rng.choice([0, 0, 1, 3, 8, 15, 30])
            truth[q + "tot", a] = sum(truth[q, a, c] for c in categories)
        for c in categories:
            truth[q, "GM", c] = sum(truth[q, a, c] for a in areas)
        truth[q + "tot", "GM"] = sum(truth[q + "tot", a] for a in areas)
    relations = []
    for q in quantities:
        for a in [*areas, "GM"]:
            relations.append(Relation((q + "tot", a), tuple((q, a, c) for c in categories)))
        for c in categories:
            relations.append(Relation((q, "GM", c), tuple((q, a, c) for a in areas)))
        relations.append(Relation((q + "tot", "GM"), tuple((q + "tot", a) for a in areas)))
    inequalities = [
        ((("r", a, c), 1.0), (("q", a, c), -1.0))
        for a in [*areas, "GM"]
        for c in categories
        if len(quantities) == 2 and truth["r", a, c] <= truth["q", a, c] and rng.random() < 0.5
    ]
    share = rng.random()
    cells: dict[CellKey, int | None] = {}
    for k, v in truth.items():
        if k[1] != "GM" and share < 0.3:
            cells[k] = None  # nothing of any area published: interchangeable areas
        elif v > rules.threshold and rng.random() < share:
            cells[k] = rules.round_count(v)
        else:
            cells[k] = None
    return Attacker(cells, relations, rules, inequalities), cells, rng


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**9))
@example(1133)  # primal simplex stopped without a verdict here; dual simplex settles it
def test_every_bound_is_what_its_own_program_proves(seed: int) -> None:
    """Random programs, then published cells hidden in steps: every bound equals the reference,
    also after each hide (kept proofs, shared points, swapped areas)."""
    attacker, cells, rng = _random_program(seed)
    targets = sorted(k for k, v in cells.items() if v is None)
    assert attacker.bounds(targets) == bounds_one_by_one(attacker, targets)
    keys = sorted(cells)
    for _ in range(2):
        attacker.hide(rng.sample(keys, rng.randint(1, 3)))
        assert attacker.bounds(keys) == bounds_one_by_one(attacker, keys)


def test_a_solve_that_ends_without_a_verdict_is_solved_again_from_scratch() -> None:
    """A warm solve that stops without an optimum (here: an iteration limit of 0, as a warm
    start gone astray would) is solved from scratch: the bounds stay exact, nothing raises."""
    protected = EDITIONS["piepklein"].publish()
    attacker = _attacker_on(protected)
    attacker._solver.setOptionValue("simplex_iteration_limit", 0)
    targets = sorted(protected.suppressed)
    bounds = attacker.bounds(targets)
    sample = _sample(bounds, every=3)
    assert bounds_one_by_one(_attacker_on(protected), sample) == {k: bounds[k] for k in sample}
