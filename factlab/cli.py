"""The ``factlab`` command line: synthesise demo data, run an edition, or both (``demo``).

User mistakes (bad options, unreadable config, weak key) end with one clear Dutch message and
exit code 2, never a traceback. Long work shows a progress bar on a terminal.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from factlab.completeness import refusal
from factlab.edition import (
    EditionStatus,
    RunResult,
    RunSettings,
    check_edition,
    close,
    edition_status,
    open_new,
    resolve_edition,
    review_edition,
)
from factlab.errors import DEBUG_VARIABLE, FactlabError, unexpected
from factlab.files import set_umask
from factlab.keys import ephemeral_key, managed_key_from_environment
from factlab.launch import UPLOADS_OPTION
from factlab.quality_helper import prestart as prestart_quality
from factlab.safe_text import neutralise
from factlab.schemas.records import OPEN, PROCESSED, UNDER_REVIEW

if TYPE_CHECKING:
    from factlab.intake import Skipped
    from factlab.keys import PseudonymKey
    from factlab.receipts import Outcome

app = typer.Typer(
    help="Factlab: samenloop van voorzieningen per huishouden, privacyvriendelijk gekoppeld.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help names config sections like [vrijgave]: text, not markup
)
console = Console(stderr=True)

DEMO_MARKER = ".factlab-demo"
DEMO_EDITION = "demo-2026"
#: The demo's reviewer: the demo releases its synthetic edition itself, and says so.
DEMO_REVIEWER = "demo (automatisch, alleen voor demodata)"


class KeyModeOption(StrEnum):
    ephemeral = "ephemeral"
    managed = "managed"


@app.callback()
def main() -> None:
    """Factlab: samenloop van voorzieningen per huishouden, privacyvriendelijk gekoppeld."""
    set_umask()


@contextmanager
def _user_errors():
    """User mistakes: one clear message, exit 2. Bugs: a redacted message, exit 1."""
    try:
        yield
    except FactlabError as error:
        console.print(f"[bold red]Fout:[/] {escape(str(error))}")  # "[vrijgave]" is no markup
        raise typer.Exit(code=2) from None
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE) == "1":
            raise
        console.print(f"[bold red]Fout:[/] {unexpected(error)}")
        raise typer.Exit(code=1) from None


@contextmanager
def _progress_bar(description: str):
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        yield update


def _key(mode: KeyModeOption, edition: str) -> PseudonymKey:
    return (
        managed_key_from_environment(edition) if mode is KeyModeOption.managed else ephemeral_key()
    )


def _run(
    settings: RunSettings,
    key_mode: KeyModeOption,
    incomplete: str | None = None,
    closed_by: str | None = None,
) -> RunResult:
    """Check every upload (and say what happened to each), then close the edition for review."""
    key = _key(key_mode, settings.edition)
    with _progress_bar("controleren") as progress:
        checked = check_edition(settings, progress, spare_core=prestart_quality)
    _print_outcomes(checked.outcomes, checked.skipped)
    with _progress_bar("sluiten") as progress:
        return close(
            settings, key, incomplete_reason=incomplete, progress=progress, closed_by=closed_by
        )


def _print_outcomes(outcomes: list[Outcome], skipped: list[Skipped]) -> None:
    """What a check did, per upload; names shown escaped (they are the partners' own)."""
    from factlab.receipts import status_counts  # only after a check, which has loaded it

    summary = ", ".join(f"{n} {status}" for status, n in status_counts(outcomes).items())
    console.print(f"Bestanden: {summary or 'geen nieuwe'}")
    if not outcomes and not skipped:
        console.print(
            "  [yellow]Er stonden geen nieuwe bestanden in de uploadmap;[/] partners zetten hun "
            "bestanden in <uploadmap>/<organisatie>/ (zie docs/aanleverformaat.md)."
        )
    for outcome in outcomes:
        receipt = outcome.receipt
        if receipt.status != PROCESSED:
            console.print(
                f"  [yellow]{receipt.status}:[/] {outcome.upload.label} ({receipt.delivery}): "
                f"{receipt.reason or ''}",
                highlight=False,
                soft_wrap=True,
            )
        elif receipt.replaces:
            console.print(
                f"  vervangt {receipt.replaces}: {outcome.upload.label} ({receipt.delivery})"
            )
    for entry in skipped:
        console.print(
            f"  [yellow]overgeslagen:[/] {entry.label}: {entry.reason}",
            highlight=False,
            soft_wrap=True,
        )


def _review_commands(out: Path, edition: str) -> list[str]:
    where = f"--out {shlex.quote(str(out))} --editie {shlex.quote(edition)}"
    return [
        f'factlab vrijgeven {where} --door "Voornaam Achternaam"',
        f'factlab afwijzen  {where} --door "Voornaam Achternaam" --reden "wat moet anders"',
    ]


def _print_result(result: RunResult, out: Path, edition: str) -> None:
    if result.already_published:
        console.print(
            f"Editie stond al ter controle: {result.edition_dir}"
            if result.state == UNDER_REVIEW
            else f"Editie was al gepubliceerd: {result.edition_dir}"
        )
    console.print(f"Huishoudens met een voorziening: {result.households}")
    folder = result.edition_dir.resolve()
    if result.state == UNDER_REVIEW:
        console.print(
            f"[bold yellow]Editie {edition} is gesloten en staat ter controle:[/] nog niets is "
            f"gepubliceerd. Ter controle in: [bold]{folder}[/]"
        )
    else:
        console.print(f"Resultaten in: [bold]{folder}[/]")
    for path in sorted(folder.iterdir()):
        console.print(f"  {path.name}{'/' if path.is_dir() else ''}")
    report = folder / "rapport.html"
    if report.is_file():
        console.print(f"Open het rapport: [bold]{report.as_uri()}[/]")
    if result.state == UNDER_REVIEW:
        still = max(0, result.required - len(result.released_by))
        done = f" (vrijgegeven door {', '.join(result.released_by)})" if result.released_by else ""
        console.print(
            f"Publiceren gebeurt pas als {still} beoordelaar(s){done} de editie vrijgeeft; "
            "wie sloot, mag niet zelf vrijgeven. Een beoordelaar bekijkt rapport en tabellen en "
            "geeft dan vrij of wijst af:",
            highlight=False,
        )
        for command in _review_commands(out, edition):
            console.print(f"  {command}", highlight=False, soft_wrap=True, markup=False)


def _print_status(status: EditionStatus) -> None:
    table = Table(title=f"Editie {status.edition}: {status.state}")
    for column in (
        "organisatie",
        "naam",
        "status",
        "leveringen",
        "rijen",
        "laatste levering",
        "reden",
    ):
        table.add_column(column)
    for p in status.partners:
        table.add_row(
            p.organisation, p.name, p.status, str(p.deliveries), str(p.rows),
            p.last_delivery or "-", p.reason or "",
        )  # fmt: skip
    console.print(table)
    review = status.review
    if review is not None and status.state == UNDER_REVIEW:
        allowed = ", ".join(neutralise(n) for n in review.allowed) or "iedereen behalve wie sloot"
        console.print(
            f"[yellow]Ter controle[/] in {review.folder} (gesloten door "
            f"{neutralise(review.closed_by or 'onbekend')}). Vrijgegeven door: "
            f"{', '.join(neutralise(n) for n in review.released_by) or 'nog niemand'}; nog "
            f"{review.still_needed} vrijgave(n) nodig. Mogen beoordelen: {allowed}.",
            highlight=False,
        )
        out = review.folder.parent.parent
        for command in _review_commands(out, status.edition):
            console.print(f"  {command}", highlight=False, soft_wrap=True, markup=False)
        return
    if review is not None and review.rejection is not None:
        rejected = review.rejection
        console.print(
            f"[yellow]Afgewezen[/] door {neutralise(rejected.reviewer)} op {rejected.time}: "
            f"{neutralise(rejected.reason or '')}",
            highlight=False,
        )
    if status.completeness is None:
        return
    if status.completeness.complete:
        console.print("[green]Compleet:[/] de editie kan worden gesloten ('factlab close').")
    else:
        console.print(
            f"[yellow]{escape(refusal(status.completeness, status.edition))}[/]", highlight=False
        )


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Map waarin de synthetische gemeente komt.")],
    seed: Annotated[
        int, typer.Option(help="Zaadwaarde: dezelfde waarde geeft dezelfde bestanden.")
    ] = 2026,
    scale: Annotated[
        float,
        typer.Option(
            min=0.01, help="Schaal van de gemeente (1 = Zaanstad, 10 = tien keer zo groot)."
        ),
    ] = 1.0,
    gemeente: Annotated[
        str,
        typer.Option(
            help="CBS-gemeentecode (GM0363): echte wijkcodes en woningaantallen van die gemeente "
            "uit de meegeleverde CBS-kerncijfers 2024; standaard Zaanstad."
        ),
    ] = "GM0479",
) -> None:
    """Maak een realistische synthetische gemeente met uploads van partners (standaard Zaanstad)."""
    from factlab.synth import synthesise

    code = gemeente.strip().upper()
    code = f"GM{code}" if code.isdigit() else code
    with _user_errors(), console.status("synthetische gemeente maken") as status:
        summary = synthesise(out, seed=seed, scale=scale, gemeente=code, progress=status.update)
    console.print(f"Synthetische gemeente geschreven naar [bold]{out}[/]")
    console.print(f"  {summary.n_dwellings} woningen, {summary.n_files} uploadbestanden")


UploadsOption = Annotated[
    Path, typer.Option(UPLOADS_OPTION, help="Uploadmap met per organisatie een submap.")
]
OutOption = Annotated[
    Path, typer.Option("--out", help="Uitvoermap; de editie komt in <out>/<editie>/.")
]
EditionOption = Annotated[
    str, typer.Option("--edition", "--editie", help="Naam van de editie, bijvoorbeeld 2026.")
]
OpenEditionOption = Annotated[
    str | None,
    typer.Option(
        "--edition",
        "--editie",
        help="Naam van de editie; standaard de enige open editie in de uitvoermap.",
    ),
]
PeriodOption = Annotated[
    str | None,
    typer.Option(
        "--period",
        "--periode",
        help="Verslagperiode VAN:TOT, bijvoorbeeld 2026-01-01:2026-12-31 (standaard uit de configuratie).",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        help="Configuratie (factlab.toml); standaard naast de uploadmap, anders in de huidige map."
    ),
]
KeyModeOpt = Annotated[
    KeyModeOption,
    typer.Option(
        help="ephemeral: sleutel verdwijnt na de run; managed: hoofdsleutel uit FACTLAB_KEY."
    ),
]
RejectedOption = Annotated[
    float | None,
    typer.Option(
        "--max-afgewezen",
        help="Een bestand gaat in quarantaine als meer dan dit aandeel van de regels is "
        "afgewezen (standaard uit de configuratie, anders 0.05).",
    ),
]
SettleOption = Annotated[
    float | None,
    typer.Option(
        "--wachttijd",
        help="Bestanden die korter dan zoveel seconden geleden zijn gewijzigd, worden nog "
        "geschreven: ze blijven staan voor de volgende controle (standaard uit de configuratie, anders 0).",
    ),
]
IncompleteOption = Annotated[
    str | None,
    typer.Option(
        "--onvolledig",
        help="Sluit bewust onvolledig, met deze reden (bijvoorbeeld 'partner X levert pas in "
        "maart'); het rapport noemt dan wie ontbreekt en waarom.",
    ),
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Toon voortgang per bestand.")]
ClosedByOption = Annotated[
    str | None,
    typer.Option(
        "--door",
        help="Naam van de analist die sluit (standaard het systeemaccount); die mag de editie "
        "niet zelf vrijgeven.",
    ),
]
ReviewerOption = Annotated[
    str,
    typer.Option(
        "--door",
        help="Uw naam, zoals in [vrijgave] beoordelaars van de configuratie (als die er staan).",
    ),
]


def _settings(
    uploads: Path,
    out: Path,
    edition: str | None,
    config: Path | None,
    period: str | None = None,
    max_afgewezen: float | None = None,
    wachttijd: float | None = None,
) -> RunSettings:
    config_path = config or next(
        (p for p in (uploads.parent / "factlab.toml", Path("factlab.toml")) if p.is_file()),
        uploads.parent / "factlab.toml",
    )
    return RunSettings.from_options(
        config_path,
        uploads=uploads,
        out=out,
        edition=resolve_edition(out, edition),
        period=period,
        max_rejected_share=max_afgewezen,
        settle_seconds=wachttijd,
    )


@app.command()
def init(
    gemeente: Annotated[
        str, typer.Option(help="CBS-gemeentecode van uw gemeente, bijvoorbeeld GM0363.")
    ],
    adressen: Annotated[
        Path,
        typer.Option(
            help="De CBS-tabel 'postcode-huisnummer → buurt, wijk, gemeente' zoals gedownload "
            "(landelijk, CSV of het ZIP-bestand van CBS)."
        ),
    ],
    out: Annotated[
        Path, typer.Option(help="Map voor de nieuwe editie (factlab.toml, referentie/, uploads/).")
    ],
    kerncijfers: Annotated[
        Path | None,
        typer.Option(
            help="CBS Kerncijfers wijken en buurten (kwb-<jaar>.xlsx/.csv of StatLine-export); "
            "zonder dit bestand: de meegeleverde CBS-cijfers 2024, zonder wijknamen."
        ),
    ] = None,
    kaart: Annotated[
        Path | None,
        typer.Option(help="PDOK-wijkkaart als GeoJSON, in RD (EPSG:28992) of WGS84; optioneel."),
    ] = None,
    partner: Annotated[
        list[str] | None,
        typer.Option(
            help="Organisatiecode van een partner die aanlevert (naam van de uploadmap); "
            "herhaal voor elke partner. Standaard: enkele gebruikelijke partners."
        ),
    ] = None,
    naam: Annotated[
        str | None, typer.Option(help="Naam van de gemeente (standaard uit de kerncijfers).")
    ] = None,
    jaar: Annotated[
        int | None, typer.Option(help="Jaar van de verslagperiode (standaard dit jaar).")
    ] = None,
    overschrijven: Annotated[
        bool, typer.Option(help="Een bestaande factlab.toml in de map overschrijven.")
    ] = False,
) -> None:
    """Richt een editie in voor uw gemeente, vanuit de bestanden die CBS en PDOK publiceren.

    Controleert of de bestanden bij elkaar en bij de gemeente passen (zelfde jaar, zelfde wijken, kaart in de gemeente) en schrijft een map met factlab.toml, de referentiebestanden voor de gemeente en een uploadmap per partner. Zie docs/gemeente-instellen.md.
    """
    from factlab.setup_edition import DEFAULT_PARTNERS, init_edition

    with _user_errors(), console.status("CBS- en PDOK-bestanden controleren"):
        result = init_edition(
            out, gemeente, adressen=adressen, kerncijfers=kerncijfers, kaart=kaart,
            partners=partner or DEFAULT_PARTNERS, naam=naam, jaar=jaar, overwrite=overschrijven,
        )  # fmt: skip
    console.print(
        f"Editie ingericht voor [bold]{neutralise(result.gemeente_naam)}[/] ({result.gemeente_code}): "
        f"{result.n_wijken} wijken, {result.n_addresses} adressen"
        + (f", bestanden van {result.year}" if result.year else "")
    )
    for note in result.notes:
        console.print(f"  [yellow]let op:[/] {note}")
    console.print(f"Configuratie: [bold]{result.config}[/] (pas partners en koppelingen aan)")
    console.print(
        f"Daarna: factlab run --uploads {result.folder / 'uploads'} --out uitvoer --edition "
        f"{result.period_year} --config {result.config}"
    )


@app.command()
def run(
    uploads: UploadsOption,
    out: OutOption,
    edition: EditionOption,
    period: PeriodOption = None,
    config: ConfigOption = None,
    key_mode: KeyModeOpt = KeyModeOption.ephemeral,
    max_afgewezen: RejectedOption = None,
    wachttijd: SettleOption = None,
    onvolledig: IncompleteOption = None,
    door: ClosedByOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Alles in één keer: editie openen, alle uploads controleren en de editie sluiten.

    Daarna staat de editie ter controle; pas als een beoordelaar haar vrijgeeft ('factlab
    vrijgeven') worden rapport en tabellen gepubliceerd.
    """
    _configure_logging(verbose)
    with _user_errors():
        settings = _settings(uploads, out, edition, config, period, max_afgewezen, wachttijd)
        result = _run(settings, key_mode, onvolledig, door)
    _print_result(result, out, settings.edition)


@app.command(name="open")
def open_command(
    uploads: UploadsOption,
    out: OutOption,
    edition: EditionOption,
    period: PeriodOption = None,
    config: ConfigOption = None,
) -> None:
    """Open een editie voor haar aanleverperiode, met de verwachte partners uit de configuratie.

    Daarna controleren 'factlab check' en 'factlab watch' elke aanlevering bij aankomst, en
    sluit 'factlab close' de editie één keer. De verwachte partners staan in [editie] verwacht
    (standaard: alle partners in de configuratie).
    """
    with _user_errors():
        state = open_new(_settings(uploads, out, edition, config, period))
    console.print(f"Editie [bold]{state.edition}[/] is open sinds {state.opened}.")
    console.print(f"Verwachte partners: {', '.join(state.expected) or 'geen opgegeven'}")


@app.command()
def check(
    uploads: UploadsOption,
    out: OutOption,
    edition: OpenEditionOption = None,
    period: PeriodOption = None,
    config: ConfigOption = None,
    max_afgewezen: RejectedOption = None,
    wachttijd: SettleOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Controleer nieuwe aanleveringen en zet ontvangstbewijs en terugkoppeling in de map van de partner.

    Opent de editie als die nog niet open is. Een geaccepteerd bestand wacht tot de editie
    sluit; een nieuw bestand met dezelfde naam vervangt het eerdere.
    """
    _configure_logging(verbose)
    with _user_errors():
        settings = _settings(uploads, out, edition, config, period, max_afgewezen, wachttijd)
        with _progress_bar("controleren") as progress:
            result = check_edition(settings, progress)
    _print_outcomes(result.outcomes, result.skipped)


@app.command()
def status(
    uploads: UploadsOption,
    out: OutOption,
    edition: OpenEditionOption = None,
    config: ConfigOption = None,
) -> None:
    """Toon per verwachte partner: aangeleverd, geaccepteerd, quarantaine (reden) of ontbrekend."""
    with _user_errors():
        named = resolve_edition(out, edition, (OPEN, UNDER_REVIEW))
        _print_status(edition_status(_settings(uploads, out, named, config)))


@app.command(name="close")
def close_command(
    uploads: UploadsOption,
    out: OutOption,
    edition: OpenEditionOption = None,
    config: ConfigOption = None,
    key_mode: KeyModeOpt = KeyModeOption.ephemeral,
    onvolledig: IncompleteOption = None,
    door: ClosedByOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Sluit de editie: koppel de geaccepteerde aanleveringen en maak tabellen en rapport, ter controle.

    Weigert een editie waarin verwachte partners ontbreken of in quarantaine staan, tenzij u
    haar bewust onvolledig sluit met --onvolledig "reden". Gepubliceerd wordt pas als een
    beoordelaar de editie vrijgeeft ('factlab vrijgeven').
    """
    _configure_logging(verbose)
    with _user_errors():
        settings = _settings(uploads, out, edition, config)
        key = _key(key_mode, settings.edition)
        with _progress_bar("sluiten") as progress:
            result = close(
                settings, key, incomplete_reason=onvolledig, progress=progress, closed_by=door
            )
    _print_result(result, out, settings.edition)


ReviewEditionOption = Annotated[
    str | None,
    typer.Option(
        "--edition",
        "--editie",
        help="Naam van de editie; standaard de enige editie die ter controle staat.",
    ),
]


def _print_review(result: RunResult, out: Path, edition: str, reviewer: str) -> None:
    if result.published:
        names = ", ".join(neutralise(n) for n in result.released_by)
        console.print(
            f"[green]Editie {edition} {'was al' if result.already_published else 'is'} vrijgegeven[/]"
            + (f" door {names}" if names else "")
            + f" en gepubliceerd in [bold]{result.edition_dir.resolve()}[/]; de ruwe "
            "aanleveringen zijn verwijderd.",
            highlight=False,
        )
        report = result.edition_dir.resolve() / "rapport.html"
        if report.is_file():
            console.print(f"Open het rapport: [bold]{report.as_uri()}[/]")
        return
    if result.state == UNDER_REVIEW:
        still = max(0, result.required - len(result.released_by))
        console.print(
            f"Vrijgave van {neutralise(reviewer)} vastgelegd; nog {still} vrijgave(n) van een "
            f"andere beoordelaar nodig voordat editie {edition} wordt gepubliceerd.",
            highlight=False,
        )
        for command in _review_commands(out, edition)[:1]:
            console.print(f"  {command}", highlight=False, soft_wrap=True, markup=False)
        return
    console.print(
        f"[yellow]Editie {edition} is afgewezen[/] en is weer open; de uitvoer ter controle is "
        "verwijderd, de aanleveringen zijn bewaard. De analist past aan (partners leveren zo "
        "nodig opnieuw aan) en sluit opnieuw met 'factlab close'.",
        highlight=False,
    )


@app.command()
def vrijgeven(
    out: OutOption,
    door: ReviewerOption,
    edition: ReviewEditionOption = None,
) -> None:
    """Geef een editie die ter controle staat vrij: pas dan worden rapport en tabellen gepubliceerd.

    Bekijk eerst rapport en tabellen in <out>/.ter-controle/<editie>/. Wie de editie sloot, mag
    haar niet vrijgeven; [vrijgave] in de configuratie zegt wie wel en hoeveel beoordelaars
    nodig zijn (standaard één), zoals die gold toen de editie sloot. Uw naam en het tijdstip komen
    in audit.json en openbaarmaking.json.
    """
    with _user_errors():
        named = resolve_edition(out, edition, (UNDER_REVIEW,))
        result = review_edition(out, named, door)
    _print_review(result, out, named, door)


@app.command()
def afwijzen(
    out: OutOption,
    door: ReviewerOption,
    reden: Annotated[
        str, typer.Option(help="Wat moet de analist nakijken of aanpassen? Verplicht.")
    ],
    edition: ReviewEditionOption = None,
) -> None:
    """Wijs een editie die ter controle staat af, met een reden: ze gaat terug naar de analist.

    De uitvoer ter controle wordt verwijderd; de editie is weer open en de aanleveringen blijven
    bewaard, zodat partners opnieuw kunnen aanleveren en de analist opnieuw kan sluiten.
    """
    with _user_errors():
        named = resolve_edition(out, edition, (UNDER_REVIEW,))
        result = review_edition(out, named, door, reject=reden)
    _print_review(result, out, named, door)


@app.command()
def watch(
    uploads: UploadsOption,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Uitvoermap (alleen nodig met --direct)."),
    ] = None,
    edition: OpenEditionOption = None,
    config: ConfigOption = None,
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconden tussen twee keer kijken.")
    ] = 5.0,
    wachttijd: Annotated[
        float,
        typer.Option(
            "--wachttijd",
            min=0,
            help="Een bestand is compleet als grootte en tijdstempel zo lang niet veranderden "
            "(of meteen na hernoemen van .part/.tmp).",
        ),
    ] = 10.0,
    direct: Annotated[
        bool,
        typer.Option(
            help="Controleer zelf, zonder Prefect (anders: een Prefect-event per bestand)."
        ),
    ] = False,
) -> None:
    """Let op nieuwe aanleveringen en laat elk compleet bestand meteen controleren.

    Standaard stuurt de watcher per compleet bestand een Prefect-event
    (factlab.upload.binnengekomen, alleen met de organisatie, nooit de bestandsnaam); de
    deployment 'controle-bij-aankomst' start dan de controle. Met --direct controleert de
    watcher zelf. Stoppen met Ctrl-C.
    """
    from factlab.watch import Watcher  # polars and the check: only for this command

    _configure_logging(False)
    announce: Callable[[list[str]], None]
    with _user_errors():
        if direct:
            if out is None:
                raise FactlabError("--direct heeft --out nodig (de uitvoermap van de editie)")
            settings = _settings(uploads, out, edition, config)

            def check_now(organisations: list[str]) -> None:
                result = check_edition(settings)
                _print_outcomes(result.outcomes, [])

            announce = check_now

        else:
            if not os.environ.get("PREFECT_API_URL"):
                raise FactlabError(
                    "PREFECT_API_URL is niet gezet: de watcher weet niet naar welke Prefect-server "
                    "hij events moet sturen (zie README, 'Op een schema draaien'), of gebruik --direct"
                )
            from factlab.watch import emit_prefect_events

            announce = emit_prefect_events(uploads)
        if not uploads.is_dir():
            raise FactlabError(f"uploadmap {uploads} bestaat niet")
        console.print(f"Factlab let op {uploads.resolve()} (Ctrl-C om te stoppen)")
        try:
            Watcher(uploads, settle_seconds=wachttijd).run(announce, interval=interval)
        except KeyboardInterrupt:
            console.print("Gestopt.")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Werkmap voor de demo.")] = Path("factlab-demo"),
    seed: Annotated[int, typer.Option(help="Zaadwaarde voor de synthetische data.")] = 2026,
) -> None:
    """Maak demodata (synthetisch Zaanstad) en draai er de hele pipeline op.

    Alleen de demo geeft haar eigen, synthetische editie automatisch vrij, als beoordelaar
    "demo (automatisch, alleen voor demodata)"; bij echte data doet een beoordelaar dat met
    'factlab vrijgeven'.
    """
    from factlab.synth import synthesise

    _configure_logging(False)
    with _user_errors():
        if out.exists() and any(out.iterdir()) and not (out / DEMO_MARKER).exists():
            raise FactlabError(
                f"{out} bestaat al en is geen demomap; kies een andere map met --out"
            )
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        (out / DEMO_MARKER).write_text("Aangemaakt door 'factlab demo'; mag weg.\n")
        gemeente = out / "gemeente"
        with console.status(f"synthetische gemeente maken in {gemeente}") as status:
            synthesise(gemeente, seed=seed, progress=status.update)
        settings = RunSettings.from_options(
            gemeente / "factlab.toml",
            uploads=gemeente / "uploads",
            out=out / "uitvoer",
            edition=DEMO_EDITION,
        )
        if not settings.config.report.synthetisch:  # only ever for the demo's own data
            raise FactlabError("de demo geeft alleen synthetische demodata automatisch vrij")
        closed = _run(settings, KeyModeOption.ephemeral, closed_by="factlab demo")
        _print_result(closed, settings.out, DEMO_EDITION)
        console.print(
            f"[bold yellow]Demo:[/] de editie wordt automatisch vrijgegeven door "
            f"'{DEMO_REVIEWER}'. Bij echte data beoordeelt een mens rapport en tabellen en "
            "geeft vrij met 'factlab vrijgeven'.",
            highlight=False,
        )
        result = review_edition(settings.out, DEMO_EDITION, DEMO_REVIEWER)
    _print_review(result, settings.out, DEMO_EDITION, DEMO_REVIEWER)


if __name__ == "__main__":
    app()
