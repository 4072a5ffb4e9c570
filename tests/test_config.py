"""Edition configuration: clear errors naming the setting; partner mappings normalised."""

from pathlib import Path

import pytest

from factlab.config import Period, header_key, load_config
from factlab.errors import ConfigError


def _config(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pc6hnr.csv").write_text("PC6;Huisnummer;Buurt2025;Wijk2025;Gemeente2025\n")
    path = tmp_path / "factlab.toml"
    path.write_text(body, encoding="utf-8")
    return path


BASE = '[editie]\ngemeente = "GM0479"\n[referentie]\nadressen = "pc6hnr.csv"\n'


def test_partner_mapping_is_normalised(tmp_path: Path) -> None:
    config = load_config(
        _config(
            tmp_path,
            BASE
            + '[partners.welzijn]\nnaam = "W"\nkolommen = { "Post Code" = "postcode", toev = "toevoeging" }\ncodes = { hh1 = "WMO-HH" }\n',
        )
    )
    partner = config.partner("welzijn")
    assert partner.columns == {"postcode": "postcode", "toev": "huisnummertoevoeging"}
    assert partner.codes == {"HH1": "WMO-HH"}
    assert config.partner("unknown").naam == "unknown"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[editie]\ngemeente = "Zaanstad"\n[referentie]\nadressen = "pc6hnr.csv"\n', "GM0479"),
        ('[editie]\ngemeente = "GM0479"\n', "adressen ontbreekt"),
        ('[editie]\ngemeente = "GM0479"\n[referentie]\nadressen = "nope.csv"\n', "bestaat niet"),
        (BASE + '[partners.x]\nkolommen = { pc = "straat" }\n', "onbekende kolom"),
        (BASE + '[partners."X Y"]\n', "organisatiecode"),
        (BASE.replace('"GM0479"', '"GM0479"\nperiode = "2026"'), "periode"),
        ("not toml = = ", "TOML"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_config(tmp_path, body))


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bestaat niet"):
        load_config(tmp_path / "factlab.toml")


def test_period_parsing() -> None:
    period = Period.parse("2026-01-01:2026-06-30")
    assert period.as_dict() == {"van": "2026-01-01", "tot": "2026-06-30"}
    with pytest.raises(ConfigError, match="einde ligt voor"):
        Period.parse("2026-06-30:2026-01-01")


def test_header_matching_ignores_case_spaces_underscores_hyphens() -> None:
    assert {
        header_key(h) for h in ("Huis_Nummer", "huis-nummer", " HUIS NUMMER ", "\ufeffhuisnummer")
    } == {"huisnummer"}


def test_delivery_settings_have_defaults_and_are_checked(tmp_path: Path) -> None:
    assert load_config(_config(tmp_path, BASE)).max_rejected_share == 0.05
    config = load_config(
        _config(tmp_path, BASE + "[aanlevering]\nmax_afgewezen = 0.1\nwachttijd_seconden = 30\n")
    )
    assert (config.max_rejected_share, config.settle_seconds) == (0.1, 30.0)
    for body, message in (
        ("max_afgewezen = 5", "tussen 0 en 1"),
        ("wachttijd_seconden = -1", "0 of meer"),
        ('max_afgewezen = "veel"', "getal"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_config(_config(tmp_path, BASE + f"[aanlevering]\n{body}\n"))
