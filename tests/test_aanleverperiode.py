"""An aanleverperiode played end to end: deliveries over several checks, a quarantined file
corrected under the same name, a late partner, a refused and an explicitly incomplete close,
and a final close whose published tables equal a single ``factlab run`` over the final files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from factlab.arrival import RECEIPT_SUFFIX
from factlab.config import load_config
from factlab.connectors.cbs import read_pc6hnr
from factlab.edition import (
    RunSettings,
    check_edition,
    close,
    edition_status,
    review_edition,
    run_edition,
)
from factlab.errors import FactlabError
from factlab.intake import FEEDBACK_FOLDER
from factlab.keys import ephemeral_key
from factlab.schemas.audit import AuditRecord
from tests.leakscan import scan_for_leaks

EDITION = "2026"


def _settings(gemeente: Path, out: Path) -> RunSettings:
    config = load_config(gemeente / "factlab.toml")
    return RunSettings(gemeente / "uploads", out, EDITION, config, config.period)


def _receipt(gemeente: Path, organisation: str, name: str) -> dict:
    path = gemeente / "uploads" / organisation / FEEDBACK_FOLDER / f"{name}{RECEIPT_SUFFIX}"
    return json.loads(path.read_text(encoding="utf-8"))


def _tables(edition_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((edition_dir / "tabellen").glob("*.csv"))}


class Period:
    """A gemeente whose partners deliver over time, from a pile of finished extracts."""

    def __init__(self, source: Path, root: Path) -> None:
        self.gemeente = root / "gemeente"
        shutil.copytree(source, self.gemeente)
        self.pile = root / "stapel"
        shutil.move(self.gemeente / "uploads", self.pile)
        (self.gemeente / "uploads").mkdir()
        self.out = root / "uit"
        self.settings = _settings(self.gemeente, self.out)

    def organisations(self) -> list[str]:
        return sorted(p.name for p in self.pile.iterdir())

    def deliver(self, organisation: str, content: bytes | None = None) -> list[str]:
        """Drop a partner's extracts (or other content under the first one's name)."""
        folder = self.gemeente / "uploads" / organisation
        folder.mkdir(exist_ok=True)
        names = []
        for path in sorted((self.pile / organisation).iterdir()):
            (folder / path.name).write_bytes(path.read_bytes() if content is None else content)
            names.append(path.name)
            if content is not None:
                break
        return names

    def check(self):
        return check_edition(self.settings)


@pytest.fixture(scope="module")
def played(synth_source: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("aanleverperiode")
    period = Period(synth_source, root)
    organisations = period.organisations()
    assert len(organisations) == 9
    late, corrected = organisations[-1], organisations[0]
    log: dict[str, object] = {"late": late, "corrected": corrected}

    # Round 1: four partners, one of whose files is broken.
    (broken_name,) = period.deliver(corrected, b"\x00\x01\x02 geen tabel \xff" * 50)
    for organisation in organisations[1:4]:
        period.deliver(organisation)
    first = period.check()
    log["first"] = first
    log["first_receipt"] = _receipt(period.gemeente, corrected, broken_name)

    # Round 2: the corrected file under the same name, and four more partners.
    period.deliver(corrected)
    for organisation in organisations[4:8]:
        period.deliver(organisation)
    log["second"] = period.check()
    log["second_receipt"] = _receipt(period.gemeente, corrected, broken_name)
    log["status_before"] = edition_status(period.settings)
    with pytest.raises(FactlabError) as refused:
        close(period.settings, ephemeral_key())
    log["refusal"] = str(refused.value)

    # An explicitly incomplete close, on a copy of the edition as it stands.
    shutil.copytree(root / "uit", root / "uit-onvolledig")
    incomplete = RunSettings(
        period.gemeente / "uploads", root / "uit-onvolledig", EDITION, period.settings.config,
        period.settings.period,
    )  # fmt: skip
    log["incomplete"] = close(incomplete, ephemeral_key(), incomplete_reason="levert in maart")

    # Round 3: the late partner, then the close.
    period.deliver(late)
    log["third"] = period.check()
    assert close(period.settings, ephemeral_key()).state == "ter_controle"
    log["closed"] = review_edition(period.out, EDITION, "Bea Beoordelaar")  # published

    # The same final files in one run.
    single = root / "enkel"
    shutil.copytree(synth_source, single)
    log["single"] = run_edition(_settings(single, root / "uit-enkel"), ephemeral_key())
    return period, log


def test_a_broken_file_is_quarantined_and_its_correction_supersedes_it(played) -> None:
    _period, log = played
    first, second = log["first_receipt"], log["second_receipt"]
    assert first["status"] == "quarantaine" and "reden" in first
    assert second["status"] == "verwerkt"
    assert second["vervangt"] == first["levering"]
    assert {o.status for o in log["first"].outcomes} == {"verwerkt", "quarantaine"}


def test_every_partner_finds_receipt_and_feedback_in_its_own_folder(played) -> None:
    period, _ = played
    for folder in (period.gemeente / "uploads").iterdir():
        feedback = folder / FEEDBACK_FOLDER
        for extract in (period.pile / folder.name).iterdir():
            assert (feedback / f"{extract.name}{RECEIPT_SUFFIX}").is_file()
            assert (feedback / f"{extract.name}.terugkoppeling.md").is_file()
        assert [p for p in folder.iterdir() if p.is_file()] == []  # all taken in


def test_status_shows_the_late_partner_missing_and_closing_is_refused(played) -> None:
    _, log = played
    status = log["status_before"]
    by_partner = {p.organisation: p for p in status.partners}
    assert by_partner[log["late"]].status == "ontbreekt"
    assert by_partner[log["corrected"]].status == "geaccepteerd"
    assert by_partner[log["corrected"]].deliveries == 2
    assert status.completeness is not None and not status.completeness.complete
    assert log["late"] in log["refusal"] and "--onvolledig" in log["refusal"]


def test_an_incomplete_close_says_who_is_missing_and_why(played) -> None:
    period, log = played
    edition_dir = log["incomplete"].edition_dir
    completeness = AuditRecord.read(edition_dir / "audit.json").completeness
    assert not completeness.complete and completeness.reason == "levert in maart"
    assert [m.organisation for m in completeness.missing] == [log["late"]]
    name = period.settings.config.partner(log["late"]).naam
    report = (edition_dir / "rapport.html").read_text(encoding="utf-8")
    assert "onvolledig" in report and name in report and "levert in maart" in report


def test_closing_after_the_late_partner_equals_a_single_run(played) -> None:
    _, log = played
    closed, single = log["closed"], log["single"]
    assert closed.households == single.households > 0
    assert _tables(closed.edition_dir) == _tables(single.edition_dir)
    assert pl.read_parquet(closed.households_file).equals(pl.read_parquet(single.households_file))
    assert AuditRecord.read(closed.edition_dir / "audit.json").completeness.complete


def test_no_address_pseudonym_or_key_anywhere(played, synth_source: Path) -> None:
    period, _ = played
    truth = pl.read_parquet(synth_source / "waarheid" / "huishoudens.parquet")
    folders = [period.out, *(period.gemeente / "uploads").glob(f"*/{FEEDBACK_FOLDER}")]
    assert scan_for_leaks(folders, truth=truth) == []
    assert not any((period.out / ".werkmap" / EDITION / "bestanden").glob("*"))


def test_a_partner_can_withdraw_a_delivery(synth_source: Path, tmp_path: Path) -> None:
    period = Period(synth_source, tmp_path)
    organisation = period.organisations()[2]
    (name, *_) = period.deliver(organisation)
    period.check()
    (period.gemeente / "uploads" / organisation / f"{name}.intrekken").write_text("")
    result = period.check()
    assert [o.status for o in result.outcomes] == ["ingetrokken"]
    assert "telt niet mee" in (result.outcomes[0].receipt.reason or "")
    status = {p.organisation: p for p in edition_status(period.settings).partners}
    assert status[organisation].status == "ontbreekt"
    # Withdrawing what was never delivered says so, and changes nothing.
    (period.gemeente / "uploads" / organisation / "nooit.csv.intrekken").write_text("")
    (outcome,) = period.check().outcomes
    assert "niets ingetrokken" in (outcome.receipt.reason or "")


def test_an_identical_upload_again_is_a_duplicate_not_a_new_delivery(
    synth_source: Path, tmp_path: Path
) -> None:
    period = Period(synth_source, tmp_path)
    organisation = period.organisations()[1]
    period.deliver(organisation)
    period.check()
    period.deliver(organisation)
    statuses = {o.status for o in period.check().outcomes}
    assert statuses == {"dubbele_aanlevering"}
    status = {p.organisation: p for p in edition_status(period.settings).partners}
    assert status[organisation].status == "geaccepteerd"


def test_an_edition_without_accepted_deliveries_never_publishes(
    tmp_path: Path, synth_source: Path
) -> None:
    period = Period(synth_source, tmp_path)
    period.check()
    with pytest.raises(FactlabError, match="geen enkele aanlevering"):
        close(period.settings, ephemeral_key(), incomplete_reason="toch sluiten")
    assert not (period.out / EDITION).exists()


def test_a_wrong_gemeente_code_is_refused_as_implausible(
    synth_source: Path, tmp_path: Path
) -> None:
    period = Period(synth_source, tmp_path)
    for organisation in period.organisations():
        period.deliver(organisation)
    toml = period.gemeente / "factlab.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("GM0479", "GM0363"), encoding="utf-8")
    period.settings = _settings(period.gemeente, period.out)
    period.check()
    with pytest.raises(FactlabError, match="buiten gemeente GM0363"):
        close(period.settings, ephemeral_key())


def test_a_second_edition_of_the_same_period_that_differs_a_little_is_refused(
    synth_source: Path, tmp_path: Path
) -> None:
    gemeente = tmp_path / "gemeente"
    shutil.copytree(synth_source, gemeente)
    out = tmp_path / "uit"
    config = load_config(gemeente / "factlab.toml")
    run_edition(
        RunSettings(gemeente / "uploads", out, "2026", config, config.period), ephemeral_key()
    )  # ter controle: a second close of the same period must see it as well as a published one
    # The same deliveries again, plus one known client of one more organisation.
    shutil.copytree(synth_source / "uploads", gemeente / "uploads", dirs_exist_ok=True)
    address = read_pc6hnr(config.address_table, config.gemeente_code).row(0, named=True)
    extra = gemeente / "uploads" / "buurtsportcoach"
    extra.mkdir()
    (extra / "een.csv").write_text(
        "postcode;huisnummer;voorziening;startdatum\n"
        f"{address['postcode']};{address['huisnummer']};WMO-HH;2026-02-01\n"
    )
    again = RunSettings(gemeente / "uploads", out, "2026-b", config, config.period)
    with pytest.raises(FactlabError, match="wijkt te weinig af"):
        run_edition(again, ephemeral_key())
    assert not (out / "2026-b" / "tabellen").exists()
    review_edition(out, "2026", "Bea Beoordelaar")  # and once the first is published
    with pytest.raises(FactlabError, match="wijkt te weinig af"):
        run_edition(again, ephemeral_key())
    assert (
        not (out / "2026-b").exists()
        and not (out / ".ter-controle" / "2026-b" / "tabellen").exists()
    )
