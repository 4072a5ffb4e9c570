"""Build a corpus gemeente on disk: reference table, config and partner folders."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from tests.corpus.cases import POSTCODE, Case


def write_reference(folder: Path, partner_names: dict[str, str]) -> Path:
    """A gemeente with one postcode (all of 1503AB in one buurt) and a config; returns it."""
    table = pl.DataFrame(
        {"pc6": POSTCODE, "huisnummer": range(1, 10_000), "buurt": "04790101"}
    ).with_columns(wijk=pl.lit("047901"), gemeente=pl.lit("0479"))
    table.write_csv(folder / "adressen.csv", separator=";")
    partners = "".join(
        f"[partners.{json.dumps(org)}]\nnaam = {json.dumps(name)}\n"
        for org, name in partner_names.items()
    )
    (folder / "factlab.toml").write_text(
        '[editie]\ngemeente = "GM0479"\ngemeentenaam = "Zaanstad"\n'
        'periode = "2026-01-01:2026-12-31"\n[referentie]\nadressen = "adressen.csv"\n' + partners,
        encoding="utf-8",
    )
    return folder / "factlab.toml"


def write_case(uploads: Path, case: Case, outside: Path) -> None:
    folder = uploads / case.name
    folder.mkdir(parents=True)
    for name, content in case.files.items():
        (folder / name).write_bytes(content)
    for name, target in case.links.items():
        (outside / target).parent.mkdir(parents=True, exist_ok=True)
        (outside / target).write_text(f"postcode;huisnummer;voorziening\n{POSTCODE};1;WMO-HH\n")
        (folder / name).symlink_to(outside / target)
