"""Audit records for tests that publish without a close: typed, as the close builds them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from factlab.schemas.audit import (
    Area,
    AuditRecord,
    CheckOutcome,
    CompletenessRecord,
    KeyRecord,
    QualitySummary,
    ReportingPeriod,
    Totals,
)
from factlab.schemas.receipt import COUNT_KEYS
from factlab.schemas.records import PROCESSED, Receipt


def receipt(
    organisation: str,
    name: str,
    counts: Mapping[str, int],
    provisions: Mapping[str, int],
    *,
    file: str = "levering.csv",
    delivery: str = "L0001",
) -> Receipt:
    """An accepted delivery's receipt with these counts (missing counts are 0)."""
    return Receipt(
        organisation=organisation,
        organisation_name=name,
        file=file,
        delivery=delivery,
        status=PROCESSED,
        received="",
        counts={key: int(counts.get(key, 0)) for key in COUNT_KEYS},
        provisions=dict(provisions),
    )


GEMEENTE = Area("GM0999", "Testgemeente")
KEY = KeyRecord("ephemeral", "0" * 32)
COMPLETE = CompletenessRecord()


def audit_record(
    edition: str = "2026",
    receipts: Iterable[Receipt] = (),
    *,
    gemeente: Area = GEMEENTE,
    period: ReportingPeriod | None = None,
    key: KeyRecord = KEY,
    started: str = "2026-03-01T09:00:00+00:00",
    households: int = 0,
    completeness: CompletenessRecord = COMPLETE,
    checks: Iterable[CheckOutcome] | None = None,
) -> AuditRecord:
    """An audit record as the close would build it for these receipts."""
    files = tuple(receipts)
    return AuditRecord(
        edition=edition,
        gemeente=gemeente,
        period=period,
        key=key,
        software={"factlab": "test"},
        started=started,
        files=files,
        completeness=completeness,
        totals=Totals.of(list(files), households),
        quality=QualitySummary(tuple(checks)) if checks is not None else None,
    )
