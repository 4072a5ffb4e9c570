"""Comparisons with CBS and with an earlier edition, from published numbers only.

Why only published numbers: a comparison must never become a side channel. With CBS we set
published shares beside published shares. Over time we read an earlier edition's *published
tables* (never its household table) and difference published, rounded counts. Two editions of
overlapping periods are public anyway, so what matters is what their difference reveals: with
deterministic rounding to a multiple of ``afronding``, a published value ``P`` means a true
value in a known interval (:func:`true_interval`), and the difference of two published values
only bounds the true difference (:func:`difference_interval`). As long as
``2 * afronding - 1 > drempel`` that interval always contains 0 or a value above the threshold,
so no reader can conclude that a group of 1..drempel households exists (docs/tabellen.md;
tested in tests/test_analyse.py). The report also calls a change only a change when the
interval excludes zero.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from factlab.analyse import CBS_COMBINATIONS
from factlab.disclose import DisclosureRules
from factlab.errors import FactlabError
from factlab.report.figures import grouped_share_figure
from factlab.report.format import (
    Cell,
    DisplayTable,
    count_cell,
    fmt_change,
    fmt_pct,
    heads,
    is_gemeente,
    is_wijk,
    share,
    text_cell,
)

REFERENCE_FILE = (
    Path(__file__).resolve().parents[1] / "data" / "referentie_gebruik_sociaal_domein.csv"
)
#: The earlier edition's tables the time comparison reads; nothing else of it is opened.
PREVIOUS_TABLES = ("kerncijfers", "domeincombinaties")


# --------------------------------------------------------------------------- rounding intervals


def true_interval(published: int | None, rules: DisclosureRules) -> tuple[int, int | None]:
    """The true values consistent with one published count under ``rules`` (inclusive).

    A suppressed cell (None) may hold anything from 0 up (secondary suppression hides larger
    cells too), so its upper bound is unknown. Values that would round into the suppressed
    range are published as the first allowed multiple, which widens its interval downwards.
    """
    if published is None:
        return 0, None
    base = rules.rounding
    # Round half up: v -> P for P - base/2 <= v < P + base/2.
    low = published - base // 2
    high = published + (base + 1) // 2 - 1
    if published == base * (rules.threshold // base + 1):
        low = rules.threshold + 1  # everything above the threshold that rounded lower
    return max(low, rules.threshold + 1), high


def difference_interval(
    now: int | None, before: int | None, rules: DisclosureRules
) -> tuple[int | None, int | None]:
    """Bounds of the true difference ``now - before`` given two published counts (None: open)."""
    lo_now, hi_now = true_interval(now, rules)
    lo_before, hi_before = true_interval(before, rules)
    low = None if hi_before is None else lo_now - hi_before
    high = None if hi_now is None else hi_now - lo_before
    return low, high


def differencing_is_safe(rules: DisclosureRules) -> bool:
    """True if a difference of two published counts can never pin a group to 1..threshold."""
    return 2 * rules.rounding - 1 > rules.threshold


# --------------------------------------------------------------------------- CBS comparison


def _combination_shares(
    frame: pl.DataFrame, name_column: str
) -> dict[str, dict[str, float | None]]:
    """Per area: share (%) of each CBS combination in the area's combination total.

    Only where every combination is published: with one secret category the total is unknown
    and shares of the visible sum would be too high, so the area gets no shares at all.
    """
    result: dict[str, dict[str, float | None]] = {}
    for area in frame.get_column(name_column).unique(maintain_order=True).to_list():
        part = frame.filter(
            pl.col(name_column).eq(area) & pl.col("combinatie").is_in(list(CBS_COMBINATIONS))
        )
        counts = dict(
            zip(
                part.get_column("combinatie").to_list(),
                part.get_column("huishoudens").to_list(),
                strict=True,
            )
        )
        complete = all(counts.get(c) is not None for c in CBS_COMBINATIONS)
        total = sum(counts[c] for c in CBS_COMBINATIONS) if complete else None
        result[str(area)] = {c: share(counts.get(c), total) for c in CBS_COMBINATIONS}
    return result


def load_reference() -> pl.DataFrame:
    """Published shares of peer gemeenten (CBS), shipped with Factlab: see the file's bron column."""
    return pl.read_csv(REFERENCE_FILE, schema_overrides={"aandeel_pct": pl.Float64})


@dataclass(frozen=True)
class CbsComparison:
    figuur: str
    tabel: DisplayTable | None
    bronnen: list[str]
    cbs_periode: str = ""
    niet_gevonden: list[str] = field(default_factory=list)


def _norm(name: str) -> str:
    """Area names as CBS and Factlab write them, made comparable (``Wijk 12 Poelenburg``)."""
    text = " ".join(name.lower().split())
    parts = text.split(" ", 2)
    if len(parts) == 3 and parts[0] == "wijk" and parts[1].isdigit():
        text = parts[2]
    return text


def cbs_comparison(
    tables: Mapping[str, pl.DataFrame],
    gemeente_code: str,
    gemeente_naam: str,
    cbs: pl.DataFrame | None,
    reference: pl.DataFrame | None = None,
) -> CbsComparison:
    """Factlab's Jeugd/Wmo/Participatie shares beside CBS's, for the gemeente and its wijken.

    ``cbs`` is :func:`factlab.connectors.cbs_gebruik.read_cbs_gebruik` output for this gemeente (or
    None); ``reference`` the shipped peer shares. Shares on both sides are of the published
    combination total of the area, so rounding and suppression treat both alike.
    """
    reference = load_reference() if reference is None else reference
    ours = tables["domeincombinaties"]
    own = _combination_shares(ours, "gebied_code")
    names = dict(ours.select("gebied_code", "gebied_naam").unique().iter_rows())
    series: dict[str, list[float | None]] = {
        f"{gemeente_naam} (Factlab)": [own[gemeente_code][c] for c in CBS_COMBINATIONS]
    }
    theirs: dict[str, dict[str, float | None]] = {}
    missing: list[str] = []
    period = ""
    if cbs is not None and cbs.height:
        period = ", ".join(cbs.get_column("periode").unique(maintain_order=True).to_list())
        by_name = _combination_shares(cbs, "gebied")
        lookup = {_norm(k): v for k, v in by_name.items()}
        for code, naam in names.items():
            found = lookup.get(_norm(naam)) or (
                lookup.get(_norm(gemeente_naam)) if code == gemeente_code else None
            )
            if found is not None:
                theirs[code] = found
            elif is_wijk(code):
                missing.append(naam)
        if gemeente_code in theirs:
            series[f"{gemeente_naam} (CBS, {period})"] = [
                theirs[gemeente_code][c] for c in CBS_COMBINATIONS
            ]
    sources = []
    for (bron,), part in reference.group_by(["gebied"], maintain_order=True):
        shares = dict(
            zip(
                part.get_column("combinatie").to_list(),
                part.get_column("aandeel_pct").to_list(),
                strict=True,
            )
        )
        series[str(bron)] = [shares.get(c) for c in CBS_COMBINATIONS]
        sources.append(f"{bron}: {part.get_column('bron').item(0)}")
    figure = grouped_share_figure(
        "fig-vergelijking-cbs",
        list(CBS_COMBINATIONS),
        series,
        "van huishoudens met Jeugd, Wmo of Participatie",
    )
    rows: list[list[Cell]] = []
    for code in [gemeente_code, *sorted(c for c in theirs if is_wijk(c))]:
        if code not in theirs:
            continue
        row = [text_cell(names.get(code, code))]
        for c in CBS_COMBINATIONS:
            mine, other = own.get(code, {}).get(c), theirs[code].get(c)
            row.append(
                Cell(
                    f"{fmt_pct(mine)} / {fmt_pct(other)}",
                    "" if mine is None else str(mine),
                    "num geheim" if mine is None or other is None else "num",
                )
            )
        rows.append(row)
    table = (
        DisplayTable(
            "vergelijking_cbs",
            heads(("Gebied", False), *((c, True) for c in CBS_COMBINATIONS)),
            rows,
            "Per vak: Factlab / CBS, als aandeel van de huishoudens met Jeugd, Wmo of "
            "Participatie, uit gepubliceerde aantallen. Is in een gebied één combinatie geheim, "
            "dan is het totaal onbekend en staat er 'geheim'.",
            sorteerbaar=True,
            breed=True,
        )
        if rows
        else None
    )
    return CbsComparison(figure, table, sources, period, missing)


# --------------------------------------------------------------------------- over time


@dataclass(frozen=True)
class EditionComparison:
    vorige: str
    tabel: DisplayTable
    combinaties: DisplayTable
    veilig: bool


def read_previous(edition_dir: Path) -> dict[str, pl.DataFrame]:
    """The published tables of an earlier edition; refuses anything but its ``tabellen/`` CSVs."""
    folder = edition_dir / "tabellen" if (edition_dir / "tabellen").is_dir() else edition_dir
    result = {}
    for name in PREVIOUS_TABLES:
        path = folder / f"{name}.csv"
        if not path.is_file():
            raise FactlabError(
                f"vorige editie {edition_dir.name}: tabel {name}.csv ontbreekt in {folder}; "
                "geef de map van een gepubliceerde editie (met tabellen/) op"
            )
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
        if "gebied_code" not in header or "huishoudens" not in " ".join(header):
            raise FactlabError(
                f"vorige editie {edition_dir.name}: {name}.csv is geen door Factlab "
                "gepubliceerde tabel (kolommen wijken af)"
            )
        result[name] = pl.read_csv(path, infer_schema_length=0).with_columns(
            pl.col(c).cast(pl.Int64, strict=False) for c in header if c.startswith("huishoudens")
        )
    return result


def _change(now: int | None, before: int | None, rules: DisclosureRules) -> tuple[Cell, str]:
    low, high = difference_interval(now, before, rules)
    if now is None or before is None:
        return Cell("geheim", cls="num geheim"), ""
    diff = now - before
    clear = (low is not None and low > 0) or (high is not None and high < 0)
    return (
        Cell(fmt_change(diff), str(diff), "num" if clear else "num binnen-afronding"),
        "" if clear else "\u2248",
    )


def edition_comparison(
    tables: Mapping[str, pl.DataFrame],
    previous: Mapping[str, pl.DataFrame],
    previous_name: str,
    rules: DisclosureRules,
) -> EditionComparison:
    """Per gebied: households with a provision and with several domains, then and now."""
    before = {r["gebied_code"]: r for r in previous["kerncijfers"].iter_rows(named=True)}
    rows = []
    for r in tables["kerncijfers"].iter_rows(named=True):
        old_row = before.get(r["gebied_code"], {})
        row = [text_cell(r["gebied_naam"])]
        for column in ("huishoudens_met_voorziening", "huishoudens_meerdere_domeinen"):
            cell, mark = _change(r[column], old_row.get(column), rules)
            row += [count_cell(old_row.get(column)), count_cell(r[column]), cell, text_cell(mark)]
        rows.append(row)
    table = DisplayTable(
        "vergelijking_vorige",
        heads(
            ("Gebied", False),
            (f"Met voorziening {previous_name}", True),
            ("nu", True),
            ("verschil", True),
            ("", False),
            (f"Meerdere domeinen {previous_name}", True),
            ("nu", True),
            ("verschil", True),
            ("", False),
        ),
        rows,
        "\u2248: het verschil valt binnen de afronding van beide edities; er is dan geen "
        "aantoonbare verandering.",
        sorteerbaar=True,
        breed=True,
    )
    old_combos = previous["domeincombinaties"]
    old_by = {
        (r["gebied_code"], r["combinatie"]): r["huishoudens"]
        for r in old_combos.iter_rows(named=True)
    }
    combo_rows = []
    for r in tables["domeincombinaties"].iter_rows(named=True):
        if not is_gemeente(r["gebied_code"]):
            continue
        old = old_by.get((r["gebied_code"], r["combinatie"]))
        cell, mark = _change(r["huishoudens"], old, rules)
        combo_rows.append(
            [
                text_cell(r["combinatie"]),
                count_cell(old),
                count_cell(r["huishoudens"]),
                cell,
                text_cell(mark),
            ]
        )
    combos = DisplayTable(
        "vergelijking_vorige_combinaties",
        heads(
            ("Combinatie", False),
            (previous_name, True),
            ("nu", True),
            ("verschil", True),
            ("", False),
        ),
        combo_rows,
    )
    return EditionComparison(previous_name, table, combos, differencing_is_safe(rules))
