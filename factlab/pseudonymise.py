"""Pseudonymise stage: replace each canonical address key by HMAC-SHA256(key, address).

The HMAC is computed inside DuckDB, vectorised, once per distinct address: DuckDB has SHA-256
but no HMAC, so we build it from the definition (RFC 2104)::

    HMAC(K, m) = SHA256((K0 xor opad) || SHA256((K0 xor ipad) || m))

with the padded keys passed as query parameters: they stay in memory and never appear in SQL
text, logs or files. Tests check the result against the RFC 4231 vectors and the standard
library. The input address column is dropped from the output: once an address is keyed, it is
never seen again.
"""

from __future__ import annotations

import hashlib

import duckdb
import polars as pl

from factlab.keys import PseudonymKey

_BLOCK = 64  # SHA-256 block size in bytes

_HMAC_SQL = """
SELECT address, sha256($opad::BLOB || unhex(sha256($ipad::BLOB || encode(address)))) AS pseudonym
FROM (SELECT DISTINCT address FROM addresses)
"""


def _pads(secret: bytes) -> tuple[bytes, bytes]:
    block_key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    block_key = block_key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in block_key), bytes(b ^ 0x5C for b in block_key)


def hmac_sha256_hex(
    connection: duckdb.DuckDBPyConnection, messages: pl.Series, secret: bytes
) -> pl.DataFrame:
    """Return (address, pseudonym) for the distinct ``messages``: HMAC-SHA256 as hex."""
    ipad, opad = _pads(secret)
    connection.register("addresses", messages.rename("address").to_frame())
    try:
        return connection.sql(_HMAC_SQL, params={"ipad": ipad, "opad": opad}).pl()
    finally:
        connection.unregister("addresses")


def pseudonymise(
    frame: pl.DataFrame,
    key: PseudonymKey,
    connection: duckdb.DuckDBPyConnection,
    address_column: str = "adres_sleutel",
) -> pl.DataFrame:
    """Swap ``address_column`` for a ``pseudoniem`` column; every other column is kept."""
    pseudonyms = hmac_sha256_hex(connection, frame.get_column(address_column), key.secret)
    return (
        frame.join(pseudonyms, left_on=address_column, right_on="address", how="left")
        .drop(address_column)
        .rename({"pseudonym": "pseudoniem"})
    )
