"""Disclosure control, checked as properties of the published outputs (several seeds, small gemeenten)."""

from __future__ import annotations

import polars as pl
import pytest
from attacker import PROVENANCE
from households_factory import analyse_area, gemeente, households
from hypothesis import given, settings
from hypothesis import strategies as st

from factlab.analyse import Relation, receipts_tables
from factlab.disclose import (
    CONTRACTS,
    DisclosureError,
    DisclosureRules,
    gate,
    round_count,
    suppress,
    table_cells,
)
from factlab.publish import protected_tables

RULES = DisclosureRules()
# (seed, households, wijken): big enough to publish a lot, and small where suppression bites.
CASES = [(1, 2000, 6), (2, 600, 8), (3, 120, 4), (4, 40, 3), (5, 9, 2), (6, 0, 2)]


def _truth(hh, area):
    result = analyse_area(hh, area, threshold=RULES.threshold)
    receipts, rel = receipts_tables(PROVENANCE.files, area.code, area.naam)
    values = dict(result.hidden)
    for name, frame in (result.tables | receipts).items():
        values |= table_cells(CONTRACTS[name], frame)
    return values, (*result.relations, *rel)


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"seed{c[0]}-n{c[1]}")
def published(request):
    seed, n, n_wijken = request.param
    area = gemeente(n_wijken)
    hh = households(seed, n, area)
    protected = protected_tables(
        hh,
        gemeente_code=area.code,
        gemeente_naam=area.naam,
        wijken=area.wijken,
        provenance=PROVENANCE,
    )
    values, relations = _truth(hh, area)
    return protected, values, relations


def _published_cells(tables):
    cells = {}
    for name, frame in tables.items():
        contract = CONTRACTS[name]
        for row in frame.iter_rows(named=True):
            for column in contract.role("count"):
                cells[contract.count_key(column, row)] = row[column.name]
    return cells


def test_every_count_is_the_rounded_truth_or_suppressed(published):
    protected, values, _ = published
    cells = _published_cells(protected.tables)
    assert cells
    for key, shown in cells.items():
        if shown is None:
            continue
        assert values[key] > RULES.threshold, key
        assert shown == 5 * int(values[key] / 5 + 0.5), key
        assert shown % 5 == 0 and shown > 7


def test_every_small_count_is_suppressed(published):
    protected, values, _ = published
    for key, shown in _published_cells(protected.tables).items():
        if values[key] <= RULES.threshold:
            assert shown is None, key


def test_secondary_suppression_holds_on_every_relation(published):
    protected, values, relations = published
    cells = _published_cells(protected.tables)

    def hidden(key):
        return cells.get(key, "unpublished") is None or key not in cells

    checked = 0
    for rel in relations:
        suppressed_parts = [p for p in rel.parts if p in cells and cells[p] is None]
        hidden_parts = [p for p in rel.parts if hidden(p)]
        if rel.total in cells and cells[rel.total] is not None:
            if suppressed_parts:
                assert sum(values[p] for p in hidden_parts) > RULES.threshold, rel
                assert len(hidden_parts) >= 2, rel
        elif rel.total in cells:  # a suppressed total must not be the sum of visible parts
            assert hidden_parts, rel
        checked += 1
    assert checked > 50


def test_shares_and_ratios_come_from_published_counts(published):
    protected, _, _ = published
    t = protected.tables
    for row in t["kerncijfers"].iter_rows(named=True):
        n, w = row["huishoudens_met_voorziening"], row["woningen"]
        expected = None if n is None or not w else round(100 * n / w, 1)
        assert row["aandeel_met_voorziening_pct"] == expected
    total = t["kerncijfers"].row(0, named=True)["huishoudens_met_voorziening"]
    marginals = dict(t["voorzieningen"].select("voorziening", "huishoudens").iter_rows())
    for row in t["samenloop_voorzieningen"].iter_rows(named=True):
        a, b = marginals[row["a"]], marginals[row["b"]]
        verwacht = None if a is None or b is None or not total else round(a * b / total, 1)
        assert row["verwacht"] == verwacht
        ratio = (
            None
            if row["huishoudens"] is None or not verwacht
            else round(row["huishoudens"] / verwacht, 2)
        )
        assert row["ratio"] == ratio
    for row in t["kwetsbaarheid"].iter_rows(named=True):
        if row["huishoudens_meerdere_domeinen"] is None or row["huishoudens"] is None:
            assert row["aandeel_meerdere_domeinen_pct"] is None


def test_all_tables_pass_the_gate_and_keep_every_category_row(published):
    protected, _, _ = published
    for name, frame in protected.tables.items():
        gate(name, frame, RULES)
    assert protected.tables["domeincombinaties"].height % 7 == 0
    assert protected.tables["domeincombinaties"].height > 0


def test_protection_is_deterministic():
    area = gemeente(4)
    hh = households(8, 300, area)
    args = {
        "gemeente_code": area.code,
        "gemeente_naam": area.naam,
        "wijken": area.wijken,
        "provenance": PROVENANCE,
    }
    first, second = (
        protected_tables(hh, **args),
        protected_tables(hh.sample(fraction=1.0, shuffle=True, seed=2), **args),
    )
    for name in CONTRACTS:
        assert first.tables[name].equals(second.tables[name]), name


def test_rounding():
    assert [round_count(v, RULES) for v in (8, 10, 12, 13, 17, 18, 1234)] == [
        10,
        10,
        10,
        15,
        15,
        20,
        1235,
    ]
    assert round_count(11, DisclosureRules(threshold=10)) == 15  # never into the secret range


def _good_table():
    return pl.DataFrame(
        {
            "gebied_code": ["GM0999"],
            "gebied_naam": ["Test"],
            "domein": ["jeugd"],
            "huishoudens": [15],
        }
    )


@pytest.mark.parametrize("code", ["GM0999", "WK099901", "WK0363AF", "onbekend"])
def test_gate_accepts_a_valid_table(code):
    gate("domeinen", _good_table().with_columns(gebied_code=pl.lit(code)))


@pytest.mark.parametrize(("threshold", "rounding"), [(5, 3), (7, 5), (10, 4), (6, 10)])
def test_rules_interval_is_exactly_what_rounds_to_a_published_value(threshold, rounding):
    rules = DisclosureRules(threshold=threshold, rounding=rounding)
    published: dict[int, list[int]] = {}
    for value in range(threshold + 1, 200):
        published.setdefault(round_count(value, rules), []).append(value)
    for shown, values in list(published.items())[:-1]:  # the last one is cut off at 200
        assert rules.is_publishable(shown)
        assert rules.interval(shown) == (min(values), max(values))
    assert rules.max_rounding_error == max(
        abs(round_count(v, rules) - v) for v in range(threshold + 1, 200)
    )


@pytest.mark.parametrize(("threshold", "rounding"), [(4, 5), (7, 2), (0, 5), (7, 1)])
def test_rules_below_the_floor_are_refused(threshold, rounding):
    with pytest.raises(ValueError, match="at least"):
        DisclosureRules(threshold=threshold, rounding=rounding)


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.with_columns(pl.lit("x").alias("extra")),
        lambda f: f.with_columns(pl.lit("abc").alias("pseudoniem")),
        lambda f: f.with_columns(pl.lit(5, pl.Int64).alias("huishoudens")),
        lambda f: f.with_columns(pl.lit(0, pl.Int64).alias("huishoudens")),
        lambda f: f.with_columns(pl.lit(12, pl.Int64).alias("huishoudens")),
        lambda f: f.with_columns(pl.lit(15, pl.Int32).alias("huishoudens")),
        lambda f: f.with_columns(pl.lit("9f86d081884c7d659a2feaa0c55ad015").alias("domein")),
        lambda f: f.with_columns(pl.lit("211679694011542914395406447329411174389").alias("domein")),
        lambda f: f.with_columns(pl.lit("Amsterdam").alias("gebied_code")),
        lambda f: f.with_columns(pl.lit("WK0363A").alias("gebied_code")),
        lambda f: f.select("gebied_naam", "gebied_code", "domein", "huishoudens"),
    ],
    ids=[
        "extra-column",
        "pseudonym-column",
        "count-5",
        "count-0",
        "unrounded",
        "wrong-type",
        "token",
        "decimal-pseudonym",
        "bad-gebied",
        "short-wijk",
        "order",
    ],
)
def test_gate_refuses(change):
    with pytest.raises(DisclosureError):
        gate("domeinen", change(_good_table()))


def test_gate_refuses_unknown_table_and_nested_columns():
    with pytest.raises(DisclosureError):
        gate("huishoudens", _good_table())
    nested = _good_table().with_columns(pl.Series("domein", [["jeugd"]]))
    with pytest.raises(DisclosureError):
        gate("domeinen", nested)


def test_relation_that_does_not_add_up_is_refused():
    with pytest.raises(DisclosureError):
        suppress({("t",): 10, ("a",): 3}, {("t",), ("a",)}, [Relation(("t",), (("a",),))], RULES)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), min_size=1, max_size=5), min_size=1, max_size=5))
def test_suppress_protects_any_two_way_table(grid):
    """Random rows x columns tables with row, column and grand totals: the rule always holds."""
    width = max(len(r) for r in grid)
    grid = [r + [0] * (width - len(r)) for r in grid]
    values = {("c", str(i), str(j)): v for i, r in enumerate(grid) for j, v in enumerate(r)}
    values |= {("r", str(i)): sum(r) for i, r in enumerate(grid)}
    values |= {("k", str(j)): sum(r[j] for r in grid) for j in range(width)}
    values[("t",)] = sum(map(sum, grid))
    rels = [
        Relation(("r", str(i)), tuple(("c", str(i), str(j)) for j in range(width)))
        for i in range(len(grid))
    ]
    rels += [
        Relation(("k", str(j)), tuple(("c", str(i), str(j)) for i in range(len(grid))))
        for j in range(width)
    ]
    rels += [
        Relation(("t",), tuple(("r", str(i)) for i in range(len(grid)))),
        Relation(("t",), tuple(("k", str(j)) for j in range(width))),
    ]
    hidden = suppress(values, set(values), rels, RULES)
    assert {k for k, v in values.items() if v <= 7} <= hidden
    for rel in rels:
        parts = [p for p in rel.parts if p in hidden]
        if rel.total not in hidden and parts:
            assert sum(values[p] for p in parts) > 7 and len(parts) >= 2
        if rel.total in hidden:
            assert parts
