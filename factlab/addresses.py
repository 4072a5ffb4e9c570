"""Address normalisation: the many ways partners write one address become one canonical key.

A household is an address. Partners write the same address differently (``1234 ab`` and
``1234AB``; ``12a``, ``12 A``, ``12-A`` or huisletter ``a`` in its own column; ``12-2``, ``12 2``
or toevoeging ``2``; ``12-1hg`` and ``12 I`` for the first floor), and linkage is only as good as
this normalisation. Everything here is a vectorised polars expression, so a file of millions of
rows is normalised without a Python loop. The rules, in order (documented for partners in
``docs/aanleverformaat.md``):

1. Postcode: whitespace removed, upper case. Valid is ``[1-9][0-9]{3}`` + two letters, except
   the letter pairs SA, SD and SS, which PostNL never issues.
2. Huisnummer: the leading digits of the huisnummer field (1-99999); whatever follows them
   (``a``, ``-2``, ``bis``, ``1hg``) is a suffix, read together with the huisletter and
   toevoeging columns.
3. The suffix words are upper-cased and split at separators and at letter/digit boundaries.
   A floor written as ``1hg``/``1 hoog``/``1e`` becomes ``1``; a Roman numeral I-IV standing
   alone becomes 1-4 (``12 I`` is the first floor, not huisletter I).
4. Huisletter: the huisletter column if filled, otherwise the first single-letter word of the
   suffix (so ``12a``, ``12-A`` and toevoeging ``A`` all give huisletter A).
5. Toevoeging: the remaining words, concatenated (``12-2``, ``12 2`` and toevoeging ``2`` all
   give ``2``; ``12 bis`` gives ``BIS``).

The canonical key is ``POSTCODE|HUISNUMMER|HUISLETTER|TOEVOEGING``, e.g. ``1503AB|12|A|``.
It exists only in memory during intake: the pseudonymise stage replaces it by its HMAC.
"""

from __future__ import annotations

import polars as pl

POSTCODE_PATTERN = r"^[1-9][0-9]{3}[A-Z]{2}$"
FORBIDDEN_POSTCODE_LETTERS = ("SA", "SD", "SS")
MAX_HUISNUMMER = 99_999
POSTBUS_PATTERN = r"(?i)\b(postbus|antwoordnummer|p\.?\s?o\.?\s?box)\b"

_ROMAN_FLOORS = {"IV": "4", "III": "3", "II": "2", "I": "1"}


def _blank_to_empty(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).fill_null("").str.strip_chars()


def postcode(raw: pl.Expr) -> pl.Expr:
    """Postcode without whitespace, upper case (validity is checked separately).

    Not stripped first: removing every white-space character removes those at the ends too.
    """
    return raw.cast(pl.String).fill_null("").str.replace_all(r"\s+", "").str.to_uppercase()


def postcode_is_valid(normalised: pl.Expr) -> pl.Expr:
    """True where a normalised postcode is a possible Dutch PC6."""
    return normalised.str.contains(POSTCODE_PATTERN) & ~normalised.str.slice(4, 2).is_in(
        FORBIDDEN_POSTCODE_LETTERS
    )


def huisnummer(raw: pl.Expr) -> pl.Expr:
    """The number at the start of the huisnummer field, or null when there is none."""
    return _blank_to_empty(raw).str.extract(r"^(\d{1,9})", 1).cast(pl.Int64, strict=False)


def _suffix_words(text: pl.Expr) -> pl.Expr:
    """Upper-cased suffix words, floors and Roman numerals rewritten, as one space-joined string."""
    words = (
        text.str.to_uppercase()
        .str.replace_all(r"(\d)([A-Z])", "$1 $2")
        .str.replace_all(r"([A-Z])(\d)", "$1 $2")
        .str.replace_all(r"[^A-Z0-9]+", " ")
        .str.strip_chars()
    )
    # A floor: "1 HG", "1 HOOG", "1 E", "1 EH" -> "1".
    words = words.str.replace_all(r"\b(\d+) (HG|HOOG|E|EH|ETAGE)\b", "$1")
    for roman, digit in _ROMAN_FLOORS.items():
        words = words.str.replace_all(rf"\b{roman}\b", digit)
    return words


def canonical_parts(
    huisnummer_raw: pl.Expr,
    huisletter_raw: pl.Expr,
    toevoeging_raw: pl.Expr,
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Return (huisnummer, huisletter, toevoeging) expressions in canonical form."""
    number_field = _blank_to_empty(huisnummer_raw)
    suffix = pl.concat_str(
        [number_field.str.replace(r"^\d+", ""), _blank_to_empty(toevoeging_raw)], separator=" "
    )
    words = _suffix_words(suffix)
    explicit_letter = _blank_to_empty(huisletter_raw).str.to_uppercase()
    leading_letter = words.str.extract(r"^([A-Z])(?: |$)", 1)
    letter = (
        pl.when(explicit_letter != "").then(explicit_letter).otherwise(leading_letter.fill_null(""))
    )
    remaining = (
        pl.when((explicit_letter == "") & leading_letter.is_not_null())
        .then(words.str.replace(r"^[A-Z](?: |$)", ""))
        .otherwise(words)
    )
    toevoeging = remaining.str.replace_all(" ", "")
    return huisnummer(huisnummer_raw), letter, toevoeging


def canonical_key(
    postcode_norm: pl.Expr, huisnummer_norm: pl.Expr, letter: pl.Expr, toevoeging: pl.Expr
) -> pl.Expr:
    """The canonical address key that is hashed: ``PC6|nummer|letter|toevoeging``."""
    return pl.concat_str(
        [postcode_norm, huisnummer_norm.cast(pl.String), letter, toevoeging], separator="|"
    )


def is_postbus(*fields: pl.Expr) -> pl.Expr:
    """True where any address field mentions a Postbus/antwoordnummer (not a household).

    Not stripped first: the pattern begins and ends at a word boundary, which white space at
    either end of a field does not move.
    """
    return pl.any_horizontal(
        [f.cast(pl.String).str.contains(POSTBUS_PATTERN).fill_null(False) for f in fields]
    )
