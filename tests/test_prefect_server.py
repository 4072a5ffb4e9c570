"""Factlab on a real Prefect server, as an analyst sets it up following the README.

One test starts ``prefect server start`` on a free loopback port, creates the work pool,
deploys ``prefect.yaml`` as it is, starts a worker and ``factlab watch``, and shows: the
schedule creates scheduled runs; a file dropped into a partner folder gets its receipt through
a triggered check run; an on-demand close leaves the edition ter controle, publishing nothing; a
second close started at the same time waits for the first (concurrency limit 1) and changes
nothing. The close starts a release run that pauses for the reviewer's input: input the form
does not allow is refused by the server, the analyst's own release is refused and the run pauses
again, a rejection returns the edition to open; closed again, the reviewer's release (input
given to the paused run through the Prefect client, as the UI's form does) publishes it. Every
process it started is stopped, whatever happens.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from factlab.arrival import RECEIPT_SUFFIX
from factlab.intake import FEEDBACK_FOLDER
from factlab.review import REVIEW_FOLDER
from factlab.schemas.outputs import CERTIFICATE
from factlab.workspace import STATE_FILE, WORKSPACE_FOLDER

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LIMIT = 240  # seconds any one step may take on a busy two-core machine
ANALYST = "Ann Analist"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(what: str, condition: Callable[[], Any], limit: float = LIMIT) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for: {what}")


class Processes:
    """Background processes in their own sessions, all stopped at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, *command: str, env: dict[str, str]) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.started.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.started):
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _run(*command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=LIMIT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def setup(synth_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("prefect-server")
    gemeente = root / "gemeente"
    shutil.copytree(synth_source, gemeente)
    pile = root / "stapel"
    shutil.move(gemeente / "uploads", pile)
    (gemeente / "uploads").mkdir()
    url = f"http://127.0.0.1:{_free_port()}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    (root / "tmp").mkdir()
    env |= {
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        # The worker's runner makes a folder of its own in the temporary folder and leaves it.
        "TMPDIR": str(root / "tmp"),
        "PREFECT_HOME": str(root / "prefect-home"),
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        # A close that waits for the concurrency slot asks again after this (default 30 s).
        "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "1",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "1",
        # A paused release run sees the reviewer's answer within a second (default 5 s).
        "FACTLAB_REVIEW_POLL_SECONDS": "1",
        "FACTLAB_REPO": str(ROOT),
        "FACTLAB_UPLOADS": str(gemeente / "uploads"),
        "FACTLAB_OUT": str(root / "uit"),
        "FACTLAB_CONFIG": str(gemeente / "factlab.toml"),
    }
    processes = Processes(root)
    try:
        port = url.rsplit(":", 1)[1].split("/")[0]
        processes.start(
            "server", str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", port,
            env=env,
        )  # fmt: skip
        _wait("the Prefect server", lambda: _healthy(url))
        _run(str(BIN / "prefect"), "work-pool", "create", "factlab", "--type", "process", env=env)
        # Without the environment the deploy is refused and nothing is stored.
        refused = subprocess.run(
            [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
            env={k: v for k, v in env.items() if k != "FACTLAB_REPO"},
            cwd=ROOT, capture_output=True, text=True, timeout=LIMIT, check=False,
        )  # fmt: skip
        _run(str(BIN / "prefect"), "--no-prompt", "deploy", "--all", env=env)
        processes.start(
            "worker", str(BIN / "prefect"), "worker", "start", "--pool", "factlab", env=env
        )
        processes.start(
            "watcher", str(BIN / "factlab"), "watch", "--uploads", str(gemeente / "uploads"),
            "--interval", "1", "--wachttijd", "1", env=env,
        )  # fmt: skip
        yield {"env": env, "url": url, "gemeente": gemeente, "pile": pile, "root": root,
               "refused": refused}  # fmt: skip
    finally:
        processes.stop()


def _client_call(url: str, call: Callable[[Any], Any]) -> Any:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def go() -> Any:
        async with get_client() as client:
            return await call(client)

    with temporary_settings(updates={PREFECT_API_URL: url}):
        return asyncio.run(go())


def _runs(url: str, deployment: str) -> list:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    async def read(client):
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment]))
        )

    return _client_call(url, read)


def test_factlab_runs_on_a_real_prefect_server(setup) -> None:
    url, gemeente, pile = setup["url"], setup["gemeente"], setup["pile"]
    assert setup["refused"].returncode != 0
    assert "FACTLAB_REPO is niet gezet" in setup["refused"].stdout + setup["refused"].stderr

    # The schedule creates scheduled runs (this is what SQLAlchemy 2.1 broke).
    scheduled = _wait(
        "scheduled close runs",
        lambda: [r for r in _runs(url, "sluiten-op-schema") if r.state_type.value == "SCHEDULED"],
    )
    assert scheduled

    # Open the edition, then a partner drops a file: the watcher's event triggers a check run.
    env = setup["env"]
    _run(str(BIN / "factlab"), "open", "--uploads", env["FACTLAB_UPLOADS"], "--out",
         env["FACTLAB_OUT"], "--edition", "2026", "--config", env["FACTLAB_CONFIG"], env=env)  # fmt: skip
    organisation = sorted(p.name for p in pile.iterdir())[0]
    extract = sorted((pile / organisation).iterdir())[0]
    target = gemeente / "uploads" / organisation / extract.name
    target.parent.mkdir()
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(extract.read_bytes())
    partial.rename(target)  # as an upload tool finishes a file
    receipt = target.parent / FEEDBACK_FOLDER / f"{target.name}{RECEIPT_SUFFIX}"
    _wait("the partner's receipt from a triggered check", receipt.exists)
    assert not target.exists()
    # The receipt is written inside the run, so the run may still be finishing when it appears.
    checks = _wait(
        "the triggered check run to finish",
        lambda: _finished(url, *(r.id for r in _runs(url, "controle-bij-aankomst"))),
    )
    assert [r.state_type.value for r in checks] == ["COMPLETED"] * len(checks)

    # Two on-demand closes at once: one closes, the other waits for it and changes nothing.
    close_parameters = {"onvolledig": "test: één partner", "door": ANALYST}

    async def start_two(client):
        deployment = await client.read_deployment_by_name("factlab-sluiten/sluiten-op-verzoek")
        return [
            await client.create_flow_run_from_deployment(deployment.id, parameters=close_parameters)
            for _ in range(2)
        ]

    first, second = _client_call(url, start_two)
    done = _wait("both closes", lambda: _finished(url, first.id, second.id), limit=2 * LIMIT)
    assert [r.state_type.value for r in done] == ["COMPLETED", "COMPLETED"], [
        r.state.message for r in done
    ]
    one, other = sorted(done, key=lambda r: r.start_time)
    assert other.start_time >= one.end_time  # never at the same time
    out = Path(env["FACTLAB_OUT"])
    edition = out / "2026"
    assert not edition.exists()  # closed: ter controle, nothing published
    assert (out / REVIEW_FOLDER / "2026" / "rapport.html").is_file()
    assert _edition_state(out)["status"] == "ter_controle"

    # The close started one release run; it waits, paused, for the reviewer's input.
    release = _paused_release(url)
    assert len(_runs(url, "vrijgeven")) == 1  # the second close closed nothing: no second run
    # Input the form does not allow is refused by the server: the run stays paused.
    refused = _resume(url, release.id, {"beoordelaar": "Bea", "besluit": "misschien"})
    assert refused.status.value == "REJECT"
    # The analyst may not release the edition: the run pauses again, nothing is published.
    assert (
        _resume(url, release.id, {"beoordelaar": ANALYST, "besluit": "vrijgeven"}).status.value
        == "ACCEPT"
    )
    _paused_release(url, after=release.state.state_details.pause_key)
    assert not edition.exists() and _edition_state(out)["beoordelingen"] == []
    # A rejection returns the edition to the analyst, with the reason; the run completes.
    rejection = {"beoordelaar": "Bea", "besluit": "afwijzen", "reden": "wijk 3 nakijken"}
    assert _resume(url, release.id, rejection).status.value == "ACCEPT"
    (rejected,) = _wait("the rejection", lambda: _finished(url, release.id))
    assert rejected.state_type.value == "COMPLETED", rejected.state.message
    state = _edition_state(out)
    assert state["status"] == "open" and state["beoordelingen"][-1]["reden"] == "wijk 3 nakijken"
    assert not edition.exists() and not (out / REVIEW_FOLDER / "2026").exists()

    # Closed again; the new release run gets the reviewer's release: now it is published.
    async def close_again(client):
        deployment = await client.read_deployment_by_name("factlab-sluiten/sluiten-op-verzoek")
        return await client.create_flow_run_from_deployment(
            deployment.id, parameters=close_parameters
        )

    again = _client_call(url, close_again)
    (closed,) = _wait("the second close", lambda: _finished(url, again.id), limit=2 * LIMIT)
    assert closed.state_type.value == "COMPLETED", closed.state.message
    assert not edition.exists()
    second_release = _paused_release(url, exclude=release.id)
    release_input = {"beoordelaar": "Bea Beoordelaar", "besluit": "vrijgeven"}
    assert _resume(url, second_release.id, release_input).status.value == "ACCEPT"
    (released,) = _wait("the release", lambda: _finished(url, second_release.id))
    assert released.state_type.value == "COMPLETED", released.state.message
    assert (edition / "rapport.html").is_file() and (edition / "audit.json").is_file()
    record = json.loads((edition / CERTIFICATE).read_text())["vrijgave"]
    assert [r["naam"] for r in record["vrijgegeven_door"]] == ["Bea Beoordelaar"]
    assert record["gesloten_door"] == ANALYST and record["eerder_afgewezen"] == 1
    assert _edition_state(out)["status"] == "gepubliceerd"


def _edition_state(out: Path) -> dict:
    return json.loads((out / WORKSPACE_FOLDER / "2026" / STATE_FILE).read_text())


def _finished(url: str, *ids) -> list | None:
    async def read(client):
        return [await client.read_flow_run(run_id) for run_id in ids]

    runs = _client_call(url, read)
    done = all(r.state_type.value in ("COMPLETED", "FAILED", "CRASHED") for r in runs)
    return runs if done else None


def _paused_release(url: str, *, after: str | None = None, exclude=None) -> Any:
    """The release run once it is paused for input (after a pause with key ``after``)."""

    def paused():
        for run in _runs(url, "vrijgeven"):
            if run.id == exclude or run.state_type.value != "PAUSED":
                continue
            keyset = run.state.state_details.run_input_keyset
            if keyset is None or not _form_saved(url, run.id, keyset["schema"]):
                continue  # paused, but the form is not saved yet
            if after is None or run.state.state_details.pause_key != after:
                return run
        return None

    return _wait("a release run paused for the reviewer's input", paused)


def _form_saved(url: str, run_id, key: str) -> bool:
    from prefect.exceptions import ObjectNotFound

    async def read(client):
        try:
            return await client.read_flow_run_input(run_id, key)
        except ObjectNotFound:
            return None

    return bool(_client_call(url, read))


def _resume(url: str, run_id, run_input: dict) -> Any:
    async def resume(client):
        return await client.resume_flow_run(run_id, run_input=run_input)

    return _client_call(url, resume)
