"""The CBS pc6hnr table, read once per release into a prepared columnar copy.

The national table is 7.8 M rows and ~250 MB of CSV. Parsing it costs seconds and 1-3 GB on
every run, and joining each upload batch against all of it costs tens of seconds more, while
an edition touches only the postcodes its partners delivered. So the CSV is parsed once (by
:func:`factlab.connectors.cbs.read_pc6hnr`, with the same checks and messages) into a Parquet copy
sorted by an integer postcode key, and every run reads only the row groups of the postcodes
present in its uploads.

The copy lives in a cache folder (``$FACTLAB_CACHE`` or ``~/.cache/factlab``), named after the
CSV's name, size and modification time: a new CBS release (a new file, or the old one
replaced) gets a new copy; the copy holds public CBS data only. It is written atomically, so a
run killed while preparing leaves no half copy behind.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from factlab.connectors.cbs import read_pc6hnr_sorted

CACHE_ENVIRONMENT = "FACTLAB_CACHE"
_FORMAT_VERSION = "1"
_ROW_GROUP_ROWS = 64_000


_LETTER_PAIRS = {
    chr(first) + chr(second): (first - 65) * 26 + (second - 65)
    for first in range(65, 91)
    for second in range(65, 91)
}


def postcode_key(postcode: pl.Expr) -> pl.Expr:
    """``1503AB`` -> 1503 * 676 + 0 * 26 + 1: one integer per PC6, ordered as the postcodes.

    Null for anything that is not four digits and two capital letters.
    """
    number = postcode.str.slice(0, 4).str.to_integer(strict=False).cast(pl.Int32)
    letters = postcode.str.slice(4).replace_strict(
        _LETTER_PAIRS, default=None, return_dtype=pl.Int32
    )
    return pl.when(postcode.str.len_bytes() == 6).then(number * 676 + letters)


def cache_folder() -> Path:
    """Where prepared copies live: ``$FACTLAB_CACHE`` or ``~/.cache/factlab``, then ``cbs``."""
    base = os.environ.get(CACHE_ENVIRONMENT) or Path.home() / ".cache" / "factlab"
    return Path(base) / "cbs"


def prepared_path(csv: Path, cache: Path | None = None) -> Path:
    """The prepared copy of ``csv`` (which need not exist yet): one per CBS release."""
    status = csv.stat()
    identity = f"{_FORMAT_VERSION}|{csv.resolve()}|{status.st_size}|{status.st_mtime_ns}"
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:20]
    return (cache or cache_folder()) / f"{csv.stem}-{digest}.parquet"


def prepare(csv: Path, cache: Path | None = None) -> Path:
    """Parse ``csv`` once into the prepared copy, unless it is there already; returns its path."""
    target = prepared_path(csv, cache)
    if target.is_file():
        return target
    table = read_pc6hnr_sorted(csv, postcode_key(pl.col("postcode")))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        table.write_parquet(partial, row_group_size=_ROW_GROUP_ROWS, statistics=True)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def read_pc6hnr_prepared(
    csv: Path,
    postcodes: Iterable[str] | pl.Series | None = None,
    cache: Path | None = None,
    *,
    gemeente_code: str | None = None,
) -> pl.DataFrame:
    """:func:`factlab.connectors.cbs.read_pc6hnr`'s table, from the prepared copy (made on first use).

    With ``postcodes`` (normalised, e.g. ``1503AB``), only the rows of those postcodes: enough
    to place every address of an edition, at a fraction of the table. With ``gemeente_code``
    (``GM0479``), only that gemeente's rows, filtered while reading (the national table is
    never held whole). Same columns, same rows.
    """
    scan = pl.scan_parquet(prepare(csv, cache))
    if gemeente_code is not None:
        scan = scan.filter(pl.col("gemeente_code") == gemeente_code)
    if postcodes is not None:
        wanted = (
            pl.DataFrame({"postcode": pl.Series(list(postcodes), dtype=pl.String)})
            .select(postcode_key(pl.col("postcode")))
            .to_series()
            .drop_nulls()
            .unique()
        )
        if wanted.is_empty():
            return scan.drop("pc6_sleutel").head(0).collect()
        # The range lets Parquet statistics skip row groups; is_in keeps the exact postcodes.
        scan = scan.filter(
            pl.col("pc6_sleutel").is_between(wanted.min(), wanted.max())
            & pl.col("pc6_sleutel").is_in(wanted.implode())
        )
    return scan.drop("pc6_sleutel").collect()


def _address_key(pc6_key: pl.Expr, huisnummer: pl.Expr) -> pl.Expr:
    """One integer per (postcode, huisnummer): huisnummers are below 100 000."""
    return pc6_key.cast(pl.Int64) * 100_000 + huisnummer


def read_pc6hnr_addresses(
    csv: Path, addresses: pl.DataFrame, cache: Path | None = None
) -> pl.DataFrame:
    """The prepared table's rows of exactly the (``postcode``, ``huisnummer``) in ``addresses``.

    What placing a batch needs: a batch of 200 k rows spread over the country touches a third
    of the national table's postcodes but only its own addresses, and joining it against
    those few rows, on one integer, costs a tenth of joining it against its postcodes' rows.
    Same columns as :func:`read_pc6hnr_prepared`; rows as its rows filtered to the addresses.
    """
    wanted = (
        addresses.select(
            _sleutel=_address_key(postcode_key(pl.col("postcode")), pl.col("huisnummer"))
        )
        .drop_nulls()
        .unique()
    )
    scan = pl.scan_parquet(prepare(csv, cache))
    if wanted.is_empty():
        return scan.drop("pc6_sleutel").head(0).collect()
    postcodes = wanted.get_column("_sleutel") // 100_000
    return (
        scan.filter(  # the range lets Parquet statistics skip row groups
            pl.col("pc6_sleutel").is_between(postcodes.min(), postcodes.max())
            & pl.col("pc6_sleutel").is_in(postcodes.unique().implode())
        )
        .with_columns(_sleutel=_address_key(pl.col("pc6_sleutel"), pl.col("huisnummer")))
        .join(wanted.lazy(), on="_sleutel", how="semi")
        .drop("_sleutel", "pc6_sleutel")
        .collect()
    )
