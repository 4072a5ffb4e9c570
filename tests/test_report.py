"""The report: gated before writing, and fully working offline in headless Chromium."""

from __future__ import annotations

import contextlib
import html
import json
import re
import tempfile
import time
from pathlib import Path

import polars as pl
import pytest
from audit_factory import audit_record
from editions import Published
from households_factory import gemeente, households
from test_publish import PROVENANCE, zaanstad

from factlab.connectors.cbs_gebruik import read_cbs_gebruik
from factlab.disclose import DisclosureError, DisclosureRules
from factlab.errors import FactlabError, ReferenceFileError
from factlab.publish import protected_tables, publish
from factlab.report import fmt_count, fmt_pct, gate_html
from factlab.report.compare import read_previous
from factlab.report.figures import bar_figure, map_figure
from factlab.report.format import fmt_change
from factlab.report.narrative import _samenloop, _tipping, summary

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FIGURES = [
    "fig-aantal-voorzieningen",
    "fig-aantal-organisaties",
    "fig-domeincombinaties",
    "fig-top-combinaties",
    "fig-samenloop-domeinen",
    "fig-samenloop-voorzieningen",
    "fig-kaart-voorziening",
    "fig-kaart-domeinen",
    "fig-kwetsbaarheid",
    "fig-vergelijking-cbs",
]


def test_dutch_number_formatting():
    assert fmt_count(12345) == "12.345"
    assert fmt_count(None) == "geheim"
    assert fmt_pct(12.25) == "12,2%" or fmt_pct(12.25) == "12,3%"


@pytest.mark.parametrize(
    "html",
    [
        '<td data-count="5">5</td>',
        '<td data-count="12">12</td>',
        '<script src="https://cdn.plot.ly/x.js">',
        "<p>pseudoniem 9f86d081884c7d659a2feaa0c55ad015b3bf4f1b</p>",
    ],
    ids=["small-count", "unrounded", "remote-script", "token"],
)
def test_html_gate_refuses(html):
    with pytest.raises(DisclosureError):
        gate_html(html, DisclosureRules())


def test_html_gate_accepts_published_counts_and_allowed_fingerprint():
    gate_html('<td data-count="10">10</td><td data-count="">geheim</td>', DisclosureRules())
    gate_html(
        "<p>sleutel 9f86d081884c7d659a2feaa0c55ad015</p>",
        DisclosureRules(),
        allowed_tokens=["9f86d081884c7d659a2feaa0c55ad015"],
    )


#: Fragments of a sentence into which a suppressed value was substituted.
BROKEN = re.compile(r"geheim (huishoudens|keer|%)|\(geheim\)|geheim\)|van geheim|is geheim van")


def _sentences_of_tiny_gemeente() -> list[str]:
    area = gemeente(3)
    tables = protected_tables(
        households(5, 14, area),
        gemeente_code=area.code,
        gemeente_naam=area.naam,
        wijken=area.wijken,
        provenance=audit_record(),
    ).tables
    return summary(tables, area.code, area.naam)[1]


def test_summary_of_a_tiny_gemeente_stays_grammatical():
    sentences = _sentences_of_tiny_gemeente()
    assert sentences, "a summary always says something"
    for sentence in sentences:
        assert not BROKEN.search(sentence), sentence
        assert sentence[0].isupper() and sentence.endswith("."), sentence
    assert any(s.startswith("Niet te publiceren") for s in sentences)


def test_no_samenloop_is_claimed_below_chance():
    pairs = pl.DataFrame({"a": ["jeugd", "minima"], "b": ["wmo", "wmo"], "ratio": [0.86, 0.5]})
    text = _samenloop(pairs)
    assert text is not None and "Geen enkel paar" in text and "duidelijkst" not in text
    strong = _samenloop(pairs.with_columns(pl.Series("ratio", [1.8, 0.5])))
    assert strong is not None and strong.startswith("Jeugd en Wmo gaan")


def test_tipping_point_is_honest():
    def vuln(*shares: float | None) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "aantal_voorzieningen": ["2", "3", "4", "5+"],
                "aandeel_meerdere_domeinen_pct": shares,
            },
            schema={"aantal_voorzieningen": pl.String, "aandeel_meerdere_domeinen_pct": pl.Float64},
        )

    flat = _tipping(vuln(55.0, 58.0, 60.0, 61.0))
    assert flat is not None and "geen duidelijk kantelpunt" in flat and "vanaf" not in flat.lower()
    step = _tipping(vuln(30.0, 35.0, 70.0, None))
    assert step is not None and "tussen 3 en 4 voorzieningen" in step
    assert _tipping(vuln(None, None, 50.0, None)) is None


def test_charts_have_no_control_that_contacts_another_host():
    html = bar_figure("fig-x", ["1", "2"], [10, None])
    config = json.loads(re.search(r"\},\s*(\{.*?\})\s*\)", html, re.S).group(1))
    assert config["showSendToCloud"] is False
    assert config["displaylogo"] is False
    assert {"sendChartToCloud", "sendDataToCloud", "editInChartStudio"} <= set(
        config["modeBarButtonsToRemove"]
    )
    assert "toImage" not in config["modeBarButtonsToRemove"]


HEADER = (
    '"Aantal voorzieningen";"Soort voorziening sociaal domein";"Wijken";"Perioden";'
    '"Sociaal domein cliënten/huishoudens Cliënten met voorzieningen (aantal)";'
    '"Sociaal domein cliënten/huishoudens Huishoudens met voorzieningen (aantal)"'
)
CBS_LABELS = {
    "Totaal": "Totaal",
    "Alleen Jeugd": "Alleen Jeugd",
    "Alleen P-wet": "Alleen Participatie",
    "Alleen Wmo": "Alleen Wmo",
    "Jeugd en P-wet": "Jeugd en Participatie",
    "Jeugd en Wmo": "Jeugd en Wmo",
    "P-wet en Wmo": "Participatie en Wmo",
    "Jeugd, P-wet en Wmo": "Jeugd, Participatie en Wmo",
}


def cbs_table(path: Path, areas: dict[str, list[str]], period: str = "2024") -> Path:
    """A CBS StatLine CSV download: title, header, rows per (aantal, soort, wijk), footer.

    ``areas`` maps a CBS area name to the households cell per CBS category (as CBS writes it:
    ``1.665``, ``.`` for secret), in the order of :data:`CBS_LABELS`.
    """
    lines = [
        '"Gebruik voorzieningen sociaal domein; aantal voorzieningen, wijken, 2024"',
        "",
        HEADER,
    ]
    for aantal in ("Totaal", "1 maatwerkvoorziening"):
        for i, label in enumerate(CBS_LABELS):
            for area, cells in areas.items():
                lines.append(f'"{aantal}";"{label}";"{area}";"{period}";".";"{cells[i]}"')
    lines += ["", '"Bron: CBS"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def test_cbs_reader_reads_the_statline_download(tmp_path):
    path = cbs_table(
        tmp_path / "cbs.csv",
        {
            "Zaanstad": ["3.100", "600", "700", "1.200", "90", "150", "300", "60"],
            "Wijk 12 Poelenburg": ["400", "80", "120", "140", ".", "20", "35", "."],
        },
    )
    frame = read_cbs_gebruik(path)
    assert frame.height == 16  # only "Aantal voorzieningen = Totaal"
    assert set(frame.get_column("combinatie")) == set(CBS_LABELS.values())
    zaanstad_total = frame.filter(
        (pl.col("gebied") == "Zaanstad") & (pl.col("combinatie") == "Totaal")
    )
    assert zaanstad_total.get_column("huishoudens").item() == 3100
    secret = frame.filter(
        (pl.col("gebied") == "Wijk 12 Poelenburg")
        & (pl.col("combinatie") == "Jeugd en Participatie")
    )
    assert secret.get_column("huishoudens").item() is None
    assert frame.get_column("periode").unique().to_list() == ["2024"]


@pytest.mark.parametrize(
    "body",
    [
        HEADER + '\n"Totaal";"CANARY-soort";"Zaanstad";"2024";".";"10"',
        HEADER + '\n"Totaal";"Alleen Wmo";"Zaanstad";"2024";".";"CANARY-12"',
        '"Iets";"CANARY-kop"\n"a";"b"',
    ],
    ids=["unknown-category", "bad-count", "not-the-table"],
)
def test_cbs_reader_refuses_without_echoing(tmp_path, body):
    path = tmp_path / "cbs.csv"
    path.write_text(body + "\n", encoding="utf-8")
    with pytest.raises(ReferenceFileError) as error:
        read_cbs_gebruik(path)
    assert "CANARY" not in str(error.value) and "cbs.csv" in str(error.value)


def _text(html_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", html_text))


def test_report_compares_with_cbs_and_the_previous_edition(tmp_path):
    area, kaart = zaanstad()
    cbs = cbs_table(
        tmp_path / "cbs.csv",
        {
            "Zaanstad": ["3.100", "600", "700", "1.200", "90", "150", "300", "60"],
            "Poelenburg": ["400", "80", "120", "140", "10", "20", "35", "15"],
        },
    )
    hh = households(3, 1500, area)
    common = {
        "gemeente_code": area.code,
        "gemeente_naam": area.naam,
        "wijken": area.wijken,
        "kaart": kaart,
    }
    publish(hh.slice(40), **common, provenance=PROVENANCE, out_dir=tmp_path / "2023")
    (tmp_path / "2023" / "huishoudens.parquet").write_text("not a table: never read")
    publish(
        hh, **common, provenance=PROVENANCE, out_dir=tmp_path / "2024",
        cbs_gebruik=cbs, vorige_editie=tmp_path / "2023",
    )  # fmt: skip
    page = (tmp_path / "2024" / "rapport.html").read_text(encoding="utf-8")
    text = _text(page)
    assert "Zaanstad (CBS, 2024)" in page and "Utrecht 2024 (CBS)" in page
    table = re.search(r'<table class="sorteerbaar" id="vergelijking_cbs">(.*?)</table>', page, re.S)
    assert table and "Poelenburg" in table.group(1) and "Zaandam Zuid" not in table.group(1)
    cells = _text(table.group(1))
    assert "/ 38,7%" in cells and "/ 19,0%" in cells  # CBS Alleen Wmo 1.200/3.100, 80/420
    previous = re.search(r'id="vergelijking_vorige">(.*?)</table>', page, re.S)
    assert previous and "Met voorziening 2023" in _text(previous.group(1))
    assert "Vergelijking met de vorige editie" in text


def test_previous_edition_must_be_published_tables(tmp_path):
    (tmp_path / "oud").mkdir()
    (tmp_path / "oud" / "huishoudens.parquet").write_bytes(b"PAR1")
    with pytest.raises(FactlabError, match=r"kerncijfers\.csv ontbreekt"):
        read_previous(tmp_path / "oud")


needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium ontbreekt (apt-get install chromium)"
)
#: Screenshots and PDF pages for a human to look at (git-ignored).
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "rapport"
#: Width of the printable area of A4 portrait with the report's 12 mm side margins, in CSS px.
A4_CONTENT_PX = int((210 - 2 * 12) / 25.4 * 96)
#: Elements that must never be wider than the page (print) or the viewport.
WIDE = "table, .figuur, .kaartsleutel, .js-plotly-plot .svg-container, .js-plotly-plot .main-svg"
TOO_WIDE = (
    "sel => { const W = document.documentElement.clientWidth;"
    " return [...document.querySelectorAll(sel)].map(e => [e.closest('[id]')?.id || '?',"
    " e.getBoundingClientRect().left, e.getBoundingClientRect().right])"
    " .filter(([, l, r]) => l < -1 || r > W + 1).map(([id, , r]) => id + ':' + Math.round(r)); }"
)


@pytest.fixture(scope="module")
def real_report(published_edition: Published) -> Path:
    """The report of a real run on synthetic Zaanstad."""
    return (published_edition.edition_dir / "rapport.html").resolve()


def _plots(page: str) -> list[tuple[list[dict], dict]]:
    """(traces, layout) of every chart in ``page``, as its ``Plotly.newPlot`` call draws it."""
    decoder = json.JSONDecoder()
    plots = []
    for call in re.finditer(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*", page):
        traces, end = decoder.raw_decode(page, call.end())
        layout, _ = decoder.raw_decode(page, page.index("{", end))
        plots.append((traces, layout))
    return plots


def test_every_chart_has_the_simple_white_look_for_what_it_draws(real_report: Path) -> None:
    """Each chart's template is plotly's "simple_white": its whole layout, and the defaults of
    every trace type the chart draws (those of other types are left out)."""
    import plotly.io as pio
    from plotly.utils import PlotlyJSONEncoder

    template = pio.templates["simple_white"].to_plotly_json()
    simple_white = json.loads(json.dumps(template, cls=PlotlyJSONEncoder))
    plots = _plots(real_report.read_text(encoding="utf-8"))
    assert len(plots) >= 5
    for traces, layout in plots:
        drawn = {trace["type"] for trace in traces}
        assert layout["template"] == {
            "layout": simple_white["layout"],
            "data": {kind: simple_white["data"][kind] for kind in drawn},
        }


@contextlib.contextmanager
def offline_page(report: Path, width: int, height: int = 900):
    """A Chromium page with the network cut off; yields (page, requests to other hosts)."""
    from playwright.sync_api import sync_playwright

    other: list[str] = []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": width, "height": height},
        )
        context.set_offline(True)

        def route(r):
            if r.request.url == report.as_uri():
                r.continue_()
            else:
                other.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.add_init_script(
            "window.__csp = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(e.blockedURI));"
        )
        page.on("requestfailed", lambda r: other.append(r.url))
        page.goto(report.as_uri(), wait_until="load")
        try:
            yield page, other
        finally:
            context.close()


def _wait_for_charts(page, ids: list[str]) -> None:
    page.wait_for_function(
        "ids => ids.every(id => document.querySelector('#' + id + ' .main-svg'))",
        arg=ids,
        timeout=15000,
    )


@needs_chromium
def test_report_renders_offline_in_chromium(real_report: Path):
    """Opened with the network cut off: every chart, no cloud control, every map label."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with offline_page(real_report, 1280) as (page, other):
        _wait_for_charts(page, FIGURES)
        rendered = page.eval_on_selector_all(
            ".plotly-graph-div", "els => els.map(e => [e.id, !!e.querySelector('.main-svg')])"
        )
        # Every chart fits its box (none cut off at the right edge) once the page has settled.
        too_wide = (
            "() => [...document.querySelectorAll('.plotly-graph-div')].filter(e =>"
            " e.querySelector('.main-svg').getBoundingClientRect().width"
            " > e.getBoundingClientRect().width + 1).map(e => e.id)"
        )
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(f"({too_wide})().length === 0", timeout=5000)
        overflowing = page.evaluate(too_wide)
        csp = page.evaluate("window.__csp")
        # Controls: plotly's mode bar may offer PNG download and zooming, nothing that uploads.
        page.hover("#fig-aantal-voorzieningen")
        buttons = page.eval_on_selector_all(
            ".modebar-btn", "els => els.map(e => e.getAttribute('data-title') || '')"
        )
        links = page.eval_on_selector_all(
            "a[href], form[action]", "els => els.map(e => e.getAttribute('href') || 'form')"
        )
        contexts = page.evaluate(
            "() => [...document.querySelectorAll('.js-plotly-plot')]"
            ".map(e => e._context.showSendToCloud || e._context.showEditInChartStudio || false)"
        )
        # Map labels: every wijk's number is drawn on both maps, and the key names every wijk.
        labels = page.evaluate(
            "ids => ids.map(id => [...document.querySelectorAll('#' + id + ' .textpoint text')]"
            ".map(t => t.textContent))",
            ["fig-kaart-voorziening", "fig-kaart-domeinen"],
        )
        keys = page.eval_on_selector_all(
            ".kaartsleutel",
            "els => els.map(e => [...e.querySelectorAll('.naam')].map(n => n.textContent))",
        )
        # Sorting the wijk table by a count column works without any library.
        page.click("#wijktabel th:nth-child(4) button")
        sorted_attr = page.get_attribute("#wijktabel th:nth-child(4)", "aria-sort")
        page.screenshot(path=str(ARTIFACTS / "rapport-1280.png"), full_page=True)
    kaart = json.loads(
        (real_report.parents[2] / "gemeente" / "referentie" / "wijken.geojson").read_text()
    )
    wijken = sorted(f["properties"]["statnaam"] for f in kaart["features"])
    print(f"\nschermafdrukken: {ARTIFACTS}  ({time.monotonic() - started:.1f}s)")
    assert other == [] and csp == []
    assert sorted(i for i, ok in rendered if ok) == sorted(FIGURES)
    assert overflowing == []
    assert "Download plot as a PNG" in buttons
    assert not [b for b in buttons if re.search(r"cloud|share|edit|plotly", b, re.I)], buttons
    assert all(h.startswith("#") for h in links), links
    assert not any(contexts)
    numbers = [str(i) for i in range(1, len(wijken) + 1)]
    assert [sorted(found, key=int) for found in labels] == [numbers, numbers]
    assert [sorted(k) for k in keys] == [wijken, wijken]
    assert sorted_attr == "ascending"
    assert (ARTIFACTS / "rapport-1280.png").stat().st_size > 50_000


@needs_chromium
def test_report_reads_on_a_phone(real_report: Path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with offline_page(real_report, 390, 844) as (page, other):
        _wait_for_charts(page, [f for f in FIGURES if f != "fig-samenloop-voorzieningen"])
        page.wait_for_timeout(300)
        wide = page.evaluate(TOO_WIDE, ".figuur, .js-plotly-plot .main-svg, .samenvatting")
        phone_list = page.is_visible("#samenloop_lijst")
        big_heatmap = page.is_visible("#fig-samenloop-voorzieningen")
        page.screenshot(path=str(ARTIFACTS / "rapport-390.png"), full_page=True)
    assert other == []
    assert wide == []
    assert phone_list and not big_heatmap


@needs_chromium
def test_report_prints_on_a4_without_clipping(real_report: Path):
    """Print emulation at the A4 content width, and a PDF printed by Chromium, page by page."""
    import pypdfium2 as pdfium

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf_path = ARTIFACTS / "rapport.pdf"
    with offline_page(real_report, 1280) as (page, other):
        _wait_for_charts(page, FIGURES)
        page.emulate_media(media="print")
        page.pdf(path=str(pdf_path), format="A4", print_background=True)
        page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1000})
        page.wait_for_timeout(300)
        wide = page.evaluate(TOO_WIDE, WIDE)
        scroll = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    assert other == []
    assert wide == [] and scroll <= 0
    clipped = pdf_overflow(pdf_path)
    pdf = pdfium.PdfDocument(pdf_path)
    for number in range(min(3, len(pdf))):
        pdf[number].render(scale=1).to_pil().save(
            ARTIFACTS / f"rapport-pdf-pagina-{number + 1}.png"
        )
    assert len(pdf) >= 5
    assert clipped == []


def pdf_overflow(path: Path) -> list[tuple[int, int, int]]:
    """(page, left, right) of every drawn object reaching past the page's left or right edge.

    Chromium clips what does not fit, but the clipped object keeps its bounds beyond the edge;
    only top-level objects are looked at (nested ones have their own coordinate space).
    """
    import pypdfium2 as pdfium

    found = []
    for number, page in enumerate(pdfium.PdfDocument(path), start=1):
        width, _ = page.get_size()
        for obj in page.get_objects(max_depth=1):
            left, _, right, _ = obj.get_bounds()
            if right > width + 1 or left < -1:
                found.append((number, round(left), round(right)))
    return found


@needs_chromium
def test_pdf_overflow_check_sees_a_clipped_table(tmp_path: Path):
    """The PDF check is not vacuous: a table and a chart wider than A4 are caught."""
    page = tmp_path / "breed.html"
    cells = "".join(f"<td>kolom{i}</td>" for i in range(30))
    page.write_text(
        f"<table style='width:1400px'><tr>{cells}</tr></table>"
        "<svg width=1200 height=60><rect width=1200 height=50 fill=red /></svg>",
        encoding="utf-8",
    )
    with offline_page(page.resolve(), 1280) as (browser_page, _):
        browser_page.pdf(path=str(tmp_path / "breed.pdf"), format="A4")
    assert pdf_overflow(tmp_path / "breed.pdf")


@needs_chromium
def test_summary_of_a_tiny_gemeente_in_chromium(tmp_path: Path):
    """Almost everything suppressed: the summary, as Chromium shows it, has no broken fragment."""
    area = gemeente(3)
    publish(
        households(5, 14, area),
        gemeente_code=area.code,
        gemeente_naam=area.naam,
        wijken=area.wijken,
        kaart=None,
        provenance=PROVENANCE,
        out_dir=tmp_path,
    )
    with offline_page((tmp_path / "rapport.html").resolve(), 1280) as (page, other):
        sentences = page.eval_on_selector_all(
            ".samenvatting li", "els => els.map(e => e.innerText.trim())"
        )
    assert other == []
    assert sentences and not [s for s in sentences if BROKEN.search(s)]
    assert sentences == _sentences_of_tiny_gemeente()


def test_map_numbers_every_wijk_with_a_full_tooltip():
    _, kaart = zaanstad()
    codes = sorted(f["properties"]["statcode"] for f in kaart["features"])
    values = {code: 12.5 for code in codes} | {codes[1]: None}
    html_text, key = map_figure("fig-k", kaart, values, "% van alle woningen")
    assert [k["nummer"] for k in key] == [str(i) for i in range(1, len(codes) + 1)]
    assert key[1] == {"nummer": "2", "naam": "Poelenburg", "waarde": "geheim"}
    figure = json.loads(
        re.search(r"Plotly\.newPlot\(\s*\"fig-k\",\s*(\[.*?\]),\s*\{", html_text, re.S).group(1)
    )
    labels = next(t for t in figure if t.get("mode") == "text")
    assert labels["text"] == [str(i) for i in range(1, len(codes) + 1)]
    assert "2. Poelenburg: geheim" in labels["hovertext"]
    assert '"namelength":-1' in html_text


def test_dutch_changes_use_a_true_minus_and_thousands_dots():
    assert fmt_change(1250) == "+1.250"
    assert fmt_change(-5) == "\u22125"
    assert fmt_change(0) == "\u00b10"
    assert fmt_change(None) == "geheim"
