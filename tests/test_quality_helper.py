"""The quality helper imports Great Expectations without what Factlab's suites never read:
a deferred module costs nothing until it is read from, and then is the module itself; a hidden
optional dependency is not imported at all."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from factlab import quality_helper
from factlab.helper_process import Pool
from factlab.quality import QualityRun
from factlab.quality_helper import DEFERRED_MODULES, HIDDEN_MODULES, defer
from tests.households_factory import gemeente as area
from tests.households_factory import households
from tests.test_quality import _tables


def _ours(name: str) -> bool:
    return name in ("calendar", "xml.dom") or name.startswith("xml.dom.")


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``calendar`` and ``xml.dom`` as if never imported; as they were afterwards."""
    for name in [m for m in sys.modules if _ours(m)]:
        monkeypatch.delitem(sys.modules, name)
    yield
    for name in [m for m in sys.modules if _ours(m)]:
        del sys.modules[name]  # monkeypatch puts back the modules there were


def test_a_deferred_module_is_imported_when_first_read_from(fresh: None) -> None:
    defer("calendar")
    import calendar  # the stand-in: nothing is imported yet

    assert "isleap" not in vars(calendar)
    assert calendar.isleap(2028) and not calendar.isleap(2026)
    assert sys.modules["calendar"] is not calendar  # the module itself is in place now
    from calendar import isleap  # and both give the same function

    imported = sys.modules["calendar"]
    assert isleap is imported.isleap is calendar.isleap
    with pytest.raises(AttributeError):
        calendar.no_such_name  # noqa: B018
    assert sys.modules["calendar"] is imported  # imported once, whatever is read later


def test_a_deferred_package_still_has_its_submodules(fresh: None) -> None:
    defer("xml.dom")
    from xml.dom import minidom  # reads the package's __path__: it is imported for real

    assert minidom.parseString("<a/>").documentElement.tagName == "a"
    assert sys.modules["xml.dom"].__path__


def test_a_module_already_imported_is_not_deferred() -> None:
    json = sys.modules["json"]
    defer("json")
    assert sys.modules["json"] is json


def test_the_quality_checkpoint_never_imports_the_deferred_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both suites and their Data Docs, in a new helper process: none of the deferred modules
    was imported there (so the saving is real), the hidden ones stayed hidden, and the verdict
    is the suites' own."""
    # A helper of this test's own:
    monkeypatch.setattr(quality_helper, "HELPERS", Pool(quality_helper._start))
    run = QualityRun(tmp_path / "docs")
    run.households(households(seed=3, n=120, area=area()))
    run.tables(_tables(tmp_path / "tabellen", "10", "15"))
    assert run.result().passed
    assert (tmp_path / "docs" / "index.html").is_file()
    (helper,) = quality_helper.HELPERS.waiting
    try:
        probe = "[m for m in {!r} if type(__import__('sys').modules[m]).__name__ != '_Deferred']"
        helper.call(eval, probe.format(DEFERRED_MODULES))
        helper.call(eval, f"[repr(__import__('sys').modules[m]) for m in {HIDDEN_MODULES!r}]")
        helper.call(eval, "'great_expectations' in __import__('sys').modules")
        assert helper.replies() == [[], ["None"] * len(HIDDEN_MODULES), True]
    finally:
        helper.stop()


def test_a_thread_reading_a_module_being_imported_waits_for_all_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads read from a deferred module whose import takes half a second: the second
    gets the name too, not a half-imported module."""
    (tmp_path / "slow_module.py").write_text("import time\ntime.sleep(0.5)\nVALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_module", raising=False)
    defer("slow_module")
    stand_in = sys.modules["slow_module"]
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(getattr, stand_in, "VALUE")
        time.sleep(0.1)  # the first read is importing it now
        second = pool.submit(getattr, stand_in, "VALUE")
        assert (first.result(), second.result()) == (42, 42)
    monkeypatch.delitem(sys.modules, "slow_module")
