"""End to end on synthetic data with ground truth: linkage, receipts, consumption, privacy."""

from __future__ import annotations

import base64
import html
import json
import shutil
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from factlab.arrival import RECEIPT_SUFFIX
from factlab.config import load_config
from factlab.edition import RunResult, RunSettings, review_edition, run_edition
from factlab.errors import FactlabError
from factlab.intake import FEEDBACK_FOLDER
from factlab.keys import PseudonymKey, derive_edition_key, ephemeral_key
from factlab.schemas.audit import AuditRecord, KeyRecord, Totals
from factlab.schemas.outputs import AUDIT_FILE, HOUSEHOLDS_FILE
from factlab.schemas.records import Receipt
from factlab.staging import STAGING_FOLDER
from factlab.workspace import REJECTIONS_FOLDER, WORKSPACE_FOLDER
from tests.leakscan import scan_for_leaks

MASTER = b"factlab-test-master-key-32-bytes!"


def _settings(gemeente: Path, out: Path, edition: str = "2026", **extra) -> RunSettings:
    config = load_config(gemeente / "factlab.toml")
    return RunSettings(
        uploads=gemeente / "uploads",
        out=out,
        edition=edition,
        config=config,
        period=config.period,
        **extra,
    )


def _households(frame: pl.DataFrame) -> Counter:
    return Counter(
        (
            r["wijk_code"],
            r["buurt_code"],
            tuple(r["voorzieningen"]),
            tuple(r["domeinen"]),
            tuple(r["organisaties"]),
        )
        for r in frame.iter_rows(named=True)
    )


def _run_and_release(settings: RunSettings, key: PseudonymKey) -> RunResult:
    """``factlab run``, then a reviewer's ``factlab vrijgeven``: the published edition."""
    result = run_edition(settings, key, closed_by="Ann Analist")
    assert result.state == "ter_controle" and not (settings.out / settings.edition).exists()
    released = review_edition(settings.out, settings.edition, "Bea Beoordelaar")
    assert released.published and released.edition_dir == settings.out / settings.edition
    released.outcomes, released.skipped = result.outcomes, result.skipped
    return released


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def gemeente(synth_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy for the module: ``run`` consumes its uploads once, the tests only read."""
    target = tmp_path_factory.mktemp("editie") / "gemeente"
    shutil.copytree(synth_source, target)
    return target


@pytest.fixture(scope="module")
def run(gemeente: Path, tmp_path_factory: pytest.TempPathFactory):
    """Run the edition once with a known managed key; return (result, key, out)."""
    key = derive_edition_key(MASTER, "2026")
    out = tmp_path_factory.mktemp("editie-uit") / "uitvoer"
    truth = pl.read_parquet(gemeente / "waarheid" / "huishoudens.parquet")
    result = _run_and_release(_settings(gemeente, out), key)
    return result, key, out, truth


def test_every_household_found_with_exactly_its_provisions(run) -> None:
    result, _, _, truth = run
    expected = _households(truth.filter(pl.col("status") != "buiten_gemeente"))
    found = _households(pl.read_parquet(result.households_file))
    # Multiset equality of complete household rows = linkage recall and precision of 1.0.
    assert found == expected
    assert result.households == sum(expected.values())


def test_receipts_match_the_truth_per_file(run, gemeente: Path) -> None:
    result, _, _, _ = run
    expected = json.loads((gemeente / "waarheid" / "bestanden.json").read_text())
    assert len(expected) >= 8
    for name, counts in expected.items():
        organisation, file_name = name.split("/")
        receipt = json.loads(
            (result.edition_dir / "ontvangst" / organisation / f"{file_name}.json").read_text()
        )
        assert receipt["status"] == "verwerkt"
        for key, value in counts.items():
            if key == "afgewezen_rijen":
                assert sorted({r["rij"] for r in receipt["afwijzingen"]}) == sorted(value), name
            else:
                assert receipt[key] == value, (name, key)


def test_audit_json_loads_into_the_record_and_its_counts_add_up(run, gemeente: Path) -> None:
    result, key, _, truth = run
    audit = AuditRecord.read(result.edition_dir / AUDIT_FILE)
    totals = audit.totals.counts
    assert (
        totals["geaccepteerd"]
        == totals["geplaatst"] + totals["niet_geplaatst"] + totals["buiten_gemeente"]
    )
    assert (
        totals["rijen_gelezen"]
        == totals["geaccepteerd"]
        + totals["afgewezen"]
        + totals["dubbel"]
        + totals["buiten_periode"]
    )
    assert audit.key == KeyRecord("managed", key.fingerprint)
    assert audit.totals.households == result.households
    households = pl.read_parquet(result.households_file)
    unknown = truth.filter(pl.col("status") == "onbekend").height
    assert households.filter(pl.col("wijk_code") == "onbekend").height == unknown > 0

    # audit.json of the run is the whole record: nothing is lost or reordered by reading it.
    written = (result.edition_dir / AUDIT_FILE).read_text(encoding="utf-8")
    assert audit.to_text() == written
    assert audit.edition == "2026" and audit.finished is not None
    assert audit.started <= audit.finished
    assert audit.period is not None and audit.period.start <= audit.period.end
    assert audit.completeness.complete and audit.software["factlab"]
    # Every receipt in the record is the published receipt in ontvangst/, without rejections.
    published = [
        Receipt.from_json(json.loads(p.read_text(encoding="utf-8")))
        for p in sorted((result.edition_dir / "ontvangst").glob("*/*.json"))
    ]
    assert sorted(audit.files, key=lambda r: r.delivery) == sorted(
        (r.as_published() for r in published), key=lambda r: r.delivery
    )
    assert audit.totals == Totals.of(list(audit.files), result.households)


def test_uploads_consumed_with_feedback_in_each_partner_folder(run, gemeente: Path) -> None:
    result, _, out, _ = run
    left = _files(gemeente / "uploads")
    assert left and all(p.parent.name == FEEDBACK_FOLDER for p in left)
    for outcome in result.outcomes:
        folder = gemeente / "uploads" / outcome.upload.organisation / FEEDBACK_FOLDER
        receipt = json.loads((folder / f"{outcome.upload.name}{RECEIPT_SUFFIX}").read_text())
        assert receipt == outcome.receipt.as_json()
    assert not (out / STAGING_FOLDER).exists()
    assert len(result.outcomes) == len(list((result.edition_dir / "ontvangst").rglob("*.json")))
    # The workspace keeps the record (the state, the receipts' rejected rows), but no raw file,
    # row or partner-chosen name.
    workspace = out / WORKSPACE_FOLDER / "2026"
    assert sorted(p.name for p in workspace.iterdir()) == [REJECTIONS_FOLDER, "editie.json"]
    assert {p.name for p in (workspace / REJECTIONS_FOLDER).iterdir()} <= {
        f"{d.delivery}.json" for d in (o.receipt for o in result.outcomes)
    }
    state = json.loads((workspace / "editie.json").read_text())
    assert state["status"] == "gepubliceerd"
    assert {d["naam"] for d in state["leveringen"]} == {""}


def test_household_table_holds_no_identity(run) -> None:
    result, _, _, _ = run
    households = pl.read_parquet(result.households_file)
    assert households.columns == [
        "wijk_code", "buurt_code", "voorzieningen", "domeinen", "organisaties",
        "aantal_voorzieningen", "aantal_domeinen", "aantal_organisaties",
    ]  # fmt: skip


def test_no_address_pseudonym_or_key_in_any_output(run, gemeente: Path) -> None:
    _, key, out, truth = run
    leaks = scan_for_leaks([out], truth=truth, key=key)
    assert leaks == []


def test_rerun_gives_identical_outputs_with_managed_and_with_fresh_keys(
    synth_source: Path, tmp_path: Path
) -> None:
    keys: list[PseudonymKey] = [
        derive_edition_key(MASTER, "2026"),
        derive_edition_key(MASTER, "2026"),
        ephemeral_key(),
        ephemeral_key(),
    ]
    outputs = []
    for attempt, key in enumerate(keys):
        copy = tmp_path / f"g{attempt}"
        shutil.copytree(synth_source, copy)
        result = run_edition(_settings(copy, tmp_path / f"out{attempt}"), key)
        # Left out: audit.json (timestamps, key fingerprint) and the Great Expectations Data Docs
        # under kwaliteit/ (GE stamps run times and random ids into them).
        files = [
            p
            for p in _files(result.edition_dir)
            if p.name != AUDIT_FILE and "kwaliteit" not in p.relative_to(result.edition_dir).parts
        ]
        outputs.append({p.relative_to(result.edition_dir): p.read_bytes() for p in files})
    assert outputs[0] == outputs[1]
    assert outputs[2] == outputs[3]  # two different random keys, same files
    # Across key modes only the report's sentence on the key mode differs.
    assert {p: b for p, b in outputs[0].items() if p.name != "rapport.html"} == {
        p: b for p, b in outputs[2].items() if p.name != "rapport.html"
    }
    assert {HOUSEHOLDS_FILE, "rapport.html", "tabellen.xlsx"} <= {p.name for p in outputs[0]}


def test_key_never_touches_disk(synth_source: Path, tmp_path: Path) -> None:
    copy = tmp_path / "g"
    shutil.copytree(synth_source, copy)
    key = ephemeral_key()
    run_edition(_settings(copy, tmp_path / "out"), key)
    needles = [key.secret, key.secret.hex().encode(), base64.b64encode(key.secret)]
    for path in _files(tmp_path):
        data = path.read_bytes()
        assert not any(needle in data for needle in needles), path


def test_published_edition_is_never_changed(synth_source: Path, tmp_path: Path) -> None:
    copy = tmp_path / "g"
    shutil.copytree(synth_source, copy)
    settings = _settings(copy, tmp_path / "out")
    first = _run_and_release(settings, ephemeral_key())
    published = {p: p.read_bytes() for p in _files(first.edition_dir)}
    again = run_edition(settings, ephemeral_key())  # nothing new: reports the published edition
    assert again.already_published and again.households == first.households
    # New files (even the same ones again) belong in a new edition: refused, left in place.
    shutil.copytree(synth_source / "uploads", copy / "uploads", dirs_exist_ok=True)
    with pytest.raises(FactlabError, match="nieuwe editie"):
        run_edition(settings, ephemeral_key())
    assert {p: p.read_bytes() for p in _files(first.edition_dir)} == published
    assert len([p for p in _files(copy / "uploads") if p.parent.name != FEEDBACK_FOLDER]) == len(
        [p for p in _files(synth_source / "uploads")]
    )


def test_bad_edition_name_and_missing_uploads_are_clear_errors(
    gemeente: Path, tmp_path: Path
) -> None:
    with pytest.raises(FactlabError, match="editienaam"):
        _settings(gemeente, tmp_path / "o", edition="../x")
    settings = _settings(gemeente, tmp_path / "o")
    missing = RunSettings(tmp_path / "nope", settings.out, "2026", settings.config)
    with pytest.raises(FactlabError, match="uploadmap"):
        run_edition(missing, ephemeral_key())


def test_report_summarises_every_quality_check_of_the_run(run) -> None:
    result, _, _, _ = run
    quality = AuditRecord.read(result.edition_dir / AUDIT_FILE).quality
    assert quality is not None and quality.passed
    assert any(c.name.startswith("tabelcellen") for c in quality.checks)
    report = html.unescape((result.edition_dir / "rapport.html").read_text(encoding="utf-8"))
    assert all(c.name in report for c in quality.checks)
