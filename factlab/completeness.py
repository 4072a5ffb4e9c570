"""Whether an open edition may close: which expected partners are missing, and what else is wrong.

Step 1 of a close (:mod:`factlab.closing`), and what ``factlab status`` shows while the
aanleverperiode runs. An edition that fails is refused unless the analyst closes it explicitly
as incomplete with a reason, which the report then states; a problem (nothing accepted yet) no
reason overrides.
"""

from __future__ import annotations

from dataclasses import dataclass

from factlab.config import EditionConfig
from factlab.connectors.limits import percent_nl
from factlab.safe_text import neutralise
from factlab.schemas.audit import CompletenessRecord, MissingPartner
from factlab.schemas.records import PROCESSED, QUARANTINED, EditionState, total_counts

#: Above this share of accepted rows outside the gemeente or not placeable, the edition is
#: implausible (a wrong [editie] gemeente, or the wrong address table) and closing refuses it.
MAX_UNPLACED_SHARE = 0.5


@dataclass(frozen=True)
class Missing:
    """An expected partner without an accepted delivery, and why (in Dutch)."""

    organisation: str
    name: str
    reason: str

    def record(self) -> MissingPartner:
        return MissingPartner(self.organisation, neutralise(self.name), self.reason)


@dataclass(frozen=True)
class Completeness:
    """Whether an edition may close: who is missing, and what else is wrong."""

    missing: tuple[Missing, ...]
    problems: tuple[str, ...]  # reasons no explicit "incomplete" can override
    warnings: tuple[str, ...]  # reasons an explicit "incomplete" close may override

    @property
    def complete(self) -> bool:
        return not (self.missing or self.problems or self.warnings)

    def record(self, incomplete_reason: str | None) -> CompletenessRecord:
        """As ``audit.json`` records it, with the analyst's reason for closing it anyway."""
        return CompletenessRecord(
            self.complete,
            tuple(m.record() for m in self.missing),
            self.warnings,
            incomplete_reason,
        )


def assess(state: EditionState, config: EditionConfig) -> Completeness:
    """Completeness of an open edition (see the module docstring)."""
    current = state.current()
    accepted = [d for d in current if d.status == PROCESSED]
    missing = []
    for organisation in state.expected:
        own = [d for d in current if d.organisation == organisation]
        name = config.partner(organisation).naam
        if any(d.status == PROCESSED for d in own):
            continue
        quarantined = [d for d in own if d.status == QUARANTINED]
        reason = (
            f"in quarantaine: {quarantined[-1].receipt.reason}"
            if quarantined
            else "niets aangeleverd"
        )
        missing.append(Missing(organisation, name, reason))
    problems = [] if accepted else ["er is nog geen enkele aanlevering geaccepteerd"]
    warnings = []
    totals = total_counts([d.receipt for d in accepted])
    if totals["geaccepteerd"]:
        unplaced = (totals["niet_geplaatst"] + totals["buiten_gemeente"]) / totals["geaccepteerd"]
        if unplaced > MAX_UNPLACED_SHARE:
            warnings.append(
                f"{percent_nl(unplaced)} van de geaccepteerde rijen ligt buiten gemeente "
                f"{config.gemeente_code} of staat niet in de adrestabel; klopt [editie] gemeente, "
                "en is [referentie] adressen de goede tabel?"
            )
    return Completeness(tuple(missing), tuple(problems), tuple(warnings))


def refusal(completeness: Completeness, edition: str) -> str:
    """The Dutch message when closing is refused."""
    lines = [f"editie {edition!r} kan niet worden gesloten:"]
    lines += [f"  - {problem}" for problem in completeness.problems]
    lines += [f"  - {m.name} ({m.organisation}): {m.reason}" for m in completeness.missing]
    lines += [f"  - {warning}" for warning in completeness.warnings]
    if not completeness.problems:
        lines.append(
            "Wacht op de ontbrekende aanleveringen, of sluit de editie bewust als onvolledig met "
            '--onvolledig "reden"; het rapport vermeldt dan wie ontbreekt en waarom.'
        )
    return "\n".join(lines)
