"""Closing an edition and releasing it, as Prefect flows.

``factlab-sluiten`` closes: on a schedule at the end of the aanleverperiode, or on demand.
Each stage of the close is its own task, so Prefect times it and can retry it; only the link
task ever holds the pseudonymisation key, which it makes and drops itself (a key refuses to be
serialised, and nothing is persisted). The edition's lock is held for the whole close: a second
close of the same edition waits for the first, then finds it closed and changes nothing. The
close ends with the edition ter controle, nothing published; run from a deployment, it starts a
run of ``factlab-vrijgeven``.

``factlab-vrijgeven`` is the human release step: a paused flow run whose form in the Prefect UI
asks the reviewer's name, the decision (vrijgeven/afwijzen) and, for a rejection, the reason;
on resume it applies the decision with the same function as ``factlab vrijgeven`` and pauses
again while another reviewer is needed or the input was refused (the reason is shown in the
form). It is a separate deployment without a concurrency limit: a run waiting for days must not
hold the close's slot (Prefect revokes a paused run's concurrency lease and then crashes it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from pydantic import Field

from factlab.closing import Closing, begin_close
from factlab.edition import (
    RunResult,
    account,
    edition_status,
    editions_in,
    resolve_edition,
    review_edition,
)
from factlab.errors import FactlabError
from factlab.files import set_umask
from factlab.keys import ephemeral_key, managed_key_from_environment
from factlab.pipelines.common import (
    artifact_key,
    factlab_warnings_in_prefect,
    publish_status_artifact,
    redacted,
    settings,
)
from factlab.review import Closed, review_dir
from factlab.safe_text import neutralise
from factlab.schemas.audit import CloseSummary, ReleaseSummary
from factlab.schemas.records import OPEN, UNDER_REVIEW
from factlab.workspace import Workspace

KeyMode = Literal["ephemeral", "managed"]
RELEASE_FLOW = "factlab-vrijgeven"
RELEASE_DEPLOYMENT = "vrijgeven"
REVIEW_SECONDS = 14 * 24 * 3600  # a paused release waits two weeks, then fails (nothing lost)
#: Seconds between a paused release run's checks whether the reviewer has answered: how long a
#: decision waits before it is applied. :data:`REVIEW_POLL_VARIABLE` in the worker's environment
#: may set it (a whole number of seconds, at least 1); 5 keeps a server with a paused run per
#: gemeente light (docs/schaal.md: 342 gemeenten on one server).
REVIEW_POLL_SECONDS = 5
REVIEW_POLL_VARIABLE = "FACTLAB_REVIEW_POLL_SECONDS"


@task(name="koppelen", persist_result=False, cache_policy=NO_CACHE)
@redacted
def link_task(closing: Closing, key_mode: KeyMode) -> int:
    """Pseudonymise and link per household; the key lives inside this task only."""
    edition = closing.state.edition
    key = managed_key_from_environment(edition) if key_mode == "managed" else ephemeral_key()
    return closing.link(key)


@task(name="huishoudens-aanbieden", persist_result=False, cache_policy=NO_CACHE)
@redacted
def households_task(closing: Closing) -> None:
    """Hand the household table to its quality suite, which runs beside the next task."""
    closing.check_households()


@task(name="tabellen-publiceren", persist_result=False, cache_policy=NO_CACHE)
@redacted
def tables_task(closing: Closing) -> None:
    closing.publish_tables()


@task(
    name="kwaliteit-controleren",
    retries=1,
    retry_delay_seconds=5,
    persist_result=False,
    cache_policy=NO_CACHE,
)
@redacted
def quality_task(closing: Closing) -> None:
    """The verdict of both suites (Great Expectations, in its own process)."""
    closing.check_quality()


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
    door: str | None = None,
) -> CloseSummary:
    """Sluit de editie: koppel de geaccepteerde aanleveringen en maak tabellen en rapport, ter controle.

    Publiceren gebeurt pas als een beoordelaar de editie vrijgeeft: in de run van
    'factlab-vrijgeven' die dit sluiten start (een formulier in de UI), of met 'factlab vrijgeven'.

    Args:
        uploads: Uploadmap met per organisatie een submap (--uploads).
        out: Uitvoermap; de editie komt na vrijgave in <out>/<editie>/ (--out).
        edition: Naam van de editie; leeg: de enige open editie in de uitvoermap (--edition).
        config: Configuratie factlab.toml; leeg: naast de uploadmap (--config).
        key_mode: ephemeral (sleutel verdwijnt na het sluiten) of managed (FACTLAB_KEY).
        onvolledig: Sluit bewust onvolledig, met deze reden; het rapport noemt wie ontbreekt.
        door: Naam van de analist die sluit (standaard het systeemaccount); mag niet zelf vrijgeven.
    """
    if edition is None and not editions_in(Path(out), (OPEN,)):
        # Nothing to close: a schedule or a second request after the close already ran.
        get_run_logger().warning("er is geen open editie in %s; er is niets gesloten", out)
        return CloseSummary(edition=None, closed=False)
    run_settings = redacted(settings)(uploads, out, edition, config)
    with (
        Workspace(run_settings.out, run_settings.edition, wait=True) as workspace,
        factlab_warnings_in_prefect(),
    ):
        closing = redacted(begin_close)(
            workspace, run_settings.config, onvolledig, door or account()
        )
        if isinstance(closing, Closing):
            try:
                link_task(closing, key_mode)
                households_task(closing)
                tables_task(closing)
                report_task(closing)
                quality_task(closing)
            except BaseException:
                closing.cancel()
                raise
            closed = finish_task(closing)
        else:
            closed = closing
    publish_status_artifact(edition_status(run_settings))
    report = (closed.edition_dir / "rapport.html").resolve()
    under_review = closed.state.state == UNDER_REVIEW
    create_link_artifact(
        key=artifact_key("factlab-rapport", run_settings.edition),
        link=report.as_uri(),
        link_text=f"Rapport editie {run_settings.edition}"
        + (" (ter controle, niet gepubliceerd)" if under_review else ""),
    )
    review_run = None
    if under_review and not closed.already:
        review_run = _start_review(run_settings.out, run_settings.edition)
    return CloseSummary(
        edition=run_settings.edition,
        closed=not closed.already,
        households=closed.households,
        already_published=closed.already,
        folder=str(closed.edition_dir),
        state=closed.state.state,
        review_run=review_run,
    )


def _start_review(out: Path, edition: str) -> str | None:
    """From a deployment, start the release run that waits for the reviewer; its id."""
    from prefect.deployments import run_deployment
    from prefect.runtime import deployment

    logger = get_run_logger()
    hint = (
        f"editie {edition} staat ter controle; een beoordelaar geeft haar vrij met "
        f"'factlab vrijgeven --out {out} --editie {edition} --door NAAM'"
    )
    if not deployment.id:
        logger.warning("%s (dit sluiten liep niet vanuit een deployment)", hint)
        return None
    try:
        run: FlowRun = run_deployment(  # type: ignore[assignment]  # sync context: a FlowRun
            name=f"{RELEASE_FLOW}/{RELEASE_DEPLOYMENT}",
            parameters={"out": str(out), "edition": edition},
            timeout=0,
            as_subflow=False,
        )
    except Exception as error:  # no such deployment: say how to release instead
        logger.warning(
            "%s (deployment %s niet gestart: %s)", hint, RELEASE_DEPLOYMENT, type(error).__name__
        )
        return None
    logger.info(
        "editie %s staat ter controle; de beoordelaar beslist in flow run %s (%s)",
        edition, run.name, run.id,
    )  # fmt: skip
    return str(run.id)


class Beoordeling(RunInput):
    """The reviewer's input: the form the Prefect UI shows on the paused release run."""

    beoordelaar: str = Field(
        description="Uw naam (zoals in [vrijgave] beoordelaars, als die er staan); niet de "
        "analist die de editie sloot."
    )
    besluit: Literal["vrijgeven", "afwijzen"] = Field(
        description="vrijgeven: rapport en tabellen worden gepubliceerd en de ruwe aanleveringen "
        "verwijderd. afwijzen: de editie gaat terug naar de analist, met uw reden."
    )
    reden: str | None = Field(
        default=None,
        description="Verplicht bij afwijzen: wat moet de analist nakijken of aanpassen? Noem "
        "geen adressen of personen.",
    )


def _form(out: Path, edition: str, problem: str | None) -> str:
    """The text above the form: what to review, where, and what the rules are."""
    state = Workspace(out, edition).load()
    releases = [neutralise(d.reviewer) for d in state.releases()]
    folder = review_dir(out, edition).resolve()
    lines = [
        f"## Editie {edition} staat ter controle",
        "",
        f"Gesloten door {neutralise(state.closed_by or 'onbekend')} op {state.closed}. Bekijk "
        f"rapport en tabellen in `{folder}` (rapport: {(folder / 'rapport.html').as_uri()}).",
        "",
        f"Nodig: {state.reviews_required} vrijgave(n) van verschillende beoordelaars; al "
        f"vrijgegeven door: {', '.join(releases) or 'nog niemand'}. Wie sloot, mag niet "
        "vrijgeven. Uw naam en besluit worden vastgelegd (audit.json, openbaarmaking.json).",
    ]
    if problem:
        lines += ["", f"**Vorige invoer niet verwerkt:** {problem}"]
    return "\n".join(lines)


def _summary(result: RunResult, edition: str) -> ReleaseSummary:
    return ReleaseSummary(
        edition=edition,
        state=result.state,
        released_by=tuple(result.released_by),
        folder=str(result.edition_dir),
    )


def review_poll_seconds(environment: Mapping[str, str]) -> int:
    """:data:`REVIEW_POLL_SECONDS`, or the whole number of seconds ``environment`` sets."""
    text = environment.get(REVIEW_POLL_VARIABLE, "").strip()
    if not text:
        return REVIEW_POLL_SECONDS
    if not text.isdigit() or int(text) < 1:
        raise FactlabError(
            f"{REVIEW_POLL_VARIABLE} moet een heel aantal seconden zijn, minstens 1 (nu {text!r})"
        )
    return int(text)


@flow(name=RELEASE_FLOW, log_prints=False, validate_parameters=True)
def release_flow(out: str, edition: str | None = None) -> ReleaseSummary:
    """Vrijgeven of afwijzen: wacht op het besluit van een beoordelaar over een editie ter controle.

    De run pauzeert met een formulier (naam, besluit, reden). Vrijgeven publiceert rapport en
    tabellen in <out>/<editie>/ zodra genoeg beoordelaars hebben vrijgegeven; afwijzen zet de
    editie terug naar de analist, met de reden.

    Args:
        out: Uitvoermap (--out).
        edition: Naam van de editie; leeg: de enige editie die ter controle staat (--edition).
    """
    set_umask()
    out_path = Path(out)
    logger = get_run_logger()
    poll_seconds = review_poll_seconds(os.environ)
    name = redacted(resolve_edition)(out_path, edition, (UNDER_REVIEW,))
    problem: str | None = None
    while True:
        status = redacted(_form)(out_path, name, problem)
        try:
            answer = pause_flow_run(
                wait_for_input=Beoordeling.with_initial_data(description=status),
                timeout=REVIEW_SECONDS,
                poll_interval=poll_seconds,
            )
        except FlowPauseTimeout:
            raise FactlabError(
                f"niemand heeft editie {name} binnen {REVIEW_SECONDS // 86400} dagen beoordeeld; "
                "ze staat nog ter controle. Start deze deployment opnieuw of gebruik 'factlab "
                "vrijgeven'."
            ) from None
        reject = (answer.reden or "") if answer.besluit == "afwijzen" else None
        try:
            result = redacted(review_edition)(out_path, name, answer.beoordelaar, reject=reject)
        except FactlabError as error:
            logger.warning("besluit niet verwerkt: %s", error)
            problem = str(error)
            if name not in redacted(editions_in)(out_path, (UNDER_REVIEW,)):
                return ReleaseSummary(edition=name, state="niet ter controle", message=problem)
            continue
        logger.info(
            "editie %s: %s door %s", name,
            "afgewezen" if reject is not None else "vrijgave vastgelegd",
            neutralise(answer.beoordelaar),
        )  # fmt: skip
        if result.state != UNDER_REVIEW:
            return _summary(result, name)
        problem = None  # recorded; another reviewer is needed
