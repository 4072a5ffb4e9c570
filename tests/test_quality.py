"""The quality checkpoint: passes on good tables, names what is wrong otherwise, writes only Data Docs."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from factlab.quality import PUBLISHED_COUNT, Quality, check_households, check_tables
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
    assert summary["geslaagd"] is True
    assert {"naam", "geslaagd", "toelichting"} == set(summary["controles"][0])


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


@pytest.mark.parametrize(
    ("count", "ok"),
    [
        ("10", True),
        ("15", True),
        ("1235", True),
        ("5", False),
        ("7", False),
        ("0", False),
        ("12", False),
    ],
)
def test_published_count_pattern(count: str, ok: bool) -> None:
    assert bool(pl.Series([count]).str.contains(PUBLISHED_COUNT)[0]) is ok


def _tables(tmp_path: Path, count: str) -> Path:
    edition = tmp_path / "2026"
    (edition / "tabellen").mkdir(parents=True)
    from factlab.disclose import CONTRACTS

    name, contract = next(iter(CONTRACTS.items()))
    row = {c.name: (count if c.role == "count" else "x") for c in contract.columns}
    pl.DataFrame([row]).write_csv(edition / "tabellen" / f"{name}.csv")
    return edition


def test_published_tables_suite(tmp_path: Path) -> None:
    assert check_tables(_tables(tmp_path / "a", "20"), tmp_path / "a" / "docs").passed
    failing = check_tables(_tables(tmp_path / "b", "6"), tmp_path / "b" / "docs")
    assert not failing.passed
    assert all("veelvoud van 5" in n for n in _failed(failing))


def test_unknown_table_or_extra_column_fails(tmp_path: Path) -> None:
    edition = _tables(tmp_path, "20")
    pl.DataFrame({"postcode": ["1503AB"]}).write_csv(edition / "tabellen" / "adressen.csv")
    assert "tabel_adressen: tabel heeft een contract" in _failed(
        check_tables(edition, tmp_path / "d")
    )


def test_no_tables_no_checks(tmp_path: Path) -> None:
    assert check_tables(tmp_path, tmp_path / "docs") == Quality()
    assert not (tmp_path / "docs").exists()


@pytest.mark.parametrize(("parts", "ok"), [(("50", "45"), True), (("20", "20"), False)])
def test_totals_within_rounding_of_their_parts(tmp_path: Path, parts, ok: bool) -> None:
    from factlab.disclose import CONTRACTS

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
