"""Messy rows: each household's provisions as the episodes a partner delivers, rendered in the
partner's own style, with the dirt real deliveries have (invalid, duplicate and out-of-period
rows), and the receipt a correct pipeline must give for each file."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from factlab.synth.calibration import PERIOD_END, PERIOD_START, VALID_LETTER_PAIRS
from factlab.synth.partners import CODE_ORG, NAMES, REMARKS, Partner

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


def in_period_dates(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
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
        return f"0{r.randint(100, 999)}{r.choice(VALID_LETTER_PAIRS)}"
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
        return r.choice(REMARKS)
    if kind == "name":
        return r.choice(NAMES)
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


def build_file(
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
        c for c, o in CODE_ORG.items() if o == partner.org
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
