"""Receipts: what happened to each upload, as the partner and the auditor read it.

A receipt is plain JSON with Dutch keys (partners read it) and only counts, row numbers and
rule names: never a cell value, because a cell may hold an address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from factlab.intake import Upload
from factlab.place import OUTSIDE, PLACED, UNKNOWN
from factlab.validate import Checked
from schemas.delivery import RULES_BY_CODE

PROCESSED = "verwerkt"
QUARANTINED = "quarantaine"
DUPLICATE_UPLOAD = "dubbele_aanlevering"

COUNT_KEYS = (
    "rijen_gelezen",
    "dubbel",
    "afgewezen",
    "buiten_periode",
    "geaccepteerd",
    "geplaatst",
    "niet_geplaatst",
    "buiten_gemeente",
)


@dataclass(frozen=True)
class Outcome:
    """An upload's fate in this run: the receipt, and what to do with the file at the end."""

    upload: Upload
    receipt: dict[str, Any]

    @property
    def status(self) -> str:
        return str(self.receipt["status"])


def _base(upload: Upload, organisation_name: str, status: str) -> dict[str, Any]:
    return {
        "organisatie": upload.organisation,
        "organisatie_naam": organisation_name,
        "bestand": upload.name,
        "sha256": upload.sha256,
        "status": status,
    }


def processed_receipt(
    upload: Upload,
    organisation_name: str,
    file_format: dict[str, str | None],
    checked: Checked,
    placements: dict[str, int],
    provisions: pl.DataFrame,
) -> dict[str, Any]:
    """Receipt of a processed file; ``provisions`` is the accepted rows' ``voorziening`` column frame."""
    rejections = [
        {
            "rij": row,
            "kolom": column,
            "regel": rule,
            "toelichting": RULES_BY_CODE[rule].problem,
        }
        for row, column, rule in checked.rejections.iter_rows()
    ]
    per_code = provisions.group_by("voorziening").len().sort("voorziening")
    return _base(upload, organisation_name, PROCESSED) | {
        "formaat": file_format,
        "rijen_gelezen": checked.rows_read,
        "dubbel": checked.duplicates,
        "afgewezen": checked.rejected_rows,
        "buiten_periode": checked.out_of_period,
        "geaccepteerd": checked.valid.height,
        "geplaatst": placements[PLACED],
        "niet_geplaatst": placements[UNKNOWN],
        "buiten_gemeente": placements[OUTSIDE],
        "voorzieningen": {code: int(n) for code, n in per_code.iter_rows()},
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
