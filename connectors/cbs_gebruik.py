"""Reader for the CBS table "Gebruik voorzieningen sociaal domein; aantal voorzieningen, wijken".

CBS publishes it on StatLine per year (85994NED for 2024, 85375NED for 2022, ...) and it is
downloaded as a CSV with labels: ``;``-separated, quoted, one column per dimension
(``Aantal voorzieningen``, ``Soort voorziening sociaal domein``, ``Wijken``, ``Perioden``) and
two measures (clients and households with provisions). A secret cell is ``.``; the web view
writes thousands with a dot (``1.665``), the download without. Areas are named, not coded
(the gemeente by its name, wijken as in the kerncijfers, older years as ``Wijk 12 Naam``);
periods are ``2024`` or ``1e halfjaar 2023*`` (``*``: provisional).

We keep only the households measure for "Aantal voorzieningen = Totaal" and rename the
categories to Factlab's labels (``P-wet`` is Participatie). Error messages name the file, the
row and the rule, never a cell's content: the file comes from outside.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import polars as pl

from factlab.analyse import CBS_COMBINATIONS
from factlab.errors import ReferenceFileError

TOTAAL = "Totaal"
#: CBS category label (lower case) -> Factlab label; "Totaal" is every household in the table.
CATEGORIES: dict[str, str] = {
    "totaal": TOTAAL,
    "alleen jeugd": "Alleen Jeugd",
    "alleen p-wet": "Alleen Participatie",
    "alleen wmo": "Alleen Wmo",
    "jeugd en p-wet": "Jeugd en Participatie",
    "jeugd en wmo": "Jeugd en Wmo",
    "p-wet en wmo": "Participatie en Wmo",
    "jeugd, p-wet en wmo": "Jeugd, Participatie en Wmo",
}
assert set(CATEGORIES.values()) == {TOTAAL, *CBS_COMBINATIONS}
_COUNT = re.compile(r"^\d{1,3}(?:\.\d{3})+$|^\d+$")
MAX_BYTES = 50_000_000


def _text(path: Path) -> str:
    if path.stat().st_size > MAX_BYTES:
        raise ReferenceFileError(
            f"{path.name}: groter dan {MAX_BYTES // 1_000_000} MB; is dit de CBS-tabel?"
        )
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReferenceFileError(f"{path.name}: geen UTF-8 of Windows-1252")  # pragma: no cover


def _column(header: list[str], *words: str) -> int | None:
    for i, name in enumerate(header):
        lower = name.lower()
        if all(w in lower for w in words):
            return i
    return None


def _count(cell: str, path: Path, line: int) -> int | None:
    value = cell.strip()
    if value in (".", "", "x", "-"):
        return None
    if not _COUNT.match(value):
        raise ReferenceFileError(
            f"{path.name}, rij {line}: het aantal huishoudens is geen geheel getal of '.'"
        )
    return int(value.replace(".", ""))


def read_cbs_gebruik(path: Path) -> pl.DataFrame:
    """Households per area, period and Jeugd/Wmo/Participatie combination, as CBS published them.

    Returns ``gebied`` (the CBS area name), ``periode``, ``combinatie`` (Factlab labels plus
    ``Totaal``) and ``huishoudens`` (null where CBS shows ``.``).
    """
    text = _text(path)
    sample = text[:4096]
    delimiter = ";" if sample.count(";") >= sample.count(",") else ","
    try:  # newline="": a lone CR is a line ending, as in the CSV module's own reading
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:  # its message quotes nothing of the file, but say it in Dutch
        raise ReferenceFileError(
            f"{path.name}: geen leesbare CSV (regeleinden of aanhalingstekens kloppen niet)"
        ) from None
    start = next(
        (i for i, r in enumerate(rows) if _column(r, "soort voorziening") is not None), None
    )
    if start is None:
        raise ReferenceFileError(
            f"{path.name}: geen kolom 'Soort voorziening sociaal domein' gevonden; verwacht de "
            "CSV-download van de CBS-tabel 'Gebruik voorzieningen sociaal domein; aantal "
            "voorzieningen, wijken'"
        )
    header = rows[start]
    columns = {
        "aantal": _column(header, "aantal voorzieningen"),
        "soort": _column(header, "soort voorziening"),
        "gebied": next(
            (i for i in (_column(header, "wijken"), _column(header, "regio")) if i is not None),
            None,
        ),
        "periode": _column(header, "perioden"),
        "huishoudens": _column(header, "huishoudens met voorzieningen"),
    }
    missing = [name for name, index in columns.items() if index is None and name != "aantal"]
    if missing:
        raise ReferenceFileError(
            f"{path.name}: kolom(men) {', '.join(missing)} ontbreken in de kopregel (rij {start + 1})"
        )
    found = {name: index for name, index in columns.items() if index is not None}
    out = []
    for line, row in enumerate(rows[start + 1 :], start=start + 2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(header):
            if row[0].strip().lower().startswith(("bron", "source", "©")):
                break  # StatLine's footer
            raise ReferenceFileError(f"{path.name}, rij {line}: te weinig kolommen")
        if columns["aantal"] is not None and row[columns["aantal"]].strip().lower() != "totaal":
            continue
        soort = CATEGORIES.get(row[found["soort"]].strip().lower())
        if soort is None:
            raise ReferenceFileError(
                f"{path.name}, rij {line}: onbekende soort voorziening (verwacht bijvoorbeeld "
                "'Alleen Wmo' of 'Jeugd en P-wet')"
            )
        out.append(
            {
                "gebied": row[found["gebied"]].strip(),
                "periode": row[found["periode"]].strip(),
                "combinatie": soort,
                "huishoudens": _count(row[found["huishoudens"]], path, line),
            }
        )
    if not out:
        raise ReferenceFileError(f"{path.name}: geen rijen met 'Aantal voorzieningen' = Totaal")
    return pl.DataFrame(
        out,
        schema={
            "gebied": pl.String,
            "periode": pl.String,
            "combinatie": pl.String,
            "huishoudens": pl.Int64,
        },
        orient="row",
    )
