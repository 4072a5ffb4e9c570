"""Review: a named reviewer releases a closed edition, or rejects it; the last release needed
publishes it.

A closed edition waits in ``<out>/.ter-controle/<edition>/`` (:mod:`factlab.closing` writes it).
Then (:func:`decide`; ``[vrijgave]`` in the config says who may and how many distinct reviewers
must, never the analyst who closed):

1. the decision is recorded in the state (who, when, which close, the reason of a rejection);
2. a rejection makes the edition ``open`` again (deliveries kept, so partners can deliver
   again and the analyst can close again) and deletes the review folder;
3. the last release needed adds the release record (``vrijgave``) to ``audit.json`` and
   ``openbaarmaking.json`` in the review folder and moves the folder to ``<out>/<edition>/`` in
   one rename; then the state becomes ``gepubliceerd`` and the workspace's raw files and rows are
   deleted.

A kill during (3) is finished by the next ``vrijgeven`` or ``close`` (the decision is already
recorded); a kill during (2) leaves an open edition whose stale review folder the next close
wipes.

Apart from the close because a decision reads, writes and moves a few files only: a reviewer's
command (``factlab vrijgeven``, ``afwijzen``) loads none of the pipeline, and starts in a
fraction of a second instead of one (tests/test_import_rules.py holds the CLI to that).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from factlab.checkpoints import checkpoint
from factlab.config import reviewer_name
from factlab.errors import FactlabError
from factlab.files import atomic_write_text, json_text
from factlab.safe_text import neutralise
from factlab.schemas.audit import RELEASE_KEY, AuditRecord, Release, ReleaseRecord
from factlab.schemas.outputs import AUDIT_FILE, CERTIFICATE
from factlab.schemas.records import (
    OPEN,
    PUBLISHED,
    REJECTED,
    RELEASED,
    Decision,
    EditionState,
)
from factlab.workspace import Workspace, now

#: Closed editions wait for review in ``<out>/.ter-controle/<edition>/``: not published yet.
REVIEW_FOLDER = ".ter-controle"
MAX_REVIEWER_NAME = 100


def review_dir(out: Path, edition: str) -> Path:
    """Where a closed edition waits for its reviewers (never inside ``<out>/<edition>/``)."""
    return out / REVIEW_FOLDER / edition


@dataclass(frozen=True)
class Closed:
    """A closed edition: where its outputs are (the review folder while it is ter controle,
    ``<out>/<edition>/`` once published), how many households, and its state."""

    edition_dir: Path
    households: int
    state: EditionState
    already: bool = False  # nothing changed: it was ter controle or published before this

    @property
    def published(self) -> bool:
        return self.state.state == PUBLISHED


def households_in(edition_dir: Path) -> int:
    """The households of the closed edition in ``edition_dir``, as its audit.json counts them."""
    return AuditRecord.read(edition_dir / AUDIT_FILE).totals.households


def release_record(state: EditionState) -> ReleaseRecord:
    """Who released this edition, for audit.json and openbaarmaking.json (no OS accounts)."""
    return ReleaseRecord(
        required=state.reviews_required,
        closed_by=state.closed_by,
        released_by=tuple(Release(d.reviewer, d.time) for d in state.releases()),
        earlier_rejections=sum(1 for d in state.decisions if d.verdict == REJECTED),
    )


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_released(workspace: Workspace, state: EditionState, review: Path) -> Closed:
    """Step 3: record the release in the outputs, move them into place in one rename, finish."""
    target = workspace.out / state.edition
    if (review / AUDIT_FILE).is_file():
        record = release_record(state)
        audit = review / AUDIT_FILE
        atomic_write_text(audit, AuditRecord.read(audit).released(record).to_text())
        certificate = review / CERTIFICATE
        if certificate.is_file():
            data = json.loads(certificate.read_text(encoding="utf-8"))
            data[RELEASE_KEY] = record.as_json()
            atomic_write_text(certificate, json_text(data))
        if target.exists():
            raise FactlabError(
                f"{target} bestaat al; Factlab publiceert er niet overheen. Verplaats die map "
                f"en geef de editie opnieuw vrij."
            )
        os.rename(review, target)  # one filesystem: all of it appears at once
        _sync_folder(workspace.out)
        checkpoint("verplaatst")
    elif not (target / AUDIT_FILE).is_file():
        raise FactlabError(
            f"de uitvoer van editie {state.edition!r} ter controle ontbreekt ({review}); wijs "
            "de editie af, dan kan de analist haar opnieuw sluiten"
        )
    return _finish(workspace, state, target)


def _finish(workspace: Workspace, state: EditionState, edition_dir: Path) -> Closed:
    """The state says published; raw files, rows and partner-chosen names go."""
    deliveries = tuple(replace(d, name="", stored=None, rows=None) for d in state.deliveries)
    published = replace(state, state=PUBLISHED, deliveries=deliveries)
    workspace.save(published)
    checkpoint("opruimen")
    workspace.clear_personal_data()
    return Closed(edition_dir, households_in(edition_dir), published)


def already_published(workspace: Workspace, state: EditionState) -> Closed:
    """A published edition: nothing changes (a kill may have left raw files: they go now)."""
    workspace.clear_personal_data()
    edition_dir = workspace.out / state.edition
    return Closed(edition_dir, households_in(edition_dir), state, already=True)


def _same(a: str | None, b: str | None) -> bool:
    return (
        a is not None
        and b is not None
        and reviewer_name(a).casefold() == reviewer_name(b).casefold()
    )


def _check_reviewer(name: str, state: EditionState) -> None:
    """A user mistake in the reviewer's name is a clear Dutch error (step 1)."""
    shown = neutralise(name)
    if not name:
        raise FactlabError('geef de naam van de beoordelaar met --door "Voornaam Achternaam"')
    if len(name) > MAX_REVIEWER_NAME or not name.isprintable():
        raise FactlabError(
            f"de naam van de beoordelaar is ongeldig: hoogstens {MAX_REVIEWER_NAME} gewone tekens"
        )
    if state.reviewers and not any(_same(name, r) for r in state.reviewers):
        allowed = ", ".join(neutralise(r) for r in state.reviewers)
        raise FactlabError(
            f"{shown!r} mag editie {state.edition!r} niet beoordelen: de naam staat niet in "
            f"[vrijgave] beoordelaars van de configuratie (wel: {allowed})"
        )
    if _same(name, state.closed_by):
        raise FactlabError(
            f"{shown!r} heeft editie {state.edition!r} zelf gesloten; iemand anders moet haar "
            "beoordelen (vier ogen)"
        )
    if any(_same(name, d.reviewer) for d in state.releases()):
        still = state.reviews_required - len(state.releases())
        raise FactlabError(
            f"{shown!r} heeft editie {state.edition!r} al vrijgegeven; er is nog {still} "
            "vrijgave van een andere beoordelaar nodig"
        )


def decide(
    workspace: Workspace,
    reviewer: str,
    *,
    reject: str | None = None,
    account: str | None = None,
) -> Closed:
    """A reviewer releases the edition under review, or rejects it with ``reject`` as the reason
    (the steps of the module docstring; the workspace must be locked). Who may, and how many
    must, was fixed from ``[vrijgave]`` when the edition closed.

    A release that completes the required number publishes the edition; repeating the release
    of an edition already released (or published) finishes what a kill interrupted.
    """
    state = workspace.load()
    review = review_dir(workspace.out, state.edition)
    name = reviewer_name(reviewer)
    if state.state == PUBLISHED:
        if reject is not None:
            raise FactlabError(
                f"editie {state.edition!r} is al gepubliceerd; afwijzen kan niet meer"
            )
        return already_published(workspace, state)
    if state.state == OPEN:
        rejected = state.last_rejection()
        if rejected is not None:
            raise FactlabError(
                f"editie {state.edition!r} is afgewezen door {neutralise(rejected.reviewer)} "
                f"({rejected.time}): {neutralise(rejected.reason or '')}. Ze is weer open; de "
                "analist sluit haar opnieuw met 'factlab close'."
            )
        raise FactlabError(
            f"editie {state.edition!r} staat niet ter controle maar is nog open; de analist "
            "sluit haar eerst met 'factlab close'"
        )
    if state.released:  # a kill interrupted the release: finish it
        if reject is not None:
            raise FactlabError(
                f"editie {state.edition!r} is al vrijgegeven; afwijzen kan niet meer"
            )
        return publish_released(workspace, state, review)
    _check_reviewer(name, state)
    if not (review / AUDIT_FILE).is_file():
        raise FactlabError(
            f"de uitvoer van editie {state.edition!r} ter controle ontbreekt ({review}); wijs de "
            "editie af, dan kan de analist haar opnieuw sluiten"
        )
    households = households_in(review)
    if reject is not None:
        reason = " ".join(reject.split())
        if not reason:
            raise FactlabError(
                "geef bij afwijzen een reden: wat moet de analist nakijken of aanpassen?"
            )
        decision = Decision(name, REJECTED, now(), state.round, reason, account)
        reopened = replace(
            state,
            state=OPEN,
            decisions=(*state.decisions, decision),
            closed=None,
            closed_by=None,
            incomplete_reason=None,
            reviews_required=0,
            reviewers=(),
        )
        workspace.save(reopened)
        checkpoint("afgewezen")
        shutil.rmtree(review)  # derived; the next close writes it again
        return Closed(review, households, reopened)
    decision = Decision(name, RELEASED, now(), state.round, None, account)
    decided = replace(state, decisions=(*state.decisions, decision))
    workspace.save(decided)
    if not decided.released:
        return Closed(review, households, decided)
    checkpoint("vrijgegeven")
    return publish_released(workspace, decided, review)
