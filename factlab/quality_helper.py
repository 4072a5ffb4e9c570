"""The quality checkpoint's helper processes: started early, kept for the next close.

Great Expectations takes about two seconds to import, whatever the edition's size, and on a
small edition that import is the run's critical path: the close waits for its verdict. So
the helper process that imports it is started as early as it can be. ``factlab run``, ``close``
and ``demo`` start it before they import anything else (:mod:`factlab.launch`), a run's check
starts one when it has a core to spare, and a close takes the one waiting here. This module
loads nothing but the standard library and :mod:`factlab.helper_process`, so starting a helper
never waits for the imports it is meant to overlap.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
import threading
import types

from factlab.helper_process import HelperProcess, Pool

#: Modules Great Expectations imports as it starts that only expectations Factlab never uses
#: read from: the distribution expectations (``scipy.stats``) and their charts (``altair``).
#: Deferred, they cost nothing until read from: 0.8-1.4 s of the 2.7-3.2 s import here
#: (docs/schaal-rondes.md, eighth round).
DEFERRED_MODULES = ("scipy.stats", "altair")

#: Optional dependencies of Great Expectations that the helper hides from it: it then imports as
#: it does where they are not installed. SQLAlchemy serves its SQL data sources only (Prefect is
#: why it is installed here); Factlab validates pandas frames. 0.2-0.6 s of its import here.
HIDDEN_MODULES = ("sqlalchemy",)

#: Held while a deferred module is imported for real, so a second thread reading from it waits
#: for the whole module instead of finding it half imported (re-entrant: importing one deferred
#: module may read from another).
_IMPORTING = threading.RLock()


class _Deferred(types.ModuleType):
    """A module's stand-in that imports it when something first reads from it, then is it.

    Only a name missing here reaches ``__getattr__``; what the import system reads of a module
    already imported (``__spec__``) is present, so ``import altair as alt`` and
    ``from scipy import stats`` import nothing yet.
    """

    def __getattr__(self, name: str) -> object:
        with _IMPORTING:
            if sys.modules.get(self.__name__) is self:  # the first read: import it for real
                del sys.modules[self.__name__]
                self.__dict__.update(importlib.import_module(self.__name__).__dict__)
        module = sys.modules.get(self.__name__)
        if module is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        return getattr(module, name)


def defer(*names: str) -> None:
    """Put a stand-in (:class:`_Deferred`) in place of each module not imported yet."""
    for name in names:
        sys.modules.setdefault(name, _Deferred(name))


def import_great_expectations() -> None:
    """Import Great Expectations (in the helper process), without usage statistics, without
    the modules in :data:`DEFERRED_MODULES` until they are read from, and without those in
    :data:`HIDDEN_MODULES`."""
    if "great_expectations" in sys.modules:
        return
    defer(*DEFERRED_MODULES)
    for name in HIDDEN_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # "import" then fails
    os.environ["GX_ANALYTICS_ENABLED"] = "false"  # before the import: no usage statistics
    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # not in a -v run's log
    # The import makes millions of objects and no garbage: without the collector it takes
    # 1.65 s instead of 1.95 s. Frozen afterwards, later collections skip what it made.
    gc.disable()
    try:
        import great_expectations  # noqa: F401
    finally:
        gc.freeze()
        gc.enable()


def _start() -> HelperProcess:
    """A new helper process, importing Great Expectations from now on."""
    started = HelperProcess("de kwaliteitscontrole")
    started.call(import_great_expectations, wanted=False)
    return started


#: Helper processes no close is using, kept for the next close of this process (the test
#: suite then imports Great Expectations once per worker, not once per close).
HELPERS = Pool(_start)


def helper() -> HelperProcess:
    """A waiting helper process, or a new one that starts importing Great Expectations now."""
    return HELPERS.take()


def keep(idle: HelperProcess) -> None:
    """Keep a helper no close is using, for the next one."""
    HELPERS.keep(idle)


def prestart() -> None:
    """Start a helper process now, for a close that follows, unless one is waiting already."""
    HELPERS.fill(1)
