"""Leak scanner for end-to-end tests: no input address, pseudonym or key byte may survive a run.

It scans every file under the given folders (outputs, staging, Prefect artifacts), plus any
captured text (logs), for:

* an input address in any normalisation: ``1503AB 12``, ``1503 ab 12``, ``1503AB;12``,
  ``1503AB|12|A|`` (the canonical key) ... found by one pattern (PC6, optional separators,
  house number) and checked against the set of input (postcode, huisnummer) pairs, so that a
  new way of writing an address cannot slip through a list of forms;
* a pseudonym of the run (HMAC-SHA256 of the canonical key, recomputed with the run's key),
  as the close holds it (its first 128 bits as an integer: in decimal, or its 16 bytes in
  either order, as a parquet or Arrow file stores them) or as hex (the whole HMAC or its
  first half);
* the key itself (hex, base64, URL-safe base64), and any extra secret (e.g. the master key).

Binary files are scanned decoded as well as raw: parquet is read with polars and stringified,
XLSX/ZIP members are unzipped. Leaks are returned as ``"<file>: <what>"`` strings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import polars as pl

from factlab import addresses
from factlab.keys import PseudonymKey
from factlab.pseudonymise import hmac_key

_ADDRESS = re.compile(
    r"(?<![0-9])([1-9][0-9]{3})\s?([a-z]{2})[\s|;,\t\"'\-]{0,3}([0-9]{1,5})(?![0-9])"
)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX32 = re.compile(r"[0-9a-f]{32,}")
#: A 128-bit pseudonym in decimal has 20 digits or more, but for a chance of 2^-61.
_DECIMAL = re.compile(r"(?<![0-9])[0-9]{20,39}(?![0-9])")
_BASE64 = re.compile(r"[A-Za-z0-9+/_\-]{40,}={0,2}")


def _canonical_keys(truth: pl.DataFrame) -> pl.DataFrame:
    number, letter, suffix = addresses.canonical_parts(
        pl.col("huisnummer").cast(pl.String),
        pl.col("huisletter") if "huisletter" in truth.columns else pl.lit(None, pl.String),
        pl.col("toevoeging") if "toevoeging" in truth.columns else pl.lit(None, pl.String),
    )
    postcode = addresses.postcode(pl.col("postcode"))
    return truth.select(
        postcode.alias("pc"),
        number.alias("nr"),
        addresses.canonical_key(postcode, number, letter, suffix).alias("sleutel"),
    )


class LeakScanner:
    """The needles of one run, and the search over files and texts."""

    def __init__(
        self,
        truth: pl.DataFrame,
        key: PseudonymKey | None = None,
        secrets: Iterable[bytes] = (),
    ) -> None:
        keyed = _canonical_keys(truth)
        self.addresses = {
            (pc.lower(), int(nr)) for pc, nr in keyed.select("pc", "nr").iter_rows() if nr
        }
        self.pseudonyms: set[str] = set()  # each HMAC's first 128 bits, as 32 hex digits
        self.pseudonym_numbers: set[str] = set()  # ... in decimal
        self.pseudonym_bytes: list[str] = []  # ... as 16 bytes (Latin-1), either order
        all_secrets = list(secrets)
        if key is not None:
            all_secrets.append(key.secret)
            for canonical in keyed.get_column("sleutel"):
                digest = hmac.new(
                    hmac_key(key).encode(), canonical.encode("utf-8"), hashlib.sha256
                ).digest()[:16]
                self.pseudonyms.add(digest.hex())
                self.pseudonym_numbers.add(str(int.from_bytes(digest, "big")))
                for order in (digest, digest[::-1]):
                    self.pseudonym_bytes.append(order.decode("latin-1"))
        self.secret_forms = {s.hex() for s in all_secrets}
        for secret in all_secrets:
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                self.secret_forms.add(encode(secret).decode("ascii").rstrip("=").lower())

    def scan_text(self, text: str) -> list[str]:
        """What leaks in one text (lower-cased before matching; a pseudonym's bytes as they
        are)."""
        low = text.lower()
        found = []
        for match in _ADDRESS.finditer(low):
            if (match.group(1) + match.group(2), int(match.group(3))) in self.addresses:
                found.append("invoeradres")
                break
        hexes = set(_HEX64.findall(low))
        if (
            any(token[:32] in self.pseudonyms for token in _HEX32.findall(low))
            or not self.pseudonym_numbers.isdisjoint(_DECIMAL.findall(low))
            or (
                self.pseudonym_bytes
                and pl.Series([text]).str.contains_any(self.pseudonym_bytes).item()
            )
        ):
            found.append("pseudoniem")
        if hexes & self.secret_forms or any(
            token.rstrip("=") in self.secret_forms or any(f in token for f in self.secret_forms)
            for token in _BASE64.findall(low)
        ):
            found.append("sleutel")
        return found

    def scan_paths(self, roots: Iterable[Path]) -> list[str]:
        leaks = []
        for root in roots:
            files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
            for path in files:
                leaks += [f"{path}: {what}" for what in self.scan_text(str(path))]
                for text in _texts_of(path):
                    leaks += [f"{path}: {what}" for what in self.scan_text(text)]
        return sorted(set(leaks))


def _texts_of(path: Path) -> Iterator[str]:
    """The file raw (as Latin-1, which maps every byte) and, for containers, decoded."""
    data = path.read_bytes()
    yield data.decode("latin-1")
    if data.startswith(b"PAR1"):
        frame = pl.read_parquet(io.BytesIO(data))
        yield repr(frame.to_dicts())
    elif data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield archive.read(member).decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        yield data.decode("utf-16", errors="replace")


def scan_for_leaks(
    roots: Iterable[Path],
    *,
    truth: pl.DataFrame,
    key: PseudonymKey | None = None,
    texts: Mapping[str, str] | None = None,
    secrets: Iterable[bytes] = (),
) -> list[str]:
    """Every leak under ``roots`` and in ``texts`` (name -> captured text, e.g. logs).

    ``truth`` has the input addresses (``postcode``, ``huisnummer`` and optionally
    ``huisletter``, ``toevoeging``); ``key`` is the run's pseudonym key (managed, so a test can
    recompute it: ``derive_edition_key(master, edition)``); ``secrets`` are extra key bytes.
    """
    scanner = LeakScanner(truth, key, secrets)
    leaks = scanner.scan_paths(roots)
    for name, text in (texts or {}).items():
        leaks += [f"{name}: {what}" for what in scanner.scan_text(text)]
    return leaks
