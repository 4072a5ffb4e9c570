"""Published numbers against the synthetic ground truth: each cell is the true count rounded to 5,
or suppressed; never a small count, never a share computed from an unrounded count."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from attacker import weak_cells
from editions import Published, publish_edition

from factlab.attack import read_published
from factlab.config import load_config
from factlab.connectors.cbs import read_wijken
from factlab.disclose import DEFAULT_RULES, round_count
from factlab.edition import RunSettings, run_edition
from factlab.keys import ephemeral_key
from factlab.publish import protected_tables
from factlab.schemas.audit import AuditRecord
from factlab.synth import synthesise

GEMEENTE = "GM0479"
CBS_COMBINATIONS = {
    frozenset({"jeugd"}): "Alleen Jeugd",
    frozenset({"wmo"}): "Alleen Wmo",
    frozenset({"participatie"}): "Alleen Participatie",
    frozenset({"jeugd", "participatie"}): "Jeugd en Participatie",
    frozenset({"jeugd", "wmo"}): "Jeugd en Wmo",
    frozenset({"participatie", "wmo"}): "Participatie en Wmo",
    frozenset({"jeugd", "participatie", "wmo"}): "Jeugd, Participatie en Wmo",
}


def _bucket(n: int, top: int) -> str:
    return f"{top}+" if n >= top else str(n)


def _true_counts(truth: pl.DataFrame) -> dict[tuple[str, str, str], int]:
    """(table, gebied_code, category) -> true household count, computed in plain Python."""
    counts: Counter = Counter()
    for row in truth.filter(pl.col("status") != "buiten_gemeente").iter_rows(named=True):
        for area in (GEMEENTE, row["wijk_code"]):
            counts["kerncijfers", area, "huishoudens_met_voorziening"] += 1
            counts["kerncijfers", area, "huishoudens_meerdere_voorzieningen"] += (
                len(row["voorzieningen"]) >= 2
            )
            counts["kerncijfers", area, "huishoudens_meerdere_domeinen"] += (
                len(row["domeinen"]) >= 2
            )
            counts["aantal_voorzieningen", area, _bucket(len(row["voorzieningen"]), 5)] += 1
            counts["aantal_organisaties", area, _bucket(len(row["organisaties"]), 4)] += 1
            cbs = frozenset(row["domeinen"]) & {"jeugd", "wmo", "participatie"}
            if cbs:
                counts["domeincombinaties", area, CBS_COMBINATIONS[cbs]] += 1
    return counts


def _published(tables: Path) -> dict[tuple[str, str, str], int | None]:
    cells: dict[tuple[str, str, str], int | None] = {}
    kern = pl.read_csv(tables / "kerncijfers.csv", infer_schema_length=0)
    for row in kern.iter_rows(named=True):
        for column in (
            "huishoudens_met_voorziening",
            "huishoudens_meerdere_voorzieningen",
            "huishoudens_meerdere_domeinen",
        ):
            cells["kerncijfers", row["gebied_code"], column] = (
                int(row[column]) if row[column] else None
            )
    for table, category in (
        ("aantal_voorzieningen", "aantal_voorzieningen"),
        ("aantal_organisaties", "aantal_organisaties"),
        ("domeincombinaties", "combinatie"),
    ):
        frame = pl.read_csv(tables / f"{table}.csv", infer_schema_length=0)
        for row in frame.iter_rows(named=True):
            value = row["huishoudens"]
            cells[table, row["gebied_code"], row[category]] = int(value) if value else None
    return cells


@pytest.fixture(scope="module", params=["scale0.1", "small-gemeente"])
def edition(
    request, published_edition: Published, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, pl.DataFrame]:
    """The published tables and the ground truth: the session's synthetic Zaanstad (seed 7,
    scale 0.1), and a small gemeente (seed 11, scale 0.03) where suppression bites harder."""
    if request.param == "scale0.1":
        folder, tables = published_edition.gemeente, published_edition.tables
    else:
        folder = tmp_path_factory.mktemp("pub11") / "gemeente"
        synthesise(folder, seed=11, scale=0.03)
        tables = publish_edition(folder, folder.parent / "out").edition_dir / "tabellen"
    return tables, pl.read_parquet(folder / "waarheid" / "huishoudens.parquet")


def test_every_published_cell_is_the_rounded_truth_or_suppressed(edition) -> None:
    tables, truth = edition
    true = _true_counts(truth)
    published = _published(tables)
    assert published, "no cells published"
    suppressed = 0
    for key, value in published.items():
        if value is None:
            suppressed += 1
            continue
        assert value == round_count(true.get(key, 0), DEFAULT_RULES), key
        assert value > DEFAULT_RULES.threshold and value % DEFAULT_RULES.rounding == 0, key
    # Every true cell with households is published or suppressed; none silently missing.
    assert {k for k, v in true.items() if v} <= set(published)
    assert suppressed > 0  # the small wijken of this synthetic gemeente do trigger suppression


def test_the_attacker_narrows_no_suppressed_cell_of_the_released_files(edition) -> None:
    """The LP attack on the CSV files as released, with the method's identities as knowledge."""
    tables_dir, _ = edition
    edition_dir = tables_dir.parent
    config = load_config(edition_dir.parent.parent / "gemeente" / "factlab.toml")
    provenance = AuditRecord.read(edition_dir / "audit.json")
    structure = protected_tables(
        pl.read_parquet(edition_dir / "huishoudens.parquet"),
        gemeente_code=config.gemeente_code,
        gemeente_naam=config.gemeente_naam,
        wijken=read_wijken(config.wijken),
        provenance=provenance,
    )
    released = read_published(tables_dir)
    assert set(released) == set(structure.tables)
    assert weak_cells(released, structure.relations, DEFAULT_RULES) == {}
    certificate = json.loads((edition_dir / "openbaarmaking.json").read_text(encoding="utf-8"))
    assert certificate["beschermd"] is True
    secret = sum(frame.null_count().sum_horizontal().item() for frame in released.values())
    assert len(certificate["onderdrukte_cellen"]) <= secret  # derived columns are null too


def test_shares_are_computed_from_published_counts(edition) -> None:
    tables, _ = edition
    kern = pl.read_csv(tables / "kerncijfers.csv")
    for row in kern.iter_rows(named=True):
        share = row["aandeel_met_voorziening_pct"]
        if row["huishoudens_met_voorziening"] is None or not row["woningen"]:
            assert share is None
        else:
            assert share == pytest.approx(
                round(100 * row["huishoudens_met_voorziening"] / row["woningen"], 1)
            )


@pytest.mark.parametrize(("drempel", "afronding"), [(10, 10), (6, 4)])
def test_disclosure_settings_come_from_the_edition_config(
    synth_source: Path, tmp_path: Path, drempel: int, afronding: int
) -> None:
    """Any allowed setting passes every check of the run (gate, quality suites, report)."""
    folder = tmp_path / "gemeente"
    shutil.copytree(synth_source, folder)
    with (folder / "factlab.toml").open("a", encoding="utf-8") as config_file:
        config_file.write(f"\n[openbaarmaking]\ndrempel = {drempel}\nafronding = {afronding}\n")
    config = load_config(folder / "factlab.toml")
    result = run_edition(
        RunSettings(folder / "uploads", tmp_path / "out", "2026", config, config.period),
        ephemeral_key(),
    )
    counts = [v for v in _published(result.edition_dir / "tabellen").values() if v is not None]
    assert counts and all(v % afronding == 0 and v > drempel for v in counts)
