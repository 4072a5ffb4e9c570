"""The Prefect flow that runs one Factlab edition.

The flow is a thin shell around :func:`factlab.edition.run_edition`: intake, pseudonymisation
and linking run inside one task because the key and the staging folder must not outlive or
leave that task (Prefect may persist task inputs and results; a key refuses to be serialised,
and the staging folder is removed when the task ends). What Prefect records (parameters, logs,
the summary artifact) is de-identified: counts, file names and paths only.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from factlab.edition import RunSettings, run_edition
from factlab.errors import FactlabError, unexpected
from factlab.keys import ephemeral_key, managed_key_from_environment


@task(name="editie-verwerken", retries=0, persist_result=False, cache_policy=None)
def process_edition(
    settings: RunSettings, key_mode: Literal["ephemeral", "managed"]
) -> dict[str, Any]:
    """Run the edition; the key is made and dropped inside this task."""
    logger = get_run_logger()
    edition = settings.edition
    key = managed_key_from_environment(edition) if key_mode == "managed" else ephemeral_key()

    def progress(what: str, done: int, total: int) -> None:
        logger.info("%s (%d/%d)", what, done, total)

    try:
        result = run_edition(settings, key, progress)
    except FactlabError:
        raise  # a user mistake: its message names file, row and rule, never a value
    except Exception as error:
        # Prefect stores the message and traceback of a failed task; a bug's message may
        # quote data, so only a redacted description leaves this task.
        raise RuntimeError(unexpected(error)) from None
    return {
        "editie": edition,
        "map": str(result.edition_dir),
        "huishoudens": result.households,
        "bestanden": result.status_counts(),
        "al_gepubliceerd": result.already_published,
    }


def _summary_markdown(summary: dict[str, Any]) -> str:
    files = "\n".join(f"| {status} | {n} |" for status, n in sorted(summary["bestanden"].items()))
    return (
        f"# Factlab editie {summary['editie']}\n\n"
        f"Huishoudens met een voorziening: **{summary['huishoudens']}**\n\n"
        f"| bestanden | aantal |\n|---|---|\n{files}\n\n"
        f"Resultaten: `{summary['map']}`\n"
    )


@flow(name="factlab-editie", log_prints=False)
def edition_flow(
    uploads: str,
    out: str,
    config: str,
    edition: str | None = None,
    period: str | None = None,
    key_mode: Literal["ephemeral", "managed"] = "ephemeral",
    replace: bool = False,
    max_rejected_share: float | None = None,
    settle_seconds: float | None = None,
) -> dict[str, Any]:
    """Process all uploads into an edition; ``edition`` defaults to the current month (2026-11).

    ``max_rejected_share`` and ``settle_seconds`` default to the config's ``[aanlevering]``.
    """
    name = edition or date.today().strftime("%Y-%m")
    settings = RunSettings.from_options(
        Path(config),
        uploads=Path(uploads),
        out=Path(out),
        edition=name,
        period=period,
        replace=replace,
        max_rejected_share=max_rejected_share,
        settle_seconds=settle_seconds,
    )
    summary = process_edition(settings, key_mode)
    create_markdown_artifact(
        key=f"factlab-{name.lower().replace('.', '-').replace('_', '-')}",
        markdown=_summary_markdown(summary),
        description=f"Samenvatting van Factlab-editie {name}",
    )
    return summary
