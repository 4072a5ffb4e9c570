"""The reader processes of a large check: how many, and started before the check needs them.

A large check (:data:`factlab.check_size.LARGE_CHECK_BYTES`) reads its uploads in reader
processes, one per core (:class:`factlab.arrival._ReadAhead`). A new reader spends its first
0.3-0.4 s importing polars and the check's modules, on both cores at once, before it reads a
byte. ``factlab run`` and ``check`` start the readers of a large check first thing
(:mod:`factlab.launch`), so that those imports overlap the command's own on a core it leaves
idle; the check takes them from here (measured nationally: the check 0.3-0.5 s shorter).

This module loads nothing but the standard library and :mod:`factlab.helper_process`: the
launcher imports it before anything else.
"""

from __future__ import annotations

import importlib
import os

from factlab.checkpoints import KILL_ENVIRONMENT
from factlab.helper_process import HelperProcess, Pool

#: At most this many reader processes (one per core): each holds the CBS table (135 MB of
#: index nationally) and peaks at ~0.5 GB.
MAX_READERS = 4
PURPOSE = "het lezen van de uploads"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container or ``taskset`` sets
    it), not every core of the machine."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # no affinity on this platform
        return os.cpu_count() or 1


def plan(uploads: int) -> tuple[int, int]:
    """(readers, polars threads in each) for a check of ``uploads`` uploads: a reader per core
    (at most :data:`MAX_READERS`, at most one per upload); the readers share the cores, so
    polars in each uses its share, not all of them."""
    cores = usable_cores()
    readers = max(1, min(MAX_READERS, cores, uploads))
    return readers, max(1, cores // readers)


def _import_checking() -> None:
    """In a new reader: import what reading an upload needs, before the first upload comes."""
    importlib.import_module("factlab.arrival")


def _starter(threads: int) -> Pool:
    def start() -> HelperProcess:
        # A kill point is the check's own: a reader dies only as a crash would.
        reader = HelperProcess(
            PURPOSE, {"POLARS_MAX_THREADS": str(threads)}, unset=(KILL_ENVIRONMENT,)
        )
        reader.call(_import_checking, wanted=False)
        return reader

    return Pool(start)


#: Waiting readers, by the polars threads each was started with.
_WAITING: dict[int, Pool] = {}


def _pool(threads: int) -> Pool:
    if threads not in _WAITING:
        _WAITING[threads] = _starter(threads)
    return _WAITING[threads]


def prestart() -> None:
    """Start the readers of a large check now (on a machine with more than one core)."""
    readers, threads = plan(MAX_READERS)
    if readers > 1:
        _pool(threads).fill(readers)


def take(readers: int, threads: int) -> list[HelperProcess]:
    """``readers`` reader processes with ``threads`` polars threads each: the ones waiting
    first, new ones for the rest. Raises OSError when no new process can be had."""
    taken: list[HelperProcess] = []
    try:
        while len(taken) < readers:
            taken.append(_pool(threads).take())
    except OSError:
        for reader in taken:
            reader.kill()
            reader.stop()
        raise
    return taken
