"""Typed records of a close: the audit record (``audit.json``) and the results the CLI and the
Prefect flows report.

``audit.json`` is the auditor's record of one published edition: which gemeente and period,
which key mode (and the key's fingerprint, never the key), the software versions, every
delivery's receipt (counts only), whether the edition was complete, the totals and the quality
checks. The close builds an :class:`AuditRecord` part by part; the publish stage, the report
and the CLI read its fields. Its JSON (Dutch keys, in this order) is written and read only
here, so no module builds or picks apart the dict by hand.

Like :mod:`factlab.schemas.records`, this module is a leaf: it imports nothing from the stages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from factlab.schemas.receipt import COUNT_KEYS
from factlab.schemas.records import Receipt, total_counts

KeyMode = Literal["ephemeral", "managed"]
RELEASE_KEY = "vrijgave"  # the release record in audit.json and openbaarmaking.json


@dataclass(frozen=True)
class Area:
    """The gemeente an edition is about: CBS code (``GM0479``) and name."""

    code: str
    name: str

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "naam": self.name}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Area:
        return cls(str(data.get("code", "")), str(data.get("naam", "")))


@dataclass(frozen=True)
class ReportingPeriod:
    """The edition's reporting period, inclusive, as ISO dates (``2026-01-01``)."""

    start: str
    end: str

    def as_json(self) -> dict[str, str]:
        return {"van": self.start, "tot": self.end}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ReportingPeriod | None:
        """``None`` (no period set) stays ``None``."""
        if not data:
            return None
        return cls(str(data.get("van", "?")), str(data.get("tot", "?")))


@dataclass(frozen=True)
class KeyRecord:
    """How the pseudonymisation key was made, and its fingerprint (reveals nothing of the key)."""

    mode: KeyMode
    fingerprint: str

    def as_json(self) -> dict[str, str]:
        return {"modus": self.mode, "vingerafdruk": self.fingerprint}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KeyRecord:
        mode = data.get("modus")
        if mode not in ("ephemeral", "managed"):
            raise ValueError(f"onbekende sleutelmodus {mode!r}")
        return cls(mode, str(data.get("vingerafdruk", "")))


@dataclass(frozen=True)
class MissingPartner:
    """An expected partner without an accepted delivery, and why (Dutch, display-safe)."""

    organisation: str
    name: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"organisatie": self.organisation, "naam": self.name, "reden": self.reason}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MissingPartner:
        return cls(str(data["organisatie"]), str(data["naam"]), str(data["reden"]))


@dataclass(frozen=True)
class CompletenessRecord:
    """Whether the closed edition held every expected partner; if not, the analyst's reason."""

    complete: bool = True
    missing: tuple[MissingPartner, ...] = ()
    warnings: tuple[str, ...] = ()
    reason: str | None = None  # the analyst's reason for closing it as incomplete

    def as_json(self) -> dict[str, Any]:
        return {
            "volledig": self.complete,
            "ontbrekend": [m.as_json() for m in self.missing],
            "waarschuwingen": list(self.warnings),
            "toelichting": self.reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> CompletenessRecord:
        """A record without it (an edition closed before completeness was recorded) is complete."""
        if not data:
            return cls()
        return cls(
            complete=bool(data.get("volledig", True)),
            missing=tuple(MissingPartner.from_json(m) for m in data.get("ontbrekend", [])),
            warnings=tuple(str(w) for w in data.get("waarschuwingen", [])),
            reason=data.get("toelichting"),
        )


@dataclass(frozen=True)
class Totals:
    """The receipts' counts summed over the edition's deliveries, and the linked households."""

    counts: dict[str, int]
    households: int

    @classmethod
    def of(cls, receipts: list[Receipt], households: int) -> Totals:
        return cls(total_counts(receipts), households)

    def as_json(self) -> dict[str, int]:
        return {key: int(self.counts.get(key, 0)) for key in COUNT_KEYS} | {
            "huishoudens": self.households
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Totals:
        return cls(
            {key: int(data.get(key, 0)) for key in COUNT_KEYS}, int(data.get("huishoudens", 0))
        )


@dataclass(frozen=True)
class CheckOutcome:
    """One quality expectation's outcome, in Dutch, without data values."""

    name: str
    passed: bool
    explanation: str

    def as_json(self) -> dict[str, Any]:
        return {"naam": self.name, "geslaagd": self.passed, "toelichting": self.explanation}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckOutcome:
        return cls(
            str(data.get("naam", "")), bool(data.get("geslaagd")), str(data.get("toelichting", ""))
        )


@dataclass(frozen=True)
class QualitySummary:
    """The quality suites' outcome as the report shows it and the auditor reads it."""

    checks: tuple[CheckOutcome, ...] = ()

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {"geslaagd": self.passed, "controles": [c.as_json() for c in self.checks]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QualitySummary:
        return cls(tuple(CheckOutcome.from_json(c) for c in data.get("controles", [])))


@dataclass(frozen=True)
class Release:
    """One reviewer's release: the name they gave and when (no system accounts)."""

    reviewer: str
    time: str

    def as_json(self) -> dict[str, str]:
        return {"naam": self.reviewer, "tijd": self.time}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Release:
        return cls(str(data["naam"]), str(data["tijd"]))


@dataclass(frozen=True)
class ReleaseRecord:
    """Who released the edition (``vrijgave`` in audit.json and openbaarmaking.json)."""

    required: int  # how many distinct reviewers the edition needed
    closed_by: str | None  # the analyst who closed it (may not release it)
    released_by: tuple[Release, ...]
    earlier_rejections: int

    def as_json(self) -> dict[str, Any]:
        return {
            "vereist": self.required,
            "gesloten_door": self.closed_by,
            "vrijgegeven_door": [r.as_json() for r in self.released_by],
            "eerder_afgewezen": self.earlier_rejections,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReleaseRecord:
        return cls(
            required=int(data["vereist"]),
            closed_by=data.get("gesloten_door"),
            released_by=tuple(Release.from_json(r) for r in data.get("vrijgegeven_door", [])),
            earlier_rejections=int(data.get("eerder_afgewezen", 0)),
        )


@dataclass(frozen=True)
class AuditRecord:
    """The record of one close (``audit.json``): built by the close, read by publish and report.

    ``files`` are the receipts of the edition's current deliveries as published (no
    rejections, no time of receipt: see :meth:`Receipt.as_json`). ``quality`` is set once the
    household table is checked, ``finished`` when ``audit.json`` is written (it marks the
    edition complete).
    """

    edition: str
    gemeente: Area
    period: ReportingPeriod | None
    key: KeyRecord
    software: dict[str, str]
    started: str  # ISO time the close started
    files: tuple[Receipt, ...]
    completeness: CompletenessRecord
    totals: Totals
    quality: QualitySummary | None = None
    finished: str | None = None
    release: ReleaseRecord | None = None  # set when the last reviewer releases the edition

    def __post_init__(self) -> None:
        # The record holds receipts as published: the JSON round trip must give the same record.
        published = tuple(r.as_published() for r in self.files)
        if published != self.files:
            object.__setattr__(self, "files", published)

    def with_quality(self, quality: QualitySummary) -> AuditRecord:
        return replace(self, quality=quality)

    def completed(self, finished: str) -> AuditRecord:
        return replace(self, finished=finished)

    def released(self, release: ReleaseRecord) -> AuditRecord:
        return replace(self, release=release)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "editie": self.edition,
            "gemeente": self.gemeente.as_json(),
            "periode": self.period.as_json() if self.period else None,
            "sleutel": self.key.as_json(),
            "software": dict(self.software),
            "gestart": self.started,
            "bestanden": [r.as_json(rejections=False, received=False) for r in self.files],
            "volledigheid": self.completeness.as_json(),
            "totalen": self.totals.as_json(),
        }
        if self.quality is not None:
            data["kwaliteit"] = self.quality.as_json()
        if self.finished is not None:
            data["voltooid"] = self.finished
        if self.release is not None:
            data[RELEASE_KEY] = self.release.as_json()
        return data

    def to_text(self) -> str:
        """The bytes of ``audit.json``: UTF-8 JSON, keys in the order above, indented."""
        return json.dumps(self.as_json(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuditRecord:
        quality = data.get("kwaliteit")
        return cls(
            edition=str(data["editie"]),
            gemeente=Area.from_json(data.get("gemeente") or {}),
            period=ReportingPeriod.from_json(data.get("periode")),
            key=KeyRecord.from_json(data["sleutel"]),
            software={str(k): str(v) for k, v in dict(data.get("software") or {}).items()},
            started=str(data["gestart"]),
            files=tuple(Receipt.from_json(r) for r in data.get("bestanden", [])),
            completeness=CompletenessRecord.from_json(data.get("volledigheid")),
            totals=Totals.from_json(data["totalen"]),
            quality=QualitySummary.from_json(quality) if quality else None,
            finished=data.get("voltooid"),
            release=ReleaseRecord.from_json(data[RELEASE_KEY]) if RELEASE_KEY in data else None,
        )

    @classmethod
    def read(cls, path: Path) -> AuditRecord:
        """Load an edition's ``audit.json``."""
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class CheckSummary:
    """What the check flow reports: per status how many uploads, and how many were skipped."""

    edition: str
    files: dict[str, int] = field(default_factory=dict)  # status -> number of uploads
    skipped: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"editie": self.edition, "bestanden": dict(self.files), "overgeslagen": self.skipped}


@dataclass(frozen=True)
class CloseSummary:
    """What the close flow reports. ``edition`` is None when there was no open edition."""

    edition: str | None
    closed: bool
    households: int | None = None
    already_published: bool = False
    folder: str | None = None  # the edition's output folder (the review folder: ter controle)
    state: str | None = None  # the edition's state after the close (ter_controle)
    review_run: str | None = None  # the id of the release run that waits for the reviewer

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"editie": self.edition, "gesloten": self.closed}
        if self.edition is None:
            return data
        return data | {
            "huishoudens": self.households,
            "al_gepubliceerd": self.already_published,  # nothing changed: closed before this
            "status": self.state,
            "map": self.folder,
            "beoordeling": self.review_run,
        }


@dataclass(frozen=True)
class ReleaseSummary:
    """What the release flow reports: the edition's state after the reviewer's decision."""

    edition: str
    state: str
    released_by: tuple[str, ...] = ()
    folder: str | None = None
    message: str | None = None  # why the decision was not applied (the edition moved on)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"editie": self.edition, "status": self.state}
        if self.message is not None:
            return data | {"melding": self.message}
        return data | {"vrijgegeven_door": list(self.released_by), "map": self.folder}
