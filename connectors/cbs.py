"""Readers for CBS and PDOK reference data in the formats they are really published in.

- The address-to-area table ("pc6hnr", *Buurt, wijk en gemeente voor postcode huisnummer*) ships
  its codes without prefix and with leading zeros (``07721110``), alphanumeric for Amsterdam
  (``0363AF01``); its header carries the release year (``Buurt2024``) and the separator changed
  over the years (the 2024 release is comma-separated). CBS ships it as a ZIP with the national
  CSV and a few code lists. The national table has ~9 million rows, so it is scanned lazily and
  filtered to one gemeente before anything is materialised.
- The *Kerncijfers wijken en buurten* come as the CBS download ``kwb-<jaar>.xlsx``/``.csv``
  (``gwb_code_10``, ``regio``, ``recs``, ``a_woning``, ``a_hh``), as a StatLine/OData export
  (``Codering_3``, ``WijkenEnBuurten``, ``Woningvoorraad_35``, ``HuishoudensTotaal_29``) or as
  the small ``statcode;statnaam;...;woningvoorraad_<jaar>`` extract Factlab bundles.
- The wijk boundaries come from PDOK as GeoJSON, by default in RD New (EPSG:28992); the report
  draws WGS84, so RD coordinates are converted with pyproj. PDOK's *gebiedsindelingen* name a
  wijk ``statcode``/``statnaam``, the *wijken en buurten* service ``wijkcode``/``wijknaam``.

We read every code as a string and present codes with their CBS prefix (``BU``/``WK``/``GM``),
as the rest of Factlab expects. No error message repeats anything read from a file (not even a
header cell: a wrong path may point at a secrets file); messages name the expected columns and
counts only.
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
import zipfile
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from python_calamine import CalamineWorkbook

from factlab.errors import ReferenceFileError

PC6HNR_STEMS = ("pc6", "huisnummer", "buurt", "wijk", "gemeente")
PC6HNR_EXAMPLE = "PC6;Huisnummer;Buurt2024;Wijk2024;Gemeente2024"
_YEAR_SUFFIX = re.compile(r"(?:_?)(20\d{2})$")
_FILE_YEAR = re.compile(r"(20\d{2})")
# The Netherlands in WGS84 (lon, lat), with a margin; and in RD New (x, y).
NL_WGS84 = (3.0, 50.6, 7.5, 53.8)
NL_RD = (-10_000.0, 300_000.0, 300_000.0, 640_000.0)
# A gemeente is at most ~60 km across (Súdwest-Fryslân is the widest at ~50 km).
MAX_GEMEENTE_SPAN_KM = 70.0


def _columns(n: int) -> str:
    return f"{n} kolom" if n == 1 else f"{n} kolommen"


def _sniff_separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    return max(counts, key=counts.__getitem__)


def _header_line(path: Path) -> str:
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        return handle.readline().rstrip("\r\n")


def _header_names(path: Path) -> tuple[list[str], str]:
    line = _header_line(path)
    separator = _sniff_separator(line)
    return [name.strip().strip('"').lstrip("\ufeff") for name in line.split(separator)], separator


def _stem(name: str) -> str:
    """``Buurt2024`` -> ``buurt``; ``Woningvoorraad_35`` -> ``woningvoorraad``."""
    return re.sub(r"(_\d+|(?<=[a-z])\d{4})$", "", name.strip().lower())


def _pc6hnr_columns(names: Sequence[str]) -> dict[str, str] | None:
    found = {_stem(n): n for n in names if _stem(n) in PC6HNR_STEMS}
    return found if len(found) == len(PC6HNR_STEMS) else None


@contextmanager
def _pc6hnr_csv(path: Path) -> Iterator[Path]:
    """The CSV itself, or the national table extracted from the ZIP as CBS ships it."""
    if not path.is_file():
        raise ReferenceFileError(f"{path.name}: bestand bestaat niet")
    if not zipfile.is_zipfile(path):
        yield path
        return
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as tmp:
        for member in sorted(archive.infolist(), key=lambda m: -m.file_size):
            if not member.filename.lower().endswith((".csv", ".txt")):
                continue
            with archive.open(member) as handle:
                head = handle.readline().decode("utf-8-sig", errors="replace")
            if _pc6hnr_columns([c.strip().strip('"') for c in head.split(_sniff_separator(head))]):
                target = Path(tmp) / "pc6hnr.csv"
                with archive.open(member) as source, target.open("wb") as out:
                    while chunk := source.read(1 << 20):
                        out.write(chunk)
                yield target
                return
        raise ReferenceFileError(
            f"{path.name}: het ZIP-bestand bevat geen CBS-tabel postcode-huisnummer "
            f"(een CSV met kop zoals {PC6HNR_EXAMPLE})"
        )


def _pc6hnr_header(csv: Path, label: str) -> tuple[dict[str, str], str]:
    names, separator = _header_names(csv)
    columns = _pc6hnr_columns(names)
    if columns is None:
        raise ReferenceFileError(
            f"{label}: de kolommen PC6, Huisnummer, Buurt<jaar>, Wijk<jaar> en Gemeente<jaar> "
            f"ontbreken (gevonden: {_columns(len(names))}); dit is geen CBS-tabel "
            f"postcode-huisnummer met kop zoals {PC6HNR_EXAMPLE}"
        )
    return columns, separator


def pc6hnr_year(path: Path) -> int | None:
    """The release year in the pc6hnr header (``Buurt2024`` -> 2024), if it has one."""
    with _pc6hnr_csv(path) as csv:
        columns, _ = _pc6hnr_header(csv, path.name)
    match = _YEAR_SUFFIX.search(columns["gemeente"])
    return int(match.group(1)) if match else None


def _pc6hnr_plain(csv: Path, separator: str) -> bool:
    """Whether every byte below the header is a digit, a capital, the separator or a line end.

    Then every field is digits and capitals only: trimming and capitalising change nothing and
    can be left out (they are most of the cost of reading the national table). CBS publishes
    the table so; one pass over the bytes (~0.1 s for the national table) finds out.
    """
    allowed = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\n" + separator.encode()
    with csv.open("rb") as handle:
        handle.readline()
        while chunk := handle.read(1 << 22):
            if chunk.endswith(b"\r"):
                chunk += handle.read(1)
            left = chunk.translate(None, allowed)
            # A carriage return only as part of a Windows line end (CSV readers drop it there).
            if left and (left.strip(b"\r") or chunk.count(b"\r") != chunk.count(b"\r\n")):
                return False
    return True


def _pc6hnr_rows(
    csv: Path,
    names: dict[str, str],
    separator: str,
    gemeente_code: str | None,
    pc4: Collection[str],
    *,
    plain: bool = False,
    prefixed: bool = True,
) -> pl.LazyFrame:
    """Every row of the table with a postcode and a huisnummer, codes prefixed, in file order.

    ``plain``: the file is known to be :func:`_pc6hnr_plain`, so nothing is trimmed. Not
    ``prefixed``: the codes as the file has them (trimmed), named ``buurt``, ``wijk`` and
    ``gemeente``.
    """
    scan = pl.scan_csv(
        csv,
        separator=separator,
        infer_schema=False,
        encoding="utf8-lossy",
        truncate_ragged_lines=True,
    )

    def field(stem: str) -> pl.Expr:
        return pl.col(names[stem]) if plain else pl.col(names[stem]).str.strip_chars()

    postcode = field("pc6") if plain else field("pc6").str.to_uppercase()
    code = field("gemeente")
    if gemeente_code is not None:
        scan = scan.filter(
            (code == gemeente_code.removeprefix("GM"))
            | postcode.str.slice(0, 4).is_in(sorted(set(pc4)))
        )
    codes = (
        [
            ("BU" + field("buurt")).alias("buurt_code"),
            ("WK" + field("wijk")).alias("wijk_code"),
            ("GM" + code).alias("gemeente_code"),
        ]
        if prefixed
        else [field("buurt").alias("buurt"), field("wijk").alias("wijk"), code.alias("gemeente")]
    )
    return scan.select(
        postcode.alias("postcode"),
        field("huisnummer").cast(pl.Int64, strict=False).alias("huisnummer"),
        *codes,
    ).filter(pl.col("postcode").is_not_null() & pl.col("huisnummer").is_not_null())


def _collect(table: pl.LazyFrame, path: Path, **options: Any) -> pl.DataFrame:
    try:
        return table.collect(**options)
    except pl.exceptions.PolarsError:
        raise ReferenceFileError(
            f"{path.name}: de tabel postcode-huisnummer kan niet als CSV gelezen worden"
        ) from None


def read_pc6hnr(
    path: Path, gemeente_code: str | None = None, *, pc4: Collection[str] = ()
) -> pl.DataFrame:
    """Read the CBS postcode-huisnummer table (CSV or ZIP) into prefixed codes.

    Returns one row per (``postcode``, ``huisnummer``) with ``buurt_code`` (``BU…``),
    ``wijk_code`` (``WK…``) and ``gemeente_code`` (``GM…``). With ``gemeente_code`` only that
    gemeente's rows are read (plus any row in one of the postcode areas ``pc4``), which keeps
    the national table fast to use.
    """
    with _pc6hnr_csv(path) as csv:
        names, separator = _pc6hnr_header(csv, path.name)
        frame = _collect(_pc6hnr_rows(csv, names, separator, gemeente_code, pc4), path)
    return frame.unique(subset=["postcode", "huisnummer"], keep="first", maintain_order=True)


Pc6hnrOrder = Literal["adres", "postcode", "geen"]
_PEEK_BYTES = 1 << 18  # ~8 000 rows of the national table


def _pc6hnr_apparent_order(csv: Path, names: dict[str, str], separator: str) -> Pc6hnrOrder:
    """How the table's first rows are ordered: by postcode and huisnummer (``adres``), by
    postcode only (``postcode``) or neither (``geen``). A guess from a simple split of the
    first lines, to choose how to prepare the copy; each way checks the order it needs.
    """
    header, _ = _header_names(csv)
    pc6, number = header.index(names["pc6"]), header.index(names["huisnummer"])
    with csv.open("rb") as handle:
        handle.readline()
        lines = handle.read(_PEEK_BYTES).decode("utf-8", errors="replace").splitlines()[:-1]
    rows = []
    for line in lines:
        fields = line.split(separator)
        if len(fields) > max(pc6, number) and fields[number].strip().isdecimal():
            rows.append((fields[pc6].strip().upper(), int(fields[number])))
    if rows == sorted(rows):
        return "adres"
    postcodes = [postcode for postcode, _ in rows]
    return "postcode" if postcodes == sorted(postcodes) else "geen"


@contextmanager
def read_pc6hnr_keyed(path: Path, key: pl.Expr) -> Iterator[tuple[pl.LazyFrame, Pc6hnrOrder]]:
    """:func:`read_pc6hnr`'s rows before duplicates are dropped, in file order, with ``key`` (an
    expression of ``postcode``) as ``pc6_sleutel``: a lazy scan, valid inside the block; and
    the order its first rows seem to be in (:func:`_pc6hnr_apparent_order`).

    For the prepared copy, to be streamed (the national table is never held whole). The codes
    come without their prefix, as ``buurt``, ``wijk`` and ``gemeente`` (prefixing 7.8 M rows
    costs more than a third of reading them; a reader of the copy adds it to the rows it
    keeps). Same checks and messages as :func:`read_pc6hnr`: a wrong header on entering, and a
    table that cannot be read as CSV when the scan is collected inside the block.
    """
    with _pc6hnr_csv(path) as csv:
        names, separator = _pc6hnr_header(csv, path.name)
        plain = _pc6hnr_plain(csv, separator)
        order = _pc6hnr_apparent_order(csv, names, separator)
        rows = _pc6hnr_rows(csv, names, separator, None, (), plain=plain, prefixed=False)
        try:
            yield rows.with_columns(pc6_sleutel=key), order
        except pl.exceptions.PolarsError:
            raise ReferenceFileError(
                f"{path.name}: de tabel postcode-huisnummer kan niet als CSV gelezen worden"
            ) from None


# --------------------------------------------------------------------------- kerncijfers

# Column names per meaning, in order of preference, by their stem (without year/number suffix).
_WIJK_CODE = ("statcode", "gwb_code_10", "codering", "wijkcode", "gwb_code", "wijkenenbuurten")
_WIJK_NAME = ("statnaam", "regio", "wijknaam", "wijkenenbuurten")
_DWELLINGS = ("woningvoorraad", "a_woning", "aantal_woningen", "woningen")
_HOUSEHOLDS = ("huishoudenstotaal", "a_hh", "aantal_huishoudens", "huishoudens")


def _table_as_text(path: Path) -> pl.DataFrame:
    """Every cell as text: CSV in any separator, or the first sheet of an Excel workbook."""
    if zipfile.is_zipfile(path):  # .xlsx
        try:
            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
            rows = sheet.to_python(skip_empty_area=True)
        except Exception:  # calamine raises several types for a damaged workbook
            raise ReferenceFileError(f"{path.name}: werkboek kan niet gelezen worden") from None
        if not rows:
            return pl.DataFrame()
        header = [str(c).strip() for c in rows[0]]
        body = [["" if c is None else str(c) for c in row] for row in rows[1:]]
        return pl.DataFrame(body, schema=header, orient="row")
    _, separator = _header_names(path)
    try:
        return pl.read_csv(
            path,
            separator=separator,
            infer_schema=False,
            encoding="utf8-lossy",
            truncate_ragged_lines=True,
        )
    except pl.exceptions.PolarsError:
        raise ReferenceFileError(f"{path.name}: kan niet als CSV gelezen worden") from None


def _pick(columns: Sequence[str], wanted: Sequence[str]) -> str | None:
    """The first column whose exact or suffix-free name is in ``wanted`` (in its order)."""
    by_name = {c.strip().lstrip("\ufeff").lower(): c for c in columns}
    by_stem = {_stem(c.lstrip("\ufeff")): c for c in reversed(columns)}
    for want in wanted:
        if want in by_name:
            return by_name[want]
        if want in by_stem:
            return by_stem[want]
    return None


def _code_column(frame: pl.DataFrame) -> str | None:
    """The column that holds CBS area codes (``WK…``), by name and by content."""
    for want in _WIJK_CODE:
        column = _pick(frame.columns, (want,))
        if column and frame.get_column(column).str.strip_chars().str.contains(r"^(WK|GM)").any():
            return column
    return None


def _count(column: str | None) -> pl.Expr:
    if column is None:
        return pl.lit(None, dtype=pl.Int64)
    return pl.col(column).str.strip_chars().cast(pl.Float64, strict=False).round().cast(pl.Int64)


def read_wijken(path: Path, gemeente_code: str | None = None) -> pl.DataFrame:
    """Wijk key figures: ``wijk_code``, ``wijk_naam``, ``woningen`` and ``huishoudens``.

    ``woningen`` (dwellings) and ``huishoudens`` (households) are null where the file does not
    have them or CBS left the cell empty (``.``). Only wijk rows (``WK…``) are returned, with
    ``gemeente_code`` only that gemeente's (the CBS download covers the whole country).
    """
    frame = _table_as_text(path)
    columns = frame.columns
    code = _code_column(frame)
    if code is None:
        raise ReferenceFileError(
            f"{path.name}: geen kolom met wijkcodes (WK…) gevonden; verwacht CBS Kerncijfers wijken "
            "en buurten met een kolom zoals gwb_code_10, Codering_3 of statcode "
            f"(gevonden: {_columns(len(columns))})"
        )
    name = _pick([c for c in columns if c != code], _WIJK_NAME)
    dwellings, households = _pick(columns, _DWELLINGS), _pick(columns, _HOUSEHOLDS)
    wijk_code = pl.col(code).str.strip_chars()
    return (
        frame.select(
            wijk_code.alias("wijk_code"),
            (pl.col(name).str.strip_chars() if name else wijk_code).alias("wijk_naam"),
            _count(dwellings).alias("woningen"),
            _count(households).alias("huishoudens"),
        )
        .filter(pl.col("wijk_code").str.starts_with("WK" + (gemeente_code or "GM")[2:]))
        .unique(subset="wijk_code", keep="first", maintain_order=True)
    )


BUNDLED_YEAR = 2024


@cache
def _bundled_kwb() -> dict[str, dict[str, Any]]:
    data = resources.files("factlab").joinpath("data", "cbs", "kwb2024_gemeenten_wijken.json.gz")
    return json.loads(gzip.decompress(data.read_bytes()))


def bundled_gemeenten() -> tuple[str, ...]:
    """Every gemeente code in the bundled CBS kerncijfers 2024 (342 gemeenten)."""
    return tuple(sorted(code for code in _bundled_kwb() if code.startswith("GM")))


def read_bundled_wijken(gemeente_code: str) -> pl.DataFrame:
    """The wijken of a gemeente from the bundled CBS kerncijfers 2024 (works offline).

    Same columns as :func:`read_wijken` plus ``inwoners``; the bundle has no names (the name is
    the code) and no household counts.
    """
    kwb = _bundled_kwb()
    if gemeente_code not in kwb:
        raise ReferenceFileError(
            f"gemeente {gemeente_code} staat niet in de CBS-kerncijfers {BUNDLED_YEAR} "
            f"({len(bundled_gemeenten())} gemeenten); controleer de code (GM en vier cijfers)"
        )
    prefix = "WK" + gemeente_code.removeprefix("GM")
    codes = sorted(code for code in kwb if code.startswith(prefix))
    return pl.DataFrame(
        {
            "wijk_code": codes,
            "wijk_naam": codes,
            "woningen": [kwb[c].get("Woningvoorraad_35") for c in codes],
            "huishoudens": [None] * len(codes),
            "inwoners": [kwb[c].get("AantalInwoners_5") for c in codes],
        },
        schema={
            "wijk_code": pl.String,
            "wijk_naam": pl.String,
            "woningen": pl.Int64,
            "huishoudens": pl.Int64,
            "inwoners": pl.Int64,
        },
    )


def read_gemeente_naam(path: Path, gemeente_code: str) -> str | None:
    """The gemeente's name as the kerncijfers give it, if they do.

    The kwb download names the gemeente on every row (``gm_naam``), StatLine too
    (``Gemeentenaam_1``); otherwise the gemeente's own row (``GM…``) carries it as its name.
    """
    frame = _table_as_text(path)
    code = _code_column(frame)
    if code is None:
        return None
    codes = pl.col(code).str.strip_chars()
    others = [c for c in frame.columns if c != code]
    in_gemeente = (codes == gemeente_code) | codes.str.starts_with("WK" + gemeente_code[2:])
    for wanted, rows in (
        (("gm_naam", "gemeentenaam"), in_gemeente),
        (("regio", "statnaam"), codes == gemeente_code),
    ):
        column = _pick(others, wanted)
        if column is None:
            continue
        names = frame.filter(rows).get_column(column).str.strip_chars()
        names = names.filter(names.str.len_chars() > 0)
        if names.len():
            return names[0]
    return None


def kerncijfers_year(path: Path) -> int | None:
    """The year of a kerncijfers file: a year-suffixed column (``woningvoorraad_2024``) or name."""
    for column in _table_as_text(path).columns:
        if _stem(column) in _DWELLINGS and (match := re.search(r"_(20\d{2})$", column)):
            return int(match.group(1))
    return file_year(path)


def file_year(path: Path) -> int | None:
    """A year in the file name as CBS and PDOK name their downloads (``kwb-2024.xlsx``)."""
    match = _FILE_YEAR.search(path.name)
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- wijk map


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """Every ring of a (Multi)Polygon, as mutable coordinate lists."""
    kind, coordinates = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        return list(coordinates)
    if kind == "MultiPolygon":
        return [ring for polygon in coordinates for ring in polygon]
    return []


def _declared_crs(data: dict[str, Any]) -> str | None:
    name = str(((data.get("crs") or {}).get("properties") or {}).get("name", ""))
    if not name:
        return None
    if name.endswith(("28992", "28992)")):
        return "rd"
    if name.endswith(("4326", "CRS84")):
        return "wgs84"
    return "other"


def _inside(xs: np.ndarray, ys: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    return bool(
        ((xs >= box[0]) & (xs <= box[2]) & (ys >= box[1]) & (ys <= box[3])).all() and xs.size
    )


def _to_wgs84(features: list[dict[str, Any]], label: str, declared: str | None) -> None:
    """Convert RD coordinates in place; refuse a map that lies outside the Netherlands."""
    rings = [ring for f in features for ring in _rings(f.get("geometry") or {})]
    if not rings:
        raise ReferenceFileError(f"{label}: de kaart bevat geen vlakken (Polygon/MultiPolygon)")
    points = np.array([p[:2] for ring in rings for p in ring], dtype=float)
    xs, ys = points[:, 0], points[:, 1]
    crs = declared or ("rd" if _inside(xs, ys, NL_RD) else "wgs84")
    if crs == "other":
        raise ReferenceFileError(
            f"{label}: onbekend coördinatenstelsel; gebruik de PDOK-kaart in EPSG:28992 (RD) of "
            "WGS84 (EPSG:4326)"
        )
    if crs == "rd":
        if not _inside(xs, ys, NL_RD):
            raise ReferenceFileError(f"{label}: de RD-coördinaten liggen niet in Nederland")
        from pyproj import Transformer

        transformer = Transformer.from_crs(28992, 4326, always_xy=True)
        lon, lat = transformer.transform(xs, ys)
        start = 0
        for ring in rings:
            ring[:] = [
                [round(float(x), 6), round(float(y), 6)]
                for x, y in zip(
                    lon[start : start + len(ring)], lat[start : start + len(ring)], strict=True
                )
            ]
            start += len(ring)
        xs, ys = np.asarray(lon), np.asarray(lat)
    if not _inside(xs, ys, NL_WGS84):
        hint = " (lengte- en breedtegraad lijken verwisseld)" if _inside(ys, xs, NL_WGS84) else ""
        raise ReferenceFileError(f"{label}: de coördinaten liggen niet in Nederland{hint}")


def _span_km(features: list[dict[str, Any]]) -> float:
    points = np.array(
        [p[:2] for f in features for ring in _rings(f["geometry"]) for p in ring], dtype=float
    )
    lon_km = (points[:, 0].max() - points[:, 0].min()) * 111.3 * np.cos(np.radians(52.2))
    lat_km = (points[:, 1].max() - points[:, 1].min()) * 111.3
    return float(max(lon_km, lat_km))


def read_wijkkaart(path: Path, gemeente_code: str | None = None) -> dict[str, Any]:
    """Read wijk polygons as a WGS84 FeatureCollection with ``statcode``/``statnaam``.

    Accepts PDOK GeoJSON in RD New or WGS84 (the CRS is read from the file, or recognised from
    the coordinates). With ``gemeente_code`` only that gemeente's wijken are kept, and a map
    that has none of them, or whose wijken lie far apart, is refused.
    """
    label = path.name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise ReferenceFileError(f"{label}: geen leesbaar GeoJSON-bestand") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ReferenceFileError(f"{label}: geen GeoJSON FeatureCollection")
    features: list[dict[str, Any]] = []
    for feature in data.get("features") or []:
        props = feature.get("properties") or {}
        code = str(props.get("statcode") or props.get("wijkcode") or "").strip()
        if not code.startswith("WK"):
            continue
        if gemeente_code and code[2:6] != gemeente_code.removeprefix("GM"):
            continue
        name = str(props.get("statnaam") or props.get("wijknaam") or code).strip()
        features.append(
            {
                "type": "Feature",
                "properties": {"statcode": code, "statnaam": name},
                "geometry": feature.get("geometry") or {},
            }
        )
    where = f" van {gemeente_code}" if gemeente_code else ""
    if not features:
        raise ReferenceFileError(
            f"{label}: de kaart bevat geen wijken{where} (verwacht wijkcodes WK… in statcode of "
            "wijkcode; een buurtkaart is niet genoeg)"
        )
    _to_wgs84(features, label, _declared_crs(data))
    if gemeente_code and _span_km(features) > MAX_GEMEENTE_SPAN_KM:
        raise ReferenceFileError(
            f"{label}: de wijken{where} liggen meer dan {MAX_GEMEENTE_SPAN_KM:.0f} km uit elkaar; "
            "de kaart past niet bij de gemeente (ander coördinatenstelsel of verkeerde kaart?)"
        )
    return {"type": "FeatureCollection", "features": features}


def kaart_year(path: Path) -> int | None:
    """The year of a PDOK map: ``jrstatcode`` (``2024WK047911``) or the file name."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        for feature in data.get("features") or []:
            code = str((feature.get("properties") or {}).get("jrstatcode") or "")
            if match := re.match(r"(20\d{2})", code):
                return int(match.group(1))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        raise ReferenceFileError(f"{path.name}: geen leesbaar GeoJSON-bestand") from None
    return file_year(path)
