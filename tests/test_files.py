"""Atomic writes: complete or absent, never half, and with ordinary permissions."""

import os
from pathlib import Path

import pytest

from factlab.files import atomic_write_bytes, atomic_write_text, sha256_file


def test_write_replaces_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "rapport.html"
    atomic_write_text(target, "oud")
    atomic_write_text(target, "nieuw")
    assert target.read_text() == "nieuw"
    assert [p.name for p in target.parent.iterdir()] == ["rapport.html"]


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "tabel.csv"
    atomic_write_text(target, "oud")

    def disk_full(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"nieuw")
    assert target.read_text() == "oud"
    assert [p.name for p in tmp_path.iterdir()] == ["tabel.csv"]


def test_permissions_follow_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "rapport.html", "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "rapport.html").stat().st_mode & 0o777 == 0o644


def test_sha256_of_file(tmp_path: Path) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
