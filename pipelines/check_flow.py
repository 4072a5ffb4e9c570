"""Check on arrival, as a Prefect flow: triggered per new upload by ``factlab watch``.

The check needs no key: it validates, places and keeps the rows of each new delivery in the
edition's workspace, and writes the partner's receipt and feedback. Its artifact is the table
of deliveries per partner; quarantine warnings reach the run's log.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from factlab.edition import check_edition, edition_status
from factlab.pipelines.common import (
    factlab_warnings_in_prefect,
    publish_status_artifact,
    redacted,
    settings,
)
from factlab.receipts import status_counts
from factlab.schemas.audit import CheckSummary


@task(name="aanleveringen-controleren", persist_result=False, cache_policy=NO_CACHE)
@redacted
def check_task(
    uploads: str,
    out: str,
    edition: str | None,
    config: str | None,
    period: str | None,
    max_afgewezen: float | None,
    wachttijd: float | None,
) -> CheckSummary:
    """Check every complete new upload into the open edition; counts only leave the task."""
    run_settings = settings(uploads, out, edition, config, period, max_afgewezen, wachttijd)
    logger = get_run_logger()
    with factlab_warnings_in_prefect():
        result = check_edition(run_settings)
    for outcome in result.outcomes:
        logger.info(
            "%s: levering %s: %s",
            outcome.receipt.organisation,
            outcome.receipt.delivery,
            outcome.status,
        )
    publish_status_artifact(edition_status(run_settings))
    return CheckSummary(
        edition=run_settings.edition,
        files=status_counts(result.outcomes),
        skipped=len(result.skipped),
    )


@flow(name="factlab-controle", log_prints=False, validate_parameters=True)
def check_flow(
    uploads: str,
    out: str,
    edition: str | None = None,
    config: str | None = None,
    period: str | None = None,
    max_afgewezen: float | None = None,
    wachttijd: float | None = None,
) -> CheckSummary:
    """Controleer nieuwe aanleveringen bij aankomst (ontvangstbewijs en terugkoppeling per partner).

    Args:
        uploads: Uploadmap met per organisatie een submap (--uploads).
        out: Uitvoermap; de editie komt in <out>/<editie>/ (--out).
        edition: Naam van de editie; leeg: de enige open editie in de uitvoermap (--edition).
        config: Configuratie factlab.toml; leeg: naast de uploadmap (--config).
        period: Verslagperiode VAN:TOT; leeg: uit de configuratie (--period).
        max_afgewezen: Quarantaine boven dit aandeel afgewezen regels; leeg: uit de configuratie.
        wachttijd: Seconden dat een bestand onveranderd moet zijn; leeg: uit de configuratie.
    """
    return check_task(uploads, out, edition, config, period, max_afgewezen, wachttijd)
