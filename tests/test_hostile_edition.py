"""One partner drops every hostile file at once; the edition goes on for everybody else.

Each hostile file gets a receipt (quarantined, or processed where it is merely odd), its canary
reaches no output, feedback, log or console line, and every table the other partners' data
produces is exactly what a run without the hostile partner publishes.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from editions import Published, publish_edition

from factlab.arrival import RECEIPT_SUFFIX
from factlab.intake import FEEDBACK_FOLDER
from factlab.names import file_stem
from tests import hostile
from tests.hostile import CANARY

HOSTILE = "Aanvaller en Co"
#: The published tables that list organisations; everything else comes from households only.
PER_ORGANISATION = ("aanlevering", "aanlevering_voorzieningen")


def _hostile_files(folder: Path) -> list[str]:
    """Files that must each be refused whole (the merely odd ones are in test_intake/corpus)."""
    folder.mkdir()
    files = {
        "aanhalingsteken.csv": hostile.quote_closed_later(),
        "nooit-gesloten.csv": hostile.quote_never_closed(),
        "lange-regel.csv": hostile.huge_line(size=2 << 20, fields=140_000),
        "bom.xlsx": hostile.xlsx_bomb(),
        "belooft-10-GiB.xlsx": hostile.xlsx_claiming(10 << 30),
        "geen-kop.csv": f"{CANARY};1;WMO-HH\n1503AB;2;WMO-HH\n".encode(),
        "alleen-kop.csv": hostile.csv_bytes([]),
        "geheimen.csv": hostile.secrets_file(),
        "x" * 240 + ".csv": b"\x00\x01\x02" * 100,
        os.fsdecode(b"cli\xebnt.xlsx"): b"PK\x03\x04" + CANARY.encode(),  # not really a zip
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return list(files)


def _tables(edition_dir: Path) -> dict[str, pl.DataFrame]:
    return {
        p.stem: pl.read_csv(p, infer_schema=False)
        for p in sorted((edition_dir / "tabellen").glob("*.csv"))
    }


class _Messages(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def runs(
    synth_source: Path, published_edition: Published, tmp_path_factory: pytest.TempPathFactory
):
    """The clean edition (the session's) and the same uploads with a hostile partner added."""
    root = tmp_path_factory.mktemp("vijandig")
    messages = _Messages()
    logging.getLogger("factlab").addHandler(messages)
    try:
        gemeente = root / "vijandig"
        shutil.copytree(synth_source, gemeente)
        names = _hostile_files(gemeente / "uploads" / HOSTILE)
        attacked = publish_edition(gemeente, root / "uit-vijandig")
    finally:
        logging.getLogger("factlab").removeHandler(messages)
    results = {
        "schoon": (published_edition.gemeente, [], published_edition.result),
        "vijandig": (gemeente, names, attacked),
    }
    return results, messages.messages


def test_every_hostile_file_is_quarantined_with_a_receipt(runs) -> None:
    gemeente, names, result = runs[0]["vijandig"]
    statuses = {
        o.upload.name: o.receipt.status for o in result.outcomes if o.upload.organisation == HOSTILE
    }
    assert statuses == dict.fromkeys(names, "quarantaine")
    feedback = gemeente / "uploads" / HOSTILE / FEEDBACK_FOLDER
    for name in names:
        assert (feedback / f"{file_stem(name)}{RECEIPT_SUFFIX}").is_file(), name
        assert not (gemeente / "uploads" / HOSTILE / name).exists()


def test_the_other_partners_tables_are_unchanged(runs) -> None:
    clean = _tables(runs[0]["schoon"][2].edition_dir)
    attacked = _tables(runs[0]["vijandig"][2].edition_dir)
    assert set(clean) == set(attacked)
    for name, table in clean.items():
        if name not in PER_ORGANISATION:
            assert attacked[name].equals(table), name
            continue
        # These list the hostile partner too, with nothing accepted; its extra row may make
        # secondary suppression hide a cell more, but never changes a published number.
        rows = attacked[name].filter(pl.col("organisatie") != HOSTILE)
        assert rows.height == table.height, name
        for before, after in zip(table.iter_rows(), rows.iter_rows(), strict=True):
            assert all(a in (b, None) for a, b in zip(after, before, strict=True)), name


def test_no_canary_anywhere(runs) -> None:
    results, messages = runs
    gemeente, _, result = results["vijandig"]
    for folder in (result.edition_dir, gemeente / "uploads" / HOSTILE / FEEDBACK_FOLDER):
        for path in folder.rglob("*"):
            if path.is_file():
                assert CANARY.encode() not in path.read_bytes(), path
    for outcome in result.outcomes:
        assert CANARY not in str(outcome.receipt.as_json())
    assert messages and not any(CANARY in message for message in messages)
