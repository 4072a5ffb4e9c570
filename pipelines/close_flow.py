"""Closing an edition, as a Prefect flow: on a schedule at the end of the aanleverperiode, or
on demand.

Each stage of the close is its own task, so Prefect times it and can retry it; only the link
task ever holds the pseudonymisation key, which it makes and drops itself (a key refuses to be
serialised, and nothing is persisted). The edition's lock is held for the whole flow: a second
close of the same edition waits for the first, then finds it published and changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact
from prefect.cache_policies import NO_CACHE

from factlab.closing import Closed, Closing, begin_close
from factlab.edition import edition_status, open_editions
from factlab.keys import ephemeral_key, managed_key_from_environment
from factlab.pipelines.common import (
    artifact_key,
    factlab_warnings_in_prefect,
    publish_status_artifact,
    redacted,
    settings,
)
from factlab.schemas.audit import CloseSummary
from factlab.workspace import Workspace

KeyMode = Literal["ephemeral", "managed"]


@task(name="koppelen", persist_result=False, cache_policy=NO_CACHE)
@redacted
def link_task(closing: Closing, key_mode: KeyMode) -> int:
    """Pseudonymise and link per household; the key lives inside this task only."""
    edition = closing.state.edition
    key = managed_key_from_environment(edition) if key_mode == "managed" else ephemeral_key()
    return closing.link(key)


@task(name="huishoudens-controleren", persist_result=False, cache_policy=NO_CACHE)
@redacted
def households_task(closing: Closing) -> None:
    closing.check_households()


@task(name="tabellen-publiceren", persist_result=False, cache_policy=NO_CACHE)
@redacted
def tables_task(closing: Closing) -> None:
    closing.publish_tables()


@task(
    name="tabellen-controleren",
    retries=1,
    retry_delay_seconds=5,
    persist_result=False,
    cache_policy=NO_CACHE,
)
@redacted
def table_checks_task(closing: Closing) -> None:
    closing.check_tables()


@task(name="rapport", retries=1, retry_delay_seconds=5, persist_result=False, cache_policy=NO_CACHE)
@redacted
def report_task(closing: Closing) -> None:
    closing.publish_report()


@task(name="afronden", persist_result=False, cache_policy=NO_CACHE)
@redacted
def finish_task(closing: Closing) -> Closed:
    return closing.finish()


@flow(name="factlab-sluiten", log_prints=False, validate_parameters=True)
def close_flow(
    uploads: str,
    out: str,
    edition: str | None = None,
    config: str | None = None,
    key_mode: KeyMode = "ephemeral",
    onvolledig: str | None = None,
) -> CloseSummary:
    """Sluit de editie: koppel de geaccepteerde aanleveringen en publiceer tabellen en rapport.

    Args:
        uploads: Uploadmap met per organisatie een submap (--uploads).
        out: Uitvoermap; de editie komt in <out>/<editie>/ (--out).
        edition: Naam van de editie; leeg: de enige open editie in de uitvoermap (--edition).
        config: Configuratie factlab.toml; leeg: naast de uploadmap (--config).
        key_mode: ephemeral (sleutel verdwijnt na het sluiten) of managed (FACTLAB_KEY).
        onvolledig: Sluit bewust onvolledig, met deze reden; het rapport noemt wie ontbreekt.
    """
    if edition is None and not open_editions(Path(out)):
        # Nothing to close: a schedule or a second request after the close already ran.
        get_run_logger().warning("er is geen open editie in %s; er is niets gesloten", out)
        return CloseSummary(edition=None, closed=False)
    run_settings = redacted(settings)(uploads, out, edition, config)
    with (
        Workspace(run_settings.out, run_settings.edition, wait=True) as workspace,
        factlab_warnings_in_prefect(),
    ):
        closing = redacted(begin_close)(workspace, run_settings.config, onvolledig)
        if isinstance(closing, Closing):
            link_task(closing, key_mode)
            households_task(closing)
            tables_task(closing)
            table_checks_task(closing)
            report_task(closing)
            closed = finish_task(closing)
        else:
            closed = closing
    publish_status_artifact(edition_status(run_settings))
    report = (closed.edition_dir / "rapport.html").resolve()
    create_link_artifact(
        key=artifact_key("factlab-rapport", run_settings.edition),
        link=report.as_uri(),
        link_text=f"Rapport editie {run_settings.edition}",
    )
    return CloseSummary(
        edition=run_settings.edition,
        closed=not closed.already,
        households=closed.households,
        already_published=closed.already,
        folder=str(closed.edition_dir),
    )
