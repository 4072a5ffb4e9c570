"""Edition configuration: validated on load, every mistake a clear Dutch error naming the setting."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from factlab.cli import app
from factlab.config import Period, ReadLimits, header_key, load_config
from factlab.disclose import DisclosureRules
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


def test_defaults(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, BASE + "[partners.wmo]\n[partners.welzijn]\n"))
    assert config.disclosure_rules == DisclosureRules()
    assert config.expected_partners == ("wmo", "welzijn")
    assert config.read_limits == ReadLimits()
    assert (config.max_rejected_share, config.settle_seconds) == (0.05, 0.0)
    assert config.report.contact is None and config.report.vorige_editie is None
    assert config.gemeente_naam == "GM0479"


def test_every_setting_is_parsed_typed(tmp_path: Path) -> None:
    (tmp_path / "gebruik.csv").write_text("x\n")
    (tmp_path / "vorige").mkdir()
    config = load_config(
        _config(
            tmp_path,
            BASE.replace('"GM0479"', '"GM0479"\nverwacht = ["wmo", "kredietbank"]')
            + "[openbaarmaking]\ndrempel = 10\nafronding = 10\n"
            + "[aanlevering]\nmax_afgewezen = 0.1\nwachttijd_seconden = 30\n"
            + "max_bestand_bytes = 50000000\nmax_rijen = 1000\nmax_regellengte = 2000\n"
            + "max_cellengte = 300\nmax_seconden = 60\n"
            + '[rapport]\ncontact = "onderzoek@gemeente.nl"\ntoelichting = "Wmo-cijfers zonder pgb."\n'
            + 'cbs_gebruik = "gebruik.csv"\nvorige_editie = "vorige"\n',
        )
    )
    assert config.expected_partners == ("wmo", "kredietbank")
    assert (config.disclosure_rules.threshold, config.disclosure_rules.rounding) == (10, 10)
    assert (config.max_rejected_share, config.settle_seconds) == (0.1, 30.0)
    assert config.read_limits == ReadLimits(
        max_file_bytes=50_000_000, max_rows=1000, max_line_chars=2000, max_cell_chars=300
    )
    assert config.max_seconds_per_file == 60
    assert config.report.contact == "onderzoek@gemeente.nl"
    assert config.report.toelichting == "Wmo-cijfers zonder pgb."
    assert config.report.cbs_gebruik == (tmp_path / "gebruik.csv").resolve()
    assert config.report.vorige_editie == (tmp_path / "vorige").resolve()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            '[editie]\ngemeente = "Zaanstad"\n[referentie]\nadressen = "pc6hnr.csv"\n',
            r"\[editie\] gemeente moet een CBS-gemeentecode zijn zoals GM0479",
            id="gemeente-code",
        ),
        pytest.param(
            '[editie]\ngemeente = "GM0479"\n',
            r"\[referentie\] adressen ontbreekt",
            id="adressen-missing",
        ),
        pytest.param(
            '[referentie]\nadressen = "pc6hnr.csv"\n',
            r"\[editie\] gemeente ontbreekt",
            id="gemeente-missing",
        ),
        pytest.param(
            '[editie]\ngemeente = "GM0479"\n[referentie]\nadressen = "nope.csv"\n',
            r"\[referentie\] adressen: bestand nope.csv bestaat niet",
            id="adressen-file",
        ),
        pytest.param(
            BASE + '[partners.x]\nkolommen = { pc = "straat" }\n',
            r"\[partners.x\] kolommen: 'pc' wijst naar onbekende kolom",
            id="kolommen-target",
        ),
        pytest.param(BASE + '[partners."_X Y"]\n', "organisatiemap heet", id="organisation"),
        pytest.param(
            BASE.replace('"GM0479"', '"GM0479"\nperiode = "2026"'), "periode", id="periode"
        ),
        pytest.param("not toml = = ", "geen geldige TOML", id="toml"),
        pytest.param(
            BASE + "[openbaarmaking]\ndrempell = 10\n",
            r"\[openbaarmaking\]: onbekende instelling 'drempell'; bedoelt u 'drempel'\?",
            id="typo-key",
        ),
        pytest.param(
            BASE + "[openbaarmakng]\ndrempel = 10\n",
            r"onbekende sectie \[openbaarmakng\]; bedoelt u \[openbaarmaking\]\?",
            id="typo-section",
        ),
        pytest.param(
            BASE + '[partners.wmo]\nkolomen = { pc = "postcode" }\n',
            r"\[partners.wmo\]: onbekende instelling 'kolomen'; bedoelt u 'kolommen'\?",
            id="typo-partner-key",
        ),
        pytest.param(
            BASE + "[rapport]\nkontakt = 'x'\n",
            r"\[rapport\]: onbekende instelling 'kontakt'; bedoelt u 'contact'\?",
            id="typo-rapport",
        ),
        pytest.param(
            BASE + '[openbaarmaking]\ndrempel = "tien"\n',
            r"\[openbaarmaking\] drempel moet een geheel getal .* zijn, niet tekst",
            id="drempel-text",
        ),
        pytest.param(
            BASE + "[openbaarmaking]\nafronding = 5.5\n",
            r"\[openbaarmaking\] afronding moet een geheel getal .* zijn, niet getal",
            id="afronding-float",
        ),
        pytest.param(
            BASE + "[openbaarmaking]\nafronding = 0\n",
            r"\[openbaarmaking\] .*te weinig bescherming",
            id="afronding-zero",
        ),
        pytest.param(
            BASE + "[openbaarmaking]\ndrempel = 0\n",
            r"\[openbaarmaking\] drempel = 0 .*te weinig bescherming",
            id="drempel-zero",
        ),
        pytest.param(
            BASE + "[openbaarmaking]\nafronding = 1\n",
            r"\[openbaarmaking\] .*afronding = 1 .*te weinig bescherming",
            id="afronding-one",
        ),
        pytest.param(
            BASE + "[aanlevering]\nmax_afgewezen = 5\n",
            r"\[aanlevering\] max_afgewezen moet hoogstens 1",
            id="share-above-one",
        ),
        pytest.param(
            BASE + "[aanlevering]\nwachttijd_seconden = -1\n",
            r"\[aanlevering\] wachttijd_seconden moet minstens 0",
            id="seconds-negative",
        ),
        pytest.param(
            BASE + '[aanlevering]\nmax_afgewezen = "veel"\n',
            r"\[aanlevering\] max_afgewezen moet een getal",
            id="share-text",
        ),
        pytest.param(
            BASE + "[aanlevering]\nmax_rijen = 0\n",
            r"\[aanlevering\] max_rijen moet groter dan 0",
            id="limit-zero",
        ),
        pytest.param(
            BASE + "[aanlevering]\nmax_bestand_bytes = true\n",
            r"\[aanlevering\] max_bestand_bytes moet een geheel getal .* niet waar/onwaar",
            id="limit-bool",
        ),
        pytest.param(
            BASE.replace('"GM0479"', '"GM0479"\nverwacht = "wmo"'),
            r"\[editie\] verwacht moet een lijst",
            id="verwacht-not-list",
        ),
        pytest.param(
            BASE.replace('"GM0479"', '"GM0479"\nverwacht = ["_Gemeente WMO"]'),
            r"\[editie\] verwacht: een organisatiemap heet",
            id="verwacht-code",
        ),
        pytest.param(
            BASE + "[rapport]\ncontact = 5\n",
            r"\[rapport\] contact moet tekst tussen aanhalingstekens",
            id="contact-type",
        ),
        pytest.param(
            BASE + '[rapport]\nvorige_editie = "weg"\n',
            r"\[rapport\] vorige_editie: map weg bestaat niet",
            id="vorige-editie",
        ),
        pytest.param(
            BASE + '[rapport]\ncbs_gebruik = "weg.csv"\n',
            r"\[rapport\] cbs_gebruik: bestand weg.csv bestaat niet",
            id="cbs-gebruik",
        ),
        pytest.param(
            BASE + "[partners.wmo]\ncodes = { HH = 1 }\n",
            r"\[partners.wmo\] codes.HH moet tekst",
            id="codes-type",
        ),
        pytest.param(
            "partners = 3\n" + BASE,
            r"\[partners\] moet een sectie",
            id="partners-type",
        ),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_config(tmp_path, body))


def test_bad_config_never_echoes_a_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, BASE + '[openbaarmaking]\ndrempel = "GEHEIM-1234"\n'))
    assert "GEHEIM" not in str(caught.value)


def test_cli_reports_a_bad_config_as_a_user_error(tmp_path: Path) -> None:
    config = _config(tmp_path, BASE + '[openbaarmaking]\ndrempel = "tien"\n')
    (tmp_path / "uploads").mkdir()
    uploads, out = str(tmp_path / "uploads"), str(tmp_path / "out")
    result = CliRunner().invoke(
        app,
        ["run", "--uploads", uploads, "--out", out, "--edition", "2026", "--config", str(config)],
    )
    assert result.exit_code == 2
    assert "drempel moet een geheel getal" in result.output
    assert "Traceback" not in result.output


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
