"""The helper process: answers in order, names failures without their data, never outlives a
killed parent, never holds the key."""

from __future__ import annotations

import operator
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from factlab.helper_process import CallFailed, HelperProcess
from factlab.keys import ENVIRONMENT_VARIABLE
from tests.processes import ended


def test_calls_are_answered_in_order_and_unwanted_replies_dropped() -> None:
    helper = HelperProcess("de test")
    try:
        helper.call(operator.add, 1, 2)
        helper.call(operator.mul, 3, 4, wanted=False)
        helper.call(operator.sub, 10, 4)
        assert helper.replies() == [3, 6]
        helper.call(int, "not a number")  # a cancelled close's call: its failure is not ours
        helper.call(operator.add, 5, 5)
        helper.forget()
        helper.call(operator.add, 7, 7)
        assert helper.replies() == [14]
        assert helper.alive
    finally:
        helper.stop()
    assert ended(helper.pid)


def test_a_failing_call_names_the_exception_type_only_and_the_helper_stays_usable() -> None:
    helper = HelperProcess("de test")
    try:
        helper.call(int, "1503AB 12")  # a ValueError whose message would echo the text
        helper.call(operator.add, 1, 1)
        with pytest.raises(CallFailed) as raised:
            helper.replies()
        assert str(raised.value) == "ValueError"
        helper.call(operator.add, 2, 2)
        assert helper.replies() == [4]
    finally:
        helper.stop()


def test_the_helper_ends_at_once_and_quietly_when_its_parent_is_killed_mid_call() -> None:
    script = (
        "from factlab.helper_process import HelperProcess\n"
        "import time\n"
        "helper = HelperProcess('de test')\n"
        "helper.call(time.sleep, 30)\n"  # busy, as while importing Great Expectations
        "print(helper.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None and parent.stderr is not None
    child = int(parent.stdout.readline())
    assert not ended(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5  # not after the call: at once
    while not ended(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ended(child), "the helper outlived the close that started it"
    assert "Traceback" not in parent.stderr.read()  # the child shares its parent's stderr


def test_the_helper_does_not_inherit_the_managed_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "c2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcy1sb25nIQ==")
    monkeypatch.setenv("FACTLAB_OTHER", "kept")
    helper = HelperProcess("de test")
    try:
        helper.call(os.getenv, ENVIRONMENT_VARIABLE)
        helper.call(os.getenv, "FACTLAB_OTHER")
        assert helper.replies() == [None, "kept"]
    finally:
        helper.stop()


def test_a_call_that_cannot_be_sent_fails_at_once_and_the_helper_stays_usable() -> None:
    helper = HelperProcess("de test")
    try:
        with pytest.raises(TypeError):
            helper.call(operator.add, threading.Lock(), 1)  # a lock cannot be pickled
        helper.call(operator.add, 1, 2)
        assert helper.replies() == [3]
    finally:
        helper.stop()
