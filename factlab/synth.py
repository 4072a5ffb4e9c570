"""Synthetic gemeente: a realistic, reproducible edition with ground truth, for any gemeente.

Why this exists: Factlab links provisions per household across partners, and nobody may use
real addresses to demo, test or benchmark that. So we fabricate a whole edition folder that
looks like the real thing: the CBS postcode-huisnummer table for the gemeente (its real CBS
wijken and their real dwelling counts from the bundled kerncijfers 2024, invented buurten and
PC6 postcodes; Zaanstad, the default, also with its real wijk names and map),
uploads from nine partner organisations in deliberately different layouts (three delimiters,
three encodings, one XLSX, own column names and own provision codes, all the ways people write
``12-1hg``), the ``factlab.toml`` that connects them, and, for tests only, the ground truth a
perfect pipeline must reproduce.

How the statistics are made: every dwelling is a household with a latent vulnerability score
(in Zaanstad higher on average in Poelenburg, Pelders- en Hoornseveld and Kogerveldwijk, lower
in Westzaan and Assendelft-Noord; elsewhere a per-wijk mean drawn from the seed). The score drives whether a household uses any provision at all, which
combination of the Jeugd/Wmo/Participatie domains it uses (calibrated to the published CBS
combination shares) and how many distinct provisions it has (calibrated to the Zutphen 2022
distribution); the other domains follow the profile (minima mostly with bijstand, VVE only
with children). The truth is derived from the rows actually written, never from the model,
so the receipts and household counts in ``waarheid/`` are exact by construction.

Generation is vectorised with numpy (dwellings, usage); only rendering of the partner rows is
a Python loop, which is linear in the number of rows. One ``numpy.random.Generator`` seeded
from ``seed`` drives everything, and the file writers avoid timestamps, so the same seed gives
byte-identical output. Pure generation functions first, file writing at the edge.

Any scale works: postcodes come from a pool of every PC4 (an error only when even that runs
out), and an XLSX delivery is split over files below Excel's row limit, each with its own
receipt truth.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import xlsxwriter

from factlab.catalogue import load_catalogue
from factlab.config import CANONICAL_COLUMNS, header_key
from factlab.connectors.cbs import read_bundled_wijken
from factlab.errors import FactlabError

__all__ = ["PERIOD_END", "PERIOD_START", "SynthSummary", "synthesise"]

PERIOD_START = date(2026, 1, 1)
PERIOD_END = date(2026, 12, 31)
ZAANSTAD = "GM0479"
# Excel's sheet limit; a partner's XLSX delivery is split over files below it (header included).
XLSX_MAX_ROWS = 1_048_576

# Share of dwellings with at least one provision (target band 15-20%).
TARGET_ANY = 0.175
# How strongly the latent score drives use (logit scale).
BETA = 1.1
# Share of users without any Jeugd/Wmo/Participatie provision (only minima, welzijn, ...).
OTHER_ONLY_SHARE = 0.15

# CBS: households using Jeugd (J), Wmo (W), Participatie (P), by combination.
JWP_COMBOS: tuple[tuple[tuple[int, int, int], float], ...] = (
    ((1, 0, 0), 0.170),
    ((0, 0, 1), 0.260),
    ((0, 1, 0), 0.420),
    ((1, 0, 1), 0.025),
    ((1, 1, 0), 0.015),
    ((0, 1, 1), 0.100),
    ((1, 1, 1), 0.007),
)
# Zutphen 2022: distinct provisions per user household (4+ = 15.5%, spread over 4..7).
N_PROVISIONS_DIST: tuple[tuple[int, float], ...] = (
    (1, 0.457),
    (2, 0.255),
    (3, 0.133),
    (4, 0.075),
    (5, 0.043),
    (6, 0.024),
    (7, 0.013),
)

# Latent mean per wijk: the per-wijk comparison should show something.
WIJK_MU: dict[str, float] = {
    "WK047911": 0.20,
    "WK047912": 0.75,
    "WK047913": 0.60,
    "WK047914": 0.30,
    "WK047915": 0.55,
    "WK047916": 0.10,
    "WK047921": 0.00,
    "WK047922": 0.10,
    "WK047923": 0.05,
    "WK047931": -0.20,
    "WK047932": -0.10,
    "WK047941": -0.20,
    "WK047942": -0.05,
    "WK047951": 0.10,
    "WK047961": -0.05,
    "WK047962": -0.15,
    "WK047971": -0.30,
    "WK047972": -0.50,
    "WK047981": -0.50,
}
# Zaanstad-like PC4 per wijk; when a wijk needs more postcodes it takes from the PC4 pool.
WIJK_PC4: dict[str, tuple[int, ...]] = {
    "WK047911": (1501, 1502),
    "WK047912": (1503,),
    "WK047913": (1504,),
    "WK047914": (1505,),
    "WK047915": (1506,),
    "WK047916": (1507,),
    "WK047921": (1509,),
    "WK047922": (1508,),
    "WK047923": (1500,),
    "WK047931": (1541,),
    "WK047932": (1542,),
    "WK047941": (1544,),
    "WK047942": (1543,),
    "WK047951": (1521, 1522),
    "WK047961": (1561,),
    "WK047962": (1562,),
    "WK047971": (1566,),
    "WK047972": (1567, 1565),
    "WK047981": (1551,),
}
_OTHER_PC4 = {1511, 1531, 1025, 1031}
PC6_PER_PC4 = 450
# Spread of the latent mean per wijk for gemeenten without hand-set WIJK_MU.
WIJK_MU_SD = 0.35

# Addresses outside the gemeente (so "buiten gemeente" can occur): gemeente, wijk, buurten, PC4.
OTHER_AREAS: tuple[tuple[str, str, tuple[str, ...], tuple[int, ...], int], ...] = (
    ("0431", "043100", ("04310000", "04310001", "04310002"), (1511,), 180),
    ("0363", "0363NC", ("0363NC01", "0363NC02"), (1025,), 120),
    ("0363", "0363AF", ("0363AF01", "0363AF02", "0363AF03"), (1031,), 140),
    ("0880", "088001", ("08800101", "08800102"), (1531,), 160),
)

_VALID_LETTER_PAIRS: tuple[str, ...] = tuple(
    a + b
    for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if a + b not in ("SA", "SD", "SS")
)

# Dwellings sharing one huisnummer: (weight, ((huisletter, toevoeging), ...)).
_SLOT_TEMPLATES: tuple[tuple[float, tuple[tuple[str, str], ...]], ...] = (
    (0.800, (("", ""),)),
    (0.020, (("", ""), ("A", ""))),
    (0.015, (("A", ""), ("B", ""))),
    (0.015, (("", ""), ("A", ""), ("B", ""))),
    (0.006, (("A", ""), ("B", ""), ("C", ""), ("D", ""))),
    (0.012, (("", "1"), ("", "2"))),
    (0.012, (("", "1"), ("", "2"), ("", "3"))),
    (0.008, (("", ""), ("", "1"), ("", "2"))),
    (0.004, (("", ""), ("", "BIS"))),
    (0.002, (("A", "1"), ("A", "2"))),
)

# Which provision a household gets first within a domain.
_CODE_WEIGHTS: dict[str, float] = {
    "JGD-AMB": 0.78,
    "JGD-VBL": 0.07,
    "JGD-JB": 0.09,
    "JGD-JR": 0.06,
    "WMO-HH": 0.30,
    "WMO-BEG": 0.17,
    "WMO-DAG": 0.05,
    "WMO-HLP": 0.22,
    "WMO-WON": 0.07,
    "WMO-VV": 0.15,
    "WMO-BW": 0.02,
    "WMO-MO": 0.02,
    "PW-BIJ": 0.70,
    "PW-RI": 0.20,
    "PW-LKS": 0.06,
    "PW-BW": 0.04,
    "SHV": 0.75,
    "SHV-BB": 0.25,
    "MIN-BB": 0.25,
    "MIN-IIT": 0.15,
    "MIN-KWS": 0.45,
    "MIN-MDR": 0.15,
    "WLZ-MAATJE": 0.35,
    "WLZ-BBM": 0.25,
    "WLZ-MZO": 0.40,
    "OND-VVE": 1.0,
    "INB": 1.0,
}
# First domain of users without Jeugd/Wmo/Participatie.
_OTHER_PRIMARY: tuple[tuple[str, float], ...] = (
    ("minima", 0.30),
    ("welzijn", 0.35),
    ("schuldhulp", 0.20),
    ("inburgering", 0.08),
    ("onderwijs", 0.07),
)


# --------------------------------------------------------------------------------------------
# Partners
# --------------------------------------------------------------------------------------------

_DASH = "\u2013"  # en dash, as partners type it in Word/Excel
_NAMES = (
    "M. Müller",
    "A. Özdemir",
    "R. Çelik",
    "Renée de Vries",
    "Zoë Bakker",
    "Anaïs El Idrissi",
    "José Martínez",
    "Noël Jansen",
    "Daniël Smit",
    "Lotte van 't Hof",
    "Brahim Aït Said",
    "Inès Koç",
)
_REMARKS = (
    "",
    "",
    "",
    "",
    f"Zaandam Zuid {_DASH} café",
    "cliënt verhuisd, zie dossier",
    'status "in behandeling"',
    "via huisarts; overleg met wijkteam",
    "herindicatie gepland",
    f"contact via dochter {_DASH} Müller",
)


@dataclass(frozen=True)
class Partner:
    """One partner organisation and the layout of its upload file(s)."""

    org: str
    naam: str
    files: tuple[str, ...]
    kind: str  # "csv" | "xlsx"
    delimiter: str = ";"
    encoding: str = "utf-8"
    newline: str = "\n"
    # (header, role); role is a canonical column or "x:<extra kind>".
    columns: tuple[tuple[str, str], ...] = ()
    date_format: str = "iso"  # "iso" | "dmy" | "cell" (xlsx date cells)
    codes: dict[str, str] = field(default_factory=dict)  # own code -> catalogue code
    trailing_blank_line: bool = False
    unknown_codes: tuple[str, ...] = ("ONBEKEND",)

    def has(self, role: str) -> bool:
        """True when the partner's file has a column for ``role``."""
        return any(r == role for _, r in self.columns)

    @property
    def kolommen(self) -> dict[str, str]:
        """Headers that are not canonical names and need a connector mapping."""
        canonical = {*CANONICAL_COLUMNS, "toevoeging"}
        out: dict[str, str] = {}
        for header, role in self.columns:
            if not role.startswith("x:") and header_key(header) not in canonical:
                out[header] = role
        return out


PARTNERS: tuple[Partner, ...] = (
    Partner(
        org="gemeente-wmo",
        naam=f"Gemeente Zaanstad {_DASH} Wmo",
        files=("wmo_2026_kwartaal1.csv", "wmo_2026_kwartaal2.csv"),
        kind="csv",
        delimiter=";",
        encoding="utf-8",
        columns=(
            ("Postcode", "postcode"),
            ("Huisnummer", "huisnummer"),
            ("Huisletter", "huisletter"),
            ("Huisnummertoevoeging", "huisnummertoevoeging"),
            ("Voorziening", "voorziening"),
            ("Startdatum", "startdatum"),
            ("Einddatum", "einddatum"),
            ("Beschikkingsnummer", "x:beschikking"),
            ("Opmerking", "x:remark"),
        ),
        unknown_codes=("WMO-PGB", "WMO-XX"),
    ),
    Partner(
        org="gemeente-werk-inkomen",
        naam=f"Gemeente Zaanstad {_DASH} Werk en Inkomen",
        files=("uitkeringen_2026.xlsx",),
        kind="xlsx",
        columns=(
            ("Postcode", "postcode"),
            ("Huisnummer", "huisnummer"),
            ("Huisletter", "huisletter"),
            ("Toevoeging", "huisnummertoevoeging"),
            ("Voorziening", "voorziening"),
            ("Startdatum", "startdatum"),
            ("Einddatum", "einddatum"),
            ("Dossiernummer", "x:dossier"),
            ("Omschrijving", "x:omschrijving"),
        ),
        date_format="cell",
        unknown_codes=("PW-IOAW", "MIN-XX"),
    ),
    Partner(
        org="sociaal-wijkteam",
        naam="Sociaal Wijkteam Zaanstad",
        files=("wijkteam_export_2026.csv",),
        kind="csv",
        delimiter=",",
        encoding="utf-8-sig",
        newline="\r\n",
        columns=(
            ("Post code", "postcode"),
            ("HUIS_NUMMER", "huisnummer"),
            ("Huis-letter", "huisletter"),
            ("Toevoeging", "huisnummertoevoeging"),
            ("Voorziening", "voorziening"),
            ("Start_datum", "startdatum"),
            ("Eind datum", "einddatum"),
            ("Behandelaar", "x:name"),
            ("Wijkteam", "x:wijkteam"),
        ),
        unknown_codes=("JGD-XX", "WT-ADVIES"),
    ),
    Partner(
        org="jeugdbescherming-nh",
        naam="Jeugdbescherming Noord-Holland",
        files=("maatregelen_zaanstad_2026.txt",),
        kind="csv",
        delimiter="\t",
        encoding="cp1252",
        newline="\r\n",
        columns=(
            ("Postcode", "postcode"),
            ("Huisnummer", "huisnummer"),
            ("Maatregel", "voorziening"),
            ("Begindatum", "startdatum"),
            ("Einddatum", "einddatum"),
            ("Jeugdbeschermer", "x:name"),
            ("Regio", "x:regio"),
        ),
        date_format="dmy",
        codes={"JB": "JGD-JB", "JR": "JGD-JR"},
        trailing_blank_line=True,
        unknown_codes=("VOOGDIJ", "OTS-X"),
    ),
    Partner(
        org="kredietbank-zaanstad",
        naam="Kredietbank Zaanstad",
        files=("kredietbank_2026.csv",),
        kind="csv",
        delimiter=";",
        encoding="utf-8",
        columns=(
            ("pc", "postcode"),
            ("nr", "huisnummer"),
            ("toev", "huisnummertoevoeging"),
            ("product", "voorziening"),
            ("ingangsdatum", "startdatum"),
            ("afsluitdatum", "einddatum"),
            ("dossier", "x:dossier"),
            ("status", "x:status"),
        ),
        codes={"SCHULD": "SHV", "BB": "SHV-BB"},
        unknown_codes=("KREDIET", "SANERING-X"),
    ),
    Partner(
        org="welzijn-zaanstad",
        naam="Welzijn Zaanstad",
        files=("welzijn_deelnemers_2026.csv",),
        kind="csv",
        delimiter=",",
        encoding="utf-8",
        columns=(
            ("pc", "postcode"),
            ("nr", "huisnummer"),
            ("product", "voorziening"),
            ("ingangsdatum", "startdatum"),
            ("opmerking", "x:remark"),
        ),
        codes={"MAATJE": "WLZ-MAATJE", "BBM": "WLZ-BBM", "MZO": "WLZ-MZO"},
        unknown_codes=("SOOS", "KOFFIE"),
    ),
    Partner(
        org="vve-zaanstad",
        naam="VVE Zaanstad",
        files=("vve_peuters_2026.tsv",),
        kind="csv",
        delimiter="\t",
        encoding="utf-8",
        columns=(
            ("postcode", "postcode"),
            ("huisnummer", "huisnummer"),
            ("huisletter", "huisletter"),
            ("huisnummertoevoeging", "huisnummertoevoeging"),
            ("voorziening", "voorziening"),
            ("startdatum", "startdatum"),
            ("einddatum", "einddatum"),
            ("locatie", "x:locatie"),
        ),
        unknown_codes=("OND-PSZ",),
    ),
    Partner(
        org="taalhuis-inburgering",
        naam="Taalhuis en Inburgering Zaanstad",
        files=("inburgering_2026.csv",),
        kind="csv",
        delimiter=";",
        encoding="utf-8-sig",
        newline="\r\n",
        columns=(
            ("Postcode", "postcode"),
            ("Huisnummer", "huisnummer"),
            ("Toevoeging", "huisnummertoevoeging"),
            ("Voorziening", "voorziening"),
            ("Startdatum", "startdatum"),
            ("Taalniveau", "x:niveau"),
        ),
        unknown_codes=("TAALCAFE",),
    ),
    Partner(
        org="regiotaxi-aov",
        naam="Regiotaxi Zaanstreek (AOV)",
        files=("aov_pashouders_2026.csv",),
        kind="csv",
        delimiter=",",
        encoding="cp1252",
        newline="\r\n",
        columns=(
            ("Postcode", "postcode"),
            ("Huisnummer", "huisnummer"),
            ("Huisletter", "huisletter"),
            ("Toevoeging", "huisnummertoevoeging"),
            ("Product", "voorziening"),
            ("Startdatum", "startdatum"),
            ("Einddatum", "einddatum"),
            ("Pasnummer", "x:pas"),
            ("Opmerking", "x:remark"),
        ),
        codes={"AOV": "WMO-VV", "AOV-BG": "WMO-VV"},
        unknown_codes=("RTX", "OV-PAS"),
    ),
)
_PARTNER_BY_ORG = {p.org: p for p in PARTNERS}

# Catalogue code -> organisation. WMO-BEG is split between the gemeente and the wijkteam.
_CODE_ORG: dict[str, str] = {
    **{c: "sociaal-wijkteam" for c in ("JGD-AMB", "JGD-VBL")},
    **{c: "jeugdbescherming-nh" for c in ("JGD-JB", "JGD-JR")},
    **{
        c: "gemeente-wmo"
        for c in ("WMO-HH", "WMO-BEG", "WMO-DAG", "WMO-HLP", "WMO-WON", "WMO-BW", "WMO-MO")
    },
    "WMO-VV": "regiotaxi-aov",
    **{
        c: "gemeente-werk-inkomen"
        for c in ("PW-BIJ", "PW-RI", "PW-LKS", "PW-BW", "MIN-BB", "MIN-IIT", "MIN-KWS", "MIN-MDR")
    },
    **{c: "kredietbank-zaanstad" for c in ("SHV", "SHV-BB")},
    **{c: "welzijn-zaanstad" for c in ("WLZ-MAATJE", "WLZ-BBM", "WLZ-MZO")},
    "OND-VVE": "vve-zaanstad",
    "INB": "taalhuis-inburgering",
}
WIJKTEAM_BEG_SHARE = 0.25


# --------------------------------------------------------------------------------------------
# Public result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`synthesise` wrote."""

    out_dir: Path
    config: Path
    address_table: Path
    uploads: tuple[Path, ...]
    truth_households: Path
    truth_files: Path
    n_dwellings: int
    n_households_with_provision: int
    n_files: int
    n_organisations: int
    n_rows: int
    seed: int
    scale: float


# --------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wijk:
    """One CBS wijk from the bundled kerncijfers."""

    code: str  # WK047911
    naam: str
    inwoners: int
    woningen: int


def _data_file(name: str) -> Any:
    return resources.files("factlab").joinpath("data", *name.split("/"))


def load_wijken(gemeente: str = ZAANSTAD) -> list[Wijk]:
    """The wijken of ``gemeente`` with their CBS dwelling counts (Zaanstad with real names)."""
    if gemeente == ZAANSTAD:
        text = _data_file("cbs/zaanstad_wijken_2024_kwb.csv").read_text(encoding="utf-8")
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


def _pc4_pool(start: int, exclude: set[int]) -> Iterator[int]:
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


# --------------------------------------------------------------------------------------------
# Dwellings
# --------------------------------------------------------------------------------------------


def largest_remainder(total: int, shares: Sequence[float] | np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``shares`` (Hamilton's method)."""
    p = np.asarray(shares, dtype=float)
    p = p / p.sum()
    raw = p * total
    out = np.floor(raw).astype(np.int64)
    rest = int(total - out.sum())
    if rest > 0:
        order = np.argsort(-(raw - out), kind="stable")
        out[order[:rest]] += 1
    return out


@dataclass
class Dwellings:
    """Column arrays of generated dwellings (one household each)."""

    pc6: np.ndarray  # str
    huisnummer: np.ndarray  # int64
    huisletter: np.ndarray  # str
    toevoeging: np.ndarray  # str
    buurt: np.ndarray  # str, 8 chars without prefix
    wijk: np.ndarray  # str, 6 chars without prefix
    gemeente: np.ndarray  # str, 4 chars

    def __len__(self) -> int:
        return len(self.pc6)

    @staticmethod
    def concat(parts: Sequence[Dwellings]) -> Dwellings:
        """Concatenate column-wise."""
        names = ("pc6", "huisnummer", "huisletter", "toevoeging", "buurt", "wijk", "gemeente")
        return Dwellings(*(np.concatenate([getattr(p, n) for p in parts]) for n in names))


_T_WEIGHTS = np.array([w for w, _ in _SLOT_TEMPLATES])
_T_WEIGHTS = _T_WEIGHTS / _T_WEIGHTS.sum()
_T_SIZES = np.array([len(t) for _, t in _SLOT_TEMPLATES])
_T_OFFSETS = np.concatenate([[0], np.cumsum(_T_SIZES)[:-1]])
_T_LETTERS = np.array([lt for _, t in _SLOT_TEMPLATES for lt, _ in t])
_T_TOEVS = np.array([tv for _, t in _SLOT_TEMPLATES for _, tv in t])


def _area_dwellings(
    rng: np.random.Generator,
    buurt_counts: Sequence[int] | np.ndarray,
    buurt_codes: Sequence[str],
    wijk_code: str,
    gemeente: str,
    pc4s: Callable[[int], list[int]],
    used_pc6: set[str],
) -> Dwellings:
    """Dwellings for one wijk: slots (huisnummers) grouped into PC6 runs, per buurt."""
    pc6_local: list[np.ndarray] = []
    hnr: list[np.ndarray] = []
    letters: list[np.ndarray] = []
    toevs: list[np.ndarray] = []
    buurten: list[np.ndarray] = []
    n_pc6_total = 0
    for n_b, b_code in zip(buurt_counts, buurt_codes, strict=True):
        n_b = int(n_b)
        if n_b == 0:
            continue
        tmpl = rng.choice(len(_T_WEIGHTS), size=n_b, p=_T_WEIGHTS)
        sizes = _T_SIZES[tmpl]
        n_slots = int(np.searchsorted(np.cumsum(sizes), n_b)) + 1
        tmpl, sizes = tmpl[:n_slots], sizes[:n_slots]
        slot_of = np.repeat(np.arange(n_slots), sizes)[:n_b]
        slot_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        pos = np.arange(n_b) - slot_start[slot_of]
        flat = _T_OFFSETS[tmpl[slot_of]] + pos
        letters.append(_T_LETTERS[flat])
        toevs.append(_T_TOEVS[flat])
        # Slots per PC6: a street segment of 6..26 huisnummers.
        per_pc6 = rng.integers(6, 27, size=n_slots)
        cs = np.cumsum(per_pc6)
        n_pc6 = int(np.searchsorted(cs, n_slots)) + 1
        pc6_of_slot = np.repeat(np.arange(n_pc6), per_pc6[:n_pc6])[:n_slots]
        pc6_start = np.concatenate([[0], cs[: n_pc6 - 1]])
        idx_in_pc6 = np.arange(n_slots) - pc6_start[pc6_of_slot]
        first = rng.integers(1, 120, size=n_pc6)
        step = rng.choice(np.array([1, 2]), size=n_pc6, p=[0.4, 0.6])
        slot_nr = first[pc6_of_slot] + step[pc6_of_slot] * idx_in_pc6
        hnr.append(slot_nr[slot_of])
        pc6_local.append(pc6_of_slot[slot_of] + n_pc6_total)
        buurten.append(np.full(n_b, b_code))
        n_pc6_total += n_pc6
    if n_pc6_total == 0:
        empty = np.array([], dtype=str)
        return Dwellings(empty, np.array([], dtype=np.int64), empty, empty, empty, empty, empty)
    # Postcodes: as few PC4s as capacity allows, letters a sorted random subset per PC4.
    n_pc4 = -(-n_pc6_total // PC6_PER_PC4)
    pc4_list = pc4s(n_pc4)
    per_pc4 = largest_remainder(n_pc6_total, np.ones(n_pc4))
    codes: list[str] = []
    for pc4, k in zip(pc4_list, per_pc4, strict=True):
        pick = np.sort(rng.choice(len(_VALID_LETTER_PAIRS), size=int(k), replace=False))
        codes.extend(f"{pc4}{_VALID_LETTER_PAIRS[i]}" for i in pick)
    used_pc6.update(codes)
    pc6_arr = np.array(codes)[np.concatenate(pc6_local)]
    n = len(pc6_arr)
    return Dwellings(
        pc6=pc6_arr,
        huisnummer=np.concatenate(hnr).astype(np.int64),
        huisletter=np.concatenate(letters),
        toevoeging=np.concatenate(toevs),
        buurt=np.concatenate(buurten),
        wijk=np.full(n, wijk_code),
        gemeente=np.full(n, gemeente),
    )


def other_areas(
    geo: Geography,
) -> tuple[tuple[str, str, tuple[str, ...], tuple[int, ...], int], ...]:
    """The neighbouring areas (never the gemeente itself) whose addresses are buiten gemeente."""
    return tuple(area for area in OTHER_AREAS if area[0] != geo.digits)


def generate_dwellings(
    rng: np.random.Generator, geo: Geography, scale: float
) -> tuple[Dwellings, Dwellings, set[str], list[int]]:
    """The gemeente's dwellings, those in neighbouring gemeenten, used PC6s and own PC4s."""
    taken = _OTHER_PC4 | {n for pc4s in geo.base_pc4.values() for n in pc4s}
    pool = _pc4_pool(geo.pc4_start, taken)
    used_pc6: set[str] = set()
    own_pc4: list[int] = []
    parts: list[Dwellings] = []

    def more_pc4(k: int) -> list[int]:
        out = list(itertools.islice(pool, k))
        if len(out) < k:
            raise FactlabError(
                f"--scale {scale:g} is te groot voor deze gemeente: er zijn niet genoeg "
                "postcodes (PC4) voor zoveel woningen"
            )
        return out

    for wijk in geo.wijken:
        n_w = round(wijk.woningen * scale)
        n_buurten = int(rng.integers(3, 9))
        counts = largest_remainder(n_w, rng.dirichlet(np.full(n_buurten, 4.0)))
        wijk6 = wijk.code[2:]
        base = list(geo.base_pc4.get(wijk.code, ()))

        def pc4s(k: int, base: list[int] = base) -> list[int]:
            out = base[:k] + more_pc4(max(0, k - len(base)))
            own_pc4.extend(out)
            return out

        parts.append(
            _area_dwellings(
                rng,
                counts,
                [f"{wijk6}{i + 1:02d}" for i in range(n_buurten)],
                wijk6,
                geo.digits,
                pc4s,
                used_pc6,
            )
        )
    home = Dwellings.concat(parts)
    others: list[Dwellings] = []
    for gemeente, wijk6, buurt_codes, pc4_tuple, n_base in other_areas(geo):
        n = max(30, round(n_base * scale))
        counts = largest_remainder(n, np.ones(len(buurt_codes)))

        def fixed(k: int, pc4_tuple: tuple[int, ...] = pc4_tuple) -> list[int]:
            return [pc4_tuple[i % len(pc4_tuple)] for i in range(k)]

        # Two areas may share a PC4 (none do now); keep PC6 sets disjoint by construction.
        others.append(_area_dwellings(rng, counts, buurt_codes, wijk6, gemeente, fixed, used_pc6))
    return home, Dwellings.concat(others), used_pc6, sorted(set(own_pc4))


def pc6hnr_frame(dwellings: Dwellings) -> pl.DataFrame:
    """The CBS postcode-huisnummer table: one row per (PC6, huisnummer), sorted."""
    return (
        pl.DataFrame(
            {
                "PC6": dwellings.pc6,
                "Huisnummer": dwellings.huisnummer,
                "Buurt2025": dwellings.buurt,
                "Wijk2025": dwellings.wijk,
                "Gemeente2025": dwellings.gemeente,
            },
            schema={
                "PC6": pl.String,
                "Huisnummer": pl.Int64,
                "Buurt2025": pl.String,
                "Wijk2025": pl.String,
                "Gemeente2025": pl.String,
            },
        )
        .unique(subset=["PC6", "Huisnummer"], keep="first", maintain_order=True)
        .sort("PC6", "Huisnummer")
    )


# --------------------------------------------------------------------------------------------
# Provision use
# --------------------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _solve_alpha(z: np.ndarray, target: float) -> float:
    """Intercept so that the mean use probability equals ``target`` (bisection)."""
    lo, hi = -12.0, 6.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _sigmoid(mid + BETA * z).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _rank_assign(
    rng: np.random.Generator, score: np.ndarray, labels_low_to_high: np.ndarray
) -> np.ndarray:
    """Give the lowest labels to the lowest (noisy) scores: a rank copula."""
    out = np.empty_like(labels_low_to_high)
    out[np.argsort(score, kind="stable")] = labels_low_to_high
    return out


@dataclass(frozen=True)
class Usage:
    """In-period provisions of the gemeente's households: users and a user x code bool matrix."""

    users: np.ndarray  # dwelling indices
    codes: tuple[str, ...]
    matrix: np.ndarray  # bool, len(users) x len(codes)
    z: np.ndarray  # latent score of every dwelling


def generate_usage(
    rng: np.random.Generator, wijk_index: np.ndarray, wijk_mu: np.ndarray, catalogue: dict[str, str]
) -> Usage:
    """Draw which households use which provisions, driven by a latent vulnerability score."""
    codes = tuple(catalogue)
    domain = np.array([catalogue[c] for c in codes])
    base_w = np.array([_CODE_WEIGHTS[c] for c in codes])
    n = len(wijk_index)
    z = wijk_mu[wijk_index] + rng.standard_normal(n)
    alpha = _solve_alpha(z, TARGET_ANY)
    users = np.flatnonzero(rng.random(n) < _sigmoid(alpha + BETA * z))
    nu = len(users)
    zu = z[users]

    # 1. Jeugd/Wmo/Participatie combination, more domains for higher (noisy) scores.
    other_only = rng.random(nu) < OTHER_ONLY_SHARE
    jwp = np.flatnonzero(~other_only)
    combo_counts = largest_remainder(len(jwp), [s for _, s in JWP_COMBOS])
    tiers: dict[int, list[int]] = {1: [], 2: [], 3: []}
    for ci, ((jeugd, wmo, participatie), _) in enumerate(JWP_COMBOS):
        tiers[jeugd + wmo + participatie].extend([ci] * int(combo_counts[ci]))
    labels = np.concatenate(
        [rng.permutation(np.array(tiers[t], dtype=np.int64)) for t in (1, 2, 3)]
    )
    combo = np.full(nu, -1)
    combo[jwp] = _rank_assign(rng, zu[jwp] + rng.normal(0, 0.8, len(jwp)), labels)
    combo_flags = np.array([c for c, _ in JWP_COMBOS])
    flags = np.zeros((nu, 3), dtype=bool)
    flags[jwp] = combo_flags[combo[jwp]].astype(bool)
    has_j, has_w, has_p = flags[:, 0], flags[:, 1], flags[:, 2]
    ndom = np.maximum(flags.sum(axis=1), 1)

    # 2. Required codes: one per J/W/P domain; users without J/W/P get one other domain.
    matrix = np.zeros((nu, len(codes)), dtype=bool)

    def pick(rows: np.ndarray, dom: str) -> None:
        cols = np.flatnonzero(domain == dom)
        p = base_w[cols] / base_w[cols].sum()
        matrix[rows, cols[rng.choice(len(cols), size=len(rows), p=p)]] = True

    for flag, dom in ((has_j, "jeugd"), (has_w, "wmo"), (has_p, "participatie")):
        pick(np.flatnonzero(flag), dom)
    prim_names = [d for d, _ in _OTHER_PRIMARY]
    prim = rng.choice(len(prim_names), size=nu, p=[s for _, s in _OTHER_PRIMARY])
    oo = np.flatnonzero(other_only)
    for i, dom in enumerate(prim_names):
        pick(oo[prim[oo] == i], dom)
    kids = has_j | (rng.random(nu) < 0.12) | (other_only & (prim == prim_names.index("onderwijs")))
    has_bij = matrix[:, codes.index("PW-BIJ")]

    # 3. Number of distinct provisions K, calibrated exactly to the target distribution:
    # users with two or three domains draw K >= domains, the rest share what is left by rank
    # of their (noisy) score; bijstand households rank higher, so minima stack up there.
    ks = np.array([k for k, _ in N_PROVISIONS_DIST])
    pk = np.array([s for _, s in N_PROVISIONS_DIST])
    target = largest_remainder(nu, pk)
    k_arr = np.zeros(nu, dtype=np.int64)
    multi = np.flatnonzero(ndom >= 2)
    for d in (2, 3):
        sel = multi[ndom[multi] == d]
        cond = np.where(ks >= d, pk, 0.0)
        k_arr[sel] = rng.choice(ks, size=len(sel), p=cond / cond.sum())
    used = np.array([(k_arr[multi] == k).sum() for k in ks])
    rest = np.flatnonzero(ndom < 2)
    resid = np.clip(target - used, 0, None)
    resid[0] += len(rest) - resid.sum()
    k_labels = np.repeat(ks, resid)
    k_arr[rest] = _rank_assign(
        rng, zu[rest] + 0.8 * has_bij[rest] + rng.normal(0, 0.7, len(rest)), k_labels
    )

    # 4. Fill up to K with profile-dependent weights (Gumbel top-k, without replacement).
    has_min = matrix[:, domain == "minima"].any(axis=1)
    w = np.zeros((nu, len(codes)))
    for i in range(len(codes)):
        d = domain[i]
        b = base_w[i]
        if d == "jeugd":
            w[:, i] = has_j * b * 0.5
        elif d == "wmo":
            w[:, i] = has_w * b * 1.2
        elif d == "participatie":
            w[:, i] = has_p * b * 0.6
        elif d == "minima":
            w[:, i] = b * (0.05 + 8.0 * has_bij + 0.3 * has_p)
        elif d == "schuldhulp":
            w[:, i] = b * (0.12 + 0.5 * has_p + 0.5 * (has_bij | has_min))
        elif d == "welzijn":
            w[:, i] = b * (0.10 + 0.25 * has_w)
        elif d == "onderwijs":
            w[:, i] = kids * 0.35
        else:  # inburgering
            w[:, i] = 0.03 + 0.25 * has_p
    with np.errstate(divide="ignore"):
        keys = np.log(w) + rng.gumbel(size=w.shape)
    keys[matrix] = np.inf
    available = ((w > 0) | matrix).sum(axis=1)
    k_arr = np.minimum(k_arr, available)
    order = np.argsort(-keys, axis=1, kind="stable")
    take = np.arange(len(codes))[None, :] < k_arr[:, None]
    np.put_along_axis(matrix, order, take | np.take_along_axis(matrix, order, axis=1), axis=1)
    return Usage(users=users, codes=codes, matrix=matrix, z=z)


# --------------------------------------------------------------------------------------------
# Rows: episodes, dirt, rendering
# --------------------------------------------------------------------------------------------

_P_START_ORD = PERIOD_START.toordinal()
_P_END_ORD = PERIOD_END.toordinal()


@dataclass(slots=True)
class Row:
    """One data row before rendering; ``kind`` is ok | oop | invalid."""

    kind: str
    addr: int  # index into the address table, -1 for none
    code: str  # catalogue code (or an unknown code for invalid rows)
    start: int  # ordinal, -1 = empty
    end: int  # ordinal, -1 = empty
    flaw: str = ""  # for invalid rows


@dataclass
class Addresses:
    """All addresses rows can point at, with their truth placement."""

    pc6: np.ndarray  # str
    hnr: np.ndarray  # int64
    letter: np.ndarray  # str
    toev: np.ndarray  # str
    status: np.ndarray  # str: geplaatst | onbekend | buiten_gemeente
    buurt: np.ndarray  # object: "BU04791101" or None
    wijk: np.ndarray  # object: "WK047911", "onbekend" or None


def _in_period_dates(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Start/end ordinals (-1 = empty) of provisions that overlap the period."""
    early0, early1 = date(2023, 1, 1).toordinal(), date(2025, 12, 31).toordinal()
    start = np.where(
        rng.random(n) < 0.6,
        early0 + np.floor((early1 - early0) * np.sqrt(rng.random(n))).astype(np.int64),
        rng.integers(_P_START_ORD, _P_END_ORD + 1, size=n),
    )
    start = np.where(rng.random(n) < 0.04, -1, start)
    has_end = rng.random(n) < 0.25
    anchor = np.maximum(start, _P_START_ORD)
    end = anchor + rng.integers(1, 500, size=n)
    end = np.where(rng.random(n) < 0.03, _P_START_ORD, end)  # boundary: ends on 1 January
    end = np.where(has_end, np.maximum(end, start), -1)
    # A provision starting on the last day of the period (boundary, still counts).
    start = np.where((start >= 0) & (rng.random(n) < 0.005), _P_END_ORD, start)
    end = np.where((end >= 0) & (end < start), start, end)
    return start, end


def _oop_dates(r: random.Random, with_end: bool) -> tuple[int, int]:
    """Dates of a valid row that does not overlap the period."""
    if with_end and r.random() < 0.6:
        end = (
            date(2025, 12, 31).toordinal()
            if r.random() < 0.1
            else r.randint(date(2025, 1, 1).toordinal(), date(2025, 12, 31).toordinal())
        )
        return end - r.randint(30, 700), end
    return r.randint(date(2027, 1, 1).toordinal(), date(2027, 6, 30).toordinal()), -1


def _render_postcode(r: random.Random, pc6: str) -> str:
    x = r.random()
    if x < 0.55:
        s = pc6
    elif x < 0.80:
        s = f"{pc6[:4]} {pc6[4:]}"
    elif x < 0.90:
        s = pc6.lower()
    else:
        s = f"{pc6[:4]} {pc6[4:].lower()}"
    y = r.random()
    if y < 0.015:
        s = " " + s
    elif y < 0.03:
        s = s + " "
    elif y < 0.035:
        s = f"  {s} "
    return s


def _render_number(
    r: random.Random, hnr: int, letter: str, toev: str, letter_col: bool, toev_col: bool
) -> tuple[str, str, str]:
    """(huisnummer, huisletter, toevoeging) fields for one canonical address."""
    h = str(hnr)
    options: list[tuple[str, str, str]]
    if not letter and not toev:
        return h, "", ""
    if letter and not toev:
        options = [
            (f"{h}{letter.lower()}", "", ""),
            (f"{h} {letter}", "", ""),
            (f"{h}-{letter}", "", ""),
        ]
        if letter_col:
            options += [(h, letter.lower(), ""), (h, letter, "")] * 2
        if toev_col:
            options.append((h, "", letter))
    elif not letter and toev == "BIS":
        options = [(f"{h} bis", "", ""), (f"{h}-BIS", "", "")]
        if toev_col:
            options += [(h, "", "bis")] * 2
    elif not letter:
        options = [(f"{h}-{toev}", "", ""), (f"{h} {toev}", "", "")]
        if toev == "1":
            options += [(f"{h}-1hg", "", ""), (f"{h} I", "", "")]
        elif toev == "2":
            options += [(f"{h}-2hg", "", ""), (f"{h} II", "", "")]
        if toev_col:
            options += [(h, "", toev)] * 3
    else:
        options = [(f"{h}{letter.lower()}-{toev}", "", "")]
        if letter_col and toev_col:
            options += [(h, letter.lower(), toev)] * 2
    return options[r.randrange(len(options))]


def _render_date(ordinal: int, fmt: str) -> str | datetime:
    if ordinal < 0:
        return ""
    d = date.fromordinal(ordinal)
    if fmt == "dmy":
        return d.strftime("%d-%m-%Y")
    if fmt == "cell":
        return datetime(d.year, d.month, d.day)
    return d.isoformat()


def _bad_postcode(r: random.Random) -> str:
    x = r.randrange(3)
    if x == 0:
        return f"{r.randint(1000, 9999)} {r.choice('ABCDEFGH')}"
    if x == 1:
        return f"0{r.randint(100, 999)}{r.choice(_VALID_LETTER_PAIRS)}"
    return f"{r.randint(1000, 9999)}{r.choice(('SA', 'SD', 'SS'))}"


@dataclass
class FileOut:
    """One rendered upload file plus its receipt truth."""

    org: str
    name: str
    header: list[str]
    cells: list[list[Any]]
    receipt: dict[str, Any]
    accepted: list[Row]


def _extra_value(r: random.Random, kind: str, row: Row, names: dict[str, str], seq: int) -> Any:
    if kind == "beschikking":
        return f"B2026-{100000 + seq:06d}"
    if kind == "dossier":
        return f"D{r.randint(1000000, 9999999)}"
    if kind == "remark":
        return r.choice(_REMARKS)
    if kind == "name":
        return r.choice(_NAMES)
    if kind == "wijkteam":
        return r.choice(
            (
                "Zaandam Oost",
                "Zaandam West",
                "Poelenburg/Peldersveld",
                "Wormerveer",
                "Krommenie",
                "Assendelft",
            )
        )
    if kind == "regio":
        return "Zaanstreek-Waterland"
    if kind == "status":
        return r.choice(("lopend", "lopend", "in afwachting", "stabilisatie"))
    if kind == "omschrijving":
        return names.get(row.code, "")
    if kind == "locatie":
        return r.choice(
            (
                "Peuterspeelzaal De Vlinder",
                "Kinderopvang 't Kraaiennest",
                "Peuterplein Poelenburg",
                "VVE De Zaanhopper",
            )
        )
    if kind == "niveau":
        return r.choice(("A1", "A2", "B1", "B1", "onbekend"))
    if kind == "pas":
        return f"{r.randint(10000000, 99999999)}"
    return ""


def _render_rows(
    r: random.Random,
    partner: Partner,
    rows: list[Row],
    addrs: Addresses,
    names: dict[str, str],
    own_code: dict[str, list[str]],
) -> list[list[Any]]:
    letter_col = partner.has("huisletter")
    toev_col = partner.has("huisnummertoevoeging")
    xlsx = partner.kind == "xlsx"
    out: list[list[Any]] = []
    for seq, row in enumerate(rows):
        a = row.addr
        pc = _render_postcode(r, str(addrs.pc6[a]))
        nr, lt, tv = _render_number(
            r, int(addrs.hnr[a]), str(addrs.letter[a]), str(addrs.toev[a]), letter_col, toev_col
        )
        code = row.code
        if code in own_code:
            choices = own_code[code]
            code = choices[0] if len(choices) == 1 or r.random() < 0.8 else choices[1]
        start, end = row.start, row.end
        if row.kind == "invalid":
            if row.flaw == "postcode":
                pc = _bad_postcode(r)
            elif row.flaw == "huisnummer_nul":
                nr, lt, tv = "0", "", ""
            elif row.flaw == "huisnummer_tekst":
                nr, lt, tv = r.choice(("onbekend", "abc", "zie notitie")), "", ""
            elif row.flaw == "postbus":
                nr, lt, tv = f"Postbus {r.randint(1, 9999)}", "", ""
            elif row.flaw == "datum_volgorde":
                start, end = end, start
        cells: list[Any] = []
        for _, role in partner.columns:
            if role == "postcode":
                cells.append(pc)
            elif role == "huisnummer":
                cells.append(int(nr) if xlsx and nr.isdigit() else nr)
            elif role == "huisletter":
                cells.append(lt)
            elif role == "huisnummertoevoeging":
                cells.append(tv)
            elif role == "voorziening":
                cells.append(code)
            elif role == "startdatum":
                cells.append(_render_date(start, partner.date_format))
            elif role == "einddatum":
                cells.append(_render_date(end, partner.date_format))
            else:
                cells.append(_extra_value(r, role[2:], row, names, seq))
        out.append(cells)
    return out


_FLAWS = (
    "postcode",
    "huisnummer_nul",
    "onbekende_code",
    "postbus",
    "huisnummer_tekst",
    "datum_volgorde",
)


def _build_file(
    rng: np.random.Generator,
    r: random.Random,
    partner: Partner,
    name: str,
    ok_rows: list[Row],
    addrs: Addresses,
    n_home: int,
    names: dict[str, str],
    own_code: dict[str, list[str]],
) -> FileOut:
    """Add out-of-period, invalid and duplicate rows to the episodes of one file and render it."""
    has_end = partner.has("einddatum")
    org_codes = [row.code for row in ok_rows] or [
        c for c, o in _CODE_ORG.items() if o == partner.org
    ]
    rows = list(ok_rows)
    n_oop = round(0.025 * len(ok_rows))
    for _ in range(n_oop):
        addr = r.choice(ok_rows).addr if ok_rows and r.random() < 0.6 else r.randrange(n_home)
        s, e = _oop_dates(r, has_end)
        rows.append(Row("oop", addr, r.choice(org_codes), s, e))
    n_base = len(rows)
    n_inv = max(1, int(0.012 * n_base)) if n_base >= 50 else 0
    flaws = [f for f in _FLAWS if has_end or f != "datum_volgorde"]
    for i in range(n_inv):
        flaw = flaws[i % len(flaws)] if i < len(flaws) else r.choice(flaws)
        addr = r.randrange(n_home)
        code = r.choice(org_codes)
        s = r.randint(_P_START_ORD - 400, _P_START_ORD + 200)
        e = s + r.randint(30, 400) if has_end else -1
        if flaw == "onbekende_code":
            code = r.choice(partner.unknown_codes)
        rows.append(Row("invalid", addr, code, s, e, flaw))
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    cells = _render_rows(r, partner, rows, addrs, names, own_code)
    # Drop accidental textual duplicates, so that "dubbel" only counts the planted ones.
    seen: set[tuple[Any, ...]] = set()
    keep_rows: list[Row] = []
    keep_cells: list[list[Any]] = []
    for row, c in zip(rows, cells, strict=True):
        key = tuple(c)
        if key in seen:
            continue
        seen.add(key)
        keep_rows.append(row)
        keep_cells.append(c)
    # Plant exact duplicates (~1%) of accepted rows, a few rows after their original.
    ok_pos = [i for i, row in enumerate(keep_rows) if row.kind == "ok"]
    n_dup = max(1, round(0.01 * len(keep_rows))) if len(keep_rows) >= 30 else 0
    dup_src = sorted(r.sample(ok_pos, min(n_dup, len(ok_pos))))
    keyed: list[tuple[float, int, str, Row, list[Any]]] = [
        (float(i), 0, "orig", row, c)
        for i, (row, c) in enumerate(zip(keep_rows, keep_cells, strict=True))
    ]
    for j, i in enumerate(dup_src):
        keyed.append((i + r.randint(1, 25) + 0.5, j + 1, "dup", keep_rows[i], list(keep_cells[i])))
    keyed.sort(key=lambda t: (t[0], t[1]))
    final_cells = [t[4] for t in keyed]
    counts = {"rijen_gelezen": len(keyed), "dubbel": 0, "afgewezen": 0, "buiten_periode": 0}
    placed = {"geplaatst": 0, "niet_geplaatst": 0, "buiten_gemeente": 0}
    rejected: list[int] = []
    accepted: list[Row] = []
    for rownum, (_, _, tag, row, _) in enumerate(keyed, start=2):
        if tag == "dup":
            counts["dubbel"] += 1
        elif row.kind == "invalid":
            counts["afgewezen"] += 1
            rejected.append(rownum)
        elif row.kind == "oop":
            counts["buiten_periode"] += 1
        else:
            accepted.append(row)
            status = str(addrs.status[row.addr])
            placed["niet_geplaatst" if status == "onbekend" else status] += 1
    receipt = {
        **counts,
        "geaccepteerd": len(accepted),
        **placed,
        "afgewezen_rijen": rejected,
    }
    return FileOut(
        partner.org, name, [h for h, _ in partner.columns], final_cells, receipt, accepted
    )


# --------------------------------------------------------------------------------------------
# Writers (the edge)
# --------------------------------------------------------------------------------------------


def _write_csv(path: Path, partner: Partner, f: FileOut) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=partner.delimiter, lineterminator=partner.newline)
    writer.writerow(f.header)
    writer.writerows(f.cells)
    text = buf.getvalue()
    if partner.trailing_blank_line:
        text += partner.newline
    path.write_bytes(text.encode(partner.encoding))


def _write_xlsx(path: Path, partner: Partner, f: FileOut) -> None:
    if len(f.cells) + 1 > XLSX_MAX_ROWS:  # _excel_parts keeps every file below the limit
        raise ValueError(f"{path.name}: {len(f.cells)} rows do not fit in one sheet")
    wb = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False},
    )
    wb.set_properties(
        {
            "title": f"{partner.naam} {_DASH} aanlevering",
            "author": "Factlab synth",
            "created": datetime(2026, 1, 15),
        }
    )
    bold = wb.add_format({"bold": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet("Voorzieningen 2026")
    ws.write_row(0, 0, f.header, bold)
    for i, cells in enumerate(f.cells, start=1):
        for j, v in enumerate(cells):
            if isinstance(v, datetime):
                ws.write_datetime(i, j, v, date_fmt)
            elif isinstance(v, int):
                ws.write_number(i, j, v)
            elif v != "":
                ws.write_string(i, j, v)
    ws.set_column(0, len(f.header) - 1, 14)
    info = wb.add_worksheet("Toelichting")
    info.write(0, 0, "Aanlevering voorzieningen 2026 voor de stapelingsmonitor.")
    info.write(1, 0, "Het eerste tabblad bevat de gegevens; één rij per voorziening.")
    wb.close()


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_key(k: str) -> str:
    ok = all((ch.isalnum() and ch.isascii()) or ch in "-_" for ch in k)
    return k if ok and k else _toml_str(k)


def _partner_name(partner: Partner, geo: Geography) -> str:
    return partner.naam.replace("Zaanstad", geo.naam) if geo.code != ZAANSTAD else partner.naam


def render_config(geo: Geography | None = None) -> str:
    """The ``factlab.toml`` for the synthetic edition (Zaanstad by default)."""
    geo = geo or geography()
    lines = [
        "[editie]",
        f"gemeente = {_toml_str(geo.code)}",
        f"gemeentenaam = {_toml_str(geo.naam)}",
        f'periode = "{PERIOD_START.isoformat()}:{PERIOD_END.isoformat()}"',
        "",
        "[referentie]",
        'adressen = "referentie/pc6hnr.csv"',
        'wijken = "referentie/wijken.csv"',
        'kaart = "referentie/wijken.geojson"',
        "",
        "[rapport]",
        "synthetisch = true  # verzonnen demogegevens: het rapport zegt dat op de eerste pagina",
    ]
    for p in PARTNERS:
        lines += ["", f"[partners.{p.org}]", f"naam = {_toml_str(_partner_name(p, geo))}"]
        if p.kolommen:
            inner = ", ".join(f"{_toml_key(k)} = {_toml_str(v)}" for k, v in p.kolommen.items())
            lines.append(f"kolommen = {{ {inner} }}")
        if p.codes:
            inner = ", ".join(f"{_toml_key(k)} = {_toml_str(v)}" for k, v in p.codes.items())
            lines.append(f"codes = {{ {inner} }}")
    return "\n".join(lines) + "\n"


def _wijken_csv(geo: Geography, generated: dict[str, int], scale: float) -> bytes:
    if geo.code == ZAANSTAD and scale == 1.0:
        return _data_file("cbs/zaanstad_wijken_2024_kwb.csv").read_bytes()
    out = ["statcode;statnaam;gemeentecode;aantal_inwoners_2024;woningvoorraad_2024"]
    for w in geo.wijken:
        out.append(f"{w.code};{w.naam};{geo.code};{round(w.inwoners * scale)};{generated[w.code]}")
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


# Where synthetic maps are drawn: RD New (EPSG:28992) coordinates in the middle of the country.
_MAP_ORIGIN_RD = (120_000.0, 450_000.0)
_MAP_CELL_M = 1_000.0


def synthetic_map(geo: Geography) -> dict[str, Any]:
    """A wijk map for a gemeente without bundled boundaries: a grid of 1 km squares, in RD.

    PDOK publishes its maps in RD New by default; writing this one in RD too means every
    synthetic edition exercises the conversion to WGS84 that a real map needs.
    """
    columns = max(1, math.ceil(math.sqrt(len(geo.wijken))))
    x0, y0 = _MAP_ORIGIN_RD
    features = []
    for i, wijk in enumerate(geo.wijken):
        x, y = x0 + (i % columns) * _MAP_CELL_M, y0 - (i // columns) * _MAP_CELL_M
        ring = [
            [x, y],
            [x + _MAP_CELL_M, y],
            [x + _MAP_CELL_M, y - _MAP_CELL_M],
            [x, y - _MAP_CELL_M],
            [x, y],
        ]
        features.append(
            {
                "type": "Feature",
                "properties": {"statcode": wijk.code, "statnaam": wijk.naam},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}},
        "features": features,
    }


def _map_bytes(geo: Geography) -> bytes:
    if geo.code == ZAANSTAD:
        return _data_file("cbs/zaanstad_wijken_2024.geojson").read_bytes()
    return (json.dumps(synthetic_map(geo), separators=(",", ":")) + "\n").encode("utf-8")


# --------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------


def _extra_addresses(
    rng: np.random.Generator,
    home: Dwellings,
    others: Dwellings,
    used_pc6: set[str],
    own_pc4: list[int],
    n_onbekend: int,
    n_buiten: int,
) -> tuple[list[tuple[str, int, str, str]], np.ndarray]:
    """Valid addresses missing from pc6hnr, and indices of out-of-gemeente dwellings."""
    out: list[tuple[str, int, str, str]] = []
    seen: set[tuple[str, int]] = set()
    # Half: an existing PC6 of the gemeente with a huisnummer beyond its run.
    max_by_pc6 = dict(
        pl.DataFrame({"pc6": home.pc6, "nr": home.huisnummer})
        .group_by("pc6")
        .agg(pl.col("nr").max())
        .iter_rows()
    )
    picks = rng.integers(0, len(home), size=n_onbekend)
    for k, i in enumerate(picks):
        if k % 2 == 0:
            pc = str(home.pc6[i])
            key = (pc, max_by_pc6[pc] + int(rng.integers(60, 300)))
        else:  # a new-build postcode that is not in the table yet
            while True:
                pc4 = own_pc4[int(rng.integers(0, len(own_pc4)))]
                pc = f"{pc4}{_VALID_LETTER_PAIRS[int(rng.integers(0, len(_VALID_LETTER_PAIRS)))]}"
                if pc not in used_pc6:
                    break
            key = (pc, int(rng.integers(1, 80)))
        if key in seen:
            continue
        seen.add(key)
        letter = "A" if rng.random() < 0.1 else ""
        out.append((key[0], key[1], letter, ""))
    buiten = rng.choice(len(others), size=min(n_buiten, len(others)), replace=False)
    return out, np.sort(buiten)


def _excel_parts(rows: list[Row]) -> list[list[Row]]:
    """Split a partner's XLSX rows so that no file passes Excel's row limit.

    A file holds its episodes plus ~2.5% out-of-period, ~1.2% invalid and ~1% duplicate rows
    and a header, so a part takes at most 90% of the limit in episodes.
    """
    per_file = int((XLSX_MAX_ROWS - 1) * 0.9)
    return [rows[i : i + per_file] for i in range(0, len(rows), per_file)] or [[]]


def _part_name(name: str, part: int) -> str:
    """``uitkeringen_2026.xlsx`` part 2 -> ``uitkeringen_2026_deel2.xlsx``."""
    if part == 0:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}_deel{part + 1}{dot}{suffix}"


def _generate(
    geo: Geography,
    seed: int,
    scale: float,
    progress: Callable[[str], None],
    emit: Callable[[FileOut], None],
) -> tuple[dict[str, Any], pl.DataFrame]:
    """All generation; returns reference tables and truth.

    Each upload file is handed to ``emit`` as soon as it is built and then forgotten (only its
    accepted rows are kept, as arrays), so memory does not grow with all files at once.
    """
    rng = np.random.default_rng(seed)
    r = random.Random(int(rng.integers(0, 2**63 - 1)))
    wijken = geo.wijken
    catalogue = catalogue_domains()
    names = catalogue_names()

    progress("adressen en buurten genereren")
    home, others, used_pc6, own_pc4 = generate_dwellings(rng, geo, scale)
    pc6hnr = pc6hnr_frame(Dwellings.concat([home, others]))
    generated = {w.code: int((home.wijk == w.code[2:]).sum()) for w in wijken}

    progress("voorzieningengebruik per huishouden trekken")
    wijk_pos = {w.code[2:]: i for i, w in enumerate(wijken)}
    wijk_index = np.array([wijk_pos[c] for c in home.wijk], dtype=np.int64)
    mu = np.array([geo.mu[w.code] for w in wijken])
    usage = generate_usage(rng, wijk_index, mu, catalogue)
    nu = len(usage.users)

    # Address table: own dwellings, then onbekend addresses, then out-of-gemeente dwellings.
    n_z = len(home)
    onbekend, buiten_idx = _extra_addresses(
        rng,
        home,
        others,
        used_pc6,
        own_pc4,
        max(4, round(0.004 * nu)),
        max(6, round(0.012 * nu)),
    )
    n_onb, n_out = len(onbekend), len(buiten_idx)
    addrs = Addresses(
        pc6=np.concatenate([home.pc6, [a[0] for a in onbekend], others.pc6[buiten_idx]]),
        hnr=np.concatenate(
            [home.huisnummer, [a[1] for a in onbekend], others.huisnummer[buiten_idx]]
        ).astype(np.int64),
        letter=np.concatenate(
            [home.huisletter, [a[2] for a in onbekend], others.huisletter[buiten_idx]]
        ),
        toev=np.concatenate(
            [home.toevoeging, [a[3] for a in onbekend], others.toevoeging[buiten_idx]]
        ),
        status=np.repeat(
            np.array(["geplaatst", "onbekend", "buiten_gemeente"]), [n_z, n_onb, n_out]
        ),
        buurt=np.concatenate(
            [np.char.add("BU", home.buurt).astype(object), np.full(n_onb + n_out, None)]
        ),
        wijk=np.concatenate(
            [
                np.char.add("WK", home.wijk).astype(object),
                np.full(n_onb, "onbekend", dtype=object),
                np.full(n_out, None),
            ]
        ),
    )

    # Episodes: (address, code) for the gemeente's users, plus 1-2 codes for the extra households.
    u_idx, c_idx = np.nonzero(usage.matrix)
    ep_addr = usage.users[u_idx]
    ep_code = np.array(usage.codes)[c_idx]
    n_extra = len(onbekend) + len(buiten_idx)
    freq = usage.matrix.sum(axis=0).astype(float)
    extra_addr: list[int] = []
    extra_code: list[str] = []
    for k in range(n_extra):
        m = 1 + int(rng.random() < 0.35)
        for ci in rng.choice(len(usage.codes), size=m, replace=False, p=freq / freq.sum()):
            extra_addr.append(n_z + k)
            extra_code.append(usage.codes[ci])
    ep_addr = np.concatenate([ep_addr, np.array(extra_addr, dtype=np.int64)])
    ep_code = np.concatenate([ep_code, np.array(extra_code, dtype=ep_code.dtype)])
    start, end = _in_period_dates(rng, len(ep_addr))
    ep_org = np.array([_CODE_ORG[c] for c in ep_code])
    beg = (ep_code == "WMO-BEG") & (rng.random(len(ep_code)) < WIJKTEAM_BEG_SHARE)
    ep_org[beg] = "sociaal-wijkteam"

    progress("partnerbestanden opbouwen")
    addr_parts: list[np.ndarray] = []
    code_parts: list[np.ndarray] = []
    org_parts: list[np.ndarray] = []
    for partner in PARTNERS:
        sel = np.flatnonzero(ep_org == partner.org)
        has_end = partner.has("einddatum")
        ok = [
            Row(
                "ok",
                int(ep_addr[i]),
                str(ep_code[i]),
                int(start[i]),
                int(end[i]) if has_end else -1,
            )
            for i in sel
        ]
        own: dict[str, list[str]] = {}
        for pc, cat in partner.codes.items():
            own.setdefault(cat, []).append(pc)
        if len(partner.files) == 1:
            split = [ok]
        else:  # two quarters: most provisions in one, some still running in both
            which = rng.random(len(ok))
            split = [
                [row for row, x in zip(ok, which, strict=True) if x < 0.70],
                [row for row, x in zip(ok, which, strict=True) if x >= 0.55],
            ]
        files = list(zip(partner.files, split, strict=True))
        if partner.kind == "xlsx":
            files = [
                (_part_name(name, i), part)
                for name, rows in files
                for i, part in enumerate(_excel_parts(rows))
            ]
        for name, part in files:
            f = _build_file(rng, r, partner, name, part, addrs, n_z, names, own)
            emit(f)
            addr_parts.append(np.array([row.addr for row in f.accepted], dtype=np.int64))
            code_parts.append(np.array([row.code for row in f.accepted], dtype=object))
            org_parts.append(np.full(len(f.accepted), f.org, dtype=object))
            del f

    progress("waarheid afleiden")
    acc_addr = np.concatenate(addr_parts)
    acc_code = np.concatenate(code_parts)
    acc_org = np.concatenate(org_parts)
    accepted = pl.DataFrame(
        {
            "postcode": addrs.pc6[acc_addr],
            "huisnummer": addrs.hnr[acc_addr],
            "huisletter": addrs.letter[acc_addr],
            "toevoeging": addrs.toev[acc_addr],
            "status": addrs.status[acc_addr],
            "buurt_code": addrs.buurt[acc_addr],
            "wijk_code": addrs.wijk[acc_addr],
            "voorziening": acc_code,
            "domein": np.array([catalogue[c] for c in acc_code], dtype=object),
            "organisatie": acc_org,
        },
        schema={
            "postcode": pl.String,
            "huisnummer": pl.Int64,
            "huisletter": pl.String,
            "toevoeging": pl.String,
            "status": pl.String,
            "buurt_code": pl.String,
            "wijk_code": pl.String,
            "voorziening": pl.String,
            "domein": pl.String,
            "organisatie": pl.String,
        },
    )
    key = ["postcode", "huisnummer", "huisletter", "toevoeging"]
    truth = (
        accepted.group_by(key, maintain_order=True)
        .agg(
            pl.col("status").first(),
            pl.col("buurt_code").first(),
            pl.col("wijk_code").first(),
            pl.col("voorziening").unique().sort().alias("voorzieningen"),
            pl.col("domein").unique().sort().alias("domeinen"),
            pl.col("organisatie").unique().sort().alias("organisaties"),
        )
        .sort(key)
    )
    reference = {"pc6hnr": pc6hnr, "wijken": wijken, "generated": generated, "n_dwellings": n_z}
    return reference, truth


def synthesise(
    out_dir: Path,
    *,
    seed: int = 2026,
    scale: float = 1.0,
    gemeente: str = ZAANSTAD,
    progress: Callable[[str], None] | None = None,
) -> SynthSummary:
    """Write a complete synthetic edition for ``gemeente`` (default Zaanstad) under ``out_dir``.

    Writes ``referentie/`` (pc6hnr, wijken csv + geojson), ``uploads/<organisatie>/``,
    ``factlab.toml`` and ``waarheid/`` (ground truth for tests). The same ``seed``, ``scale``
    and ``gemeente`` give byte-identical files; ``scale`` multiplies the number of dwellings.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    geo = geography(gemeente, np.random.default_rng([seed, 1]))
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    ref_dir = out_dir / "referentie"
    up_dir = out_dir / "uploads"
    truth_dir = out_dir / "waarheid"
    for d in (ref_dir, up_dir, truth_dir):
        d.mkdir(parents=True, exist_ok=True)

    upload_paths: list[Path] = []
    receipts: dict[str, Any] = {}
    n_rows = 0

    def write_upload(f: FileOut) -> None:
        nonlocal n_rows
        partner = _PARTNER_BY_ORG[f.org]
        folder = up_dir / f.org
        folder.mkdir(exist_ok=True)
        path = folder / f.name
        if partner.kind == "xlsx":
            _write_xlsx(path, partner, f)
        else:
            _write_csv(path, partner, f)
        upload_paths.append(path)
        receipts[f"{f.org}/{f.name}"] = f.receipt
        n_rows += len(f.cells)

    reference, truth = _generate(geo, seed, scale, say, write_upload)

    say("referentie en waarheid schrijven")
    pc6hnr_path = ref_dir / "pc6hnr.csv"
    reference["pc6hnr"].write_csv(pc6hnr_path, separator=";")
    (ref_dir / "wijken.csv").write_bytes(_wijken_csv(geo, reference["generated"], scale))
    (ref_dir / "wijken.geojson").write_bytes(_map_bytes(geo))

    config_path = out_dir / "factlab.toml"
    config_path.write_text(render_config(geo), encoding="utf-8")

    truth_path = truth_dir / "huishoudens.parquet"
    truth.write_parquet(truth_path, statistics=False)
    files_path = truth_dir / "bestanden.json"
    files_path.write_text(
        json.dumps(receipts, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (truth_dir / "README.md").write_text(
        "Synthetische grondwaarheid (synthetic ground truth) bij deze demo-editie: alleen voor tests.\n",
        encoding="utf-8",
    )
    return SynthSummary(
        out_dir=out_dir,
        config=config_path,
        address_table=pc6hnr_path,
        uploads=tuple(upload_paths),
        truth_households=truth_path,
        truth_files=files_path,
        n_dwellings=int(reference["n_dwellings"]),
        n_households_with_provision=truth.height,
        n_files=len(upload_paths),
        n_organisations=len({p.parent.name for p in upload_paths}),
        n_rows=n_rows,
        seed=seed,
        scale=scale,
    )
