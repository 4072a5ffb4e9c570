"""``synth --gemeente`` for gemeenten of very different size, run through the whole pipeline.

Every published cell must equal the synthetic ground truth rounded, or be suppressed; the same
check as test_published_numbers, on other geographies: one wijk (Schiermonnikoog), a wijk of
28 dwellings (Zoeterwoude) and Amsterdam's alphanumeric codes (WK0363AF, BU0363AF01).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import test_published_numbers as published_numbers
from typer.testing import CliRunner

from factlab.cli import app
from factlab.config import load_config
from factlab.disclose import round_count
from factlab.edition import RunSettings, run_edition
from factlab.keys import ephemeral_key
from factlab.synth import load_wijken

GEMEENTEN = [
    pytest.param("GM0088", 1.0, id="schiermonnikoog-one-wijk"),
    pytest.param("GM0638", 1.0, id="zoeterwoude-wijk-of-28"),
    pytest.param("GM0363", 0.01, id="amsterdam-alphanumeric"),
]


def _synth(folder: Path, gemeente: str, scale: float) -> None:
    args = ["--out", str(folder), "--seed", "5", "--scale", str(scale), "--gemeente", gemeente]
    result = CliRunner().invoke(app, ["synth", *args])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("gemeente", "scale"), GEMEENTEN)
def test_published_cells_are_the_rounded_truth(
    gemeente: str, scale: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "gemeente"
    _synth(folder, gemeente, scale)
    reference = pl.read_csv(folder / "referentie" / "pc6hnr.csv", separator=";", infer_schema=False)
    own = reference.filter(pl.col("Gemeente2025") == gemeente[2:])
    real = {w.code: round(w.woningen * scale) for w in load_wijken(gemeente)}
    assert set("WK" + own["Wijk2025"].unique()) == {code for code, n in real.items() if n}
    wijken = pl.read_csv(folder / "referentie" / "wijken.csv", separator=";")
    assert dict(zip(wijken["statcode"], wijken["woningvoorraad_2024"], strict=True)) == real
    assert own["Buurt2025"].str.slice(0, 6).eq(own["Wijk2025"]).all()

    config = load_config(folder / "factlab.toml")
    assert config.gemeente_code == gemeente
    settings = RunSettings(folder / "uploads", tmp_path / "out", "2026", config, config.period)
    result = run_edition(settings, ephemeral_key())
    monkeypatch.setattr(published_numbers, "GEMEENTE", gemeente)
    truth = pl.read_parquet(folder / "waarheid" / "huishoudens.parquet")
    true = published_numbers._true_counts(truth)
    cells = published_numbers._published(result.edition_dir / "tabellen")
    rules = config.disclosure_rules
    for key, value in cells.items():
        if value is not None:
            assert value == round_count(true.get(key, 0), rules), key
    assert {k for k, v in true.items() if v} <= set(cells)
    # Every wijk is published (a wijk without users too), so a reader sees the whole gemeente.
    published_areas = {k[1] for k in cells if k[0] == "kerncijfers"}
    assert {code for code, n in real.items() if n} <= published_areas
