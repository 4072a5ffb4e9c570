"""Publish stage: analyse, protect, gate, then write tables (CSV + Excel) and the report.

Nothing is written until every output has passed the gate: a refused table leaves the edition
folder as it was (each file is also written atomically via :mod:`factlab.files`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from factlab.analyse import analyse, receipts_tables
from factlab.catalogue import load_catalogue
from factlab.certificate import build_certificate, write_certificate
from factlab.connectors.cbs_gebruik import read_cbs_gebruik
from factlab.disclose import CONTRACTS, DEFAULT_RULES, DisclosureRules, Protected, gate, protect
from factlab.files import atomic_write_bytes, atomic_write_text
from factlab.report import inline_plotly, render_report
from factlab.report.compare import cbs_comparison, edition_comparison, read_previous
from factlab.report.format import GEHEIM
from factlab.safe_text import neutralise
from factlab.schemas.audit import AuditRecord
from factlab.schemas.outputs import CERTIFICATE

TABLE_DIR = "tabellen"
EXCEL_DIR = "tabellen/excel"
WORKBOOK = "tabellen.xlsx"
REPORT = "rapport.html"
_FIXED_CREATED = datetime(2000, 1, 1, tzinfo=UTC)


def protected_tables(
    households: pl.DataFrame,
    *,
    gemeente_code: str,
    gemeente_naam: str,
    wijken: pl.DataFrame,
    provenance: AuditRecord,
    rules: DisclosureRules = DEFAULT_RULES,
    catalogue: pl.DataFrame | None = None,
    buurten: pl.DataFrame | None = None,
) -> Protected:
    """All publishable tables, protected together (relations cross tables), in contract order.

    ``buurten`` (``wijk_code``, ``buurt_code``) lists every buurt; without it the buurt table
    is empty.
    """
    catalogue = load_catalogue() if catalogue is None else catalogue
    analysis = analyse(
        households,
        gemeente_code=gemeente_code,
        gemeente_naam=gemeente_naam,
        wijken=wijken,
        catalogue=catalogue,
        top_n=rules.top_combinations,
        threshold=rules.threshold,
        buurten=buurten,
    )
    receipts, receipt_relations = receipts_tables(provenance.files, gemeente_code, gemeente_naam)
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


#: Dutch column headings and definitions for beleid (workbook, Excel CSVs, toelichting sheet).
COLUMNS: dict[str, tuple[str, str]] = {
    "gebied_code": (
        "Gebiedscode",
        "CBS-code: GM (gemeente), WK (wijk), of 'onbekend' (adres niet aan een wijk gekoppeld)",
    ),
    "gebied_naam": ("Gebied", "Naam van het gebied volgens CBS"),
    "woningen": (
        "Woningen (CBS)",
        "Woningvoorraad volgens de CBS-kerncijfers; openbaar, niet afgerond",
    ),
    "huishoudens_cbs": (
        "Huishoudens (CBS)",
        "Particuliere huishoudens volgens de CBS-kerncijfers; openbaar, niet afgerond",
    ),
    "huishoudens_met_voorziening": (
        "Huishoudens met voorziening",
        "Huishoudens (adressen) met ten minste één voorziening",
    ),
    "aandeel_met_voorziening_pct": (
        "% van woningen",
        "100 \u00d7 huishoudens met voorziening / woningen",
    ),
    "aandeel_van_huishoudens_pct": (
        "% van huishoudens",
        "100 \u00d7 huishoudens met voorziening / huishoudens (CBS)",
    ),
    "huishoudens_meerdere_voorzieningen": (
        "Twee of meer voorzieningen",
        "Huishoudens met 2 of meer verschillende voorzieningen",
    ),
    "huishoudens_meerdere_domeinen": (
        "Meerdere domeinen",
        "Huishoudens met voorzieningen uit 2 of meer domeinen",
    ),
    "aandeel_meerdere_domeinen_pct": (
        "% meerdere domeinen",
        "100 \u00d7 meerdere domeinen / huishoudens (met voorziening, of in deze categorie)",
    ),
    "aantal_voorzieningen": (
        "Aantal voorzieningen",
        "Aantal verschillende voorzieningen per huishouden (1 t/m 5+)",
    ),
    "aantal_organisaties": (
        "Aantal organisaties",
        "Aantal verschillende aanleverende organisaties per huishouden (1 t/m 4+)",
    ),
    "huishoudens": ("Huishoudens", "Aantal huishoudens (afgerond; 'geheim' als het te klein is)"),
    "combinatie": ("Combinatie", "Combinatie van domeinen"),
    "voorziening": ("Voorzieningscode", "Code uit de catalogus"),
    "voorziening_naam": ("Voorziening", "Naam uit de catalogus"),
    "domein": ("Domein", "Domein van de voorziening"),
    "a": ("A", "Eerste van het paar (code of domein)"),
    "b": ("B", "Tweede van het paar (code of domein)"),
    "verwacht": ("Verwacht", "Verwacht aantal bij toeval: n(A) \u00d7 n(B) / N"),
    "ratio": ("Ratio", "Huishoudens / verwacht; boven 1 vaker samen dan bij toeval"),
    "organisatie": ("Organisatiecode", "Code (mapnaam) van de organisatie"),
    "organisatie_naam": ("Organisatie", "Naam van de organisatie"),
    "rijen_gelezen": ("Rijen gelezen", "Aangeleverde rijen"),
    "geaccepteerd": ("Geaccepteerd", "Rijen die door de controle kwamen"),
    "afgewezen": ("Afgewezen", "Rijen met een fout"),
    "dubbel": ("Dubbel", "Dubbele rijen"),
    "buiten_periode": ("Buiten periode", "Rijen buiten de periode van de editie"),
    "geplaatst": ("Geplaatst", "Rijen gekoppeld aan een adres in een wijk"),
    "niet_geplaatst": ("Niet geplaatst", "Rijen met een adres dat niet gevonden is"),
    "buiten_gemeente": ("Buiten gemeente", "Rijen met een adres buiten de gemeente"),
    "plaatsingsgraad_pct": ("Plaatsingsgraad %", "100 \u00d7 geplaatst / geaccepteerd"),
    "rijen": ("Rijen", "Geaccepteerde rijen per voorziening"),
    "buurt": ("Buurtcode", "CBS-buurtcode; de buurt ligt in de wijk van deze rij"),
}


def heading(column: str) -> str:
    """The Dutch heading of a published column (a readable fallback for a new column)."""
    return COLUMNS.get(column, (column.replace("_", " ").capitalize(), ""))[0]


def _safe(value: Any) -> Any:
    """Text neutralised against formula injection (OWASP); other values as they are."""
    return neutralise(value) if isinstance(value, str) else value


def table_csv(frame: pl.DataFrame) -> str:
    """Machine-readable: comma-separated UTF-8, decimal point; a suppressed cell is empty."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    safe = frame.with_columns(
        pl.col(c).map_elements(neutralise, return_dtype=pl.String) for c in text
    )
    return safe.write_csv(null_value="")


def _excel_value(name: str, column: str, row: Mapping[str, Any]) -> str:
    value = row[column]
    if value is None:
        return GEHEIM if _is_secret(name, column, row) else ""
    if isinstance(value, float):
        return f"{value:.{2 if column == 'ratio' else 1}f}".replace(".", ",")
    return str(_safe(value) if isinstance(value, str) else value)


def excel_csv(name: str, frame: pl.DataFrame) -> bytes:
    """For Dutch Excel: ``;``-separated, decimal comma, UTF-8 with BOM, Dutch headings,
    suppressed cells read ``geheim``, text neutralised against formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_safe(heading(c)) for c in frame.columns])
    for row in frame.iter_rows(named=True):
        writer.writerow([_excel_value(name, c, row) for c in frame.columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


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


def _notes(
    provenance: AuditRecord, rules: DisclosureRules, contact: str | None
) -> list[tuple[str, str]]:
    gemeente, period = provenance.gemeente, provenance.period
    notes = [
        ("Gemeente", f"{gemeente.name} ({gemeente.code})"),
        ("Editie", provenance.edition),
        ("Periode", f"{period.start} t/m {period.end}" if period else ""),
        ("Gemaakt op", provenance.started[:10]),
    ]
    if contact:
        notes.append(("Contact", contact))
    return [
        *notes,
        (
            "Huishouden",
            "Een adres: alle voorzieningen op hetzelfde adres tellen als één huishouden.",
        ),
        (
            "Geheimhouding",
            f"Aantallen 0 t/m {rules.threshold} zijn geheim ('geheim'), net als aantallen waaruit ze terug te rekenen zouden zijn.",
        ),
        (
            "Afronding",
            f"Alle aantallen afgerond op een veelvoud van {rules.rounding}; delen tellen daardoor niet altijd op tot het totaal.",
        ),
        (
            "Afgeleide cijfers",
            "Percentages, verwacht en ratio berekend uit de afgeronde aantallen; geheim zodra een onderdeel geheim is.",
        ),
        (
            "Bronnen",
            "Voorzieningen: aangeleverd door de partnerorganisaties. Woningen, huishoudens, wijken: CBS-kerncijfers wijken en buurten (CC BY 4.0).",
        ),
        (
            "Bestanden",
            "tabellen.xlsx (dit bestand) en tabellen/excel/*.csv openen direct in Excel; tabellen/*.csv zijn voor software (komma, decimale punt, geheim = leeg).",
        ),
    ]


def workbook_bytes(
    tables: Mapping[str, pl.DataFrame],
    rules: DisclosureRules,
    provenance: AuditRecord,
    contact: str | None = None,
) -> bytes:
    """The beleid version: one sheet per table with Dutch headings, 'geheim' in secret cells,
    and a 'toelichting' sheet (gemeente, period, edition, rules, sources, column definitions)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    # A fixed creation date keeps the workbook byte-identical across reruns.
    book.set_properties({"created": _FIXED_CREATED})
    bold = book.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    secret = book.add_format({"italic": True, "font_color": "#555555", "bg_color": "#E7E6E6"})
    decimal = book.add_format({"num_format": "0.0"})
    info = book.add_worksheet("toelichting")
    info.set_column(0, 0, 30)
    info.set_column(1, 1, 100)
    row = 0
    for key, text in _notes(provenance, rules, contact):
        info.write_string(row, 0, key, bold)
        info.write_string(row, 1, _safe(text), wrap)
        row += 1
    row += 1
    info.write_string(row, 0, "Tabblad", bold)
    info.write_string(row, 1, "Inhoud", bold)
    for name, contract in CONTRACTS.items():
        row += 1
        info.write_string(row, 0, name[:31])
        info.write_string(row, 1, contract.title, wrap)
    row += 2
    info.write_string(row, 0, "Kolom", bold)
    info.write_string(row, 1, "Betekenis", bold)
    used = list(dict.fromkeys(c for frame in tables.values() for c in frame.columns))
    for column in used:
        row += 1
        info.write_string(row, 0, heading(column))
        info.write_string(row, 1, COLUMNS.get(column, ("", ""))[1], wrap)
    for name, frame in tables.items():
        sheet = book.add_worksheet(name[:31])
        sheet.set_row(0, 32)
        for j, column in enumerate(frame.columns):
            sheet.write_string(0, j, heading(column), bold)
            sheet.set_column(j, j, max(12, min(40, len(heading(column)) + 2)))
        for i, values in enumerate(frame.iter_rows(named=True), start=1):
            for j, column in enumerate(frame.columns):
                value = values[column]
                if value is None:
                    if _is_secret(name, column, values):
                        sheet.write_string(i, j, GEHEIM, secret)
                elif isinstance(value, str):
                    sheet.write_string(i, j, neutralise(value))  # never a formula or URL
                elif isinstance(value, float):
                    sheet.write_number(i, j, value, decimal)
                else:
                    sheet.write_number(i, j, value)
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
    provenance: AuditRecord,
    out_dir: Path,
    rules: DisclosureRules = DEFAULT_RULES,
    catalogue: pl.DataFrame | None = None,
    contact: str | None = None,
    buurten: pl.DataFrame | None = None,
    before_write: Callable[[Protected], None] | None = None,
) -> Protected:
    """Protect, gate and write the tables and the release certificate; returns the tables.

    ``before_write`` may refuse the protected tables (by raising) before any file is written,
    for example because they differ too little from an edition already published.

    Writes ``tabellen/*.csv`` (machine-readable), ``tabellen/excel/*.csv`` (Dutch Excel),
    ``tabellen.xlsx`` (the beleid version, its toelichting naming ``contact``) and
    ``openbaarmaking.json``. Every table passes the gate before the first file is written.
    """
    protected = protected_tables(
        households,
        gemeente_code=gemeente_code,
        gemeente_naam=gemeente_naam,
        wijken=wijken,
        provenance=provenance,
        rules=rules,
        catalogue=catalogue,
        buurten=buurten,
    )
    for name, frame in protected.tables.items():
        gate(name, frame, rules)
    if before_write is not None:
        before_write(protected)
    for name, frame in protected.tables.items():
        atomic_write_bytes(out_dir / TABLE_DIR / f"{name}.csv", table_csv(frame).encode("utf-8"))
        atomic_write_bytes(out_dir / EXCEL_DIR / f"{name}.csv", excel_csv(name, frame))
    atomic_write_bytes(
        out_dir / WORKBOOK, workbook_bytes(protected.tables, rules, provenance, contact)
    )
    write_certificate(build_certificate(protected, rules), out_dir)
    return protected


def publish_report(
    protected: Protected,
    *,
    gemeente_code: str,
    gemeente_naam: str,
    kaart: dict | None,
    provenance: AuditRecord,
    out_dir: Path,
    rules: DisclosureRules = DEFAULT_RULES,
    catalogue: pl.DataFrame | None = None,
    contact: str | None = None,
    toelichting: str | None = None,
    synthetisch: bool = False,
    cbs_gebruik: Path | None = None,
    vorige_editie: Path | None = None,
) -> Path:
    """Render, gate and write ``rapport.html`` from already protected tables.

    A separate step so the report can describe checks run on the written tables. The keyword
    arguments after ``catalogue`` are the ``[rapport]`` settings of the edition config:
    ``cbs_gebruik`` a CBS "Gebruik voorzieningen sociaal domein" CSV to compare with (the
    shipped peer shares are always shown), ``vorige_editie`` the folder of an earlier edition
    whose published tables (only those) are compared with this one.
    """
    catalogue = load_catalogue() if catalogue is None else catalogue
    cbs = read_cbs_gebruik(cbs_gebruik) if cbs_gebruik is not None else None
    previous = (
        edition_comparison(
            protected.tables, read_previous(vorige_editie), vorige_editie.name, rules
        )
        if vorige_editie is not None
        else None
    )
    html = render_report(
        protected.tables,
        gemeente_code=gemeente_code,
        gemeente_naam=gemeente_naam,
        kaart=kaart,
        provenance=provenance,
        rules=rules,
        provision_names=dict(catalogue.select("code", "naam").iter_rows()),
        contact=contact,
        toelichting=toelichting,
        synthetisch=synthetisch,
        cbs=cbs_comparison(protected.tables, gemeente_code, gemeente_naam, cbs),
        vorige=previous,
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
    provenance: AuditRecord,
    out_dir: Path,
    rules: DisclosureRules = DEFAULT_RULES,
    catalogue: pl.DataFrame | None = None,
    buurten: pl.DataFrame | None = None,
    **report_options: Any,
) -> list[Path]:
    """Write the tables (CSV for software and for Excel, workbook), ``openbaarmaking.json`` and
    ``rapport.html``.

    ``out_dir`` is ``<out>/<edition>``; ``report_options`` are :func:`publish_report`'s
    ``[rapport]`` settings (``contact`` also goes into the workbook). Returns the files
    written. Raises :class:`factlab.disclose.DisclosureError` if an output fails the gate; the
    tables are all gated before any is written, the report before it is written.
    """
    catalogue = load_catalogue() if catalogue is None else catalogue
    protected = publish_tables(
        households, gemeente_code=gemeente_code, gemeente_naam=gemeente_naam, wijken=wijken,
        provenance=provenance, out_dir=out_dir, rules=rules, catalogue=catalogue,
        contact=report_options.get("contact"), buurten=buurten,
    )  # fmt: skip
    report = publish_report(
        protected, gemeente_code=gemeente_code, gemeente_naam=gemeente_naam, kaart=kaart,
        provenance=provenance, out_dir=out_dir, rules=rules, catalogue=catalogue,
        **report_options,
    )  # fmt: skip
    tables = [out_dir / TABLE_DIR / f"{name}.csv" for name in protected.tables]
    excel = [out_dir / EXCEL_DIR / f"{name}.csv" for name in protected.tables]
    return [*tables, *excel, out_dir / WORKBOOK, out_dir / CERTIFICATE, report]
