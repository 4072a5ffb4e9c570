"""An edition's life: open it, check deliveries as they arrive, see its status, close it once,
have it reviewed, publish it on release.

::

    open ──► (check on arrival)* ──► close ──► ter_controle ──► vrijgeven ──► gepubliceerd
     ▲        │ every upload: receipt + feedback in the partner's folder  │
     │        │ accepted: waits in the workspace; same name again: supersedes
     │        └ quarantined: the partner corrects and uploads again       │
     └──────────────────────── afwijzen (with a reason) ◄────────────────┘

Each step is a function here, used by the CLI and the Prefect flows alike; the work itself is
in :mod:`factlab.arrival` (check) and :mod:`factlab.closing` (close), the state and its lock in
:mod:`factlab.workspace`. ``run_edition`` is the one-shot path (open + check all + close) that
``factlab run`` and the demo use: by construction, its result equals an aanleverperiode that
ends with the same accepted files; like ``close`` it stops at ``ter_controle``. Only
:func:`review_edition` (``factlab vrijgeven``, or the reviewer's input to a paused Prefect run)
publishes. See docs/editie.md for the states and what a kill leaves.
"""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from factlab.completeness import Completeness, assess
from factlab.config import (
    MAX_REJECTED_SHARE,
    SETTLE_SECONDS,
    EditionConfig,
    Period,
    check_seconds,
    check_share,
    load_config,
)
from factlab.errors import FactlabError
from factlab.quality_helper import prestart as prestart_quality
from factlab.review import Closed, decide, review_dir
from factlab.schemas.outputs import HOUSEHOLDS_FILE
from factlab.schemas.records import (
    OPEN,
    PROCESSED,
    PUBLISHED,
    QUARANTINED,
    UNDER_REVIEW,
    Decision,
    EditionState,
    Receipt,
    total_counts,
)
from factlab.workspace import STATE_FILE, WORKSPACE_FOLDER, Workspace, now

# The check and the close (factlab.arrival, factlab.closing) are imported where they run: the
# commands that only read the state or record a decision (status, open, vrijgeven, afwijzen)
# then start without loading the pipeline (docs/schaal-rondes.md, ninth round).
if TYPE_CHECKING:
    from factlab.arrival import CheckResult, CheckSettings
    from factlab.intake import Skipped
    from factlab.keys import PseudonymKey
    from factlab.receipts import Outcome

EDITION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass(frozen=True)
class RunSettings:
    """Where an edition lives, with which configuration and period, and the delivery rules."""

    uploads: Path
    out: Path
    edition: str
    config: EditionConfig
    period: Period | None = None
    max_rejected_share: float = MAX_REJECTED_SHARE  # above this share a file is quarantined
    settle_seconds: float = SETTLE_SECONDS  # files modified more recently are left for later
    config_path: Path | None = None

    def __post_init__(self) -> None:
        check_share(self.max_rejected_share, "max_afgewezen")
        check_seconds(self.settle_seconds, "wachttijd")
        if not EDITION_PATTERN.match(self.edition):
            raise FactlabError(
                f"editienaam {self.edition!r} is ongeldig: gebruik letters, cijfers, '.', '_' of "
                "'-' (bijvoorbeeld 2026 of 2026-h1)"
            )

    @classmethod
    def from_options(
        cls,
        config_path: Path,
        *,
        uploads: Path,
        out: Path,
        edition: str,
        period: str | None = None,
        max_rejected_share: float | None = None,
        settle_seconds: float | None = None,
    ) -> RunSettings:
        """Settings from the config file, with the options a user gave taking precedence."""
        config = load_config(config_path)
        return cls(
            uploads=uploads,
            out=out,
            edition=edition,
            config=config,
            period=Period.parse(period) if period else config.period,
            max_rejected_share=config.max_rejected_share
            if max_rejected_share is None
            else max_rejected_share,
            settle_seconds=config.settle_seconds if settle_seconds is None else settle_seconds,
            config_path=config_path,
        )

    @property
    def check(self) -> CheckSettings:
        from factlab.arrival import CheckSettings

        return CheckSettings(
            self.uploads, self.config, self.period, self.max_rejected_share, self.settle_seconds
        )

    def expected(self) -> tuple[str, ...]:
        """The partners expected to deliver: ``[editie] verwacht``, else every configured one."""
        return tuple(sorted(self.config.expected_partners))


@dataclass
class RunResult:
    """Summary of a check or a close, for the CLI and the flows."""

    edition_dir: Path
    households: int
    outcomes: list[Outcome] = field(default_factory=list)
    already_published: bool = False  # nothing changed: ter controle or published before this
    skipped: list[Skipped] = field(default_factory=list)
    state: str = PUBLISHED  # ter_controle: edition_dir is the review folder, not published
    required: int = 0  # releases this round needs (while ter controle)
    released_by: tuple[str, ...] = ()  # this round's releases so far

    @classmethod
    def of(cls, closed: Closed) -> RunResult:
        return cls(
            closed.edition_dir,
            closed.households,
            already_published=closed.already,
            state=closed.state.state,
            required=closed.state.reviews_required,
            released_by=tuple(d.reviewer for d in closed.state.releases()),
        )

    @property
    def published(self) -> bool:
        return self.state == PUBLISHED

    @property
    def households_file(self) -> Path:
        return self.edition_dir / HOUSEHOLDS_FILE


def editions_in(out: Path, states: tuple[str, ...] = (OPEN,)) -> list[str]:
    """The names of the editions in ``out`` in one of ``states`` (default: open, collecting)."""
    names = []
    for path in sorted((out / WORKSPACE_FOLDER).glob(f"*/{STATE_FILE}")):
        if json.loads(path.read_text(encoding="utf-8")).get("status") in states:
            names.append(path.parent.name)
    return names


def open_editions(out: Path) -> list[str]:
    """The names of the editions in ``out`` that are open (collecting deliveries)."""
    return editions_in(out)


_STATE_WORDS: dict[str, str] = {
    OPEN: "open",
    UNDER_REVIEW: "ter controle",
    PUBLISHED: "gepubliceerd",
}


def resolve_edition(out: Path, edition: str | None, states: tuple[str, ...] = (OPEN,)) -> str:
    """The edition a command is about: the one named, or else the only one in ``out`` that is
    in one of ``states`` (default: open)."""
    if edition:
        return edition
    names = editions_in(out, states)
    words = " of ".join(_STATE_WORDS[s] for s in states)
    if len(names) == 1:
        return names[0]
    if not names:
        hint = (
            "open er een met 'factlab open --edition NAAM' (of noem de editie met --edition)"
            if states == (OPEN,)
            else "noem de editie met --edition"
        )
        raise FactlabError(f"er is geen editie die {words} is in {out}; {hint}")
    raise FactlabError(
        f"er zijn meerdere edities die {words} zijn in {out} ({', '.join(names)}); kies er een "
        "met --edition"
    )


def open_edition(settings: RunSettings, workspace: Workspace) -> EditionState:
    """Open the edition (the workspace must be locked); an open edition is returned as it is."""
    if workspace.exists():
        return workspace.load()
    if (settings.out / settings.edition).exists():
        raise FactlabError(
            f"editie {settings.edition!r} is al gepubliceerd; kies een nieuwe editienaam"
        )
    state = EditionState(
        edition=settings.edition,
        state=OPEN,
        opened=now(),
        uploads=str(settings.uploads.resolve()),
        config=str(settings.config_path.resolve()) if settings.config_path else "",
        period=settings.period.as_dict() if settings.period else None,
        expected=settings.expected(),
    )
    workspace.save(state)
    return state


def open_new(settings: RunSettings) -> EditionState:
    """Open an edition for its aanleverperiode (``factlab open``); an open one stays as it is."""
    with Workspace(settings.out, settings.edition) as workspace:
        return open_edition(settings, workspace)


def check_edition(
    settings: RunSettings,
    progress: Progress | None = None,
    *,
    spare_core: Callable[[], None] | None = None,
) -> CheckResult:
    """Check every complete new upload into the open edition (opening it if needed).

    ``spare_core`` is called when the check leaves a core free (at once, when it reads in this
    process alone; a large check, reading ahead, leaves none): a close that follows starts its
    quality helper there.
    """
    from factlab.arrival import check_uploads

    if not settings.uploads.is_dir():
        raise FactlabError(f"uploadmap {settings.uploads} bestaat niet")
    with Workspace(settings.out, settings.edition) as workspace:
        open_edition(settings, workspace)
        return check_uploads(workspace, settings.check, progress, spare_core=spare_core)


def close(
    settings: RunSettings,
    key: PseudonymKey,
    *,
    incomplete_reason: str | None = None,
    progress: Progress | None = None,
    closed_by: str | None = None,
) -> RunResult:
    """Close the open edition once, for review: it is published only by :func:`review_edition`.

    ``closed_by`` is the analyst (default: the operating-system account), who may not release it.
    """
    from factlab.closing import close_edition

    with Workspace(settings.out, settings.edition) as workspace:
        closed = close_edition(
            workspace, settings.config, key, incomplete_reason=incomplete_reason,
            progress=progress, closed_by=closed_by or account(),
        )  # fmt: skip
    return RunResult.of(closed)


def account() -> str | None:
    """The operating-system account running this process, recorded beside a named decision."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def review_edition(
    out: Path,
    edition: str,
    reviewer: str,
    *,
    reject: str | None = None,
) -> RunResult:
    """A named reviewer releases the edition under review (published once enough have), or
    rejects it with a reason (open again). Who may and how many must was fixed from
    ``[vrijgave]`` when the edition closed. See :func:`factlab.review.decide`."""
    with Workspace(out, edition) as workspace:
        closed = decide(workspace, reviewer, reject=reject, account=account())
    return RunResult.of(closed)


@dataclass(frozen=True)
class PartnerStatus:
    """One partner's line in ``factlab status``: never a file name's content, never an address."""

    organisation: str
    name: str
    expected: bool
    status: str  # geaccepteerd, quarantaine, ontbreekt, niet verwacht
    deliveries: int
    rows: int  # accepted rows in the current deliveries
    last_delivery: str | None
    reason: str | None
    placed_share: float | None = None  # accepted rows placed in a wijk of this gemeente


@dataclass(frozen=True)
class ReviewStatus:
    """Where the review stands: who closed, who released, how many more, the last rejection."""

    folder: Path  # the review folder (while ter controle)
    closed_by: str | None
    required: int
    released_by: tuple[str, ...]
    allowed: tuple[str, ...]  # [vrijgave] beoordelaars; empty: anyone but the analyst
    rejection: Decision | None  # the rejection that reopened the edition

    @property
    def still_needed(self) -> int:
        return max(0, self.required - len(self.released_by))


@dataclass(frozen=True)
class EditionStatus:
    """What ``factlab status`` shows: the edition's state, per partner, and whether it may close."""

    edition: str
    state: str
    partners: tuple[PartnerStatus, ...]
    completeness: Completeness | None  # None once closed
    review: ReviewStatus | None = None


def _placed_share(receipts: list[Receipt]) -> float | None:
    totals = total_counts(receipts)
    return totals["geplaatst"] / totals["geaccepteerd"] if totals["geaccepteerd"] else None


def edition_status(settings: RunSettings) -> EditionStatus:
    """The state of an edition per expected partner (reads; takes no lock)."""
    workspace = Workspace(settings.out, settings.edition)
    state = workspace.load()
    current = state.current()
    organisations = sorted(set(state.expected) | {d.organisation for d in state.deliveries})
    partners = []
    for organisation in organisations:
        own = [d for d in current if d.organisation == organisation]
        every = [d for d in state.deliveries if d.organisation == organisation]
        accepted = [d for d in own if d.status == PROCESSED]
        quarantined = [d for d in own if d.status == QUARANTINED]
        expected = organisation in state.expected
        if accepted:
            status, reason = "geaccepteerd", None
        elif quarantined:
            status, reason = "quarantaine", quarantined[-1].receipt.reason
        else:
            status, reason = ("ontbreekt" if expected else "niets geaccepteerd"), None
        if not expected and accepted:
            status = "geaccepteerd (niet verwacht)"
        partners.append(
            PartnerStatus(
                organisation=organisation,
                name=settings.config.partner(organisation).naam,
                expected=expected,
                status=status,
                deliveries=len(every),
                rows=sum(d.receipt.counts["geaccepteerd"] for d in accepted),
                last_delivery=max((d.receipt.received for d in every), default=None),
                reason=reason,
                placed_share=_placed_share([d.receipt for d in accepted]),
            )
        )
    completeness = assess(state, settings.config) if state.state == OPEN else None
    review = ReviewStatus(
        folder=review_dir(settings.out, state.edition),
        closed_by=state.closed_by,
        required=state.reviews_required,
        released_by=tuple(d.reviewer for d in state.releases()),
        allowed=state.reviewers
        if state.state == UNDER_REVIEW
        else settings.config.release.reviewers,
        rejection=state.last_rejection(),
    )
    return EditionStatus(state.edition, state.state, tuple(partners), completeness, review)


def run_edition(
    settings: RunSettings,
    key: PseudonymKey,
    progress: Progress | None = None,
    *,
    incomplete_reason: str | None = None,
    closed_by: str | None = None,
) -> RunResult:
    """One shot: open the edition, check every upload, close it for review (see the module
    docstring); it is published only when a reviewer releases it (:func:`review_edition`).

    On an edition that is already closed, new files are refused (they belong in a new
    edition, or wait for a rejection) and the edition is reported as it is.
    """
    # Great Expectations imports while the uploads are checked, on a core the check leaves free.
    checked = check_edition(settings, progress, spare_core=prestart_quality)
    closed = close(
        settings, key, incomplete_reason=incomplete_reason, progress=progress, closed_by=closed_by
    )
    closed.outcomes, closed.skipped = checked.outcomes, checked.skipped
    return closed
