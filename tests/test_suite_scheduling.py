"""The suite's own scheduling (tests/conftest.py): each test module runs on one worker.

This is what keeps the suite within its time: a module's module-scoped end-to-end runs are made
once, not once per worker. It broke once without a sound: xdist's ``--dist loadgroup`` stopped
grouping with pytest 9.2 (pytest-dev/pytest-xdist#1386). So a small suite runs here with two real
xdist workers and :class:`ModuleScheduling`, and the test checks where each of its tests ran.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from tests.conftest import SPREAD, ModuleScheduling

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


def _suite_dist() -> list[str]:
    """The options that say how the suite is spread (pyproject.toml's addopts)."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        addopts = shlex.split(tomllib.load(handle)["tool"]["pytest"]["ini_options"]["addopts"])
    dist = addopts.index("--dist")
    return [*addopts[dist : dist + 2], *(o for o in addopts if o == "--no-loadscope-reorder")]


def test_each_module_runs_on_one_worker(pytester: pytest.Pytester) -> None:
    """With the suite's own --dist options and its own scheduler hook."""
    pytester.makeconftest(
        f"""
import sys
sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
from tests.conftest import pytest_xdist_make_scheduler
"""
    )
    for module in ("test_a", "test_b", "test_c"):  # six tests each: enough to spread
        pytester.makepyfile(**{module: "\n".join(f"def test_{i}():\n    pass\n" for i in range(6))})
    result = pytester.runpytest_subprocess(
        "-n", "2", *_suite_dist(), "-v", "-p", "xdist", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=18)
    workers: dict[str, set[str]] = {}
    for line in result.outlines:
        ran = re.match(r"\[(gw\d)\] .*PASSED (test_\w+)\.py::", line)
        if ran:
            workers.setdefault(ran.group(2), set()).add(ran.group(1))
    assert set(workers) == {"test_a", "test_b", "test_c"}
    assert all(len(found) == 1 for found in workers.values()), workers
    assert len(set().union(*workers.values())) == 2  # both workers had work


def test_a_spread_module_is_scheduled_test_by_test() -> None:
    """The modules in SPREAD go to the workers one test at a time; any other module whole."""
    split = ModuleScheduling._split_scope  # reads nothing of the scheduler: called without one
    spread = f"{SPREAD[0]}::test_killed[audit]"
    assert split(None, spread) == spread
    assert split(None, "tests/test_cli.py::test_demo") == "tests/test_cli.py"
