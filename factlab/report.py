"""The Dutch HTML report: one self-contained file, built only from published (protected) tables.

Why self-contained: municipal networks often block CDNs, and a report that silently loses its
charts is worse than none. plotly.js is inlined once; the wijk map is drawn as filled polygons
in projected x/y (plotly's geo traces would fetch a base map from a CDN).

Every number shown comes from the tables :func:`factlab.disclose.protect` produced, never from
the true counts; :func:`gate_html` re-checks the rendered page before it may be written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
import plotly.graph_objects as go
import plotly.io as pio
import plotly.offline
import polars as pl
from markupsafe import Markup

from factlab.analyse import ONBEKEND, TOTAAL
from factlab.disclose import DisclosureError, DisclosureRules, check_text
from reports import RAPPORT_TEMPLATE, STYLESHEET, TEMPLATE_DIR

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
#: Five viridis steps, light to dark: sequential and colour-blind safe, also in greyscale print.
SEQUENTIAL = ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154")
GEHEIM_KLEUR = "#d9d9d9"
PLOTLY_PLACEHOLDER = "/*@@PLOTLYJS@@*/"
GEHEIM = "geheim"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"


# --------------------------------------------------------------------------- formatting


def fmt_count(value: int | None) -> str:
    """Dutch thousands separator; a suppressed count reads ``geheim``."""
    return GEHEIM if value is None else f"{int(value):,}".replace(",", ".")


def fmt_pct(value: float | None, secret: bool = True) -> str:
    if value is None:
        return GEHEIM if secret else "\u2013"
    return f"{value:.1f}%".replace(".", ",")


def fmt_ratio(value: float | None) -> str:
    return GEHEIM if value is None else f"{value:.2f}".replace(".", ",")


@dataclass(frozen=True)
class Cell:
    tekst: str
    sort: str = ""
    cls: str = ""
    aantal: bool = False
    ruw: str = ""


def count_cell(value: int | None) -> Cell:
    raw = "" if value is None else str(int(value))
    return Cell(fmt_count(value), raw, "num geheim" if value is None else "num", True, raw)


def pct_cell(value: float | None, secret: bool = True) -> Cell:
    cls = "num geheim" if value is None and secret else "num"
    return Cell(fmt_pct(value, secret), "" if value is None else str(value), cls)


def text_cell(value: Any) -> Cell:
    return Cell("" if value is None else str(value), "" if value is None else str(value))


@dataclass(frozen=True)
class DisplayTable:
    id: str
    koppen: list[dict[str, str]]
    rijen: list[list[Cell]]
    bijschrift: str = ""
    sorteerbaar: bool = False


def _heads(*names: tuple[str, bool]) -> list[dict[str, str]]:
    return [{"tekst": n, "cls": "num" if numeric else ""} for n, numeric in names]


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figure:
    titel: str
    html: str
    toelichting: str = ""


def _layout(fig: go.Figure, height: int = 360, **extra: Any) -> go.Figure:
    settings: dict[str, Any] = {
        "template": "simple_white",
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "font": {"family": FONT, "size": 13},
        "separators": ",.",
    }
    fig.update_layout(**(settings | extra))
    return fig


def _embed(fig: go.Figure, div_id: str) -> str:
    """Figure as a div + script; plotly.js itself is inlined once for the whole page."""
    return pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        default_height=f"{fig.layout.height or 360}px",
        config={
            "displaylogo": False,
            "responsive": True,
            "modeBarButtonsToRemove": ["lasso2d", "select2d"],
        },
    )


def bar_figure(
    div_id: str,
    labels: Sequence[str],
    values: Sequence[int | None],
    *,
    horizontal: bool = False,
    colour: str = OKABE_ITO[0],
    value_label: str = "huishoudens",
) -> str:
    """Bars with the published counts; a suppressed category keeps its place, marked geheim."""
    heights = [0 if v is None else v for v in values]
    texts = [fmt_count(v) for v in values]
    colours = [GEHEIM_KLEUR if v is None else colour for v in values]
    hover = [f"{lab}: {t} {value_label}" for lab, t in zip(labels, texts, strict=True)]
    if horizontal:
        trace = go.Bar(
            y=list(labels),
            x=heights,
            orientation="h",
            text=texts,
            textposition="auto",
            marker_color=colours,
            hovertext=hover,
            hoverinfo="text",
            cliponaxis=False,
        )
        fig = _layout(go.Figure(trace), height=max(300, 34 * len(labels) + 60))
        fig.update_yaxes(autorange="reversed", automargin=True)
        fig.update_xaxes(title_text=value_label)
    else:
        trace = go.Bar(
            x=list(labels),
            y=heights,
            text=texts,
            textposition="outside",
            marker_color=colours,
            hovertext=hover,
            hoverinfo="text",
            cliponaxis=False,
        )
        fig = _layout(go.Figure(trace))
        fig.update_yaxes(title_text=value_label, rangemode="tozero")
        fig.update_xaxes(type="category")
    fig.update_layout(margin={"t": 30})
    return _embed(fig, div_id)


def heatmap_figure(div_id: str, pairs: pl.DataFrame, labels: Mapping[str, str]) -> str:
    """Symmetric matrix of observed/expected ratios; secret cells stay blank."""
    names = list(labels)
    index = {n: i for i, n in enumerate(names)}
    size = len(names)
    z: list[list[float | None]] = [[None] * size for _ in range(size)]
    hover = [[""] * size for _ in range(size)]
    for row in pairs.iter_rows(named=True):
        if row["a"] not in index or row["b"] not in index:
            continue
        i, j = index[row["a"]], index[row["b"]]
        text = (
            f"{labels[row['a']]} + {labels[row['b']]}<br>huishoudens: {fmt_count(row['huishoudens'])}"
            f"<br>verwacht: {fmt_count(None) if row['verwacht'] is None else str(row['verwacht']).replace('.', ',')}"
            f"<br>ratio: {fmt_ratio(row['ratio'])}"
        )
        for a, b in ((i, j), (j, i)):
            z[a][b] = row["ratio"]
            hover[a][b] = text
    shown = [labels[n] for n in names]
    top = max([abs(math.log2(v)) for r in z for v in r if v] or [1.0])
    fig = go.Figure(
        go.Heatmap(
            z=[[None if v is None else math.log2(v) if v > 0 else -top for v in r] for r in z],
            x=shown,
            y=shown,
            text=hover,
            hoverinfo="text",
            colorscale="PuOr",
            zmid=0,
            zmin=-top,
            zmax=top,
            xgap=1,
            ygap=1,
            colorbar={
                "title": {"text": "ratio"},
                "tickvals": [-2, -1, 0, 1, 2],
                "ticktext": ["0,25", "0,5", "1", "2", "4"],
            },
        )
    )
    _layout(fig, height=max(380, 22 * size + 140))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(automargin=True, tickangle=-45)
    return _embed(fig, div_id)


def _rings(geometry: Mapping[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def bins(values: Sequence[float], n: int = 5) -> list[float]:
    """Equal-interval class breaks over the published values (n classes, n+1 edges)."""
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high <= low:
        high = low + 1.0
    step = (high - low) / n
    return [round(low + i * step, 1) for i in range(n)] + [high]


def map_figure(
    div_id: str, kaart: Mapping[str, Any], values: Mapping[str, float | None], value_label: str
) -> str:
    """Choropleth of wijken without any base map: projected polygons, binned colours, legend."""
    features = kaart.get("features", [])
    lats = [pt[1] for f in features for ring in _rings(f["geometry"]) for pt in ring]
    scale = math.cos(math.radians(sum(lats) / len(lats))) if lats else 1.0
    known = [v for v in values.values() if v is not None]
    edges = bins(known)
    classes = [
        f"{fmt_pct(edges[i])} \u2013 {fmt_pct(edges[i + 1])}" for i in range(len(SEQUENTIAL))
    ]

    def klass(v: float) -> int:
        return min(len(SEQUENTIAL) - 1, max(0, next((i for i in range(5) if v < edges[i + 1]), 4)))

    fig = go.Figure()
    shown_legend: set[str] = set()
    for f in features:
        props = f.get("properties", {})
        code, naam = props.get("statcode"), props.get("statnaam", "")
        value = values.get(code)
        xs: list[float | None] = []
        ys: list[float | None] = []
        for ring in _rings(f["geometry"]):
            xs += [pt[0] * scale for pt in ring] + [None]
            ys += [pt[1] for pt in ring] + [None]
        group = "geheim of onbekend" if value is None else classes[klass(value)]
        colour = GEHEIM_KLEUR if value is None else SEQUENTIAL[klass(value)]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                fill="toself",
                fillcolor=colour,
                mode="lines",
                line={"color": "#ffffff", "width": 1},
                hoveron="fills",
                name=f"{naam}: {fmt_pct(value)}",
                legendgroup=group,
                showlegend=False,
                hoverinfo="name",
            )
        )
        shown_legend.add(group)
    for i, label in enumerate(classes):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=label,
                marker={"size": 12, "color": SEQUENTIAL[i], "symbol": "square"},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name="geheim / onbekend",
            marker={"size": 12, "color": GEHEIM_KLEUR, "symbol": "square"},
        )
    )
    _layout(
        fig,
        height=460,
        legend={"title": {"text": value_label, "side": "top"}, "orientation": "h", "y": -0.02},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1)
    return _embed(fig, div_id)


# --------------------------------------------------------------------------- context


def _gemeente(frame: pl.DataFrame, code: str) -> pl.DataFrame:
    return frame.filter(pl.col("gebied_code") == code)


def _rules_text(rules: DisclosureRules) -> list[str]:
    t, r = rules.threshold, rules.rounding
    return [
        f"Primaire geheimhouding: een aantal van 0 tot en met {t} huishoudens wordt nooit getoond, "
        "ook niet als het werkelijk 0 is. Zo'n vak heet hier 'geheim' (in de CSV-bestanden: leeg). "
        "Elke categorie staat er altijd, ook als er niemand in valt.",
        "Secundaire geheimhouding: waar getoonde aantallen optellen tot een getoond totaal (de "
        "categorieën van één gebied, en de wijken plus 'onbekend' samen de gemeente, ook over "
        "tabellen heen), zijn geen of meerdere vakken geheim die samen meer dan "
        f"{t} huishoudens bevatten. Zo kan een geheim aantal niet door aftrekken worden berekend.",
        f"Afronding: elk getoond aantal is afgerond op een veelvoud van {r} (vast, niet "
        "willekeurig, zodat herhaalde publicaties niet gemiddeld kunnen worden).",
        "Percentages, verwachte aantallen en ratio's zijn berekend uit de afgeronde aantallen en "
        "zijn geheim zodra een onderdeel geheim is.",
        "Het aantal woningen komt uit de openbare CBS-kerncijfers en wordt niet afgerond.",
        "Een laatste controle weigert elke tabel of elk rapport met gegevens op recordniveau, "
        "pseudoniemen, aantallen van 0 tot en met "
        f"{t} of kolommen die niet in het tabelcontract staan.",
    ]


def _key_text(provenance: Mapping[str, Any]) -> str:
    key = provenance.get("sleutel") or {}
    mode = key.get("modus")
    if mode == "ephemeral":
        text = (
            "eenmalige sleutel, alleen in het geheugen tijdens deze run en daarna vernietigd; "
            "niemand kan een pseudoniem nog terugrekenen naar een adres."
        )
    elif mode == "managed":
        text = (
            "beheerde sleutel van de gemeente; per editie wordt een eigen sleutel afgeleid, "
            "zodat edities niet aan elkaar te koppelen zijn."
        )
    else:
        text = "onbekend."
    # The fingerprint stays in audit.json: in the report it would make every rerun differ.
    return text


def _period_text(provenance: Mapping[str, Any]) -> str:
    period = provenance.get("periode") or {}
    if not period:
        return ""
    return f"{period.get('van', '?')} t/m {period.get('tot', '?')}"


def _summary(
    t: Mapping[str, pl.DataFrame], code: str, naam: str
) -> tuple[list[dict[str, str]], list[str]]:
    kern = _gemeente(t["kerncijfers"], code).row(0, named=True)
    n = kern["huishoudens_met_voorziening"]
    sentences = []
    share = kern["aandeel_met_voorziening_pct"]
    sentences.append(
        f"In {naam} hebben {fmt_count(n)} huishoudens ten minste één voorziening"
        + (f", dat is {fmt_pct(share)} van de woningen." if share is not None else ".")
    )
    multi = kern["huishoudens_meerdere_voorzieningen"]
    multi_pct = None if n in (None, 0) or multi is None else round(100 * multi / n, 1)
    sentences.append(
        f"{fmt_count(multi)} huishoudens ({fmt_pct(multi_pct)}) hebben twee of meer verschillende "
        f"voorzieningen; {fmt_count(kern['huishoudens_meerdere_domeinen'])} huishoudens "
        f"({fmt_pct(kern['aandeel_meerdere_domeinen_pct'])}) krijgen voorzieningen uit meer dan één domein."
    )
    orgs = _gemeente(t["aantal_organisaties"], code)
    many = orgs.filter(pl.col("aantal_organisaties") == "4+").get_column("huishoudens").item()
    sentences.append(
        f"{fmt_count(many)} huishoudens hebben met vier of meer organisaties te maken."
    )
    cbs = _gemeente(t["domeincombinaties"], code).drop_nulls("huishoudens")
    combined = cbs.filter(~pl.col("combinatie").str.starts_with("Alleen")).sort(
        "huishoudens", descending=True
    )
    if combined.height:
        top = combined.row(0, named=True)
        sentences.append(
            f"De meest voorkomende combinatie van Jeugd, Wmo en Participatie is "
            f"'{top['combinatie']}' ({fmt_count(top['huishoudens'])} huishoudens)."
        )
    wijken = (
        t["kerncijfers"]
        .filter(pl.col("gebied_code").str.starts_with("WK"))
        .drop_nulls("aandeel_met_voorziening_pct")
    )
    if wijken.height:
        hi = wijken.sort("aandeel_met_voorziening_pct", descending=True).row(0, named=True)
        sentences.append(
            f"Het hoogste aandeel woningen met een voorziening heeft {hi['gebied_naam']} "
            f"({fmt_pct(hi['aandeel_met_voorziening_pct'])})."
        )
    vuln = _gemeente(t["kwetsbaarheid"], code).drop_nulls("aandeel_meerdere_domeinen_pct")
    tipping = vuln.filter(pl.col("aandeel_meerdere_domeinen_pct") > 50)
    if tipping.height:
        row = tipping.row(0, named=True)
        sentences.append(
            f"Vanaf {row['aantal_voorzieningen']} voorzieningen heeft meer dan de helft van de "
            f"huishoudens voorzieningen uit meerdere domeinen ({fmt_pct(row['aandeel_meerdere_domeinen_pct'])})."
        )
    pairs = t["samenloop_domeinen"].drop_nulls("ratio").sort("ratio", descending=True)
    if pairs.height:
        p = pairs.row(0, named=True)
        sentences.append(
            f"De sterkste samenloop tussen domeinen is {p['a']} met {p['b']}: "
            f"{fmt_ratio(p['ratio'])} keer zo vaak samen als bij toeval."
        )
    onbekend = _gemeente(t["kerncijfers"], ONBEKEND).row(0, named=True)
    sentences.append(
        f"{fmt_count(onbekend['huishoudens_met_voorziening'])} huishoudens konden niet aan een wijk "
        "worden gekoppeld; zij tellen mee in de gemeente, niet in een wijk."
    )
    kpis = [
        {"waarde": fmt_count(n), "label": "huishoudens met een voorziening"},
        {"waarde": fmt_pct(share, secret=share is None and n is None), "label": "van de woningen"},
        {"waarde": fmt_count(multi), "label": "met twee of meer voorzieningen"},
        {
            "waarde": fmt_count(kern["huishoudens_meerdere_domeinen"]),
            "label": "met meerdere domeinen",
        },
    ]
    return kpis, sentences


def _wijk_table(t: Mapping[str, pl.DataFrame]) -> DisplayTable:
    rows = []
    for r in t["kerncijfers"].iter_rows(named=True):
        rows.append(
            [
                text_cell(r["gebied_naam"]),
                text_cell(r["gebied_code"]),
                Cell(
                    fmt_count(r["woningen"]) if r["woningen"] is not None else "\u2013",
                    "" if r["woningen"] is None else str(r["woningen"]),
                    "num",
                ),
                count_cell(r["huishoudens_met_voorziening"]),
                pct_cell(r["aandeel_met_voorziening_pct"], secret=r["woningen"] is not None),
                count_cell(r["huishoudens_meerdere_voorzieningen"]),
                count_cell(r["huishoudens_meerdere_domeinen"]),
                pct_cell(r["aandeel_meerdere_domeinen_pct"]),
            ]
        )
    return DisplayTable(
        "wijktabel",
        _heads(
            ("Gebied", False),
            ("Code", False),
            ("Woningen (CBS)", True),
            ("Huishoudens met voorziening", True),
            ("% van woningen", True),
            ("Twee of meer voorzieningen", True),
            ("Meerdere domeinen", True),
            ("% meerdere domeinen", True),
        ),
        rows,
        "Gemeente, wijken en 'onbekend' (niet geplaatste adressen). Woningen: CBS-kerncijfers.",
        sorteerbaar=True,
    )


def _vulnerability_table(t: Mapping[str, pl.DataFrame], code: str) -> DisplayTable:
    rows = [
        [
            text_cell(r["aantal_voorzieningen"]),
            count_cell(r["huishoudens"]),
            count_cell(r["huishoudens_meerdere_domeinen"]),
            pct_cell(r["aandeel_meerdere_domeinen_pct"]),
        ]
        for r in _gemeente(t["kwetsbaarheid"], code).iter_rows(named=True)
    ]
    return DisplayTable(
        "kwetsbaarheidstabel",
        _heads(
            ("Aantal voorzieningen", False),
            ("Huishoudens", True),
            ("Waarvan meerdere domeinen", True),
            ("Aandeel", True),
        ),
        rows,
    )


def _delivery_tables(t: Mapping[str, pl.DataFrame]) -> tuple[DisplayTable, DisplayTable]:
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
        _heads(
            ("Organisatie", False),
            ("Gelezen", True),
            ("Geaccepteerd", True),
            ("Afgewezen", True),
            ("Dubbel", True),
            ("Buiten periode", True),
            ("Geplaatst", True),
            ("Niet geplaatst", True),
            ("Buiten gemeente", True),
            ("Plaatsingsgraad", True),
        ),
        rows,
        sorteerbaar=True,
    )
    detail = DisplayTable(
        "aanlevering_voorzieningen",
        _heads(("Organisatie", False), ("Voorziening", False), ("Rijen", True)),
        [
            [text_cell(r["organisatie_naam"]), text_cell(r["voorziening"]), count_cell(r["rijen"])]
            for r in t["aanlevering_voorzieningen"].iter_rows(named=True)
        ],
        sorteerbaar=True,
    )
    return summary, detail


def _quality(provenance: Mapping[str, Any]) -> dict[str, Any] | None:
    quality = provenance.get("kwaliteit")
    if not quality:
        return None
    rows = [
        [
            text_cell(c.get("naam")),
            Cell(
                "geslaagd" if c.get("geslaagd") else "niet geslaagd",
                cls="ok" if c.get("geslaagd") else "niet-ok",
            ),
            text_cell(c.get("toelichting")),
        ]
        for c in quality.get("controles", [])
    ]
    table = DisplayTable(
        "kwaliteit", _heads(("Controle", False), ("Resultaat", False), ("Toelichting", False)), rows
    )
    return {"geslaagd": bool(quality.get("geslaagd")), "tabel": table}


def _figures(
    t: Mapping[str, pl.DataFrame],
    code: str,
    kaart: Mapping[str, Any] | None,
    provision_names: Mapping[str, str],
) -> dict[str, Figure]:
    def series(name: str, category: str) -> tuple[list[str], list[int | None]]:
        frame = _gemeente(t[name], code)
        return frame.get_column(category).to_list(), frame.get_column("huishoudens").to_list()

    figs: dict[str, Figure] = {}
    labels, values = series("aantal_voorzieningen", "aantal_voorzieningen")
    figs["aantal_voorzieningen"] = Figure(
        "Aantal verschillende voorzieningen per huishouden",
        bar_figure("fig-aantal-voorzieningen", labels, values),
        "Samenloop van voorzieningen: huishoudens naar het aantal verschillende voorzieningen.",
    )
    labels, values = series("aantal_organisaties", "aantal_organisaties")
    figs["aantal_organisaties"] = Figure(
        "Aantal hulpverlenende organisaties per huishouden",
        bar_figure("fig-aantal-organisaties", labels, values, colour=OKABE_ITO[1]),
        "Samenloop van organisaties: met hoeveel organisaties heeft een huishouden te maken?",
    )
    labels, values = series("domeincombinaties", "combinatie")
    figs["domeincombinaties"] = Figure(
        "Jeugd, Wmo en Participatie (CBS-indeling)",
        bar_figure("fig-domeincombinaties", labels, values, horizontal=True, colour=OKABE_ITO[2]),
        "Vergelijkbaar met de CBS-tabellen over samenloop in het sociaal domein.",
    )
    labels, values = series("top_combinaties", "combinatie")
    figs["top_combinaties"] = Figure(
        "Meest voorkomende combinaties over alle domeinen",
        bar_figure("fig-top-combinaties", labels, values, horizontal=True, colour=OKABE_ITO[3]),
        "Elke combinatie is precies deze set domeinen; alleen combinaties met meer dan het "
        "geheimhoudingsdrempel aantal huishoudens kunnen in de lijst staan.",
    )
    domains = _gemeente(t["domeinen"], code).get_column("domein").to_list()
    figs["samenloop_domeinen"] = Figure(
        "Samenloop van domeinen (ratio waargenomen / verwacht)",
        heatmap_figure(
            "fig-samenloop-domeinen", t["samenloop_domeinen"], {d: d.capitalize() for d in domains}
        ),
        "Paars: vaker samen dan verwacht; oranje: minder vaak. Wit/leeg: geheim.",
    )
    published = (
        _gemeente(t["voorzieningen"], code)
        .drop_nulls("huishoudens")
        .get_column("voorziening")
        .to_list()
    )
    figs["samenloop_voorzieningen"] = Figure(
        "Samenloop van voorzieningen (ratio waargenomen / verwacht)",
        heatmap_figure(
            "fig-samenloop-voorzieningen", t["samenloop_voorzieningen"], {c: c for c in published}
        ),
        "Alleen voorzieningen waarvan het aantal huishoudens gepubliceerd kan worden. "
        + "; ".join(f"{c}: {provision_names.get(c, c)}" for c in published),
    )
    kern = t["kerncijfers"]
    if kaart and kaart.get("features"):
        for key, column, label in (
            ("kaart_voorziening", "aandeel_met_voorziening_pct", "% woningen met een voorziening"),
            (
                "kaart_domeinen",
                "aandeel_meerdere_domeinen_pct",
                "% huishoudens met meerdere domeinen",
            ),
        ):
            values_by_wijk = dict(
                zip(
                    kern.get_column("gebied_code").to_list(),
                    kern.get_column(column).to_list(),
                    strict=True,
                )
            )
            figs[key] = Figure(
                label.capitalize(),
                map_figure(f"fig-{key.replace('_', '-')}", kaart, values_by_wijk, label),
                "Beweeg over een wijk voor naam en waarde. Grijs: geheim of onbekend.",
            )
    else:
        for key in ("kaart_voorziening", "kaart_domeinen"):
            figs[key] = Figure("Kaart", "<p>Geen wijkkaart beschikbaar.</p>")
    vuln = _gemeente(t["kwetsbaarheid"], code)
    pct = vuln.get_column("aandeel_meerdere_domeinen_pct").to_list()
    fig = go.Figure(
        go.Bar(
            x=vuln.get_column("aantal_voorzieningen").to_list(),
            y=[v or 0 for v in pct],
            text=[fmt_pct(v) for v in pct],
            textposition="outside",
            marker_color=[GEHEIM_KLEUR if v is None else OKABE_ITO[5] for v in pct],
            hoverinfo="text",
            hovertext=[f"{fmt_pct(v)} met meerdere domeinen" for v in pct],
            cliponaxis=False,
        )
    )
    _layout(fig, margin={"t": 30})
    fig.update_yaxes(title_text="% met meerdere domeinen", range=[0, 105])
    fig.update_xaxes(type="category", title_text="aantal voorzieningen")
    figs["kwetsbaarheid"] = Figure(
        "Aandeel huishoudens met meerdere domeinen, naar aantal voorzieningen",
        _embed(fig, "fig-kwetsbaarheid"),
        "Berekend uit de afgeronde aantallen in de tabel hieronder.",
    )
    return figs


def render_report(
    tables: Mapping[str, pl.DataFrame],
    *,
    gemeente_code: str,
    gemeente_naam: str,
    kaart: Mapping[str, Any] | None,
    provenance: Mapping[str, Any],
    rules: DisclosureRules,
    provision_names: Mapping[str, str] | None = None,
) -> str:
    """Render the report from protected tables; gated before plotly.js is inlined."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    kpis, sentences = _summary(tables, gemeente_code, gemeente_naam)
    delivery, delivery_detail = _delivery_tables(tables)
    html = env.get_template(RAPPORT_TEMPLATE).render(
        titel=f"Stapelingsmonitor {gemeente_naam}",
        editie=provenance.get("editie", ""),
        periode=_period_text(provenance),
        css=Markup(STYLESHEET.read_text(encoding="utf-8")),
        plotly_js=Markup(PLOTLY_PLACEHOLDER),
        kpis=kpis,
        samenvatting=sentences,
        figuren=_figures(tables, gemeente_code, kaart, provision_names or {}),
        wijktabel=_wijk_table(tables),
        kwetsbaarheidstabel=_vulnerability_table(tables, gemeente_code),
        aanleveringstabel=delivery,
        aanlevering_voorzieningen=delivery_detail,
        sleutel_tekst=_key_text(provenance),
        regels=rules,
        regels_tekst=_rules_text(rules),
        kwaliteit=_quality(provenance),
    )
    gate_html(html, rules)
    return html


def inline_plotly(html: str) -> str:
    """Insert the plotly.js bundle once; ``</script`` inside it is escaped to stay inert."""
    bundle = plotly.offline.get_plotlyjs().replace("</script", "<\\/script")
    return html.replace(PLOTLY_PLACEHOLDER, bundle, 1)


_DATA_COUNT = re.compile(r'data-count="([^"]*)"')
_REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def gate_html(html: str, rules: DisclosureRules, allowed_tokens: Sequence[str] = ()) -> None:
    """Refuse a report with a count in the suppressed range, a remote reference or a token.

    Runs on the page *before* plotly.js is inlined (the library itself is trusted code).
    """
    for raw in _DATA_COUNT.findall(html):
        if raw == "":
            continue
        value = int(raw)
        if value <= rules.threshold or value % rules.rounding:
            raise DisclosureError(f"rapport: aantal {value} mag niet gepubliceerd worden")
    if _REMOTE.search(html):
        raise DisclosureError("rapport: verwijzing naar een externe bron (src/href)")
    check_text("rapport", html, allowed_tokens)
