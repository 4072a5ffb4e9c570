"""Reading ahead: a large check reads its uploads in reader processes, and ends exactly as a
check in one process would (ids, receipts, feedback, checked rows), also when its readers die
and when the check is killed and run again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from factlab import arrival, readers, row_parts
from factlab.checkpoints import KILL_ENVIRONMENT
from factlab.config import load_config
from factlab.edition import RunSettings, check_edition
from factlab.errors import ReferenceFileError
from factlab.intake import FEEDBACK_FOLDER, Upload
from factlab.workspace import STATE_FILE, WORKSPACE_FOLDER, Workspace
from tests import hostile
from tests.processes import ended

EDITION = "2026"


def _with_odd_uploads(gemeente: Path) -> Path:
    """The gemeente's uploads plus a copy under another name (a duplicate, whose read is not
    taken), a workbook, and random bytes (quarantined)."""
    uploads = gemeente / "uploads"
    partner = min(p for p in uploads.iterdir() if p.is_dir())
    first = min(f for f in partner.iterdir() if f.is_file())
    shutil.copy(first, partner / f"kopie-{first.name}")
    table = [list[object](row) for row in [hostile.HEADER, *hostile.rows(30)]]
    (partner / "werkboek.xlsx").write_bytes(hostile.xlsx(table))
    (partner / "rommel.csv").write_bytes(os.urandom(4096))
    return uploads


def _settings(gemeente: Path, out: Path) -> RunSettings:
    config = load_config(gemeente / "factlab.toml")
    return RunSettings(gemeente / "uploads", out, EDITION, config, config.period)


def _outcome(gemeente: Path, out: Path) -> dict[str, object]:
    """Everything a check leaves: receipts (without their time), feedback, checked rows."""
    state = Workspace(out, EDITION).load()
    rows = {}
    for delivery in state.deliveries:
        if delivery.rows:
            parts = row_parts.parts(out / WORKSPACE_FOLDER / EDITION / delivery.rows)
            rows[delivery.id] = pl.concat([row_parts.scan(p) for p in parts]).collect().to_dicts()
    feedback = {}
    for path in sorted((gemeente / "uploads").rglob(f"{FEEDBACK_FOLDER}/*")):
        text = path.read_text(encoding="utf-8")
        if path.name.endswith(arrival.RECEIPT_SUFFIX):
            receipt = json.loads(text)
            receipt.pop("ontvangen")
            text = json.dumps(receipt)
        feedback[path.relative_to(gemeente).as_posix()] = text
    return {
        "receipts": [d.receipt.as_json(received=False) for d in state.deliveries],
        "deliveries": [(d.id, d.organisation, d.name, d.consumed) for d in state.deliveries],
        "rows": rows,
        "feedback": feedback,
    }


def _not_private(out: Path) -> list[str]:
    """What in the edition's workspace others than the service account could read: every
    folder must be 0700 and every file 0600, whatever the umask (they hold addresses)."""
    found = []
    for path in [out / WORKSPACE_FOLDER, *(out / WORKSPACE_FOLDER).rglob("*")]:
        wanted = 0o700 if path.is_dir() else 0o600
        if path.stat().st_mode & 0o777 != wanted:
            found.append(f"{path.relative_to(out)}: {path.stat().st_mode & 0o777:o}")
    return found


def _read_ahead(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make every check read ahead (two readers) and count the reads it takes from them."""
    monkeypatch.setattr(arrival, "LARGE_CHECK_BYTES", 0)
    monkeypatch.setattr(readers, "usable_cores", lambda: 2)
    taken: list[int] = []
    original = arrival._ReadAhead.take

    def counted(self: arrival._ReadAhead, upload: object, rows_dir: Path) -> object:
        read = original(self, upload, rows_dir)  # type: ignore[arg-type]
        taken.append(read is not None)
        return read

    monkeypatch.setattr(arrival._ReadAhead, "take", counted)
    return taken


@pytest.fixture
def serial(synth_source: Path, tmp_path: Path) -> dict[str, object]:
    """What a check in one process leaves on the odd uploads."""
    gemeente = tmp_path / "serieel"
    shutil.copytree(synth_source, gemeente)
    _with_odd_uploads(gemeente)
    spared: list[int] = []
    check_edition(
        _settings(gemeente, tmp_path / "serieel-uit"), spare_core=lambda: spared.append(1)
    )
    assert spared == [1], "a check in one process leaves a core for the quality helper"
    assert _not_private(tmp_path / "serieel-uit") == []
    return _outcome(gemeente, tmp_path / "serieel-uit")


def test_reading_ahead_ends_as_a_check_in_one_process(
    gemeente: Path, tmp_path: Path, serial: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _read_ahead(monkeypatch)
    _with_odd_uploads(gemeente)
    out = tmp_path / "uit"
    spared: list[int] = []
    check_edition(_settings(gemeente, out), spare_core=lambda: spared.append(1))
    assert spared == [], "the readers use every core: none is spared for the quality helper"
    assert sum(taken) >= 3, "the check read everything itself"
    assert _outcome(gemeente, out) == serial
    assert _not_private(out) == []
    assert not (out / WORKSPACE_FOLDER / EDITION / arrival.READ_AHEAD_FOLDER).exists()
    receipts = serial["receipts"]
    assert isinstance(receipts, list)
    statuses = [r["status"] for r in receipts]
    assert statuses.count("dubbele_aanlevering") == 1 and statuses.count("quarantaine") == 1
    assert statuses.count("verwerkt") == len(statuses) - 2


def test_when_the_readers_die_the_check_reads_itself_and_ends_the_same(
    gemeente: Path, tmp_path: Path, serial: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _read_ahead(monkeypatch)
    started: list[arrival._ReadAhead] = []
    original = arrival._ReadAhead.__init__

    def started_then_killed(self: arrival._ReadAhead, *args: object) -> None:
        original(self, *args)  # type: ignore[arg-type]
        started.append(self)
        # At once, while they are still starting: a later moment races with the readers,
        # which may have read everything by then on a fast machine.
        for reader in self._readers:
            reader.kill()

    monkeypatch.setattr(arrival._ReadAhead, "__init__", started_then_killed)
    _with_odd_uploads(gemeente)
    out = tmp_path / "uit"
    check_edition(_settings(gemeente, out))
    assert started and not any(reader.alive for reader in started[0]._readers)
    assert taken and not any(taken), "a dead reader's read was taken"
    assert _outcome(gemeente, out) == serial


CRASHED = "het proces dat het las stopte onverwacht, ook bij een tweede poging"


def _crashing(outcome: dict[str, object], serial: dict[str, object], name: str) -> dict:
    """The receipt of the upload ``name``, after checking that every other upload ended as in
    a check in one process that was not asked to crash."""
    receipts, expected = outcome["receipts"], serial["receipts"]
    assert isinstance(receipts, list) and isinstance(expected, list)
    assert len(receipts) == len(expected)
    (crashed,) = [r for r in receipts if r["bestand"] == name]
    others = [r for r in receipts if r["bestand"] != name]
    assert others == [r for r in expected if r["bestand"] != name]
    return crashed


def test_a_file_that_crashes_its_reader_is_quarantined_and_the_others_are_checked(
    gemeente: Path, tmp_path: Path, serial: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its reader dies, and so does the process that reads it once more: the file is
    quarantined with a receipt, and the check itself goes on."""
    taken = _read_ahead(monkeypatch)
    _with_odd_uploads(gemeente)
    monkeypatch.setenv(arrival.CRASH_ENVIRONMENT, "werkboek.xlsx")
    out = tmp_path / "uit"
    check_edition(_settings(gemeente, out))
    crashed = _crashing(_outcome(gemeente, out), serial, "werkboek.xlsx")
    assert crashed["status"] == "quarantaine" and CRASHED in crashed["reden"]
    assert sum(taken) >= 3, "the other uploads were read ahead"
    feedback = gemeente / "uploads" / crashed["organisatie"] / FEEDBACK_FOLDER
    (page,) = feedback.glob("werkboek*.terugkoppeling.md")
    assert CRASHED in page.read_text(encoding="utf-8")
    assert not (out / WORKSPACE_FOLDER / EDITION / arrival.READ_AHEAD_FOLDER).exists()


_CRASH_SCRIPT = """
import sys
from pathlib import Path
from factlab.config import load_config
from factlab.edition import RunSettings, check_edition

gemeente, out = Path(sys.argv[1]), Path(sys.argv[2])
config = load_config(gemeente / "factlab.toml")
check_edition(RunSettings(gemeente / "uploads", out, "2026", config, config.period))
"""


def test_a_file_that_crashes_a_check_in_one_process_is_quarantined_by_the_rerun(
    gemeente: Path, tmp_path: Path, serial: dict[str, object]
) -> None:
    """A small check reads in its own process, so the crash ends it once; the rerun reads that
    file in a process of its own, which ends too, and quarantines it."""
    _with_odd_uploads(gemeente)
    out = tmp_path / "uit"
    command = [sys.executable, "-c", _CRASH_SCRIPT, str(gemeente), str(out)]
    env = {**os.environ, arrival.CRASH_ENVIRONMENT: "werkboek.xlsx"}
    crashed_run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert crashed_run.returncode == -signal.SIGKILL, crashed_run.stderr
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    crashed = _crashing(_outcome(gemeente, out), serial, "werkboek.xlsx")
    assert crashed["status"] == "quarantaine" and CRASHED in crashed["reden"]


def test_a_panic_in_a_library_quarantines_the_file_and_the_check_goes_on(
    gemeente: Path, tmp_path: Path, serial: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """polars reports a panic in its Rust code as a BaseException, not an Exception."""
    original = arrival.open_delivery
    workbook = next(_with_odd_uploads(gemeente).rglob("werkboek.xlsx")).read_bytes()

    def panics(upload: Upload, *args: object) -> object:
        if upload.path.read_bytes() == workbook:  # its stored copy
            raise pl.exceptions.PanicException("index out of bounds")
        return original(upload, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(arrival, "open_delivery", panics)
    out = tmp_path / "uit"
    check_edition(_settings(gemeente, out))
    crashed = _crashing(_outcome(gemeente, out), serial, "werkboek.xlsx")
    assert crashed["status"] == "quarantaine"
    assert "onverwachte fout" in crashed["reden"] and "index" not in crashed["reden"]


def test_a_check_takes_the_readers_started_before_it(
    gemeente: Path, tmp_path: Path, serial: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``factlab run`` starts a large check's readers first thing; the check reads with those."""
    taken = _read_ahead(monkeypatch)
    readers.prestart()
    waiting = sorted(reader.pid for reader in readers._pool(1).waiting)
    assert len(waiting) == 2
    used: list[int] = []
    original = readers.take

    def take(count: int, threads: int) -> list[arrival.HelperProcess]:
        got = original(count, threads)
        used.extend(reader.pid for reader in got)
        return got

    monkeypatch.setattr(readers, "take", take)
    _with_odd_uploads(gemeente)
    out = tmp_path / "uit"
    check_edition(_settings(gemeente, out))
    assert sorted(used) == waiting and readers._pool(1).waiting == ()
    assert sum(taken) >= 3, "they read ahead"
    assert _outcome(gemeente, out) == serial
    deadline = time.monotonic() + 5
    while not all(map(ended, waiting)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(map(ended, waiting)), "a reader outlived its check"


def test_when_no_reader_process_can_be_started_the_check_reads_itself(
    gemeente: Path, tmp_path: Path, serial: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _read_ahead(monkeypatch)
    started: list[int] = []
    original = arrival.HelperProcess.__init__

    def second_fails(self: arrival.HelperProcess, *args: object, **kwargs: object) -> None:
        if started:
            raise OSError("Resource temporarily unavailable")  # as fork under a process limit
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        started.append(self.pid)

    monkeypatch.setattr(arrival.HelperProcess, "__init__", second_fails)
    _with_odd_uploads(gemeente)
    out = tmp_path / "uit"
    check_edition(_settings(gemeente, out))
    assert started and not taken, "it read ahead with what it had"
    assert _outcome(gemeente, out) == serial
    deadline = time.monotonic() + 5
    while not ended(started[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ended(started[0]), "the reader that did start was left running"


_SCRIPT = """
import sys
from pathlib import Path
from factlab import arrival, readers, row_parts
from factlab.config import load_config
from factlab.edition import RunSettings, check_edition
from factlab.errors import ReferenceFileError

arrival.LARGE_CHECK_BYTES = 0
readers.usable_cores = lambda: 2
started = arrival.HelperProcess.__init__
def announce(self, *args, **kwargs):
    started(self, *args, **kwargs)
    print(self.pid, flush=True)
arrival.HelperProcess.__init__ = announce
gemeente, out = Path(sys.argv[1]), Path(sys.argv[2])
config = load_config(gemeente / "factlab.toml")
check_edition(RunSettings(gemeente / "uploads", out, "2026", config, config.period))
"""


@pytest.mark.parametrize("point", ["gelezen", "aangenomen"])
def test_a_killed_check_that_read_ahead_leaves_no_reader_and_reruns_to_the_same_end(
    gemeente: Path, tmp_path: Path, serial: dict[str, object], point: str
) -> None:
    _with_odd_uploads(gemeente)
    out = tmp_path / "uit"
    command = [sys.executable, "-c", _SCRIPT, str(gemeente), str(out)]
    env = {**os.environ, KILL_ENVIRONMENT: point}
    killed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    readers = [int(line) for line in killed.stdout.split()]
    assert len(readers) == 2
    deadline = time.monotonic() + 5
    while not all(map(ended, readers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(map(ended, readers)), "a reader outlived the killed check"
    assert (out / WORKSPACE_FOLDER / EDITION / STATE_FILE).is_file()
    env.pop(KILL_ENVIRONMENT)
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert _outcome(gemeente, out) == serial
    assert not (out / WORKSPACE_FOLDER / EDITION / arrival.READ_AHEAD_FOLDER).exists()


@pytest.mark.parametrize("ahead", [False, True], ids=["in-een-proces", "vooruit-gelezen"])
def test_a_cbs_table_that_cannot_be_read_stops_the_check_before_any_upload_is_taken(
    gemeente: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ahead: bool
) -> None:
    """The gemeente's reference data, not the partners' files: nothing quarantined."""
    if ahead:
        _read_ahead(monkeypatch)
    settings = _settings(gemeente, tmp_path / "uit")
    settings.config.address_table.write_text("dit;is;geen;cbs\n1;2;3;4\n", encoding="utf-8")
    uploads = sorted(p for p in (gemeente / "uploads").rglob("*") if p.is_file())
    with pytest.raises(ReferenceFileError, match="geen CBS-tabel"):
        check_edition(settings)
    assert sorted(p for p in (gemeente / "uploads").rglob("*") if p.is_file()) == uploads
    assert not Workspace(tmp_path / "uit", EDITION).load().deliveries


def test_readers_are_counted_by_the_cores_this_process_may_use() -> None:
    """A container or ``taskset`` limiting the check to one core gets no reader processes."""
    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        assert readers.usable_cores() == 1
        assert readers.plan(10) == (1, 1)
    finally:
        os.sched_setaffinity(0, allowed)
    assert readers.usable_cores() == len(allowed)
