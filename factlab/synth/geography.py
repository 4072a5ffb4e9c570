"""Reference data of the synthetic gemeente: its CBS wijken (bundled kerncijfers 2024), their
latent need, where its postcodes come from, and the catalogue."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from factlab.catalogue import load_catalogue
from factlab.connectors.cbs import read_bundled_wijken
from factlab.errors import FactlabError
from factlab.synth.calibration import WIJK_MU, WIJK_MU_SD, WIJK_PC4, ZAANSTAD


@dataclass(frozen=True)
class Wijk:
    """One CBS wijk from the bundled kerncijfers."""

    code: str  # WK047911
    naam: str
    inwoners: int
    woningen: int


def data_file(name: str) -> Any:
    return resources.files("factlab").joinpath("data", *name.split("/"))


def load_wijken(gemeente: str = ZAANSTAD) -> list[Wijk]:
    """The wijken of ``gemeente`` with their CBS dwelling counts (Zaanstad with real names)."""
    if gemeente == ZAANSTAD:
        text = data_file("cbs/zaanstad_wijken_2024_kwb.csv").read_text(encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
        return [
            Wijk(
                r["statcode"],
                r["statnaam"],
                int(r["aantal_inwoners_2024"]),
                int(r["woningvoorraad_2024"]),
            )
            for r in rows
        ]
    try:
        frame = read_bundled_wijken(gemeente)
    except FactlabError as error:
        raise FactlabError(f"--gemeente: {error}") from None
    return [
        Wijk(code, f"Wijk {code[6:]}", inwoners or 0, woningen or 0)
        for code, inwoners, woningen in frame.select("wijk_code", "inwoners", "woningen").rows()
    ]


@dataclass(frozen=True)
class Geography:
    """The synthetic gemeente: its CBS wijken, their latent need and where its postcodes start."""

    code: str  # GM0479
    naam: str
    wijken: tuple[Wijk, ...]
    mu: dict[str, float]  # latent mean per wijk code
    base_pc4: dict[str, tuple[int, ...]]  # PC4s a wijk uses first (Zaanstad: real ones)
    pc4_start: int  # where the pool of further PC4s starts

    @property
    def digits(self) -> str:
        """The code without prefix, as in the pc6hnr table (``0479``)."""
        return self.code[2:]


def geography(gemeente: str = ZAANSTAD, rng: np.random.Generator | None = None) -> Geography:
    """Zaanstad as hand-calibrated, or any other gemeente from the bundled CBS kerncijfers.

    Another gemeente's wijken get a latent mean drawn from ``rng``, so some wijken use more
    provisions than others, as in reality.
    """
    wijken = tuple(load_wijken(gemeente))
    if gemeente == ZAANSTAD:
        return Geography(gemeente, "Zaanstad", wijken, WIJK_MU, WIJK_PC4, 1510)
    rng = rng or np.random.default_rng(0)
    mu = dict(zip((w.code for w in wijken), rng.normal(0, WIJK_MU_SD, len(wijken)), strict=True))
    start = 1000 + (int(gemeente[2:]) * 97) % 9000
    return Geography(gemeente, f"Gemeente {gemeente[2:]}", wijken, mu, {}, start)


def pc4_pool(start: int, exclude: set[int]) -> Iterator[int]:
    """Every PC4 from ``start`` upward, wrapping round to 1000, except ``exclude``."""
    for n in itertools.chain(range(start, 10_000), range(1000, start)):
        if n not in exclude:
            yield n


def catalogue_domains() -> dict[str, str]:
    """Catalogue code -> domain, in catalogue order."""
    frame = load_catalogue()
    return dict(zip(frame.get_column("code"), frame.get_column("domein"), strict=True))


def catalogue_names() -> dict[str, str]:
    """Catalogue code -> name."""
    frame = load_catalogue()
    return dict(zip(frame.get_column("code"), frame.get_column("naam"), strict=True))
