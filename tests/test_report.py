"""The report: gated before writing, and fully working offline in headless Chromium."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from factlab.config import load_config
from factlab.disclose import DisclosureError, DisclosureRules
from factlab.edition import RunSettings, run_edition
from factlab.keys import ephemeral_key
from factlab.report import fmt_count, fmt_pct, gate_html

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


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium ontbreekt (apt-get install chromium)"
)
def test_report_renders_offline_in_chromium(synth_source: Path, tmp_path: Path):
    """The report of a real run on synthetic Zaanstad, opened with the network cut off."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    shutil.copytree(synth_source, tmp_path / "gemeente")
    config = load_config(tmp_path / "gemeente" / "factlab.toml")
    settings = RunSettings(
        tmp_path / "gemeente" / "uploads", tmp_path / "out", "2026", config, config.period
    )
    report = (run_edition(settings, ephemeral_key()).edition_dir / "rapport.html").resolve()
    failed: list[str] = []
    other: list[str] = []
    started = time.monotonic()
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 900},
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
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(report.as_uri(), wait_until="load")
        page.wait_for_function(
            "ids => ids.every(id => document.querySelector('#' + id + ' .main-svg'))",
            arg=FIGURES,
            timeout=15000,
        )
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
        # Sorting the wijk table by a count column works without any library.
        page.click("#wijktabel th:nth-child(4) button")
        sorted_attr = page.get_attribute("#wijktabel th:nth-child(4)", "aria-sort")
        shot = tmp_path / "rapport.png"
        page.screenshot(path=str(shot), full_page=True)
        context.close()
    print(f"\nscreenshot: {shot}  ({time.monotonic() - started:.1f}s)")
    assert failed == [] and other == [] and csp == []
    assert sorted(i for i, ok in rendered if ok) == sorted(FIGURES)
    assert overflowing == []
    assert sorted_attr == "ascending"
    assert shot.stat().st_size > 50_000
