"""The ``factlab`` command's entry point: a command that closes an edition starts the quality
helper before the pipeline's imports; other commands start nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from factlab.check_size import LARGE_CHECK_BYTES
from factlab.launch import closes_an_edition, head_start
from factlab.readers import MAX_READERS, plan

# Runs factlab.launch.main() as `factlab ARGS...` would, with prestart wrapped to record what
# was imported when it ran and whether it started a real helper process.
_PROBE = """
import json, os, sys
import factlab.launch as launch
from tests.processes import helpers_of

seen = {}
real = launch.prestart

def prestart():
    seen["loaded"] = sorted(m for m in ("polars", "duckdb", "factlab.cli") if m in sys.modules)
    real()
    seen["helpers"] = len(helpers_of(os.getpid()))

launch.prestart = prestart
real_readers = launch.readers.prestart

def readers_prestart():
    seen["loaded"] = sorted(m for m in ("polars", "duckdb", "factlab.cli") if m in sys.modules)
    real_readers()
    seen["readers"] = len(helpers_of(os.getpid()))

launch.readers.prestart = readers_prestart
sys.argv = ["factlab", *sys.argv[1:]]
try:
    launch.main()
except SystemExit as stop:
    seen["exit"] = stop.code
print(json.dumps(seen))
"""


def _launch(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("arguments", "closes"),
    [
        (["run", "--uploads", "u"], True),
        (["close", "--out", "o"], True),
        (["demo"], True),
        (["check", "--uploads", "u"], False),
        (["status"], False),
        (["run", "--help"], False),
        (["--help"], False),
        ([], False),
    ],
)
def test_only_commands_that_close_an_edition_start_the_helper(
    arguments: list[str], closes: bool
) -> None:
    assert closes_an_edition(arguments) is closes


def _large(uploads: Path, files: int = 2) -> Path:
    """An upload folder of a large check's size, in ``files`` files (the first sparse)."""
    (uploads / "partner").mkdir(parents=True)
    with (uploads / "partner" / "levering.csv").open("wb") as handle:
        handle.truncate(LARGE_CHECK_BYTES)  # sparse: the size is what counts
    for n in range(1, files):
        (uploads / "partner" / f"levering-{n}.csv").write_bytes(b"postcode;huisnummer\n")
    return uploads


def test_a_large_check_gets_no_quality_helper_first(tmp_path: Path) -> None:
    """Its reader processes need the cores first; a small one, or a close, gets a head start,
    and so does a check of one large file (read in the checking process alone)."""
    small = tmp_path / "klein"
    (small / "partner").mkdir(parents=True)
    (small / "partner" / "levering.csv").write_bytes(b"postcode;huisnummer\n")
    assert head_start(["run", "--uploads", str(small)])
    assert head_start(["close", "--out", str(tmp_path)])
    assert head_start(["run", "--uploads", str(_large(tmp_path / "een", files=1))])
    uploads = _large(tmp_path / "groot")
    assert not head_start(["run", "--uploads", str(uploads), "--out", str(tmp_path)])
    assert not head_start(["run", f"--uploads={uploads}"])


def test_run_starts_the_helper_before_the_pipeline_is_imported(tmp_path: Path) -> None:
    seen = _launch(
        "run", "--uploads", str(tmp_path / "geen"), "--out", str(tmp_path / "uit"),
        "--edition", "e",
    )  # fmt: skip
    assert seen["loaded"] == []  # not polars, DuckDB or the command line itself yet
    assert seen["helpers"] == 1
    assert seen["exit"] == 2  # the missing upload folder: a user mistake, after the start


def test_other_commands_start_no_helper(tmp_path: Path) -> None:
    seen = _launch("status", "--out", str(tmp_path / "uit"), "--edition", "e")
    assert "helpers" not in seen
    assert seen["exit"] == 2


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_large_check_starts_its_readers_before_the_pipeline_is_imported(
    tmp_path: Path, command: str
) -> None:
    uploads = _large(tmp_path / "uploads")
    seen = _launch(
        command, "--uploads", str(uploads), "--out", str(tmp_path / "uit"), "--edition", "e",
        "--config", str(tmp_path / "geen.toml"),
    )  # fmt: skip
    assert seen["loaded"] == []
    assert seen["readers"] == plan(MAX_READERS)[0] > 1
    assert "helpers" not in seen  # no quality helper
    assert seen["exit"] == 2  # the missing config: a user mistake, after the start


def test_one_large_file_starts_no_readers(tmp_path: Path) -> None:
    """The check reads a single upload in its own process: readers would wait for nothing."""
    uploads = _large(tmp_path / "uploads", files=1)
    seen = _launch("check", "--uploads", str(uploads), "--out", str(tmp_path / "uit"))
    assert "readers" not in seen and "helpers" not in seen


def test_a_small_check_starts_nothing(tmp_path: Path) -> None:
    (tmp_path / "uploads").mkdir()
    seen = _launch("check", "--uploads", str(tmp_path / "uploads"), "--out", str(tmp_path))
    assert "helpers" not in seen and "readers" not in seen
