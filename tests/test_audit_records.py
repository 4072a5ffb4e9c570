"""The typed audit record: one serialisation, round trips, and the order auditors read."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from audit_factory import audit_record, receipt

from factlab.quality import Check, Quality
from factlab.schemas.audit import (
    Area,
    AuditRecord,
    CheckOutcome,
    CheckSummary,
    CloseSummary,
    CompletenessRecord,
    KeyRecord,
    MissingPartner,
    QualitySummary,
    Release,
    ReleaseRecord,
    ReleaseSummary,
    ReportingPeriod,
    Totals,
)
from factlab.schemas.receipt import COUNT_KEYS
from factlab.schemas.records import Rejection

AUDIT_KEYS = [
    "editie", "gemeente", "periode", "sleutel", "software", "gestart", "bestanden",
    "volledigheid", "totalen", "kwaliteit", "voltooid",
]  # fmt: skip


def _full() -> AuditRecord:
    wijkteam = receipt(
        "wijkteam",
        "Wijkteam",
        {"rijen_gelezen": 12, "geaccepteerd": 10, "afgewezen": 2, "geplaatst": 9,
         "niet_geplaatst": 1},
        {"WMO-HH": 6, "WMO-BEG": 4},
        file="wt.csv",
    )  # fmt: skip
    record = audit_record(
        "2026-voorjaar",
        [wijkteam],
        gemeente=Area("GM0363", "Amsterdam"),
        period=ReportingPeriod("2026-01-01", "2026-06-30"),
        key=KeyRecord("managed", "a12f6f007ea8d655"),
        households=9,
        completeness=CompletenessRecord(
            False,
            (MissingPartner("werkplein", "Werkplein", "niets aangeleverd"),),
            ("veel adressen buiten de gemeente",),
            "levert in juli",
        ),
        checks=[
            CheckOutcome("huishoudens: kolommen", True, "alle kolommen"),
            CheckOutcome("tabel_kerncijfers", False, "afronding"),
        ],
    )
    return record.completed("2026-07-01T10:00:00+00:00")


def test_the_record_round_trips_through_its_json() -> None:
    record = _full()
    text = record.to_text()
    assert AuditRecord.from_json(json.loads(text)) == record
    assert AuditRecord.from_json(json.loads(text)).to_text() == text


def test_the_release_record_round_trips_and_comes_last() -> None:
    release = ReleaseRecord(
        required=2,
        closed_by="Ann Analist",
        released_by=(Release("Bea", "2026-07-01T10:00:00"), Release("Cor", "2026-07-02T09:00:00")),
        earlier_rejections=1,
    )
    record = _full().released(release)
    data = json.loads(record.to_text())
    assert list(data) == [*AUDIT_KEYS, "vrijgave"]
    assert data["vrijgave"]["vrijgegeven_door"][1] == {"naam": "Cor", "tijd": "2026-07-02T09:00:00"}
    assert AuditRecord.from_json(data) == record
    assert AuditRecord.from_json(json.loads(_full().to_text())).release is None


def test_audit_json_keeps_its_dutch_keys_in_the_order_auditors_read() -> None:
    data = json.loads(_full().to_text())
    assert list(data) == AUDIT_KEYS
    assert data["sleutel"] == {"modus": "managed", "vingerafdruk": "a12f6f007ea8d655"}
    assert data["periode"] == {"van": "2026-01-01", "tot": "2026-06-30"}
    assert data["gemeente"] == {"code": "GM0363", "naam": "Amsterdam"}
    assert list(data["totalen"]) == [*COUNT_KEYS, "huishoudens"]
    assert data["totalen"]["geaccepteerd"] == 10 and data["totalen"]["huishoudens"] == 9
    assert data["volledigheid"] == {
        "volledig": False,
        "ontbrekend": [
            {"organisatie": "werkplein", "naam": "Werkplein", "reden": "niets aangeleverd"}
        ],
        "waarschuwingen": ["veel adressen buiten de gemeente"],
        "toelichting": "levert in juli",
    }
    assert data["kwaliteit"]["geslaagd"] is False
    assert data["kwaliteit"]["controles"][1] == {
        "naam": "tabel_kerncijfers", "geslaagd": False, "toelichting": "afronding"
    }  # fmt: skip
    (file,) = data["bestanden"]
    assert "ontvangen" not in file and "afwijzingen" not in file


def test_quality_and_completion_are_left_out_until_they_are_known() -> None:
    """The close writes quality after the household check and ``voltooid`` last."""
    early = audit_record()
    data = early.as_json()
    assert "kwaliteit" not in data and "voltooid" not in data and data["periode"] is None
    assert AuditRecord.from_json(data) == early


def test_receipts_are_held_as_published_so_the_round_trip_is_exact() -> None:
    """Rejections and the time of receipt never reach audit.json, nor the record."""
    full = receipt("wijkteam", "Wijkteam", {"rijen_gelezen": 1, "afgewezen": 1}, {})
    full = replace(
        full, received="2026-03-01T09:00:00", rejections=(Rejection(2, "postcode", "P1", "x"),)
    )
    record = audit_record(receipts=[full])
    assert record.files == (full.as_published(),)
    assert record.files[0].rejections == () and record.files[0].received == ""
    assert AuditRecord.from_json(record.as_json()) == record


def test_an_older_record_without_completeness_reads_as_complete() -> None:
    data = _full().as_json()
    del data["volledigheid"]
    assert AuditRecord.from_json(data).completeness == CompletenessRecord()


def test_an_unknown_key_mode_is_refused() -> None:
    data = _full().as_json()
    data["sleutel"]["modus"] = "plaintext"
    with pytest.raises(ValueError, match="sleutelmodus"):
        AuditRecord.from_json(data)


def test_quality_summary_is_the_checks_run() -> None:
    quality = Quality((Check("a", True, "ok"), Check("b", False, "mis")))
    summary = quality.summary()
    assert summary == QualitySummary(
        (CheckOutcome("a", True, "ok"), CheckOutcome("b", False, "mis"))
    )
    assert summary.passed is quality.passed is False
    assert QualitySummary.from_json(summary.as_json()) == summary


def test_totals_sum_the_receipts() -> None:
    a = receipt("a", "A", {"rijen_gelezen": 3, "geaccepteerd": 3}, {})
    b = receipt("b", "B", {"rijen_gelezen": 4, "geaccepteerd": 2, "dubbel": 2}, {})
    totals = Totals.of([a, b], households=4)
    assert totals.counts["rijen_gelezen"] == 7 and totals.counts["dubbel"] == 2
    assert Totals.from_json(totals.as_json()) == totals


def test_flow_summaries_serialise_with_dutch_keys() -> None:
    assert CloseSummary(None, False).as_json() == {"editie": None, "gesloten": False}
    closed = CloseSummary(
        "2026", True, 120, False, "/uit/.ter-controle/2026", "ter_controle", "run-id"
    ).as_json()
    assert closed == {
        "editie": "2026", "gesloten": True, "huishoudens": 120, "al_gepubliceerd": False,
        "status": "ter_controle", "map": "/uit/.ter-controle/2026", "beoordeling": "run-id",
    }  # fmt: skip
    released = ReleaseSummary("2026", "gepubliceerd", ("Bea",), "/uit/2026").as_json()
    assert released == {
        "editie": "2026", "status": "gepubliceerd", "vrijgegeven_door": ["Bea"], "map": "/uit/2026"
    }  # fmt: skip
    refused = ReleaseSummary("2026", "niet ter controle", message="al gepubliceerd").as_json()
    assert refused == {
        "editie": "2026",
        "status": "niet ter controle",
        "melding": "al gepubliceerd",
    }
    assert CheckSummary("2026", {"verwerkt": 3}, 1).as_json() == {
        "editie": "2026", "bestanden": {"verwerkt": 3}, "overgeslagen": 1
    }  # fmt: skip
