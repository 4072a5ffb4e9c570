"""The installed layout: one top-level name (``factlab``); the repository keeps its folders."""

from __future__ import annotations

import ast
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("connectors", "schemas", "pipelines", "reports")


def test_folders_are_reached_through_the_factlab_namespace() -> None:
    for folder in FOLDERS:
        link = ROOT / "factlab" / folder
        assert link.is_symlink(), f"factlab/{folder} should link to ../{folder}"
        assert link.resolve() == (ROOT / folder).resolve()


def _python_sources() -> set[Path]:
    """Every Python file in the repository once, by its real path (symlinks resolved)."""
    roots = ["factlab", *FOLDERS, "tests", "benchmarks"]
    return {p.resolve() for r in roots for p in (ROOT / r).rglob("*.py")}


def test_no_module_imports_a_folder_by_its_top_level_name() -> None:
    """``import schemas`` works in a checkout but not once installed: everything says factlab.schemas."""
    offenders = []
    for path in _python_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in names
                if name.split(".")[0] in FOLDERS
            ]
    assert offenders == []


def test_the_wheel_installs_only_factlab(tmp_path: Path) -> None:
    subprocess.run(
        ["uv", "build", "--wheel", "--out-dir", str(tmp_path), "--quiet", str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names}
    assert {t for t in top_level if not t.endswith(".dist-info")} == {"factlab"}
    for folder in FOLDERS:
        for source in (ROOT / folder).rglob("*"):
            if source.is_file() and "__pycache__" not in source.parts:
                assert f"factlab/{source.relative_to(ROOT).as_posix()}" in names
