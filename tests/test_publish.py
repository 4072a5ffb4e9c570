"""publish(): files written, CSV/Excel content safe, and nothing written when the gate refuses."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import openpyxl
import plotly.offline
import polars as pl
import pytest
from audit_factory import audit_record, receipt
from households_factory import Gemeente, households

from factlab import publish as publish_module
from factlab.catalogue import load_catalogue
from factlab.connectors.cbs import read_wijken, read_wijkkaart
from factlab.disclose import CONTRACTS, DisclosureError, Protected
from factlab.publish import publish
from factlab.schemas.audit import Area, CheckOutcome, KeyRecord, ReportingPeriod

DATA = Path(__file__).resolve().parents[1] / "factlab" / "data" / "cbs"
PROVENANCE = audit_record(
    "2024-test",
    [
        receipt(
            "wijkteam",
            "Wijkteam Zaanstad",
            {"rijen_gelezen": 1210, "geaccepteerd": 1150, "afgewezen": 50, "dubbel": 6,
             "buiten_periode": 4, "geplaatst": 1100, "niet_geplaatst": 43, "buiten_gemeente": 7},
            {"WMO-HH": 700, "WMO-BEG": 446, "WMO-DAG": 4},
            file="wt.csv",
        ),
    ],
    gemeente=Area("GM0479", "Zaanstad"),
    period=ReportingPeriod("2024-01-01", "2024-12-31"),
    key=KeyRecord("ephemeral", "3f9a1c2b7d4e5f60a1b2c3d4e5f60718"),
    households=3000,
    checks=[
        CheckOutcome("Schema", True, "Alle kolommen aanwezig"),
        CheckOutcome("Plaatsing", False, "Plaatsingsgraad onder 95%"),
    ],
)  # fmt: skip


def zaanstad() -> tuple[Gemeente, dict]:
    wijken = read_wijken(DATA / "zaanstad_wijken_2024_kwb.csv")
    return Gemeente("GM0479", "Zaanstad", wijken), read_wijkkaart(
        DATA / "zaanstad_wijken_2024.geojson"
    )


def factory_buurten(area: Gemeente) -> pl.DataFrame:
    """The buurten the households factory places households in (BU + wijk digits + 00..03)."""
    rows = [(w, f"BU{w[2:]}{i:02d}") for w in area.wijken.get_column("wijk_code") for i in range(4)]
    return pl.DataFrame(rows, schema=["wijk_code", "buurt_code"], orient="row")


def run(out: Path, seed: int = 3, n: int = 3000) -> list[Path]:
    area, kaart = zaanstad()
    return publish(
        households(seed, n, area),
        gemeente_code=area.code,
        gemeente_naam=area.naam,
        wijken=area.wijken,
        kaart=kaart,
        provenance=PROVENANCE,
        out_dir=out,
        buurten=factory_buurten(area),
    )


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("uit") / "2024-test"
    return out, run(out)


def test_writes_every_table_workbook_and_report(edition):
    out, written = edition
    names = {p.relative_to(out).as_posix() for p in written}
    assert names == (
        {f"tabellen/{n}.csv" for n in CONTRACTS}
        | {f"tabellen/excel/{n}.csv" for n in CONTRACTS}
        | {"tabellen.xlsx", "openbaarmaking.json", "rapport.html"}
    )
    assert all(p.exists() and p.stat().st_size > 0 for p in written)


def test_csv_columns_and_counts_follow_the_contract(edition):
    out, _ = edition
    for name, contract in CONTRACTS.items():
        with (out / "tabellen" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert tuple(rows[0]) == contract.names, name
        assert rows[0][:2] == ["gebied_code", "gebied_naam"]
        counts = [contract.names.index(c.name) for c in contract.role("count")]
        for row in rows[1:]:
            for i in counts:
                if row[i] != "":
                    assert int(row[i]) % 5 == 0 and int(row[i]) > 7, (name, row)
    kern = pl.read_csv(out / "tabellen" / "kerncijfers.csv")
    assert kern.get_column("gebied_code").to_list()[0] == "GM0479"
    assert kern.height == 19 + 2 and kern.get_column("gebied_code").to_list()[-1] == "onbekend"


def test_buurt_table_is_published_and_shown(edition):
    out, _ = edition
    buurten = pl.read_csv(out / "tabellen" / "buurten.csv", schema_overrides={"buurt": pl.String})
    assert buurten.height == 19 * 4
    counts = buurten.get_column("huishoudens_met_voorziening")
    assert 0 < counts.null_count() < buurten.height
    html = (out / "rapport.html").read_text(encoding="utf-8")
    shown = buurten.drop_nulls("huishoudens_met_voorziening").get_column("buurt").to_list()
    assert 'id="buurttabel"' in html and all(f">{b}<" in html for b in shown)


def test_small_receipt_counts_are_suppressed(edition):
    out, _ = edition
    levering = pl.read_csv(out / "tabellen" / "aanlevering_voorzieningen.csv")
    assert levering.filter(pl.col("voorziening") == "WMO-DAG").get_column("rijen").item() is None
    aanlevering = pl.read_csv(out / "tabellen" / "aanlevering.csv")
    assert (
        aanlevering.filter(pl.col("organisatie") == "wijkteam").get_column("dubbel").item() is None
    )


def test_workbook_marks_secret_cells(edition):
    out, _ = edition
    book = openpyxl.load_workbook(out / "tabellen.xlsx", read_only=True)
    assert set(CONTRACTS) | {"toelichting"} == set(book.sheetnames)
    values = [
        c for row in book["domeincombinaties"].iter_rows(min_row=2, values_only=True) for c in row
    ]
    assert "geheim" in values
    numbers = [v for v in values if isinstance(v, int)]
    assert numbers and all(v % 5 == 0 and v > 7 for v in numbers)


def test_report_has_no_unprotected_numbers(edition):
    out, _ = edition
    html = (out / "rapport.html").read_text(encoding="utf-8")
    bundle = plotly.offline.get_plotlyjs().replace("</script", "<\\/script")
    assert html.count(bundle) == 1  # plotly.js inlined exactly once
    own = html.replace(bundle, "")
    assert "http://" not in own and "https://" not in own
    assert "Plaatsingsgraad onder 95%" in html  # kwaliteit rendered
    assert 'data-count="' in html


def test_refused_table_writes_nothing(tmp_path, monkeypatch):
    original = publish_module.protected_tables

    def with_extra_column(*args, **kwargs) -> Protected:
        result = original(*args, **kwargs)
        tables = dict(result.tables)
        tables["domeinen"] = tables["domeinen"].with_columns(pl.lit("x").alias("adres_hash"))
        return Protected(tables, result.cells, result.suppressed, result.relations)

    monkeypatch.setattr(publish_module, "protected_tables", with_extra_column)
    out = tmp_path / "editie"
    with pytest.raises(DisclosureError):
        run(out, n=200)
    assert not out.exists() or not any(out.rglob("*"))


def test_refused_small_count_writes_nothing(tmp_path, monkeypatch):
    original = publish_module.protected_tables

    def with_small_count(*args, **kwargs) -> Protected:
        result = original(*args, **kwargs)
        tables = dict(result.tables)
        tables["kerncijfers"] = tables["kerncijfers"].with_columns(
            pl.lit(3).alias("huishoudens_meerdere_domeinen")
        )
        return Protected(tables, result.cells, result.suppressed, result.relations)

    monkeypatch.setattr(publish_module, "protected_tables", with_small_count)
    out = tmp_path / "editie"
    with pytest.raises(DisclosureError):
        run(out, n=200)
    assert not out.exists() or not any(out.rglob("*"))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _published_cells(out: Path) -> list[tuple[str, str]]:
    """Every text cell of every published CSV (both kinds) and workbook sheet, with its file."""
    cells = []
    for path in sorted((out / "tabellen").rglob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            delimiter = ";" if "excel" in path.parts else ","
            name = path.relative_to(out).as_posix()
            cells += [(name, c) for row in csv.reader(handle, delimiter=delimiter) for c in row]
    book = openpyxl.load_workbook(out / "tabellen.xlsx", read_only=True)
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            cells += [(sheet.title, c) for c in row if isinstance(c, str)]
    return cells


def test_every_published_text_cell_is_safe_to_open(tmp_path):
    """Catalogue, partner and gemeente names that look like formulas reach every table inert."""
    area, kaart = zaanstad()
    catalogue = load_catalogue().with_columns(
        pl.when(pl.col("code") == "JGD-AMB")
        .then(pl.lit("-Ambulante jeugdhulp"))
        .when(pl.col("code") == "WMO-HH")
        .then(pl.lit("=HYPERLINK(1)"))
        .otherwise(pl.col("naam"))
        .alias("naam")
    )
    renamed = replace(PROVENANCE.files[0], organisation_name="@Wijkteam")
    out = tmp_path / "editie"
    publish(
        households(3, 800, area),
        gemeente_code=area.code,
        gemeente_naam="+Zaanstad",
        wijken=area.wijken,
        kaart=kaart,
        provenance=replace(PROVENANCE, files=(renamed,)),
        out_dir=out,
        catalogue=catalogue,
        contact="-team onderzoek",
    )
    cells = _published_cells(out)
    assert len({name for name, _ in cells}) == 2 * len(CONTRACTS) + len(CONTRACTS) + 1
    unsafe = [(name, c) for name, c in cells if c.startswith(FORMULA_START)]
    assert unsafe == []
    for folder in ("tabellen", "tabellen/excel"):
        assert (f"{folder}/voorzieningen.csv", "'-Ambulante jeugdhulp") in cells
        assert (f"{folder}/kerncijfers.csv", "'+Zaanstad") in cells
    assert ("aanlevering", "'@Wijkteam") in cells


def test_excel_csv_opens_in_dutch_excel(edition):
    out, _ = edition
    raw = (out / "tabellen" / "excel" / "kerncijfers.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0][:3] == ["Gebiedscode", "Gebied", "Woningen (CBS)"]
    pct = rows[0].index("% van woningen")
    assert "," in rows[1][pct] and "." not in rows[1][pct]
    combos = (out / "tabellen" / "excel" / "domeincombinaties.csv").read_text(encoding="utf-8-sig")
    assert ";geheim" in combos
    # The machine-readable twin keeps empty cells and decimal points.
    machine = pl.read_csv(out / "tabellen" / "kerncijfers.csv")
    assert machine.get_column("aandeel_met_voorziening_pct").dtype == pl.Float64


def test_workbook_is_the_beleid_version(edition):
    out, _ = edition
    book = openpyxl.load_workbook(out / "tabellen.xlsx", read_only=True)
    notes = {r[0]: r[1] for r in book["toelichting"].iter_rows(values_only=True) if r[0]}
    assert notes["Editie"] == "2024-test"
    assert notes["Periode"] == "2024-01-01 t/m 2024-12-31"
    assert "Geheimhouding" in notes and "Bronnen" in notes and "Afronding" in notes
    assert notes["Huishoudens met voorziening"].startswith("Huishoudens (adressen)")
    header = next(book["kerncijfers"].iter_rows(max_row=1, values_only=True))
    assert header[:2] == ("Gebiedscode", "Gebied")
