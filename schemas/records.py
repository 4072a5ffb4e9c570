"""Typed records that cross module boundaries: receipts, deliveries and the edition's state.

Each record is a frozen dataclass with one serialisation (``as_json``/``from_json``) to the
Dutch JSON that partners, auditors and the edition's workspace read, so no module builds or
picks apart these dicts by hand. Records hold counts, row numbers, rule codes, display-safe
file names and times: never a cell value, an address, a pseudonym or a hash of file content
(a hash of a small upload can be recovered by enumerating addresses; see docs/privacy.md).

This module is a leaf: it imports nothing from the stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from factlab.schemas.receipt import COUNT_KEYS

#: What happened to an upload. ``verwerkt``: accepted, counts in the edition;
#: ``quarantaine``: refused whole; ``dubbele_aanlevering``: same bytes as an earlier delivery;
#: ``vervangen``: superseded by a later upload under the same name; ``ingetrokken``: withdrawn.
Status = Literal["verwerkt", "quarantaine", "dubbele_aanlevering", "vervangen", "ingetrokken"]
PROCESSED: Status = "verwerkt"
QUARANTINED: Status = "quarantaine"
DUPLICATE_UPLOAD: Status = "dubbele_aanlevering"
SUPERSEDED: Status = "vervangen"
WITHDRAWN: Status = "ingetrokken"
#: Statuses of a delivery that still belongs to the edition's final set.
CURRENT: frozenset[str] = frozenset({PROCESSED, QUARANTINED, DUPLICATE_UPLOAD})


@dataclass(frozen=True)
class Rejection:
    """One broken rule on one row (Excel row number, column, rule code, Dutch explanation)."""

    row: int
    column: str
    rule: str
    explanation: str

    def as_json(self) -> dict[str, Any]:
        return {
            "rij": self.row,
            "kolom": self.column,
            "regel": self.rule,
            "toelichting": self.explanation,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rejection:
        return cls(
            int(data["rij"]), str(data["kolom"]), str(data["regel"]), str(data["toelichting"])
        )


@dataclass(frozen=True)
class Receipt:
    """What happened to one upload, as the partner and the auditor read it."""

    organisation: str
    organisation_name: str
    file: str  # display-safe file name (escaped, shortened)
    delivery: str  # the delivery's id in this edition, e.g. "L0003"
    status: Status
    received: str  # ISO time the check saw the file
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    provisions: dict[str, int] = field(default_factory=dict)  # accepted rows per provision code
    rejections: tuple[Rejection, ...] = ()
    file_format: dict[str, str | None] | None = None
    reason: str | None = None
    replaces: str | None = None  # id of the delivery this upload superseded
    blank_rows: int = 0  # empty rows below the header: rows in the file = rijen_gelezen + these

    def with_status(self, status: Status, reason: str | None = None) -> Receipt:
        return replace(self, status=status, reason=reason if reason is not None else self.reason)

    def as_published(self) -> Receipt:
        """The receipt as the edition publishes it (``audit.json``): without its rejections and
        its time of receipt, so a rerun of the same deliveries publishes the same bytes."""
        if not self.rejections and not self.received:
            return self
        return replace(self, rejections=(), received="")

    def as_json(self, *, rejections: bool = True, received: bool = True) -> dict[str, Any]:
        """The Dutch JSON; the edition's published copy leaves the time of receipt out, so a
        rerun of the same deliveries publishes the same bytes."""
        data: dict[str, Any] = {
            "organisatie": self.organisation,
            "organisatie_naam": self.organisation_name,
            "bestand": self.file,
            "levering": self.delivery,
            "status": self.status,
        }
        if received:
            data["ontvangen"] = self.received
        if self.replaces:
            data["vervangt"] = self.replaces
        if self.reason:
            data["reden"] = self.reason
        if self.file_format is not None:
            data["formaat"] = self.file_format
        data |= {key: int(self.counts.get(key, 0)) for key in COUNT_KEYS}
        data["lege_rijen"] = self.blank_rows
        data["voorzieningen"] = dict(sorted(self.provisions.items()))
        if rejections:
            data["afwijzingen"] = [r.as_json() for r in self.rejections]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Receipt:
        return cls(
            organisation=str(data["organisatie"]),
            organisation_name=str(data["organisatie_naam"]),
            file=str(data["bestand"]),
            delivery=str(data["levering"]),
            status=data["status"],
            received=str(data.get("ontvangen", "")),
            counts={key: int(data.get(key, 0)) for key in COUNT_KEYS},
            provisions={str(k): int(v) for k, v in dict(data.get("voorzieningen", {})).items()},
            rejections=tuple(Rejection.from_json(r) for r in data.get("afwijzingen", [])),
            file_format=data.get("formaat"),
            reason=data.get("reden"),
            replaces=data.get("vervangt"),
            blank_rows=int(data.get("lege_rijen", 0)),
        )


def total_counts(receipts: list[Receipt]) -> dict[str, int]:
    """Counts summed over receipts, in the published order."""
    return {key: sum(r.counts.get(key, 0) for r in receipts) for key in COUNT_KEYS}


@dataclass(frozen=True)
class Delivery:
    """One upload the edition took in: where its file waits, and its receipt.

    ``name`` is the file name exactly as the partner wrote it (possibly not valid UTF-8, kept
    with surrogate escapes); it only ever reaches the partner's own feedback folder and the
    workspace, shown escaped. ``stored`` is the raw file's path inside the workspace (deleted
    when the edition is published), ``rows`` the checked rows waiting for the close.
    """

    id: str
    organisation: str
    name: str
    size: int
    stored: str | None  # relative to the workspace; None once removed
    rows: str | None  # relative to the workspace; the checked, placed rows (parquet)
    receipt: Receipt
    consumed: bool = False  # the upload was removed from the partner's folder

    @property
    def status(self) -> Status:
        return self.receipt.status

    def as_json(self, *, rejections: bool = True) -> dict[str, Any]:
        """The Dutch JSON; without the receipt's ``rejections`` where they are kept apart."""
        return {
            "id": self.id,
            "organisatie": self.organisation,
            "naam": self.name,
            "grootte": self.size,
            "opgeslagen": self.stored,
            "rijen": self.rows,
            "opgeruimd": self.consumed,
            "ontvangstbewijs": self.receipt.as_json(rejections=rejections),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Delivery:
        return cls(
            id=str(data["id"]),
            organisation=str(data["organisatie"]),
            name=str(data["naam"]),
            size=int(data["grootte"]),
            stored=data.get("opgeslagen"),
            rows=data.get("rijen"),
            receipt=Receipt.from_json(data["ontvangstbewijs"]),
            consumed=bool(data.get("opgeruimd", False)),
        )


#: An edition's life: ``open`` (collecting deliveries) -> ``ter_controle`` (closed, its outputs
#: waiting for review) -> ``gepubliceerd`` (released by the reviewers). A rejection returns a
#: ``ter_controle`` edition to ``open``.
State = Literal["open", "ter_controle", "gepubliceerd"]
OPEN: State = "open"
UNDER_REVIEW: State = "ter_controle"
PUBLISHED: State = "gepubliceerd"

#: A reviewer's decision on an edition that is ``ter_controle``.
Verdict = Literal["vrijgegeven", "afgewezen"]
RELEASED: Verdict = "vrijgegeven"
REJECTED: Verdict = "afgewezen"


@dataclass(frozen=True)
class Decision:
    """One reviewer's decision on one close (``round``: the n-th time the edition was closed).

    ``account`` is the operating-system account that recorded it, kept in the workspace only.
    """

    reviewer: str
    verdict: Verdict
    time: str
    round: int
    reason: str | None = None
    account: str | None = None

    def as_json(self, *, account: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "beoordelaar": self.reviewer,
            "besluit": self.verdict,
            "tijd": self.time,
            "ronde": self.round,
            "reden": self.reason,
        }
        if account:
            data["account"] = self.account
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        return cls(
            reviewer=str(data["beoordelaar"]),
            verdict=data["besluit"],
            time=str(data["tijd"]),
            round=int(data["ronde"]),
            reason=data.get("reden"),
            account=data.get("account"),
        )


@dataclass(frozen=True)
class EditionState:
    """The workspace's record of an edition: settings fixed at opening, and every delivery."""

    edition: str
    state: State
    opened: str
    uploads: str  # absolute path of the upload folder
    config: str  # absolute path of factlab.toml
    period: dict[str, str] | None
    expected: tuple[str, ...]
    deliveries: tuple[Delivery, ...] = ()
    closed: str | None = None
    incomplete_reason: str | None = None  # set when the analyst closed it as incomplete
    closed_by: str | None = None  # the analyst who closed it (may not release it)
    round: int = 0  # how often the edition was closed (for review)
    reviews_required: int = 0  # distinct releases this round needs, fixed when it closed
    reviewers: tuple[str, ...] = ()  # who may release this round (empty: anyone named but the
    # analyst), fixed when it closed from [vrijgave] beoordelaars
    decisions: tuple[Decision, ...] = ()  # every reviewer's decision, every round

    def next_id(self) -> str:
        return f"L{len(self.deliveries) + 1:04d}"

    def current(self) -> list[Delivery]:
        """The deliveries in the edition's final set, in (organisation, name) order."""
        return sorted(
            (d for d in self.deliveries if d.status in CURRENT),
            key=lambda d: (d.organisation, d.name),
        )

    def releases(self) -> list[Decision]:
        """This round's releases, one per reviewer, in order."""
        return [d for d in self.decisions if d.round == self.round and d.verdict == RELEASED]

    @property
    def released(self) -> bool:
        """Enough reviewers released the outputs under review (publishing may be under way)."""
        return self.state == PUBLISHED or (
            self.state == UNDER_REVIEW
            and self.reviews_required > 0
            and len(self.releases()) >= self.reviews_required
        )

    def last_rejection(self) -> Decision | None:
        """The rejection that returned the edition to ``open``, if that is what happened last."""
        last = self.decisions[-1] if self.decisions else None
        return last if last and last.verdict == REJECTED and self.state == OPEN else None

    def as_json(self) -> dict[str, Any]:
        return {
            "editie": self.edition,
            "status": self.state,
            "geopend": self.opened,
            "uploads": self.uploads,
            "configuratie": self.config,
            "periode": self.period,
            "verwacht": list(self.expected),
            "gesloten": self.closed,
            "onvolledig": self.incomplete_reason,
            "gesloten_door": self.closed_by,
            "ronde": self.round,
            "vereiste_vrijgaven": self.reviews_required,
            "beoordelaars": list(self.reviewers),
            "beoordelingen": [d.as_json() for d in self.decisions],
            "leveringen": [d.as_json() for d in self.deliveries],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EditionState:
        return cls(
            edition=str(data["editie"]),
            state=data["status"],
            opened=str(data["geopend"]),
            uploads=str(data["uploads"]),
            config=str(data["configuratie"]),
            period=data.get("periode"),
            expected=tuple(data.get("verwacht", [])),
            deliveries=tuple(Delivery.from_json(d) for d in data.get("leveringen", [])),
            closed=data.get("gesloten"),
            incomplete_reason=data.get("onvolledig"),
            closed_by=data.get("gesloten_door"),
            round=int(data.get("ronde", 0)),
            reviews_required=int(data.get("vereiste_vrijgaven", 0)),
            reviewers=tuple(data.get("beoordelaars", [])),
            decisions=tuple(Decision.from_json(d) for d in data.get("beoordelingen", [])),
        )
