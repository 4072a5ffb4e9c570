"""``factlab init``: a ready edition folder for any gemeente, from the files CBS and PDOK publish.

A data analyst downloads three public files — the CBS table postcode-huisnummer → buurt, wijk,
gemeente (national, CSV or ZIP), the CBS Kerncijfers wijken en buurten and the PDOK wijk map —
and this module turns them into what a run needs: the reference files cut down to the gemeente,
and a commented ``factlab.toml`` with a section per expected partner. Everything is checked
before anything is written: a code that is not in the files, files of different years (after a
herindeling the wijk codes differ), and a map that does not lie in the gemeente are refused
with a clear Dutch message. Without a kerncijfers file the bundled CBS figures 2024 are used;
without a map the report simply has none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from factlab.config import GEMEENTE_PATTERN, ReleaseSettings, load_config
from factlab.connectors.cbs import (
    BUNDLED_YEAR,
    kaart_year,
    kerncijfers_year,
    pc6hnr_year,
    read_bundled_wijken,
    read_gemeente_naam,
    read_pc6hnr,
    read_wijken,
    read_wijkkaart,
)
from factlab.errors import ConfigError, ReferenceFileError
from factlab.names import ORGANISATION_RULE, is_organisation
from factlab.schemas.disclosure import DEFAULT_RULES, MIN_ROUNDING, MIN_THRESHOLD

#: Partners most gemeenten start with; ``--partner`` replaces this list.
DEFAULT_PARTNERS = ("gemeente-wmo", "gemeente-werk-inkomen", "sociaal-wijkteam", "schuldhulp")
REFERENCE_FOLDER = "referentie"
_CODE = re.compile(r"^WK[0-9A-Z]{6}$")  # a wijk code is safe to name in a message


@dataclass(frozen=True)
class InitResult:
    """What :func:`init_edition` wrote, for the CLI to summarise."""

    folder: Path
    config: Path
    gemeente_code: str
    gemeente_naam: str
    year: int | None  # of the CBS/PDOK files
    period_year: int  # of the reporting period in factlab.toml
    n_addresses: int
    n_wijken: int
    with_map: bool
    notes: tuple[str, ...] = field(default_factory=tuple)


def normalise_gemeente(code: str) -> str:
    """``363``, ``0363`` or ``gm0363`` -> ``GM0363``; anything else is a user error."""
    text = code.strip().upper().removeprefix("GM")
    candidate = f"GM{text.zfill(4)}" if text.isdigit() and len(text) <= 4 else f"GM{text}"
    if not GEMEENTE_PATTERN.match(candidate):
        raise ConfigError(
            "--gemeente moet een CBS-gemeentecode zijn, zoals GM0363 (GM en vier cijfers)"
        )
    return candidate


def _codes(codes: Sequence[str], limit: int = 5) -> str:
    shown = [c for c in sorted(codes) if _CODE.match(c)][:limit]
    more = len(codes) - len(shown)
    return ", ".join(shown) + (f" en {more} andere" if more > 0 else "")


def _check_years(years: dict[str, int | None]) -> int | None:
    known = {name: year for name, year in years.items() if year is not None}
    if len(set(known.values())) > 1:
        listed = ", ".join(f"{name} {year}" for name, year in known.items())
        raise ReferenceFileError(
            f"de bestanden zijn van verschillende jaren ({listed}); na een herindeling verschillen "
            "de wijkcodes per jaar. Download de tabel postcode-huisnummer, de kerncijfers en de "
            "kaart van hetzelfde jaar."
        )
    return next(iter(known.values()), None)


def _check_same_wijken(address_wijken: set[str], other: set[str], what: str) -> None:
    missing = address_wijken - other
    if missing:
        raise ReferenceFileError(
            f"{len(missing)} wijk(en) uit de tabel postcode-huisnummer ontbreken in {what}: "
            f"{_codes(sorted(missing))}. Zijn de bestanden van hetzelfde jaar (herindeling)?"
        )


def _pc6hnr_csv(table: pl.DataFrame, year: int | None) -> pl.DataFrame:
    """The table back in the CBS layout (codes without prefix), so the same reader reads it."""
    suffix = str(year or "")
    return table.select(
        pl.col("postcode").alias("PC6"),
        pl.col("huisnummer").alias("Huisnummer"),
        pl.col("buurt_code").str.slice(2).alias(f"Buurt{suffix}"),
        pl.col("wijk_code").str.slice(2).alias(f"Wijk{suffix}"),
        pl.col("gemeente_code").str.slice(2).alias(f"Gemeente{suffix}"),
    ).sort("PC6", "Huisnummer")


def _wijken_csv(wijken: pl.DataFrame, gemeente: str, year: int | None) -> pl.DataFrame:
    suffix = f"_{year}" if year else ""
    return wijken.select(
        pl.col("wijk_code").alias("statcode"),
        pl.col("wijk_naam").alias("statnaam"),
        pl.lit(gemeente).alias("gemeentecode"),
        pl.col("woningen").alias(f"woningvoorraad{suffix}"),
        pl.col("huishoudens").alias(f"aantal_huishoudens{suffix}"),
    ).sort("statcode")


def _toml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def render_config(
    gemeente: str, naam: str, partners: Sequence[str], year: int, *, with_map: bool
) -> str:
    """The commented ``factlab.toml`` of a new edition (Dutch: the analyst edits it)."""
    lines = [
        "# Factlab-configuratie, gemaakt met 'factlab init'. Uitleg: docs/gemeente-instellen.md.",
        "# Paden zijn relatief ten opzichte van dit bestand.",
        "",
        "[editie]",
        f"gemeente = {_toml_str(gemeente)}",
        f"gemeentenaam = {_toml_str(naam)}",
        "# De verslagperiode: voorzieningen die deze periode overlappen tellen mee.",
        f'periode = "{year}-01-01:{year}-12-31"',
        "# De partners van wie een aanlevering wordt verwacht (de namen van hun uploadmappen).",
        f"verwacht = [{', '.join(_toml_str(p) for p in partners)}]",
        "",
        "[referentie]",
        "# De CBS-tabel postcode-huisnummer, beperkt tot de gemeente en de postcodegebieden op de",
        "# grens. Levert een partner ook adressen elders in de regio, verwijs dan naar de landelijke",
        "# tabel (CSV of ZIP zoals CBS die levert): die adressen tellen dan als 'buiten gemeente'.",
        f'adressen = "{REFERENCE_FOLDER}/pc6hnr.csv"',
        "# Wijknamen, woningen en huishoudens uit de CBS Kerncijfers wijken en buurten.",
        f'wijken = "{REFERENCE_FOLDER}/wijken.csv"',
    ]
    if with_map:
        lines += [
            "# De wijkkaart (PDOK), omgezet naar WGS84.",
            f'kaart = "{REFERENCE_FOLDER}/wijken.geojson"',
        ]
    else:
        lines += [
            "# Geen wijkkaart opgegeven; met een PDOK-wijkkaart toont het rapport een kaart.",
            '# kaart = "referentie/wijken.geojson"',
        ]
    lines += [
        "",
        "[openbaarmaking]",
        "# Aantallen tot en met de drempel worden niet gepubliceerd; de rest wordt afgerond op een",
        f"# veelvoud van 'afronding'. Minimaal: drempel {MIN_THRESHOLD}, afronding {MIN_ROUNDING} "
        "(zie docs/tabellen.md).",
        f"drempel = {DEFAULT_RULES.threshold}",
        f"afronding = {DEFAULT_RULES.rounding}",
        "",
        "[vrijgave]",
        "# Een gesloten editie staat ter controle tot een beoordelaar haar vrijgeeft ('factlab",
        "# vrijgeven'); wie sloot, mag niet vrijgeven. Zonder namen mag iedere andere, met naam",
        "# genoemde persoon; 'aantal' is hoeveel verschillende beoordelaars nodig zijn.",
        '# beoordelaars = ["Voornaam Achternaam", "Tweede Beoordelaar"]',
        f"aantal = {ReleaseSettings().required}",
        "",
        "[aanlevering]",
        "# Een bestand gaat in quarantaine als meer dan dit aandeel van de regels is afgewezen.",
        "max_afgewezen = 0.05",
        "# Bestanden die korter dan zoveel seconden geleden zijn gewijzigd, wachten op de volgende run.",
        "wachttijd_seconden = 0",
        "",
        "[rapport]",
        '# contact = "onderzoek@gemeente.nl"',
        '# toelichting = "Een feitelijke toelichting bij deze editie."',
    ]
    for organisation in partners:
        lines += [
            "",
            f"[partners.{_toml_str(organisation)}]",
            f"naam = {_toml_str(organisation)}",
            "# Wijken de kolomnamen af van het aanleverformaat (docs/aanleverformaat.md)? Koppel ze:",
            '# kolommen = { "Post code" = "postcode", "Huis nr" = "huisnummer", "Toev" = "toevoeging", '
            '"Product" = "voorziening", "Ingangsdatum" = "startdatum", "Einddatum" = "einddatum" }',
            "# Eigen codes voor voorzieningen? Koppel ze aan de catalogus:",
            '# codes = { "HH1" = "WMO-HH", "BEGL" = "WMO-BEG" }',
        ]
    return "\n".join(lines) + "\n"


def init_edition(
    folder: Path,
    gemeente: str,
    *,
    adressen: Path,
    kerncijfers: Path | None = None,
    kaart: Path | None = None,
    partners: Sequence[str] = DEFAULT_PARTNERS,
    naam: str | None = None,
    jaar: int | None = None,
    overwrite: bool = False,
) -> InitResult:
    """Check the CBS/PDOK files against each other and write a ready edition folder."""
    code = normalise_gemeente(gemeente)
    for organisation in partners:
        if not is_organisation(organisation):
            raise ConfigError(f"--partner: {ORGANISATION_RULE}, zoals gemeente-wmo")
    config_path = folder / "factlab.toml"
    if config_path.exists() and not overwrite:
        raise ConfigError(
            f"{config_path} bestaat al; kies een andere map of gebruik --overschrijven"
        )
    for path in (adressen, kerncijfers, kaart):
        if path is not None and not path.is_file():
            raise ReferenceFileError(f"{path}: bestand bestaat niet")

    years: dict[str, int | None] = {"tabel postcode-huisnummer": pc6hnr_year(adressen)}
    own = read_pc6hnr(adressen, code)
    if own.is_empty():
        raise ReferenceFileError(
            f"gemeente {code} komt niet voor in {adressen.name}; controleer de code, en of de "
            "tabel van een jaar is waarin de gemeente bestond (herindeling)"
        )
    address_wijken = set(own.get_column("wijk_code").unique())
    notes: list[str] = []

    if kerncijfers is not None:
        years["kerncijfers"] = kerncijfers_year(kerncijfers)
        wijken = read_wijken(kerncijfers, code)
        if wijken.is_empty():
            raise ReferenceFileError(f"{kerncijfers.name}: geen wijken van gemeente {code}")
        _check_same_wijken(address_wijken, set(wijken.get_column("wijk_code")), kerncijfers.name)
        naam = naam or read_gemeente_naam(kerncijfers, code)
    else:
        wijken = read_bundled_wijken(code).drop("inwoners")
        _check_same_wijken(
            address_wijken,
            set(wijken.get_column("wijk_code")),
            f"de CBS-kerncijfers {BUNDLED_YEAR}",
        )
        notes.append(
            f"Geen kerncijfers opgegeven: woningen uit de meegeleverde CBS-kerncijfers "
            f"{BUNDLED_YEAR}, zonder wijknamen en huishoudens."
        )
    if wijken.get_column("huishoudens").null_count() == wijken.height:
        notes.append("De kerncijfers hebben geen aantallen huishoudens, alleen woningen.")

    features: dict[str, Any] | None = None
    if kaart is not None:
        years["kaart"] = kaart_year(kaart)
        features = read_wijkkaart(kaart, code)
        _check_same_wijken(
            address_wijken, {f["properties"]["statcode"] for f in features["features"]}, kaart.name
        )
    else:
        notes.append("Geen wijkkaart opgegeven: het rapport toont geen kaart.")
    year = _check_years(years)

    # The gemeente's addresses plus others in its PC4 areas: an address just across the border
    # must stay 'buiten gemeente' (excluded), not become 'onbekend' (analysed).
    border = read_pc6hnr(adressen, code, pc4=set(own.get_column("postcode").str.slice(0, 4)))
    reference = folder / REFERENCE_FOLDER
    reference.mkdir(parents=True, exist_ok=True)
    _pc6hnr_csv(border, year).write_csv(reference / "pc6hnr.csv", separator=";")
    _wijken_csv(wijken, code, year).write_csv(reference / "wijken.csv", separator=";")
    if features is not None:
        (reference / "wijken.geojson").write_text(
            json.dumps(features, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
        )
    gemeente_naam = naam or code
    period_year = jaar or date.today().year
    config_path.write_text(
        render_config(code, gemeente_naam, partners, period_year, with_map=features is not None),
        encoding="utf-8",
    )
    (folder / "uploads").mkdir(exist_ok=True)
    for organisation in partners:
        (folder / "uploads" / organisation).mkdir(exist_ok=True)
    load_config(config_path)  # what we wrote must load: a bug here is ours, not the user's
    return InitResult(
        folder=folder,
        config=config_path,
        gemeente_code=code,
        gemeente_naam=gemeente_naam,
        year=year,
        period_year=period_year,
        n_addresses=own.height,
        n_wijken=len(address_wijken),
        with_map=features is not None,
        notes=tuple(notes),
    )
