"""Plotly figures for the report, drawn offline and safe to hand to anyone.

Why these choices: the report promises that opening it contacts no other host, so every chart
is embedded with a config that removes plotly's cloud and "edit chart" controls (only
"download as PNG" and zooming stay). Wijk maps are filled polygons in
projected x/y (plotly's geo traces fetch a base map from a CDN) with numbered keys, because a
map without labels cannot be read on paper. Suppressed cells get their own colour, text mark
and legend entry, so "geheim" never looks like "average".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

from factlab.report.format import fmt_count, fmt_decimal, fmt_pct, fmt_ratio

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
#: Five viridis steps, light to dark: sequential and colour-blind safe, also in greyscale print.
SEQUENTIAL = ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154")
#: Suppressed cells: a mid grey no diverging or sequential scale here uses, marked with a cross.
GEHEIM_KLEUR = "#9e9e9e"
GEHEIM_TEKEN = "\u00d7"
#: The diagonal of a pair matrix (a provision with itself): not a value, drawn as background.
DIAGONAAL_KLEUR = "#f0f0f0"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"
#: Plotly config: no control that can reach another host; PNG download and zoom stay.
PLOTLY_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "showSendToCloud": False,  # plotly.js 3 defaults to true: the "Share chart" cloud upload
    "showTips": False,
    "responsive": True,
    "modeBarButtonsToRemove": [
        "sendChartToCloud",
        "sendDataToCloud",
        "editInChartStudio",
        "lasso2d",
        "select2d",
    ],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


@dataclass(frozen=True)
class Figure:
    titel: str
    html: str
    toelichting: str = ""
    sleutel: list[dict[str, str]] = field(default_factory=list)  # numbered map key


def _layout(fig: go.Figure, height: int = 360, **extra: Any) -> go.Figure:
    settings: dict[str, Any] = {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "font": {"family": FONT, "size": 13},
        "separators": ",.",
        "hoverlabel": {"namelength": -1},
    }
    fig.update_layout(**(settings | extra))
    return fig


def _figure(data: Any = None) -> go.Figure:
    """A new figure without plotly's default template: :func:`embed` sets the report's own.

    ``go.Figure()`` otherwise copies the whole default template ("plotly", 24 trace types)
    into each figure, only for :func:`embed` to replace it (docs/schaal-rondes.md, ninth round).
    """
    return go.Figure(data, layout={"template": {}})


@functools.cache
def _template(trace_types: frozenset[str]) -> dict[str, Any]:
    """Plotly's "simple_white" look, with the trace defaults of ``trace_types`` only, as the
    JSON a figure carries into the page (made once per set of trace types).

    Each figure carries its template into the page. The whole of "simple_white" holds the
    defaults of 24 trace types; setting it cost each figure ~13 ms and ~4 KB of the page, for
    defaults of trace types the figure does not draw (docs/schaal-rondes.md, eighth round).
    """
    simple_white = pio.templates["simple_white"]
    template = go.layout.Template(
        layout=simple_white.layout,
        data={kind: simple_white.data[kind] for kind in sorted(trace_types)},
    )
    return template.to_plotly_json()


def embed(fig: go.Figure, div_id: str) -> str:
    """Figure as a div + script; plotly.js itself is inlined once for the whole page.

    The template is set here, when every trace is in: it holds the defaults of those traces.
    It is put into the figure's JSON as it is, not validated again: it was made from plotly's
    own template (validating it took a third of the report's figures' time).
    """
    figure = fig.to_dict()
    figure["layout"]["template"] = _template(frozenset(t["type"] for t in figure["data"]))
    return pio.to_html(
        figure,
        validate=False,
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        default_height=f"{fig.layout.height or 360}px",
        config={**PLOTLY_CONFIG, "toImageButtonOptions": {"format": "png", "filename": div_id}},
    )


def _legend_square(fig: go.Figure, name: str, colour: str, symbol: str = "square") -> None:
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=name,
            marker={"size": 12, "color": colour, "symbol": symbol, "line": {"width": 1}},
            hoverinfo="skip",
        )
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
    common: dict[str, Any] = {
        "text": texts,
        "marker_color": colours,
        "hovertext": hover,
        "hoverinfo": "text",
        "cliponaxis": False,
    }
    if horizontal:
        trace = go.Bar(y=list(labels), x=heights, orientation="h", textposition="outside", **common)
        fig = _layout(_figure(trace), height=max(300, 34 * len(labels) + 60))
        fig.update_yaxes(autorange="reversed", automargin=True)
        fig.update_xaxes(title_text=value_label, rangemode="tozero")
        fig.update_layout(margin={"r": 60})
    else:
        trace = go.Bar(x=list(labels), y=heights, textposition="outside", **common)
        fig = _layout(_figure(trace))
        fig.update_yaxes(title_text=value_label, rangemode="tozero")
        fig.update_xaxes(type="category")
    fig.update_layout(margin={"t": 30}, showlegend=False)
    return embed(fig, div_id)


def short(text: str, width: int = 26) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "\u2026"


def heatmap_figure(div_id: str, pairs: pl.DataFrame, labels: Mapping[str, str]) -> str:
    """Symmetric matrix of observed/expected ratios.

    Three kinds of cell, three looks: a ratio on the diverging scale, a suppressed pair in
    grey with a cross (legend: geheim), the diagonal in a pale background without value.
    """
    names = list(labels)
    index = {n: i for i, n in enumerate(names)}
    size = len(names)
    z: list[list[float | None]] = [[None] * size for _ in range(size)]
    secret: list[list[float | None]] = [[None] * size for _ in range(size)]
    diagonal: list[list[float | None]] = [
        [1.0 if i == j else None for j in range(size)] for i in range(size)
    ]
    marks = [["" for _ in range(size)] for _ in range(size)]
    hover = [[f"{labels[n]}" for _ in range(size)] for n in names]
    for row in pairs.iter_rows(named=True):
        if row["a"] not in index or row["b"] not in index:
            continue
        i, j = index[row["a"]], index[row["b"]]
        text = (
            f"{labels[row['a']]} + {labels[row['b']]}<br>huishoudens: {fmt_count(row['huishoudens'])}"
            f"<br>verwacht: {fmt_decimal(row['verwacht'])}<br>ratio: {fmt_ratio(row['ratio'])}"
        )
        for a, b in ((i, j), (j, i)):
            hover[a][b] = text
            if row["ratio"] is None:
                secret[a][b] = 1.0
                marks[a][b] = GEHEIM_TEKEN
            else:
                z[a][b] = row["ratio"]
    shown = [short(labels[n]) for n in names]
    top = max([abs(math.log2(v)) for r in z for v in r if v] or [1.0])
    top = max(top, 1.0)
    fig = _figure()
    fig.add_trace(
        go.Heatmap(
            z=diagonal,
            x=shown,
            y=shown,
            colorscale=[[0, DIAGONAAL_KLEUR], [1, DIAGONAAL_KLEUR]],
            showscale=False,
            hoverinfo="skip",
            xgap=1,
            ygap=1,
        )
    )
    fig.add_trace(
        go.Heatmap(
            z=secret,
            x=shown,
            y=shown,
            text=marks,
            texttemplate="%{text}",
            textfont={"color": "#ffffff"},
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            colorscale=[[0, GEHEIM_KLEUR], [1, GEHEIM_KLEUR]],
            showscale=False,
            xgap=1,
            ygap=1,
        )
    )
    fig.add_trace(
        go.Heatmap(
            z=[[None if v is None else math.log2(v) if v > 0 else -top for v in r] for r in z],
            x=shown,
            y=shown,
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
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
                "len": 0.6,
                "y": 0.7,
            },
        )
    )
    _legend_square(fig, f"{GEHEIM_TEKEN} geheim", GEHEIM_KLEUR)
    _legend_square(fig, "zelfde (geen waarde)", DIAGONAAL_KLEUR)
    _layout(
        fig,
        height=max(420, 20 * size + 200),
        legend={"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"},
        font={"family": FONT, "size": 11 if size > 10 else 13},
    )
    fig.update_yaxes(autorange="reversed", automargin=True, showgrid=False)
    fig.update_xaxes(automargin=True, tickangle=-45, showgrid=False)
    return embed(fig, div_id)


def _rings(geometry: Mapping[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def _centroid(ring: Sequence[Sequence[float]]) -> tuple[float, float]:
    """Area centroid of a ring (shoelace); the vertex mean for a degenerate ring."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, [*ring[1:], ring[0]], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area) < 1e-12:
        return (sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))
    return cx / (3 * area), cy / (3 * area)


def _ring_area(ring: Sequence[Sequence[float]]) -> float:
    return abs(
        sum(
            x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, [*ring[1:], ring[0]], strict=True)
        )
    )


def bins(values: Sequence[float], n: int = 5) -> list[float]:
    """Equal-interval class breaks over the published values (n classes, n+1 edges)."""
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high <= low:
        high = low + 1.0
    step = (high - low) / n
    return [round(low + i * step, 1) for i in range(n)] + [high]


def map_key(kaart: Mapping[str, Any]) -> dict[str, int]:
    """Wijk code -> key number, in code order: the same number on every map of the report."""
    codes = sorted(str(f.get("properties", {}).get("statcode")) for f in kaart.get("features", []))
    return {code: i for i, code in enumerate(codes, start=1)}


def map_figure(
    div_id: str, kaart: Mapping[str, Any], values: Mapping[str, float | None], value_label: str
) -> tuple[str, list[dict[str, str]]]:
    """Choropleth of wijken without any base map, each wijk numbered; returns (html, key).

    The key (number, wijk name, value) is printed beside the map, so the map reads on paper.
    """
    features = kaart.get("features", [])
    lats = [pt[1] for f in features for ring in _rings(f["geometry"]) for pt in ring]
    scale = math.cos(math.radians(sum(lats) / len(lats))) if lats else 1.0
    known = [v for v in values.values() if v is not None]
    edges = bins(known)
    classes = [
        f"{fmt_pct(edges[i])} \u2013 {fmt_pct(edges[i + 1])}" for i in range(len(SEQUENTIAL))
    ]
    numbers = map_key(kaart)

    def klass(v: float) -> int:
        return min(len(SEQUENTIAL) - 1, max(0, next((i for i in range(5) if v < edges[i + 1]), 4)))

    fig = _figure()
    label_x, label_y, label_text, label_hover, label_colour = [], [], [], [], []
    key: list[dict[str, str]] = []
    for f in sorted(features, key=lambda f: numbers[str(f["properties"].get("statcode"))]):
        props = f.get("properties", {})
        code, naam = str(props.get("statcode")), str(props.get("statnaam", ""))
        value = values.get(code)
        xs: list[float | None] = []
        ys: list[float | None] = []
        rings = _rings(f["geometry"])
        for ring in rings:
            xs += [pt[0] * scale for pt in ring] + [None]
            ys += [pt[1] for pt in ring] + [None]
        colour = GEHEIM_KLEUR if value is None else SEQUENTIAL[klass(value)]
        tip = f"{numbers[code]}. {naam}: {fmt_pct(value)}"
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                fill="toself",
                fillcolor=colour,
                mode="lines",
                line={"color": "#ffffff", "width": 1},
                hoveron="fills",
                name=tip,
                showlegend=False,
                hoverinfo="name",
            )
        )
        if rings:
            cx, cy = _centroid(max(rings, key=_ring_area))
            label_x.append(cx * scale)
            label_y.append(cy)
            label_text.append(str(numbers[code]))
            label_hover.append(tip)
            dark = value is not None and klass(value) >= 2
            label_colour.append("#ffffff" if dark else "#000000")
        key.append({"nummer": str(numbers[code]), "naam": naam, "waarde": fmt_pct(value)})
    fig.add_trace(
        go.Scatter(
            x=label_x,
            y=label_y,
            mode="text",
            text=label_text,
            textfont={"size": 12, "color": label_colour},
            hovertext=label_hover,
            hoverinfo="text",
            showlegend=False,
            meta="wijklabels",
        )
    )
    for i, label in enumerate(classes):
        _legend_square(fig, label, SEQUENTIAL[i])
    _legend_square(fig, "geheim / onbekend", GEHEIM_KLEUR)
    _layout(
        fig,
        height=480,
        legend={"title": {"text": value_label, "side": "top"}, "orientation": "h", "y": -0.02},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1)
    return embed(fig, div_id), key


def share_bar_figure(
    div_id: str, labels: Sequence[str], values: Sequence[float | None], value_label: str
) -> str:
    """Vertical bars of shares (per cent); a secret share keeps its place, marked geheim."""
    fig = _figure(
        go.Bar(
            x=list(labels),
            y=[v or 0 for v in values],
            text=[fmt_pct(v) for v in values],
            textposition="outside",
            marker_color=[GEHEIM_KLEUR if v is None else OKABE_ITO[5] for v in values],
            hoverinfo="text",
            hovertext=[
                f"{lab}: {fmt_pct(v)} {value_label}" for lab, v in zip(labels, values, strict=True)
            ],
            cliponaxis=False,
        )
    )
    _layout(fig, margin={"t": 30})
    fig.update_yaxes(title_text=f"% {value_label}", range=[0, 105])
    fig.update_xaxes(type="category", title_text="aantal voorzieningen")
    return embed(fig, div_id)


def grouped_share_figure(
    div_id: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    value_label: str,
) -> str:
    """Horizontal grouped bars of shares per category, one series per source (comparison)."""
    fig = _figure()
    for i, (name, values) in enumerate(series.items()):
        fig.add_trace(
            go.Bar(
                y=list(categories),
                x=[v or 0 for v in values],
                name=name,
                orientation="h",
                text=[fmt_pct(v) for v in values],
                textposition="outside",
                marker_color=[
                    GEHEIM_KLEUR if v is None else OKABE_ITO[i % len(OKABE_ITO)] for v in values
                ],
                hovertext=[
                    f"{name}, {c}: {fmt_pct(v)}" for c, v in zip(categories, values, strict=True)
                ],
                hoverinfo="text",
                cliponaxis=False,
            )
        )
    _layout(
        fig,
        height=max(320, 26 * len(categories) * max(1, len(series)) + 80),
        barmode="group",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        margin={"r": 60, "t": 40},
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title_text=f"% {value_label}", rangemode="tozero")
    return embed(fig, div_id)
