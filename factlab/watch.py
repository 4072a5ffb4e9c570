"""Notice complete new uploads as partners drop them, and say so once per file.

A file counts as complete when its size and modification time have not changed for the
settling time, or at once when it has just been renamed from a ``.part``/``.tmp`` name (an
upload tool's way of saying it is done: the new name appears with its final stamp). The
watcher only looks at names and stamps, never at content; what it announces carries the
organisation only, never the file name (partner-chosen, it may carry anything).

What happens on an announcement is up to the caller: ``factlab watch`` emits a Prefect event
that a deployment trigger turns into a check run, or checks in-process with ``--direct``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from factlab.intake import WRITING, Skipped, find_uploads

EVENT = "factlab.upload.binnengekomen"
RESOURCE_PREFIX = "factlab.uploads"


@dataclass
class Watcher:
    """Polls an upload folder; :meth:`poll` returns the organisations with newly complete files."""

    uploads: Path
    settle_seconds: float = 10.0
    _seen: dict[Path, tuple[tuple[int, int], float]] = field(default_factory=dict)
    _announced: dict[Path, tuple[int, int]] = field(default_factory=dict)
    _was_writing: set[tuple[str, tuple[int, int]]] = field(default_factory=set)

    def poll(self, now: float | None = None) -> list[str]:
        """Organisations (one entry per newly complete file) since the last poll."""
        moment = time.monotonic() if now is None else now
        found = find_uploads(self.uploads, settle_seconds=0)
        writing = self._writing_stamps(found.skipped)
        present = {upload.path for upload in found.uploads}
        for gone in set(self._seen) - present:
            self._seen.pop(gone, None)
            self._announced.pop(gone, None)
        ready = []
        for upload in found.uploads:
            seen = self._seen.get(upload.path)
            if seen is None or seen[0] != upload.stamp:
                renamed = (upload.organisation, upload.stamp) in self._was_writing
                since = moment - self.settle_seconds if renamed else moment
                self._seen[upload.path] = (upload.stamp, since)
            if self._announced.get(upload.path) == upload.stamp:
                continue
            if moment - self._seen[upload.path][1] >= self.settle_seconds:
                self._announced[upload.path] = upload.stamp
                ready.append(upload.organisation)
        self._was_writing = writing
        return ready

    def _writing_stamps(self, skipped: list[Skipped]) -> set[tuple[str, tuple[int, int]]]:
        """(organisation, stamp) of files still being written: a rename keeps the stamp."""
        stamps = set()
        for entry in skipped:
            if entry.status != WRITING or not entry.organisation:
                continue
            try:
                info = (self.uploads / entry.organisation / entry.name).stat()
            except OSError:
                continue
            stamps.add((entry.organisation, (info.st_size, info.st_mtime_ns)))
        return stamps

    def run(
        self,
        announce: Callable[[list[str]], None],
        interval: float = 5.0,
        rounds: int | None = None,
    ) -> None:
        """Poll every ``interval`` seconds and announce what became complete (forever, or
        ``rounds`` times)."""
        for _ in _rounds(rounds):
            ready = self.poll()
            if ready:
                announce(ready)
            time.sleep(interval)


def _rounds(rounds: int | None) -> Iterator[int]:
    count = 0
    while rounds is None or count < rounds:
        yield count
        count += 1


def emit_prefect_events(uploads: Path) -> Callable[[list[str]], None]:
    """An announcer that emits one Prefect event per complete file (organisation only)."""
    from prefect.events import emit_event

    from factlab.names import short_id

    resource = f"{RESOURCE_PREFIX}.{short_id(str(uploads.resolve()))}"

    def announce(organisations: list[str]) -> None:
        for organisation in organisations:
            emit_event(
                event=EVENT,
                resource={"prefect.resource.id": resource, "factlab.organisatie": organisation},
            )

    return announce
