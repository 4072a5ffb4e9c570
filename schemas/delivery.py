"""The delivery format's row rules, as data.

Each rule names the column it is about, says in plain Dutch what is wrong and what the partner
should do, and carries the polars expression that is true for a row breaking it. The validate
stage evaluates them all at once, so every failing row (and every rule it breaks) is found in
one pass; the feedback to partners is generated from the same texts, so documentation,
feedback and checks cannot drift apart.

The expressions read the canonical columns as :func:`factlab.intake.map_columns` gives them
(each cell stripped of surrounding white space and a leading apostrophe) and the working
columns that :mod:`factlab.validate` derives: ``pc`` (normalised postcode), ``nr`` (huisnummer
as number), ``postbus`` (an address field names a postbus,
:func:`factlab.addresses.is_postbus`), ``code`` (provision code), ``start`` and ``eind``
(parsed dates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from factlab.addresses import MAX_HUISNUMMER, postcode_is_valid


def _blank(column: str) -> pl.Expr:
    # The cells come stripped of white space (factlab.intake.map_columns), so a cell of only
    # white space is already empty here; stripping it again cost ~0.3 s of CPU nationally.
    return pl.col(column).cast(pl.String).fill_null("") == ""


@dataclass(frozen=True)
class RowRule:
    """One rule of the delivery format."""

    code: str
    column: str
    problem: str  # what is wrong, in Dutch
    advice: str  # what to do, in Dutch
    broken: Callable[[frozenset[str]], pl.Expr]  # catalogue codes -> expression


def _postbus() -> pl.Expr:
    # A working column, not the test itself: three rules read it, and the test is regular
    # expressions over four text columns (the validate stage runs it once per distinct value).
    return pl.col("postbus")


RULES: tuple[RowRule, ...] = (
    RowRule(
        "postcode_ontbreekt",
        "postcode",
        "De postcode ontbreekt.",
        "Vul de postcode van het woonadres in, bijvoorbeeld 1503 AB.",
        lambda _: _blank("postcode"),
    ),
    RowRule(
        "postcode_ongeldig",
        "postcode",
        "De postcode is geen geldige Nederlandse postcode (vier cijfers, niet beginnend met 0, "
        "gevolgd door twee letters; SA, SD en SS bestaan niet).",
        "Controleer de postcode; schrijf hem als 1503AB of 1503 AB.",
        lambda _: ~_blank("postcode") & ~postcode_is_valid(pl.col("pc")),
    ),
    RowRule(
        "postbus",
        "huisnummer",
        "Dit is een postbus of antwoordnummer, geen woonadres van een huishouden.",
        "Lever het woonadres van het huishouden aan, of laat de regel weg.",
        lambda _: _postbus(),
    ),
    RowRule(
        "huisnummer_ontbreekt",
        "huisnummer",
        "Het huisnummer ontbreekt.",
        "Vul het huisnummer in (1 tot en met 99999), eventueel met huisletter of toevoeging.",
        lambda _: _blank("huisnummer") & ~_postbus(),
    ),
    RowRule(
        "huisnummer_ongeldig",
        "huisnummer",
        f"Het huisnummer is geen getal van 1 tot en met {MAX_HUISNUMMER}.",
        "Begin het huisnummer met een getal, bijvoorbeeld 12, 12a of 12-2.",
        lambda _: (
            ~_blank("huisnummer")
            & ~_postbus()
            & (pl.col("nr").is_null() | (pl.col("nr") < 1) | (pl.col("nr") > MAX_HUISNUMMER))
        ),
    ),
    RowRule(
        "voorziening_ontbreekt",
        "voorziening",
        "De voorziening ontbreekt.",
        "Vul de code van de voorziening in volgens de voorzieningencatalogus.",
        lambda _: _blank("voorziening"),
    ),
    RowRule(
        "voorziening_onbekend",
        "voorziening",
        "Deze voorzieningscode staat niet in de voorzieningencatalogus.",
        "Gebruik een code uit de catalogus, of vraag de beheerder uw eigen code te koppelen.",
        lambda codes: ~_blank("voorziening") & ~pl.col("code").is_in(list(codes)),
    ),
    RowRule(
        "startdatum_ongeldig",
        "startdatum",
        "De startdatum is geen geldige datum.",
        "Schrijf de datum als 2026-03-01 of 01-03-2026.",
        lambda _: ~_blank("startdatum") & pl.col("start").is_null(),
    ),
    RowRule(
        "einddatum_ongeldig",
        "einddatum",
        "De einddatum is geen geldige datum.",
        "Schrijf de datum als 2026-03-01 of 01-03-2026, of laat hem leeg als de voorziening loopt.",
        lambda _: ~_blank("einddatum") & pl.col("eind").is_null(),
    ),
    RowRule(
        "einddatum_voor_startdatum",
        "einddatum",
        "De einddatum ligt voor de startdatum.",
        "Controleer beide datums.",
        lambda _: pl.col("eind") < pl.col("start"),
    ),
)

RULES_BY_CODE = {rule.code: rule for rule in RULES}
