"""Writers (the edge): upload files (CSV, XLSX below Excel's sheet limit), ``factlab.toml``,
the CBS wijken table and map. No timestamps: the same input gives byte-identical files."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from factlab.synth.calibration import PERIOD_END, PERIOD_START, ZAANSTAD
from factlab.synth.geography import Geography, data_file, geography
from factlab.synth.partners import DASH, PARTNERS, Partner
from factlab.synth.rows import FileOut, Row

# Excel's sheet limit; a partner's XLSX delivery is split over files below it (header included).
XLSX_MAX_ROWS = 1_048_576


def write_csv_upload(path: Path, partner: Partner, f: FileOut) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=partner.delimiter, lineterminator=partner.newline)
    writer.writerow(f.header)
    writer.writerows(f.cells)
    text = buf.getvalue()
    if partner.trailing_blank_line:
        text += partner.newline
    path.write_bytes(text.encode(partner.encoding))


def write_xlsx_upload(path: Path, partner: Partner, f: FileOut) -> None:
    if len(f.cells) + 1 > XLSX_MAX_ROWS:  # excel_parts keeps every file below the limit
        raise ValueError(f"{path.name}: {len(f.cells)} rows do not fit in one sheet")
    wb = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False},
    )
    wb.set_properties(
        {
            "title": f"{partner.naam} {DASH} aanlevering",
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


def wijken_csv(geo: Geography, generated: dict[str, int], scale: float) -> bytes:
    if geo.code == ZAANSTAD and scale == 1.0:
        return data_file("cbs/zaanstad_wijken_2024_kwb.csv").read_bytes()
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


def map_bytes(geo: Geography) -> bytes:
    if geo.code == ZAANSTAD:
        return data_file("cbs/zaanstad_wijken_2024.geojson").read_bytes()
    return (json.dumps(synthetic_map(geo), separators=(",", ":")) + "\n").encode("utf-8")


def excel_parts(rows: list[Row]) -> list[list[Row]]:
    """Split a partner's XLSX rows so that no file passes Excel's row limit.

    A file holds its episodes plus ~2.5% out-of-period, ~1.2% invalid and ~1% duplicate rows
    and a header, so a part takes at most 90% of the limit in episodes.
    """
    per_file = int((XLSX_MAX_ROWS - 1) * 0.9)
    return [rows[i : i + per_file] for i in range(0, len(rows), per_file)] or [[]]


def part_name(name: str, part: int) -> str:
    """``uitkeringen_2026.xlsx`` part 2 -> ``uitkeringen_2026_deel2.xlsx``."""
    if part == 0:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}_deel{part + 1}{dot}{suffix}"
