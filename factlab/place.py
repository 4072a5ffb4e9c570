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
    AREA_COLUMNS,
    address_key,
    area_codes,
    partial_beside,
    postcode_key,
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
    joined = valid.join(
        address_table, on=["postcode", "huisnummer"], how="left", maintain_order="left"
    )
    return _placed(joined, gemeente_code)


def _placed(joined: pl.DataFrame, gemeente_code: str) -> pl.DataFrame:
    """The placement of rows joined to their address's area codes (null: not in the table);
    the codes may be text or categories."""
    in_gemeente = pl.col("gemeente_code") == gemeente_code
    return joined.with_columns(
        plaatsing=pl.when(pl.col("gemeente_code").is_null())
        .then(pl.lit(UNKNOWN))
        .when(in_gemeente)
        .then(pl.lit(PLACED))
        .otherwise(pl.lit(OUTSIDE)),
        buurt_code=pl.when(in_gemeente).then(pl.col("buurt_code").cast(pl.String)),
        wijk_code=pl.when(pl.col("gemeente_code").is_null())
        .then(pl.lit(UNKNOWN))
        .when(in_gemeente)
        .then(pl.col("wijk_code").cast(pl.String)),
    ).drop("postcode", "huisnummer", "gemeente_code")


def placement_counts(placed: pl.DataFrame) -> dict[str, int]:
    """Rows per placement outcome, every outcome present (zero when absent)."""
    counts = dict(placed.group_by("plaatsing").len().iter_rows())
    return {outcome: int(counts.get(outcome, 0)) for outcome in PLACEMENTS}


_KEY = "_adres"
_PC6 = "pc6_sleutel"
_FOUND_PC6 = "_gevonden_pc6"


#: The index as it is held, saved beside the prepared copy it is built from (same name, this
#: ending; the number changes with its columns): every reader process of a large check loads
#: it, and reading it takes 0.15 s where building it from the prepared copy takes 0.35 s and
#: writing it 0.07 s (national table, one polars thread).
INDEX_SUFFIX = ".adresindex-3.arrow"
_INDEX_FAMILY = ".adresindex-*.arrow"


class AddressIndex:
    """The whole prepared CBS table in memory, sorted by an integer address key.

    :func:`factlab.connectors.cbs_prepared.read_pc6hnr_addresses` reads the prepared copy's
    row groups for every batch; a nationally spread batch of 200 k rows touches a third of
    them (~0.2 s a batch, 6 s for a national check). Once a check has looked up that many
    rows, holding the table (7.8 M rows, ~140 MB, read in 0.15 s) and finding a
    batch's addresses by binary search costs a few hundredths of a second.
    """

    def __init__(self, table: pl.DataFrame) -> None:
        """``table`` as :meth:`build` makes it."""
        self._table = table
        self._keys = table.get_column(_KEY).set_sorted()
        self._unique = bool((self._keys.diff().drop_nulls() > 0).all())

    @staticmethod
    def build(prepared: pl.LazyFrame) -> pl.DataFrame:
        """The table the index holds, from the prepared copy: sorted by the address key."""
        table = (
            prepared.select(
                address_key(pl.col(_PC6), pl.col("huisnummer")).alias(_KEY), _PC6, *AREA_COLUMNS
            )
            .drop_nulls(_KEY)  # a postcode that is no PC6: no address of a batch matches it
            .collect()
        )
        if not table.get_column(_KEY).is_sorted():
            table = table.sort(_KEY, maintain_order=True)
        # Not the postcode and huisnummer: placing needs only the keys. The area codes as Enums
        # (a few thousand values each): 2 bytes a row instead of a 16-byte string view, read
        # back without a lookup per row. Rows come in runs of one area (12.9 k runs in 7.8 M
        # rows nationally), so the codes are prefixed and numbered per run, and each row takes
        # its run's number: 0.2 s instead of 0.8 s per row.
        run = table.select(pl.struct(AREA_COLUMNS).rle_id()).to_series()
        per_run = table.filter(run.is_first_distinct()).select(area_codes())
        areas = [
            codes.cast(pl.Enum(codes.unique().drop_nulls().sort())).gather(run)
            for codes in per_run.iter_columns()
        ]
        # One chunk per column (one per row group otherwise: gathering is 3x slower), a column
        # at a time, so that only one column is ever held twice.
        table = table.select(_KEY, _PC6)
        for name in table.columns:
            table = table.with_columns(table.get_column(name).rechunk())
        return table.with_columns(areas)

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
            for older in saved.parent.glob(f"{prepared.stem}{_INDEX_FAMILY}"):
                if older != saved:  # an index of an earlier version: read by none
                    older.unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            partial.unlink(missing_ok=True)
        return cls(table)

    def place(self, valid: pl.DataFrame, gemeente_code: str) -> pl.DataFrame:
        """:func:`place` of ``valid`` against the CBS table: the same frame (tested).

        Joined on integers instead of text, and no postcode is rebuilt as text for the rows
        found: 0.58-0.70 s instead of 0.78-0.83 s for 1.2 M nationally spread rows. A row and
        a table row are the same address when they have the same address key and the same
        postcode (the key alone is also another postcode's, for a huisnummer of 100 000 or
        more).
        """
        keyed = valid.with_columns(
            postcode_key(pl.col("postcode")).alias(_PC6),
        ).with_columns(address_key(pl.col(_PC6), pl.col("huisnummer")).alias(_KEY))
        # Searched in order, each key once: the search then touches the same parts of the
        # table's keys in turn (3x faster than in the rows' order).
        wanted = keyed.get_column(_KEY).drop_nulls().unique().sort()
        rows = self._table[self._positions(wanted)]
        if not self._unique:
            joined = keyed.join(rows, on=[_KEY, _PC6], how="left", maintain_order="left")
            return _placed(joined.drop(_KEY, _PC6), gemeente_code)
        # One table row per key: joined on the key alone (9 ms for 200 k rows, against 24 ms on
        # key and postcode), then a row found for another postcode is no row found.
        found = rows.rename({_PC6: _FOUND_PC6})
        areas = [c for c in found.columns if c not in (_KEY, _FOUND_PC6)]
        joined = keyed.join(found, on=_KEY, how="left", maintain_order="left").with_columns(
            pl.when(pl.col(_FOUND_PC6) == pl.col(_PC6)).then(pl.col(c)).alias(c) for c in areas
        )
        return _placed(joined.drop(_KEY, _PC6, _FOUND_PC6), gemeente_code)

    def _positions(self, wanted: pl.Series) -> pl.Series:
        """The positions of the table's rows holding one of the sorted keys ``wanted``."""
        first = self._keys.search_sorted(wanted, side="left")
        if not self._unique:
            after = self._keys.search_sorted(wanted, side="right")
            return (
                pl.DataFrame({"first": first, "after": after})
                .filter(pl.col("after") > pl.col("first"))
                .select(pl.int_ranges("first", "after").explode())
                .to_series()
            )
        if not len(self._keys):
            return first.clear()
        found = first.clip(upper_bound=len(self._keys) - 1)  # one row per key: the row found,
        return found.filter(self._keys.gather(found) == wanted)  # if it holds the key
