"""The report's HTML tables, built from published tables only.

Why separate from the figures: a table is what prints reliably, so every figure that matters
on paper (wijk detail, the provision matrix on a phone) also has a table.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from factlab.analyse import CBS_COMBINATIONS, ONBEKEND, PROVISION_BINS, TOTAAL
from factlab.report.format import (
    Cell,
    DisplayTable,
    count_cell,
    fmt_ratio,
    heads,
    pct_cell,
    public_cell,
    share,
    text_cell,
)
from factlab.report.narrative import denominator, gemeente_rows


def wijk_table(t: Mapping[str, pl.DataFrame]) -> DisplayTable:
    kern = t["kerncijfers"]
    noemer = denominator(kern)
    both = noemer.column == "huishoudens_cbs"
    rows = []
    for r in kern.iter_rows(named=True):
        public = r["gebied_code"] != ONBEKEND
        row = [text_cell(r["gebied_naam"]), text_cell(r["gebied_code"])]
        if both:
            row += [
                public_cell(r["huishoudens_cbs"]),
                count_cell(r["huishoudens_met_voorziening"]),
                pct_cell(r["aandeel_van_huishoudens_pct"], secret=r["huishoudens_cbs"] is not None),
            ]
        else:
            row.append(count_cell(r["huishoudens_met_voorziening"]))
        row += [
            public_cell(r["woningen"]) if public else Cell("\u2013", cls="num"),
            pct_cell(r["aandeel_met_voorziening_pct"], secret=r["woningen"] is not None),
            count_cell(r["huishoudens_meerdere_voorzieningen"]),
            count_cell(r["huishoudens_meerdere_domeinen"]),
            pct_cell(r["aandeel_meerdere_domeinen_pct"]),
        ]
        rows.append(row)
    columns = [("Gebied", False), ("Code", False)]
    if both:
        columns += [
            ("Huishoudens (CBS)", True),
            ("Met voorziening", True),
            ("% van huishoudens", True),
        ]
    else:
        columns.append(("Met voorziening", True))
    columns += [
        ("Woningen (CBS)", True),
        ("% van woningen", True),
        ("Twee of meer voorzieningen", True),
        ("Meerdere domeinen", True),
        ("% meerdere domeinen (van met voorziening)", True),
    ]
    return DisplayTable(
        "wijktabel",
        heads(*columns),
        rows,
        "Gemeente, wijken en 'onbekend' (niet geplaatste adressen). Huishoudens en woningen: "
        f"CBS-kerncijfers. De samenvatting gebruikt het aandeel van de {noemer.noun}. "
        "'% meerdere domeinen' is een aandeel van de huishoudens mét een voorziening.",
        sorteerbaar=True,
        breed=True,
    )


def vulnerability_table(t: Mapping[str, pl.DataFrame], code: str) -> DisplayTable:
    rows = [
        [
            text_cell(r["aantal_voorzieningen"]),
            count_cell(r["huishoudens"]),
            count_cell(r["huishoudens_meerdere_domeinen"]),
            pct_cell(r["aandeel_meerdere_domeinen_pct"]),
        ]
        for r in gemeente_rows(t["kwetsbaarheid"], code).iter_rows(named=True)
    ]
    return DisplayTable(
        "kwetsbaarheidstabel",
        heads(
            ("Aantal voorzieningen", False),
            ("Huishoudens", True),
            ("Waarvan meerdere domeinen", True),
            ("Aandeel", True),
        ),
        rows,
    )


def _per_wijk(
    t: Mapping[str, pl.DataFrame],
    name: str,
    category: str,
    categories: list[str],
    table_id: str,
    caption: str,
) -> DisplayTable:
    """Per gebied: each category as a share of the gebied's households with a provision.

    The denominator is the published total from ``kerncijfers``, never the sum of the visible
    categories: with a suppressed category that sum is too small and its shares too high.
    """
    frame = t[name]
    totals = {
        r["gebied_code"]: r["huishoudens_met_voorziening"]
        for r in t["kerncijfers"].iter_rows(named=True)
    }
    rows = []
    for code in frame.get_column("gebied_code").unique(maintain_order=True).to_list():
        part = frame.filter(pl.col("gebied_code") == code)
        counts = dict(
            zip(
                part.get_column(category).to_list(),
                part.get_column("huishoudens").to_list(),
                strict=True,
            )
        )
        total = totals.get(code)
        row = [text_cell(part.get_column("gebied_naam").item(0)), count_cell(total)]
        row += [pct_cell(share(counts.get(c), total)) for c in categories]
        rows.append(row)
    return DisplayTable(
        table_id,
        heads(("Gebied", False), ("Met voorziening", True), *((c, True) for c in categories)),
        rows,
        caption,
        sorteerbaar=True,
        breed=True,
    )


def wijk_combination_table(t: Mapping[str, pl.DataFrame]) -> DisplayTable:
    return _per_wijk(
        t,
        "domeincombinaties",
        "combinatie",
        list(CBS_COMBINATIONS),
        "wijkcombinaties",
        "Aandeel van de huishoudens met een voorziening, per combinatie van Jeugd, Wmo en "
        "Participatie. Wie geen van die drie heeft (alleen bijvoorbeeld schuldhulp of minima), "
        "staat in geen kolom; de rij telt dus niet op tot 100%.",
    )


def wijk_stacking_table(t: Mapping[str, pl.DataFrame]) -> DisplayTable:
    return _per_wijk(
        t,
        "aantal_voorzieningen",
        "aantal_voorzieningen",
        list(PROVISION_BINS),
        "wijkstapeling",
        "Aandeel van de huishoudens met een voorziening, naar aantal verschillende "
        "voorzieningen (1 tot en met 5 of meer).",
    )


def buurt_table(t: Mapping[str, pl.DataFrame]) -> DisplayTable | None:
    """Buurten whose household count is published; the others are counted, not listed."""
    frame = t["buurten"]
    if not frame.height:
        return None
    shown = frame.drop_nulls("huishoudens_met_voorziening")
    rows = [
        [
            text_cell(r["gebied_naam"]),
            text_cell(r["buurt"]),
            count_cell(r["huishoudens_met_voorziening"]),
            count_cell(r["huishoudens_meerdere_domeinen"]),
            pct_cell(r["aandeel_meerdere_domeinen_pct"]),
        ]
        for r in shown.iter_rows(named=True)
    ]
    hidden = frame.height - shown.height
    return DisplayTable(
        "buurttabel",
        heads(
            ("Wijk", False),
            ("Buurt", False),
            ("Met voorziening", True),
            ("Meerdere domeinen", True),
            ("% meerdere domeinen", True),
        ),
        rows,
        f"Buurten waarvan het aantal gepubliceerd kan worden. Van {hidden} van de "
        f"{frame.height} buurten is het aantal geheim (te klein, of anders terug te rekenen); "
        "zij staan met 'geheim' in tabellen.xlsx. Huishoudens zonder bekende buurt tellen wel "
        "mee in hun wijk.",
        sorteerbaar=True,
    )


def pairs_table(pairs: pl.DataFrame, names: Mapping[str, str], top: int = 15) -> DisplayTable:
    """The phone version of the provision matrix: the pairs most above chance, as a list."""
    known = (
        pairs.drop_nulls("ratio")
        .filter(pl.col("a").is_in(list(names)) & pl.col("b").is_in(list(names)))
        .sort(["ratio", "a", "b"], descending=[True, False, False])
        .head(top)
    )
    rows = [
        [
            text_cell(f"{names[r['a']]} + {names[r['b']]}"),
            count_cell(r["huishoudens"]),
            Cell(fmt_ratio(r["ratio"]), str(r["ratio"]), "num"),
        ]
        for r in known.iter_rows(named=True)
    ]
    return DisplayTable(
        "samenloop_lijst",
        heads(("Combinatie van twee voorzieningen", False), ("Huishoudens", True), ("Ratio", True)),
        rows,
        f"De {len(rows)} paren met de hoogste verhouding waargenomen/verwacht; geheime paren "
        "staan er niet in.",
    )


def delivery_tables(t: Mapping[str, pl.DataFrame]) -> tuple[DisplayTable, DisplayTable]:
    rows = []
    for r in t["aanlevering"].iter_rows(named=True):
        name = "Alle organisaties" if r["organisatie"] == TOTAAL else r["organisatie_naam"]
        rows.append(
            [
                text_cell(name),
                count_cell(r["rijen_gelezen"]),
                count_cell(r["geaccepteerd"]),
                count_cell(r["afgewezen"]),
                count_cell(r["dubbel"]),
                count_cell(r["buiten_periode"]),
                count_cell(r["geplaatst"]),
                count_cell(r["niet_geplaatst"]),
                count_cell(r["buiten_gemeente"]),
                pct_cell(r["plaatsingsgraad_pct"]),
            ]
        )
    summary = DisplayTable(
        "aanleveringstabel",
        heads(
            ("Organisatie", False),
            ("Gelezen", True),
            ("Geaccepteerd", True),
            ("Afgewezen", True),
            ("Dubbel", True),
            ("Buiten periode", True),
            ("Geplaatst", True),
            ("Niet geplaatst", True),
            ("Buiten gemeente", True),
            ("Plaatsings\u00adgraad", True),
        ),
        rows,
        sorteerbaar=True,
        breed=True,
    )
    detail = DisplayTable(
        "aanlevering_voorzieningen",
        heads(("Organisatie", False), ("Voorziening", False), ("Rijen", True)),
        [
            [text_cell(r["organisatie_naam"]), text_cell(r["voorziening"]), count_cell(r["rijen"])]
            for r in t["aanlevering_voorzieningen"].iter_rows(named=True)
        ],
        sorteerbaar=True,
    )
    return summary, detail
