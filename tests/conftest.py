"""Shared fixtures: a synthetic gemeente made once per session, copied per test that consumes it,
and one published edition of it per test process for the tests that only read outputs.

Also the order of the suite (:func:`pytest_collection_modifyitems`) and its distribution over
the xdist workers, a module to a worker (:class:`ModuleScheduling`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from editions import Published, publish_edition
from xdist.scheduler import LoadScopeScheduling

from factlab.synth import synthesise

_CACHE = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Prepared CBS copies go to a fresh folder per test process, not the user's cache."""
    config.stash[_CACHE] = os.environ["FACTLAB_CACHE"] = tempfile.mkdtemp(prefix="factlab-cache-")


@pytest.fixture(autouse=True)
def _cache_folder_kept(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test leaves the process's cache folder set: a test that removed it made every later
    test in its process write prepared copies into the user's own cache."""
    yield
    assert os.environ.get("FACTLAB_CACHE") == request.config.stash[_CACHE], (
        "the test changed FACTLAB_CACHE and did not set it back"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    """The test process's cache folder goes when the process is done: nothing is left behind."""
    shutil.rmtree(config.stash[_CACHE], ignore_errors=True)


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


@pytest.fixture(scope="session")
def published_edition(synth_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Published:
    """The synthetic gemeente run end to end once per test process (ephemeral key), read-only.

    For tests that inspect a published edition; a test that changes the edition or runs with
    other settings makes its own with :func:`editions.publish_edition`.
    """
    root = tmp_path_factory.mktemp("gepubliceerd")
    shutil.copytree(synth_source, root / "gemeente")
    return Published(root / "gemeente", publish_edition(root / "gemeente", root / "out"))


# --------------------------------------------------------------------------- order and workers

#: The few scenarios that take tens of seconds each (real end-to-end runs of a large gemeente,
#: a 200 MB upload, killed and rerun subprocesses, a real Prefect server), longest first. They
#: are marked ``slow`` (``-m "not slow"`` gives a fast local loop; the full suite, as CI runs
#: it, includes them) and start first, so the two workers finish together.
SLOW = (
    "tests/test_synth_gemeenten.py::test_published_cells_are_the_rounded_truth[amsterdam",
    "tests/test_partner_files.py::test_huge_file_is_streamed_in_bounded_memory",
    "tests/test_prefect_server.py::",
    "tests/test_edition.py::test_rerun_gives_identical_outputs",
    "tests/test_nothing_lost.py::test_killed_run_then_rerun_equals_uninterrupted_run",
)
#: Then the modules with several real runs of an edition, longest first (measured with
#: ``--durations``); the many quick modules fill in behind them.
HEAVY = (
    "tests/test_cli.py",
    "tests/test_aanleverperiode.py",
    "tests/test_published_numbers.py",
    "tests/test_pipelines.py",
    "tests/test_corpus.py",
    "tests/test_report.py",
    "tests/test_synth_gemeenten.py",
    "tests/test_hostile_edition.py",
    "tests/test_init.py",
    "tests/test_notebooks.py",
    "tests/test_disclose.py",
    "tests/test_publish.py",
    "tests/test_attack.py",
    "tests/test_analyse.py",
)
#: Modules whose tests are spread over the workers one by one; every other module runs on one
#: worker (:class:`ModuleScheduling`), so its module-scoped end-to-end run is made once. A
#: module here shares its runs in session-scoped fixtures: a worker comes back to it between
#: other modules' tests, and a module-scoped fixture would be made again each time.
SPREAD = ("tests/test_nothing_lost.py", "tests/test_synth_gemeenten.py")


class ModuleScheduling(LoadScopeScheduling):
    """xdist's scheduling by scope, with a module as the scope, or a test of a module in
    :data:`SPREAD`. The work units are handed out in the collection's order (see
    :func:`pytest_collection_modifyitems`), each to the first worker free.

    Not ``--dist loadgroup`` with ``xdist_group`` marks: since pytest 9.2 that groups nothing
    (pytest-dev/pytest-xdist#1386, the group travels in a node id pytest no longer reads), and
    each module's end-to-end runs were made on both workers.
    """

    def _split_scope(self, nodeid: str) -> str:  # xdist's own schedulers override this too
        module = nodeid.split("::", 1)[0]
        return nodeid if module in SPREAD else module


@pytest.hookimpl(optionalhook=True)  # a run with -p no:xdist does not know the hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
    """:class:`ModuleScheduling` for ``--dist loadscope`` (pyproject.toml); any other
    ``--dist`` keeps xdist's own."""
    return ModuleScheduling(config, log) if config.getvalue("dist") == "loadscope" else None


def _rank(nodeid: str, order: tuple[str, ...]) -> int:
    return next((i for i, prefix in enumerate(order) if nodeid.startswith(prefix)), len(order))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow scenarios and put the longest first, each module's tests together.

    The order is the same in every worker (xdist checks), and :class:`ModuleScheduling` hands
    out the modules (and the tests of a module in :data:`SPREAD`) in this order.
    """
    order = SLOW + HEAVY
    rank: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        if _rank(item.nodeid, SLOW) < len(SLOW):
            item.add_marker(pytest.mark.slow)
        if module in SPREAD:
            rank[item.nodeid] = _rank(item.nodeid, order)
        else:
            rank[module] = min(rank.get(module, len(order)), _rank(item.nodeid, order))
    items.sort(key=lambda item: rank.get(item.nodeid, rank.get(item.nodeid.split("::")[0], 0)))
