"""Nothing lost: a run SIGKILLed at any stage, then rerun, ends exactly like an uninterrupted run.

Each test kills a real ``factlab run`` subprocess at one of :data:`factlab.checkpoints.KILL_POINTS`
(``FACTLAB_TEST_KILL_AT`` makes the process SIGKILL itself there: deterministic, and no chance
to clean up), checks that no upload was lost by the kill (each is still in its partner folder
or recorded in the edition's workspace with its raw file), reruns, has a reviewer release the
edition (``factlab vrijgeven``), and compares every output byte for byte with an uninterrupted
run and release (audit.json without its timestamps, receipts without their time of receipt,
release records without the time of release; the Data Docs in ``kwaliteit/`` carry GE run
times: their pages are compared by name only, and the per-run validation pages, named after the
run time, not at all). The release is killed the same way at each of
:data:`factlab.checkpoints.RELEASE_KILL_POINTS` (never a half-published edition; the rerun finishes
it), and a rejection at :data:`factlab.checkpoints.REJECT_KILL_POINTS` (the edition is open again;
closing and releasing again gives the same edition). Every upload must end with a receipt in
its partner's feedback folder, and no staging file or raw delivery may survive.
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

from factlab.arrival import RECEIPT_SUFFIX
from factlab.checkpoints import (
    KILL_ENVIRONMENT,
    KILL_POINTS,
    REJECT_KILL_POINTS,
    RELEASE_KILL_POINTS,
)
from factlab.intake import FEEDBACK_FOLDER
from factlab.keys import derive_edition_key
from factlab.review import REVIEW_FOLDER
from factlab.schemas.audit import RELEASE_KEY
from factlab.schemas.outputs import AUDIT_FILE, CERTIFICATE, QUALITY_FOLDER
from factlab.staging import STAGING_FOLDER
from factlab.workspace import STATE_FILE, WORKSPACE_FOLDER
from tests.leakscan import scan_for_leaks

MASTER = b"nothing-lost-test-master-key-32b!"
EDITION = "2026"
VOLATILE_AUDIT_KEYS = ("gestart", "voltooid")
VOLATILE_RECEIPT_KEYS = ("ontvangen",)
ANALYST, REVIEWER = "Ann Analist", "Bea Beoordelaar"


def _factlab(*args: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != KILL_ENVIRONMENT}
    env["FACTLAB_KEY"] = base64.b64encode(MASTER).decode()
    if kill_at:
        env[KILL_ENVIRONMENT] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "factlab", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _run(gemeente: Path, out: Path, kill_at: str | None = None) -> subprocess.CompletedProcess:
    return _factlab(
        "run", "--uploads", str(gemeente / "uploads"), "--out", str(out), "--edition", EDITION,
        "--config", str(gemeente / "factlab.toml"), "--key-mode", "managed", "--door", ANALYST,
        kill_at=kill_at,
    )  # fmt: skip


def _release(out: Path, kill_at: str | None = None) -> subprocess.CompletedProcess:
    return _factlab("vrijgeven", "--out", str(out), "--editie", EDITION, "--door", REVIEWER,
                    kill_at=kill_at)  # fmt: skip


def _released(out: Path) -> None:
    done = _release(out)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def _without_release_times(data: dict) -> dict:
    """The release record without its times (and earlier rejections, checked on their own)."""
    record = data.get(RELEASE_KEY)
    if record:
        record.pop("eerder_afgewezen")
        for release in record["vrijgegeven_door"]:
            release.pop("tijd")
    return data


def _snapshot(out: Path, gemeente: Path) -> dict[str, bytes]:
    """Relative path -> content of the edition and the partners' feedback folders.

    audit.json and receipts without timestamps, Data Docs by name only.
    """
    files = {}
    paths = [*out.rglob("*"), *(gemeente / "uploads").glob(f"*/{FEEDBACK_FOLDER}/*")]
    for path in sorted(p for p in paths if p.is_file()):
        relative = (
            f"uit/{path.relative_to(out).as_posix()}"
            if path.is_relative_to(out)
            else f"gemeente/{path.relative_to(gemeente / 'uploads').as_posix()}"
        )
        content = path.read_bytes()
        if path.name == AUDIT_FILE:
            audit = _without_release_times(json.loads(content))
            for key in VOLATILE_AUDIT_KEYS:
                audit.pop(key)
            content = json.dumps(audit, sort_keys=True).encode()
        elif path.name == CERTIFICATE:
            content = json.dumps(_without_release_times(json.loads(content))).encode()
        elif path.name.endswith(RECEIPT_SUFFIX):
            receipt = json.loads(content)
            for key in VOLATILE_RECEIPT_KEYS:
                receipt.pop(key)
            content = json.dumps(receipt, sort_keys=True).encode()
        elif path.name == STATE_FILE:
            continue  # the workspace's own record: times of receipt and closing
        elif relative.split("/")[2:3] == [QUALITY_FOLDER]:
            if "/validations/" in relative:  # named after the GE run time
                continue
            content = b""
        files[relative] = content
    return files


def _uploads(gemeente: Path) -> dict[str, bytes]:
    """The partners' files still in the upload folder (their feedback folders apart)."""
    return {
        p.relative_to(gemeente / "uploads").as_posix(): p.read_bytes()
        for p in sorted((gemeente / "uploads").rglob("*"))
        if p.is_file() and FEEDBACK_FOLDER not in p.parts
    }


def _recorded(out: Path) -> dict[tuple[str, str], bytes]:
    """Deliveries the killed run recorded in the workspace, with their raw bytes."""
    workspace = out / WORKSPACE_FOLDER / EDITION
    if not (workspace / STATE_FILE).exists():
        return {}
    state = json.loads((workspace / STATE_FILE).read_text())
    return {
        (d["organisatie"], d["naam"]): (workspace / d["opgeslagen"]).read_bytes()
        for d in state["leveringen"]
        if d["opgeslagen"]
    }


# Session-scoped, not module-scoped: this module's tests are spread over the workers one by one
# (tests/conftest.py, SPREAD), between other modules' tests, and a module-scoped fixture would be
# made again each time a worker came back to this module.
@pytest.fixture(scope="session")
def baseline(synth_source: Path, tmp_path_factory: pytest.TempPathFactory):
    """An uninterrupted run and release: its outputs and the upload folder it leaves."""
    root = tmp_path_factory.mktemp("baseline")
    gemeente = root / "gemeente"
    shutil.copytree(synth_source, gemeente)
    uploads_before = _uploads(gemeente)
    done = _run(gemeente, root / "uit")
    assert done.returncode == 0, done.stderr
    assert not (root / "uit" / EDITION).exists()  # ter controle until released
    _released(root / "uit")
    return _snapshot(root / "uit", gemeente), _uploads(gemeente), uploads_before


@pytest.fixture(scope="session")
def closed(synth_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run, ter controle: copy it before releasing it."""
    root = tmp_path_factory.mktemp("closed")
    shutil.copytree(synth_source, root / "gemeente")
    done = _run(root / "gemeente", root / "uit")
    assert done.returncode == 0, done.stderr
    return root


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
    recorded = _recorded(out)
    published = (out / EDITION / AUDIT_FILE).exists()
    for name, content in uploads_before.items():
        organisation, file_name = name.split("/")
        receipt = (
            gemeente / "uploads" / organisation / FEEDBACK_FOLDER / f"{file_name}{RECEIPT_SUFFIX}"
        )
        # Still in place, or recorded with its raw bytes, or (once published) with its receipt.
        assert (
            left.get(name) == content
            or recorded.get((organisation, file_name)) == content
            or (published and receipt.exists())
        ), (point, name)
    assert "Traceback" not in killed.stderr

    rerun = _run(gemeente, out)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    _released(out)
    assert _snapshot(out, gemeente) == outputs
    assert _uploads(gemeente) == uploads_after
    assert not (out / STAGING_FOLDER).exists()
    assert _recorded(out) == {}  # raw deliveries are gone once the edition is published
    truth = pl.read_parquet(gemeente / "waarheid" / "huishoudens.parquet")
    key = derive_edition_key(MASTER, EDITION)
    logs = {"stdout": killed.stdout + rerun.stdout, "stderr": killed.stderr + rerun.stderr}
    assert scan_for_leaks([out], truth=truth, key=key, texts=logs, secrets=[MASTER]) == []


def test_every_upload_ends_with_a_receipt_in_its_partner_folder(baseline) -> None:
    outputs, uploads_after, uploads_before = baseline
    assert uploads_after == {}
    for name in uploads_before:
        organisation, file_name = name.split("/")
        receipt = json.loads(
            outputs[f"gemeente/{organisation}/{FEEDBACK_FOLDER}/{file_name}{RECEIPT_SUFFIX}"]
        )
        assert receipt["status"] in ("verwerkt", "quarantaine", "dubbele_aanlevering")
        assert (
            json.loads(outputs[f"uit/{EDITION}/ontvangst/{name}.json"])["status"]
            == receipt["status"]
        )


def _published_whole_or_not_at_all(out: Path) -> None:
    """Either nothing is in <out>/<edition>/, or all of it, with the release recorded."""
    published = out / EDITION
    if published.exists():
        assert not (out / REVIEW_FOLDER / EDITION).exists()
        for name in (AUDIT_FILE, CERTIFICATE):
            assert json.loads((published / name).read_text())[RELEASE_KEY]["vrijgegeven_door"]


@pytest.mark.parametrize("point", RELEASE_KILL_POINTS)
def test_killed_release_then_rerun_equals_uninterrupted_release(
    point: str, baseline, closed: Path, tmp_path: Path
) -> None:
    outputs, uploads_after, _ = baseline
    shutil.copytree(closed, tmp_path, dirs_exist_ok=True)
    gemeente, out = tmp_path / "gemeente", tmp_path / "uit"

    killed = _release(out, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
    _published_whole_or_not_at_all(out)
    rerun = _release(out)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in killed.stderr + rerun.stderr
    assert _snapshot(out, gemeente) == outputs
    assert _uploads(gemeente) == uploads_after
    assert _recorded(out) == {}
    released = json.loads((out / EDITION / AUDIT_FILE).read_text())[RELEASE_KEY]
    assert [r["naam"] for r in released["vrijgegeven_door"]] == [REVIEWER]  # recorded once


@pytest.mark.parametrize("point", REJECT_KILL_POINTS)
def test_killed_rejection_leaves_an_open_edition_that_closes_again(
    point: str, baseline, closed: Path, tmp_path: Path
) -> None:
    outputs, uploads_after, _ = baseline
    shutil.copytree(closed, tmp_path, dirs_exist_ok=True)
    gemeente, out = tmp_path / "gemeente", tmp_path / "uit"
    recorded = _recorded(out)
    assert recorded

    killed = _factlab("afwijzen", "--out", str(out), "--door", REVIEWER, "--reden", "nakijken",
                      kill_at=point)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
    assert not (out / EDITION).exists()
    assert _recorded(out) == recorded  # the deliveries wait for the next close
    common = ["--uploads", str(gemeente / "uploads"), "--out", str(out)]
    status = _factlab("status", *common, "--config", str(gemeente / "factlab.toml"))
    assert "Afgewezen door" in status.stderr and "nakijken" in status.stderr
    # The analyst closes again (the stale review folder is redone), the reviewer releases.
    again = _factlab("close", *common, "--config", str(gemeente / "factlab.toml"),
                     "--key-mode", "managed", "--door", ANALYST)  # fmt: skip
    assert again.returncode == 0, again.stderr
    _released(out)
    assert _snapshot(out, gemeente) == outputs
    assert _uploads(gemeente) == uploads_after
    assert _recorded(out) == {}
    audit = json.loads((out / EDITION / AUDIT_FILE).read_text())
    assert audit[RELEASE_KEY]["eerder_afgewezen"] == 1
