"""The ``factlab`` command as a user meets it: help on every command, clear errors, a working demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from factlab.cli import DEMO_REVIEWER

FACTLAB = [sys.executable, "-m", "factlab"]


def _factlab(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*FACTLAB, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def _run_args(gemeente: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--uploads", str(gemeente / "uploads"), "--out", str(out), *extra]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["synth"],
        ["run"],
        ["open"],
        ["check"],
        ["status"],
        ["close"],
        ["watch"],
        ["demo"],
        ["vrijgeven"],
        ["afwijzen"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = _factlab(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


@pytest.mark.parametrize(
    ("command", "section"), [("vrijgeven", "[vrijgave]"), ("open", "[editie]")]
)
def test_help_names_config_sections_as_written(command: str, section: str) -> None:
    """A config section in square brackets is text, not markup the help swallows."""
    result = _factlab(command, "--help")
    assert section in " ".join(result.stdout.split())


def test_demo_runs_the_whole_pipeline_and_says_where_results_are(tmp_path: Path) -> None:
    result = _factlab("demo", "--out", "demo", cwd=tmp_path)  # relative, as a new user types it
    assert result.returncode == 0, result.stderr
    edition = tmp_path / "demo" / "uitvoer" / "demo-2026"
    assert "demo/uitvoer/demo-2026" in result.stderr.replace("\n", "")
    households = pl.read_parquet(edition / "huishoudens.parquet")
    assert households.height > 10_000
    for name in ("rapport.html", "tabellen.xlsx", "tabellen/kerncijfers.csv", "audit.json"):
        assert (edition / name).is_file(), name
        assert (edition / name).stat().st_mode & 0o007 == 0, name  # umask 027: not world-readable
    assert (edition / "huishoudens.parquet").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "demo" / "uitvoer" / ".werkmap").stat().st_mode & 0o777 == 0o700
    assert "Traceback" not in result.stderr
    # The demo releases its own synthetic edition, and says so: never silently.
    stderr = " ".join(result.stderr.split())
    assert "ter controle" in stderr and "automatisch vrijgegeven" in stderr
    released = json.loads((edition / "openbaarmaking.json").read_text())["vrijgave"]
    assert [r["naam"] for r in released["vrijgegeven_door"]] == [DEMO_REVIEWER]


def test_demo_refuses_to_wipe_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    result = _factlab("demo", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "geen demomap" in result.stderr
    assert (tmp_path / "mine.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--edition", "2026", "--config", "missing.toml"], "bestaat niet"),
        (["--edition", "2026", "--period", "2026"], "periode"),
        (["--edition", "a/b"], "editienaam"),
        (["--edition", "2026", "--key-mode", "managed"], "FACTLAB_KEY"),
    ],
)
def test_user_mistakes_get_one_clear_message_and_no_traceback(
    gemeente: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = _factlab(
        *_run_args(gemeente, tmp_path / "out"),
        *args,
        cwd=gemeente,
        env={"FACTLAB_KEY": ""},
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_run_with_managed_key_finds_config_beside_uploads(gemeente: Path, tmp_path: Path) -> None:
    key = "a2V5LWZvci10ZXN0cy1vbmx5LTMyLWJ5dGVzLWxvbmchIQ=="
    result = _factlab(
        *_run_args(gemeente, tmp_path / "out"),
        "--edition",
        "2026",
        "--key-mode",
        "managed",
        env={"FACTLAB_KEY": key},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / ".ter-controle" / "2026" / "huishoudens.parquet").is_file()
    assert not (tmp_path / "out" / "2026").exists()  # ter controle: not published
    assert key not in result.stderr + result.stdout


def test_options_override_the_config_and_are_checked(gemeente: Path, tmp_path: Path) -> None:
    result = _factlab(*_run_args(gemeente, tmp_path / "out"), "--edition", "2026",
        "--max-afgewezen", "2",
    )  # fmt: skip
    assert result.returncode == 2 and "tussen 0 en 1" in result.stderr
    # Everything counts as still being written with a long settling time: nothing is consumed,
    # and an edition without any accepted delivery is never published.
    result = _factlab(*_run_args(gemeente, tmp_path / "out"), "--edition", "2026",
        "--wachttijd", "100000",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "overgeslagen" in result.stderr and "geen enkele aanlevering" in result.stderr
    assert any((gemeente / "uploads").rglob("*.csv"))
    assert not (tmp_path / "out" / "2026").exists()


def test_a_bug_is_reported_without_the_data_in_its_message(
    gemeente: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from factlab import cli

    def broken(*args, **kwargs):
        raise ValueError("could not parse '1503AB 12'")  # as a library error might quote data

    monkeypatch.setattr(cli, "check_edition", broken)
    args = _run_args(gemeente, tmp_path / "o", "--edition", "x")
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 1
    assert "ValueError" in result.output and "1503AB" not in result.output
    monkeypatch.setenv("FACTLAB_DEBUG", "1")
    result = CliRunner().invoke(cli.app, args)
    assert isinstance(result.exception, ValueError)  # a developer still gets the real error


def test_an_aanleverperiode_from_the_command_line(gemeente: Path, tmp_path: Path) -> None:
    common = ["--uploads", str(gemeente / "uploads"), "--out", str(tmp_path / "out")]
    late = sorted((gemeente / "uploads").iterdir())[-1]
    aside = tmp_path / late.name
    late.rename(aside)
    assert _factlab("open", *common, "--edition", "2026").returncode == 0
    checked = _factlab("check", *common)  # the only open edition
    assert checked.returncode == 0, checked.stderr
    assert "verwerkt" in checked.stderr
    status = _factlab("status", *common)
    assert status.returncode == 0 and "ontbreekt" in status.stderr and late.name in status.stderr
    refused = _factlab("close", *common)
    assert refused.returncode == 2 and "--onvolledig" in refused.stderr
    aside.rename(late)
    assert _factlab("check", *common).returncode == 0
    closed = _factlab("close", *common, "--edition", "2026", "--door", "Ann Analist")
    assert closed.returncode == 0, closed.stderr
    assert "ter controle" in closed.stderr and "factlab vrijgeven" in closed.stderr
    assert not (tmp_path / "out" / "2026").exists()
    released = _factlab("vrijgeven", "--out", str(tmp_path / "out"), "--door", "Bea Beoordelaar")
    assert released.returncode == 0, released.stderr
    assert (tmp_path / "out" / "2026" / "rapport.html").is_file()
    again = _factlab("check", *common, "--edition", "2026")
    assert again.returncode == 0  # nothing new after publishing: nothing to say but that
