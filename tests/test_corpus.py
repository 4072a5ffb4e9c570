"""Every corpus case (tests/corpus/cases.py) gets its stated outcome in one real CLI run.

All cases are partner folders of one upload folder, so this also shows that a bad file of one
partner never stops the files of other partners. The run goes through the CLI: no traceback
may reach the user, and nothing identifying may reach the output or the console.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from factlab.arrival import RECEIPT_SUFFIX, SKIPPED_PAGE
from factlab.cli import app
from factlab.feedback import CSV_SUFFIX, MARKDOWN_SUFFIX
from factlab.intake import FEEDBACK_FOLDER, find_uploads
from tests.corpus.build import write_case, write_reference
from tests.corpus.cases import (
    CASES,
    DUPLICATE,
    POSTCODE,
    PROCESSED,
    QUARANTINED,
    REFUSED,
    WRITING,
    Case,
    Expected,
)
from tests.leakscan import scan_for_leaks

EDITION = "2026"
PAIRS = [(case, name) for case in CASES for name in case.expected]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("corpus")
    config = write_reference(
        root, {c.name: c.partner_name for c in CASES if c.partner_name is not None}
    )
    for case in CASES:
        write_case(root / "uploads", case, root)
    result = CliRunner().invoke(
        app,
        ["run", "--uploads", str(root / "uploads"), "--out", str(root / "uit"),
         "--edition", EDITION, "--config", str(config)],
    )  # fmt: skip
    released = CliRunner().invoke(
        app, ["vrijgeven", "--out", str(root / "uit"), "--editie", EDITION, "--door", "Bea"]
    )
    assert released.exit_code == 0, released.output
    audit = json.loads((root / "uit" / EDITION / "audit.json").read_text())
    return root, result, audit


def test_corpus_is_large_enough() -> None:
    assert len(PAIRS) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


def test_run_succeeds_without_traceback(corpus) -> None:
    _, result, _ = corpus
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


def _feedback(root: Path, case: Case, name: str, suffix: str) -> Path:
    """A file in the partner's own feedback folder."""
    return root / "uploads" / case.name / FEEDBACK_FOLDER / f"{name}{suffix}"


def _receipt(root: Path, case: Case, name: str) -> dict:
    return json.loads(_feedback(root, case, name, RECEIPT_SUFFIX).read_text(encoding="utf-8"))


@pytest.mark.parametrize(("case", "name"), PAIRS, ids=[f"{c.name}/{n}" for c, n in PAIRS])
def test_case_gets_its_outcome(corpus, case: Case, name: str) -> None:
    root, result, _audit = corpus
    expected: Expected = case.expected[name]
    upload = root / "uploads" / case.name / name
    if expected.status in (WRITING, REFUSED):
        # Listed for the analyst, and refusals for the partner too; never consumed.
        assert any(
            f"overgeslagen: {case.name}/{name}: " in line and expected.reason in line
            for line in result.output.splitlines()
        ), name
        if expected.status == REFUSED:
            page = root / "uploads" / case.name / FEEDBACK_FOLDER / SKIPPED_PAGE
            assert expected.reason in page.read_text(encoding="utf-8")
        assert upload.is_symlink() or upload.exists()
        return
    receipt = _receipt(root, case, name)
    assert receipt["status"] == expected.status
    assert expected.reason in receipt.get("reden", "")
    assert not upload.exists()  # taken into the edition, with its receipt
    assert _feedback(root, case, name, MARKDOWN_SUFFIX).exists()
    published = root / "uit" / EDITION / "ontvangst" / case.name / f"{name}.json"
    assert json.loads(published.read_text(encoding="utf-8"))["status"] == expected.status
    if expected.status == QUARANTINED:
        assert _feedback(root, case, name, CSV_SUFFIX).exists()
        return
    if expected.status == DUPLICATE:
        return
    assert expected.status == PROCESSED
    assert receipt["geaccepteerd"] == expected.accepted
    assert receipt["afgewezen"] == expected.rejected
    assert receipt["dubbel"] == expected.duplicates
    found = {(r["rij"], r["regel"]) for r in receipt["afwijzingen"]}
    if expected.rules is not None:
        assert found == expected.rules
    failing = pl.read_csv(_feedback(root, case, name, CSV_SUFFIX), separator=";")
    assert set(failing.select("rij", "regel").iter_rows()) == found


def test_feedback_page_is_plain_dutch_with_rows_and_advice(corpus) -> None:
    root, _, _ = corpus
    case = next(c for c in CASES if c.name == "c16-eind-voor-start")
    page = _feedback(root, case, "a.csv", MARKDOWN_SUFFIX).read_text(encoding="utf-8")
    assert "De einddatum ligt voor de startdatum." in page
    assert "Rijnummers: 42" in page
    assert "Wat u kunt doen: Controleer beide datums." in page


def test_names_that_reach_spreadsheets_are_neutralised(corpus) -> None:
    root, _, audit = corpus
    case = next(c for c in CASES if c.name == "c30-formule-injectie")
    receipt = _receipt(root, case, next(iter(case.files)))
    assert receipt["bestand"].startswith("'=")
    assert receipt["organisatie_naam"] == "'=cmd|' /C calc'!A0"
    for entry in audit["bestanden"]:
        for field in ("bestand", "organisatie_naam"):
            assert not entry[field].startswith(("=", "+", "-", "@"))


def test_no_address_or_cell_value_reaches_output_or_console(corpus) -> None:
    root, result, _ = corpus
    truth = pl.DataFrame({"postcode": POSTCODE, "huisnummer": range(1, 10_000)})
    folders = [root / "uit", *(root / "uploads").glob(f"*/{FEEDBACK_FOLDER}")]
    assert scan_for_leaks(folders, truth=truth, texts={"console": result.output}) == []
    everything = "".join(
        p.read_text(errors="replace") for folder in folders for p in folder.rglob("*.json")
    )
    assert 'HYPERLINK("http' not in everything and "@SUM" not in everything


def test_a_file_modified_moments_ago_is_left_for_the_next_run(tmp_path: Path) -> None:
    (tmp_path / "partner").mkdir()
    old, fresh = tmp_path / "partner" / "oud.csv", tmp_path / "partner" / "vers.csv"
    old.write_text("x")
    fresh.write_text("y")
    os.utime(old, (1_000_000_000, 1_000_000_000))
    found = find_uploads(tmp_path, settle_seconds=30)
    assert [u.name for u in found.uploads] == ["oud.csv"]
    assert [(s.name, s.status) for s in found.skipped] == [("vers.csv", WRITING)]
