"""Import rules that keep the design honest: contracts are leaves, demo data stays out of a run.

Read from the source with ``ast`` (nothing is imported), following every ``import`` anywhere in a
module, also inside functions, and through ``factlab``'s subpackages transitively.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "factlab"
#: The modules a run goes through, from upload to published edition.
STAGES = (
    "intake", "validate", "place", "pseudonymise", "link", "analyse", "disclose", "publish",
    "report", "closing", "arrival", "edition", "review",
)  # fmt: skip


def _file(module: str) -> Path | None:
    """The source of a ``factlab`` module (through the folder symlinks), if it is one."""
    parts = module.split(".")
    if parts[0] != "factlab":
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if len(parts) > 1 and candidate.is_file():
            return candidate
    return PACKAGE / "__init__.py" if len(parts) == 1 else None


@cache
def direct_imports(module: str) -> frozenset[str]:
    """The ``factlab`` modules ``module`` imports anywhere in its source, with their parents."""
    path = _file(module)
    assert path is not None, module
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                candidate = ".".join(parts[:i])
                if _file(candidate) is not None:
                    found.add(candidate)
    found.discard(module)
    return frozenset(found)


def closure(module: str) -> set[str]:
    """Every ``factlab`` module importing ``module`` can load, transitively."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        for name in direct_imports(current) - seen:
            seen.add(name)
            todo.append(name)
    return seen


def _modules_in(folder: Path, prefix: str) -> list[str]:
    modules = []
    for path in sorted(folder.glob("*.py")):
        modules.append(prefix if path.name == "__init__.py" else f"{prefix}.{path.stem}")
    return modules


@pytest.mark.parametrize("stage", STAGES)
def test_no_stage_loads_the_synthetic_generator(stage: str) -> None:
    module = f"factlab.{stage}"
    assert _file(module) is not None, f"{module} is gone: update STAGES"
    reached = closure(module)
    assert not {m for m in reached if m == "factlab.synth" or m.startswith("factlab.synth.")}, (
        f"{module} loads the synthetic generator"
    )


#: Schemas modules that still reach outside ``factlab.schemas``, and the only modules they may
#: reach: the pandera builder needs the canonical column names (config) and the row-number
#: column (connectors); the row rules use the address predicates. None of these is a stage.
NOT_YET_LEAVES: dict[str, frozenset[str]] = {
    "factlab.schemas.contract": frozenset(
        {"factlab.config", "factlab.connectors", "factlab.connectors.partner_files"}
    ),
    "factlab.schemas.delivery": frozenset({"factlab.addresses"}),
}


def test_schemas_is_a_leaf() -> None:
    """The contracts and records import nothing from the stages, even indirectly; all but the
    two modules above import nothing outside ``factlab.schemas`` at all."""
    schemas = _modules_in(PACKAGE / "schemas", "factlab.schemas")
    assert "factlab.schemas.audit" in schemas and "factlab.schemas.records" in schemas
    stages = {f"factlab.{stage}" for stage in STAGES}
    for module in schemas:
        reached = closure(module)
        assert not reached & stages, f"{module} reaches a stage: {sorted(reached & stages)}"
        outside = {
            m
            for m in direct_imports(module)
            if m != "factlab" and not m.startswith("factlab.schemas")
        }
        assert outside <= NOT_YET_LEAVES.get(module, frozenset()), (
            f"{module} imports {sorted(outside)}"
        )


def test_the_rules_see_imports_inside_functions() -> None:
    """The cli loads the generator only inside its synth and demo commands; the rule sees it."""
    assert "factlab.synth" in direct_imports("factlab.cli")
    assert "factlab.synth.generate" in closure("factlab.synth")
