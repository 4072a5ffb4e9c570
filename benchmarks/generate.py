"""Generate the benchmark inputs: a national CBS pc6hnr table and partner uploads, vectorised.

One command writes everything the benchmark cases need (59 s on two cores at load 6.5)::

    uv run python benchmarks/generate.py --out /tmp/factlab-bench

Layout under ``--out``:

* ``referentie/pc6hnr.csv`` — the national CBS postcode-huisnummer table in its published
  format (``PC6;Huisnummer;Buurt2024;Wijk2024;Gemeente2024``, codes without prefix): 342
  gemeenten, ≥ 7.8 M rows.
* ``gemeente/`` — one gemeente (GM0479, ~56 k addresses) with its own CBS extract, ~30 k upload
  rows in 9 files; ``gemeente/factlab.toml`` uses the extract, ``gemeente/landelijk.toml`` the
  national table (what a gemeente downloads).
* ``klein/`` — a tiny edition: 3 files of about 20 rows, with the gemeente's extract.
* ``land/`` — national size: ≥ 4 M rows in 48 files of 44 partners (4 XLSX). Factlab runs one
  gemeente per edition, so the national case treats the country as one gemeente (GM9999):
  ``land/pc6hnr.csv`` is the national table with every code moved into that gemeente (9999
  for the first four digits of each Gemeente2024, Wijk2024 and Buurt2024): 99 wijken of 4
  buurten, a very large city's structure. Same rows, same bytes per row, same join. (Until
  2026-12-05 only Gemeente2024 was changed, so no wijk code belonged to GM9999 and the
  analysis put every household in wijk "onbekend", a lighter close than a real one.)

Uploads have the real mix: ``;``/``,``/tab, UTF-8 with and without BOM, Windows-1252 (CRLF),
UTF-16 "Unicode text", XLSX (never past Excel's row limit); partner column names and codes
mapped in ``factlab.toml``; postcodes and huisnummers spelled several ways; ~1.5 % invalid rows
and ~1 % exact duplicates. Upload rows use addresses of the CBS table (a few percent not in it).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter

N_GEMEENTEN = 342
GEMEENTE = 479  # the gemeente of the gemeente-sized cases (Zaanstad's code)
GEMEENTE_ADDRESSES = 56_000
LAND = 9999
EXCEL_MAX_DATA_ROWS = 1_048_575  # 1,048,576 rows minus the header
CATALOGUE = Path(__file__).resolve().parents[1] / "factlab" / "data" / "catalogus.csv"


@dataclass(frozen=True)
class Profile:
    """How one kind of partner exports: columns, codes, dialect."""

    kind: str
    headers: dict[str, str]  # canonical -> the partner's header
    codes: dict[str, str]  # partner code -> catalogue code (identity when the partner uses ours)
    file_format: str = "csv"  # csv, utf16 or xlsx
    separator: str = ";"
    encoding: str = "utf-8"  # utf-8, utf-8-sig or cp1252
    crlf: bool = False
    dates: str = "%Y-%m-%d"
    letter_in_number: bool = False  # no huisletter column: "12a" / "12 A" in huisnummer
    extra: str = "opmerking"


_PLAIN = {c: c for c in ("postcode", "huisnummer", "huisletter", "huisnummertoevoeging")}
_PLAIN_DATES = {"voorziening": "voorziening", "startdatum": "startdatum", "einddatum": "einddatum"}
PROFILES = [
    Profile("wmo", _PLAIN | _PLAIN_DATES, {c: c for c in ("WMO-HH", "WMO-BEG", "WMO-DAG")}),
    Profile(
        "jeugd",
        {
            "postcode": "Post code",
            "huisnummer": "HUIS_NUMMER",
            "huisletter": "Huis-letter",
            "huisnummertoevoeging": "Toevoeging",
            "voorziening": "Voorziening",
            "startdatum": "Start_datum",
            "einddatum": "Eind datum",
        },
        {c: c for c in ("JGD-AMB", "JGD-VBL")},
        separator=",",
        encoding="utf-8-sig",
    ),
    Profile(
        "jeugdbescherming",
        {
            "postcode": "Postcode",
            "huisnummer": "Huisnummer",
            "voorziening": "Maatregel",
            "startdatum": "Begindatum",
            "einddatum": "Einddatum",
        },
        {"JB": "JGD-JB", "JR": "JGD-JR"},
        separator="\t",
        encoding="cp1252",
        crlf=True,
        dates="%d-%m-%Y",
        letter_in_number=True,
        extra="jeugdbeschermer",
    ),
    Profile(
        "kredietbank",
        {
            "postcode": "pc",
            "huisnummer": "nr",
            "huisnummertoevoeging": "toev",
            "voorziening": "product",
            "startdatum": "ingangsdatum",
            "einddatum": "afsluitdatum",
        },
        {"SCHULD": "SHV", "BB": "SHV-BB"},
        letter_in_number=True,
        extra="dossier",
    ),
    Profile(
        "welzijn",
        {
            "postcode": "pc",
            "huisnummer": "nr",
            "voorziening": "product",
            "startdatum": "ingangsdatum",
        },
        {"MAATJE": "WLZ-MAATJE", "BBM": "WLZ-BBM", "MZO": "WLZ-MZO"},
        separator=",",
        letter_in_number=True,
    ),
    Profile(
        "werk-inkomen",
        _PLAIN | _PLAIN_DATES,
        {c: c for c in ("PW-BIJ", "PW-RI", "PW-LKS")},
        file_format="xlsx",
    ),
    Profile(
        "minima",
        _PLAIN | _PLAIN_DATES,
        {c: c for c in ("MIN-BB", "MIN-IIT", "MIN-KWS")},
        encoding="cp1252",
        crlf=True,
        dates="%d-%m-%Y",
    ),
    Profile(
        "vve",
        _PLAIN | _PLAIN_DATES,
        {"OND-VVE": "OND-VVE"},
        file_format="utf16",
        separator="\t",
        extra="locatie",
    ),
    Profile(
        "inburgering",
        _PLAIN | _PLAIN_DATES,
        {"INB": "INB"},
        encoding="utf-8-sig",
        crlf=True,
    ),
    Profile(
        "regiotaxi",
        _PLAIN | _PLAIN_DATES | {"voorziening": "Product"},
        {"AOV": "WMO-VV", "AOV-BG": "WMO-VV"},
        separator=",",
        extra="pasnummer",
    ),
]
_BY_KIND = {p.kind: p for p in PROFILES}
_NOTES = [
    "",
    "",
    "",
    "herindicatie gepland",
    "cliënt verhuisd",
    "contact via dochter \u2013 Müller",
]


# ---------------------------------------------------------------------------------------------
# CBS pc6hnr table
# ---------------------------------------------------------------------------------------------


def _gemeente_sizes(rng: np.random.Generator, total: int) -> tuple[np.ndarray, np.ndarray]:
    """342 gemeente codes and address counts: lognormal sizes, GEMEENTE fixed at ~56 k."""
    codes = np.sort(
        np.concatenate(
            [
                [GEMEENTE],
                rng.choice(
                    np.setdiff1d(np.arange(1, 2000), [GEMEENTE]), N_GEMEENTEN - 1, replace=False
                ),
            ]
        )
    )
    sizes = rng.lognormal(mean=0.0, sigma=0.9, size=N_GEMEENTEN)
    sizes[codes == GEMEENTE] = 0
    sizes = sizes / sizes.sum() * (total - GEMEENTE_ADDRESSES)
    sizes[codes == GEMEENTE] = GEMEENTE_ADDRESSES
    return codes, np.maximum(sizes.round().astype(np.int64), 800)


def cbs_table(rng: np.random.Generator, total: int) -> pl.DataFrame:
    """The national table as CBS publishes it: text codes without prefix, zero-padded."""
    codes, sizes = _gemeente_sizes(rng, total)
    per_pc6 = rng.poisson(16, size=total // 8) + 1
    ends = np.cumsum(per_pc6)
    per_pc6 = per_pc6[: np.searchsorted(ends, sizes.sum()) + 1]
    n_pc6 = len(per_pc6)
    pc6 = np.repeat(np.arange(n_pc6), per_pc6)[: sizes.sum()]
    first_number = rng.integers(1, 150, size=n_pc6)
    starts = np.repeat(np.cumsum(per_pc6) - per_pc6, per_pc6)[: len(pc6)]
    number = first_number[pc6] + np.arange(len(pc6)) - starts
    # Gemeente, wijk and buurt are contiguous runs of postcodes (as in reality, roughly).
    gemeente_index = np.repeat(np.arange(N_GEMEENTEN), sizes)
    position = np.arange(len(pc6)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    n_wijken = np.clip(sizes // 2300, 1, 99)
    wijk = (position * n_wijken[gemeente_index]) // sizes[gemeente_index]
    buurt = (position * n_wijken[gemeente_index] * 4 // sizes[gemeente_index]) % 4
    letters = np.array([chr(a) + chr(b) for a in range(65, 91) for b in range(65, 91)])
    return pl.DataFrame(
        {
            "pc4": 1000 + pc6 // 60,
            "letters": letters[(pc6 % 60) * 11 % len(letters)],
            "Huisnummer": number,
            "gemeente": codes[gemeente_index],
            "wijk": wijk,
            "buurt": buurt,
        }
    ).select(
        PC6=pl.col("pc4").cast(pl.String) + pl.col("letters"),
        Huisnummer=pl.col("Huisnummer"),
        Buurt2024=pl.format("{}{}{}", _pad("gemeente", 4), _pad("wijk", 2), _pad("buurt", 2)),
        Wijk2024=pl.format("{}{}", _pad("gemeente", 4), _pad("wijk", 2)),
        Gemeente2024=_pad("gemeente", 4),
    )


def _pad(column: str, width: int) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.zfill(width)


def _wijken_csv(table: pl.DataFrame, gemeente: str, path: Path) -> None:
    """CBS kerncijfers per wijk (statcode;statnaam;gemeentecode;woningvoorraad_2024)."""
    table.group_by("Wijk2024").len().sort("Wijk2024").select(
        statcode="WK" + pl.col("Wijk2024"),
        statnaam="Wijk " + pl.col("Wijk2024"),
        gemeentecode=pl.lit(gemeente),
        woningvoorraad_2024=pl.col("len"),
    ).write_csv(path, separator=";")


# ---------------------------------------------------------------------------------------------
# Uploads
# ---------------------------------------------------------------------------------------------


def _rows(
    rng: np.random.Generator, clients: pl.DataFrame, n: int, profile: Profile
) -> pl.DataFrame:
    """``n`` delivery rows for one file: addresses of ``clients``, spelled the partner's way."""
    pick = clients[rng.integers(0, clients.height, n)]
    letter = np.where(rng.random(n) < 0.06, rng.choice(list("ABCD"), n), "")
    toev = np.where(rng.random(n) < 0.05, rng.choice(["1", "2", "bis", "hs", "III"], n), "")
    start = np.datetime64("2024-01-01") + rng.integers(0, 3 * 365, n)
    end = np.where(rng.random(n) < 0.4, start + rng.integers(30, 700, n), np.datetime64("NaT"))
    spelling = rng.random(n)
    postcode = pick.get_column("PC6").to_numpy()
    spelled = pl.DataFrame({"pc": postcode, "s": spelling}).select(
        pl.when(pl.col("s") < 0.2)
        .then(pl.col("pc").str.slice(0, 4) + " " + pl.col("pc").str.slice(4))
        .when(pl.col("s") < 0.25)
        .then(pl.col("pc").str.to_lowercase())
        .when(pl.col("s") < 0.3)
        .then(" " + pl.col("pc") + " ")
        .otherwise(pl.col("pc"))
    )
    partner_codes = np.array(list(profile.codes))
    frame = pl.DataFrame(
        {
            "postcode": spelled.to_series(),
            "huisnummer": pick.get_column("Huisnummer").cast(pl.String),
            "huisletter": letter,
            "huisnummertoevoeging": toev,
            "voorziening": partner_codes[rng.integers(0, len(partner_codes), n)],
            "startdatum": pl.Series(start).dt.strftime(profile.dates),
            "einddatum": pl.Series(end).dt.strftime(profile.dates),
            profile.extra: np.array(_NOTES)[rng.integers(0, len(_NOTES), n)],
        }
    )
    if profile.letter_in_number:
        glue = np.where(rng.random(n) < 0.5, "", " ")
        frame = frame.with_columns(
            huisnummer=pl.col("huisnummer")
            + pl.Series(glue)
            + pl.col("huisletter").str.to_lowercase()
        )
    return _spoil(rng, frame)


def _spoil(rng: np.random.Generator, frame: pl.DataFrame) -> pl.DataFrame:
    """~1.5 % invalid rows (bad postcode, no huisnummer, unknown code, impossible date), ~1 % dupes."""
    n = frame.height
    kind = np.where(rng.random(n) < 0.015, rng.integers(0, 4, n), -1)
    spoilt = frame.with_columns(
        postcode=pl.when(pl.Series(kind == 0)).then(pl.lit("12AB")).otherwise("postcode"),
        huisnummer=pl.when(pl.Series(kind == 1)).then(pl.lit("")).otherwise("huisnummer"),
        voorziening=pl.when(pl.Series(kind == 2)).then(pl.lit("ONBEKEND")).otherwise("voorziening"),
        startdatum=pl.when(pl.Series(kind == 3)).then(pl.lit("31-02-2026")).otherwise("startdatum"),
    )
    duplicates = spoilt.sample(fraction=0.01, seed=int(rng.integers(1 << 31)))
    return pl.concat([spoilt, duplicates]).sample(
        fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 31))
    )


def _write(frame: pl.DataFrame, profile: Profile, path: Path) -> None:
    """Write in the partner's dialect, with the partner's column names."""
    columns = [c for c in profile.headers if c in frame.columns] + [profile.extra]
    if profile.letter_in_number:
        columns = [c for c in columns if c != "huisletter"]
    named = (
        frame.select(columns)
        .with_columns(pl.when(pl.col(pl.String) != "").then(pl.col(pl.String)))  # empty, not ""
        .rename({c: h for c, h in profile.headers.items() if c in columns})
    )
    if profile.file_format == "xlsx":
        _write_xlsx(named, path.with_suffix(".xlsx"))
        return
    text = named.write_csv(
        separator=profile.separator,
        line_terminator="\r\n" if profile.crlf else "\n",
        include_bom=False,
    )
    if profile.file_format == "utf16":
        path.with_suffix(".txt").write_bytes(text.encode("utf-16"))
    else:
        path.write_bytes(text.encode(profile.encoding, errors="replace"))


def _write_xlsx(frame: pl.DataFrame, path: Path) -> None:
    """A plain sheet as Excel exports it: header row, text cells, empty cells left out.

    xlsxwriter row by row in constant-memory mode: 4x faster than ``DataFrame.write_excel``,
    which also builds an Excel table object.
    """
    with xlsxwriter.Workbook(path, {"constant_memory": True}) as book:
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, frame.columns)
        for number, row in enumerate(frame.iter_rows(), start=1):
            sheet.write_row(number, 0, row)


def _partner_toml(org: str, name: str, profile: Profile) -> str:
    renamed = {h: c for c, h in profile.headers.items() if h != c}
    lines = [f"[partners.{org}]", f'naam = "{name}"']
    if renamed:
        lines.append(
            "kolommen = { " + ", ".join(f'"{h}" = "{c}"' for h, c in renamed.items()) + " }"
        )
    mapped = {p: c for p, c in profile.codes.items() if p != c}
    if mapped:
        lines.append("codes = { " + ", ".join(f'"{p}" = "{c}"' for p, c in mapped.items()) + " }")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Upload:
    org: str
    name: str
    profile: Profile
    rows: int


def _write_uploads(
    rng: np.random.Generator, clients: pl.DataFrame, uploads: list[Upload], folder: Path
) -> tuple[str, int]:
    """Write every upload; returns the partners' TOML and the number of rows written."""
    toml, written, seen = [], 0, set()
    for index, upload in enumerate(uploads):
        target = folder / "uploads" / upload.org
        target.mkdir(parents=True, exist_ok=True)
        frame = _rows(rng, clients, upload.rows, upload.profile)
        _write(frame, upload.profile, target / f"{upload.profile.kind}_{index:02d}.csv")
        written += frame.height
        if upload.org not in seen:
            seen.add(upload.org)
            toml.append(_partner_toml(upload.org, upload.name, upload.profile))
    return "\n".join(toml), written


def _clients(rng: np.random.Generator, addresses: pl.DataFrame, share: float) -> pl.DataFrame:
    """The addresses that receive provisions, plus ~3 % addresses missing from the CBS table."""
    chosen = addresses.sample(fraction=share, seed=int(rng.integers(1 << 31)))
    unknown = chosen.head(max(1, chosen.height // 33)).with_columns(pl.col("Huisnummer") + 5000)
    return pl.concat([chosen, unknown])


def _config(gemeente: str, name: str, addresses: str, partners: str) -> str:
    return (
        f'[editie]\ngemeente = "{gemeente}"\ngemeentenaam = "{name}"\n'
        'periode = "2026-01-01:2026-12-31"\n\n'
        f'[referentie]\nadressen = "{addresses}"\nwijken = "wijken.csv"\n\n{partners}'
    )


def gemeente_uploads() -> list[Upload]:
    """9 files of 8 partners, ~30 k rows: a gemeente's edition."""
    plan = [
        ("wmo", 2, 5200),
        ("jeugd", 1, 3600),
        ("jeugdbescherming", 1, 600),
        ("kredietbank", 1, 1500),
        ("welzijn", 1, 3500),
        ("werk-inkomen", 1, 6500),
        ("minima", 1, 2500),
        ("regiotaxi", 1, 1700),
    ]
    return [
        Upload(f"{kind}-gm{GEMEENTE:04d}", f"{kind} gemeente", _BY_KIND[kind], rows)
        for kind, files, rows in plan
        for _ in range(files)
    ]


def write_small(rng: np.random.Generator, out: Path) -> int:
    """``klein/``: a tiny edition (3 files of 20 rows) against the gemeente's own extract."""
    small = out / "klein"
    small.mkdir(parents=True, exist_ok=True)
    own = pl.read_csv(out / "gemeente" / "pc6hnr.csv", separator=";", infer_schema=False)
    uploads = [
        Upload(f"{kind}-klein", f"{kind} klein", _BY_KIND[kind], 20)
        for kind in ("wmo", "jeugd", "kredietbank")
    ]
    partners, rows = _write_uploads(
        rng,
        _clients(rng, own.with_columns(pl.col("Huisnummer").cast(pl.Int64)), 0.01),
        uploads,
        small,
    )
    (small / "factlab.toml").write_text(
        _config(f"GM{GEMEENTE:04d}", "Klein", "../gemeente/pc6hnr.csv", partners).replace(
            'wijken = "wijken.csv"', 'wijken = "../gemeente/wijken.csv"'
        ),
        encoding="utf-8",
    )
    return rows


def land_uploads(rng: np.random.Generator, total_rows: int) -> list[Upload]:
    """48 files of 44 partners (4 XLSX), ``total_rows`` rows in all; no file past Excel's limit."""
    kinds = [p.kind for p in PROFILES if p.file_format != "xlsx"]
    # Organisation codes stay under 24 characters: the publication gate refuses longer tokens
    # with digits as possible pseudonyms (factlab.disclose.TOKEN).
    partners = [(f"{kinds[i % len(kinds)]}-r{i:02d}", kinds[i % len(kinds)]) for i in range(40)]
    partners += [(f"werk-inkomen-r{i:02d}", "werk-inkomen") for i in range(4)]
    files = partners + partners[:4]  # four partners deliver two files
    xlsx_rows = min(40_000, total_rows // 50)
    weights = rng.lognormal(0.0, 0.6, size=len(files) - 4)
    csv_rows = (weights / weights.sum() * (total_rows - 4 * xlsx_rows)).astype(int)
    rows = [*csv_rows, *([xlsx_rows] * 4)]
    ordered = [f for f in files if _BY_KIND[f[1]].file_format != "xlsx"] + [
        f for f in files if _BY_KIND[f[1]].file_format == "xlsx"
    ]
    return [
        Upload(org, f"{kind} {org}", _BY_KIND[kind], min(int(n), EXCEL_MAX_DATA_ROWS - 20_000))
        for (org, kind), n in zip(ordered, rows, strict=True)
    ]


def generate(out: Path, seed: int, cbs_rows: int, land_rows: int) -> dict[str, object]:
    """Write all inputs; returns what was written and how long each part took."""
    rng = np.random.default_rng(seed)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    (out / "referentie").mkdir(parents=True, exist_ok=True)
    table = cbs_table(rng, cbs_rows)
    table.write_csv(out / "referentie" / "pc6hnr.csv", separator=";")
    timings["cbs_s"] = time.perf_counter() - started

    started = time.perf_counter()
    gemeente = out / "gemeente"
    gemeente.mkdir(parents=True, exist_ok=True)
    own = table.filter(pl.col("Gemeente2024") == f"{GEMEENTE:04d}")
    own.write_csv(gemeente / "pc6hnr.csv", separator=";")
    _wijken_csv(own, f"GM{GEMEENTE:04d}", gemeente / "wijken.csv")
    partners, gemeente_rows = _write_uploads(
        rng, _clients(rng, own, 0.2), gemeente_uploads(), gemeente
    )
    name = "Benchmarkgemeente"
    (gemeente / "factlab.toml").write_text(
        _config(f"GM{GEMEENTE:04d}", name, "pc6hnr.csv", partners), encoding="utf-8"
    )
    (gemeente / "landelijk.toml").write_text(
        _config(f"GM{GEMEENTE:04d}", name, "../referentie/pc6hnr.csv", partners), encoding="utf-8"
    )
    small_rows = write_small(rng, out)
    timings["gemeente_s"] = time.perf_counter() - started

    started = time.perf_counter()
    land = out / "land"
    land.mkdir(parents=True, exist_ok=True)
    as_one = table.with_columns(
        (pl.lit(f"{LAND:04d}") + pl.col(code).str.slice(4)).alias(code)
        for code in ("Gemeente2024", "Wijk2024", "Buurt2024")
    )
    as_one.write_csv(land / "pc6hnr.csv", separator=";")
    _wijken_csv(as_one, f"GM{LAND:04d}", land / "wijken.csv")
    uploads = land_uploads(rng, land_rows)
    partners, rows = _write_uploads(rng, _clients(rng, table, 0.21), uploads, land)
    (land / "factlab.toml").write_text(
        _config(f"GM{LAND:04d}", "Nederland", "pc6hnr.csv", partners), encoding="utf-8"
    )
    timings["land_s"] = time.perf_counter() - started
    summary = {
        "seed": seed,
        "cbs_rows": table.height,
        "klein": {"rows": small_rows, "files": 3},
        "gemeente": {
            "rows": gemeente_rows,
            "files": len(gemeente_uploads()),
            "cbs_rows": own.height,
        },
        "land": {
            "rows": rows,
            "files": len(uploads),
            "partners": len({u.org for u in uploads}),
            "xlsx": sum(u.profile.file_format == "xlsx" for u in uploads),
        },
        "seconds": {k: round(v, 1) for k, v in timings.items()},
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    (out / "inputs.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--cbs-rows", type=int, default=7_850_000)
    parser.add_argument("--land-rows", type=int, default=4_200_000)
    args = parser.parse_args()
    print(json.dumps(generate(args.out, args.seed, args.cbs_rows, args.land_rows), indent=2))


if __name__ == "__main__":
    main()
