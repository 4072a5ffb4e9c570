"""What makes a check large: it then reads its uploads in reader processes, one per core
(:mod:`factlab.arrival`, :mod:`factlab.readers`), which ``factlab run`` and ``check`` start
first thing (:mod:`factlab.launch`), and the close of such an edition starts the quality helper
only after the link (:mod:`factlab.closing`).

Standard library only: the launcher reads it before anything else is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Uploads of this many bytes together (some 500 k rows) make a large check: it holds the CBS
#: table whole from the start, and reads the uploads in reader processes...
LARGE_CHECK_BYTES = 25 << 20
#: ... if there are this many uploads at least (a reader reads one upload at a time).
READ_AHEAD_UPLOADS = 2


def holds_at_least(folder: Path, limit: int, files: int = 1) -> bool:
    """Whether the files below ``folder`` hold ``limit`` bytes or more, in ``files`` files or
    more (counting stops there; links are not followed, and what cannot be read counts for
    nothing)."""
    total = count = 0
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
            count += 1
            if total >= limit and count >= files:
                return True
    return False
