"""Issue 8's "done when": one source per rule, and every check, doc and label follows it.

Three sources, each changed here (or read against the docs) to show what depends on it:

- the area codes (:data:`factlab.schemas.areas.AREA_CODES`): the gate, both quality suites and
  the report's choice of wijk rows read it when they run; the docs and the Excel definition of
  ``gebied_code`` name its prefixes;
- the disclosure defaults (:class:`factlab.schemas.disclosure.DisclosureRules`): the config
  default, ``factlab init``'s template, every check and every sentence of the report, the
  workbook and the certificate take their numbers from it; the docs state the same numbers;
- the table contracts (:data:`factlab.schemas.tables.CONTRACTS`): the gate, the quality suite,
  the Dutch headings and definitions, and the docs (per table section) list exactly their
  columns.

The gebied-code pattern in the gate and suites is also covered by
``tests/test_quality.py::test_one_area_code_definition_drives_every_check``.
"""

from __future__ import annotations

import html
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from attacker import EDITIONS, PROVENANCE, report_html

from factlab import publish
from factlab.certificate import build_certificate
from factlab.config import ConfigError, disclosure_rules
from factlab.disclose import DisclosureError, gate
from factlab.quality import table_batches, table_expectations
from factlab.report import narrative
from factlab.report.format import is_gemeente, is_wijk
from factlab.schemas import areas
from factlab.schemas.disclosure import (
    DEFAULT_RULES,
    MIN_ROUNDING,
    MIN_THRESHOLD,
    DisclosureRules,
)
from factlab.schemas.tables import CONTRACTS, GEBIED, TABLE_FOLDER, Column
from factlab.setup_edition import render_config

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TEXTS = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]


# --------------------------------------------------------------------------- area codes


def _prefix(pattern: str) -> str:
    """The literal letters an area-code pattern starts with (``GM``, ``WK``, ``BU``)."""
    found = re.match(r"[A-Z]+", pattern)
    assert found, pattern
    return found.group()


def test_docs_and_the_excel_definition_name_the_area_code_prefixes() -> None:
    codes = areas.AREA_CODES
    row = next(
        line for line in (DOCS / "tabellen.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `gebied_code` |")
    )  # fmt: skip
    definition = publish.COLUMNS["gebied_code"][1]
    for text in (row, definition):
        assert f"{_prefix(codes.gemeente)}" in text and f"{_prefix(codes.wijk)}" in text, text
        assert codes.onbekend in text
    buurt = publish.COLUMNS["buurt"][1] + (DOCS / "tabellen.md").read_text(encoding="utf-8")
    assert f"`{_prefix(codes.buurt)}…`" in buurt


def test_the_report_finds_wijken_by_the_one_area_code_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = pl.DataFrame({"gebied_code": ["GM0363", "WK0363AF", "WK036301", "onbekend"]})
    assert narrative.wijk_rows(frame).get_column("gebied_code").to_list() == [
        "WK0363AF", "WK036301"
    ]  # fmt: skip
    assert is_gemeente("GM0363") and not is_gemeente("WK036301") and is_wijk("WK0363AF")
    monkeypatch.setattr(areas, "AREA_CODES", areas.AreaCodes(wijk=r"WK\d{6}"))
    assert narrative.wijk_rows(frame).get_column("gebied_code").to_list() == ["WK036301"]
    assert not is_wijk("WK0363AF")


# --------------------------------------------------------------------------- disclosure defaults

#: How the docs state a default or a floor: pattern -> which number it must be.
STATED = {
    r"`drempel` \((?:standaard|default) (\d+)\)": DEFAULT_RULES.threshold,
    r"`afronding` \((?:standaard|default) (\d+)\)": DEFAULT_RULES.rounding,
    r"drempel` \((?:standaard|default) (\d+)\)": DEFAULT_RULES.threshold,
    r"drempel = (\d+)": DEFAULT_RULES.threshold,
    r"afronding = (\d+)": DEFAULT_RULES.rounding,
    r"standaardinstellingen \(drempel (\d+)": DEFAULT_RULES.threshold,
    r"standaardinstellingen \(drempel \d+, afronding (\d+)\)": DEFAULT_RULES.rounding,
    r"\*\*Primair\*\*: 0 t/m (\d+)": DEFAULT_RULES.threshold,
    r"afgerond op een veelvoud van (\d+)": DEFAULT_RULES.rounding,
    r"`drempel` at least (\d+)": MIN_THRESHOLD,
    r"`afronding` at least (\d+)": MIN_ROUNDING,
    r"Zwakker dan\s+drempel (\d+)": MIN_THRESHOLD,
    r"Zwakker dan\s+drempel \d+ of afronding (\d+)": MIN_ROUNDING,
}


def test_the_docs_state_the_disclosure_defaults_of_the_one_source() -> None:
    """Changing a default (or floor) in schemas/disclosure.py fails here until the docs say it."""
    wrong, seen = [], 0
    for path in TEXTS:
        text = path.read_text(encoding="utf-8")
        for pattern, value in STATED.items():
            for found in re.finditer(pattern, text):
                seen += 1
                if int(found.group(1)) != value:
                    wrong.append(f"{path.name}: {found.group(0)!r} (bron: {value})")
    assert wrong == []
    assert seen >= 10  # the statements are really found (a reworded doc must keep a pattern)


def test_config_and_init_take_the_defaults_from_the_one_source() -> None:
    template = tomllib.loads(render_config("GM0999", "Test", ["wijkteam"], 2026, with_map=False))
    assert template["openbaarmaking"] == {
        "drempel": DEFAULT_RULES.threshold,
        "afronding": DEFAULT_RULES.rounding,
    }
    assert DisclosureRules() == DEFAULT_RULES
    with pytest.raises(ConfigError) as refused:
        disclosure_rules(MIN_THRESHOLD - 1, DEFAULT_RULES.rounding)
    assert f"drempel minstens {MIN_THRESHOLD}, afronding minstens {MIN_ROUNDING}" in str(
        refused.value
    )


def test_every_label_states_the_rules_in_force() -> None:
    """With other rules than the defaults, the report, the workbook, the suite and the
    certificate say those rules, and nowhere the defaults."""
    rules = DisclosureRules(threshold=11, rounding=4)
    assert (rules.threshold, rules.rounding) != (DEFAULT_RULES.threshold, DEFAULT_RULES.rounding)
    edition = EDITIONS["normaal"]
    area = edition.area()
    protected = edition.publish(rules)
    page = html.unescape(report_html(protected, area, rules))
    notes = " ".join(text for _, text in publish._notes(PROVENANCE, rules, None))
    suite = " ".join(e.naam for batch in table_expectations(rules).values() for e in batch)
    certificate = build_certificate(protected, rules).regels
    for text in (page, notes):
        assert f"0 tot en met {rules.threshold}" in text or f"0 t/m {rules.threshold}" in text
        assert (
            f"veelvoud van {rules.rounding}" in text or f"veelvouden van {rules.rounding}" in text
        )
        assert f"0 tot en met {DEFAULT_RULES.threshold} " not in text
        assert f"veelvoud van {DEFAULT_RULES.rounding} " not in text
    assert f"nooit 0-{rules.threshold}" in suite and f"veelvoud van {rules.rounding}" in suite
    assert (certificate["drempel"], certificate["afronding"]) == (rules.threshold, rules.rounding)


# --------------------------------------------------------------------------- table columns


def _sections() -> dict[str, set[str]]:
    """docs/tabellen.md: per table named in a section heading, the columns its rows document."""
    text = (DOCS / "tabellen.md").read_text(encoding="utf-8")
    found: dict[str, set[str]] = {}
    for section in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        heading, _, body = section.partition("\n")
        tables = re.findall(r"(\w+)\.csv", heading.split("—")[0])
        columns = {
            name
            for line in body.splitlines()
            if line.startswith("| `")
            for name in re.findall(r"`(\w+)`", line.split("|")[1].split("(")[0])
        }
        for table in tables:
            found[table] = columns
    return found


def doc_problems() -> list[str]:
    """Columns of a contract its docs section leaves out, and documented columns of no contract."""
    sections = _sections()
    common = {c.name for c in GEBIED}
    problems = [f"{name}: geen sectie" for name in CONTRACTS if name not in sections]
    for name, contract in CONTRACTS.items():
        documented = sections.get(name, set())
        problems += [
            f"{name}.{c} ontbreekt" for c in contract.names if c not in documented | common
        ]
    for table, documented in sections.items():
        allowed = {
            c for name in sections if sections[name] is documented for c in CONTRACTS[name].names
        }
        problems += [f"{table}: {c} staat in geen contract" for c in documented - allowed]
    return problems


def label_problems() -> list[str]:
    """Contract columns without a Dutch heading and definition, and labels of no column."""
    used = {c for contract in CONTRACTS.values() for c in contract.names}
    problems = [f"{c}: geen kop" for c in sorted(used) if c not in publish.COLUMNS]
    problems += [f"{c}: kop zonder kolom" for c in sorted(set(publish.COLUMNS) - used)]
    return problems


def test_the_docs_list_exactly_the_columns_of_each_contract() -> None:
    assert all(name in _sections() for name in CONTRACTS)
    assert doc_problems() == []


def test_every_published_column_has_a_dutch_heading_and_definition() -> None:
    assert label_problems() == []
    assert all(publish.heading(c) and definition for c, (_, definition) in publish.COLUMNS.items())


def test_a_new_column_in_the_contract_reaches_every_check_doc_and_label(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Add a count column to one contract: the gate refuses the old table, the suite expects
    the column, the published type includes it, and the doc and label checks ask for it."""
    contract = CONTRACTS["domeinen"]
    old = pl.DataFrame(
        {"gebied_code": ["GM0999"], "gebied_naam": ["G"], "domein": ["wmo"], "huishoudens": [15]},
        schema=contract.schema,
    )
    gate("domeinen", old)
    new = Column("huishoudens_nieuw", "count", quantity="nieuw")
    monkeypatch.setitem(CONTRACTS, "domeinen", replace(contract, columns=(*contract.columns, new)))
    with pytest.raises(DisclosureError, match="huishoudens_nieuw"):
        gate("domeinen", old)
    (tmp_path / TABLE_FOLDER).mkdir()
    old.write_csv(tmp_path / TABLE_FOLDER / "domeinen.csv")
    tables = {name: frame for name, frame, _ in table_batches(tmp_path)}["tabellen"]
    written, expected = tables.row(0)[1:]
    assert "huishoudens_nieuw" in expected and "huishoudens_nieuw" not in written
    assert CONTRACTS["domeinen"].schema["huishoudens_nieuw"] == pl.Int64()
    assert "domeinen.huishoudens_nieuw ontbreekt" in doc_problems()
    assert "huishoudens_nieuw: geen kop" in label_problems()
