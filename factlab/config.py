"""Edition configuration (``factlab.toml``): the gemeente, reference files and partner connectors.

The config is the only place where a partner's deviations from the delivery format are
recorded: other column names (``kolommen``) and its own provision codes (``codes``). Relative
paths are relative to the config file, so an edition folder can be moved as a whole.

The file is validated as a whole when it is loaded (pydantic): a typo in a key or section name
is refused with the nearest valid name, because a gemeente that writes ``drempell = 10`` must
not believe it set a stricter threshold than it did; a wrong type is a user error, never a
traceback. The disclosure settings are built through :class:`DisclosureRules`, so the floor
below which Factlab refuses to publish lives in one place.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from factlab.connectors.limits import SETTINGS as LIMIT_SETTINGS
from factlab.connectors.limits import ReadLimits
from factlab.errors import ConfigError
from factlab.names import ORGANISATION_RULE, is_organisation
from factlab.schemas.disclosure import MIN_ROUNDING, MIN_THRESHOLD, DisclosureRules

CANONICAL_COLUMNS = (
    "postcode",
    "huisnummer",
    "huisletter",
    "huisnummertoevoeging",
    "voorziening",
    "startdatum",
    "einddatum",
)
GEMEENTE_PATTERN = re.compile(r"^GM\d{4}$")
MAX_REJECTED_SHARE = 0.05  # a file with a larger share of rejected rows is quarantined whole
SETTLE_SECONDS = 0.0  # files modified more recently than this are left for the next run
MAX_SECONDS_PER_FILE = 900.0  # reading and checking one upload; past this it is quarantined
_DEFAULT_RULES = DisclosureRules()


def header_key(name: str) -> str:
    """Column names match case-insensitively, ignoring spaces, underscores and hyphens."""
    return re.sub(r"[\s_\-]+", "", name.strip().lstrip("\ufeff")).lower()


@dataclass(frozen=True)
class Period:
    """Inclusive reporting period; provisions overlapping it count."""

    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``2026-01-01:2026-12-31``."""
        try:
            start_text, end_text = text.split(":")
            period = cls(
                date.fromisoformat(start_text.strip()), date.fromisoformat(end_text.strip())
            )
        except ValueError:
            raise ConfigError(
                f"periode {text!r} is ongeldig; schrijf bijvoorbeeld 2026-01-01:2026-12-31"
            ) from None
        if period.end < period.start:
            raise ConfigError(f"periode {text!r}: het einde ligt voor het begin")
        return period

    def as_dict(self) -> dict[str, str]:
        return {"van": self.start.isoformat(), "tot": self.end.isoformat()}


@dataclass(frozen=True)
class PartnerSettings:
    """Connector settings for one organisation (upload folder name)."""

    naam: str
    columns: dict[str, str] = field(default_factory=dict)  # header_key(partner) -> canonical
    codes: dict[str, str] = field(default_factory=dict)  # partner code (upper) -> catalogue


@dataclass(frozen=True)
class ReportSettings:
    """``[rapport]``: what the report says beside the numbers, and what it compares with."""

    contact: str | None = None
    toelichting: str | None = None
    cbs_gebruik: Path | None = None  # CBS table "Gebruik voorzieningen sociaal domein"
    vorige_editie: Path | None = None  # folder of an earlier edition
    synthetisch: bool = False  # demo data: the report carries a banner saying so


@dataclass(frozen=True)
class ReleaseSettings:
    """``[vrijgave]``: who may release an edition that is ter controle, and how many must.

    ``reviewers`` empty: any named person other than the analyst who closed the edition.
    """

    reviewers: tuple[str, ...] = ()
    required: int = 1


@dataclass(frozen=True)
class EditionConfig:
    """Everything a run needs to know besides the uploads themselves."""

    gemeente_code: str
    gemeente_naam: str
    address_table: Path
    wijken: Path | None = None
    kaart: Path | None = None
    catalogue: Path | None = None
    period: Period | None = None
    partners: dict[str, PartnerSettings] = field(default_factory=dict)
    expected_partners: tuple[str, ...] = ()
    disclosure_rules: DisclosureRules = field(default_factory=DisclosureRules)
    max_rejected_share: float = MAX_REJECTED_SHARE
    settle_seconds: float = SETTLE_SECONDS
    read_limits: ReadLimits = field(default_factory=ReadLimits)
    max_seconds_per_file: float = MAX_SECONDS_PER_FILE
    report: ReportSettings = field(default_factory=ReportSettings)
    release: ReleaseSettings = field(default_factory=ReleaseSettings)

    def partner(self, organisation: str) -> PartnerSettings:
        """Settings for ``organisation``; an unconfigured partner uses the plain format."""
        return self.partners.get(organisation, PartnerSettings(naam=organisation))


# --------------------------------------------------------------------------- the file's schema


class _Section(BaseModel):
    """A TOML table: no unknown keys, no type coercion (``"7"`` is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class _Editie(_Section):
    gemeente: str
    gemeentenaam: str | None = None
    periode: str | None = None
    verwacht: list[str] | None = None


class _Referentie(_Section):
    adressen: str
    wijken: str | None = None
    kaart: str | None = None
    catalogus: str | None = None


class _AanleveringRules(_Section):
    max_afgewezen: float = Field(default=MAX_REJECTED_SHARE, ge=0.0, le=1.0)
    wachttijd_seconden: float = Field(default=SETTLE_SECONDS, ge=0.0)
    max_seconden: float = Field(default=MAX_SECONDS_PER_FILE, gt=0)


# The read limits are defined once, in factlab.connectors.limits; each becomes an optional key here.
# A type checker cannot see a model built at run time, so it sees the fixed rules' class (the
# limits are read through model_dump, not as attributes).
if TYPE_CHECKING:
    _Aanlevering: TypeAlias = _AanleveringRules
else:
    _Aanlevering = create_model(
        "_Aanlevering",
        __base__=_AanleveringRules,
        **{key: (int | None, Field(None, gt=0)) for key in LIMIT_SETTINGS.values()},
    )


class _Openbaarmaking(_Section):
    drempel: int = _DEFAULT_RULES.threshold
    afronding: int = _DEFAULT_RULES.rounding


class _Rapport(_Section):
    contact: str | None = None
    toelichting: str | None = None
    cbs_gebruik: str | None = None
    vorige_editie: str | None = None
    synthetisch: bool = False


class _Vrijgave(_Section):
    beoordelaars: list[str] = Field(default_factory=list)
    aantal: int = Field(default=1, ge=1)


class _Partner(_Section):
    naam: str | None = None
    kolommen: dict[str, str] = Field(default_factory=dict)
    codes: dict[str, str] = Field(default_factory=dict)


class _FactlabToml(_Section):
    editie: _Editie
    referentie: _Referentie
    aanlevering: _Aanlevering = Field(default_factory=_Aanlevering)
    openbaarmaking: _Openbaarmaking = Field(default_factory=_Openbaarmaking)
    rapport: _Rapport = Field(default_factory=_Rapport)
    vrijgave: _Vrijgave = Field(default_factory=_Vrijgave)
    partners: dict[str, _Partner] = Field(default_factory=dict)


# --------------------------------------------------------------------------- Dutch error messages

_TYPE_NAMES = {
    str: "tekst",
    int: "geheel getal",
    float: "getal",
    bool: "waar/onwaar",
    list: "lijst",
    dict: "sectie",
    date: "datum",
}
_EXPECTED = {
    "int_type": "een geheel getal (zonder aanhalingstekens)",
    "float_type": "een getal (zonder aanhalingstekens)",
    "string_type": 'tekst tussen aanhalingstekens, zoals "..."',
    "list_type": 'een lijst, zoals ["a", "b"]',
    "dict_type": "een sectie of { sleutel = waarde }-tabel",
    "model_type": "een sectie",
}


def _where(loc: tuple[Any, ...]) -> str:
    """``("partners", "x", "kolommen", "pc")`` -> ``[partners.x] kolommen.pc``."""
    parts = [str(p) for p in loc]
    if not parts:
        return "de configuratie"
    if parts[0] == "partners" and len(parts) >= 2:
        section, rest = f"partners.{parts[1]}", parts[2:]
    else:
        section, rest = parts[0], parts[1:]
    return f"[{section}]" + (f" {'.'.join(rest)}" if rest else "")


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The section model that holds the key at ``loc`` (for suggesting the nearest name)."""
    model: type[BaseModel] = _FactlabToml
    parts = list(loc[:-1])
    while parts:
        name = str(parts.pop(0))
        if model is _FactlabToml and name == "partners":
            if not parts:
                return None
            parts.pop(0)
            model = _Partner
            continue
        annotation = model.model_fields[name].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _unknown(loc: tuple[Any, ...]) -> str:
    name = str(loc[-1])
    model = _model_at(loc)
    valid = list(model.model_fields) if model else []
    nearest = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    # A name is shown only as a typo of a known one: an arbitrary name may be anything the file
    # holds (a config path pointing at the wrong file must not put its content on the screen).
    if len(loc) == 1:
        text = (
            f"onbekende sectie [{name}]; bedoelt u [{nearest[0]}]?"
            if nearest
            else ("een onbekende sectie (naam niet getoond)")
        )
        return text + f" (bekende secties: {', '.join(f'[{v}]' for v in valid)})"
    where = _where(loc[:-1])
    text = (
        f"{where}: onbekende instelling {name!r}; bedoelt u {nearest[0]!r}?"
        if nearest
        else f"{where}: een onbekende instelling (naam niet getoond)"
    )
    return text + (f" (toegestaan: {', '.join(valid)})" if valid else "")


def _message(error: Any) -> str:
    """One Dutch sentence for one pydantic error; never repeats the value that was found."""
    loc, kind, ctx = tuple(error["loc"]), error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown(loc)
    where = _where(loc)
    if kind == "missing":
        return f"{where} ontbreekt in de configuratie"
    found = _TYPE_NAMES.get(type(error.get("input")), "iets anders")
    if kind in _EXPECTED:
        return f"{where} moet {_EXPECTED[kind]} zijn, niet {found}"
    for bound, word in (("ge", "minstens"), ("gt", "groter dan"), ("le", "hoogstens")):
        if bound in ctx:
            return f"{where} moet {word} {ctx[bound]} zijn"
    return f"{where} heeft een ongeldige waarde"


def _validated(raw: dict[str, Any], name: str) -> _FactlabToml:
    raw = {"editie": {}, "referentie": {}, **raw}
    try:
        return _FactlabToml.model_validate(raw)
    except ValidationError as error:
        problems = sorted({_message(e) for e in error.errors()})
        raise ConfigError(f"{name}: " + "; ".join(problems)) from None


# --------------------------------------------------------------------------- semantic checks


@overload
def _path(base: Path, where: str, value: str, *, folder: bool = False) -> Path: ...
@overload
def _path(base: Path, where: str, value: str | None, *, folder: bool = False) -> Path | None: ...
def _path(base: Path, where: str, value: str | None, *, folder: bool = False) -> Path | None:
    if value is None:
        return None
    path = (base / value).resolve()
    if not (path.is_dir() if folder else path.is_file()):
        what = "map" if folder else "bestand"
        raise ConfigError(f"{where}: {what} {value} bestaat niet")
    return path


def _organisation(organisation: str, where: str) -> str:
    if not is_organisation(organisation):
        raise ConfigError(f"{where}: {ORGANISATION_RULE} (de naam van de uploadmap)")
    return organisation


def _partner(organisation: str, section: _Partner) -> PartnerSettings:
    _organisation(organisation, f"[partners.{organisation}]")
    columns = {}
    for partner_name, canonical in section.kolommen.items():
        if canonical not in CANONICAL_COLUMNS and canonical != "toevoeging":
            raise ConfigError(
                f"[partners.{organisation}] kolommen: {partner_name!r} wijst naar onbekende kolom "
                f"{canonical!r} (toegestaan: {', '.join(CANONICAL_COLUMNS)})"
            )
        target = "huisnummertoevoeging" if canonical == "toevoeging" else canonical
        columns[header_key(partner_name)] = target
    codes = {k.strip().upper(): v.strip() for k, v in section.codes.items()}
    return PartnerSettings(naam=section.naam or organisation, columns=columns, codes=codes)


def disclosure_rules(threshold: int, rounding: int) -> DisclosureRules:
    """The disclosure settings, or a :class:`ConfigError` when they are below the floor.

    The floor itself is enforced by :class:`DisclosureRules`: one definition for the config,
    the gate and the quality checks.
    """
    try:
        return DisclosureRules(threshold=threshold, rounding=rounding)
    except ValueError:
        raise ConfigError(
            f"[openbaarmaking] drempel = {threshold} en afronding = {rounding} geven te weinig "
            f"bescherming: Factlab publiceert niet onder de ondergrens (drempel minstens "
            f"{MIN_THRESHOLD}, afronding minstens {MIN_ROUNDING}; zie docs/tabellen.md)"
        ) from None


def reviewer_name(name: str) -> str:
    """A reviewer's name as recorded: spaces collapsed; compared without regard to case."""
    return " ".join(name.split())


def _release(section: _Vrijgave) -> ReleaseSettings:
    """``[vrijgave]`` checked; names are never repeated in a message (the file may be anything)."""
    names = tuple(reviewer_name(n) for n in section.beoordelaars)
    if any(not n for n in names):
        raise ConfigError("[vrijgave] beoordelaars bevat een lege naam")
    if len({n.casefold() for n in names}) < len(names):
        raise ConfigError("[vrijgave] beoordelaars noemt een naam twee keer")
    if names and section.aantal > len(names):
        raise ConfigError(
            f"[vrijgave] aantal = {section.aantal}, maar beoordelaars noemt maar {len(names)} "
            "naam/namen: noem meer beoordelaars of verlaag het aantal"
        )
    return ReleaseSettings(reviewers=names, required=section.aantal)


def check_share(value: float, name: str) -> float:
    """A share between 0 and 1, or a :class:`ConfigError` naming the setting."""
    if not 0.0 <= value <= 1.0:
        raise ConfigError(
            f"{name} moet een aandeel tussen 0 en 1 zijn (bijvoorbeeld 0.05), niet {value}"
        )
    return value


def check_seconds(value: float, name: str) -> float:
    """A non-negative number of seconds, or a :class:`ConfigError` naming the setting."""
    if value < 0:
        raise ConfigError(f"{name} moet 0 of meer seconden zijn, niet {value}")
    return value


def load_config(path: Path) -> EditionConfig:
    """Read and validate ``factlab.toml``; every problem is a :class:`ConfigError` naming it."""
    if not path.is_file():
        raise ConfigError(f"configuratiebestand {path} bestaat niet (zie --config)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path.name} is geen geldige TOML: {error}") from None
    toml = _validated(raw, path.name)
    base = path.parent
    edition, reference, delivery, report = (
        toml.editie,
        toml.referentie,
        toml.aanlevering,
        toml.rapport,
    )
    if not GEMEENTE_PATTERN.match(edition.gemeente):
        raise ConfigError(
            "[editie] gemeente moet een CBS-gemeentecode zijn zoals GM0479 (GM en vier cijfers)"
        )
    partners = {org: _partner(org, section) for org, section in toml.partners.items()}
    expected = tuple(
        _organisation(org, "[editie] verwacht") for org in (edition.verwacht or partners)
    )
    return EditionConfig(
        gemeente_code=edition.gemeente,
        gemeente_naam=edition.gemeentenaam or edition.gemeente,
        address_table=_path(base, "[referentie] adressen", reference.adressen),
        wijken=_path(base, "[referentie] wijken", reference.wijken),
        kaart=_path(base, "[referentie] kaart", reference.kaart),
        catalogue=_path(base, "[referentie] catalogus", reference.catalogus),
        period=Period.parse(edition.periode) if edition.periode else None,
        partners=partners,
        expected_partners=expected,
        disclosure_rules=disclosure_rules(
            toml.openbaarmaking.drempel, toml.openbaarmaking.afronding
        ),
        max_rejected_share=delivery.max_afgewezen,
        settle_seconds=delivery.wachttijd_seconden,
        read_limits=ReadLimits.from_settings(delivery.model_dump(exclude_none=True)),
        max_seconds_per_file=delivery.max_seconden,
        report=ReportSettings(
            contact=report.contact,
            toelichting=report.toelichting,
            cbs_gebruik=_path(base, "[rapport] cbs_gebruik", report.cbs_gebruik),
            vorige_editie=_path(base, "[rapport] vorige_editie", report.vorige_editie, folder=True),
            synthetisch=report.synthetisch,
        ),
        release=_release(toml.vrijgave),
    )
