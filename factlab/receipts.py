"""Receipts: what happened to each upload, as the partner and the auditor read it.

A receipt is plain JSON with Dutch keys (partners read it) and only counts, row numbers and
rule names: never a cell value, because a cell may hold an address. File and organisation
names are neutralised (:mod:`factlab.safe_text`): they reach spreadsheets and the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from factlab.feedback import Feedback
from factlab.intake import Upload
from factlab.place import OUTSIDE, PLACED, UNKNOWN
from factlab.safe_text import neutralise
from factlab.validate import Tally
from schemas.delivery import RULES_BY_CODE
from schemas.receipt import COUNT_KEYS

PROCESSED = "verwerkt"
QUARANTINED = "quarantaine"
DUPLICATE_UPLOAD = "dubbele_aanlevering"


@dataclass(frozen=True)
class Outcome:
    """An upload's fate in this run: the receipt, and what to do with the file at the end."""

    upload: Upload
    receipt: dict[str, Any]
    feedback: Feedback | None = None  # what the partner reads; none for a duplicate upload

    @property
    def status(self) -> str:
        return str(self.receipt["status"])


def _base(upload: Upload, organisation_name: str, status: str) -> dict[str, Any]:
    return {
        "organisatie": upload.organisation,
        "organisatie_naam": neutralise(organisation_name),
        "bestand": neutralise(upload.name),
        "sha256": upload.sha256,
        "status": status,
    }


def processed_receipt(
    upload: Upload,
    organisation_name: str,
    file_format: dict[str, str | None],
    tally: Tally,
    placements: dict[str, int],
    provisions: dict[str, int],
) -> dict[str, Any]:
    """Receipt of a processed file; ``provisions`` counts the accepted rows per provision code."""
    rejections = [
        {
            "rij": row,
            "kolom": column,
            "regel": rule,
            "toelichting": RULES_BY_CODE[rule].problem,
        }
        for row, column, rule in tally.rejections.sort("rij", "regel").iter_rows()
    ]
    return _base(upload, organisation_name, PROCESSED) | {
        "formaat": file_format,
        "rijen_gelezen": tally.rows_read,
        "dubbel": tally.duplicates,
        "afgewezen": tally.rejected_rows,
        "buiten_periode": tally.out_of_period,
        "geaccepteerd": tally.accepted,
        "geplaatst": placements[PLACED],
        "niet_geplaatst": placements[UNKNOWN],
        "buiten_gemeente": placements[OUTSIDE],
        "voorzieningen": dict(sorted(provisions.items())),
        "afwijzingen": rejections,
    }


def quarantine_receipt(upload: Upload, organisation_name: str, reason: str) -> dict[str, Any]:
    """Receipt of a file that could not be processed at all and goes to quarantine."""
    return (
        _base(upload, organisation_name, QUARANTINED)
        | {"reden": reason}
        | dict.fromkeys(COUNT_KEYS, 0)
        | {"voorzieningen": {}}
    )


def duplicate_upload_receipt(
    upload: Upload, organisation_name: str, first: Upload
) -> dict[str, Any]:
    """Receipt of a file whose exact content was already delivered in this run."""
    return (
        _base(upload, organisation_name, DUPLICATE_UPLOAD)
        | {
            "reden": f"identiek aan {first.label} (zelfde SHA-256); niet opnieuw geteld",
        }
        | dict.fromkeys(COUNT_KEYS, 0)
        | {"voorzieningen": {}}
    )


def totals(receipts: list[dict[str, Any]]) -> dict[str, int]:
    """Counts summed over all receipts."""
    return {key: sum(int(r.get(key, 0)) for r in receipts) for key in COUNT_KEYS}
