"""The release certificate: complete, protected, and revealing nothing the tables do not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from attacker import EDITIONS
from households_factory import analyse_area

from factlab.attack import attack_tables
from factlab.certificate import build_certificate, write_certificate
from factlab.disclose import CONTRACTS, DEFAULT_RULES, Protected
from factlab.disclose import table_cells as true_cells
from factlab.schemas.outputs import CERTIFICATE


@pytest.fixture(scope="module")
def published() -> Protected:
    return EDITIONS["klein"].publish()


def test_every_suppressed_cell_of_every_table_is_listed_with_its_bounds(published) -> None:
    certificate = build_certificate(published, DEFAULT_RULES)
    listed = {(c.tabel, tuple(c.rij.values()), c.kolom) for c in certificate.onderdrukte_cellen}
    expected = set()
    for name, frame in published.tables.items():
        contract = CONTRACTS[name]
        keys = ["gebied_code", *(c.name for c in contract.role("key"))]
        for row in frame.iter_rows(named=True):
            for column in contract.role("count"):
                if row[column.name] is None:
                    expected.add((name, tuple(str(row[k]) for k in keys), column.name))
    assert listed == expected and len(listed) == len(certificate.onderdrukte_cellen)
    assert certificate.beschermd and all(c.beschermd for c in certificate.onderdrukte_cellen)
    for summary in certificate.tabellen:
        assert summary.onderdrukt == summary.primair + summary.secundair
        assert summary.onderdrukt == sum(c[0] == summary.tabel for c in listed)
    assert sum(t.primair for t in certificate.tabellen) > 0
    assert certificate.regels["drempel"] == 7 and certificate.regels["afronding"] == 5


def test_the_bounds_are_what_anyone_computes_from_the_published_tables(published) -> None:
    """So the certificate adds no knowledge about a suppressed cell."""
    public = attack_tables(published.tables, published.relations, DEFAULT_RULES)
    certificate = build_certificate(published, DEFAULT_RULES)
    by_cell = {}
    for name, frame in published.tables.items():
        contract = CONTRACTS[name]
        for row in frame.iter_rows(named=True):
            for column in contract.role("count"):
                if row[column.name] is None:
                    by_cell[(name, row["gebied_code"], column.name, *map(str, row.values()))] = (
                        public[contract.count_key(column, row)]
                    )
    assert len(by_cell) == len(certificate.onderdrukte_cellen)
    for cell, bounds in zip(by_cell.values(), certificate.onderdrukte_cellen, strict=True):
        assert (bounds.ondergrens, bounds.bovengrens) == (cell.low, cell.high)


def test_no_true_count_of_a_suppressed_cell_is_written(published, tmp_path: Path) -> None:
    path = write_certificate(build_certificate(published, DEFAULT_RULES), tmp_path)
    assert path == tmp_path / CERTIFICATE
    record = json.loads(path.read_text(encoding="utf-8"))
    for cell in record["onderdrukte_cellen"]:
        assert set(cell) == {"tabel", "rij", "kolom", "ondergrens", "bovengrens", "beschermd"}
    public = build_certificate(published, DEFAULT_RULES).public()
    assert "primair" not in json.dumps(public.as_json()) and public.beschermd is True
    assert public.smalste_interval is not None
    assert public.smalste_interval >= DEFAULT_RULES.threshold
    # The only numbers besides bounds and counts of cells are the rules.
    numbers = {int(n) for n in re.findall(r":\s*(\d+)", path.read_text(encoding="utf-8"))}
    allowed = {c["ondergrens"] for c in record["onderdrukte_cellen"]}
    allowed |= {c["bovengrens"] for c in record["onderdrukte_cellen"]}
    allowed |= {v for t in record["tabellen"] for k, v in t.items() if k != "tabel"}
    allowed |= set(record["regels"].values())
    assert numbers <= allowed


def test_the_bounds_hold_the_truth(published) -> None:
    """The attacker's model is sound: every true count lies within its proven interval."""
    edition = EDITIONS["klein"]
    truth = analyse_area(edition.households(), edition.area())
    values = dict(truth.hidden)
    for name, frame in truth.tables.items():
        values |= true_cells(CONTRACTS[name], frame)
    checked = 0
    for key, bounds in published.bounds.items():
        if key in values:  # the delivery counts come from the receipts, not the households
            assert bounds.low <= values[key], key
            assert bounds.high is None or values[key] <= bounds.high, key
            checked += 1
    assert checked > 100
