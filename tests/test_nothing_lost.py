"""Nothing lost: a run SIGKILLed at any stage, then rerun, ends exactly like an uninterrupted run.

Each test kills a real ``factlab run`` subprocess at one of :data:`factlab.edition.KILL_POINTS`
(``FACTLAB_TEST_KILL_AT`` makes the process SIGKILL itself there: deterministic, and no chance
to clean up), checks that no upload was lost by the kill, reruns, and compares every output
byte for byte with an uninterrupted run (audit.json without its timestamps; the Data Docs in
``kwaliteit/`` carry GE run times: their pages are compared by name only, and the per-run
validation pages, named after the run time, not at all). Every upload must end as
processed-with-receipt or quarantined-with-feedback, and no staging file may survive.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from factlab.edition import AUDIT_FILE, KILL_ENVIRONMENT, KILL_POINTS, QUALITY_FOLDER
from factlab.keys import derive_edition_key
from factlab.staging import STAGING_FOLDER
from tests.leakscan import scan_for_leaks

MASTER = b"nothing-lost-test-master-key-32b!"
EDITION = "2026"
VOLATILE_AUDIT_KEYS = ("gestart", "voltooid")


def _run(gemeente: Path, out: Path, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != KILL_ENVIRONMENT}
    env["FACTLAB_KEY"] = base64.b64encode(MASTER).decode()
    if kill_at:
        env[KILL_ENVIRONMENT] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "factlab.cli", "run", "--uploads", str(gemeente / "uploads"),
         "--out", str(out), "--edition", EDITION, "--config", str(gemeente / "factlab.toml"),
         "--key-mode", "managed"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Relative path -> content; audit.json without timestamps, Data Docs by name only."""
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        content = path.read_bytes()
        if path.name == AUDIT_FILE:
            audit = json.loads(content)
            for key in VOLATILE_AUDIT_KEYS:
                audit.pop(key)
            content = json.dumps(audit, sort_keys=True).encode()
        elif relative.split("/")[1:2] == [QUALITY_FOLDER]:
            if "/validations/" in relative:  # named after the GE run time
                continue
            content = b""
        files[relative] = content
    return files


def _uploads(gemeente: Path) -> dict[str, bytes]:
    return {
        p.relative_to(gemeente / "uploads").as_posix(): p.read_bytes()
        for p in sorted((gemeente / "uploads").rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def baseline(synth_source: Path, tmp_path_factory: pytest.TempPathFactory):
    """An uninterrupted run: its outputs and the upload folder it leaves."""
    root = tmp_path_factory.mktemp("baseline")
    gemeente = root / "gemeente"
    shutil.copytree(synth_source, gemeente)
    uploads_before = _uploads(gemeente)
    done = _run(gemeente, root / "uit")
    assert done.returncode == 0, done.stderr
    return _snapshot(root / "uit"), _uploads(gemeente), uploads_before


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_run_then_rerun_equals_uninterrupted_run(
    point: str, baseline, synth_source: Path, tmp_path: Path
) -> None:
    outputs, uploads_after, uploads_before = baseline
    gemeente = tmp_path / "gemeente"
    shutil.copytree(synth_source, gemeente)
    out = tmp_path / "uit"

    killed = _run(gemeente, out, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
    left = _uploads(gemeente)
    if point != "opruimen":  # before consuming, every upload is still exactly where it was
        assert left == uploads_before
    else:  # consuming started: each upload is still there or has its receipt
        receipts = out / EDITION / "ontvangst"
        for name in uploads_before:
            assert name in left or (receipts / f"{name}.json").exists(), name
    assert "Traceback" not in killed.stderr

    rerun = _run(gemeente, out)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    assert _snapshot(out) == outputs
    assert _uploads(gemeente) == uploads_after
    assert not (out / STAGING_FOLDER).exists()
    truth = pl.read_parquet(gemeente / "waarheid" / "huishoudens.parquet")
    key = derive_edition_key(MASTER, EDITION)
    logs = {"stdout": killed.stdout + rerun.stdout, "stderr": killed.stderr + rerun.stderr}
    assert scan_for_leaks([out], truth=truth, key=key, texts=logs, secrets=[MASTER]) == []


def test_every_upload_ends_processed_or_quarantined(baseline) -> None:
    outputs, uploads_after, uploads_before = baseline
    for name in uploads_before:
        organisation, file_name = name.split("/")
        receipt = json.loads(outputs[f"{EDITION}/ontvangst/{name}.json"])
        if receipt["status"] == "quarantaine":
            moved = f"_quarantaine/{organisation}/{file_name}"
            assert moved in uploads_after
            assert f"{moved}.terugkoppeling.md" in uploads_after
        else:
            assert receipt["status"] in ("verwerkt", "dubbele_aanlevering")
            assert name not in uploads_after
