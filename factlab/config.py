"""Edition configuration (``factlab.toml``): the gemeente, reference files and partner connectors.

The config is the only place where a partner's deviations from the delivery format are
recorded: other column names (``kolommen``) and its own provision codes (``codes``). Relative
paths are relative to the config file, so an edition folder can be moved as a whole.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from factlab.errors import ConfigError
from factlab.names import ORGANISATION_RULE, is_organisation

CANONICAL_COLUMNS = (
    "postcode",
    "huisnummer",
    "huisletter",
    "huisnummertoevoeging",
    "voorziening",
    "startdatum",
    "einddatum",
)
MAX_REJECTED_SHARE = 0.05  # a file with a larger share of rejected rows is quarantined whole
SETTLE_SECONDS = 0.0  # files modified more recently than this are left for the next run


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
    expected: tuple[str, ...] = ()  # [editie] verwacht; empty: every configured partner
    disclosure: dict[str, Any] = field(default_factory=dict)
    max_rejected_share: float = MAX_REJECTED_SHARE
    settle_seconds: float = SETTLE_SECONDS

    def partner(self, organisation: str) -> PartnerSettings:
        """Settings for ``organisation``; an unconfigured partner uses the plain format."""
        return self.partners.get(organisation, PartnerSettings(naam=organisation))


def _path(base: Path, section: dict[str, Any], name: str, *, required: bool) -> Path | None:
    value = section.get(name)
    if value is None:
        if required:
            raise ConfigError(f"[referentie] {name} ontbreekt in de configuratie")
        return None
    path = (base / str(value)).resolve()
    if not path.is_file():
        raise ConfigError(f"[referentie] {name}: bestand {value} bestaat niet")
    return path


def _partner(organisation: str, raw: dict[str, Any]) -> PartnerSettings:
    if not is_organisation(organisation):
        raise ConfigError(
            f"[partners.{organisation}]: {ORGANISATION_RULE} (de naam van de uploadmap)"
        )
    columns = {}
    for partner_name, canonical in dict(raw.get("kolommen", {})).items():
        if canonical not in CANONICAL_COLUMNS and canonical != "toevoeging":
            raise ConfigError(
                f"[partners.{organisation}] kolommen: {partner_name!r} wijst naar onbekende kolom "
                f"{canonical!r} (toegestaan: {', '.join(CANONICAL_COLUMNS)})"
            )
        target = "huisnummertoevoeging" if canonical == "toevoeging" else canonical
        columns[header_key(partner_name)] = target
    codes = {str(k).strip().upper(): str(v).strip() for k, v in dict(raw.get("codes", {})).items()}
    return PartnerSettings(naam=str(raw.get("naam", organisation)), columns=columns, codes=codes)


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


def _number(section: dict[str, Any], key: str, default: float) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"[aanlevering] {key} moet een getal zijn, niet {value!r}")
    return float(value)


def load_config(path: Path) -> EditionConfig:
    """Read ``factlab.toml``; every problem is a :class:`ConfigError` naming the setting."""
    if not path.is_file():
        raise ConfigError(f"configuratiebestand {path} bestaat niet (zie --config)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path.name} is geen geldige TOML: {error}") from None
    base = path.parent
    edition = raw.get("editie", {})
    reference = raw.get("referentie", {})
    code = str(edition.get("gemeente", ""))
    if not re.fullmatch(r"GM\d{4}", code):
        raise ConfigError(
            f"[editie] gemeente moet een CBS-gemeentecode zijn zoals GM0479, niet {code!r}"
        )
    period = edition.get("periode")
    expected = edition.get("verwacht", [])
    if not isinstance(expected, list) or not all(
        isinstance(o, str) and is_organisation(o) for o in expected
    ):
        raise ConfigError(
            f"[editie] verwacht moet een lijst van organisatiecodes zijn; {ORGANISATION_RULE}"
        )
    delivery = raw.get("aanlevering", {})
    return EditionConfig(
        gemeente_code=code,
        gemeente_naam=str(edition.get("gemeentenaam", code)),
        address_table=_path(base, reference, "adressen", required=True),  # type: ignore[arg-type]
        wijken=_path(base, reference, "wijken", required=False),
        kaart=_path(base, reference, "kaart", required=False),
        catalogue=_path(base, reference, "catalogus", required=False),
        period=Period.parse(str(period)) if period else None,
        partners={org: _partner(org, dict(s)) for org, s in raw.get("partners", {}).items()},
        disclosure=dict(raw.get("openbaarmaking", {})),
        expected=tuple(expected),
        max_rejected_share=check_share(
            _number(delivery, "max_afgewezen", MAX_REJECTED_SHARE), "[aanlevering] max_afgewezen"
        ),
        settle_seconds=check_seconds(
            _number(delivery, "wachttijd_seconden", SETTLE_SECONDS),
            "[aanlevering] wachttijd_seconden",
        ),
    )
