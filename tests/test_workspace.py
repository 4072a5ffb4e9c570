"""The edition's workspace: private, and its lock admits one holder at a time, ever."""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import replace
from pathlib import Path

import pytest

from factlab.errors import FactlabError
from factlab.schemas.records import (
    OPEN,
    PROCESSED,
    PUBLISHED,
    Delivery,
    EditionState,
    Receipt,
    Rejection,
)
from factlab.workspace import REJECTIONS_FOLDER, Workspace

ATTEMPTS_PER_PROCESS = 2_600
PROCESSES = 4


def _contend(out: str, marker: str, attempts: int) -> tuple[int, int]:
    """Try the lock ``attempts`` times; count holds, and holds that found another holder."""
    held = overlaps = 0
    for _ in range(attempts):
        try:
            with Workspace(Path(out), "2026"):
                held += 1
                try:
                    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    overlaps += 1
                    continue
                os.close(fd)
                os.unlink(marker)
        except FactlabError:
            pass
    return held, overlaps


def test_one_holder_at_a_time_over_ten_thousand_attempts(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    marker = str(tmp_path / "houder")
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(
            _contend, [(str(tmp_path), marker, ATTEMPTS_PER_PROCESS)] * PROCESSES
        )
    assert PROCESSES * ATTEMPTS_PER_PROCESS >= 10_000
    assert sum(overlaps for _, overlaps in results) == 0
    assert sum(held for held, _ in results) > 0
    assert (tmp_path / ".werkmap" / "2026.lock").exists()  # never unlinked


def test_a_second_process_is_told_the_edition_is_busy(tmp_path: Path) -> None:
    with Workspace(tmp_path, "2026"):
        context = multiprocessing.get_context("fork")
        with context.Pool(1) as pool:
            held, _ = pool.apply(_contend, (str(tmp_path), str(tmp_path / "m"), 1))
        assert held == 0


def test_the_workspace_is_private(tmp_path: Path) -> None:
    with Workspace(tmp_path, "2026") as workspace:
        upload = tmp_path / "a.csv"
        upload.write_text("postcode\n")
        stored = workspace.store_raw(upload, "L0001")
    assert (tmp_path / ".werkmap").stat().st_mode & 0o777 == 0o700
    assert (workspace.path / stored).stat().st_mode & 0o777 == 0o600
    assert (workspace.path / stored).read_text() == "postcode\n"


def test_state_is_only_written_under_the_lock(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path, "2026")
    with pytest.raises(RuntimeError, match="lock"):
        workspace.store_raw(Path(__file__), "L0001")
    with pytest.raises(FactlabError, match="niet geopend"):
        workspace.load()


def _delivery(number: int, *, rejections: int, consumed: bool = False) -> Delivery:
    receipt = Receipt(
        "partner-é", "Partner \u00e9\u2013\U0001f600", f"bestand-{number}.csv", f"L{number:04d}",
        PROCESSED, "2026-03-01T10:00:00Z", file_format={"type": "csv", "codering": "utf-8"},
        provisions={"WMO-HH": number}, replaces=f"L{number - 1:04d}" if number > 1 else None,
        rejections=tuple(
            Rejection(row + 2, "postcode", "postcode_ongeldig", "De postcode is \"ongeldig\".")
            for row in range(rejections)
        ),
    )  # fmt: skip
    return Delivery(
        f"L{number:04d}", "partner-é", f"bestand-{number}.csv", 10 * number,
        f"bestanden/L{number:04d}", f"rijen/L{number:04d}", receipt, consumed,
    )  # fmt: skip


def test_a_saved_state_loads_as_saved_with_its_rejected_rows_apart(tmp_path: Path) -> None:
    """Every save gives back the state as it was, as deliveries come, change and go (also to a
    new process); the rejected rows are not in the state file but in a file per delivery,
    written once, not again when the same receipt is saved with a changed delivery."""
    state = EditionState("2026", OPEN, "2026-03-01T09:00:00Z", "/u", "/c.toml", None, ("a", "b"))
    with Workspace(tmp_path, "2026") as workspace:
        workspace.save(state)
        assert workspace.load() == state
        for number in range(1, 6):
            state = replace(
                state, deliveries=(*state.deliveries, _delivery(number, rejections=number * 3))
            )
            workspace.save(state)
            assert workspace.load() == state
            assert "postcode_ongeldig" not in workspace.state_path.read_text(encoding="utf-8")
            rejections = workspace.path / REJECTIONS_FOLDER / f"L{number:04d}.json"
            written = rejections.stat().st_ino
            consumed = replace(state.deliveries[-1], consumed=True)  # same receipt, new delivery
            state = replace(state, deliveries=(*state.deliveries[:-1], consumed))
            workspace.save(state)
            assert workspace.load() == state
            assert rejections.stat().st_ino == written  # not written again
            assert oct(rejections.stat().st_mode & 0o777) == oct(0o600)
        state = replace(state, deliveries=state.deliveries[1:3], state=PUBLISHED, closed="nu")
        workspace.save(state)
        assert workspace.load() == state
    with Workspace(tmp_path, "2026") as again:  # what a later command reads
        assert again.load() == state
        again.save(state)  # a new process writes each delivery's rejected rows once more
        assert again.load() == state
