"""The naive reference: the intake -> household-table path as an analyst writes it in pandas.

Read every upload with ``read_csv(sep=None)`` (sniffing, Python engine), rename the columns and
codes per ``factlab.toml``, normalise and validate row by row with pandas string methods, drop
duplicates, key each address with ``hmac.new`` per row, place it by merging with the CBS
pc6hnr table, and group per household; write the household and wijk tables. It uses one core.
It is the yardstick of issue 15 (Factlab's path should be at least 10x faster), not a product::

    uv run python benchmarks/naive.py --config DIR/factlab.toml --uploads DIR/uploads --out OUT

Prints one JSON line: seconds per stage, rows read, households.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import secrets
import time
import tomllib
from pathlib import Path

started = time.perf_counter()
import pandas as pd  # noqa: E402 - its import is part of the start-up cost we report

CATALOGUE = Path(__file__).resolve().parents[1] / "factlab" / "data" / "catalogus.csv"
CANONICAL = ("postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "voorziening")


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name).strip().lstrip("\ufeff")).lower()


def read(path: Path) -> pd.DataFrame:
    """Every cell as text, whatever the dialect or encoding."""
    if path.suffix.lower() == ".xlsx":
        return pd.read_excel(path, dtype=str, engine="calamine").fillna("")
    raw = path.read_bytes()
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        encoding = "cp1252"
    return pd.read_csv(
        path, sep=None, engine="python", dtype=str, encoding=encoding, keep_default_na=False
    )


def _date(text: pd.Series) -> pd.Series:
    """ISO dates, or Dutch day-first ones."""
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    return iso.fillna(pd.to_datetime(text, format="%d-%m-%Y", errors="coerce"))


def normalise(frame: pd.DataFrame, partner: dict, catalogue: set[str]) -> pd.DataFrame:
    """Canonical columns, address key and dates; invalid rows dropped, duplicates dropped."""
    mapping = {_key(k): v for k, v in partner.get("kolommen", {}).items()}
    frame = frame.rename(columns=lambda c: mapping.get(_key(c), _key(c)))
    frame = frame.drop_duplicates()
    for column in (*CANONICAL, "startdatum", "einddatum"):
        if column not in frame:
            frame[column] = ""
    postcode = frame["postcode"].str.replace(r"\s+", "", regex=True).str.upper()
    parts = frame["huisnummer"].str.strip().str.extract(r"^(\d+)\s*[-\s]?\s*([A-Za-z]?)\s*(.*)$")
    letter = (
        frame["huisletter"]
        .str.strip()
        .str.upper()
        .where(frame["huisletter"].str.strip() != "", parts[1].fillna("").str.upper())
    )
    toevoeging = (frame["huisnummertoevoeging"].str.strip() + parts[2].fillna("")).str.upper()
    codes = {str(k).upper(): v for k, v in partner.get("codes", {}).items()}
    code = frame["voorziening"].str.strip().str.upper().map(lambda c: codes.get(c, c))
    start, end = _date(frame["startdatum"]), _date(frame["einddatum"])
    valid = (
        postcode.str.fullmatch(r"[1-9][0-9]{3}[A-Z]{2}")
        & parts[0].notna()
        & code.isin(catalogue)
        & (start.notna() | (frame["startdatum"].str.strip() == ""))
        & (start.isna() | (start <= "2026-12-31"))
        & (end.isna() | (end >= "2026-01-01"))
    )
    out = pd.DataFrame(
        {
            "postcode": postcode,
            "huisnummer": pd.to_numeric(parts[0], errors="coerce"),
            "adres": postcode + "|" + parts[0].fillna("") + "|" + letter + "|" + toevoeging,
            "voorziening": code,
        }
    )
    return out[valid.fillna(False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--uploads", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    stages = {"start-up": time.perf_counter() - started}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        stages[name] = stages.get(name, 0.0) + now - since
        return now

    config = tomllib.loads(args.config.read_text(encoding="utf-8"))
    catalogue = pd.read_csv(CATALOGUE, dtype=str)
    domains = dict(zip(catalogue["code"], catalogue["domein"], strict=True))
    now = time.perf_counter()
    frames, rows = [], 0
    for path in sorted(p for p in args.uploads.rglob("*") if p.is_file()):
        organisation = path.parent.name
        raw = read(path)
        rows += len(raw)
        now = lap("lezen", now)
        rows_ok = normalise(raw, config["partners"].get(organisation, {}), set(domains))
        frames.append(rows_ok.assign(organisatie=organisation))
        now = lap("normaliseren en valideren", now)
    rows_ok = pd.concat(frames, ignore_index=True)

    key = secrets.token_bytes(32)
    rows_ok["pseudoniem"] = [
        hmac.new(key, a.encode(), hashlib.sha256).hexdigest() for a in rows_ok["adres"]
    ]
    rows_ok = rows_ok.drop(columns="adres")
    now = lap("pseudonimiseren", now)

    table_path = (args.config.parent / config["referentie"]["adressen"]).resolve()
    cbs = pd.read_csv(table_path, sep=";", dtype=str)
    cbs.columns = ["postcode", "huisnummer", "buurt", "wijk", "gemeente"]
    cbs["huisnummer"] = pd.to_numeric(cbs["huisnummer"])
    placed = rows_ok.merge(cbs, on=["postcode", "huisnummer"], how="left")
    gemeente = config["editie"]["gemeente"].removeprefix("GM")
    placed = placed[placed["gemeente"].isna() | (placed["gemeente"] == gemeente)]
    placed["wijk"] = placed["wijk"].fillna("onbekend")
    now = lap("plaatsen", now)

    placed["domein"] = placed["voorziening"].map(domains)
    households = placed.groupby("pseudoniem").agg(
        wijk=("wijk", "first"),
        buurt=("buurt", "first"),
        voorzieningen=("voorziening", lambda s: ",".join(sorted(set(s)))),
        domeinen=("domein", lambda s: ",".join(sorted(set(s)))),
        organisaties=("organisatie", "nunique"),
    )
    households["aantal_domeinen"] = households["domeinen"].str.count(",") + 1
    households = households.reset_index(drop=True)
    wijken = households.groupby("wijk").agg(
        huishoudens=("domeinen", "size"),
        meer_domeinen=("aantal_domeinen", lambda s: int((s > 1).sum())),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    households.to_parquet(args.out / "huishoudens.parquet")
    wijken.to_csv(args.out / "wijken.csv")
    lap("groeperen en schrijven", now)
    print(
        json.dumps(
            {
                "stages_s": {k: round(v, 2) for k, v in stages.items()},
                "rows": rows,
                "households": len(households),
            }
        )
    )


if __name__ == "__main__":
    main()
