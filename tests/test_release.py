"""The human release step: a closed edition is ter controle, and only a named reviewer publishes it.

Every test drives the real ``factlab`` command (typer's runner, in process) on a real synthetic
gemeente: closing leaves nothing in ``<out>/<edition>/``; no other command gets it there; the
analyst, an unknown name or the same reviewer twice cannot release it; a rejection returns it to
the analyst with the reason, deliveries kept; the release is recorded in ``audit.json`` and
``openbaarmaking.json`` but never in the published tables.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factlab.cli import app
from factlab.config import ConfigError, load_config
from factlab.review import REVIEW_FOLDER
from factlab.schemas.outputs import AUDIT_FILE, CERTIFICATE
from factlab.workspace import RAW_FOLDER, ROWS_FOLDER, STATE_FILE, WORKSPACE_FOLDER

EDITION = "2026"
ANALYST = "Ann Analist"


def _factlab(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, " ".join(result.output.split())


def _common(gemeente: Path, out: Path) -> list[str]:
    return ["--uploads", str(gemeente / "uploads"), "--out", str(out)]


def _state(out: Path) -> dict:
    return json.loads((out / WORKSPACE_FOLDER / EDITION / STATE_FILE).read_text())


def _raw_files(out: Path) -> list[Path]:
    workspace = out / WORKSPACE_FOLDER / EDITION
    return [p for folder in (RAW_FOLDER, ROWS_FOLDER) for p in (workspace / folder).rglob("*")]


def _with_reviewers(gemeente: Path, section: str) -> None:
    config = gemeente / "factlab.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n" + section, encoding="utf-8")


@pytest.fixture(scope="module")
def closed(synth_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gemeente whose edition ``factlab run`` closed: ter controle. Copy before changing it."""
    root = tmp_path_factory.mktemp("closed")
    shutil.copytree(synth_source, root / "gemeente")
    code, output = _factlab(
        "run", *_common(root / "gemeente", root / "uit"), "--edition", EDITION, "--door", ANALYST
    )
    assert code == 0, output
    assert "staat ter controle" in output and "nog niets is gepubliceerd" in output
    assert f"factlab vrijgeven --out {root / 'uit'} --editie {EDITION}" in output
    return root


@pytest.fixture
def edition(closed: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(gemeente, out) of a fresh copy of the closed edition."""
    shutil.copytree(closed, tmp_path, dirs_exist_ok=True)
    state = tmp_path / "uit" / WORKSPACE_FOLDER / EDITION / STATE_FILE
    data = json.loads(state.read_text())
    data["configuratie"] = str(tmp_path / "gemeente" / "factlab.toml")
    state.write_text(json.dumps(data))
    return tmp_path / "gemeente", tmp_path / "uit"


def test_closing_leaves_the_edition_ter_controle_and_nothing_published(edition) -> None:
    gemeente, out = edition
    review = out / REVIEW_FOLDER / EDITION
    assert not (out / EDITION).exists()
    for name in ("rapport.html", "tabellen.xlsx", AUDIT_FILE, CERTIFICATE, "huishoudens.parquet"):
        assert (review / name).is_file(), name
    assert (out / REVIEW_FOLDER).stat().st_mode & 0o777 == 0o700
    assert _state(out)["status"] == "ter_controle"
    assert _raw_files(out)  # kept: a rejection sends the edition back to open
    code, output = _factlab("status", *_common(gemeente, out))
    assert code == 0, output
    assert f"Editie {EDITION}: ter_controle" in output
    assert f"gesloten door {ANALYST}" in output and "nog 1 vrijgave(n) nodig" in output


#: What a reviewer's command must not load: the pipeline's libraries and stages (a second of
#: imports; the command reads, writes and moves a few files).
PIPELINE_MODULES = (
    "polars", "duckdb", "numpy", "pandas", "plotly", "great_expectations", "pandera",
    "factlab.arrival", "factlab.closing", "factlab.publish",
)  # fmt: skip


def test_a_release_loads_none_of_the_pipeline(edition) -> None:
    """``factlab vrijgeven`` as a reviewer runs it, in a process of its own: it publishes the
    edition, and ``-X importtime`` (every module the process imported) shows none of the
    pipeline's modules."""
    _, out = edition
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "factlab", "vrijgeven", "--out", str(out),
         "--editie", EDITION, "--door", "Bea Beoordelaar"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (out / EDITION / AUDIT_FILE).is_file()
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "factlab.review" in imported and "typer" in imported  # the list is complete
    loaded = sorted(
        m for m in imported if m.split(".")[0] in PIPELINE_MODULES or m in PIPELINE_MODULES
    )
    assert loaded == []


def test_an_edition_is_never_published_without_a_release(edition) -> None:
    gemeente, out = edition
    common = _common(gemeente, out)
    # Closing again, running again, checking: the edition stays ter controle.
    for args in (["close", *common, "--edition", EDITION], ["run", *common, "--edition", EDITION],
                 ["check", *common, "--edition", EDITION]):  # fmt: skip
        code, output = _factlab(*args)
        assert code == 0, output
        assert not (out / EDITION).exists(), args
    code, output = _factlab("close", *common, "--edition", EDITION)
    assert "stond al ter controle" in output
    # The analyst who closed may not release it (names compared without case or extra spaces).
    code, output = _factlab("vrijgeven", "--out", str(out), "--door", " ann  ANALIST ")
    assert code == 2 and "zelf gesloten" in output
    code, output = _factlab("vrijgeven", "--out", str(out), "--door", "  ")
    assert code == 2 and "naam van de beoordelaar" in output
    assert not (out / EDITION).exists()
    assert _state(out)["beoordelingen"] == []

    code, output = _factlab("vrijgeven", "--out", str(out), "--door", "Bea Beoordelaar")
    assert code == 0, output
    assert f"Editie {EDITION} is vrijgegeven door Bea Beoordelaar" in output
    published = out / EDITION
    assert (published / "rapport.html").is_file()
    assert not (out / REVIEW_FOLDER / EDITION).exists()
    assert _state(out)["status"] == "gepubliceerd"
    assert _raw_files(out) == []  # raw deliveries go only now
    for name in (AUDIT_FILE, CERTIFICATE):
        record = json.loads((published / name).read_text())["vrijgave"]
        assert record["gesloten_door"] == ANALYST and record["vereist"] == 1
        assert [r["naam"] for r in record["vrijgegeven_door"]] == ["Bea Beoordelaar"]
    for table in (published / "tabellen").rglob("*.csv"):
        assert "Beoordelaar" not in table.read_text(encoding="utf-8"), table
    # Releasing again changes nothing; rejecting is too late.
    code, output = _factlab("vrijgeven", "--out", str(out), "--editie", EDITION, "--door", "Bea")
    assert code == 0 and "was al vrijgegeven" in output
    code, output = _factlab(
        "afwijzen", "--out", str(out), "--editie", EDITION, "--door", "Bea", "--reden", "x"
    )
    assert code == 2 and "al gepubliceerd" in output


def test_a_rejection_returns_the_edition_to_the_analyst_with_the_reason(
    edition, synth_source: Path
) -> None:
    gemeente, out = edition
    common = _common(gemeente, out)
    code, output = _factlab("afwijzen", "--out", str(out), "--door", "Bea", "--reden", " ")
    assert code == 2 and "reden" in output
    code, output = _factlab(
        "afwijzen", "--out", str(out), "--door", "Bea", "--reden", "wijk 3 lijkt dubbel geteld"
    )
    assert code == 0, output
    assert "afgewezen" in output and "weer open" in output
    assert not (out / REVIEW_FOLDER / EDITION).exists() and not (out / EDITION).exists()
    state = _state(out)
    assert state["status"] == "open"
    assert state["beoordelingen"][-1] | {"tijd": None, "account": None} == {
        "beoordelaar": "Bea", "besluit": "afgewezen", "tijd": None, "ronde": 1,
        "reden": "wijk 3 lijkt dubbel geteld", "account": None,
    }  # fmt: skip
    assert _raw_files(out)  # deliveries kept
    code, output = _factlab("status", *common)
    assert "Afgewezen door Bea" in output and "wijk 3 lijkt dubbel geteld" in output
    code, output = _factlab("vrijgeven", "--out", str(out), "--editie", EDITION, "--door", "Cas")
    assert code == 2 and "is afgewezen door Bea" in output and "factlab close" in output

    # The open edition takes a partner's corrected delivery, closes again, and is released.
    source = next(p for p in sorted((synth_source / "uploads").rglob("*.csv")))
    corrected = gemeente / "uploads" / source.parent.name / source.name
    lines = source.read_bytes().splitlines(keepends=True)
    corrected.write_bytes(b"".join(lines[:-1]))  # one row fewer: the same name supersedes
    code, output = _factlab("check", *common)
    assert code == 0 and "1 verwerkt" in output and "vervangt" in output, output
    code, output = _factlab("close", *common, "--door", ANALYST)
    assert code == 0 and "staat ter controle" in output
    assert _state(out)["ronde"] == 2
    code, output = _factlab("vrijgeven", "--out", str(out), "--door", "Bea")
    assert code == 0, output
    record = json.loads((out / EDITION / AUDIT_FILE).read_text())["vrijgave"]
    assert record["eerder_afgewezen"] == 1


def test_two_named_reviewers_must_both_release(synth_source: Path, tmp_path: Path) -> None:
    gemeente, out = tmp_path / "gemeente", tmp_path / "uit"
    shutil.copytree(synth_source, gemeente)
    _with_reviewers(
        gemeente, '[vrijgave]\nbeoordelaars = ["Bea Beoordelaar", "Cas Controle"]\naantal = 2\n'
    )
    code, output = _factlab("run", *_common(gemeente, out), "--edition", EDITION, "--door", ANALYST)
    assert code == 0, output
    assert "nog 2" in output or "als 2 beoordelaar(s)" in output
    code, output = _factlab("vrijgeven", "--out", str(out), "--door", "Dirk")
    assert code == 2 and "staat niet in [vrijgave] beoordelaars" in output
    code, output = _factlab("vrijgeven", "--out", str(out), "--door", "bea beoordelaar")
    assert code == 0 and "nog 1 vrijgave(n)" in output
    assert not (out / EDITION).exists()
    code, output = _factlab("vrijgeven", "--out", str(out), "--door", "Bea Beoordelaar")
    assert code == 2 and "al vrijgegeven" in output
    code, output = _factlab("status", *_common(gemeente, out))
    assert "Vrijgegeven door: bea beoordelaar; nog 1 vrijgave(n) nodig" in output
    code, output = _factlab("vrijgeven", "--out", str(out), "--door", "Cas Controle")
    assert code == 0, output
    record = json.loads((out / EDITION / CERTIFICATE).read_text())["vrijgave"]
    assert [r["naam"] for r in record["vrijgegeven_door"]] == ["bea beoordelaar", "Cas Controle"]
    assert record["vereist"] == 2


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('beoordelaars = ["Bea"]\naantal = 2\n', "aantal = 2"),
        ('beoordelaars = ["Bea", " bea "]\n', "twee keer"),
        ('beoordelaars = [" "]\n', "lege naam"),
        ("aantal = 0\n", "minstens 1"),
        ('aantal = "twee"\n', "geheel getal"),
    ],
)
def test_the_release_rules_are_checked(
    synth_source: Path, tmp_path: Path, section: str, message: str
) -> None:
    shutil.copy(synth_source / "factlab.toml", tmp_path / "factlab.toml")
    for path in synth_source.iterdir():
        if path.is_dir():
            (tmp_path / path.name).symlink_to(path)
    _with_reviewers(tmp_path, "[vrijgave]\n" + section)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_config(tmp_path / "factlab.toml")


def test_release_defaults_to_one_reviewer_who_is_not_the_analyst(synth_source: Path) -> None:
    release = load_config(synth_source / "factlab.toml").release
    assert release.required == 1 and release.reviewers == ()
