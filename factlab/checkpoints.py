"""Where a kill-and-rerun test may end a process, and the hook that ends it there.

"Nothing lost" is shown by killing real runs (``tests/test_nothing_lost.py``): with
``FACTLAB_TEST_KILL_AT=<point>`` in its environment, a process SIGKILLs itself at that point,
without cleaning up, and the rerun must end exactly like an uninterrupted run. The points are
named here, apart from the stages that reach them, so a reviewer's command (which has points of
its own) need not import the check or the close.
"""

from __future__ import annotations

import os
import signal

KILL_ENVIRONMENT = "FACTLAB_TEST_KILL_AT"
#: Where a test may kill a run (check and close): while reading the first upload, after
#: recording a delivery, after staging, after the household table, after the receipts, and
#: after the review folder's audit.json (before the state says ter controle).
KILL_POINTS = ("gelezen", "aangenomen", "gestaged", "huishoudens", "ontvangst", "audit")
#: Where a test may kill a release: after the decision is recorded, after the review folder
#: moved to ``<out>/<edition>/``, and after the state says published (before the workspace is
#: emptied); and a rejection, after it is recorded (before the review folder is deleted).
RELEASE_KILL_POINTS = ("vrijgegeven", "verplaatst", "opruimen")
REJECT_KILL_POINTS = ("afgewezen",)


def checkpoint(point: str) -> None:
    """Die here, without cleaning up, if a kill-and-rerun test asks for it."""
    if os.environ.get(KILL_ENVIRONMENT) == point:
        os.kill(os.getpid(), signal.SIGKILL)
