"""The leak scanner finds every planted leak, in text and binary files, and nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from factlab.keys import derive_edition_key
from factlab.pseudonymise import hmac_key
from tests.leakscan import scan_for_leaks

TRUTH = pl.DataFrame(
    {
        "postcode": ["1503AB", "1506XK"],
        "huisnummer": [12, 7],
        "huisletter": ["A", None],
        "toevoeging": [None, "2"],
    }
)
KEY = derive_edition_key(b"leakscan-test-master-key-32bytes!", "2026")


def _pseudonym(canonical: str) -> str:
    return hmac.new(hmac_key(KEY).encode(), canonical.encode(), hashlib.sha256).hexdigest()


def _pseudonym_number(canonical: str) -> int:
    """The pseudonym as the close holds it: the HMAC's first 128 bits."""
    return int(_pseudonym(canonical)[:32], 16)


def _table(canonical: str, write: str) -> bytes:
    """A file holding the pseudonym column as the close stages it (parquet or Arrow)."""
    buffer = io.BytesIO()
    frame = pl.DataFrame(
        {"pseudoniem": [_pseudonym_number(canonical)]}, schema={"pseudoniem": pl.UInt128}
    )
    getattr(frame, write)(buffer)
    return buffer.getvalue()


def _xlsx(text: str) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.add_worksheet().write(0, 0, text)
    book.close()
    return buffer.getvalue()


def _parquet(text: str) -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame({"x": [[text]]}).write_parquet(buffer, compression="zstd")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("a.txt", b"adres 1503AB 12 gevonden", "invoeradres"),
        ("b.txt", b"1503 ab 12a", "invoeradres"),
        ("c.csv", b"postcode;huisnummer\n1506xk;7\n", "invoeradres"),
        ("d.log", b"sleutel 1503AB|12|A|", "invoeradres"),
        ("e.json", f'{{"p": "{_pseudonym("1503AB|12|A|")}"}}'.encode(), "pseudoniem"),
        ("f.txt", KEY.secret.hex().upper().encode(), "sleutel"),
        ("g.txt", base64.b64encode(KEY.secret), "sleutel"),
        ("h.txt", base64.urlsafe_b64encode(KEY.secret).rstrip(b"="), "sleutel"),
        ("i.xlsx", _xlsx("1503 AB 12"), "invoeradres"),
        ("j.parquet", _parquet("1506XK|7||2"), "invoeradres"),
        ("k.parquet", _parquet(_pseudonym("1506XK|7||2")), "pseudoniem"),
        ("l.txt", "1503AB 12".encode("utf-16"), "invoeradres"),
        ("m.parquet", _table("1503AB|12|A|", "write_parquet"), "pseudoniem"),
        ("n.arrow", _table("1506XK|7||2", "write_ipc"), "pseudoniem"),
        ("o.txt", f"p={_pseudonym_number('1503AB|12|A|')}".encode(), "pseudoniem"),
        ("p.txt", _pseudonym("1506XK|7||2")[:32].upper().encode(), "pseudoniem"),
    ],
)
def test_planted_leak_is_found(tmp_path: Path, name: str, content: bytes, what: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / name).write_bytes(content)
    leaks = scan_for_leaks([tmp_path], truth=TRUTH, key=KEY)
    assert any(leak.endswith(what) for leak in leaks), leaks


def test_clean_files_and_near_misses_pass(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("1503AB 13; 1503AC 12; 11503AB 12; wijk WK047912; 2026-01-12")
    (tmp_path / "b.parquet").write_bytes(_parquet("WMO-HH"))
    (tmp_path / "c.txt").write_text(_pseudonym("1503AB|13||"))  # not an input address
    (tmp_path / "d.parquet").write_bytes(_table("1503AB|13||", "write_parquet"))
    assert scan_for_leaks([tmp_path], truth=TRUTH, key=KEY) == []


def test_captured_logs_and_file_names_are_scanned(tmp_path: Path) -> None:
    (tmp_path / "1503AB-12.txt").write_text("niets")
    leaks = scan_for_leaks(
        [tmp_path], truth=TRUTH, key=KEY, texts={"log": "WARNING rij 1506 XK 7 afgewezen"}
    )
    assert leaks == [f"{tmp_path / '1503AB-12.txt'}: invoeradres", "log: invoeradres"]


def test_extra_secrets_such_as_the_master_key(tmp_path: Path) -> None:
    master = b"another-master-key-of-32-bytes!!"
    (tmp_path / "a.txt").write_bytes(base64.b64encode(master))
    assert scan_for_leaks([tmp_path], truth=TRUTH, secrets=[master]) == [
        f"{tmp_path / 'a.txt'}: sleutel"
    ]
