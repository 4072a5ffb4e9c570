"""The quality checkpoint: passes on good tables, names what is wrong otherwise, writes only Data Docs."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from factlab.catalogue import load_catalogue
from factlab.disclose import CONTRACTS
from factlab.quality import Quality, check_households, check_tables
from factlab.schemas.disclosure import DisclosureRules
from tests.households_factory import gemeente, households


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return households(seed=3, n=300, area=gemeente())


def _failed(result: Quality) -> set[str]:
    return {c.naam for c in result.checks if not c.geslaagd}


def test_good_household_table_passes_and_docs_land_in_the_folder(
    table: pl.DataFrame, tmp_path: Path
) -> None:
    result = check_households(table, tmp_path / "kwaliteit")
    assert result.passed, _failed(result)
    assert (tmp_path / "kwaliteit" / "index.html").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["kwaliteit"]
    summary = result.summary()
    assert summary.passed is True
    assert [c.name for c in summary.checks] == [c.naam for c in result.checks]
    assert {"naam", "geslaagd", "toelichting"} == set(summary.as_json()["controles"][0])


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        (pl.lit("1503AB").alias("postcode"), "alleen de kolommen van het contract"),
        (pl.col("aantal_voorzieningen") + 1, "aantal_voorzieningen klopt met de lijst"),
        (pl.lit(["XYZ-99"]).alias("voorzieningen"), "voorzieningen komen uit de catalogus"),
        (pl.lit("WK12").alias("wijk_code"), "wijkcode is een CBS-wijkcode"),
        (pl.lit(["=cmd"]).alias("organisaties"), "organisaties zijn organisatiecodes"),
    ],
)
def test_broken_household_table_fails_with_a_named_check(
    table: pl.DataFrame, tmp_path: Path, change: pl.Expr, failing: str
) -> None:
    result = check_households(table.with_columns(change), tmp_path)
    assert not result.passed
    assert any(failing in name for name in _failed(result)), _failed(result)
    assert "Niet geslaagd" in result.message()


def _tables(tmp_path: Path, *counts: str, code: str = "GM0999") -> Path:
    """An edition folder with one kerncijfers table: one row per count (in every count column)."""
    edition = tmp_path / "2026"
    (edition / "tabellen").mkdir(parents=True)
    contract = CONTRACTS["kerncijfers"]
    rows = [{c.name: (n if c.role == "count" else "x") for c in contract.columns} for n in counts]
    pl.DataFrame(rows).with_columns(gebied_code=pl.lit(code)).write_csv(
        edition / "tabellen" / "kerncijfers.csv"
    )
    return edition


@pytest.mark.parametrize(
    ("threshold", "rounding"), [(7, 5), (10, 3), (5, 4)], ids=["default", "t10-r3", "t5-r4"]
)
def test_published_tables_suite_follows_the_rules(
    tmp_path: Path, threshold: int, rounding: int
) -> None:
    """Any allowed drempel/afronding: the suite refuses exactly the counts the rules refuse."""
    rules = DisclosureRules(threshold=threshold, rounding=rounding)
    good = [n for n in range(40) if rules.is_publishable(n)]
    assert check_tables(_tables(tmp_path / "a", *map(str, good)), tmp_path / "da", rules).passed
    result = check_tables(_tables(tmp_path / "b", *map(str, range(40))), tmp_path / "db", rules)
    small = sum(n <= threshold for n in range(40))
    off = sum(n % rounding != 0 for n in range(40))
    failed = {c.naam: c.toelichting for c in result.checks if not c.geslaagd}
    counts = len(CONTRACTS["kerncijfers"].role("count"))  # every count column holds the row's n
    below = failed[f"tabelcellen: elke telling: nooit 0-{threshold}"]
    off_base = failed[f"tabelcellen: elke telling: veelvoud van {rounding}"]
    assert below == f"{small * counts} waarde(n) buiten de verwachting (tabellen: kerncijfers)"
    assert off_base == f"{off * counts} waarde(n) buiten de verwachting (tabellen: kerncijfers)"
    assert len(failed) == 2  # the two rules, nothing else


def test_a_count_that_is_not_a_number_fails(tmp_path: Path) -> None:
    assert not check_tables(_tables(tmp_path, "1e3"), tmp_path / "docs").passed


@pytest.mark.parametrize(
    ("code", "ok"),
    [("GM0363", True), ("WK0363AF", True), ("onbekend", True), ("WK03", False), ("x", False)],
)
def test_gebied_code_in_the_tables_suite(tmp_path: Path, code: str, ok: bool) -> None:
    assert check_tables(_tables(tmp_path, "20", code=code), tmp_path / "docs").passed is ok


def test_unknown_table_or_extra_column_fails_naming_the_table(tmp_path: Path) -> None:
    edition = _tables(tmp_path, "20")
    pl.DataFrame({"postcode": ["1503AB"]}).write_csv(edition / "tabellen" / "adressen.csv")
    result = check_tables(edition, tmp_path / "d")
    failed = {c.naam: c.toelichting for c in result.checks if not c.geslaagd}
    assert set(failed) == {
        "tabellen: elke tabel heeft een contract",
        "tabellen: alleen de kolommen van het contract, in zijn volgorde",
    }
    assert all(text.endswith("(tabellen: adressen)") for text in failed.values())
    assert "1503AB" not in " ".join(c.toelichting for c in result.checks)


def test_a_column_more_or_out_of_order_fails(tmp_path: Path) -> None:
    edition = _tables(tmp_path, "20")
    path = edition / "tabellen" / "kerncijfers.csv"
    frame = pl.read_csv(path, infer_schema=False)
    frame.with_columns(extra=pl.lit("1")).write_csv(path)
    assert not check_tables(edition, tmp_path / "a").passed
    frame.select(reversed(frame.columns)).write_csv(path)
    assert not check_tables(edition, tmp_path / "b").passed


def test_no_tables_no_checks(tmp_path: Path) -> None:
    assert check_tables(tmp_path, tmp_path / "docs") == Quality()
    assert not (tmp_path / "docs").exists()


@pytest.mark.parametrize(("parts", "ok"), [(("50", "45"), True), (("20", "20"), False)])
def test_totals_within_rounding_of_their_parts(tmp_path: Path, parts, ok: bool) -> None:
    name, contract = next((n, c) for n, c in CONTRACTS.items() if c.per_gebied)
    edition = tmp_path / "2026"
    (edition / "tabellen").mkdir(parents=True)
    rows = []
    for code, count in (("GM0999", "100"), ("WK099901", parts[0]), ("WK099902", parts[1])):
        rows.append({c.name: (count if c.role == "count" else "x") for c in contract.columns})
        rows[-1]["gebied_code"] = code
    pl.DataFrame(rows).write_csv(edition / "tabellen" / f"{name}.csv")
    result = check_tables(edition, tmp_path / "docs")
    totals = [c for c in result.checks if c.naam.startswith("totalen")]
    assert [c.geslaagd for c in totals] == [ok]


def test_one_area_code_definition_drives_every_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changing the area codes in factlab.schemas.areas changes the gate and both suites together."""
    from factlab.disclose import DisclosureError, gate
    from factlab.quality import household_expectations, table_expectations
    from factlab.schemas import areas

    def regexes() -> set[str]:
        found = [e.kwargs.get("regex", "") for e in household_expectations(["X"])]
        found += [e.kwargs.get("regex", "") for e in table_expectations()["tabelcellen"]]
        return {r for r in found if "WK" in r or "BU" in r}

    amsterdam = pl.DataFrame(
        {"gebied_code": ["WK0363AF"], "gebied_naam": ["A"], "domein": ["wmo"], "huishoudens": [15]}
    )
    gate("domeinen", amsterdam)
    before = regexes()
    assert len(before) == 3  # wijk_code and buurt_code of the households, gebied_code of tables
    monkeypatch.setattr(areas, "AREA_CODES", areas.AreaCodes(wijk=r"WK\d{6}", buurt=r"BU\d{8}"))
    after = regexes()
    assert not before & after and all(r"\d{6}" in r or r"\d{8}" in r for r in after)
    with pytest.raises(DisclosureError, match="gebied_code"):
        gate("domeinen", amsterdam)


def test_amsterdam_household_codes_pass(table: pl.DataFrame, tmp_path: Path) -> None:
    alphanumeric = table.with_columns(
        pl.col("wijk_code").str.replace(r"^WK(\d{4})\d\d$", "WK${1}AF"),
        pl.col("buurt_code").str.replace(r"^BU(\d{4})\d\d", "BU${1}AF"),
    )
    assert alphanumeric.get_column("wijk_code").str.contains("AF").any()
    result = check_households(alphanumeric, tmp_path)
    assert result.passed, _failed(result)


@pytest.mark.parametrize(
    "change",
    [
        pl.lit("WK12").alias("wijk_code"),
        pl.lit("buurt 1").alias("buurt_code"),
        pl.lit(None, dtype=pl.String).alias("wijk_code"),
        pl.col("aantal_voorzieningen") + 1,
        pl.col("aantal_domeinen") + 10,
        pl.lit(["XYZ-99"]).alias("voorzieningen"),
        pl.lit(["=cmd"]).alias("organisaties"),
    ],
)
def test_the_reduced_household_frame_fails_exactly_where_the_whole_table_fails(
    table: pl.DataFrame, tmp_path: Path, change: pl.Expr
) -> None:
    """The suite on :func:`distinct_rows` gives every check the outcome it has on all rows,
    also when only a few households are wrong (here every 37th)."""
    from factlab.quality import _household_frame, _run, distinct_rows, household_expectations

    codes = load_catalogue().get_column("code")
    broken = (
        table.with_row_index("_i")
        .with_columns(
            pl.when(pl.col("_i") % 37 == 5)
            .then(change)
            .otherwise(pl.col(change.meta.output_name()))
        )
        .drop("_i")
    )
    expectations = household_expectations(codes)
    whole = _household_frame(broken)
    reduced = distinct_rows(whole, expectations)
    assert reduced.height < whole.height
    outcomes = [
        {c.naam: c.geslaagd for c in _run([("h", frame, expectations)], tmp_path / name).checks}
        for name, frame in (("heel", whole), ("klein", reduced))
    ]
    assert outcomes[0] == outcomes[1]
    assert not all(outcomes[0].values())
