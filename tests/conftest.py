"""Shared fixtures: a synthetic gemeente made once per session, copied per test that consumes it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from factlab.synth import synthesise


def pytest_configure(config: pytest.Config) -> None:
    """Prepared CBS copies go to a fresh folder per test process, not the user's cache."""
    os.environ["FACTLAB_CACHE"] = tempfile.mkdtemp(prefix="factlab-cache-")


TEST_SCALE = 0.1  # ~7,000 dwellings: every kind of dirt still occurs, runs take a second


@pytest.fixture(scope="session")
def synth_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic gemeente; read-only, copy it (``gemeente`` fixture) before running on it."""
    folder = tmp_path_factory.mktemp("synth") / "gemeente"
    synthesise(folder, seed=7, scale=TEST_SCALE)
    return folder


@pytest.fixture
def gemeente(synth_source: Path, tmp_path: Path) -> Path:
    """A fresh copy of the synthetic gemeente whose uploads a run may consume."""
    target = tmp_path / "gemeente"
    shutil.copytree(synth_source, target)
    return target
