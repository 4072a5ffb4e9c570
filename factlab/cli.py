"""The ``factlab`` command line: synthesise demo data, run an edition, or both (``demo``).

User mistakes (bad options, unreadable config, weak key) end with one clear Dutch message and
exit code 2, never a traceback. Long work shows a progress bar on a terminal.
"""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from factlab.edition import RunResult, RunSettings, run_edition
from factlab.errors import DEBUG_VARIABLE, FactlabError, unexpected
from factlab.keys import PseudonymKey, ephemeral_key, managed_key_from_environment
from factlab.receipts import QUARANTINED
from factlab.safe_text import neutralise

app = typer.Typer(
    help="Factlab: samenloop van voorzieningen per huishouden, privacyvriendelijk gekoppeld.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

DEMO_MARKER = ".factlab-demo"
DEMO_EDITION = "demo-2026"


class KeyModeOption(StrEnum):
    ephemeral = "ephemeral"
    managed = "managed"


@contextmanager
def _user_errors():
    """User mistakes: one clear message, exit 2. Bugs: a redacted message, exit 1."""
    try:
        yield
    except FactlabError as error:
        console.print(f"[bold red]Fout:[/] {error}")
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


def _run(settings: RunSettings, key_mode: KeyModeOption) -> RunResult:
    key = _key(key_mode, settings.edition)
    with _progress_bar("verwerken") as progress:
        return run_edition(settings, key, progress)


def _print_result(result: RunResult) -> None:
    if result.already_published:
        console.print(f"Editie was al gepubliceerd: {result.edition_dir}")
    summary = ", ".join(f"{n} {status}" for status, n in result.status_counts().items())
    console.print(f"Bestanden: {summary or 'geen'}")
    if not result.outcomes and not result.skipped and not result.already_published:
        console.print(
            "  [yellow]Er stonden geen bestanden in de uploadmap;[/] partners zetten hun bestanden "
            "in <uploadmap>/<organisatie>/ (zie docs/aanleverformaat.md)."
        )
    for outcome in result.outcomes:
        if outcome.status == QUARANTINED:
            console.print(
                f"  [yellow]quarantaine:[/] {outcome.upload.label}: {outcome.receipt.get('reden', '')}"
            )
    for skipped in result.skipped:
        console.print(
            f"  [yellow]overgeslagen:[/] {skipped.organisation}/{neutralise(skipped.name)}: {skipped.reason}"
        )
    console.print(f"Huishoudens met een voorziening: {result.households}")
    folder = result.edition_dir.resolve()
    console.print(f"Resultaten in: [bold]{folder}[/]")
    for path in sorted(folder.iterdir()):
        console.print(f"  {path.name}{'/' if path.is_dir() else ''}")
    report = folder / "rapport.html"
    if report.is_file():
        console.print(f"Open het rapport: [bold]{report.as_uri()}[/]")


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
    uploads: Annotated[Path, typer.Option(help="Uploadmap met per organisatie een submap.")],
    out: Annotated[Path, typer.Option(help="Uitvoermap; de editie komt in <out>/<editie>/.")],
    edition: Annotated[str, typer.Option(help="Naam van de editie, bijvoorbeeld 2026.")],
    period: Annotated[
        str | None,
        typer.Option(
            help="Verslagperiode VAN:TOT, bijvoorbeeld 2026-01-01:2026-12-31 (standaard uit de configuratie)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="Configuratie (factlab.toml); standaard naast de uploadmap, anders in de huidige map."
        ),
    ] = None,
    key_mode: Annotated[
        KeyModeOption,
        typer.Option(
            help="ephemeral: sleutel verdwijnt na de run; managed: hoofdsleutel uit FACTLAB_KEY."
        ),
    ] = KeyModeOption.ephemeral,
    replace: Annotated[
        bool,
        typer.Option(help="Een al gepubliceerde editie opnieuw opbouwen uit de huidige uploads."),
    ] = False,
    max_afgewezen: Annotated[
        float | None,
        typer.Option(
            help="Een bestand gaat in quarantaine als meer dan dit aandeel van de regels is "
            "afgewezen (standaard uit de configuratie, anders 0.05)."
        ),
    ] = None,
    wachttijd: Annotated[
        float | None,
        typer.Option(
            help="Bestanden die korter dan zoveel seconden geleden zijn gewijzigd, worden nog "
            "geschreven: ze blijven staan voor de volgende run (standaard uit de configuratie, anders 0)."
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Toon voortgang per bestand.")
    ] = False,
) -> None:
    """Verwerk alle uploads tot een editie: ontvangstbewijzen, huishoudtabel, tabellen en rapport."""
    _configure_logging(verbose)
    with _user_errors():
        config_path = config or next(
            (p for p in (uploads.parent / "factlab.toml", Path("factlab.toml")) if p.is_file()),
            uploads.parent / "factlab.toml",
        )
        settings = RunSettings.from_options(
            config_path,
            uploads=uploads,
            out=out,
            edition=edition,
            period=period,
            replace=replace,
            max_rejected_share=max_afgewezen,
            settle_seconds=wachttijd,
        )
        result = _run(settings, key_mode)
    _print_result(result)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Werkmap voor de demo.")] = Path("factlab-demo"),
    seed: Annotated[int, typer.Option(help="Zaadwaarde voor de synthetische data.")] = 2026,
) -> None:
    """Maak demodata (synthetisch Zaanstad) en draai er de hele pipeline op."""
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
        result = _run(settings, KeyModeOption.ephemeral)
    _print_result(result)


if __name__ == "__main__":
    app()
