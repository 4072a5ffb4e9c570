"""A process of its own that runs functions in order: where Great Expectations runs, and where
a large check reads uploads on the other core.

Why a process: Great Expectations costs about 1.6 s to import and a second to validate and
render, whatever the edition's size. In the close's own process that cost adds to the run; in
a process of its own it imports on the other core while the close links and protects, and it
validates the household table while the tables are protected. Reading an upload is mostly
Python (the CSV line checks, the XLSX parser) and holds the GIL: a thread would not help
either (docs/schaal-rondes.md).

The protocol is the smallest that is safe: the parent writes ``(function, args)`` pickles to the
child's standard input and reads one reply per call, in order, from the pipe that was the
child's standard output (anything the libraries print goes to standard error instead). The
child ends when its standard input closes or its parent is gone (checked five times a second,
also during a call), so a run that ends or is killed leaves no process behind, nor one still
working for nobody; it ignores Ctrl-C, which its parent handles. Calls are sent by a thread of
their own: a large argument (the household table) fills the pipe while the child is still
importing, and the caller must not wait for that. Results must stay small (one outcome per
expectation, the counts of one upload): the child writes them while the parent may not yet
read. The child never inherits the pseudonymisation key.

What crosses the pipe is what the function needs: the de-identified household and published
tables for the quality suites; for a check, where an upload is and where its checked rows go
(the rows themselves go to the workspace, never through the pipe), and its counts back.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any


class ProcessGone(RuntimeError):
    """The helper process ended before it answered (killed, or out of memory)."""


class CallFailed(RuntimeError):
    """A call raised in the helper process; the message names the exception type."""


class HelperProcess:
    """One child process, called in order; see the module docstring.

    ``purpose`` completes the message when it dies: "het hulpproces voor {purpose} ...";
    ``environment`` is added to what the child inherits (the key aside), and the variables in
    ``unset`` are not inherited.
    """

    def __init__(
        self,
        purpose: str,
        environment: dict[str, str] | None = None,
        *,
        unset: tuple[str, ...] = (),
    ) -> None:
        self._purpose = purpose
        # Here, not at the top: the child runs this module and need not load the key code.
        from factlab.keys import ENVIRONMENT_VARIABLE as KEY_VARIABLE

        self._process = subprocess.Popen(
            [sys.executable, "-m", "factlab.helper_process", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # It never needs the pseudonymisation key: it does not inherit the managed one.
            env={k: v for k, v in os.environ.items() if k not in (KEY_VARIABLE, *unset)}
            | (environment or {}),
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._send = Connection(os.dup(self._process.stdin.fileno()), readable=False)
        self._receive = Connection(os.dup(self._process.stdout.fileno()), writable=False)
        self._process.stdin.close()
        self._process.stdout.close()
        #: For each call not yet answered: whether its reply is wanted.
        self._waiting: deque[bool] = deque()
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_calls, daemon=True)
        self._sender.start()

    def _send_calls(self) -> None:
        """The sending thread: each call in turn, until :meth:`stop` (or the child is gone)."""
        while (call := self._outbox.get()) is not None:
            try:
                self._send.send_bytes(call)
            except OSError:  # the child ended: the reader sees it and raises ProcessGone
                return

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def forget(self) -> None:
        """Drop the replies of every call sent so far: a next user of this process reads only
        its own (the calls still run first, in order)."""
        self._waiting = deque(False for _ in self._waiting)

    def call(self, function: Callable[..., Any], *args: Any, wanted: bool = True) -> None:
        """Queue a call (returns once it is pickled); its reply is read by :meth:`replies`
        (dropped unless ``wanted``). Pickled here, not in the sending thread: a call that cannot
        be pickled fails in the caller instead of never being answered."""
        self._outbox.put(bytes(ForkingPickler.dumps((function, args))))
        self._waiting.append(wanted)

    def replies(self) -> list[Any]:
        """Wait for every call sent so far; the wanted results, in order.

        Raises :class:`CallFailed` (after all replies are in, so the process stays usable)
        when a wanted call raised, and :class:`ProcessGone` when the process ended first.
        """
        results: list[Any] = []
        failed: str | None = None
        while self._waiting:
            try:
                ok, value = self._receive.recv()
            except (EOFError, OSError):
                self._waiting.clear()
                raise ProcessGone(
                    f"het hulpproces voor {self._purpose} is onverwacht gestopt"
                ) from None
            if not self._waiting.popleft():
                continue
            if ok:
                results.append(value)
            elif failed is None:
                failed = value
        if failed is not None:
            raise CallFailed(failed)
        return results

    def kill(self) -> None:
        """End the process at once, in the middle of a call if need be: the caller waiting for
        its reply gets :class:`ProcessGone`; :meth:`stop` still cleans up after it."""
        self._process.kill()

    def stop(self) -> None:
        """End the process: close its input, then wait briefly (kill if it does not end)."""
        self._outbox.put(None)
        self._sender.join(timeout=5)
        for connection in (self._send, self._receive):
            connection.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._waiting.clear()


class Pool:
    """Helper processes started before they are needed, each handed to one user in turn.

    A command starts them first thing (:mod:`factlab.launch`), so that their imports overlap
    its own; whoever needs one then takes one that is waiting (alive), or gets a new one from
    ``start``. Thread-safe.
    """

    def __init__(self, start: Callable[[], HelperProcess]) -> None:
        self._start = start
        self._waiting: list[HelperProcess] = []
        self._lock = threading.Lock()

    @property
    def waiting(self) -> tuple[HelperProcess, ...]:
        with self._lock:
            return tuple(self._waiting)

    def take(self) -> HelperProcess:
        """A waiting process, or a new one."""
        while True:
            with self._lock:
                waiting = self._waiting.pop() if self._waiting else None
            if waiting is None:
                return self._start()
            if waiting.alive:
                return waiting
            waiting.stop()

    def keep(self, process: HelperProcess) -> None:
        """Keep a process nobody is using, for the next user."""
        with self._lock:
            self._waiting.append(process)

    def fill(self, count: int) -> None:
        """Start processes until ``count`` are waiting."""
        with self._lock:
            missing = count - len(self._waiting)
        for _ in range(missing):
            self.keep(self._start())


def _orphaned(parent: int) -> None:
    """End the child as soon as its parent is gone, even in the middle of a call (an import
    of seconds, say): nobody will read the result, and the CPU is the next run's."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


def _serve(parent: int) -> None:
    """The child: answer calls until standard input closes or the parent ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent's pid comes from the parent: it may be gone before this line runs.
    threading.Thread(target=_orphaned, args=(parent,), daemon=True).start()
    replies = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # whatever a library prints goes to standard error, not into the replies
    calls = Connection(0, writable=False)
    while True:
        try:
            function, args = calls.recv()
        except (EOFError, OSError):  # the parent ended (or was killed mid-call)
            return
        try:
            reply = (True, function(*args))
        except Exception as error:  # reported to the parent, which raises it
            reply = (False, type(error).__name__)
        try:
            replies.send(reply)
        except OSError:  # the parent ended while this call ran: nobody is waiting
            return


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
