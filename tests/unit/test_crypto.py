"""Field encryption and keyed hashes under server.encryption_key."""

from __future__ import annotations

import pytest

from idp.security.crypto import Crypto

KEY = "encryption-key-one-0123456789-abcdefghijklmnopq"
OTHER_KEY = "encryption-key-two-0123456789-abcdefghijklmnopq"


def test_encrypt_then_decrypt_gives_the_value_back():
    crypto = Crypto(KEY)
    sealed = crypto.encrypt("+31612345678")
    assert "+31612345678" not in sealed and "31612345678" not in sealed
    assert crypto.decrypt(sealed) == "+31612345678"
    assert Crypto(KEY).decrypt(sealed) == "+31612345678"  # a restart with the same key still reads it


def test_each_encryption_is_different():
    crypto = Crypto(KEY)
    assert crypto.encrypt("same") != crypto.encrypt("same")


def test_another_key_cannot_decrypt():
    sealed = Crypto(KEY).encrypt("+31612345678")
    with pytest.raises(ValueError, match=r"wrong server\.encryption_key"):
        Crypto(OTHER_KEY).decrypt(sealed)


def test_tampered_ciphertext_is_refused():
    crypto = Crypto(KEY)
    sealed = crypto.encrypt("+31612345678")
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(ValueError):
        crypto.decrypt(tampered)


def test_keyed_hash_is_stable_and_depends_on_the_key():
    one, two = Crypto(KEY), Crypto(OTHER_KEY)
    digest = one.keyed_hash("client-secret")
    assert digest == Crypto(KEY).keyed_hash("client-secret")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest != two.keyed_hash("client-secret")
    assert digest != one.keyed_hash("client-secreT")


def test_keyed_hash_is_not_the_encryption_key_reused():
    # Hashing and encryption use separately derived keys: the hash is not a plain SHA-256 of the value.
    import hashlib

    assert Crypto(KEY).keyed_hash("value") != hashlib.sha256(b"value").hexdigest()


def test_matches_checks_a_value_against_its_stored_hash():
    crypto = Crypto(KEY)
    stored = crypto.keyed_hash("client-secret")
    assert crypto.matches("client-secret", stored)
    assert not crypto.matches("wrong", stored)
    assert not crypto.matches("client-secret", None)
    assert not crypto.matches("client-secret", "")
    assert not Crypto(OTHER_KEY).matches("client-secret", stored)
