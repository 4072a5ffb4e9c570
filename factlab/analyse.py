"""Samenloop analysis: how provisions, organisations and domains stack up per household.

Pure functions over the de-identified household table (one row per address, see issue 3).
Nothing here reads or writes files and nothing here is safe to publish: every count is the
*true* count. :mod:`factlab.disclose` turns these into publishable numbers. To let it do so,
the analysis also states every additive identity between its numbers (:class:`Relation`), so
that secondary suppression can protect a hidden cell against recovery by subtraction, also
across tables (``huishoudens_met_voorziening`` is the sum of the ``aantal_voorzieningen``
categories of the same gebied, and so on).

Cells are addressed by a :data:`CellKey`: ``(quantity, gebied_code, *category)``. The same
quantity appearing in two tables is the same cell, so it is rounded and suppressed once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import polars as pl

from factlab.schemas.receipt import COUNT_KEYS as RECEIPT_COUNT_KEYS
from factlab.schemas.records import Receipt

CellKey = tuple[str, ...]

ONBEKEND = "onbekend"
ONBEKEND_NAAM = "Onbekend (adres niet geplaatst)"
PROVISION_BINS: tuple[str, ...] = ("1", "2", "3", "4", "5+")
ORGANISATION_BINS: tuple[str, ...] = ("1", "2", "3", "4+")
#: Categories of the vulnerability view. One provision cannot span several domains, so the
#: category "1" would be a structural zero: it is left out (documented in docs/tabellen.md).
VULNERABILITY_BINS: tuple[str, ...] = PROVISION_BINS[1:]
CBS_DOMAINS: tuple[str, ...] = ("jeugd", "wmo", "participatie")
#: The seven CBS/GMSD domain combinations, Dutch label -> the set of CBS domains it means.
CBS_COMBINATIONS: dict[str, frozenset[str]] = {
    "Alleen Jeugd": frozenset({"jeugd"}),
    "Alleen Wmo": frozenset({"wmo"}),
    "Alleen Participatie": frozenset({"participatie"}),
    "Jeugd en Participatie": frozenset({"jeugd", "participatie"}),
    "Jeugd en Wmo": frozenset({"jeugd", "wmo"}),
    "Participatie en Wmo": frozenset({"participatie", "wmo"}),
    "Jeugd, Participatie en Wmo": frozenset({"jeugd", "participatie", "wmo"}),
}
DOMAIN_LABELS: dict[str, str] = {
    "jeugd": "Jeugd",
    "wmo": "Wmo",
    "participatie": "Participatie",
    "schuldhulp": "Schuldhulp",
    "minima": "Minima",
    "welzijn": "Welzijn",
    "onderwijs": "Onderwijs",
    "inburgering": "Inburgering",
}
TOTAAL = "totaal"


@dataclass(frozen=True)
class Relation:
    """``total`` equals the sum of ``parts`` (true counts). Guarded by secondary suppression."""

    total: CellKey
    parts: tuple[CellKey, ...]


@dataclass(frozen=True)
class Analysis:
    """True-count tables plus what disclosure control needs to protect them.

    ``tables`` have the published column layout minus the derived columns (shares, expected
    counts, ratios), which are only ever computed from rounded counts. ``hidden`` holds true
    values of cells that take part in a relation but are not published themselves.
    """

    gebieden: pl.DataFrame
    tables: dict[str, pl.DataFrame]
    hidden: dict[CellKey, int]
    relations: tuple[Relation, ...]
    domains: tuple[str, ...] = ()  # every domain in the analysis, catalogue order first


def combination_label(domains: Iterable[str]) -> str:
    """Human label of an exact domain combination: ``Jeugd + Minima``."""
    return " + ".join(DOMAIN_LABELS.get(d, d.capitalize()) for d in sorted(domains))


def cbs_combination(domains: Iterable[str]) -> str | None:
    """The CBS category of a household's domains, or None without jeugd/wmo/participatie."""
    wanted = frozenset(domains) & frozenset(CBS_DOMAINS)
    for label, members in CBS_COMBINATIONS.items():
        if members == wanted:
            return label
    return None


def gebieden_frame(gemeente_code: str, gemeente_naam: str, wijken: pl.DataFrame) -> pl.DataFrame:
    """All published areas in order: the gemeente, every wijk (also without households), onbekend.

    ``woningen`` (dwellings) and ``huishoudens_cbs`` (private households, where the wijken
    frame has a ``huishoudens`` column) are public CBS data: the two denominators a share can
    be taken of. The gemeente's figure is the sum over its wijken, or null if any wijk lacks
    it (a partial sum would overstate the share).
    """
    households = (
        pl.col("huishoudens").cast(pl.Int64)
        if "huishoudens" in wijken.columns
        else pl.lit(None, dtype=pl.Int64)
    )
    wijk_rows = wijken.select(
        pl.col("wijk_code").alias("gebied_code"),
        pl.col("wijk_naam").alias("gebied_naam"),
        pl.col("woningen").cast(pl.Int64),
        households.alias("huishoudens_cbs"),
    ).sort("gebied_code")

    def total(column: str) -> int | None:
        values = wijk_rows.get_column(column)
        return int(values.sum()) if wijk_rows.height and values.null_count() == 0 else None

    head = pl.DataFrame(
        {
            "gebied_code": [gemeente_code],
            "gebied_naam": [gemeente_naam],
            "woningen": [total("woningen")],
            "huishoudens_cbs": [total("huishoudens_cbs")],
        },
        schema=wijk_rows.schema,
    )
    tail = pl.DataFrame(
        {
            "gebied_code": [ONBEKEND],
            "gebied_naam": [ONBEKEND_NAAM],
            "woningen": [None],
            "huishoudens_cbs": [None],
        },
        schema=wijk_rows.schema,
    )
    return pl.concat([head, wijk_rows, tail])


def _distinct_households(
    households: pl.DataFrame, wijk_codes: set[str], buurt_codes: set[tuple[str, str]]
) -> pl.DataFrame:
    """The distinct households as the analysis sees them, with ``n``: how many there are.

    ``gebied`` (the wijk, or onbekend), ``buurt`` (only a known buurt of that wijk),
    ``provisions`` and ``domains`` (sorted, distinct), ``organisations`` (how many). Every
    cell of :func:`_count_cells` depends on a household only through these, so counting each
    distinct one, weighted, counts what a pass over every household would (tested against
    one). The households are grouped before their lists are put in order: nationally 1.8 M
    households are 0.33 M distinct ones.
    """
    pairs = pl.DataFrame(
        sorted(buurt_codes), schema={"wijk_code": pl.String, "buurt_code": pl.String}, orient="row"
    ).with_columns(_bekend=pl.lit(True))
    return (
        households.select(
            "wijk_code",
            "buurt_code",
            "voorzieningen",
            "domeinen",
            organisations=pl.col("organisaties").fill_null([]).list.n_unique(),
        )
        .group_by("wijk_code", "buurt_code", "voorzieningen", "domeinen", "organisations")
        .len("n")
        .join(pairs, on=["wijk_code", "buurt_code"], how="left")
        .select(
            gebied=pl.when(pl.col("wijk_code").is_in(sorted(wijk_codes)))
            .then(pl.col("wijk_code"))
            .otherwise(pl.lit(ONBEKEND)),
            buurt=pl.when(pl.col("_bekend")).then(pl.col("buurt_code")),
            provisions=pl.col("voorzieningen").fill_null([]).list.unique().list.sort(),
            domains=pl.col("domeinen").fill_null([]).list.unique().list.sort(),
            organisations="organisations",
            n="n",
        )
    )


def _bin(count: pl.Expr, bins: Sequence[str]) -> pl.Expr:
    """The category of ``bins`` a count falls in: its own number, or the last bin (``5+``)
    from that number on (a household without any gets ``0``, as no category)."""
    last = int(bins[-1].removesuffix("+"))
    return pl.when(count >= last).then(pl.lit(bins[-1])).otherwise(count.cast(pl.String))


def _with_domain_labels(households: pl.DataFrame) -> pl.DataFrame:
    """``households`` with the CBS category (:func:`cbs_combination`) and the exact
    combination (:func:`combination_label`) of their domains: computed once per distinct
    domain set (a few hundred), not per household."""
    sets = households.get_column("domains").unique().to_list()
    labels = pl.DataFrame(
        {
            "domains": sets,
            "cbs": [cbs_combination(domains) for domains in sets],
            "combinatie": [combination_label(domains) for domains in sets],
        },
        schema={"domains": pl.List(pl.String), "cbs": pl.String, "combinatie": pl.String},
    )
    return households.join(labels, on="domains", how="left")


def _pairs(households: pl.DataFrame, column: str) -> pl.DataFrame:
    """Each pair (``a``, ``b``) of values of a household's sorted list ``column``, ``a`` before
    ``b`` in the list (as :func:`itertools.combinations` gives them), with the household's
    ``n``."""
    items = (
        households.filter(pl.col(column).list.len() > 1)
        .select(column, "n", _position=pl.int_ranges(pl.col(column).list.len()))
        .with_row_index("_household")
        .explode(column, "_position")
    )
    return (
        items.join(items.drop("n"), on="_household", suffix="_b")
        .filter(pl.col("_position") < pl.col("_position_b"))
        .select(pl.col(column).alias("a"), pl.col(f"{column}_b").alias("b"), "n")
    )


def _count_cells(households: pl.DataFrame, gemeente_code: str) -> Counter[CellKey]:
    """Every cell's true count, for the gemeente and each gebied, from the distinct households
    of :func:`_distinct_households` (each counts ``n``). A cell no household falls in is
    absent (and reads as 0). Grouped in polars; the cells are then a few thousand."""
    cells: Counter[CellKey] = Counter()

    def count(quantity: str, frame: pl.DataFrame, *key: str) -> None:
        summed = frame.group_by(*key, maintain_order=True).agg(pl.col("n").sum())
        for *values, n in summed.iter_rows():
            cells[(quantity, *values)] += n

    provisions = pl.col("provisions").list.len()
    labelled = _with_domain_labels(households).with_columns(
        aantal=_bin(provisions, PROVISION_BINS),
        organisaties=_bin(pl.col("organisations"), ORGANISATION_BINS),
        meerdere=provisions > 1,
        meerdere_domeinen=pl.col("domains").list.len() > 1,
    )
    # Each household counts for the gemeente and for its own gebied.
    features = ["aantal", "organisaties", "meerdere", "meerdere_domeinen", "cbs"]
    areas = (
        pl.concat([labelled.with_columns(gebied=pl.lit(gemeente_code)), labelled])
        .group_by("gebied", *features, maintain_order=True)
        .agg(pl.col("n").sum())
    )
    multi = pl.col("meerdere_domeinen")
    count("met_voorziening", areas, "gebied")
    count("aantal_voorzieningen", areas, "gebied", "aantal")
    count("aantal_organisaties", areas, "gebied", "organisaties")
    count("meerdere_voorzieningen", areas.filter("meerdere"), "gebied")
    count("meerdere_domeinen", areas.filter(multi), "gebied")
    count("meerdere_domeinen_naar_aantal", areas.filter(multi), "gebied", "aantal")
    count("een_domein", areas.filter(~multi), "gebied")
    count("een_domein_naar_aantal", areas.filter(~multi), "gebied", "aantal")
    count("zonder_cbs_domein", areas.filter(pl.col("cbs").is_null()), "gebied")
    count("cbs_totaal", areas.filter(pl.col("cbs").is_not_null()), "gebied")
    count("domeincombinatie", areas.filter(pl.col("cbs").is_not_null()), "gebied", "cbs")
    # Buurt cells live inside their wijk: a household without a known buurt is counted apart.
    placed = labelled.filter(pl.col("gebied") != ONBEKEND)
    unknown, known = (
        placed.filter(pl.col("buurt").is_null()),
        placed.filter(pl.col("buurt").is_not_null()),
    )
    count("wijk_zonder_buurt", unknown, "gebied")
    count("wijk_zonder_buurt_meerdere_domeinen", unknown.filter(multi), "gebied")
    count("buurt_met_voorziening", known, "gebied", "buurt")
    count("buurt_meerdere_domeinen", known.filter(multi), "gebied", "buurt")
    count("buurt_een_domein", known.filter(~multi), "gebied", "buurt")
    # Per provision and domain, and their pairs: for the gemeente only.
    gemeente = pl.lit(gemeente_code).alias("gemeente")
    count("combinatie", labelled.with_columns(gemeente), "gemeente", "combinatie")
    for quantity, pair_quantity, column in (
        ("voorziening", "beide_voorzieningen", "provisions"),
        ("domein", "beide_domeinen", "domains"),
    ):
        sets = labelled.group_by(column).agg(pl.col("n").sum())
        each = sets.explode(column, empty_as_null=False)  # no provision: no row
        count(quantity, each.with_columns(gemeente), "gemeente", column)
        count(pair_quantity, _pairs(sets, column).with_columns(gemeente), "gemeente", "a", "b")
    return cells


def buurt_frame(gebieden: pl.DataFrame, buurten: pl.DataFrame | None) -> pl.DataFrame:
    """(gebied_code, gebied_naam, buurt) of every buurt of every wijk, from the address table.

    Every buurt gets a row, also without households: a missing row would say "none here".
    """
    schema = {"gebied_code": pl.String, "gebied_naam": pl.String, "buurt": pl.String}
    if buurten is None or not buurten.height:
        return pl.DataFrame(schema=schema)
    return (
        buurten.select(
            pl.col("wijk_code").alias("gebied_code"), pl.col("buurt_code").alias("buurt")
        )
        .unique()
        .join(gebieden.select("gebied_code", "gebied_naam"), on="gebied_code", how="inner")
        .select("gebied_code", "gebied_naam", "buurt")
        .sort("gebied_code", "buurt")
    )


def _buurt_table(frame: pl.DataFrame, cells: Counter[CellKey]) -> pl.DataFrame:
    rows = [
        {
            "gebied_code": code,
            "gebied_naam": naam,
            "buurt": buurt,
            "huishoudens_met_voorziening": cells[("buurt_met_voorziening", code, buurt)],
            "huishoudens_meerdere_domeinen": cells[("buurt_meerdere_domeinen", code, buurt)],
        }
        for code, naam, buurt in frame.rows()
    ]
    return _table(
        rows,
        {
            "gebied_code": pl.String,
            "gebied_naam": pl.String,
            "buurt": pl.String,
            "huishoudens_met_voorziening": COUNT,
            "huishoudens_meerdere_domeinen": COUNT,
        },
    )


def _buurt_relations(frame: pl.DataFrame) -> list[Relation]:
    """Per wijk: its total is its buurten plus the households without a known buurt."""
    rel: list[Relation] = []
    by_wijk: dict[str, list[str]] = {}
    for code, _, buurt in frame.rows():
        by_wijk.setdefault(code, []).append(buurt)
    for wijk, buurten in by_wijk.items():
        rel += [
            Relation(
                ("met_voorziening", wijk),
                (
                    *(("buurt_met_voorziening", wijk, b) for b in buurten),
                    ("wijk_zonder_buurt", wijk),
                ),
            ),
            Relation(
                ("meerdere_domeinen", wijk),
                (
                    *(("buurt_meerdere_domeinen", wijk, b) for b in buurten),
                    ("wijk_zonder_buurt_meerdere_domeinen", wijk),
                ),
            ),
        ]
        rel += [
            Relation(
                ("buurt_met_voorziening", wijk, b),
                (("buurt_meerdere_domeinen", wijk, b), ("buurt_een_domein", wijk, b)),
            )
            for b in buurten
        ]
    return rel


def _table(rows: list[dict[str, Any]], schema: Mapping[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict(schema), orient="row")


COUNT = pl.Int64


def _area_tables(gebieden: pl.DataFrame, cells: Counter[CellKey]) -> dict[str, pl.DataFrame]:
    """Per-gebied tables: every gebied x every category is a row, zeros included."""
    areas = gebieden.select("gebied_code", "gebied_naam", "woningen", "huishoudens_cbs").rows()
    kern, n_prov, n_org, cbs, vuln = [], [], [], [], []
    for code, naam, woningen, huishoudens_cbs in areas:
        base = {"gebied_code": code, "gebied_naam": naam}
        kern.append(
            base
            | {
                "woningen": woningen,
                "huishoudens_cbs": huishoudens_cbs,
                "huishoudens_met_voorziening": cells[("met_voorziening", code)],
                "huishoudens_meerdere_voorzieningen": cells[("meerdere_voorzieningen", code)],
                "huishoudens_meerdere_domeinen": cells[("meerdere_domeinen", code)],
            }
        )
        for b in PROVISION_BINS:
            n_prov.append(
                base
                | {
                    "aantal_voorzieningen": b,
                    "huishoudens": cells[("aantal_voorzieningen", code, b)],
                }
            )
        for b in ORGANISATION_BINS:
            n_org.append(
                base
                | {"aantal_organisaties": b, "huishoudens": cells[("aantal_organisaties", code, b)]}
            )
        for label in CBS_COMBINATIONS:
            cbs.append(
                base
                | {"combinatie": label, "huishoudens": cells[("domeincombinatie", code, label)]}
            )
        for b in VULNERABILITY_BINS:
            vuln.append(
                base
                | {
                    "aantal_voorzieningen": b,
                    "huishoudens": cells[("aantal_voorzieningen", code, b)],
                    "huishoudens_meerdere_domeinen": cells[
                        ("meerdere_domeinen_naar_aantal", code, b)
                    ],
                }
            )
    text = {"gebied_code": pl.String, "gebied_naam": pl.String}
    return {
        "kerncijfers": _table(
            kern,
            text
            | {
                "woningen": pl.Int64,
                "huishoudens_cbs": pl.Int64,
                "huishoudens_met_voorziening": COUNT,
                "huishoudens_meerdere_voorzieningen": COUNT,
                "huishoudens_meerdere_domeinen": COUNT,
            },
        ),
        "aantal_voorzieningen": _table(
            n_prov, text | {"aantal_voorzieningen": pl.String, "huishoudens": COUNT}
        ),
        "aantal_organisaties": _table(
            n_org, text | {"aantal_organisaties": pl.String, "huishoudens": COUNT}
        ),
        "domeincombinaties": _table(cbs, text | {"combinatie": pl.String, "huishoudens": COUNT}),
        "kwetsbaarheid": _table(
            vuln,
            text
            | {
                "aantal_voorzieningen": pl.String,
                "huishoudens": COUNT,
                "huishoudens_meerdere_domeinen": COUNT,
            },
        ),
    }


def _gemeente_tables(
    gemeente: tuple[str, str],
    cells: Counter[CellKey],
    catalogue: pl.DataFrame,
    domains: Sequence[str],
    top_n: int,
    threshold: int,
) -> dict[str, pl.DataFrame]:
    """Gemeente-level tables: per provision/domain, pairwise samenloop, top combinations."""
    code, naam = gemeente
    base = {"gebied_code": code, "gebied_naam": naam}
    text = {"gebied_code": pl.String, "gebied_naam": pl.String}
    provisions = catalogue.select("code", "naam", "domein").rows()
    prov_codes = [p[0] for p in provisions]
    per_provision = [
        base
        | {
            "voorziening": c,
            "voorziening_naam": n,
            "domein": d,
            "huishoudens": cells[("voorziening", code, c)],
        }
        for c, n, d in provisions
    ]
    per_domain = [base | {"domein": d, "huishoudens": cells[("domein", code, d)]} for d in domains]
    prov_pairs = [
        base | {"a": a, "b": b, "huishoudens": cells[("beide_voorzieningen", code, a, b)]}
        for a, b in combinations(sorted(prov_codes), 2)
    ]
    dom_pairs = [
        base | {"a": a, "b": b, "huishoudens": cells[("beide_domeinen", code, a, b)]}
        for a, b in combinations(sorted(domains), 2)
    ]
    combos = sorted(
        ((key[2], n) for key, n in cells.items() if key[0] == "combinatie" and n > threshold),
        key=lambda item: (-item[1], item[0]),
    )[:top_n]
    top = [base | {"combinatie": label, "huishoudens": n} for label, n in combos]
    pair_schema = text | {"a": pl.String, "b": pl.String, "huishoudens": COUNT}
    return {
        "voorzieningen": _table(
            per_provision,
            text
            | {
                "voorziening": pl.String,
                "voorziening_naam": pl.String,
                "domein": pl.String,
                "huishoudens": COUNT,
            },
        ),
        "domeinen": _table(per_domain, text | {"domein": pl.String, "huishoudens": COUNT}),
        "samenloop_voorzieningen": _table(prov_pairs, pair_schema),
        "samenloop_domeinen": _table(dom_pairs, pair_schema),
        "top_combinaties": _table(top, text | {"combinatie": pl.String, "huishoudens": COUNT}),
    }


def _relations(
    gebieden: Sequence[str], gemeente_code: str, domains: Sequence[str], cells: Counter[CellKey]
) -> list[Relation]:
    """Every additive identity between published (and helper) cells, within and across tables."""
    rel: list[Relation] = []
    subareas = [g for g in gebieden if g != gemeente_code]
    for g in gebieden:
        total = ("met_voorziening", g)
        rel += [
            Relation(total, tuple(("aantal_voorzieningen", g, b) for b in PROVISION_BINS)),
            Relation(total, tuple(("aantal_organisaties", g, b) for b in ORGANISATION_BINS)),
            Relation(total, (("aantal_voorzieningen", g, "1"), ("meerdere_voorzieningen", g))),
            Relation(
                ("meerdere_voorzieningen", g),
                tuple(("aantal_voorzieningen", g, b) for b in PROVISION_BINS[1:]),
            ),
            Relation(total, (("meerdere_domeinen", g), ("een_domein", g))),
            Relation(
                ("meerdere_domeinen", g),
                tuple(("meerdere_domeinen_naar_aantal", g, b) for b in VULNERABILITY_BINS),
            ),
            Relation(total, (("cbs_totaal", g), ("zonder_cbs_domein", g))),
            Relation(
                ("cbs_totaal", g), tuple(("domeincombinatie", g, c) for c in CBS_COMBINATIONS)
            ),
        ]
        rel += [
            Relation(
                ("aantal_voorzieningen", g, b),
                (("meerdere_domeinen_naar_aantal", g, b), ("een_domein_naar_aantal", g, b)),
            )
            for b in VULNERABILITY_BINS
        ]
    geographic: list[tuple[str, tuple[str, ...]]] = [
        ("met_voorziening", ()),
        ("meerdere_voorzieningen", ()),
        ("meerdere_domeinen", ()),
        *(("aantal_voorzieningen", (b,)) for b in PROVISION_BINS),
        *(("aantal_organisaties", (b,)) for b in ORGANISATION_BINS),
        *(("domeincombinatie", (c,)) for c in CBS_COMBINATIONS),
        *(("meerdere_domeinen_naar_aantal", (b,)) for b in VULNERABILITY_BINS),
    ]
    rel += [
        Relation((q, gemeente_code, *cat), tuple((q, g, *cat) for g in subareas))
        for q, cat in geographic
    ]
    g = gemeente_code
    for d in CBS_DOMAINS:
        if d in domains:
            rel.append(
                Relation(
                    ("domein", g, d),
                    tuple(
                        ("domeincombinatie", g, c) for c, m in CBS_COMBINATIONS.items() if d in m
                    ),
                )
            )
    for a, b in combinations(sorted(set(CBS_DOMAINS) & set(domains)), 2):
        rel.append(
            Relation(
                ("beide_domeinen", g, a, b),
                tuple(
                    ("domeincombinatie", g, c) for c, m in CBS_COMBINATIONS.items() if {a, b} <= m
                ),
            )
        )
    combos = [k for k in cells if k[0] == "combinatie"]
    rel.append(Relation(("met_voorziening", g), tuple(sorted(combos))))
    by_cbs: dict[str, list[CellKey]] = {}
    for key in combos:
        label = cbs_combination(d.lower() for d in key[2].split(" + "))
        if label is not None:
            by_cbs.setdefault(label, []).append(key)
    rel += [
        Relation(("domeincombinatie", g, label), tuple(sorted(by_cbs.get(label, []))))
        for label in CBS_COMBINATIONS
    ]
    return rel


def analyse(
    households: pl.DataFrame,
    *,
    gemeente_code: str,
    gemeente_naam: str,
    wijken: pl.DataFrame,
    catalogue: pl.DataFrame,
    top_n: int = 10,
    threshold: int = 7,
    buurten: pl.DataFrame | None = None,
) -> Analysis:
    """Compute every samenloop table (true counts) and the identities between them.

    ``catalogue`` (code, naam, domein) fixes which provisions and domains get a row, so a
    provision nobody received still appears (its absence would otherwise be informative).
    Codes in the data but not in the catalogue are added with domain from the data unknown.
    ``threshold`` only limits the top-combinations list to combinations that can be published.
    ``buurten`` (``wijk_code``, ``buurt_code``: every buurt of the gemeente, from the address
    table) adds the buurt table; without it that table is empty.
    """
    gebieden = gebieden_frame(gemeente_code, gemeente_naam, wijken)
    wijk_codes = set(wijken.get_column("wijk_code").to_list())
    buurt_rows = buurt_frame(gebieden, buurten)
    distinct = _distinct_households(
        households, wijk_codes, {(w, b) for w, _, b in buurt_rows.rows()}
    )

    def present(column: str) -> list[str]:
        return distinct.get_column(column).explode().drop_nulls().unique().sort().to_list()

    seen = present("provisions")
    known = set(catalogue.get_column("code").to_list())
    extra_codes = [c for c in seen if c not in known]
    catalogue = pl.concat(
        [
            catalogue.select("code", "naam", "domein"),
            pl.DataFrame(
                {
                    "code": extra_codes,
                    "naam": extra_codes,
                    "domein": ["onbekend"] * len(extra_codes),
                },
                schema={"code": pl.String, "naam": pl.String, "domein": pl.String},
            ),
        ]
    )
    domains = list(DOMAIN_LABELS) + [d for d in present("domains") if d not in DOMAIN_LABELS]
    cells = _count_cells(distinct, gemeente_code)
    tables = _area_tables(gebieden, cells) | _gemeente_tables(
        (gemeente_code, gemeente_naam), cells, catalogue, domains, top_n, threshold
    )
    tables["buurten"] = _buurt_table(buurt_rows, cells)
    hidden_quantities = {
        "een_domein",
        "een_domein_naar_aantal",
        "cbs_totaal",
        "zonder_cbs_domein",
        "combinatie",
        "wijk_zonder_buurt",
        "wijk_zonder_buurt_meerdere_domeinen",
        "buurt_een_domein",
    }
    codes = gebieden.get_column("gebied_code").to_list()
    # A relation without parts (a CBS category no exact combination falls into) says nothing.
    relations = [
        r
        for r in (*_relations(codes, gemeente_code, domains, cells), *_buurt_relations(buurt_rows))
        if r.parts
    ]
    hidden = {
        key: cells[key]
        for rel in relations
        for key in (rel.total, *rel.parts)
        if key[0] in hidden_quantities
    }
    return Analysis(
        gebieden=gebieden,
        tables=tables,
        hidden=hidden,
        relations=tuple(relations),
        domains=tuple(domains),
    )


def receipts_tables(
    receipts: Sequence[Receipt], gemeente_code: str, gemeente_naam: str
) -> tuple[dict[str, pl.DataFrame], list[Relation]]:
    """Per-organisation delivery counts (row counts, roughly households) from the receipts.

    Several files of one organisation are summed. A ``totaal`` row sums all organisations.
    Identities between receipt counts depend on the core's bookkeeping, so they are *found*:
    a candidate identity is registered as a relation only if it holds for every row.
    """
    per_org: dict[str, dict[str, Any]] = {}
    per_org_prov: Counter[tuple[str, str]] = Counter()
    for receipt in receipts:
        org = receipt.organisation
        row = per_org.setdefault(
            org,
            {"naam": receipt.organisation_name or org} | dict.fromkeys(RECEIPT_COUNT_KEYS, 0),
        )
        for key in RECEIPT_COUNT_KEYS:
            row[key] += int(receipt.counts.get(key, 0))
        for code, n in receipt.provisions.items():
            per_org_prov[(org, code)] += int(n)
    base = {"gebied_code": gemeente_code, "gebied_naam": gemeente_naam}
    orgs = sorted(per_org)
    rows = [
        base
        | {"organisatie": o, "organisatie_naam": per_org[o]["naam"]}
        | {k: per_org[o][k] for k in RECEIPT_COUNT_KEYS}
        for o in orgs
    ]
    rows.append(
        base
        | {"organisatie": TOTAAL, "organisatie_naam": "Alle organisaties"}
        | {k: sum(per_org[o][k] for o in orgs) for k in RECEIPT_COUNT_KEYS}
    )
    prov_rows = [
        base
        | {"organisatie": o, "organisatie_naam": per_org[o]["naam"], "voorziening": c, "rijen": n}
        for (o, c), n in sorted(per_org_prov.items())
    ]
    text = {
        "gebied_code": pl.String,
        "gebied_naam": pl.String,
        "organisatie": pl.String,
        "organisatie_naam": pl.String,
    }
    tables = {
        "aanlevering": _table(rows, text | dict.fromkeys(RECEIPT_COUNT_KEYS, COUNT)),
        "aanlevering_voorzieningen": _table(
            prov_rows, text | {"voorziening": pl.String, "rijen": COUNT}
        ),
    }

    def cell_key(org: str, column: str) -> CellKey:
        return ("aanlevering", gemeente_code, org, column)

    relations = [
        Relation(cell_key(TOTAAL, c), tuple(cell_key(o, c) for o in orgs))
        for c in RECEIPT_COUNT_KEYS
    ]
    candidates = {
        "rijen_gelezen": ("geaccepteerd", "afgewezen", "dubbel", "buiten_periode"),
        "geaccepteerd": ("geplaatst", "niet_geplaatst", "buiten_gemeente"),
    }
    for total, parts in candidates.items():
        if all(r[total] == sum(r[p] for p in parts) for r in rows):
            relations += [
                Relation(cell_key(o, total), tuple(cell_key(o, p) for p in parts))
                for o in [*orgs, TOTAAL]
            ]
    for o in orgs:
        codes = sorted(c for (org, c) in per_org_prov if org == o)
        if codes and per_org[o]["geaccepteerd"] == sum(per_org_prov[(o, c)] for c in codes):
            relations.append(
                Relation(
                    cell_key(o, "geaccepteerd"),
                    tuple(("aanlevering_voorziening", gemeente_code, o, c) for c in codes),
                )
            )
    return tables, relations
