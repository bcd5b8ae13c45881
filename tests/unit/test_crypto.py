"""Field encryption under a list of keys (newest encrypts, all decrypt) and keyed hashes."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from idp.security.crypto import Crypto, DecryptionError, _derive, key_id

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
    with pytest.raises(DecryptionError, match=rf"encrypted under key id {key_id(KEY)}, which is not in "
                                              r"server\.encryption_keys"):
        Crypto(OTHER_KEY).decrypt(sealed)


def test_a_value_names_its_key_and_not_the_key_itself():
    sealed = Crypto(KEY).encrypt("+31612345678")
    assert sealed.startswith(key_id(KEY) + ":")
    assert len(key_id(KEY)) == 8 and key_id(KEY) != key_id(OTHER_KEY) and KEY[:8] not in sealed


def test_the_newest_key_encrypts_and_every_key_decrypts():
    old = Crypto(KEY).encrypt("under the old key")
    both = Crypto([OTHER_KEY, KEY])

    new = both.encrypt("under the new key")

    assert new.startswith(key_id(OTHER_KEY) + ":")
    assert both.decrypt(old) == "under the old key"
    assert both.decrypt(new) == "under the new key"
    assert Crypto(OTHER_KEY).decrypt(new) == "under the new key"
    with pytest.raises(DecryptionError):
        Crypto(KEY).decrypt(new)


def test_values_written_before_key_ids_are_read_under_any_configured_key():
    # What the single-key version stored: a bare Fernet token under the key derived from encryption_key.
    import base64

    legacy = Fernet(base64.urlsafe_b64encode(_derive(KEY, b"idp field encryption"))).encrypt(b"+31687654321").decode()

    assert Crypto(KEY).decrypt(legacy) == "+31687654321"
    assert Crypto([OTHER_KEY, KEY]).decrypt(legacy) == "+31687654321"
    assert not Crypto([OTHER_KEY, KEY]).is_current(legacy)
    with pytest.raises(DecryptionError, match=r"written before key ids.*server\.encryption_keys"):
        Crypto(OTHER_KEY).decrypt(legacy)


def test_reseal_moves_a_value_to_the_newest_key_once():
    both = Crypto([OTHER_KEY, KEY])
    resealed = both.reseal(Crypto(KEY).encrypt("secret"))
    assert both.is_current(resealed) and Crypto(OTHER_KEY).decrypt(resealed) == "secret"
    assert both.reseal(resealed) == resealed  # already current: left as it is


def test_keyed_hashes_stay_under_the_oldest_key_or_the_hash_key():
    digest = Crypto(KEY).keyed_hash("client-secret")  # the single key of an older configuration
    assert Crypto([OTHER_KEY, KEY]).keyed_hash("client-secret") == digest
    assert Crypto(OTHER_KEY, hash_key=KEY).keyed_hash("client-secret") == digest  # the old key moved to hash_key
    assert Crypto(OTHER_KEY).keyed_hash("client-secret") != digest


def test_garbage_is_refused_not_returned():
    crypto = Crypto(KEY)
    for value in ("", "not encrypted", f"{key_id(KEY)}:not-a-token", f"{key_id(KEY)}:é", "ëx"):
        with pytest.raises(DecryptionError):
            crypto.decrypt(value)


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
