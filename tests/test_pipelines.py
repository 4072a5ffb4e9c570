"""The Prefect flow, run for real against a temporary Prefect server, and the deployments file."""

from __future__ import annotations

import asyncio
import base64
import inspect
from pathlib import Path

import polars as pl
import pytest
import yaml

from factlab.keys import derive_edition_key
from pipelines.edition_flow import edition_flow
from tests.leakscan import scan_for_leaks

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


async def _artifacts_and_logs(flow_run_id) -> tuple[list[str], list[str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    await APILogHandler.aflush()  # logs are shipped to the server in batches
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id={"any_": [flow_run_id]})
        )
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
    return [str(a.data) for a in artifacts], [log.message for log in logs]


def test_flow_runs_an_edition_and_records_only_counts(
    prefect_server, gemeente: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    master = b"prefect-test-master-key-of-32-bytes"
    monkeypatch.setenv("FACTLAB_KEY", base64.b64encode(master).decode())
    state = edition_flow(
        uploads=str(gemeente / "uploads"),
        out=str(tmp_path / "out"),
        config=str(gemeente / "factlab.toml"),
        edition="2026",
        key_mode="managed",
        return_state=True,
    )
    assert state.is_completed(), state.message
    summary = state.result()
    truth = pl.read_parquet(gemeente / "waarheid" / "huishoudens.parquet")
    assert summary["huishoudens"] == truth.filter(pl.col("status") != "buiten_gemeente").height
    assert (tmp_path / "out" / "2026" / "huishoudens.parquet").is_file()

    artifacts, logs = asyncio.run(_artifacts_and_logs(state.state_details.flow_run_id))
    assert any("Huishoudens met een voorziening" in a for a in artifacts)
    assert any("verwerken" in line for line in logs)
    # Managed key: the scan can recompute every pseudonym of the run and look for it too.
    leaks = scan_for_leaks(
        [tmp_path / "out"],
        truth=truth,
        key=derive_edition_key(master, "2026"),
        texts={"prefect-artefacten": "\n".join(artifacts), "prefect-logs": "\n".join(logs)},
        secrets=[master],
    )
    assert leaks == []


def test_deployments_point_at_the_flow_with_valid_parameters() -> None:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    parameters = set(inspect.signature(edition_flow.fn).parameters)
    assert spec["deployments"]
    for deployment in spec["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        assert (ROOT / path).is_file() and name == "edition_flow"
        assert set(deployment["parameters"]) <= parameters
        assert "FACTLAB_KEY" not in str(deployment["parameters"])


def test_a_bug_reaches_prefect_without_the_data_in_its_message(
    prefect_server, gemeente: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.edition_flow as module

    def broken(*args, **kwargs):
        raise ValueError("could not parse '1503AB 12'")  # as a library error might quote data

    monkeypatch.setattr(module, "run_edition", broken)
    state = edition_flow(
        uploads=str(gemeente / "uploads"),
        out=str(tmp_path / "out"),
        config=str(gemeente / "factlab.toml"),
        edition="2026",
        return_state=True,
    )
    assert state.is_failed()
    _, logs = asyncio.run(_artifacts_and_logs(state.state_details.flow_run_id))
    recorded = "\n".join([*logs, str(state.message)])
    assert "ValueError" in recorded and "1503AB" not in recorded
