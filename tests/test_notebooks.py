"""Every notebook runs top to bottom on a real edition's household table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from editions import Published

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def households_file(published_edition: Published) -> Path:
    return published_edition.result.households_file


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
