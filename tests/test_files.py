"""Atomic writes: complete or absent, never half, and with ordinary permissions."""

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factlab.files import atomic_write_bytes, atomic_write_text, json_text, same_content


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


def test_explicit_mode_overrides_the_umask(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "huishoudens.parquet", "x", mode=0o600)
    assert (tmp_path / "huishoudens.parquet").stat().st_mode & 0o777 == 0o600


def test_a_long_target_name_does_not_overflow_the_temporary_name(tmp_path: Path) -> None:
    name = "a" * 250
    atomic_write_text(tmp_path / name, "x")
    assert (tmp_path / name).read_text() == "x"


def test_same_content_compares_bytes_not_names(tmp_path: Path) -> None:
    one, two, three = (tmp_path / n for n in ("1", "2", "3"))
    one.write_bytes(b"abc" * 1_000_000)
    two.write_bytes(b"abc" * 1_000_000)
    three.write_bytes(b"abc" * 999_999 + b"abd")
    assert same_content(one, two)
    assert not same_content(one, three)
    assert not same_content(one, Path(__file__))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(2**64 - 2, 2**64 + 2) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_JSON)
def test_json_text_is_the_standard_indented_json(data: object) -> None:
    """Receipts and certificates read exactly as the standard library wrote them (text in any
    script, control characters, nesting, empty containers, integers beyond 64 bits)."""
    assert json_text(data) == json.dumps(data, ensure_ascii=False, indent=2) + "\n"
