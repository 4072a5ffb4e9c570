"""Small files in the formats CBS and PDOK really publish, generated at test time.

- pc6hnr: ``PC6;Huisnummer;Buurt2023;Wijk2023;Gemeente2023`` (semicolons) or the 2024 release
  ``PC6,Huisnummer,Buurt2024,...`` (commas), as CSV or as the ZIP CBS ships (the national table
  beside small code lists ``gem2024.csv``, ``wijk2024.csv``).
- kerncijfers: the ``kwb-<jaar>.xlsx`` download (``gwb_code_10``, ``regio``, ``gm_naam``,
  ``recs``, ``a_inw``, ``a_hh``, ``a_woning``; ``.`` for a secret cell) and a StatLine/OData
  export (``WijkenEnBuurten``, ``Gemeentenaam_1``, ``SoortRegio_2``, ``Codering_3`` padded with
  spaces, ``HuishoudensTotaal_29``, ``Woningvoorraad_35``).
- PDOK maps: *wijken en buurten* style (``wijkcode``/``wijknaam``, RD New, CRS declared) and
  *gebiedsindelingen* style (``statcode``/``statnaam``/``jrstatcode``, WGS84, no CRS member).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xlsxwriter
from pyproj import Transformer


@dataclass(frozen=True)
class FixtureWijk:
    code: str  # WK063801
    naam: str
    woningen: int
    huishoudens: int | None


def write_pc6hnr(
    path: Path, table: pl.DataFrame, year: int, *, separator: str, as_zip: bool = False
) -> Path:
    """``table``: PC6, Huisnummer, buurt, wijk, gemeente (codes without prefix), all text."""
    frame = table.rename(
        {"buurt": f"Buurt{year}", "wijk": f"Wijk{year}", "gemeente": f"Gemeente{year}"}
    )
    if not as_zip:
        frame.write_csv(path, separator=separator)
        return path
    gemeenten = sorted(set(frame[f"Gemeente{year}"]))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"gem{year}.csv",
            f"Gemeente{year}{separator}GM_NAAM\n"
            + "".join(f"{g}{separator}Gemeente {g}\n" for g in gemeenten),
        )
        archive.writestr(f"pc6hnr{year}0801_gwb.csv", frame.write_csv(separator=separator))
        archive.writestr(f"wijk{year}.csv", f"Wijk{year}{separator}WK_NAAM\n")
    return path


def write_kwb_xlsx(
    path: Path, gemeente: str, naam: str, wijken: Sequence[FixtureWijk], other: str = "GM0999"
) -> Path:
    """The CBS ``kwb-<jaar>.xlsx`` layout: one row per NL/gemeente/wijk/buurt, numbers as cells."""
    header = ["gwb_code_10", "gwb_code_8", "regio", "gm_naam", "recs", "gwb_code", "ind_wbi"]
    header += ["a_inw", "a_man", "a_hh", "a_woning"]
    rows: list[list[object]] = [["NL00", "0", "Nederland", "Nederland", "Land", "NL00", "."]]
    rows[0] += [17_942_942, 8_916_000, 8_190_000, 8_185_000]
    total = sum(w.woningen for w in wijken)
    rows.append([gemeente, gemeente[2:], naam, naam, "Gemeente", gemeente, "."])
    rows[-1] += [total * 2, total, total - 10, total]
    for w in wijken:
        rows.append([w.code, w.code[2:], w.naam, naam, "Wijk", w.code, "1"])
        rows[-1] += [w.woningen * 2, w.woningen, "." if w.huishoudens is None else w.huishoudens]
        rows[-1] += [w.woningen]
        buurt = "BU" + w.code[2:] + "01"
        rows.append([buurt, buurt[2:], f"{w.naam} centrum", naam, "Buurt", buurt, "1"])
        rows[-1] += [10, 5, 4, 4]
    rows.append([other, other[2:], "Elders", "Elders", "Gemeente", other, ".", 10, 5, 4, 4])
    rows.append(["WK" + other[2:] + "01", "x", "Elders-Wijk", "Elders", "Wijk", "x", "1"])
    rows[-1] += [10, 5, 4, 4]
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("KWB2024")
    sheet.write_row(0, 0, header)
    for i, row in enumerate(rows, start=1):
        sheet.write_row(i, 0, row)
    workbook.close()
    return path


def write_kwb_statline_csv(
    path: Path, gemeente: str, naam: str, wijken: Sequence[FixtureWijk]
) -> Path:
    """A StatLine/OData TypedDataSet export: padded codes, semicolons, quoted text."""
    header = '"ID";"WijkenEnBuurten";"Gemeentenaam_1";"SoortRegio_2";"Codering_3";'
    header += '"AantalInwoners_5";"HuishoudensTotaal_29";"Woningvoorraad_35"'
    lines = [header]
    total = sum(w.woningen for w in wijken)
    lines.append(
        f'0;"{gemeente}  ";"{naam}   ";"Gemeente ";"{gemeente}  ";{2 * total};{total};{total}'
    )
    for i, w in enumerate(wijken, start=1):
        households = "" if w.huishoudens is None else str(w.huishoudens)
        lines.append(
            f'{i};"{w.code}  ";"{naam}   ";"Wijk     ";"{w.code}  ";{2 * w.woningen};'
            f"{households};{w.woningen}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _squares(n: int, origin: tuple[float, float], size: float) -> list[list[list[float]]]:
    columns = max(1, int(n**0.5 + 0.999))
    out = []
    for i in range(n):
        x, y = origin[0] + (i % columns) * size, origin[1] - (i // columns) * size
        out.append([[x, y], [x + size, y], [x + size, y - size], [x, y - size], [x, y]])
    return out


def write_map(
    path: Path,
    wijken: Sequence[FixtureWijk],
    year: int,
    *,
    crs: str,
    origin_rd: tuple[float, float] = (105_000.0, 455_000.0),
    cell_m: float = 800.0,
    swap_axes: bool = False,
) -> Path:
    """Wijken as squares; ``crs`` ``rd`` (PDOK wijken en buurten) or ``wgs84`` (gebiedsindelingen)."""
    rings = _squares(len(wijken), origin_rd, cell_m)
    features = []
    to_wgs84 = Transformer.from_crs(28992, 4326, always_xy=True)
    for w, ring in zip(wijken, rings, strict=True):
        if crs == "wgs84":
            ring = [list(to_wgs84.transform(x, y)) for x, y in ring]
            if swap_axes:
                ring = [[lat, lon] for lon, lat in ring]
            props = {"statcode": w.code, "statnaam": w.naam, "jrstatcode": f"{year}{w.code}"}
            geometry = {"type": "Polygon", "coordinates": [ring]}
        else:
            props = {"wijkcode": w.code, "wijknaam": w.naam, "gemeentecode": "GM" + w.code[2:6]}
            geometry = {"type": "MultiPolygon", "coordinates": [[ring]]}
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    data: dict[str, object] = {"type": "FeatureCollection", "features": features}
    if crs == "rd":
        data["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
