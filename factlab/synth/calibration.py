"""Calibration of the synthetic gemeente: the published shares and distributions the model
reproduces (CBS domain combinations, Zutphen 2022 provisions per household), Zaanstad's latent
need per wijk and PC4s, addresses outside the gemeente and how huisnummers are shared."""

from __future__ import annotations

from datetime import date

PERIOD_START = date(2026, 1, 1)
PERIOD_END = date(2026, 12, 31)
ZAANSTAD = "GM0479"

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
OTHER_PC4 = {1511, 1531, 1025, 1031}
# Spread of the latent mean per wijk for gemeenten without hand-set WIJK_MU.
WIJK_MU_SD = 0.35

# Addresses outside the gemeente (so "buiten gemeente" can occur): gemeente, wijk, buurten, PC4.
OTHER_AREAS: tuple[tuple[str, str, tuple[str, ...], tuple[int, ...], int], ...] = (
    ("0431", "043100", ("04310000", "04310001", "04310002"), (1511,), 180),
    ("0363", "0363NC", ("0363NC01", "0363NC02"), (1025,), 120),
    ("0363", "0363AF", ("0363AF01", "0363AF02", "0363AF03"), (1031,), 140),
    ("0880", "088001", ("08800101", "08800102"), (1531,), 160),
)

VALID_LETTER_PAIRS: tuple[str, ...] = tuple(
    a + b
    for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if a + b not in ("SA", "SD", "SS")
)

# Dwellings sharing one huisnummer: (weight, ((huisletter, toevoeging), ...)).
SLOT_TEMPLATES: tuple[tuple[float, tuple[tuple[str, str], ...]], ...] = (
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
CODE_WEIGHTS: dict[str, float] = {
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
OTHER_PRIMARY: tuple[tuple[str, float], ...] = (
    ("minima", 0.30),
    ("welzijn", 0.35),
    ("schuldhulp", 0.20),
    ("inburgering", 0.08),
    ("onderwijs", 0.07),
)
