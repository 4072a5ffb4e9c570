"""The words of the report: conclusions first, definitions, rules, data quality.

Why this module exists: a sentence built from a template breaks as soon as a figure is
suppressed ("geheim huishoudens (geheim)") or claims a pattern the numbers do not show
("sterkste samenloop" at a ratio below 1). Every sentence here is built only from published
values that are present; what is secret is said once, as such, never substituted into a
sentence, and a comparison is only claimed when the published numbers support it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import polars as pl

from factlab.analyse import DOMAIN_LABELS, ONBEKEND
from factlab.disclose import DisclosureRules
from factlab.report.format import fmt_count, fmt_pct, fmt_ratio, share
from factlab.schemas import areas
from factlab.schemas.audit import AuditRecord, CheckOutcome

#: The smallest rise (percentage points) between two steps that we call a clear step.
CLEAR_STEP_PP = 10.0
#: The smallest ratio we call "more often than chance" in a sentence (rounding noise below).
CLEAR_RATIO = 1.1


def gemeente_rows(frame: pl.DataFrame, code: str) -> pl.DataFrame:
    return frame.filter(pl.col("gebied_code") == code)


def wijk_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of the wijken (not the gemeente, not ``onbekend``), by the one area-code rule."""
    return frame.filter(pl.col("gebied_code").str.contains(f"^(?:{areas.AREA_CODES.wijk})$"))


@dataclass(frozen=True)
class Denominator:
    """Which public CBS number a share of households is taken of, and how to say it."""

    column: str  # the kerncijfers count column
    share_column: str  # the kerncijfers share column
    noun: str  # "huishoudens" / "woningen"
    source: str


def denominator(kern: pl.DataFrame) -> Denominator:
    """Households (CBS kerncijfers) where published for the gemeente, else dwellings."""
    if (
        "huishoudens_cbs" in kern.columns
        and kern.get_column("huishoudens_cbs").null_count() < kern.height
    ):
        return Denominator(
            "huishoudens_cbs",
            "aandeel_van_huishoudens_pct",
            "huishoudens",
            "particuliere huishoudens volgens de CBS-kerncijfers",
        )
    return Denominator(
        "woningen",
        "aandeel_met_voorziening_pct",
        "woningen",
        "woningvoorraad volgens de CBS-kerncijfers",
    )


def _domain(d: str) -> str:
    return DOMAIN_LABELS.get(d, d.capitalize())


def _tipping(vuln: pl.DataFrame) -> str | None:
    """An honest answer to "from how many provisions does a household tip into several domains?"

    Finds the step between consecutive published categories where the multi-domain share rises
    most. Only a rise of at least CLEAR_STEP_PP is called a step; otherwise it says there is no
    clear tipping point. The lowest category (2) is a start, never a "kantelpunt".
    """
    rows = [
        (r["aantal_voorzieningen"], r["aandeel_meerdere_domeinen_pct"])
        for r in vuln.iter_rows(named=True)
    ]
    steps = [
        (b[1] - a[1], a, b) for a, b in pairwise(rows) if a[1] is not None and b[1] is not None
    ]
    if not steps:
        return None
    rise, low, high = max(steps, key=lambda s: s[0])
    known = [r for r in rows if r[1] is not None]
    first, last = known[0], known[-1]
    if rise >= CLEAR_STEP_PP:
        return (
            f"De grootste stap naar meerdere domeinen zit tussen {low[0]} en {high[0]} "
            f"voorzieningen: het aandeel huishoudens met voorzieningen uit meer dan één domein "
            f"stijgt daar van {fmt_pct(low[1])} naar {fmt_pct(high[1])}."
        )
    return (
        "Er is geen duidelijk kantelpunt: het aandeel huishoudens met voorzieningen uit meer dan "
        f"één domein is {fmt_pct(first[1])} bij {first[0]} en {fmt_pct(last[1])} bij {last[0]} "
        f"voorzieningen, zonder stap van {CLEAR_STEP_PP:.0f} procentpunt of meer."
    )


def _samenloop(pairs: pl.DataFrame) -> str | None:
    """The domain pair that co-occurs most above chance, or say that none clearly does."""
    known = pairs.drop_nulls("ratio").sort(["ratio", "a", "b"], descending=[True, False, False])
    if not known.height:
        return None
    top = known.row(0, named=True)
    if top["ratio"] >= CLEAR_RATIO:
        return (
            f"{_domain(top['a'])} en {_domain(top['b'])} gaan het duidelijkst vaker samen dan "
            f"bij toeval te verwachten is: {fmt_ratio(top['ratio'])} keer zo vaak."
        )
    return (
        "Geen enkel paar domeinen komt duidelijk vaker samen voor dan bij toeval te verwachten is "
        f"(hoogste verhouding {fmt_ratio(top['ratio'])})."
    )


def summary(
    t: Mapping[str, pl.DataFrame], code: str, naam: str
) -> tuple[list[dict[str, str]], list[str]]:
    """KPI tiles and summary sentences, from published values only (see the module docstring)."""
    kern_all = t["kerncijfers"]
    noemer = denominator(kern_all)
    kern = gemeente_rows(kern_all, code).row(0, named=True)
    n = kern["huishoudens_met_voorziening"]
    share_n = kern[noemer.share_column]
    sentences: list[str] = []
    secret: list[str] = []
    if n is None:
        secret.append("het aantal huishoudens met een voorziening")
    else:
        tail = f", {fmt_pct(share_n)} van alle {noemer.noun}" if share_n is not None else ""
        sentences.append(
            f"In {naam} hebben {fmt_count(n)} huishoudens (adressen) ten minste één voorziening{tail}."
        )
    multi = kern["huishoudens_meerdere_voorzieningen"]
    if multi is None:
        secret.append("het aantal met twee of meer voorzieningen")
    else:
        pct = share(multi, n)
        extra = f", {fmt_pct(pct)} van hen" if pct is not None else ""
        sentences.append(
            f"{fmt_count(multi)} huishoudens hebben twee of meer verschillende voorzieningen{extra}."
        )
    domains = kern["huishoudens_meerdere_domeinen"]
    if domains is None:
        secret.append("het aantal met voorzieningen uit meerdere domeinen")
    else:
        pct = kern["aandeel_meerdere_domeinen_pct"]
        extra = (
            f" ({fmt_pct(pct)} van de huishoudens met een voorziening)" if pct is not None else ""
        )
        sentences.append(
            f"{fmt_count(domains)} huishoudens krijgen voorzieningen uit meer dan één domein{extra}."
        )
    many = (
        gemeente_rows(t["aantal_organisaties"], code)
        .filter(pl.col("aantal_organisaties") == "4+")
        .get_column("huishoudens")
        .to_list()
    )
    if many and many[0] is not None:
        sentences.append(
            f"{fmt_count(many[0])} huishoudens hebben met vier of meer organisaties te maken."
        )
    combined = (
        gemeente_rows(t["domeincombinaties"], code)
        .filter(~pl.col("combinatie").str.starts_with("Alleen"))
        .drop_nulls("huishoudens")
        .sort(["huishoudens", "combinatie"], descending=[True, False])
    )
    if combined.height:
        top = combined.row(0, named=True)
        sentences.append(
            "Van de gepubliceerde combinaties van Jeugd, Wmo en Participatie komt "
            f"'{top['combinatie']}' het vaakst voor ({fmt_count(top['huishoudens'])} huishoudens)."
        )
    wijken = wijk_rows(kern_all).drop_nulls(noemer.share_column)
    if wijken.height >= 2:
        ordered = wijken.sort([noemer.share_column, "gebied_naam"], descending=[True, False])
        hi, lo = ordered.row(0, named=True), ordered.row(-1, named=True)
        sentences.append(
            f"Het aandeel {noemer.noun} met een voorziening is het hoogst in {hi['gebied_naam']} "
            f"({fmt_pct(hi[noemer.share_column])}) en het laagst in {lo['gebied_naam']} "
            f"({fmt_pct(lo[noemer.share_column])})."
        )
    tipping = _tipping(gemeente_rows(t["kwetsbaarheid"], code))
    if tipping:
        sentences.append(tipping)
    samen = _samenloop(t["samenloop_domeinen"])
    if samen:
        sentences.append(samen)
    onbekend = gemeente_rows(kern_all, ONBEKEND).row(0, named=True)["huishoudens_met_voorziening"]
    if onbekend is not None:
        sentences.append(
            f"{fmt_count(onbekend)} huishoudens konden niet aan een wijk worden gekoppeld; zij "
            "tellen mee in de gemeente, niet in een wijk."
        )
    if secret:
        sentences.append(
            "Niet te publiceren omdat het om te weinig huishoudens gaat: " + _join(secret) + "."
        )
    kpis = [
        {"waarde": fmt_count(n), "label": "huishoudens met een voorziening"},
        {
            "waarde": fmt_pct(share_n, secret=kern[noemer.column] is not None),
            "label": f"van alle {noemer.noun}",
        },
        {"waarde": fmt_count(multi), "label": "met twee of meer voorzieningen"},
        {"waarde": fmt_count(domains), "label": "met meerdere domeinen"},
    ]
    return kpis, sentences


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " en " + parts[-1]


def reading_guide(rules: DisclosureRules) -> list[tuple[str, str]]:
    """The "Hoe lees je dit" box: term -> plain explanation."""
    t, r = rules.threshold, rules.rounding
    return [
        (
            "Huishouden",
            "Een adres. Alle voorzieningen die op hetzelfde adres zijn geleverd, tellen als één "
            "huishouden, ook als er meerdere mensen of gezinnen wonen.",
        ),
        (
            "Voorziening",
            "Een soort ondersteuning uit de catalogus, bijvoorbeeld hulp bij het huishouden, "
            "bijstand of schuldhulpverlening. Twee keer dezelfde voorziening telt één keer.",
        ),
        (
            "Domein",
            "Een groep voorzieningen: Jeugd, Wmo, Participatie, Schuldhulp, Minima, Welzijn, "
            "Onderwijs en Inburgering.",
        ),
        (
            "Alleen Wmo en Wmo",
            "'Alleen Wmo' (CBS-indeling) telt huishoudens met Wmo maar zonder Jeugd of "
            "Participatie; zij kunnen wel schuldhulp of minima hebben. 'Wmo' bij de domeinen "
            "telt álle huishoudens met een Wmo-voorziening, dus ook die met Jeugd of Participatie.",
        ),
        (
            "Geheim",
            f"Een aantal van 0 tot en met {t} huishoudens wordt niet getoond, net als soms een "
            "ander aantal waaruit het terug te rekenen zou zijn. In grafieken is zo'n vak grijs "
            "met een kruisje.",
        ),
        (
            "Afronding",
            f"Elk aantal is afgerond op een veelvoud van {r}. Delen tellen daardoor niet altijd "
            "precies op tot het totaal; percentages zijn berekend uit de afgeronde aantallen.",
        ),
    ]


def rules_text(rules: DisclosureRules) -> list[str]:
    t, r = rules.threshold, rules.rounding
    return [
        f"Primaire geheimhouding: een aantal van 0 tot en met {t} huishoudens wordt nooit getoond, "
        "ook niet als het werkelijk 0 is. Zo'n vak heet hier 'geheim' (in de CSV-bestanden voor "
        "software: leeg; in de Excel-bestanden: 'geheim'). Elke categorie staat er altijd, ook "
        "als er niemand in valt.",
        "Secundaire geheimhouding: waar getoonde aantallen optellen tot een getoond totaal (de "
        "categorieën van één gebied, en de wijken plus 'onbekend' samen de gemeente, ook over "
        "tabellen heen), zijn geen of meerdere vakken geheim die samen meer dan "
        f"{t} huishoudens bevatten. Zo kan een geheim aantal niet door aftrekken worden berekend.",
        f"Afronding: elk getoond aantal is afgerond op een veelvoud van {r} (vast, niet "
        "willekeurig, zodat herhaalde publicaties niet gemiddeld kunnen worden).",
        "Percentages, verwachte aantallen en ratio's zijn berekend uit de afgeronde aantallen en "
        "zijn geheim zodra een onderdeel geheim is.",
        "Het aantal woningen en huishoudens komt uit de openbare CBS-kerncijfers en wordt niet "
        "afgerond.",
        "Een laatste controle weigert elke tabel of elk rapport met gegevens op recordniveau, "
        "pseudoniemen, aantallen van 0 tot en met "
        f"{t} of kolommen die niet in het tabelcontract staan.",
    ]


def key_text(provenance: AuditRecord) -> str:
    mode = provenance.key.mode
    if mode == "ephemeral":
        return (
            "eenmalige sleutel, alleen in het geheugen tijdens deze run en daarna vernietigd; "
            "niemand kan een pseudoniem nog terugrekenen naar een adres."
        )
    if mode == "managed":
        return (
            "beheerde sleutel van de gemeente; per editie wordt een eigen sleutel afgeleid, "
            "zodat edities niet aan elkaar te koppelen zijn."
        )
    # The fingerprint stays in audit.json: in the report it would make every rerun differ.
    return "onbekend."


def period_text(provenance: AuditRecord) -> str:
    period = provenance.period
    if period is None:
        return ""
    return f"{_date(period.start)} t/m {_date(period.end)}"


MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip


def _date(iso: str) -> str:
    """``2026-03-01`` -> ``1 maart 2026``; anything else as given."""
    text = iso or "?"
    parts = text[:10].split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{int(parts[2])} {MONTHS[int(parts[1]) - 1]} {parts[0]}"
    return text


@dataclass(frozen=True)
class Completeness:
    """Whether the edition holds every expected partner, for the report's first page."""

    complete: bool
    missing: tuple[tuple[str, str], ...]  # (partner name, why) per missing partner
    warnings: tuple[str, ...]
    reason: str  # the analyst's reason for closing it anyway


def completeness(provenance: AuditRecord) -> Completeness:
    """The edition's completeness as the close recorded it."""
    recorded = provenance.completeness
    return Completeness(
        complete=recorded.complete,
        missing=tuple((m.name, m.reason) for m in recorded.missing),
        warnings=recorded.warnings,
        reason=recorded.reason or "",
    )


def production_date(provenance: AuditRecord) -> str:
    """The day the run that made this edition started (from the provenance), in Dutch."""
    return _date(provenance.started) if provenance.started else ""


#: Quality suites in plain Dutch: suite name (or prefix) -> what it guarantees.
QUALITY_GROUPS: tuple[tuple[str, str], ...] = (
    ("huishoudens", "Huishoudtabel bevat alleen toegestane kolommen en geldige codes"),
    ("tabel", "Gepubliceerde tabellen volgen hun contract (kolommen, afronding, geheimhouding)"),
    ("totalen", "Totalen kloppen binnen de afronding met de som van de wijken"),
)


@dataclass(frozen=True)
class QualityGroup:
    """One line of the report's data-quality list: a group of checks in plain Dutch."""

    titel: str
    geslaagd: bool
    tekst: str  # "3 van 4 controles geslaagd"
    details: tuple[CheckOutcome, ...]  # folded away in the report


@dataclass(frozen=True)
class QualityView:
    """The report's data-quality section (the template's names are Dutch)."""

    geslaagd: bool
    groepen: tuple[QualityGroup, ...]


def quality(provenance: AuditRecord) -> QualityView | None:
    """A handful of checks with Dutch names; the technical rows stay available, folded away."""
    result = provenance.quality
    if result is None:
        return None
    checks = list(result.checks)
    groups: list[QualityGroup] = []
    for prefix, title in (*QUALITY_GROUPS, ("", "Overige controles")):
        mine = [c for c in checks if c.name.startswith(prefix)]
        checks = [c for c in checks if c not in mine]
        if mine:
            ok = sum(1 for c in mine if c.passed)
            groups.append(
                QualityGroup(
                    titel=title,
                    geslaagd=ok == len(mine),
                    tekst=f"{ok} van {len(mine)} controles geslaagd",
                    details=tuple(mine),
                )
            )
    return QualityView(result.passed, tuple(groups))
