"""Synthetic household tables in the core's de-identified contract, for the analysis tests.

A seed fixes everything. ``small_gemeente`` gives a handful of households over a few wijken,
where almost every cell is 0-7 and suppression bites hard.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import polars as pl

from factlab.analyse import Analysis, analyse
from factlab.catalogue import load_catalogue
from factlab.schemas.households import HOUSEHOLD_SCHEMA

ORGANISATIONS = ("zorgbalans", "jeugdteam", "wijkteam", "werkplein", "schuldhulp-zw", "humanitas")


@dataclass(frozen=True)
class Gemeente:
    code: str
    naam: str
    wijken: pl.DataFrame


def analyse_area(hh: pl.DataFrame, area: Gemeente, **options: int) -> Analysis:
    """Analyse factory households of a factory gemeente with the built-in catalogue."""
    return analyse(
        hh,
        gemeente_code=area.code,
        gemeente_naam=area.naam,
        wijken=area.wijken,
        catalogue=load_catalogue(),
        **options,
    )


def gemeente(n_wijken: int = 5, code: str = "GM0999", woningen: int | None = 800) -> Gemeente:
    nr = code[2:]
    wijken = pl.DataFrame(
        {
            "wijk_code": [f"WK{nr}{i:02d}" for i in range(1, n_wijken + 1)],
            "wijk_naam": [f"Wijk {i}" for i in range(1, n_wijken + 1)],
            "woningen": [
                woningen if i != n_wijken or woningen is None else None
                for i in range(1, n_wijken + 1)
            ],
        },
        schema={"wijk_code": pl.String, "wijk_naam": pl.String, "woningen": pl.Int64},
    )
    return Gemeente(code, f"Testgemeente {nr}", wijken)


def households(seed: int, n: int, area: Gemeente, p_onbekend: float = 0.05) -> pl.DataFrame:
    """``n`` households with a skewed number of provisions (most have one, a few many)."""
    rng = random.Random(seed)
    catalogue = load_catalogue()
    codes = catalogue.get_column("code").to_list()
    domain_of = dict(zip(codes, catalogue.get_column("domein").to_list(), strict=True))
    weights = [1.0 / (1 + i % 7) for i in range(len(codes))]
    wijk_codes = area.wijken.get_column("wijk_code").to_list()
    rows = []
    for _ in range(n):
        k = min(len(codes), 1 + int(rng.expovariate(0.9)))
        chosen = sorted(set(rng.choices(codes, weights=weights, k=k)))
        orgs = sorted({rng.choice(ORGANISATIONS) for _ in chosen})
        domains = sorted({domain_of[c] for c in chosen})
        if rng.random() < p_onbekend:
            wijk, buurt = "onbekend", None
        else:
            wijk = wijk_codes[min(int(rng.expovariate(0.6)), len(wijk_codes) - 1)]
            buurt = f"BU{wijk[2:]}{rng.randint(0, 3):02d}"
        rows.append(
            {
                "wijk_code": wijk,
                "buurt_code": buurt,
                "voorzieningen": chosen,
                "domeinen": domains,
                "organisaties": orgs,
                "aantal_voorzieningen": len(chosen),
                "aantal_domeinen": len(domains),
                "aantal_organisaties": len(orgs),
            }
        )
    return pl.DataFrame(rows, schema=HOUSEHOLD_SCHEMA, orient="row")
