"""The provision catalogue: which codes exist, their Dutch name, domain and law.

The catalogue is data (``factlab/data/catalogus.csv``), editable per edition by pointing the
config's ``[referentie] catalogus`` at another CSV with the same columns.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import polars as pl

from factlab.errors import ConfigError

COLUMNS = ("code", "naam", "domein", "wet")
DOMAINS = (
    "jeugd",
    "wmo",
    "participatie",
    "schuldhulp",
    "minima",
    "welzijn",
    "onderwijs",
    "inburgering",
)


def builtin_catalogue_path() -> Path:
    """Path of the catalogue that ships with Factlab."""
    return Path(str(resources.files("factlab") / "data" / "catalogus.csv"))


def load_catalogue(path: Path | None = None) -> pl.DataFrame:
    """Read and check a catalogue: unique codes, known domains, all columns present."""
    source = path or builtin_catalogue_path()
    try:
        frame = pl.read_csv(source, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise ConfigError(f"catalogus {source.name} is niet te lezen: {error}") from None
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ConfigError(f"catalogus {source.name}: kolommen ontbreken: {', '.join(missing)}")
    frame = frame.select(pl.col(c).str.strip_chars() for c in COLUMNS)
    duplicated = frame.filter(pl.col("code").is_duplicated()).get_column("code").unique().sort()
    if len(duplicated):
        raise ConfigError(f"catalogus {source.name}: dubbele codes {', '.join(duplicated)}")
    unknown = frame.filter(~pl.col("domein").is_in(DOMAINS)).get_column("domein").unique().sort()
    if len(unknown):
        raise ConfigError(
            f"catalogus {source.name}: onbekende domeinen {', '.join(unknown)} "
            f"(toegestaan: {', '.join(DOMAINS)})"
        )
    return frame
