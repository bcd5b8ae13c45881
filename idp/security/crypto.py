"""Field encryption (Fernet under keys derived from server.encryption_keys) and keyed hashes.

Encryption keys are a list, newest first: the newest encrypts, every one decrypts. A value names the key that
sealed it (`<key id>:<Fernet token>`), so decrypting is one attempt; a value written before keys had ids (a
bare Fernet token) is tried under each key. `idp keys rotate-encryption` re-seals every stored value under the
newest key, after which the older keys can leave the configuration.

High-entropy secrets (client secrets, tokens, codes, cookies) are stored as a keyed SHA-256: fast to check and
useless without the key. That key cannot rotate (a client secret's plaintext is never kept), so it stays put:
derived from server.hash_key when set, else from the oldest encryption key (what a single key always did).
People's passwords use bcrypt (security/passwords.py) instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEPARATOR = ":"  # never in a Fernet token (URL-safe base64)


class DecryptionError(ValueError):
    """A stored value that none of the configured encryption keys opens: the message names the missing key."""


class HashKeyChanged(ValueError):
    """The configured hash key is not the one the stored hashes were made with (an old key taken out too early)."""


def _derive(material: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material.encode())


def key_id(material: str) -> str:
    """A short public name for an encryption key (what `idp keys rotate-encryption` reports); reveals nothing."""
    return _derive(material, b"idp encryption key id")[:4].hex()


class Crypto:
    def __init__(self, encryption_keys: str | Sequence[str], hash_key: str = ""):
        materials = [encryption_keys] if isinstance(encryption_keys, str) else list(encryption_keys)
        if not materials or not all(materials):
            raise ValueError("at least one non-empty encryption key is needed")
        self._fernets = {key_id(m): Fernet(base64.urlsafe_b64encode(_derive(m, b"idp field encryption")))
                         for m in materials}
        self.key_ids = list(self._fernets)  # newest first
        self.current_key_id = self.key_ids[0]
        self._hash_key = _derive(hash_key or materials[-1], b"idp keyed hash")
        self.hash_key_id = key_id(hash_key or materials[-1])

    def encrypt(self, value: str) -> str:
        token = self._fernets[self.current_key_id].encrypt(value.encode()).decode("ascii")
        return f"{self.current_key_id}{SEPARATOR}{token}"

    def decrypt(self, value: str) -> str:
        kid, separator, token = value.rpartition(SEPARATOR)
        if not separator:  # sealed before keys had ids: under one of them, most likely the oldest
            for fernet in reversed(self._fernets.values()):
                try:
                    return fernet.decrypt(value.encode("ascii")).decode()
                except (InvalidToken, UnicodeEncodeError):
                    continue
            raise DecryptionError("cannot decrypt a stored value (written before key ids) with any key in "
                                  "server.encryption_keys: is the key it was written under missing?")
        keyed = self._fernets.get(kid)
        if keyed is None:
            raise DecryptionError(f"cannot decrypt a stored value: it was encrypted under key id {kid}, which is "
                                  f"not in server.encryption_keys (ids configured: {', '.join(self.key_ids)})")
        try:
            return keyed.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise DecryptionError(f"cannot decrypt a stored value under key id {kid}: damaged") from exc

    def is_current(self, value: str) -> bool:
        """Whether the value is sealed under the newest key (`rotate-encryption` leaves it alone)."""
        return value.startswith(self.current_key_id + SEPARATOR)

    def reseal(self, value: str) -> str:
        """The same plaintext under the newest key."""
        return value if self.is_current(value) else self.encrypt(self.decrypt(value))

    def keyed_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def matches(self, value: str, stored_hash: str | None) -> bool:
        return bool(stored_hash) and hmac.compare_digest(self.keyed_hash(value), stored_hash or "")
