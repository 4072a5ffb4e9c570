"""The watcher announces each complete new file once, by organisation only."""

from __future__ import annotations

import os
from pathlib import Path

from factlab.watch import Watcher


def _drop(folder: Path, name: str, content: bytes = b"postcode\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return path


def test_a_file_is_announced_once_it_is_stable(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path, settle_seconds=10)
    path = _drop(tmp_path / "wmo", "a.csv")
    assert watcher.poll(now=0) == []
    assert watcher.poll(now=5) == []
    path.write_bytes(b"postcode;huisnummer\n")  # still growing: the clock starts again
    os.utime(path, ns=(1, 1))
    assert watcher.poll(now=12) == []
    assert watcher.poll(now=23) == ["wmo"]
    assert watcher.poll(now=40) == []  # once


def test_a_rename_from_part_is_complete_at_once(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path, settle_seconds=60)
    partial = _drop(tmp_path / "jeugd", "b.csv.part")
    assert watcher.poll(now=0) == []
    partial.rename(partial.with_name("b.csv"))
    assert watcher.poll(now=1) == ["jeugd"]


def test_a_file_delivered_again_after_it_was_taken_in_is_announced_again(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path, settle_seconds=0)
    path = _drop(tmp_path / "wmo", "a.csv")
    assert watcher.poll(now=0) == ["wmo"]
    path.unlink()  # the check took it in
    assert watcher.poll(now=1) == []
    _drop(tmp_path / "wmo", "a.csv", b"postcode;huisnummer\n")
    assert watcher.poll(now=2) == ["wmo"]


def test_run_announces_through_the_callback(tmp_path: Path) -> None:
    _drop(tmp_path / "wmo", "a.csv")
    _drop(tmp_path / "schuld", "b.csv")
    heard: list[list[str]] = []
    Watcher(tmp_path, settle_seconds=0).run(heard.append, interval=0, rounds=2)
    assert heard == [["schuld", "wmo"]]
