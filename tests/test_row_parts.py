"""A delivery's checked rows in the workspace: the parts the check writes and the close reads."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from factlab import row_parts
from factlab.config import load_config
from factlab.edition import RunSettings, check_edition, close
from factlab.keys import ephemeral_key
from factlab.workspace import WORKSPACE_FOLDER, Workspace
from tests.editions import Published

EDITION = "2026"


def test_parts_are_private_and_found_in_the_order_written(tmp_path: Path) -> None:
    rows = pl.DataFrame({"adres_sleutel": ["1234AB|1||"], "startdatum": [None]})
    for number in (10, 2, 0):
        row_parts.write(
            rows.with_columns(deel=pl.lit(number)), row_parts.part_path(tmp_path, number)
        )
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in row_parts.parts(tmp_path))
    _as_earlier_version(row_parts.part_path(tmp_path, 2))
    (tmp_path / "notitie.txt").write_text("not a part")

    found = row_parts.parts(tmp_path)
    assert [p.suffix for p in found] == [".arrow", ".parquet", ".arrow"]
    assert [row_parts.scan(p).collect().item(0, "deel") for p in found] == [0, 2, 10]
    assert_frame_equal(row_parts.scan(found[0]).collect(), rows.with_columns(deel=pl.lit(0)))
    row_parts.remove(tmp_path)
    assert row_parts.parts(tmp_path) == []
    assert (tmp_path / "notitie.txt").exists()
    assert row_parts.parts(tmp_path / "nergens") == []


def _as_earlier_version(part: Path) -> Path:
    """The part as versions before Arrow parts wrote it: parquet with lz4."""
    earlier = part.with_suffix(".parquet")
    pl.read_ipc(part).write_parquet(earlier, compression="lz4")
    part.unlink()
    return earlier


def test_an_edition_checked_by_an_earlier_version_closes_to_the_same_households(
    gemeente: Path, tmp_path: Path, published_edition: Published
) -> None:
    """An edition left open across an upgrade: the close reads the parts an earlier version
    wrote as parquet as it reads this version's."""
    config = load_config(gemeente / "factlab.toml")
    out = tmp_path / "uit"
    settings = RunSettings(gemeente / "uploads", out, EDITION, config, config.period)
    check_edition(settings)
    workspace = out / WORKSPACE_FOLDER / EDITION
    earlier = [
        _as_earlier_version(part)
        for delivery in Workspace(out, EDITION).load().deliveries
        if delivery.rows
        for part in row_parts.parts(workspace / delivery.rows)
    ]
    assert earlier
    assert [p for p in row_parts.parts(earlier[0].parent) if p.suffix == ".parquet"]

    closed = close(settings, ephemeral_key())

    assert closed.households == published_edition.result.households
    assert_frame_equal(
        pl.read_parquet(closed.edition_dir / "huishoudens.parquet"),
        pl.read_parquet(published_edition.edition_dir / "huishoudens.parquet"),
    )
