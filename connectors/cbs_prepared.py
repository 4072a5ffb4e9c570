"""The CBS pc6hnr table, read once per release into a prepared columnar copy.

The national table is 7.8 M rows and ~250 MB of CSV. Parsing it costs seconds and 1-3 GB on
every run, and joining each upload batch against all of it costs tens of seconds more, while
an edition touches only the postcodes its partners delivered. So the CSV is parsed once (by
:func:`factlab.connectors.cbs.read_pc6hnr_keyed`, with the same checks and messages) into a
Parquet copy sorted by an integer postcode key, and every run reads only the row groups of the
postcodes present in its uploads.

Preparing streams the CSV and never holds the table whole; its first lines tell which way is
likely to fit, and each way checks the order it needs. CBS publishes the table in postcode
and huisnummer order: then it is written as it comes, its order checked in the same pass (one
streamed pass; the duplicates of an address are then neighbours). With each postcode's rows
together (in any order among them), each batch is sorted on its own. In any other order, the
rows are spilled per key range to a temporary folder beside the copy (removed afterwards),
then each range is sorted and written in turn. Every way gives exactly the rows, in exactly
the order, of sorting the whole table at once.

The copy lives in a cache folder (``$FACTLAB_CACHE`` or ``~/.cache/factlab``), named after the
CSV's name, size and modification time: a new CBS release (a new file, or the old one
replaced) gets a new copy; the copy holds public CBS data only. It is written atomically, so a
run killed while preparing leaves no half copy behind (its temporary files, hidden, are removed
by the next preparation once they are an hour old).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl

from factlab.connectors.cbs import read_pc6hnr_keyed

CACHE_ENVIRONMENT = "FACTLAB_CACHE"
_FORMAT_VERSION = "2"  # 2: codes without prefix
_ROW_GROUP_ROWS = 64_000
_KEY_RANGES = 32  # ranges of the postcode key a table out of order is sorted in
_KEY_END = 10_000 * 676  # every key of a valid postcode is below this
_NO_KEY = 1 << 40  # where a row without key sorts: after every key (nulls last)
_ORDER = ["pc6_sleutel", "postcode", "huisnummer"]
# A preparation takes seconds: its temporary files older than this were left by a killed one.
_LEFTOVER_SECONDS = 3600
#: Held while a copy is prepared, so that processes needing it at once prepare it once.
LOCK_FILE = ".voorbereiden.lock"

# Two capital letters, in order: an Enum's physical value is (first - A) * 26 + (second - A).
_LETTER_PAIRS = pl.Enum(
    [chr(first) + chr(second) for first in range(65, 91) for second in range(65, 91)]
)


def postcode_key(postcode: pl.Expr) -> pl.Expr:
    """``1503AB`` -> 1503 * 676 + 0 * 26 + 1: one integer per PC6, ordered as the postcodes.

    Null for anything that is not four digits and two capital letters.
    """
    number = postcode.str.slice(0, 4).str.to_integer(strict=False).cast(pl.Int32)
    # An Enum cast, not a replace: it streams (a replace held the national column whole).
    letters = postcode.str.slice(4).cast(_LETTER_PAIRS, strict=False).to_physical().cast(pl.Int32)
    return pl.when(postcode.str.len_bytes() == 6).then(number * 676 + letters)


def cache_folder() -> Path:
    """Where prepared copies live: ``$FACTLAB_CACHE`` or ``~/.cache/factlab``, then ``cbs``."""
    base = os.environ.get(CACHE_ENVIRONMENT) or Path.home() / ".cache" / "factlab"
    return Path(base) / "cbs"


def prepared_path(csv: Path, cache: Path | None = None) -> Path:
    """The prepared copy of ``csv`` (which need not exist yet): one per CBS release."""
    status = csv.stat()
    identity = f"{_FORMAT_VERSION}|{csv.resolve()}|{status.st_size}|{status.st_mtime_ns}"
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:20]
    return (cache or cache_folder()) / f"{csv.stem}-{digest}.parquet"


def prepare(csv: Path, cache: Path | None = None) -> Path:
    """Parse ``csv`` once into the prepared copy, unless it is there already; returns its path.

    Processes that need the same copy at once (the reader processes of a large check, workers
    sharing a cache) prepare it once: the first holds a lock beside it, the others wait for
    the lock and then find the copy. (On a file system without working locks they prepare it
    each; the rename into place keeps the copy whole either way.)
    """
    target = prepared_path(csv, cache)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # One per cache folder, never removed (removing a held lock file lets a third process lock
    # a new one), and not named like a leftover (".<name>.parquet.*").
    lock = os.open(target.parent / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_file():
            _prepare(csv, target)
    finally:
        os.close(lock)  # releases the lock
    return target


def _prepare(csv: Path, target: Path) -> None:
    """Write the copy beside ``target`` under a name of its own, then rename it into place."""
    _remove_leftovers(target.parent)
    partial = partial_beside(target)
    try:
        with read_pc6hnr_keyed(csv, postcode_key(pl.col("postcode"))) as (rows, order):
            way: str = order
            if order == "adres":
                in_order, postcodes_in_order = _write_in_file_order(rows, partial)
                way = "klaar" if in_order else "postcode" if postcodes_in_order else "geen"
            if way == "postcode":
                try:
                    _write_sorted(_by_postcode(rows), partial)
                except _OutOfOrder:
                    way = "geen"
            if way == "geen":
                with tempfile.TemporaryDirectory(
                    prefix=f".{target.name}.", dir=target.parent
                ) as spill:
                    _write_sorted(_by_key_range(rows, Path(spill)), partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def partial_beside(target: Path) -> Path:
    """Where to write a file of the cache before renaming it into place as ``target``: a name
    of its own (also when runs on several machines share the cache), which the next
    preparation removes if a killed run left it behind."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


class _OutOfOrder(Exception):
    """The CSV turned out not to have each postcode's rows together."""


def _remove_leftovers(folder: Path) -> None:
    """Remove the partial copies and spill folders of preparations killed halfway, and the
    partial address indexes of checks killed while saving one (:mod:`factlab.place`)."""
    limit = time.time() - _LEFTOVER_SECONDS
    for path in [*folder.glob(".*.parquet.*"), *folder.glob(".*.arrow.*")]:
        try:
            if path.lstat().st_mtime >= limit:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:  # removed by another run meanwhile
            continue


def _sort_key() -> pl.Expr:
    return pl.col("pc6_sleutel").cast(pl.Int64).fill_null(_NO_KEY)


def _repeats() -> pl.Expr:
    """Rows whose address (postcode, huisnummer) is the row before's."""
    same = (pl.col("postcode") == pl.col("postcode").shift(1)) & (
        pl.col("huisnummer") == pl.col("huisnummer").shift(1)
    )
    return same.fill_null(False)


def _ascending() -> pl.Expr:
    """Rows that sort after the row before (by key, postcode, huisnummer), or equal to it."""
    key, postcode, huisnummer = _sort_key(), pl.col("postcode"), pl.col("huisnummer")
    same_postcode = postcode == postcode.shift(1)
    after = (key > key.shift(1)) | (
        (key == key.shift(1))
        & ((postcode > postcode.shift(1)) | (same_postcode & (huisnummer >= huisnummer.shift(1))))
    )
    return after.fill_null(True)


def _write_in_file_order(rows: pl.LazyFrame, target: Path) -> tuple[bool, bool]:
    """Write the table as the CSV has it, the repeats of an address dropped. Whether that was
    key order (by key, postcode, huisnummer; else ``target`` is to be written anew), and
    whether at least the keys came in order (each postcode's rows together).

    In key order, sorting the whole table (stably) would leave every row where it is. One
    streamed pass writes the rows and checks their order at once.
    """
    write = rows.filter(~_repeats()).sink_parquet(
        target, row_group_size=_ROW_GROUP_ROWS, statistics=True, lazy=True
    )
    key = _sort_key()
    check = rows.select(
        in_order=_ascending().all(), keys_in_order=(key >= key.shift(1)).fill_null(True).all()
    )
    _, checked = pl.collect_all([write, check], engine="streaming")
    in_order, keys_in_order = checked.row(0)
    return bool(in_order), bool(keys_in_order)


def _by_postcode(rows: pl.LazyFrame) -> Iterator[pl.DataFrame]:
    """The table sorted by key, postcode, huisnummer and file order, the repeats dropped, for
    a CSV with its keys in order (each postcode's rows together, in any order among them);
    :class:`_OutOfOrder` as soon as a key comes after a greater one.

    Each batch is sorted on its own; the rows of its last key wait for the next batch, which
    may hold more of them. (Rows without key come last, so they wait until the end.)
    """
    waiting: pl.DataFrame | None = None
    key = _sort_key()
    for batch in rows.collect_batches(engine="streaming"):
        frame = batch if waiting is None else pl.concat([waiting, batch])
        if not frame.select((key >= key.shift(1)).fill_null(True).all()).item():
            raise _OutOfOrder
        keys = frame.get_column("pc6_sleutel")
        last = keys[-1] if frame.height else None
        done = frame.height - keys.null_count() if last is None else int((keys < last).sum())
        if done:
            yield _first_in_order(frame.head(done))
        waiting = frame.slice(done)
    if waiting is None:  # no rows at all (none with a valid postcode): the empty table
        yield pl.DataFrame(schema=rows.collect_schema())
    else:
        yield _first_in_order(waiting)


def _first_in_order(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` sorted (stably) by key, postcode and huisnummer, the repeats dropped."""
    return frame.sort(_ORDER, nulls_last=True, maintain_order=True).filter(~_repeats())


def _range() -> pl.Expr:
    """The key range of a row, in key order; rows without key in the last."""
    position = pl.col("pc6_sleutel").cast(pl.Int64).clip(0, _KEY_END - 1) * _KEY_RANGES // _KEY_END
    return position.fill_null(_KEY_RANGES).cast(pl.UInt8)


def _by_key_range(rows: pl.LazyFrame, spill: Path) -> Iterator[pl.DataFrame]:
    """The table sorted by key, postcode, huisnummer and file order, the repeats dropped.

    Each batch's rows go to a file per key range in ``spill``; then each range is read, sorted
    and yielded in turn, so only one range is ever held whole.
    """
    import pyarrow.ipc  # type: ignore[import-untyped]  # only when preparing

    writers: dict[int, pyarrow.ipc.RecordBatchFileWriter] = {}
    offset = 0
    try:
        for batch in rows.collect_batches(engine="streaming"):
            numbered = batch.with_row_index("_rij", offset).with_columns(_reeks=_range())
            offset += batch.height
            for (number,), part in numbered.partition_by("_reeks", as_dict=True).items():
                table = part.drop("_reeks").to_arrow()
                if number not in writers:
                    writers[number] = pyarrow.ipc.new_file(spill / f"{number}.arrow", table.schema)
                writers[number].write_table(table)
    finally:
        for writer in writers.values():
            writer.close()
    if not writers:  # no rows (then the table would have been in order)
        yield pl.DataFrame(schema=rows.collect_schema())
        return
    for number in sorted(writers):
        part = pl.read_ipc(spill / f"{number}.arrow")
        ordered = part.sort([*_ORDER, "_rij"], nulls_last=True)
        yield ordered.filter(~_repeats()).drop("_rij")


def _write_sorted(frames: Iterator[pl.DataFrame], target: Path) -> None:
    """Write ``frames`` in turn to one Parquet file, in row groups of ``_ROW_GROUP_ROWS``."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # only when preparing

    writer: pq.ParquetWriter | None = None
    pending: list[pl.DataFrame] = []
    rows = 0

    def write(frame: pl.DataFrame) -> None:
        nonlocal writer
        table = frame.to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(target, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=_ROW_GROUP_ROWS)

    try:
        for frame in frames:
            pending.append(frame)
            rows += frame.height
            if rows >= _ROW_GROUP_ROWS:
                whole = pl.concat(pending)
                cut = rows - rows % _ROW_GROUP_ROWS
                write(whole.head(cut))
                pending, rows = [whole.slice(cut)], rows - cut
        if rows or writer is None:
            write(pl.concat(pending))
    finally:
        if writer is not None:
            writer.close()


def read_pc6hnr_prepared(
    csv: Path, postcodes: Iterable[str] | pl.Series | None = None, cache: Path | None = None
) -> pl.DataFrame:
    """:func:`factlab.connectors.cbs.read_pc6hnr`'s table, from the prepared copy (made on first use).

    With ``postcodes`` (normalised, e.g. ``1503AB``), only the rows of those postcodes: enough
    to place every address of an edition, at a fraction of the table. Same columns, same rows.
    """
    scan = pl.scan_parquet(prepare(csv, cache))
    if postcodes is not None:
        wanted = (
            pl.DataFrame({"postcode": pl.Series(list(postcodes), dtype=pl.String)})
            .select(postcode_key(pl.col("postcode")))
            .to_series()
            .drop_nulls()
            .unique()
        )
        if wanted.is_empty():
            return prefixed(scan.head(0)).collect()
        # The range lets Parquet statistics skip row groups; is_in keeps the exact postcodes.
        scan = scan.filter(
            pl.col("pc6_sleutel").is_between(wanted.min(), wanted.max())
            & pl.col("pc6_sleutel").is_in(wanted.implode())
        )
    return prefixed(scan).collect()


def gemeente_areas(csv: Path, gemeente_code: str, cache: Path | None = None) -> pl.DataFrame:
    """Every (``wijk_code``, ``buurt_code``) of the gemeente ``gemeente_code`` (``GM0479``) in
    the prepared copy, once each, sorted.

    Filtered and made distinct while reading, before the codes are prefixed: for a gemeente
    as large as the benchmark's country, 7.8 M rows hold 12.9 k pairs (0.07 s, where reading
    its rows whole and prefixing them took 0.25 s alone and ~1 s inside a national close).
    """
    if not gemeente_code.startswith("GM"):
        gemeente = pl.lit(False)
    else:
        gemeente = pl.col("gemeente") == gemeente_code.removeprefix("GM")
    buurt, wijk, _ = area_codes()
    return (
        pl.scan_parquet(prepare(csv, cache))
        .filter(gemeente)
        .select("wijk", "buurt")
        .unique()
        .select(wijk, buurt)
        .sort("wijk_code", "buurt_code")
        .collect()
    )


def prefixed(copy: pl.LazyFrame) -> pl.LazyFrame:
    """Rows of the copy as :func:`factlab.connectors.cbs.read_pc6hnr` gives them: codes prefixed
    (the copy keeps them without, which makes preparing cheaper)."""
    return copy.select("postcode", "huisnummer", *area_codes())


#: The copy's area columns (codes without prefix), from the smallest area to the largest.
AREA_COLUMNS = ("buurt", "wijk", "gemeente")


def area_codes() -> list[pl.Expr]:
    """``buurt_code``, ``wijk_code`` and ``gemeente_code`` of the copy's rows, prefixed."""
    return [
        (prefix + pl.col(column)).alias(f"{column}_code")
        for column, prefix in zip(AREA_COLUMNS, ("BU", "WK", "GM"), strict=True)
    ]


def address_key(pc6_key: pl.Expr, huisnummer: pl.Expr) -> pl.Expr:
    """One integer per (postcode, huisnummer), for huisnummers below 100 000 (a larger one's
    key is also another postcode's: compare the postcodes too)."""
    return pc6_key.cast(pl.Int64) * 100_000 + huisnummer


def read_pc6hnr_addresses(
    csv: Path, addresses: pl.DataFrame, cache: Path | None = None
) -> pl.DataFrame:
    """The prepared table's rows of exactly the (``postcode``, ``huisnummer``) in ``addresses``.

    What placing a batch needs: a batch of 200 k rows spread over the country touches a third
    of the national table's postcodes but only its own addresses, and joining it against
    those few rows, on one integer, costs a tenth of joining it against its postcodes' rows.
    Same columns as :func:`read_pc6hnr_prepared`; rows as its rows filtered to the addresses.
    """
    pc6 = postcode_key(pl.col("postcode"))
    # The postcode with the key: a key is also another postcode's, for a huisnummer of 100 000
    # or more.
    wanted = (
        addresses.select(pc6.alias("pc6_sleutel"), _sleutel=address_key(pc6, pl.col("huisnummer")))
        .drop_nulls()
        .unique()
    )
    scan = pl.scan_parquet(prepare(csv, cache))
    if wanted.is_empty():
        return prefixed(scan.head(0)).collect()
    postcodes = wanted.get_column("pc6_sleutel")
    found = (
        scan.filter(  # the range lets Parquet statistics skip row groups
            pl.col("pc6_sleutel").is_between(postcodes.min(), postcodes.max())
            & pl.col("pc6_sleutel").is_in(postcodes.unique().implode())
        )
        .with_columns(_sleutel=address_key(pl.col("pc6_sleutel"), pl.col("huisnummer")))
        .join(wanted.lazy(), on=["_sleutel", "pc6_sleutel"], how="semi", maintain_order="left")
    )
    return prefixed(found).collect()
