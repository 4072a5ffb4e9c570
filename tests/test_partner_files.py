"""The partner-file connector: dialects, batches, and a huge file in bounded memory."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from factlab.config import PartnerSettings
from factlab.connectors.partner_files import (
    SOURCE_ROW,
    UnreadableFile,
    _drop_blank_rows,
    open_partner_file,
)
from factlab.errors import DEBUG_VARIABLE
from factlab.intake import Upload, open_delivery
from factlab.validate import DuplicateTracker, Tally, validate
from tests.corpus.build import write_reference
from tests.corpus.cases import HEADER, POSTCODE, csv, rows

HUGE_BYTES = 200 * 1024 * 1024
HUGE_ADDRESSES = 9_999 * 20  # a large city's worth of households, each on many rows
#: Measured 0.57 GB for the whole run (2026-12-04). Holding the file whole would add ~0.5 GB for
#: its text and lines alone (measured: 428 -> 935 MB), and as much again for one frame of all
#: its rows: so this bound fails a reader that stops streaming, with room for the link.
HUGE_PEAK_RSS = 1024 * 1024 * 1024


def test_rows_keep_their_spreadsheet_number_across_batches(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(csv(rows(1, 10)), encoding="utf-8")
    batches = list(open_partner_file(path).batches(rows=3))
    assert [b.height for b in batches] == [3, 3, 3, 1]
    assert pl.concat(batches).get_column(SOURCE_ROW).to_list() == list(range(2, 12))


def test_duplicates_are_found_across_batches(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    table = rows(1, 5)
    path.write_text(csv([*table, table[0], table[4], table[4]]), encoding="utf-8")
    delivery = open_delivery(Upload("p", path, ""), PartnerSettings(naam="p"))
    tracker, tally = DuplicateTracker(), Tally()
    for raw, mapped in delivery.batches(rows=2):
        tally = tally.add(
            validate(mapped, catalogue_codes=frozenset({"WMO-HH"}), period=None,
                     duplicate_mask=tracker.mask(raw))
        )  # fmt: skip
    assert (tally.rows_read, tally.duplicates, tally.accepted) == (8, 3, 5)


def test_formats_are_described_for_the_receipt(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(csv(rows(1, 2), sep="\t").encode("utf-16"))
    assert open_partner_file(path).describe() == {
        "type": "csv",
        "codering": "utf-16",
        "scheidingsteken": "tab",
    }


def test_utf8_error_late_in_a_file_means_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(csv(rows(1, 3000)).encode() + "1503AB;9;;;WMO-HH;;Zoë\n".encode("cp1252"))
    assert open_partner_file(path).encoding == "cp1252"


def test_unreadable_messages_are_dutch_and_hold_no_content(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("1503AB 12 WMO-HH\n", encoding="utf-8")
    with pytest.raises(UnreadableFile) as error:
        open_partner_file(path)
    assert "scheidingsteken" in str(error.value)
    assert "1503" not in str(error.value)


def _write_huge(path: Path, size: int) -> int:
    """A valid UTF-8 delivery of about ``size`` bytes, written in chunks; returns its rows.

    Rows are distinct (address x start date), and there are :data:`HUGE_ADDRESSES` addresses.
    """
    chunk = 1_000_000
    n = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write(";".join(HEADER) + "\n")
        while handle.tell() < size:
            index = pl.int_range(n, n + chunk, eager=True)
            frame = pl.DataFrame(
                {
                    "postcode": POSTCODE,
                    "huisnummer": (index % 9_999 + 1).cast(pl.String),
                    "huisletter": "",
                    "huisnummertoevoeging": (index % HUGE_ADDRESSES // 9_999).cast(pl.String),
                    "voorziening": "WMO-HH",
                    "startdatum": pl.select(
                        pl.lit(date(2025, 1, 1)) + pl.duration(days=index // HUGE_ADDRESSES)
                    )
                    .to_series()
                    .dt.to_string("%Y-%m-%d"),
                    "einddatum": "",
                }
            )
            handle.write(frame.write_csv(separator=";", include_header=False))
            n += chunk
    return n


def test_huge_file_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    """~200 MB, ~6 million rows, through a real CLI run; deselect with ``-k 'not huge'``."""
    root = tmp_path
    (root / "uploads" / "groot").mkdir(parents=True)
    config = write_reference(root, {})
    n = _write_huge(root / "uploads" / "groot" / "levering.csv", HUGE_BYTES)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "factlab", "run", "--uploads", str(root / "uploads"),
         "--out", str(root / "uit"), "--edition", "2026", "--config", str(config)],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, DEBUG_VARIABLE: "1"},  # a failure shows its cause (synthetic data)
    )  # fmt: skip
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    assert done.returncode == 0, done.stderr
    receipt = json.loads(
        (
            root / "uit" / ".ter-controle" / "2026" / "ontvangst" / "groot" / "levering.csv.json"
        ).read_text()
    )
    assert receipt["rijen_gelezen"] == receipt["geaccepteerd"] == n
    print(
        f"huge file: {HUGE_BYTES / 2**20:.0f} MB, {n} rows, {seconds:.1f} s, peak RSS {peak / 2**20:.0f} MB"
    )
    assert peak < HUGE_PEAK_RSS


_CELLS = st.one_of(st.none(), st.sampled_from(["", " ", "\t", "\u00a0", "\u2003", "a", " b ", "0"]))


@given(st.integers(1, 4).flatmap(lambda n: st.lists(st.lists(_CELLS, min_size=n, max_size=n))))
def test_blank_rows_are_the_rows_without_a_filled_cell(rows: list[list[str | None]]) -> None:
    """The quick blank-row filter (first column first) keeps exactly the rows with a cell that
    is not empty or white space, in order."""
    width = len(rows[0]) if rows else 1
    names = [f"k{i}" for i in range(width)]
    frame = pl.DataFrame(
        [(n, *row) for n, row in enumerate(rows, start=2)],
        schema={SOURCE_ROW: pl.Int64, **dict.fromkeys(names, pl.String)},
        orient="row",
    )
    kept = [n for n, row in enumerate(rows, start=2) if any(c and c.strip() for c in row)]
    assert _drop_blank_rows(frame).get_column(SOURCE_ROW).to_list() == kept
