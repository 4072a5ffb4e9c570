"""The Prefect flows, run for real against a temporary Prefect server, and the deployments file."""

from __future__ import annotations

import asyncio
import base64
import inspect
from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.main import get_command

from factlab.cli import app
from factlab.edition import review_edition
from factlab.errors import FactlabError
from factlab.keys import derive_edition_key
from factlab.pipelines.check_flow import check_flow
from factlab.pipelines.close_flow import (
    REVIEW_POLL_SECONDS,
    REVIEW_POLL_VARIABLE,
    close_flow,
    release_flow,
    review_poll_seconds,
)
from factlab.pipelines.deploy_check import REQUIRED, problems
from factlab.schemas.records import PUBLISHED, UNDER_REVIEW
from tests.leakscan import scan_for_leaks

ROOT = Path(__file__).resolve().parents[1]
FLOWS = {"check_flow": check_flow, "close_flow": close_flow, "release_flow": release_flow}


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


async def _artifacts_and_logs(*flow_run_ids) -> tuple[list[str], list[str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    await APILogHandler.aflush()  # logs are shipped to the server in batches
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id={"any_": list(flow_run_ids)})
        )
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=list(flow_run_ids)))
        )
    return [str(a.data) for a in artifacts], [log.message for log in logs]


def test_check_and_close_flows_publish_and_record_only_counts(
    prefect_server, gemeente: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    master = b"prefect-test-master-key-of-32-bytes"
    monkeypatch.setenv("FACTLAB_KEY", base64.b64encode(master).decode())
    partner = next(p for p in sorted((gemeente / "uploads").iterdir()))
    (partner / "kapot.csv").write_bytes(b"\x00\x01 geen tabel \xff" * 20)
    common = {"uploads": str(gemeente / "uploads"), "out": str(tmp_path / "out")}
    checked = check_flow(**common, edition="2026", return_state=True)
    assert checked.is_completed(), checked.message
    assert checked.result().files["quarantaine"] == 1
    closed = close_flow(
        **common, key_mode="managed", onvolledig=None, door="Ann Analist", return_state=True
    )
    assert closed.is_completed(), closed.message
    summary = closed.result()
    truth = pl.read_parquet(gemeente / "waarheid" / "huishoudens.parquet")
    assert summary.households == truth.filter(pl.col("status") != "buiten_gemeente").height
    # Closed for review, nothing published; outside a deployment no release run is started.
    assert summary.state == UNDER_REVIEW and summary.review_run is None
    assert not (tmp_path / "out" / "2026").exists()
    assert (Path(summary.folder) / "rapport.html").is_file()
    released = review_edition(tmp_path / "out", "2026", "Bea Beoordelaar")
    assert released.state == PUBLISHED
    assert (tmp_path / "out" / "2026" / "rapport.html").is_file()

    artifacts, logs = asyncio.run(
        _artifacts_and_logs(checked.state_details.flow_run_id, closed.state_details.flow_run_id)
    )
    assert any("| organisatie | status |" in a for a in artifacts)
    assert any("rapport.html" in a for a in artifacts)
    assert any("quarantaine" in line for line in logs)  # Factlab's own warning reached Prefect
    assert "kapot.csv" not in "\n".join([*artifacts, *logs])  # names are partner-chosen
    leaks = scan_for_leaks(
        [tmp_path / "out"],
        truth=truth,
        key=derive_edition_key(master, "2026"),
        texts={
            "prefect-artefacten": "\n".join(artifacts),
            "prefect-logs": "\n".join(logs),
            "prefect-database": _database_text(),
        },
        secrets=[master],
    )
    assert leaks == []
    again = close_flow(**common, edition="2026", return_state=True)  # closing twice: no change
    assert again.is_completed() and again.result().already_published


def test_a_bug_reaches_prefect_without_the_data_in_its_message(
    prefect_server, gemeente: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import factlab.pipelines.check_flow as module

    def broken(*args, **kwargs):
        raise ValueError("could not parse '1503AB 12'")  # as a library error might quote data

    monkeypatch.setattr(module, "check_edition", broken)
    state = check_flow(
        uploads=str(gemeente / "uploads"), out=str(tmp_path / "out"), edition="x", return_state=True
    )
    assert state.is_failed()
    _, logs = asyncio.run(_artifacts_and_logs(state.state_details.flow_run_id))
    recorded = "\n".join([*logs, str(state.message)])
    assert "ValueError" in recorded and "1503AB" not in recorded
    assert "1503AB" not in _database_text()  # states, logs, artifacts, events: all of it


def _database_text() -> str:
    """Every text value in every table of the test server's database."""
    import sqlite3

    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    url = PREFECT_API_DATABASE_CONNECTION_URL.value()
    assert url.startswith("sqlite")
    path = url.split("///", 1)[1]
    with sqlite3.connect(path) as database:
        tables = [
            r[0] for r in database.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return "\n".join(
            str(value)
            for table in tables
            for row in database.execute(f'SELECT * FROM "{table}"')
            for value in row
            if isinstance(value, str | bytes)
        )


def _cli_options(command: str) -> set[str]:
    click_command = get_command(app).commands[command]  # type: ignore[attr-defined]
    return {p.name for p in click_command.params}


def test_deployments_point_at_flows_with_the_cli_parameter_names() -> None:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    commands = {"check_flow": "check", "close_flow": "close", "release_flow": "vrijgeven"}
    names = set()
    for deployment in spec["deployments"]:
        names.add(deployment["name"])
        path, flow_name = deployment["entrypoint"].split(":")
        assert (ROOT / path).is_file() and flow_name in FLOWS
        parameters = set(inspect.signature(FLOWS[flow_name].fn).parameters)
        assert parameters <= _cli_options(commands[flow_name]), flow_name
        assert set(deployment["parameters"]) <= parameters
        assert "FACTLAB_KEY" not in str(deployment["parameters"])
        if flow_name == "release_flow":
            # A paused run must not hold a slot: Prefect revokes its lease and then crashes it.
            assert "concurrency_limit" not in deployment
        else:
            assert deployment["concurrency_limit"]["limit"] == 1
    assert names == {
        "controle-bij-aankomst", "sluiten-op-schema", "sluiten-op-verzoek", "vrijgeven"
    }  # fmt: skip
    by_name = {d["name"]: d for d in spec["deployments"]}
    assert by_name["sluiten-op-schema"]["schedules"]
    assert by_name["controle-bij-aankomst"]["triggers"][0]["expect"] == [
        "factlab.upload.binnengekomen"
    ]


def test_flow_parameters_are_described_in_dutch() -> None:
    from prefect.utilities.callables import parameter_schema

    for flow in FLOWS.values():
        schema = parameter_schema(flow.fn)
        for name, field in schema.properties.items():
            assert field.get("description"), (flow.name, name)


def test_deploying_without_the_environment_is_refused() -> None:
    assert len(problems({})) == len(REQUIRED)
    ready = {name: "/srv/factlab" for name in REQUIRED}
    assert problems(ready) == []
    assert "absoluut" in problems(ready | {"FACTLAB_OUT": "uitvoer"})[0]


def test_the_release_runs_poll_interval_comes_from_the_environment() -> None:
    """A paused release run asks every 5 s whether the reviewer answered, unless the worker's
    environment says otherwise (the real-server test says 1); a wrong value is a clear error."""
    assert review_poll_seconds({}) == REVIEW_POLL_SECONDS == 5
    assert review_poll_seconds({REVIEW_POLL_VARIABLE: " 2 "}) == 2
    for wrong in ("0", "-1", "1.5", "vijf"):
        with pytest.raises(FactlabError, match=REVIEW_POLL_VARIABLE):
            review_poll_seconds({REVIEW_POLL_VARIABLE: wrong})
