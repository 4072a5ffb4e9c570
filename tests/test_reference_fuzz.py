"""Every reader of a file Factlab did not write, on random and hostile bytes, never echoes it.

The partner-file reader has its own fuzz test (test_reader_fuzz.py). Here: the CBS readers
(address table, kerncijfers, wijk map, the CBS comparison table), the provision catalogue and
the edition config. Whatever the bytes, each either reads or raises a :class:`FactlabError`
(a user's mistake, one clear message); and no message holds a run of the file's text, so a
reference path that points at a secrets file by mistake cannot put the key on the screen.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from factlab.catalogue import load_catalogue
from factlab.config import load_config
from factlab.connectors.cbs import read_pc6hnr, read_wijken, read_wijkkaart
from factlab.connectors.cbs_gebruik import read_cbs_gebruik
from factlab.errors import FactlabError

WINDOW = 12
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CANARY = "KANARIE-ref-91c2"
SECRET = base64.b64encode(b"factlab-master-key-of-32-bytes!!").decode()

READERS: dict[str, tuple[str, Callable[[Path], Any]]] = {
    "pc6hnr": ("adressen.csv", read_pc6hnr),
    "kerncijfers": ("wijken.csv", read_wijken),
    "kaart": ("wijken.geojson", read_wijkkaart),
    "cbs_gebruik": ("gebruik.csv", read_cbs_gebruik),
    "catalogus": ("catalogus.csv", load_catalogue),
    "config": ("factlab.toml", load_config),
}

HOSTILE = {
    "secrets": f"FACTLAB_KEY={SECRET}\nDATABASE_PASSWORD={CANARY}\n".encode(),
    "header-like": f"PC6;Huisnummer;{CANARY};Wijk2024\n1503AB;1;x;y\n".encode(),
    "json": f'{{"type": "{CANARY}", "features": [{{"properties": {{"statcode": "{CANARY}"}}}}]}}'.encode(),
    "toml": f'[editie]\ngemeente = "{CANARY}"\n[{CANARY}]\nx = 1\n'.encode(),
    "binary": b"\x00\xff" * 40 + CANARY.encode(),
    "empty": b"",
}


def _read(reader: Callable[[Path], Any], name: str, data: bytes) -> str:
    """The message of the reader's refusal ('' when it read the bytes)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            reader(path)
        except FactlabError as error:
            return str(error)
    return ""


def _echoes(message: str, data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="replace")
    runs = {text[i : i + WINDOW] for i in range(max(0, len(text) - WINDOW + 1))}
    return [run for run in runs if run.strip() and "\ufffd" not in run and run in message]


@pytest.mark.parametrize("reader", READERS, ids=str)
@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_a_hostile_reference_file_is_refused_without_echo(reader: str, case: str) -> None:
    name, read = READERS[reader]
    data = HOSTILE[case]
    message = _read(read, name, data)
    assert CANARY not in message and SECRET not in message


@pytest.mark.parametrize("reader", READERS, ids=str)
@FUZZ
@given(data=st.binary(max_size=400) | st.text(max_size=300).map(str.encode))
@example(data=b"\r\x00")  # a lone CR before a NUL: the csv module refused it uncaught
@example(data=b"catalogus.cs")  # bytes that spell the file's name: naming the file is no echo
def test_random_bytes_are_read_or_refused_without_echo(reader: str, data: bytes) -> None:
    name, read = READERS[reader]
    message = _read(read, name, data).replace(name, "")  # the file's own name may be named
    assert _echoes(message, data) == []
