"""The pseudonymisation key: where it comes from, and how it is kept off disk and out of logs.

Two modes:

* ``ephemeral`` (default): 256 bits from the OS random source, held only in this process and
  discarded when the run ends. Afterwards nobody, the operator included, can map a pseudonym
  back to an address, even with the public BAG address list as a dictionary.
* ``managed``: a master key from ``FACTLAB_KEY`` (base64, at least 32 bytes). Each edition gets
  its own key derived with HKDF-SHA256, so pseudonyms are stable across reruns of one edition
  but cannot be linked between editions.

A :class:`PseudonymKey` refuses to be printed, pickled or cached: its ``repr`` shows only the
mode and a fingerprint (an HMAC of a fixed label, which reveals nothing about the key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from typing import Literal, NoReturn

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from factlab.errors import KeyMaterialError

KEY_BYTES = 32
ENVIRONMENT_VARIABLE = "FACTLAB_KEY"
_HKDF_SALT = b"factlab/pseudonym-key/v1"
_FINGERPRINT_LABEL = b"factlab key fingerprint"

KeyMode = Literal["ephemeral", "managed"]


@dataclass(frozen=True, eq=False)
class PseudonymKey:
    """A secret HMAC key with its mode; never shown, never serialised."""

    mode: KeyMode
    secret: bytes = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """Short, non-reversible identifier for the audit record (not a hash of the key)."""
        return hmac.new(self.secret, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"PseudonymKey(mode={self.mode!r}, fingerprint={self.fingerprint!r})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a PseudonymKey is never serialised (pickled, cached or persisted)")


def ephemeral_key() -> PseudonymKey:
    """A fresh random key that lives only as long as this process holds it."""
    return PseudonymKey(mode="ephemeral", secret=secrets.token_bytes(KEY_BYTES))


def derive_edition_key(master: bytes, edition: str) -> PseudonymKey:
    """Per-edition key from a master key (HKDF-SHA256), so editions cannot be linked."""
    if len(master) < KEY_BYTES:
        raise KeyMaterialError(
            f"de sleutel in {ENVIRONMENT_VARIABLE} is {len(master)} bytes; minimaal {KEY_BYTES} "
            "bytes (256 bits) is vereist. Maak er een met: "
            "python -c 'import secrets,base64;print(base64.b64encode(secrets.token_bytes(32)).decode())'"
        )
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=_HKDF_SALT,
        info=b"factlab edition " + edition.encode("utf-8"),
    )
    return PseudonymKey(mode="managed", secret=hkdf.derive(master))


def managed_key_from_environment(edition: str) -> PseudonymKey:
    """Read the base64 master key from ``FACTLAB_KEY`` and derive this edition's key."""
    encoded = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not encoded:
        raise KeyMaterialError(
            f"sleutelmodus 'managed' vraagt een hoofdsleutel in de omgevingsvariabele "
            f"{ENVIRONMENT_VARIABLE} (base64, minimaal {KEY_BYTES} bytes)"
        )
    try:
        master = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError(f"{ENVIRONMENT_VARIABLE} is geen geldige base64-tekst") from None
    return derive_edition_key(master, edition)
