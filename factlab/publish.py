"""Publish stage: analyse, protect, gate, then write tables (CSV + Excel) and the report.

Nothing is written until every output has passed the gate: a refused table leaves the edition
folder as it was (each file is also written atomically via :mod:`factlab.files`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from factlab.analyse import analyse, receipts_tables
from factlab.catalogue import load_catalogue
from factlab.certificate import CERTIFICATE, build_certificate, write_certificate
from factlab.disclose import CONTRACTS, DEFAULT_RULES, DisclosureRules, Protected, gate, protect
from factlab.files import atomic_write_bytes, atomic_write_text
from factlab.report import inline_plotly, render_report

TABLE_DIR = "tabellen"
WORKBOOK = "tabellen.xlsx"
REPORT = "rapport.html"
_FIXED_CREATED = datetime(2000, 1, 1, tzinfo=UTC)


def protected_tables(
    households: pl.DataFrame,
    *,
    gemeente_code: str,
    gemeente_naam: str,
    wijken: pl.DataFrame,
    provenance: Mapping[str, Any],
    rules: DisclosureRules = DEFAULT_RULES,
    catalogue: pl.DataFrame | None = None,
) -> Protected:
    """All publishable tables, protected together (relations cross tables), in contract order."""
    catalogue = load_catalogue() if catalogue is None else catalogue
    analysis = analyse(
        households,
        gemeente_code=gemeente_code,
        gemeente_naam=gemeente_naam,
        wijken=wijken,
        catalogue=catalogue,
        top_n=rules.top_combinations,
        threshold=rules.threshold,
    )
    receipts, receipt_relations = receipts_tables(provenance, gemeente_code, gemeente_naam)
    result = protect(
        analysis.tables | receipts,
        analysis.hidden,
        (*analysis.relations, *receipt_relations),
        rules,
    )
    # The top list is ordered by the *published* value, so its order reveals nothing more.
    top = result.tables["top_combinaties"].sort(
        ["huishoudens", "combinatie"], descending=[True, False], nulls_last=True
    )
    ordered = {
        name: (top if name == "top_combinaties" else result.tables[name]) for name in CONTRACTS
    }
    return replace(result, tables=ordered)


def table_csv(frame: pl.DataFrame) -> str:
    """Comma-separated UTF-8; a suppressed cell is empty."""
    return frame.write_csv(null_value="")


def _is_secret(contract_name: str, column: str, row: Mapping[str, Any]) -> bool:
    """A null count is secret; a null derived value is secret unless a public input is missing."""
    contract = CONTRACTS[contract_name]
    col = next(c for c in contract.columns if c.name == column)
    if col.role == "count":
        return True
    if col.role == "derived":
        public = {c.name for c in contract.role("public")}
        return not any(i in public and not row.get(i) for i in col.inputs)
    return False


def workbook_bytes(tables: Mapping[str, pl.DataFrame], rules: DisclosureRules) -> bytes:
    """One sheet per table plus a 'toelichting' sheet; secret cells read 'geheim', greyed."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    # A fixed creation date keeps the workbook byte-identical across reruns.
    book.set_properties({"created": _FIXED_CREATED})
    bold = book.add_format({"bold": True, "bottom": 1})
    secret = book.add_format({"italic": True, "font_color": "#555555", "bg_color": "#E7E6E6"})
    info = book.add_worksheet("toelichting")
    info.set_column(0, 0, 28)
    info.set_column(1, 1, 90)
    notes = [
        ("Geheimhouding", f"Aantallen 0 t/m {rules.threshold} zijn geheim ('geheim')."),
        ("Afronding", f"Alle aantallen afgerond op een veelvoud van {rules.rounding}."),
        ("Afgeleide cijfers", "Percentages, verwacht en ratio berekend uit afgeronde aantallen."),
        ("Woningen", "Openbare CBS-kerncijfers; niet afgerond."),
    ] + [(name, c.title) for name, c in CONTRACTS.items()]
    for i, (key, text) in enumerate(notes):
        info.write(i, 0, key, bold if i < 4 else None)
        info.write(i, 1, text)
    for name, frame in tables.items():
        sheet = book.add_worksheet(name[:31])
        for j, column in enumerate(frame.columns):
            sheet.write(0, j, column, bold)
            sheet.set_column(j, j, max(12, min(40, len(column) + 2)))
        for i, row in enumerate(frame.iter_rows(named=True), start=1):
            for j, column in enumerate(frame.columns):
                value = row[column]
                if value is None:
                    if _is_secret(name, column, row):
                        sheet.write_string(i, j, "geheim", secret)
                elif isinstance(value, str):
                    sheet.write_string(i, j, value)  # never parsed as a formula or URL
                else:
                    sheet.write(i, j, value)
        sheet.freeze_panes(1, 2)
        sheet.autofilter(0, 0, max(frame.height, 1), len(frame.columns) - 1)
    book.close()
    return buffer.getvalue()


def publish_tables(
    households: pl.DataFrame,
    *,
    gemeente_code: str,
    gemeente_naam: str,
    wijken: pl.DataFrame,
    provenance: Mapping[str, Any],
    out_dir: Path,
    rules: DisclosureRules = DEFAULT_RULES,
    catalogue: pl.DataFrame | None = None,
) -> Protected:
    """Protect, gate and write ``tabellen/*.csv``, ``tabellen.xlsx`` and the release certificate
    ``openbaarmaking.json``; returns the tables.

    Every table passes the gate before the first file is written.
    """
    protected = protected_tables(
        households,
        gemeente_code=gemeente_code,
        gemeente_naam=gemeente_naam,
        wijken=wijken,
        provenance=provenance,
        rules=rules,
        catalogue=catalogue,
    )
    for name, frame in protected.tables.items():
        gate(name, frame, rules)
    for name, frame in protected.tables.items():
        atomic_write_bytes(out_dir / TABLE_DIR / f"{name}.csv", table_csv(frame).encode("utf-8"))
    atomic_write_bytes(out_dir / WORKBOOK, workbook_bytes(protected.tables, rules))
    write_certificate(build_certificate(protected, rules), out_dir)
    return protected


def publish_report(
    protected: Protected,
    *,
    gemeente_code: str,
    gemeente_naam: str,
    kaart: dict | None,
    provenance: Mapping[str, Any],
    out_dir: Path,
    rules: DisclosureRules = DEFAULT_RULES,
    catalogue: pl.DataFrame | None = None,
) -> Path:
    """Render, gate and write ``rapport.html`` from already protected tables.

    A separate step so the report can describe checks run on the written tables.
    """
    catalogue = load_catalogue() if catalogue is None else catalogue
    html = render_report(
        protected.tables,
        gemeente_code=gemeente_code,
        gemeente_naam=gemeente_naam,
        kaart=kaart,
        provenance=provenance,
        rules=rules,
        provision_names=dict(catalogue.select("code", "naam").iter_rows()),
    )
    report = out_dir / REPORT
    atomic_write_text(report, inline_plotly(html))
    return report


def publish(
    households: pl.DataFrame,
    *,
    gemeente_code: str,
    gemeente_naam: str,
    wijken: pl.DataFrame,
    kaart: dict | None,
    provenance: Mapping[str, Any],
    out_dir: Path,
    rules: DisclosureRules = DEFAULT_RULES,
    catalogue: pl.DataFrame | None = None,
) -> list[Path]:
    """Write ``tabellen/*.csv``, ``tabellen.xlsx``, ``openbaarmaking.json`` and ``rapport.html``.

    ``out_dir`` is ``<out>/<edition>``. Returns the files written. Raises
    :class:`factlab.disclose.DisclosureError` if an output fails the gate; the tables are all
    gated before any is written, the report before it is written.
    """
    catalogue = load_catalogue() if catalogue is None else catalogue
    area = {"gemeente_code": gemeente_code, "gemeente_naam": gemeente_naam}
    protected = publish_tables(
        households, **area, wijken=wijken, provenance=provenance, out_dir=out_dir, rules=rules,
        catalogue=catalogue,
    )  # fmt: skip
    report = publish_report(
        protected, **area, kaart=kaart, provenance=provenance, out_dir=out_dir, rules=rules,
        catalogue=catalogue,
    )  # fmt: skip
    tables = [out_dir / TABLE_DIR / f"{name}.csv" for name in protected.tables]
    return [*tables, out_dir / WORKBOOK, out_dir / CERTIFICATE, report]
