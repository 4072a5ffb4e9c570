"""Great Expectations in its helper process: a helper that dies is replaced, a failed suite
still stops the close before anything is written, and the report written before the verdict
is the final one."""

from __future__ import annotations

import html
import os
import signal
from pathlib import Path

import polars as pl
import pytest

from factlab import closing, quality
from factlab.closing import Closing
from factlab.config import load_config
from factlab.edition import RunSettings, check_edition, close, run_edition
from factlab.errors import FactlabError
from factlab.keys import ephemeral_key
from factlab.quality import Quality, QualityRun, check_households
from factlab.schemas.audit import AuditRecord
from factlab.schemas.outputs import AUDIT_FILE, HOUSEHOLDS_FILE, QUALITY_FOLDER
from tests.households_factory import gemeente as area
from tests.households_factory import households
from tests.processes import helpers_of


def test_a_helper_that_dies_is_replaced_and_gives_the_same_verdict(tmp_path: Path) -> None:
    table = households(seed=5, n=200, area=area())
    expected = check_households(table, tmp_path / "eerst")
    run = QualityRun(tmp_path / "tweede")
    run.households(table)
    for pid in helpers_of(os.getpid()):
        os.kill(pid, signal.SIGKILL)
    assert run.result() == expected
    assert (tmp_path / "tweede" / "index.html").is_file()


def test_a_failed_household_suite_stops_the_close_before_anything_is_written(
    gemeente: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The household suite now runs while the tables are protected and written; its failure
    must still leave nothing but the Data Docs that explain it."""

    def broken_table(self: Closing) -> None:
        assert self.households is not None
        self.quality_run.households(self.households.with_columns(wijk_code=pl.lit("WK12")))

    monkeypatch.setattr(Closing, "check_households", broken_table)
    out = tmp_path / "uit"
    with pytest.raises(FactlabError, match="kwaliteitscontrole is niet geslaagd") as raised:
        _close(gemeente, out)
    assert "wijkcode is een CBS-wijkcode" in str(raised.value)
    review = out / ".ter-controle" / "2026"
    assert [p.name for p in review.iterdir()] == [QUALITY_FOLDER]
    assert (review / QUALITY_FOLDER / "index.html").is_file()
    assert not (review / AUDIT_FILE).exists() and not (review / HOUSEHOLDS_FILE).exists()
    assert not (out / "2026").exists()


def _close(gemeente: Path, out: Path) -> None:
    config = load_config(gemeente / "factlab.toml")
    run_edition(
        RunSettings(gemeente / "uploads", out, "2026", config, config.period), ephemeral_key()
    )


def test_the_report_written_before_the_verdict_is_the_final_one(
    gemeente: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report is written while the suites run, as if all pass; a passing verdict must
    read exactly so (else the report is written twice), and every check is in the report."""
    written: list[int] = []
    original = Closing.publish_report

    def counted(self: Closing) -> None:
        written.append(1)
        original(self)

    monkeypatch.setattr(Closing, "publish_report", counted)
    out = tmp_path / "uit"
    _close(gemeente, out)
    assert len(written) == 1
    review = out / ".ter-controle" / "2026"
    audit = AuditRecord.read(review / AUDIT_FILE)
    assert audit.quality is not None and audit.quality.passed
    report = html.unescape((review / "rapport.html").read_text())
    assert all(check.name in report for check in audit.quality.checks)


def test_a_verdict_that_reads_otherwise_writes_the_report_again(
    gemeente: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QualityRun, "expected", lambda self: Quality())
    out = tmp_path / "uit"
    _close(gemeente, out)
    review = out / ".ter-controle" / "2026"
    audit = AuditRecord.read(review / AUDIT_FILE)
    assert audit.quality is not None and audit.quality.checks
    report = html.unescape((review / "rapport.html").read_text())
    assert all(check.name in report for check in audit.quality.checks)


@pytest.mark.parametrize("large", [False, True])
def test_a_large_close_starts_the_helper_after_the_link(
    gemeente: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large: bool
) -> None:
    """Pseudonymising and linking a large edition use both cores: Great Expectations then
    imports after the link, beside the analysis. A small close starts it first."""
    if large:  # this edition is small: make every edition large
        monkeypatch.setattr(closing, "LARGE_CHECK_BYTES", 1)
    events: list[str] = []
    real_helper, real_link = quality.helper, Closing.link

    def helper() -> object:
        events.append("helper")
        return real_helper()

    def link(self: Closing, *args: object, **kwargs: object) -> int:
        events.append("link")
        return real_link(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(quality, "helper", helper)
    monkeypatch.setattr(Closing, "link", link)
    config = load_config(gemeente / "factlab.toml")
    settings = RunSettings(gemeente / "uploads", tmp_path / "uit", "2026", config, config.period)
    check_edition(settings)
    closed = close(settings, ephemeral_key())
    assert events == (["link", "helper"] if large else ["helper", "link"])
    audit = AuditRecord.read(tmp_path / "uit" / ".ter-controle" / "2026" / AUDIT_FILE)
    assert closed.households and audit.quality is not None and audit.quality.passed
