"""A delivery's checked rows in the workspace: parts written by the check, read by the close.

The check writes each batch of a delivery's checked rows as one part, ``deel-00000.arrow``,
``deel-00001.arrow``, ... in the delivery's rows folder (``rijen/<id>/``, 0600 files in a 0700
folder: they hold addresses). A part is Arrow IPC without compression: a national check writes
its 4.2 M rows in ~0.15 s of reader CPU where parquet with lz4 took ~0.6 s, and the close
reads them by memory map; the price is disk, ~90 bytes a row (a national edition's parts take
~0.4 GB, about the raw uploads' size again, until the edition is published).

Parts written as parquet by an earlier version are still found, read and removed, so an
edition left open across an upgrade loses none of the rows checked before it.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

_PREFIX = "deel-"
_SUFFIX = ".arrow"
_EARLIER_SUFFIX = ".parquet"  # what versions before 2026-12-04 wrote


def part_path(folder: Path, number: int) -> Path:
    """Where the part ``number`` (from 0) of a rows folder is written."""
    return folder / f"{_PREFIX}{number:05d}{_SUFFIX}"


def write(rows: pl.DataFrame, path: Path) -> None:
    """Write one part, readable by the service account only."""
    rows.write_ipc(path, compression="uncompressed")
    os.chmod(path, 0o600)


def parts(folder: Path) -> list[Path]:
    """The parts in ``folder``, in the order they were written (none if it does not exist)."""
    return sorted(
        path for path in folder.glob(f"{_PREFIX}*") if path.suffix in (_SUFFIX, _EARLIER_SUFFIX)
    )


def scan(part: Path) -> pl.LazyFrame:
    """The rows of one part, whichever version wrote it."""
    return pl.scan_parquet(part) if part.suffix == _EARLIER_SUFFIX else pl.scan_ipc(part)


def remove(folder: Path) -> None:
    """Remove every part in ``folder`` (the folder itself stays)."""
    for part in parts(folder):
        part.unlink()
