"""The staging area: the only place where files holding pseudonyms ever exist.

It lives at ``<out>/.staging/<edition>/`` (mode 0700), holds the pseudonymised rows per upload
and DuckDB's spill files, and is removed when the close ends, however it ends. A close that
finds the leftovers of a killed one removes them before it starts. Only a close, holding the
edition's lock (:class:`factlab.workspace.Workspace`), uses it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType

import duckdb
import polars as pl

STAGING_FOLDER = ".staging"
#: What DuckDB may hold in memory before it spills into the staging folder. A national edition
#: (4.2 M rows, 1.8 M households) links within it, spilling a few tens of MB.
DUCKDB_MEMORY_LIMIT = "1GB"
SPILL_FOLDER = "duckdb"


class Staging:
    """Context manager owning the staging folder and a DuckDB connection that spills into it."""

    def __init__(self, out: Path, edition: str, memory_limit: str = DUCKDB_MEMORY_LIMIT) -> None:
        self.root = out / STAGING_FOLDER
        self.path = self.root / edition
        self.memory_limit = memory_limit
        self._files: list[Path] = []
        self.connection: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> Staging:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.path.exists():  # leftovers of a killed run
            shutil.rmtree(self.path)
        self.path.mkdir(mode=0o700)
        spill = self.path / SPILL_FOLDER
        # A memory limit makes DuckDB spill to the staging folder instead of growing without bound
        # on a huge edition; spill files hold pseudonyms, so they must live here and nowhere else.
        self.connection = duckdb.connect(
            config={
                "temp_directory": str(spill),
                "threads": os.cpu_count() or 1,
                "memory_limit": self.memory_limit,
            }
        )
        return self

    def write(self, rows: pl.DataFrame | pl.LazyFrame) -> Path:
        """Store pseudonymised rows (a lazy frame is streamed, in bounded memory); returns the
        staged file."""
        target = self.path / f"rijen-{len(self._files):05d}.parquet"
        # Uncompressed: pseudonyms are random hex, which zstd spends seconds on at national size
        # (2.5 s for 4.2 M rows, against 0.7 s) to halve files that live for minutes.
        if isinstance(rows, pl.LazyFrame):
            rows.sink_parquet(target, compression="uncompressed", statistics=False)
        else:
            rows.write_parquet(target, compression="uncompressed", statistics=False)
        self._files.append(target)
        return target

    @property
    def files(self) -> list[str]:
        return [str(path) for path in self._files]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        shutil.rmtree(self.path, ignore_errors=True)
        if self.root.exists() and not any(self.root.iterdir()):
            self.root.rmdir()
