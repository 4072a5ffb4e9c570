"""Row validation: every broken rule reported by row, column and rule; valid rows normalised."""

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factlab.catalogue import load_catalogue
from factlab.config import CANONICAL_COLUMNS, PartnerSettings, Period
from factlab.connectors.partner_files import SOURCE_ROW
from factlab.intake import map_columns
from factlab.validate import validate

CODES = frozenset(load_catalogue().get_column("code"))
PERIOD = Period.parse("2026-01-01:2026-12-31")


def _delivery(*rows: dict[str, str]) -> pl.DataFrame:
    records = [{c: row.get(c, "") for c in CANONICAL_COLUMNS} for row in rows]
    frame = pl.DataFrame(records, schema={c: pl.String for c in CANONICAL_COLUMNS})
    return frame.with_row_index("rij", offset=2).with_columns(pl.col("rij").cast(pl.Int64))


GOOD = {"postcode": "1503 ab", "huisnummer": "12a", "voorziening": "WMO-HH"}


def _rules(checked) -> set[tuple[int, str, str]]:
    return set(checked.rejections.iter_rows())


@pytest.mark.parametrize(
    ("change", "column", "rule"),
    [
        ({"postcode": ""}, "postcode", "postcode_ontbreekt"),
        ({"postcode": "1234 A"}, "postcode", "postcode_ongeldig"),
        ({"postcode": "0123AB"}, "postcode", "postcode_ongeldig"),
        ({"postcode": "1234SA"}, "postcode", "postcode_ongeldig"),
        ({"huisnummer": ""}, "huisnummer", "huisnummer_ontbreekt"),
        ({"huisnummer": "0"}, "huisnummer", "huisnummer_ongeldig"),
        ({"huisnummer": "abc"}, "huisnummer", "huisnummer_ongeldig"),
        ({"huisnummer": "100000"}, "huisnummer", "huisnummer_ongeldig"),
        ({"huisnummer": "Postbus 123"}, "huisnummer", "postbus"),
        ({"voorziening": ""}, "voorziening", "voorziening_ontbreekt"),
        ({"voorziening": "XYZ"}, "voorziening", "voorziening_onbekend"),
        ({"startdatum": "31-02-2026"}, "startdatum", "startdatum_ongeldig"),
        ({"einddatum": "morgen"}, "einddatum", "einddatum_ongeldig"),
        (
            {"startdatum": "2026-05-01", "einddatum": "01-04-2026"},
            "einddatum",
            "einddatum_voor_startdatum",
        ),
    ],
)
def test_each_rule_rejects_with_row_column_and_rule(change, column, rule) -> None:
    checked = validate(_delivery(GOOD, GOOD | change), catalogue_codes=CODES, period=PERIOD)
    assert _rules(checked) == {(3, column, rule)}
    assert checked.rejected_rows == 1
    assert checked.valid.get_column("rij").to_list() == [2]


def test_a_row_breaking_several_rules_reports_each() -> None:
    checked = validate(
        _delivery({"postcode": "0123AB", "huisnummer": "0", "voorziening": "XYZ"}),
        catalogue_codes=CODES,
        period=PERIOD,
    )
    assert {rule for _, _, rule in _rules(checked)} == {
        "postcode_ongeldig",
        "huisnummer_ongeldig",
        "voorziening_onbekend",
    }
    assert checked.rejected_rows == 1


def test_duplicates_and_period_are_counted_not_rejected() -> None:
    checked = validate(
        _delivery(
            GOOD,
            GOOD,
            GOOD | {"einddatum": "2025-12-31"},
            GOOD | {"startdatum": "2027-01-01"},
            GOOD | {"startdatum": "2025-06-01", "einddatum": "2026-01-01"},
        ),
        catalogue_codes=CODES,
        period=PERIOD,
    )
    assert (
        checked.rows_read,
        checked.duplicates,
        checked.rejected_rows,
        checked.out_of_period,
    ) == (5, 1, 0, 2)
    assert checked.valid.get_column("rij").to_list() == [2, 6]


def test_valid_rows_are_normalised() -> None:
    checked = validate(
        _delivery(GOOD | {"startdatum": "01-03-2026", "einddatum": "2026-06-30 00:00:00"}),
        catalogue_codes=CODES,
        period=None,
    )
    row = checked.valid.row(0, named=True)
    assert row["adres_sleutel"] == "1503AB|12|A|"
    assert (row["postcode"], row["huisnummer"], row["voorziening"]) == ("1503AB", 12, "WMO-HH")
    assert (row["startdatum"], row["einddatum"]) == (date(2026, 3, 1), date(2026, 6, 30))


def test_rejections_never_carry_cell_values() -> None:
    checked = validate(
        _delivery(GOOD | {"postcode": "1234 A"}), catalogue_codes=CODES, period=PERIOD
    )
    assert checked.rejections.columns == ["rij", "kolom", "regel"]


def test_two_digit_years_are_this_century_not_year_one() -> None:
    """``24-02-26`` was read as 0024-02-26: valid rows counted as out of period or rejected."""
    checked = validate(
        _delivery(
            GOOD | {"startdatum": "24-02-26", "einddatum": "31-12-26"},
            GOOD | {"huisnummer": "14", "startdatum": "1-3-26", "einddatum": "01.06.26"},
        ),
        catalogue_codes=CODES,
        period=PERIOD,
    )
    assert (checked.rejected_rows, checked.out_of_period) == (0, 0)
    assert checked.valid["startdatum"].to_list() == [date(2026, 2, 24), date(2026, 3, 1)]


# ------------------------------------------------- the fast path equals the contract's own form

_CELLS = {
    "postcode": ["1503 ab", "1503AB", " 1234sa", "0123AB", "1234 A", "", "9999ZZ", "Postbus 12"],
    "huisnummer": ["12", "12a", "12-2", "12 A", "12-1hg", "12 I", "12 bis", "0", "abc", "",
                   "100000", "Postbus 123", " 7 ", "12 iii", "3 1 hoog"],
    "huisletter": ["", "a", "B", " c ", "antwoordnummer"],
    "huisnummertoevoeging": ["", "2", "A", "1 hoog", "bis", "-3", "IV", "P.O. Box 4"],
    "voorziening": ["WMO-HH", " WMO-HH ", "XYZ", "", "JGD-JB"],
    "startdatum": ["2026-03-01", "01-03-2026", "1/3/26", "31-02-2026", "46082", "morgen", "",
                   "2026-3-1 10:00", "01.03.1999"],
    "einddatum": ["2026-12-31", "01-04-2026", "", "2025-01-01", "0001-01-01", "12-31-2026"],
}  # fmt: skip


@st.composite
def _deliveries(draw: st.DrawFn) -> pl.DataFrame:
    """Deliveries whose cells mix the documented forms, mistakes and missing values."""
    n = draw(st.integers(min_value=0, max_value=40))
    cell = {
        c: st.one_of(st.none(), st.sampled_from(values), st.text(max_size=6))
        for c, values in _CELLS.items()
    }
    rows = [{c: draw(s) for c, s in cell.items()} for _ in range(n)]
    frame = pl.DataFrame(rows, schema={c: pl.String for c in CANONICAL_COLUMNS})
    return frame.with_row_index("rij", offset=2).with_columns(pl.col("rij").cast(pl.Int64))


@settings(max_examples=60, deadline=None)
@given(_deliveries())
def test_rules_per_distinct_value_equal_rules_per_row(frame: pl.DataFrame) -> None:
    from factlab.validate import _per_row_working_columns, _working_columns

    fast = _working_columns(frame)
    slow = _per_row_working_columns(frame)
    assert fast.columns == slow.columns
    assert fast.equals(slow)


@settings(max_examples=40, deadline=None)
@given(_deliveries())
def test_polars_rules_equal_the_pandera_contract(frame: pl.DataFrame) -> None:
    from factlab.schemas import contract
    from factlab.validate import _working_columns, broken_rules

    work = _working_columns(frame)
    assert broken_rules(work, CODES).equals(contract.broken_rules(work, CODES))


def test_a_cell_of_only_white_space_is_missing() -> None:
    """As read from a file: mapping strips each cell, so the rules see spaces, a tab, a
    no-break or an em space as nothing written."""
    blank = {"postcode": " \u00a0", "huisnummer": "\t", "voorziening": "\u2003 "}
    raw = pl.DataFrame(
        [{SOURCE_ROW: 2, **GOOD}, {SOURCE_ROW: 3, **blank}],
        schema={SOURCE_ROW: pl.Int64, "postcode": pl.String, "huisnummer": pl.String,
                "voorziening": pl.String},
    )  # fmt: skip
    checked = validate(
        map_columns(raw, PartnerSettings(naam="p")), catalogue_codes=CODES, period=PERIOD
    )
    assert _rules(checked) == {
        (3, "postcode", "postcode_ontbreekt"),
        (3, "huisnummer", "huisnummer_ontbreekt"),
        (3, "voorziening", "voorziening_ontbreekt"),
    }
    assert checked.valid.get_column("rij").to_list() == [2]
