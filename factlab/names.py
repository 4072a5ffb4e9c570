"""Names partners choose: organisation folders and file names, shown safely and stored safely.

A file name is whatever the partner's system wrote: any length the file system allows, any
bytes (not necessarily valid UTF-8), possibly a formula for a spreadsheet. Factlab keeps the
name exactly (Python's surrogate escapes) to find the file again, and shows it only through
:func:`display_name`: escaped, neutralised and shortened with a stable short id, so a name
never crashes a writer, never passes the 255-byte limit of a derived file name, and two long
names that share a beginning stay apart.

Organisation folders are the partners' identities in every table. Spaces and accents are real
(``Stichting Welzijn Zaanstad``, ``Jeugdteam Crommenie``), so a folder name may hold letters of
any script, digits, spaces and ``. _ - & ' ( )``, at most 64 characters, starting with a letter
or digit; anything else is refused with a message (see docs/aanleverformaat.md).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from factlab.safe_text import neutralise

ORGANISATION_PATTERN = re.compile(r"^[^\W_][\w .&'()\-]{0,63}$")
ORGANISATION_RULE = (
    "een organisatiemap heet zoals de organisatie: letters (ook met accenten), cijfers, "
    "spaties en . _ - & ' ( ), hoogstens 64 tekens, beginnend met een letter of cijfer"
)
MAX_SHOWN = 80  # characters of a name shown before it is shortened


def is_organisation(name: str) -> bool:
    """True for a valid organisation folder name (valid UTF-8, see the module docstring)."""
    return (
        name == name.strip()
        and unicodedata.is_normalized("NFC", name)
        and ORGANISATION_PATTERN.fullmatch(name) is not None
    )


def raw_bytes(name: str) -> bytes:
    """A name from the file system back as its bytes (surrogate escapes undone)."""
    return name.encode("utf-8", "surrogateescape")


def short_id(name: str) -> str:
    """A stable 6-character id of a name, to tell shortened names apart."""
    return hashlib.blake2b(raw_bytes(name), digest_size=3).hexdigest()


def display_name(name: str, limit: int = MAX_SHOWN) -> str:
    """The name as shown anywhere: escaped, neutralised, at most ``limit`` characters."""
    text = raw_bytes(name).decode("utf-8", "backslashreplace")
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    if len(text) > limit:
        text = f"{text[: limit - 10]}…~{short_id(name)}"
    return neutralise(text)


def file_stem(name: str, limit: int = 100) -> str:
    """A name safe to derive file names from: printable ASCII-ish, at most ``limit`` bytes."""
    text = raw_bytes(name).decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() and ch not in "/\\" else "_" for ch in text).strip(". ")
    encoded = text.encode("utf-8")
    if len(encoded) <= limit and text == name:
        return text or f"bestand-{short_id(name)}"
    cut = encoded[: limit - 8].decode("utf-8", "ignore").rstrip(". ")
    return f"{cut}~{short_id(name)}"
