"""``factlab init`` on CBS/PDOK files in each published format, then a run on the result.

The files are derived from a synthetic gemeente (``synthesise(gemeente=...)``), written in the
layouts CBS and PDOK publish (tests/cbs_fixtures.py); the uploads of the same synthetic
gemeente are then run with the configuration ``init`` wrote.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import test_published_numbers as published_numbers
from cbs_fixtures import (
    FixtureWijk,
    write_kwb_statline_csv,
    write_kwb_xlsx,
    write_map,
    write_pc6hnr,
)
from typer.testing import CliRunner

from factlab.cli import app
from factlab.config import ReleaseSettings, load_config
from factlab.connectors.cbs import read_pc6hnr, read_wijken, read_wijkkaart
from factlab.disclose import round_count
from factlab.edition import RunSettings, run_edition
from factlab.errors import FactlabError
from factlab.keys import ephemeral_key
from factlab.setup_edition import init_edition
from factlab.synth import synthesise

# init expects the partners its caller named; the synthetic uploads come from other partners.
INCOMPLETE = "de synthetische aanleveringen komen van andere partners dan verwacht"


@dataclass(frozen=True)
class Downloads:
    """A synthetic gemeente and the CBS/PDOK files it would download."""

    synth: Path
    gemeente: str
    table: pl.DataFrame  # PC6, Huisnummer, buurt, wijk, gemeente (text, no prefixes)
    wijken: list[FixtureWijk]


def _downloads(root: Path, gemeente: str, scale: float) -> Downloads:
    synth = root / f"synth-{gemeente}"
    synthesise(synth, seed=3, scale=scale, gemeente=gemeente)
    table = pl.read_csv(
        synth / "referentie" / "pc6hnr.csv", separator=";", infer_schema=False
    ).rename({"Buurt2025": "buurt", "Wijk2025": "wijk", "Gemeente2025": "gemeente"})
    kwb = pl.read_csv(synth / "referentie" / "wijken.csv", separator=";")
    wijken = [
        FixtureWijk(code, f"Wijk {code[-2:]}", n, n - n // 10 if n >= 10 else None)
        for code, n in kwb.select("statcode", "woningvoorraad_2024").rows()
    ]
    return Downloads(synth, gemeente, table, wijken)


@pytest.fixture(scope="module")
def zoeterwoude(tmp_path_factory: pytest.TempPathFactory) -> Downloads:
    """Zoeterwoude (GM0638, a wijk of 28 dwellings), at a third of its size."""
    return _downloads(tmp_path_factory.mktemp("init"), "GM0638", 0.3)


def _with_synth_partners(config: Path, synth: Path) -> None:
    """Fill in the partners' mappings, as the analyst does after ``init``."""
    written = config.read_text(encoding="utf-8")
    ours = synth.joinpath("factlab.toml").read_text(encoding="utf-8")
    head = written[: written.index("\n[partners.")]
    config.write_text(head + "\n" + ours[ours.index("[partners.") :], encoding="utf-8")


def test_init_from_the_2024_zip_kwb_xlsx_and_rd_map_then_run(
    zoeterwoude: Downloads, tmp_path: Path
) -> None:
    d = zoeterwoude
    zip_path = write_pc6hnr(tmp_path / "pc6hnr_2024.zip", d.table, 2024, separator=",", as_zip=True)
    kwb = write_kwb_xlsx(tmp_path / "kwb-2024.xlsx", d.gemeente, "Zoeterwoude", d.wijken)
    kaart = write_map(tmp_path / "wijken.geojson", d.wijken, 2024, crs="rd")
    orgs = sorted(p.name for p in (d.synth / "uploads").iterdir())
    folder = tmp_path / "editie"
    result = init_edition(
        folder, "638", adressen=zip_path, kerncijfers=kwb, kaart=kaart, partners=orgs, jaar=2026
    )
    assert (result.gemeente_code, result.gemeente_naam, result.year) == (
        "GM0638",
        "Zoeterwoude",
        2024,
    )
    config = load_config(result.config)
    assert config.expected_partners == tuple(orgs)
    assert set(config.partners) == set(orgs)
    text = result.config.read_text(encoding="utf-8")
    assert "# kolommen = {" in text and "# codes = {" in text
    # Reference files cut to the gemeente (and its PC4 areas), in formats the readers take.
    own = read_pc6hnr(config.address_table, "GM0638")
    assert own.height == d.table.filter(pl.col("gemeente") == "0638").height
    assert read_pc6hnr(config.address_table).height < d.table.height
    wijken = read_wijken(config.wijken)
    assert wijken.rows() == [(w.code, w.naam, w.woningen, w.huishoudens) for w in d.wijken]
    kaart_out = read_wijkkaart(config.kaart, "GM0638")
    assert len(kaart_out["features"]) == len(d.wijken)
    assert 3 < kaart_out["features"][0]["geometry"]["coordinates"][0][0][0][0] < 8  # WGS84

    _with_synth_partners(result.config, d.synth)
    config = load_config(result.config)
    uploads = tmp_path / "uploads"
    shutil.copytree(d.synth / "uploads", uploads)
    run = run_edition(
        RunSettings(uploads, tmp_path / "out", "2026", config, config.period),
        ephemeral_key(),
        incomplete_reason=INCOMPLETE,
    )
    cells = published_numbers._published(run.edition_dir / "tabellen")
    truth = pl.read_parquet(d.synth / "waarheid" / "huishoudens.parquet")
    true = published_numbers._true_counts(truth)
    # Wijk cells equal the truth; addresses in other gemeenten are not in the cut-down table,
    # so they count as 'onbekend' in the gemeente's total rather than 'buiten gemeente'.
    wijk_cells = {k: v for k, v in cells.items() if k[1].startswith("WK0638")}
    assert wijk_cells
    for key, value in wijk_cells.items():
        if value is not None:
            assert value == round_count(true.get(key, 0), config.disclosure_rules), key


def test_init_from_2023_csv_statline_and_wgs84_map_for_amsterdam(tmp_path: Path) -> None:
    d = _downloads(tmp_path, "GM0363", 0.003)
    csv = write_pc6hnr(tmp_path / "pc6hnr20230801_gwb.csv", d.table, 2023, separator=";")
    kwb = write_kwb_statline_csv(tmp_path / "kwb_2023.csv", d.gemeente, "Amsterdam", d.wijken)
    kaart = write_map(tmp_path / "wijken_2023.geojson", d.wijken, 2023, crs="wgs84")
    result = init_edition(tmp_path / "editie", "GM0363", adressen=csv, kerncijfers=kwb, kaart=kaart)
    inhabited = sum(1 for w in d.wijken if w.woningen)
    assert (result.gemeente_naam, result.year, result.n_wijken) == ("Amsterdam", 2023, inhabited)
    config = load_config(result.config)
    assert config.expected_partners == (
        "gemeente-wmo",
        "gemeente-werk-inkomen",
        "sociaal-wijkteam",
        "schuldhulp",
    )
    assert all((tmp_path / "editie" / "uploads" / org).is_dir() for org in config.expected_partners)
    table = read_pc6hnr(config.address_table, "GM0363")
    assert table["wijk_code"].str.contains(r"^WK0363[A-Z]{2}$").all()
    assert table["buurt_code"].str.contains(r"^BU0363[A-Z]{2}\d{2}$").all()
    assert read_wijken(config.wijken)["huishoudens"].null_count() < len(d.wijken)
    # A full run on Amsterdam's alphanumeric codes, cell by cell against the truth, is in
    # tests/test_synth_gemeenten.py (one such run costs minutes: ~100 wijken for the LP audit).


def test_init_offline_with_only_the_address_table(zoeterwoude: Downloads, tmp_path: Path) -> None:
    csv = write_pc6hnr(tmp_path / "pc6hnr.csv", zoeterwoude.table, 2024, separator=",")
    result = init_edition(tmp_path / "editie", "GM0638", adressen=csv)
    config = load_config(result.config)
    assert config.kaart is None
    assert read_wijken(config.wijken)["woningen"].sum() == 4142  # bundled CBS kerncijfers 2024
    assert any("meegeleverde CBS-kerncijfers 2024" in note for note in result.notes)
    # The release section is there, with the defaults, and its commented example is valid.
    assert config.release == ReleaseSettings()
    text = result.config.read_text(encoding="utf-8")
    result.config.write_text(text.replace("# beoordelaars = ", "beoordelaars = "), "utf-8")
    assert load_config(result.config).release.reviewers == (
        "Voornaam Achternaam",
        "Tweede Beoordelaar",
    )


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("code-not-in-files", "gemeente GM0999 komt niet voor in pc6hnr.csv"),
        ("not-a-code", "--gemeente moet een CBS-gemeentecode zijn"),
        (
            "year-mismatch",
            r"verschillende jaren \(tabel postcode-huisnummer 2024, kerncijfers 2023, kaart 2024\)",
        ),
        (
            "herindeling",
            r"1 wijk\(en\) uit de tabel postcode-huisnummer ontbreken in kwb-2024.xlsx: WK0638\d\d\. ",
        ),
        ("map-of-other-gemeente", "de kaart bevat geen wijken van GM0638"),
        ("map-not-in-gemeente", "liggen meer dan 70 km uit elkaar"),
        ("map-year", r"kaart 2022"),
        ("exists", "factlab.toml bestaat al"),
    ],
)
def test_init_refuses_files_that_do_not_fit(
    zoeterwoude: Downloads, tmp_path: Path, case: str, message: str
) -> None:
    d = zoeterwoude
    csv = write_pc6hnr(tmp_path / "pc6hnr.csv", d.table, 2024, separator=",")
    kwb_year = 2023 if case == "year-mismatch" else 2024
    kwb_wijken = d.wijken[:1] + d.wijken[2:] if case == "herindeling" else d.wijken
    kwb = write_kwb_xlsx(tmp_path / f"kwb-{kwb_year}.xlsx", d.gemeente, "Zoeterwoude", kwb_wijken)
    map_wijken = (
        [FixtureWijk("WK0363" + w.code[6:], w.naam, 1, 1) for w in d.wijken]
        if case == "map-of-other-gemeente"
        else d.wijken
    )
    kaart = write_map(
        tmp_path / f"wijken_{2022 if case == 'map-year' else 2024}.geojson", map_wijken,
        2022 if case == "map-year" else 2024, crs="wgs84",
        cell_m=50_000.0 if case == "map-not-in-gemeente" else 800.0,
    )  # fmt: skip
    folder = tmp_path / "editie"
    if case == "exists":
        folder.mkdir()
        (folder / "factlab.toml").write_text("[editie]\n")
    gemeente = {"code-not-in-files": "GM0999", "not-a-code": "Zoeterwoude"}.get(case, "GM0638")
    with pytest.raises(FactlabError, match=message):
        init_edition(folder, gemeente, adressen=csv, kerncijfers=kwb, kaart=kaart)
    if case != "exists":
        assert not (folder / "factlab.toml").exists()


def test_cli_init_helps_and_reports_errors_in_dutch(zoeterwoude: Downloads, tmp_path: Path) -> None:
    runner = CliRunner()
    help_text = runner.invoke(app, ["init", "--help"]).output
    for word in ("--gemeente", "--adressen", "--kerncijfers", "--kaart", "--partner", "PDOK"):
        assert word in help_text
    csv = write_pc6hnr(tmp_path / "pc6hnr.csv", zoeterwoude.table, 2024, separator=",")
    args = ["init", "--adressen", str(csv), "--out", str(tmp_path / "editie")]
    failed = runner.invoke(app, [*args, "--gemeente", "GM0999"])
    assert failed.exit_code == 2 and "komt niet voor" in failed.output
    assert "Traceback" not in failed.output
    done = runner.invoke(
        app, [*args, "--gemeente", "GM0638", "--partner", "wmo", "--partner", "ggd"]
    )
    assert done.exit_code == 0, done.output
    assert load_config(tmp_path / "editie" / "factlab.toml").expected_partners == ("wmo", "ggd")
