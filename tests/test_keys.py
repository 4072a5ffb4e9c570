"""Key handling: strong keys only, per-edition derivation, and no way to print or persist a key."""

import base64
import pickle

import pytest

from factlab.errors import KeyMaterialError
from factlab.keys import (
    KEY_BYTES,
    derive_edition_key,
    ephemeral_key,
    managed_key_from_environment,
)


def test_ephemeral_keys_are_random_and_256_bit() -> None:
    first, second = ephemeral_key(), ephemeral_key()
    assert len(first.secret) == KEY_BYTES
    assert first.secret != second.secret
    assert first.mode == "ephemeral"


def test_managed_keys_are_stable_per_edition_and_differ_between_editions(monkeypatch) -> None:
    master = base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv("FACTLAB_KEY", master)
    assert (
        managed_key_from_environment("2026").secret == managed_key_from_environment("2026").secret
    )
    assert (
        managed_key_from_environment("2026").secret != managed_key_from_environment("2027").secret
    )
    assert managed_key_from_environment("2026").secret != b"k" * 32


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "FACTLAB_KEY"),
        ("not base64!!", "base64"),
        (base64.b64encode(b"short").decode(), "minimaal 32 bytes"),
    ],
)
def test_weak_or_missing_master_key_is_refused(monkeypatch, value: str, message: str) -> None:
    monkeypatch.setenv("FACTLAB_KEY", value)
    with pytest.raises(KeyMaterialError, match=message) as error:
        managed_key_from_environment("2026")
    assert value not in str(error.value) or value == ""


def test_key_never_shows_or_serialises() -> None:
    key = derive_edition_key(b"s" * 32, "2026")
    for text in (repr(key), str(key), f"{key}"):
        assert key.secret.hex() not in text
        assert base64.b64encode(key.secret).decode() not in text
        assert key.fingerprint in text
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_fingerprint_identifies_key_without_revealing_it() -> None:
    key = derive_edition_key(b"s" * 32, "2026")
    assert key.fingerprint == derive_edition_key(b"s" * 32, "2026").fingerprint
    assert key.fingerprint != derive_edition_key(b"s" * 32, "2027").fingerprint
    assert key.fingerprint not in key.secret.hex()
