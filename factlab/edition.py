"""An edition's life: open it, check deliveries as they arrive, see its status, close it once.

::

    open ──► (check on arrival)* ──► close ──► gepubliceerd
              │ every upload: receipt + feedback in the partner's folder
              │ accepted: waits in the workspace; same name again: supersedes
              └ quarantined: the partner corrects and uploads again

Each step is a function here, used by the CLI and the Prefect flows alike; the work itself is
in :mod:`factlab.arrival` (check) and :mod:`factlab.closing` (close), the state and its lock in
:mod:`factlab.workspace`. ``run_edition`` is the one-shot path (open + check all + close) that
``factlab run`` and the demo use: by construction, its result equals an aanleverperiode that
ends with the same accepted files. See docs/editie.md for the states and what a kill leaves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from factlab.arrival import CheckResult, CheckSettings, check_uploads
from factlab.closing import (
    AUDIT_FILE,
    HOUSEHOLDS_FILE,
    QUALITY_FOLDER,
    Completeness,
    assess,
    close_edition,
)
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
from factlab.intake import Skipped
from factlab.keys import PseudonymKey
from factlab.receipts import Outcome
from factlab.schemas.records import (
    OPEN,
    PROCESSED,
    QUARANTINED,
    EditionState,
    Receipt,
    total_counts,
)
from factlab.workspace import STATE_FILE, WORKSPACE_FOLDER, Workspace, now

__all__ = [
    "AUDIT_FILE",
    "HOUSEHOLDS_FILE",
    "KILL_POINTS",
    "QUALITY_FOLDER",
    "RunResult",
    "RunSettings",
]

EDITION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Where a test may kill a run: while reading the first upload, after recording a delivery,
#: after staging, after the household table, after the receipts, after audit.json, and
#: after the state says published (before the workspace is emptied).
KILL_POINTS = ("gelezen", "aangenomen", "gestaged", "huishoudens", "ontvangst", "audit", "opruimen")

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
    already_published: bool = False
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def households_file(self) -> Path:
        return self.edition_dir / HOUSEHOLDS_FILE


def open_editions(out: Path) -> list[str]:
    """The names of the editions in ``out`` that are open (collecting deliveries)."""
    names = []
    for path in sorted((out / WORKSPACE_FOLDER).glob(f"*/{STATE_FILE}")):
        if json.loads(path.read_text(encoding="utf-8")).get("status") == OPEN:
            names.append(path.parent.name)
    return names


def resolve_edition(out: Path, edition: str | None) -> str:
    """The edition a command is about: the one named, or else the only open one in ``out``."""
    if edition:
        return edition
    names = open_editions(out)
    if len(names) == 1:
        return names[0]
    if not names:
        raise FactlabError(
            f"er is geen open editie in {out}; open er een met 'factlab open --edition NAAM' "
            "(of noem de editie met --edition)"
        )
    raise FactlabError(
        f"er zijn meerdere open edities in {out} ({', '.join(names)}); kies er een met --edition"
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


def check_edition(settings: RunSettings, progress: Progress | None = None) -> CheckResult:
    """Check every complete new upload into the open edition (opening it if needed)."""
    if not settings.uploads.is_dir():
        raise FactlabError(f"uploadmap {settings.uploads} bestaat niet")
    with Workspace(settings.out, settings.edition) as workspace:
        open_edition(settings, workspace)
        return check_uploads(workspace, settings.check, progress)


def close(
    settings: RunSettings,
    key: PseudonymKey,
    *,
    incomplete_reason: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Close the open edition once and publish it."""
    with Workspace(settings.out, settings.edition) as workspace:
        closed = close_edition(
            workspace, settings.config, key, incomplete_reason=incomplete_reason, progress=progress
        )
    return RunResult(closed.edition_dir, closed.households, already_published=closed.already)


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
class EditionStatus:
    """What ``factlab status`` shows: the edition's state, per partner, and whether it may close."""

    edition: str
    state: str
    partners: tuple[PartnerStatus, ...]
    completeness: Completeness | None  # None once published


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
    return EditionStatus(state.edition, state.state, tuple(partners), completeness)


def run_edition(
    settings: RunSettings,
    key: PseudonymKey,
    progress: Progress | None = None,
    *,
    incomplete_reason: str | None = None,
) -> RunResult:
    """One shot: open the edition, check every upload, close it (see the module docstring).

    On an edition that is already published, new files are refused (they belong in a new
    edition) and the published edition is reported as it is.
    """
    checked = check_edition(settings, progress)
    closed = close(settings, key, incomplete_reason=incomplete_reason, progress=progress)
    closed.outcomes, closed.skipped = checked.outcomes, checked.skipped
    return closed
