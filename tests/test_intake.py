"""Every entry under the upload folder is taken in with a receipt or listed with its reason.

Names are whatever a partner's system or a careless colleague makes: very long, not UTF-8,
with spaces and accents, hidden, nested, not a regular file. None may crash a check, none may
vanish without a word, and feedback never lands where an upload could be overwritten.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from factlab.arrival import RECEIPT_SUFFIX, SKIPPED_PAGE
from factlab.config import CANONICAL_COLUMNS, PartnerSettings, load_config
from factlab.connectors.partner_files import ROW_COLUMN, SOURCE_ROW
from factlab.edition import RunSettings, check_edition
from factlab.intake import FEEDBACK_FOLDER, NOT_READ, REFUSED, _cell, find_uploads, map_columns
from factlab.names import file_stem
from tests.corpus.build import write_reference
from tests.corpus.cases import POSTCODE

GOOD = f"postcode;huisnummer;voorziening\n{POSTCODE};1;WMO-HH\n{POSTCODE};2;WMO-HH\n".encode()


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    write_reference(tmp_path, {"Stichting Welzijn Zaanstad": "Welzijn"})
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


def _check(uploads: Path):
    config = load_config(uploads.parent / "factlab.toml")
    return check_edition(RunSettings(uploads, uploads.parent / "uit", "2026", config))


def test_awkward_but_valid_names_are_taken_in_with_a_receipt(uploads: Path) -> None:
    partner = uploads / "Stichting Welzijn Zaanstad"
    partner.mkdir()
    long_name = "x" * 240 + ".csv"
    latin1 = os.fsdecode(b"cli\xebnten.csv")
    feedback_like = "lijst.csv.afgewezen.csv"  # named like another upload's feedback
    for number, name in enumerate((long_name, latin1, "lijst.csv", feedback_like)):
        (partner / name).write_bytes(GOOD.replace(b";2;", f";{number + 3};".encode()))
    result = _check(uploads)
    assert sorted(o.status for o in result.outcomes) == ["verwerkt"] * 4
    feedback = partner / FEEDBACK_FOLDER
    for name in (long_name, latin1, "lijst.csv", feedback_like):
        receipt = json.loads((feedback / f"{file_stem(name)}{RECEIPT_SUFFIX}").read_text())
        assert receipt["status"] == "verwerkt" and receipt["geaccepteerd"] == 2
    assert [p for p in partner.iterdir() if p.is_file()] == []
    latin1_receipt = json.loads((feedback / f"{file_stem(latin1)}{RECEIPT_SUFFIX}").read_text())
    assert latin1_receipt["bestand"] == "cli\\xebnten.csv"


def test_everything_else_is_listed_with_its_reason(uploads: Path, tmp_path: Path) -> None:
    partner = uploads / "Stichting Welzijn Zaanstad"
    (partner / "submap").mkdir(parents=True)
    (partner / "submap" / "a.csv").write_bytes(GOOD)
    (partner / ".verborgen.csv").write_bytes(GOOD)
    os.mkfifo(partner / "pijp.csv")
    (tmp_path / "buiten.csv").write_bytes(GOOD)
    (partner / "koppeling.csv").symlink_to(tmp_path / "buiten.csv")
    (uploads / "los-in-de-root.csv").write_bytes(GOOD)
    (uploads / ("o" * 70)).mkdir()
    (uploads / "Naam/Met").mkdir(parents=True)  # a nested folder is still one partner folder
    (uploads / "_intern").mkdir()
    result = _check(uploads)
    assert result.outcomes == []
    reasons = {(s.organisation, s.name): (s.status, s.reason) for s in result.skipped}
    assert reasons[("Stichting Welzijn Zaanstad", "submap")][1].startswith("submap")
    assert "verborgen" in reasons[("Stichting Welzijn Zaanstad", ".verborgen.csv")][1]
    assert "geen gewoon bestand" in reasons[("Stichting Welzijn Zaanstad", "pijp.csv")][1]
    assert "symbolische koppeling" in reasons[("Stichting Welzijn Zaanstad", "koppeling.csv")][1]
    assert "organisatiemap" in reasons[("", "los-in-de-root.csv")][1]
    assert "ongeldige naam" in reasons[("o" * 70, "")][1]
    assert reasons[("_intern", "")][0] == NOT_READ
    assert {status for status, _ in reasons.values()} <= {REFUSED, NOT_READ}
    page = (partner / FEEDBACK_FOLDER / SKIPPED_PAGE).read_text(encoding="utf-8")
    for name in ("submap", ".verborgen.csv", "pijp.csv", "koppeling.csv"):
        assert name in page
    assert (partner / "pijp.csv").exists() and (uploads / "los-in-de-root.csv").exists()


def test_the_feedback_folder_is_never_read_as_an_upload(uploads: Path) -> None:
    partner = uploads / "Stichting Welzijn Zaanstad"
    (partner / FEEDBACK_FOLDER).mkdir(parents=True)
    (partner / FEEDBACK_FOLDER / "oud.csv").write_bytes(GOOD)
    found = find_uploads(uploads)
    assert found.uploads == [] and found.skipped == []


def test_a_file_that_takes_too_long_is_quarantined_and_the_check_goes_on(
    uploads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import factlab.arrival as arrival

    partner = uploads / "Stichting Welzijn Zaanstad"
    partner.mkdir()
    (partner / "a.csv").write_bytes(GOOD)
    ticks = iter(range(0, 10_000, 1_000))  # every look at the clock: 1,000 seconds later
    monkeypatch.setattr(arrival.time, "monotonic", lambda: next(ticks))
    (outcome,) = _check(uploads).outcomes
    assert outcome.status == "quarantaine"
    assert "duurde langer dan 900 seconden" in (outcome.receipt.reason or "")


_RAW_CELLS = st.one_of(
    st.none(), st.sampled_from(["", " ", "'", " ' 12a ", "''x", "1503AB", "x' "])
)


@given(st.lists(st.tuples(_RAW_CELLS, _RAW_CELLS, _RAW_CELLS), max_size=8))
def test_mapped_cells_are_stripped_of_spaces_and_one_apostrophe(
    rows: list[tuple[str | None, str | None, str | None]],
) -> None:
    """map_columns takes the apostrophe off only in columns holding one; every cell is still
    what the per-cell rule (:func:`factlab.intake._cell`) makes of it."""
    raw = pl.DataFrame(
        [(n, *row) for n, row in enumerate(rows, start=2)],
        schema={SOURCE_ROW: pl.Int64, "Postcode": pl.String, "huisnummer": pl.String,
                "voorziening": pl.String},
        orient="row",
    )  # fmt: skip
    mapped = map_columns(raw, PartnerSettings(naam="p"))
    expected = raw.select(
        pl.col(SOURCE_ROW).alias(ROW_COLUMN),
        _cell("Postcode").alias("postcode"),
        _cell("huisnummer"),
        _cell("voorziening"),
    )
    assert mapped.columns == [ROW_COLUMN, *CANONICAL_COLUMNS]
    assert mapped.select(expected.columns).equals(expected)
