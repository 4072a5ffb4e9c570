"""Place stage: put each valid address in its buurt and wijk, before it is pseudonymised.

Placement uses the CBS postcode-huisnummer table (no huisletter/toevoeging: all dwellings of
one number share a row). An address may be ``geplaatst`` (in the table, in this gemeente),
``onbekend`` (not in the table: analysed in wijk ``onbekend``) or ``buiten_gemeente`` (in the
table but another gemeente: excluded from the analysis). Every outcome is counted in the
receipt; nothing is dropped silently.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from factlab.connectors.cbs_prepared import (
    partial_beside,
    postcode_key,
    postcode_of_key,
    prefixed,
    prepare,
)

PLACED = "geplaatst"
UNKNOWN = "onbekend"
OUTSIDE = "buiten_gemeente"
PLACEMENTS = (PLACED, UNKNOWN, OUTSIDE)


def place(valid: pl.DataFrame, address_table: pl.DataFrame, gemeente_code: str) -> pl.DataFrame:
    """Add ``plaatsing``, ``buurt_code`` and ``wijk_code`` and drop postcode/huisnummer.

    ``address_table`` is :func:`factlab.connectors.cbs.read_pc6hnr` output. The canonical address key is
    kept: it is what the pseudonymise stage hashes.
    """
    joined = valid.join(address_table, on=["postcode", "huisnummer"], how="left")
    in_gemeente = pl.col("gemeente_code") == gemeente_code
    return joined.with_columns(
        plaatsing=pl.when(pl.col("gemeente_code").is_null())
        .then(pl.lit(UNKNOWN))
        .when(in_gemeente)
        .then(pl.lit(PLACED))
        .otherwise(pl.lit(OUTSIDE)),
        buurt_code=pl.when(in_gemeente).then(pl.col("buurt_code")),
        wijk_code=pl.when(pl.col("gemeente_code").is_null())
        .then(pl.lit(UNKNOWN))
        .when(in_gemeente)
        .then(pl.col("wijk_code")),
    ).drop("postcode", "huisnummer", "gemeente_code")


def placement_counts(placed: pl.DataFrame) -> dict[str, int]:
    """Rows per placement outcome, every outcome present (zero when absent)."""
    counts = dict(placed.group_by("plaatsing").len().iter_rows())
    return {outcome: int(counts.get(outcome, 0)) for outcome in PLACEMENTS}


_KEY = "_adres"
_CODES = ("buurt", "wijk", "gemeente")


def _address_key(pc6_key: pl.Expr, huisnummer: pl.Expr) -> pl.Expr:
    """One integer per (postcode, huisnummer); distinct for huisnummers below 100 000 (and a
    rarer larger one only fetches a row more: :func:`place` joins on the text columns)."""
    return pc6_key.cast(pl.Int64) * 100_000 + huisnummer


#: The index as it is held, saved beside the prepared copy it is built from (same name, this
#: ending; the number changes with its columns): every reader process of a large check loads
#: it, and reading it takes 0.17-0.24 s where building it from the prepared copy takes
#: 0.36-0.57 s (national table).
INDEX_SUFFIX = ".adresindex-1.arrow"


class AddressIndex:
    """The whole prepared CBS table in memory, sorted by an integer address key.

    :func:`factlab.connectors.cbs_prepared.read_pc6hnr_addresses` reads the prepared copy's
    row groups for every batch; a nationally spread batch of 200 k rows touches a third of
    them (~0.2 s a batch, 6 s for a national check). Once a check has looked up that many
    rows, holding the table (7.8 M rows, ~400 MB, read in well under a second) and finding a
    batch's addresses by binary search costs a few hundredths of a second. The rows are
    exactly ``read_pc6hnr_addresses``'s (tested): those whose address key is a batch
    address's and whose postcode is one of those keys' postcodes.
    """

    def __init__(self, table: pl.DataFrame) -> None:
        """``table`` as :meth:`build` makes it."""
        self._table = table
        self._keys = table.get_column(_KEY).set_sorted()
        self._postcodes = table.get_column("pc6_sleutel")
        self._unique = bool((self._keys.diff().drop_nulls() > 0).all())

    @staticmethod
    def build(prepared: pl.LazyFrame) -> pl.DataFrame:
        """The table the index holds, from the prepared copy: sorted by the address key."""
        table = (
            prepared.select(
                _address_key(pl.col("pc6_sleutel"), pl.col("huisnummer")).alias(_KEY),
                "pc6_sleutel",
                # Not the postcode and huisnummer: the key gives them back for the rows found.
                # The area codes as categories (a few thousand of each): 4 bytes a row instead
                # of a 16-byte string view. So a check's reader process holds the national
                # table in ~0.55 GB, not ~1.4 GB, and reads it in 0.57 s, not 0.79 s.
                *(pl.col(name).cast(pl.Categorical) for name in _CODES),
            )
            .drop_nulls(_KEY)  # a postcode that is no PC6: no address of a batch matches it
            .collect()
        )
        if not table.get_column(_KEY).is_sorted():
            table = table.sort(_KEY, maintain_order=True)
        # One chunk per column (one per row group otherwise: gathering is 3x slower), a column
        # at a time, so that only one column is ever held twice.
        for name in table.columns:
            table = table.with_columns(table.get_column(name).rechunk())
        return table

    @classmethod
    def load(cls, csv: Path) -> AddressIndex:
        """The prepared copy of the CBS table ``csv`` (made on first use), held whole: read
        from the index saved beside it, or built and saved (one record batch: one chunk)."""
        prepared = prepare(csv)
        saved = prepared.with_name(prepared.stem + INDEX_SUFFIX)
        try:
            return cls(pl.read_ipc(saved))
        except (OSError, pl.exceptions.PolarsError):  # not saved yet, or not readable
            table = cls.build(pl.scan_parquet(prepared))
        partial = partial_beside(saved)
        try:  # only a shortcut for the next check: a cache that cannot take it is no error
            table.write_ipc(partial, record_batch_size=max(table.height, 1))
            partial.replace(saved)
        except OSError:
            pass
        finally:
            partial.unlink(missing_ok=True)
        return cls(table)

    def rows(self, addresses: pl.DataFrame) -> pl.DataFrame:
        """The table's rows of the (``postcode``, ``huisnummer``) in ``addresses``."""
        wanted = (
            addresses.select(_address_key(postcode_key(pl.col("postcode")), pl.col("huisnummer")))
            .to_series()
            .drop_nulls()
            .unique()
            .sort()  # searching in order touches the same parts of the keys: 3x faster
        )
        first = self._keys.search_sorted(wanted, side="left")
        if self._unique:  # one row per key: the row found, if it holds the key
            found = first.clip(upper_bound=max(len(self._keys) - 1, 0))
            if len(self._keys):
                positions = found.filter(self._keys.gather(found) == wanted)
            else:
                positions = found.clear()
        else:
            after = self._keys.search_sorted(wanted, side="right")
            positions = (
                pl.DataFrame({"first": first, "after": after})
                .filter(pl.col("after") > pl.col("first"))
                .select(pl.int_ranges("first", "after").explode())
                .to_series()
            )
        # A key is also another postcode's with a huisnummer of 100 000 or more: keep the rows
        # of the keys' postcodes only, as reading the prepared copy does.
        postcodes = (wanted // 100_000).unique().implode()
        kept = positions.filter(self._postcodes.gather(positions).is_in(postcodes))
        pc6 = pl.col("pc6_sleutel")
        rows = (
            self._table[kept]
            .lazy()
            .select(
                postcode_of_key(pc6).alias("postcode"),
                (pl.col(_KEY) - pc6.cast(pl.Int64) * 100_000).alias("huisnummer"),
                pl.col(_CODES).cast(pl.String),
            )
        )
        return prefixed(rows).collect()
