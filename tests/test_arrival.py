"""The check on arrival reads a file one batch ahead, in a thread, without changing what it sees."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from factlab.arrival import _ReadAhead


class Broken(Exception):
    pass


def _numbers(n: int, fail_at: int | None, closed: list[bool]) -> Iterator[int]:
    try:
        for i in range(n):
            if i == fail_at:
                raise Broken(f"kapot bij {i}")
            yield i
    finally:
        closed.append(True)


def test_items_and_a_failure_arrive_in_order() -> None:
    closed: list[bool] = []
    seen: list[int] = []
    with pytest.raises(Broken, match="kapot bij 3"), _ReadAhead(_numbers(10, 3, closed)) as items:
        seen.extend(items)
    assert seen == [0, 1, 2]
    assert closed == [True]
    closed.clear()
    with _ReadAhead(_numbers(1000, None, closed)) as items:
        assert list(items) == list(range(1000))
    assert closed == [True]


def test_leaving_early_stops_the_reading_thread_and_closes_the_source() -> None:
    closed: list[bool] = []
    before = threading.active_count()
    with (
        pytest.raises(RuntimeError, match="te traag"),
        _ReadAhead(_numbers(10**9, None, closed)) as items,
    ):
        for i in items:
            if i == 5:
                raise RuntimeError("te traag")
    assert closed == [True]  # the generator was closed, its files with it
    assert threading.active_count() == before  # and no thread reads on
