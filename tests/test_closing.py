"""The close: the gemeente's wijken and buurten come from the CBS tables its config names."""

from pathlib import Path

import polars as pl
from editions import publish_edition


def _gemeente(folder: Path) -> Path:
    """A gemeente with two wijken and three buurten in its CBS table (beside another
    gemeente's), no kerncijfers, and one partner delivering two households in one buurt."""
    folder.mkdir()
    pl.DataFrame(
        {
            "PC6": ["1503AB", "1503AB", "1503AB", "1503AC", "1011AB"],
            "Huisnummer": [1, 2, 3, 1, 1],
            "Buurt2024": ["04790101", "04790101", "04790102", "04790201", "0363AF01"],
            "Wijk2024": ["047901", "047901", "047901", "047902", "0363AF"],
            "Gemeente2024": ["0479", "0479", "0479", "0479", "0363"],
        }
    ).write_csv(folder / "adressen.csv", separator=";")
    (folder / "factlab.toml").write_text(
        '[editie]\ngemeente = "GM0479"\ngemeentenaam = "Zaanstad"\n'
        'periode = "2026-01-01:2026-12-31"\n[referentie]\nadressen = "adressen.csv"\n'
        '[partners.wmo]\nnaam = "Wmo"\n',
        encoding="utf-8",
    )
    (folder / "uploads" / "wmo").mkdir(parents=True)
    (folder / "uploads" / "wmo" / "a.csv").write_text(
        "postcode;huisnummer;voorziening\n1503AB;1;WMO-HH\n1503AB;2;WMO-HH\n", encoding="utf-8"
    )
    return folder


def test_without_kerncijfers_every_wijk_and_buurt_of_the_address_table_gets_a_row(
    tmp_path: Path,
) -> None:
    """Also the wijk and the buurt without households, and none of another gemeente."""
    published = publish_edition(_gemeente(tmp_path / "gemeente"), tmp_path / "uit")
    tables = published.edition_dir / "tabellen"
    buurten = pl.read_csv(tables / "buurten.csv", infer_schema=False)
    assert buurten.select("gebied_code", "buurt").rows() == [
        ("WK047901", "BU04790101"),
        ("WK047901", "BU04790102"),
        ("WK047902", "BU04790201"),
    ]
    kerncijfers = pl.read_csv(tables / "kerncijfers.csv", infer_schema=False)
    assert kerncijfers.get_column("gebied_code").to_list() == [
        "GM0479",
        "WK047901",
        "WK047902",
        "onbekend",
    ]
