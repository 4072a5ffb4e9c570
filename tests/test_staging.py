"""The staging area holds DuckDB's spill files too, and nothing of it outlives the close."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from factlab.staging import DUCKDB_MEMORY_LIMIT, SPILL_FOLDER, STAGING_FOLDER, Staging


def _spill(staging: Staging) -> list[Path]:
    """Make DuckDB hold more than its memory limit: a temporary table of ~100 MB."""
    assert staging.connection is not None
    staging.connection.execute(
        "CREATE TEMP TABLE groot AS SELECT i, md5(i::VARCHAR) AS h FROM range(1500000) t(i)"
    )
    return [p for p in (staging.path / SPILL_FOLDER).rglob("*") if p.is_file()]


def test_duckdb_spills_inside_the_staging_folder_and_it_is_removed(tmp_path: Path) -> None:
    with Staging(tmp_path, "2026", memory_limit="20MB") as staging:
        assert staging.connection is not None
        (setting,) = staging.connection.sql("SELECT current_setting('temp_directory')").fetchall()
        assert Path(setting[0]) == staging.path / SPILL_FOLDER
        staging.write(pl.DataFrame({"pseudoniem": ["a"], "wijk_code": ["WK1"]}))
        spilled = _spill(staging)
        assert spilled, "a 20 MB limit with ~100 MB held must spill"
        assert all(p.is_relative_to(tmp_path / STAGING_FOLDER / "2026") for p in spilled)
        assert sum(p.stat().st_size for p in spilled) > 20 << 20
    assert not (tmp_path / STAGING_FOLDER).exists()  # spill files, rows and folder all gone
    assert not any(tmp_path.rglob("*"))


def test_a_failed_close_removes_the_staging_folder_with_its_spill_files(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="mislukt"), Staging(tmp_path, "2026", "20MB") as staging:
        assert _spill(staging)
        raise RuntimeError("mislukt")
    assert not any(tmp_path.rglob("*"))


def test_the_limit_is_one_gigabyte() -> None:
    """Issue 15: a national edition completes with DuckDB held to 1 GB (measured)."""
    assert DUCKDB_MEMORY_LIMIT == "1GB"
