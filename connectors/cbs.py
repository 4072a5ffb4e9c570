"""Readers for CBS reference data in the formats CBS really publishes.

The address-to-area table ("pc6hnr") ships its codes without prefix and with leading zeros
(``07721110``), alphanumeric for Amsterdam (``0363AF01``), and its header carries the release
year (``Buurt2025``). We read every code as a string, find the columns by their name without
the year, and present codes with their CBS prefix (``BU``/``WK``/``GM``) as the rest of
Factlab expects.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl

from factlab.errors import ReferenceFileError


def _sniff_separator(path: Path) -> str:
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    return max(counts, key=counts.__getitem__)


def _columns_by_stem(columns: list[str], path: Path, stems: tuple[str, ...]) -> dict[str, str]:
    """Map each wanted stem (``buurt``) to the real column name (``Buurt2025``)."""
    found: dict[str, str] = {}
    for column in columns:
        stem = re.sub(r"\d{4}$", "", column.strip()).lower()
        if stem in stems:
            found[stem] = column
    missing = [stem for stem in stems if stem not in found]
    if missing:
        raise ReferenceFileError(
            f"{path.name}: kolom(men) {', '.join(missing)} ontbreken; verwacht een CBS-tabel "
            f"met kop zoals PC6;Huisnummer;Buurt2025;Wijk2025;Gemeente2025 (gevonden: {columns})"
        )
    return found


def read_pc6hnr(path: Path) -> pl.DataFrame:
    """Read the CBS postcode-huisnummer table into (postcode, huisnummer, buurt/wijk/gemeente code).

    Returns one row per (postcode, huisnummer) with prefixed codes: ``BU…``, ``WK…``, ``GM…``.
    """
    separator = _sniff_separator(path)
    frame = pl.read_csv(
        path,
        separator=separator,
        infer_schema=False,
        encoding="utf8-lossy",
        truncate_ragged_lines=True,
    )
    names = _columns_by_stem(
        frame.columns, path, ("pc6", "huisnummer", "buurt", "wijk", "gemeente")
    )
    table = frame.select(
        pl.col(names["pc6"]).str.strip_chars().str.to_uppercase().alias("postcode"),
        pl.col(names["huisnummer"])
        .str.strip_chars()
        .cast(pl.Int64, strict=False)
        .alias("huisnummer"),
        ("BU" + pl.col(names["buurt"]).str.strip_chars()).alias("buurt_code"),
        ("WK" + pl.col(names["wijk"]).str.strip_chars()).alias("wijk_code"),
        ("GM" + pl.col(names["gemeente"]).str.strip_chars()).alias("gemeente_code"),
    ).filter(pl.col("postcode").is_not_null() & pl.col("huisnummer").is_not_null())
    return table.unique(subset=["postcode", "huisnummer"], keep="first", maintain_order=True)


def read_wijken(path: Path) -> pl.DataFrame:
    """Read CBS kerncijfers per wijk: ``wijk_code``, ``wijk_naam``, ``woningen`` (dwellings).

    Accepts the kwb export with ``statcode;statnaam;...;woningvoorraad_<jaar>``.
    """
    frame = pl.read_csv(
        path, separator=_sniff_separator(path), infer_schema=False, encoding="utf8-lossy"
    )
    lower = {column.lower(): column for column in frame.columns}
    dwellings = next((lower[c] for c in lower if c.startswith("woningvoorraad")), None)
    if "statcode" not in lower or "statnaam" not in lower:
        raise ReferenceFileError(f"{path.name}: kolommen statcode en statnaam zijn verplicht")
    return frame.select(
        pl.col(lower["statcode"]).str.strip_chars().alias("wijk_code"),
        pl.col(lower["statnaam"]).str.strip_chars().alias("wijk_naam"),
        (
            pl.col(dwellings).str.strip_chars().cast(pl.Int64, strict=False)
            if dwellings
            else pl.lit(None, dtype=pl.Int64)
        ).alias("woningen"),
    ).filter(pl.col("wijk_code").str.starts_with("WK"))


def read_wijkkaart(path: Path) -> dict[str, Any]:
    """Read the wijk polygons (GeoJSON FeatureCollection with ``statcode``/``statnaam``)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") != "FeatureCollection":
        raise ReferenceFileError(f"{path.name}: geen GeoJSON FeatureCollection")
    return data
