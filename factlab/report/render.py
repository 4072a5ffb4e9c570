"""Render the self-contained report from published (protected) tables, and gate it.

Why self-contained: municipal networks often block CDNs, and a report that silently loses its
charts is worse than none. plotly.js is inlined once, after :func:`gate_html` has checked the
page: every number shown comes from the protected tables, never from the true counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
import plotly.offline
import polars as pl
from markupsafe import Markup

from factlab.disclose import DisclosureError, DisclosureRules, check_text
from factlab.report import compare, narrative, tables
from factlab.report.figures import (
    OKABE_ITO,
    Figure,
    bar_figure,
    heatmap_figure,
    map_figure,
    share_bar_figure,
)
from factlab.report.narrative import denominator, gemeente_rows
from factlab.reports import RAPPORT_TEMPLATE, STYLESHEET, TEMPLATE_DIR
from factlab.schemas.audit import AuditRecord

PLOTLY_PLACEHOLDER = "/*@@PLOTLYJS@@*/"


def css_string(text: str) -> str:
    """A CSS string literal; every non-alphanumeric character as a hex escape (inert in <style>)."""
    return (
        '"' + "".join(ch if ch.isalnum() or ch == " " else f"\\{ord(ch):x} " for ch in text) + '"'
    )


def _figures(
    t: Mapping[str, pl.DataFrame],
    code: str,
    kaart: Mapping[str, Any] | None,
    provision_names: Mapping[str, str],
) -> dict[str, Figure]:
    def series(name: str, category: str) -> tuple[list[str], list[int | None]]:
        frame = gemeente_rows(t[name], code)
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
        "Zelfde indeling als de CBS-tabel 'Gebruik voorzieningen sociaal domein'. 'Alleen Wmo' "
        "betekent: Wmo, zonder Jeugd en zonder Participatie (andere domeinen kunnen er wel bij).",
    )
    labels, values = series("top_combinaties", "combinatie")
    figs["top_combinaties"] = Figure(
        "Meest voorkomende combinaties over alle domeinen",
        bar_figure("fig-top-combinaties", labels, values, horizontal=True, colour=OKABE_ITO[3]),
        "Elke combinatie is precies deze set domeinen. Alleen combinaties die groot genoeg zijn "
        "om te publiceren, kunnen in de lijst staan.",
    )
    domains = gemeente_rows(t["domeinen"], code).get_column("domein").to_list()
    figs["samenloop_domeinen"] = Figure(
        "Samenloop van domeinen (ratio waargenomen / verwacht)",
        heatmap_figure(
            "fig-samenloop-domeinen",
            t["samenloop_domeinen"],
            {d: narrative._domain(d) for d in domains},
        ),
        "Paars: vaker samen dan verwacht; oranje: minder vaak; wit: zoals verwacht. "
        "Grijs met \u00d7: geheim. Lichtgrijs (diagonaal): hetzelfde domein.",
    )
    published = (
        gemeente_rows(t["voorzieningen"], code)
        .drop_nulls("huishoudens")
        .get_column("voorziening")
        .to_list()
    )
    names = {c: provision_names.get(c, c) for c in published}
    figs["samenloop_voorzieningen"] = Figure(
        "Samenloop van voorzieningen (ratio waargenomen / verwacht)",
        heatmap_figure("fig-samenloop-voorzieningen", t["samenloop_voorzieningen"], names),
        "Alleen voorzieningen waarvan het aantal huishoudens gepubliceerd kan worden. Grijs met "
        "\u00d7: geheim. Op een smal scherm staat hieronder de lijst van de sterkste paren.",
    )
    kern = t["kerncijfers"]
    noemer = denominator(kern)
    if kaart and kaart.get("features"):
        for key, column, title, legend, note in (
            (
                "kaart_voorziening",
                noemer.share_column,
                f"Aandeel {noemer.noun} met een voorziening",
                f"% van alle {noemer.noun}",
                f"Noemer: {noemer.source}.",
            ),
            (
                "kaart_domeinen",
                "aandeel_meerdere_domeinen_pct",
                "Aandeel met voorzieningen uit meerdere domeinen, van de huishoudens met een "
                "voorziening",
                "% van huishoudens met een voorziening",
                "Noemer: huishoudens met ten minste één voorziening in de wijk.",
            ),
        ):
            by_wijk = dict(
                zip(
                    kern.get_column("gebied_code").to_list(),
                    kern.get_column(column).to_list(),
                    strict=True,
                )
            )
            html, sleutel = map_figure(f"fig-{key.replace('_', '-')}", kaart, by_wijk, legend)
            figs[key] = Figure(
                title,
                html,
                f"{note} Elk nummer is een wijk (zie de lijst). Grijs: geheim of onbekend.",
                sleutel,
            )
    else:
        for key in ("kaart_voorziening", "kaart_domeinen"):
            figs[key] = Figure("Kaart", "<p>Geen wijkkaart beschikbaar.</p>")
    vuln = gemeente_rows(t["kwetsbaarheid"], code)
    figs["kwetsbaarheid"] = Figure(
        "Aandeel huishoudens met meerdere domeinen, naar aantal voorzieningen",
        share_bar_figure(
            "fig-kwetsbaarheid",
            vuln.get_column("aantal_voorzieningen").to_list(),
            vuln.get_column("aandeel_meerdere_domeinen_pct").to_list(),
            "met meerdere domeinen",
        ),
        "Berekend uit de afgeronde aantallen in de tabel hieronder.",
    )
    return figs


def render_report(
    tables_: Mapping[str, pl.DataFrame],
    *,
    gemeente_code: str,
    gemeente_naam: str,
    kaart: Mapping[str, Any] | None,
    provenance: AuditRecord,
    rules: DisclosureRules,
    provision_names: Mapping[str, str] | None = None,
    contact: str | None = None,
    toelichting: str | None = None,
    synthetisch: bool = False,
    cbs: compare.CbsComparison | None = None,
    vorige: compare.EditionComparison | None = None,
) -> str:
    """Render the report from protected tables; gated before plotly.js is inlined.

    ``contact`` and ``toelichting`` come from the edition config (``[rapport]``), ``synthetisch``
    marks demo data with a banner; ``cbs`` and ``vorige`` are comparisons built from published
    numbers only (:mod:`factlab.report.compare`).
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    names = dict(provision_names or {})
    kpis, sentences = narrative.summary(tables_, gemeente_code, gemeente_naam)
    delivery, delivery_detail = tables.delivery_tables(tables_)
    published = gemeente_rows(tables_["voorzieningen"], gemeente_code).drop_nulls("huishoudens")
    html = env.get_template(RAPPORT_TEMPLATE).render(
        titel=f"Stapelingsmonitor {gemeente_naam}",
        kopregel_css=Markup(
            css_string(f"Stapelingsmonitor {gemeente_naam} \u00b7 editie {provenance.edition}")
        ),
        gemeente=gemeente_naam,
        editie=provenance.edition,
        periode=narrative.period_text(provenance),
        productiedatum=narrative.production_date(provenance),
        volledigheid=narrative.completeness(provenance),
        contact=contact or "",
        toelichting=toelichting or "",
        synthetisch=synthetisch,
        css=Markup(STYLESHEET.read_text(encoding="utf-8")),
        plotly_js=Markup(PLOTLY_PLACEHOLDER),
        kpis=kpis,
        samenvatting=sentences,
        leeswijzer=narrative.reading_guide(rules),
        figuren=_figures(tables_, gemeente_code, kaart, names),
        samenloop_lijst=tables.pairs_table(
            tables_["samenloop_voorzieningen"],
            {c: names.get(c, c) for c in published.get_column("voorziening").to_list()},
        ),
        wijktabel=tables.wijk_table(tables_),
        wijkcombinaties=tables.wijk_combination_table(tables_),
        wijkstapeling=tables.wijk_stacking_table(tables_),
        buurttabel=tables.buurt_table(tables_),
        kwetsbaarheidstabel=tables.vulnerability_table(tables_, gemeente_code),
        aanleveringstabel=delivery,
        aanlevering_voorzieningen=delivery_detail,
        cbs=cbs,
        vorige=vorige,
        sleutel_tekst=narrative.key_text(provenance),
        regels=rules,
        regels_tekst=narrative.rules_text(rules),
        kwaliteit=narrative.quality(provenance),
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
        if not rules.is_publishable(value):
            raise DisclosureError(f"rapport: aantal {value} mag niet gepubliceerd worden")
    if _REMOTE.search(html):
        raise DisclosureError("rapport: verwijzing naar een externe bron (src/href)")
    check_text("rapport", html, allowed_tokens)
