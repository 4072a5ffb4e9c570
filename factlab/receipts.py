"""Receipts: what happened to each upload, as the partner and the auditor read it.

A receipt (:class:`factlab.schemas.records.Receipt`) holds only counts, row numbers and rule names:
never a cell value, because a cell may hold an address, and never a hash of the file (see
:func:`factlab.files.same_content`). File and organisation names are shown escaped and
neutralised (:mod:`factlab.names`): they reach spreadsheets and the report.
"""

from __future__ import annotations

from dataclasses import dataclass

from factlab.feedback import Feedback
from factlab.intake import Upload
from factlab.names import display_name
from factlab.place import OUTSIDE, PLACED, UNKNOWN
from factlab.safe_text import neutralise
from factlab.schemas.delivery import RULES_BY_CODE
from factlab.schemas.records import (
    DUPLICATE_UPLOAD,
    PROCESSED,
    QUARANTINED,
    WITHDRAWN,
    Receipt,
    Rejection,
    Status,
)
from factlab.validate import Tally


@dataclass(frozen=True)
class Outcome:
    """An upload's fate in a check: its receipt and the partner's feedback."""

    upload: Upload
    receipt: Receipt
    feedback: Feedback | None = None

    @property
    def status(self) -> Status:
        return self.receipt.status


def status_counts(outcomes: list[Outcome]) -> dict[str, int]:
    """How many uploads ended in each status (verwerkt, quarantaine, ...), sorted by status."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return dict(sorted(counts.items()))


def _receipt(
    upload: Upload, delivery: str, organisation_name: str, received: str, status: Status, **extra
) -> Receipt:
    return Receipt(
        organisation=upload.organisation,
        organisation_name=neutralise(organisation_name),
        file=display_name(upload.name),
        delivery=delivery,
        status=status,
        received=received,
        **extra,
    )


def processed_receipt(
    upload: Upload,
    delivery: str,
    organisation_name: str,
    received: str,
    *,
    file_format: dict[str, str | None],
    tally: Tally,
    placements: dict[str, int],
    provisions: dict[str, int],
    replaces: str | None = None,
    blank_rows: int = 0,
) -> Receipt:
    """Receipt of an accepted file; ``provisions`` counts the accepted rows per provision code."""
    rejections = tuple(
        Rejection(row, column, rule, RULES_BY_CODE[rule].problem)
        for row, column, rule in tally.rejections.sort("rij", "regel").iter_rows()
    )
    counts = {
        "rijen_gelezen": tally.rows_read,
        "geaccepteerd": tally.accepted,
        "afgewezen": tally.rejected_rows,
        "dubbel": tally.duplicates,
        "buiten_periode": tally.out_of_period,
        "geplaatst": placements[PLACED],
        "niet_geplaatst": placements[UNKNOWN],
        "buiten_gemeente": placements[OUTSIDE],
    }
    return _receipt(
        upload, delivery, organisation_name, received, PROCESSED,
        counts=counts, provisions=dict(sorted(provisions.items())), rejections=rejections,
        file_format=file_format, replaces=replaces, blank_rows=blank_rows,
    )  # fmt: skip


def quarantine_receipt(
    upload: Upload,
    delivery: str,
    organisation_name: str,
    received: str,
    reason: str,
    replaces: str | None = None,
) -> Receipt:
    """Receipt of a file that could not be taken in at all."""
    return _receipt(
        upload, delivery, organisation_name, received, QUARANTINED, reason=reason, replaces=replaces
    )


def duplicate_receipt(
    upload: Upload, delivery: str, organisation_name: str, received: str, first: Receipt
) -> Receipt:
    """Receipt of a file whose exact content this edition already holds."""
    reason = (
        f"identiek aan {first.organisation}/{first.file} (levering {first.delivery}); "
        "niet opnieuw geteld"
    )
    return _receipt(upload, delivery, organisation_name, received, DUPLICATE_UPLOAD, reason=reason)


def withdrawal_receipt(
    upload: Upload, delivery: str, organisation_name: str, received: str, withdrawn: Receipt | None
) -> Receipt:
    """Receipt of a withdrawal marker ``<bestand>.intrekken``."""
    reason = (
        f"levering {withdrawn.delivery} ({withdrawn.file}) is ingetrokken en telt niet mee"
        if withdrawn
        else "er was geen aanlevering met die naam; er is niets ingetrokken"
    )
    return _receipt(upload, delivery, organisation_name, received, WITHDRAWN, reason=reason)
