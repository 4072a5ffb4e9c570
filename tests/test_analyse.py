"""Analysis numbers against a plain-Python recount of the same factory households."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import polars as pl
import pytest
from audit_factory import audit_record
from households_factory import Gemeente, analyse_area, gemeente, households
from hypothesis import given, settings
from hypothesis import strategies as st

from factlab.analyse import CBS_COMBINATIONS, cbs_combination, combination_label
from factlab.catalogue import load_catalogue
from factlab.disclose import CONTRACTS, DisclosureRules, round_count, table_cells
from factlab.publish import protected_tables
from factlab.report.compare import difference_interval, differencing_is_safe, true_interval


@pytest.fixture(scope="module")
def case():
    area = gemeente(6)
    hh = households(11, 900, area)
    result = analyse_area(hh, area)
    return area, hh, result


def _value(frame: pl.DataFrame, column: str = "huishoudens", **where: str) -> int:
    for key, value in where.items():
        frame = frame.filter(pl.col(key) == value)
    assert frame.height == 1, where
    return frame.get_column(column).item()


def test_counts_per_gebied_match_plain_python(case):
    area, hh, result = case
    rows = hh.to_dicts()
    for code in [area.code, *area.wijken.get_column("wijk_code"), "onbekend"]:
        mine = [r for r in rows if code == area.code or r["wijk_code"] == code]
        n_prov = Counter(min(len(r["voorzieningen"]), 5) for r in mine)
        n_org = Counter(min(len(r["organisaties"]), 4) for r in mine)
        kern = result.tables["kerncijfers"]
        assert _value(kern, "huishoudens_met_voorziening", gebied_code=code) == len(mine)
        assert _value(kern, "huishoudens_meerdere_domeinen", gebied_code=code) == sum(
            len(r["domeinen"]) > 1 for r in mine
        )
        for k, label in enumerate(["1", "2", "3", "4", "5+"], start=1):
            got = _value(
                result.tables["aantal_voorzieningen"], gebied_code=code, aantal_voorzieningen=label
            )
            assert got == n_prov[k]
        for k, label in enumerate(["1", "2", "3", "4+"], start=1):
            got = _value(
                result.tables["aantal_organisaties"], gebied_code=code, aantal_organisaties=label
            )
            assert got == n_org[k]
        for label, members in CBS_COMBINATIONS.items():
            expected = sum(
                set(r["domeinen"]) & {"jeugd", "wmo", "participatie"} == members for r in mine
            )
            got = _value(result.tables["domeincombinaties"], gebied_code=code, combinatie=label)
            assert got == expected


def test_every_category_has_a_row_even_when_empty(case):
    area, _, result = case
    n_areas = area.wijken.height + 2
    assert result.tables["aantal_voorzieningen"].height == 5 * n_areas
    assert result.tables["aantal_organisaties"].height == 4 * n_areas
    assert result.tables["domeincombinaties"].height == 7 * n_areas
    assert result.tables["voorzieningen"].height == load_catalogue().height


def test_pairwise_samenloop_matches_plain_python(case):
    _, hh, result = case
    pairs = Counter(p for r in hh.to_dicts() for p in combinations(r["voorzieningen"], 2))
    table = result.tables["samenloop_voorzieningen"]
    for row in table.iter_rows(named=True):
        assert row["huishoudens"] == pairs[(row["a"], row["b"])]
    dom_pairs = Counter(p for r in hh.to_dicts() for p in combinations(r["domeinen"], 2))
    for row in result.tables["samenloop_domeinen"].iter_rows(named=True):
        assert row["huishoudens"] == dom_pairs[(row["a"], row["b"])]


def test_vulnerability_view_and_top_combinations(case):
    area, hh, result = case
    rows = hh.to_dicts()
    for label, k in (("2", 2), ("3", 3), ("4", 4)):
        multi = sum(len(r["voorzieningen"]) == k and len(r["domeinen"]) > 1 for r in rows)
        got = _value(
            result.tables["kwetsbaarheid"],
            "huishoudens_meerdere_domeinen",
            gebied_code=area.code,
            aantal_voorzieningen=label,
        )
        assert got == multi
    combos = Counter(tuple(r["domeinen"]) for r in rows)
    top = result.tables["top_combinaties"].get_column("huishoudens").to_list()
    assert top == sorted(top, reverse=True)
    assert top[0] == max(combos.values())


def test_every_relation_holds_on_true_counts(case):
    _, _, result = case
    from factlab.disclose import CONTRACTS, table_cells

    values = dict(result.hidden)
    for name, frame in result.tables.items():
        values |= table_cells(CONTRACTS[name], frame)
    assert len(result.relations) > 100
    for rel in result.relations:
        assert values[rel.total] == sum(values[p] for p in rel.parts), rel


def test_cbs_combination_ignores_other_domains():
    assert cbs_combination(["jeugd", "minima"]) == "Alleen Jeugd"
    assert cbs_combination(["wmo", "participatie", "jeugd"]) == "Jeugd, Participatie en Wmo"
    assert cbs_combination(["minima"]) is None


def test_unknown_wijk_codes_count_as_onbekend():
    area = gemeente(2)
    hh = households(1, 40, area, p_onbekend=0).with_columns(
        pl.when(pl.int_range(pl.len()) < 10)
        .then(pl.lit("WK999999"))
        .otherwise("wijk_code")
        .alias("wijk_code")
    )
    result = analyse_area(hh, area)
    kern = result.tables["kerncijfers"]
    assert _value(kern, "huishoudens_met_voorziening", gebied_code="onbekend") == 10


def test_cbs_households_are_a_second_public_denominator():
    area = gemeente(3)
    wijken = area.wijken.with_columns(huishoudens=pl.Series([700, 650, 600]))
    hh = households(4, 300, area)
    kern = analyse_area(hh, Gemeente(area.code, area.naam, wijken)).tables["kerncijfers"]
    assert kern.get_column("huishoudens_cbs").to_list() == [1950, 700, 650, 600, None]
    # Without the column the denominator is simply absent, never invented.
    kern = analyse_area(hh, area).tables["kerncijfers"]
    assert kern.get_column("huishoudens_cbs").null_count() == kern.height


def _published_values(hh: pl.DataFrame, area: Gemeente, rules: DisclosureRules) -> dict:
    return protected_tables(
        hh,
        gemeente_code=area.code,
        gemeente_naam=area.naam,
        wijken=area.wijken,
        provenance=audit_record(),
        rules=rules,
    ).cells


@pytest.mark.parametrize("k", range(1, 8))
def test_two_overlapping_editions_reveal_no_group_of_one_to_seven(k):
    """Edition B is edition A without k households (a shorter, overlapping period).

    For every cell published in both, the true difference a reader can derive from the two
    published values always allows 0 or more than the threshold: no group of 1..7 shows.
    """
    rules = DisclosureRules()
    area = gemeente(4)
    full = households(20 + k, 600, area)
    a = _published_values(full, area, rules)
    b = _published_values(full.slice(k), area, rules)
    shared = [key for key in a if a[key] is not None and b.get(key) is not None]
    assert len(shared) > 50
    for key in shared:
        low, high = difference_interval(a[key], b[key], rules)
        assert low is not None and high is not None
        assert low <= 0 or high > rules.threshold, (key, a[key], b[key])


def test_differencing_check_catches_unsafe_rounding():
    """Rounding 3 with threshold 7 (allowed by the floors) does reveal small groups when two
    overlapping editions are compared, and the rule says so."""
    rules = DisclosureRules(threshold=7, rounding=3)
    assert not differencing_is_safe(rules) and differencing_is_safe(DisclosureRules())
    low, high = difference_interval(120, 117, rules)
    assert low > 0 and high <= rules.threshold


def test_true_interval_matches_round_count():
    for rules in (DisclosureRules(), DisclosureRules(threshold=10, rounding=4)):
        for published in range(rules.rounding, 200, rules.rounding):
            values = [
                v for v in range(rules.threshold + 1, 260) if round_count(v, rules) == published
            ]
            if values:
                assert true_interval(published, rules) == (min(values), max(values))


def _buurten(area: Gemeente) -> pl.DataFrame:
    """Every buurt the factory can place a household in (BU + wijk digits + 00..03), plus one
    buurt without households, which must still get its row."""
    rows = [(w, f"BU{w[2:]}{i:02d}") for w in area.wijken.get_column("wijk_code") for i in range(5)]
    return pl.DataFrame(rows, schema=["wijk_code", "buurt_code"], orient="row")


def test_buurt_counts_and_their_relations():
    area = gemeente(4)
    hh = households(8, 700, area)
    result = analyse_area(hh, area, buurten=_buurten(area))
    buurten = result.tables["buurten"]
    assert buurten.height == 4 * 5  # every buurt a row, also the empty one
    rows = hh.to_dicts()
    for row in buurten.iter_rows(named=True):
        mine = [
            r
            for r in rows
            if r["wijk_code"] == row["gebied_code"] and r["buurt_code"] == row["buurt"]
        ]
        assert row["huishoudens_met_voorziening"] == len(mine)
        assert row["huishoudens_meerdere_domeinen"] == sum(len(r["domeinen"]) > 1 for r in mine)
    assert (
        buurten.filter(pl.col("buurt").str.ends_with("04"))
        .get_column("huishoudens_met_voorziening")
        .to_list()
        == [0] * 4
    )
    cells = dict(result.hidden)
    for name, frame in result.tables.items():
        cells |= table_cells(CONTRACTS[name], frame)
    wijk_relations = [r for r in result.relations if r.parts[0][0] == "buurt_met_voorziening"]
    assert len(wijk_relations) == 4
    for rel in result.relations:
        assert cells[rel.total] == sum(cells[p] for p in rel.parts), rel.total


def test_buurt_table_is_protected_with_its_wijk():
    """A secret buurt cannot be recovered from its wijk total minus the other buurten."""
    area = gemeente(3)
    hh = households(9, 300, area)
    protected = protected_tables(
        hh, gemeente_code=area.code, gemeente_naam=area.naam, wijken=area.wijken,
        provenance=audit_record(), buurten=_buurten(area),
    )  # fmt: skip
    for rel in protected.relations:
        if not rel.parts or rel.parts[0][0] != "buurt_met_voorziening":
            continue
        if protected.cells.get(rel.total) is None:
            continue
        hidden = [p for p in rel.parts if protected.cells.get(p) is None]
        assert len(hidden) != 1 or hidden[0] not in protected.cells, rel.total
    buurten = protected.tables["buurten"]
    assert buurten.get_column("huishoudens_met_voorziening").null_count() > 0
    shown = buurten.get_column("huishoudens_met_voorziening").drop_nulls().to_list()
    assert shown and all(v % 5 == 0 and v > 7 for v in shown)


def _cells_one_by_one(
    rows: list[tuple], wijken: set[str], buurten: set[tuple[str, str]]
) -> Counter:
    """Every cell counted in plain Python, one household at a time: the reference."""
    g = "GM0999"
    cells: Counter = Counter()
    for wijk, buurt, provisions, domains, organisations in rows:
        gebied = wijk if wijk in wijken else "onbekend"
        provisions, domains = sorted(set(provisions or ())), sorted(set(domains or ()))
        n_prov = "5+" if len(provisions) >= 5 else str(len(provisions))
        n_org = len(set(organisations or ()))
        multi = len(domains) > 1
        cbs = cbs_combination(domains)
        for area in (g, gebied):
            cells["met_voorziening", area] += 1
            cells["aantal_voorzieningen", area, n_prov] += 1
            cells["aantal_organisaties", area, "4+" if n_org >= 4 else str(n_org)] += 1
            if len(provisions) > 1:
                cells["meerdere_voorzieningen", area] += 1
            which = "meerdere_domeinen" if multi else "een_domein"
            cells[which, area] += 1
            cells[f"{which}_naar_aantal", area, n_prov] += 1
            if cbs is None:
                cells["zonder_cbs_domein", area] += 1
            else:
                cells["cbs_totaal", area] += 1
                cells["domeincombinatie", area, cbs] += 1
        if gebied != "onbekend" and (wijk, buurt) not in buurten:
            cells["wijk_zonder_buurt", gebied] += 1
            cells["wijk_zonder_buurt_meerdere_domeinen", gebied] += multi
        elif gebied != "onbekend":
            cells["buurt_met_voorziening", gebied, buurt] += 1
            cells["buurt_meerdere_domeinen" if multi else "buurt_een_domein", gebied, buurt] += 1
        cells["combinatie", g, combination_label(domains)] += 1
        for code in provisions:
            cells["voorziening", g, code] += 1
        for domain in domains:
            cells["domein", g, domain] += 1
        for a, b in combinations(provisions, 2):
            cells["beide_voorzieningen", g, a, b] += 1
        for a, b in combinations(domains, 2):
            cells["beide_domeinen", g, a, b] += 1
    return +cells  # only the cells a household falls in


def _some(*values: str) -> st.SearchStrategy:
    """None, or a list of ``values`` (repeats and any order, as no contract allows)."""
    return st.one_of(st.none(), st.lists(st.sampled_from(values), max_size=7))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["WK1", "WK2", "WK9", None]),
            st.sampled_from(["BU1", "BU2", "BU3", None]),
            _some("P1", "P2", "P3", "P4", "P5", "P6"),
            _some("jeugd", "wmo", "participatie", "minima", "eigen domein"),
            _some("O1", "O2", "O3", "O4", "O5"),
        ),
        max_size=40,
    )
)
def test_cells_are_a_count_per_household(rows: list[tuple]) -> None:
    """The grouped count of distinct households gives exactly the cells of counting each
    household in turn (duplicates, unknown wijken and buurten, nulls, every bin)."""
    from factlab.analyse import _count_cells, _distinct_households

    frame = pl.DataFrame(
        rows,
        schema={
            "wijk_code": pl.String,
            "buurt_code": pl.String,
            "voorzieningen": pl.List(pl.String),
            "domeinen": pl.List(pl.String),
            "organisaties": pl.List(pl.String),
        },
        orient="row",
    )
    wijken = {"WK1", "WK2"}
    buurten = {("WK1", "BU1"), ("WK2", "BU2"), ("WK2", "BU3")}
    counted = _count_cells(_distinct_households(frame, wijken, buurten), "GM0999")
    assert counted == _cells_one_by_one(rows, wijken, buurten)
