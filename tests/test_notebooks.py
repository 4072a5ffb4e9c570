"""Every notebook runs top to bottom on a real edition's household table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from factlab.config import load_config
from factlab.edition import RunSettings, run_edition
from factlab.keys import ephemeral_key

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def households_file(synth_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("nb") / "gemeente"
    shutil.copytree(synth_source, copy)
    config = load_config(copy / "factlab.toml")
    settings = RunSettings(copy / "uploads", copy.parent / "out", "2026", config, config.period)
    return run_edition(settings, ephemeral_key()).households_file


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(
    notebook: Path, households_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTLAB_HUISHOUDENS", str(households_file))
    monkeypatch.chdir(notebook.parent)
    cells = json.loads(notebook.read_text())["cells"]
    code = [("".join(c["source"])) for c in cells if c["cell_type"] == "code"]
    assert code, "a notebook without code"
    namespace: dict = {}
    for source in code:
        exec(compile(source, str(notebook), "exec"), namespace)
    assert namespace["huishoudens"].height > 0
    if "veilig" in namespace:  # the publishable-figures section really gives protected counts
        counts = (
            namespace["veilig"]
            .tables["aantal_voorzieningen"]
            .get_column("huishoudens")
            .drop_nulls()
        )
        assert counts.len() > 0 and (counts % 5 == 0).all()


def test_there_is_a_notebook() -> None:
    assert NOTEBOOKS
