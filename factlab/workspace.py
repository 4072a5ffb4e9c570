"""An edition's private workspace: accepted deliveries waiting for the close, and its state.

``<out>/.werkmap/<edition>/`` (mode 0700, files 0600) holds ``editie.json`` (the
:class:`~factlab.schemas.records.EditionState`), the rejected rows of each delivery's receipt
(``afwijzingen/<id>.json``, written once; the state file points to them), the raw files
partners delivered (``bestanden/<id>``) and their checked rows (``rijen/<id>/``, in the parts
of :mod:`factlab.row_parts`). Only the service account can read it; it holds addresses, so it
is emptied when the edition is published (the state and the rejected rows, which hold none,
stay as the record).

Every command that changes an edition (check, close, withdraw) holds the edition's lock: an
OS-level ``flock`` on ``<out>/.werkmap/<edition>.lock``, a file that is never unlinked, so two
processes can never both believe they hold it (unlinking a lock file after use lets a third
process lock a new file while a second still holds the old one). The lock dies with its
process, so a killed run never leaves an edition locked.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from factlab.errors import FactlabError
from factlab.files import atomic_write_bytes
from factlab.schemas.records import Delivery, EditionState, Rejection

WORKSPACE_FOLDER = ".werkmap"
STATE_FILE = "editie.json"
RAW_FOLDER = "bestanden"
ROWS_FOLDER = "rijen"
FEEDBACK_FOLDER = "terugkoppeling"  # each delivery's feedback, kept to rewrite it after a kill
REJECTIONS_FOLDER = "afwijzingen"  # each delivery's rejected rows, apart from the state file
_REJECTIONS_KEY = "afwijzingen"  # in a receipt's JSON
_REJECTIONS_FILE_KEY = "afwijzingen_bestand"  # in a delivery's JSON in the state file


class Workspace:
    """Paths and state of one edition's workspace; use as a context manager to hold the lock."""

    def __init__(self, out: Path, edition: str, *, wait: bool = False) -> None:
        self.out = out
        self.edition = edition
        self.root = out / WORKSPACE_FOLDER
        self.path = self.root / edition
        self._lock_path = self.root / f"{edition}.lock"
        self._lock: int | None = None
        self._wait = wait
        self._encoded = _EncodedDeliveries(self.path)

    # ------------------------------------------------------------------ lock
    def __enter__(self) -> Workspace:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        fd = os.open(self._lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if self._wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            raise FactlabError(
                f"editie {self.edition!r} wordt al verwerkt door een ander proces; wacht tot "
                "dat klaar is en probeer het dan opnieuw"
            ) from None
        self._lock = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            os.close(self._lock)
            self._lock = None

    # ------------------------------------------------------------------ state
    @property
    def state_path(self) -> Path:
        return self.path / STATE_FILE

    def exists(self) -> bool:
        return self.state_path.is_file()

    def load(self) -> EditionState:
        if not self.exists():
            raise FactlabError(
                f"editie {self.edition!r} is niet geopend in {self.out}; open haar eerst met "
                "'factlab open' (of verwerk alles in één keer met 'factlab run')"
            )
        data = json.loads(self.state_path.read_text(encoding="utf-8"))
        for delivery in data.get(_DELIVERIES_KEY, []):
            relative = delivery.pop(_REJECTIONS_FILE_KEY, None)
            if relative is not None:
                rejections = json.loads((self.path / relative).read_text(encoding="utf-8"))
                delivery["ontvangstbewijs"][_REJECTIONS_KEY] = rejections
        return EditionState.from_json(data)

    def save(self, state: EditionState) -> None:
        """Write the state atomically: a kill leaves the old state or the new one."""
        self._assert_locked()
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write_bytes(self.state_path, self._encoded.state_bytes(state), mode=0o600)

    # ------------------------------------------------------------------ files
    def raw_path(self, delivery_id: str) -> Path:
        return self.path / RAW_FOLDER / delivery_id

    def store_raw(self, source: Path, delivery_id: str) -> str:
        """Copy an upload into the workspace (0600, fsynced); returns its relative path."""
        self._assert_locked()
        target = self.raw_path(delivery_id)
        private_folder(target.parent)
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with (
            source.open("rb") as reader,
            os.fdopen(
                os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "wb"
            ) as writer,
        ):
            shutil.copyfileobj(reader, writer, 1 << 20)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(partial, target)
        return target.relative_to(self.path).as_posix()

    @property
    def feedback_dir(self) -> Path:
        return self.path / FEEDBACK_FOLDER

    def remove(self, relative: str | None) -> None:
        if relative:
            (self.path / relative).unlink(missing_ok=True)

    def clear_personal_data(self) -> None:
        """Remove every raw file and checked row: done once the edition is published."""
        for folder in (RAW_FOLDER, ROWS_FOLDER, FEEDBACK_FOLDER):
            shutil.rmtree(self.path / folder, ignore_errors=True)

    def _assert_locked(self) -> None:
        if self._lock is None:
            raise RuntimeError("workspace changed without holding its lock")


_DELIVERIES_KEY = "leveringen"


def private_folder(folder: Path) -> None:
    """Make ``folder`` and its parent (``rijen/``, ``voorlezen/``, ``terugkoppeling/`` in the
    workspace) readable by the service account only (0700), whatever the umask: they hold
    checked rows and feedback, so addresses."""
    for each in (folder.parent, folder):
        each.mkdir(exist_ok=True, mode=0o700)
        os.chmod(each, 0o700)


class _EncodedDeliveries:
    """The state file's bytes: one line of JSON, each delivery encoded once and reused, and
    each delivery's rejected rows in a file of their own, written once.

    A check saves the state twice per upload. Rejected rows are nearly all of a state (9.8 MB
    of 9.83 MB for a national check: 63 k rows, each with its rule's explanation): in the state
    file, every save rewrote and fsynced all of them, 0.5 GB for a national check, growing with
    the square of the uploads. In ``afwijzingen/<id>.json`` each delivery's are written once,
    before the state that points to them (atomically, so a kill leaves the old state, or the
    new one with its rejections in place); a rerun after a kill writes them again, since an id
    the killed check used may come to name another upload. :meth:`Workspace.load` puts them
    back: the state in memory is unchanged. A :class:`Delivery` is frozen, so its text is kept
    for as long as the state holds that very object (identity, not equality: comparing two
    receipts costs as much as encoding one). json encodes in C without an indent (the
    pure-Python encoder that indenting needs cost minutes nationally).
    """

    def __init__(self, workspace: Path) -> None:
        self._workspace = workspace
        self._texts: dict[int, tuple[Delivery, bytes]] = {}
        #: Per delivery id, the rejections this process wrote to its file.
        self._written: dict[str, tuple[Rejection, ...]] = {}

    def _rejections_file(self, delivery: Delivery) -> str:
        relative = f"{REJECTIONS_FOLDER}/{delivery.id}.json"
        if self._written.get(delivery.id) is not delivery.receipt.rejections:
            private_folder(self._workspace / REJECTIONS_FOLDER)
            rejections = [r.as_json() for r in delivery.receipt.rejections]
            text = json.dumps(rejections, ensure_ascii=True).encode("ascii")
            atomic_write_bytes(self._workspace / relative, text, mode=0o600)
            self._written[delivery.id] = delivery.receipt.rejections
        return relative

    def _delivery(self, delivery: Delivery) -> bytes:
        known = self._texts.get(id(delivery))
        if known is not None and known[0] is delivery:
            return known[1]
        # The rejections are encoded only for their file, once per delivery (a check saves
        # each delivery twice: 63 k rejections encoded are ~0.1 s of the checking process).
        data = delivery.as_json(rejections=False)
        if delivery.receipt.rejections:
            data[_REJECTIONS_FILE_KEY] = self._rejections_file(delivery)
        text = json.dumps(data, ensure_ascii=True).encode("ascii")
        self._texts[id(delivery)] = (delivery, text)
        return text

    def state_bytes(self, state: EditionState) -> bytes:
        texts = [self._delivery(d) for d in state.deliveries]
        kept = {id(d) for d in state.deliveries}
        self._texts = {key: value for key, value in self._texts.items() if key in kept}
        head = json.dumps(replace(state, deliveries=()).as_json(), ensure_ascii=True)
        empty = f'"{_DELIVERIES_KEY}": []}}'
        if not head.endswith(empty):  # the deliveries are no longer the last key
            data = replace(state, deliveries=()).as_json()
            data[_DELIVERIES_KEY] = [json.loads(text) for text in texts]
            return (json.dumps(data, ensure_ascii=True) + "\n").encode("ascii")
        opening = f'{head[: -len(empty)]}"{_DELIVERIES_KEY}": ['.encode("ascii")
        return b"".join((opening, b", ".join(texts), b"]}\n"))


def now() -> str:
    """The current time as ISO text in UTC (what receipts and the state record)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
