"""Published editions for the tests: the one way a test takes a synthetic gemeente to a
published edition, so a new step of the close (a release, say) is added here once."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from factlab.config import load_config
from factlab.edition import RunResult, RunSettings, review_edition, run_edition
from factlab.keys import PseudonymKey, ephemeral_key

REVIEWER = "Bea Beoordelaar"  # releases every edition the tests publish


def publish_edition(
    gemeente: Path,
    out: Path,
    edition: str = "2026",
    key: PseudonymKey | None = None,
    incomplete_reason: str | None = None,
) -> RunResult:
    """Run ``edition`` on the uploads of a synthetic gemeente (``factlab.toml`` beside them)
    and release it, so it is published in ``out``; the uploads are consumed."""
    config = load_config(gemeente / "factlab.toml")
    settings = RunSettings(gemeente / "uploads", out, edition, config, config.period)
    closed = run_edition(
        settings, ephemeral_key() if key is None else key, incomplete_reason=incomplete_reason
    )
    released = review_edition(out, edition, REVIEWER)
    return replace(released, outcomes=closed.outcomes, skipped=closed.skipped)


@dataclass(frozen=True)
class Published:
    """A published edition of a synthetic gemeente: ``root/gemeente`` and ``root/out``."""

    gemeente: Path
    result: RunResult

    @property
    def edition_dir(self) -> Path:
        return self.result.edition_dir

    @property
    def tables(self) -> Path:
        return self.result.edition_dir / "tabellen"
