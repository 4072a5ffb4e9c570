"""Analysis numbers against a plain-Python recount of the same factory households."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import polars as pl
import pytest
from households_factory import analyse_area, gemeente, households

from factlab.analyse import CBS_COMBINATIONS, cbs_combination
from factlab.catalogue import load_catalogue


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
