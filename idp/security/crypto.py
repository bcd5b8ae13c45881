"""Field encryption (Fernet under a key derived from server.encryption_key) and keyed hashes.

High-entropy secrets (client secrets, tokens, codes, cookies) are stored as a keyed SHA-256: fast to
check and useless without the key. People's passwords use bcrypt (security/passwords.py) instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(material: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material.encode())


class Crypto:
    def __init__(self, encryption_key: str):
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(encryption_key, b"idp field encryption")))
        self._hash_key = _derive(encryption_key, b"idp keyed hash")

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def decrypt(self, value: str) -> str:
        try:
            return self._fernet.decrypt(value.encode("ascii")).decode()
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: wrong server.encryption_key?") from exc

    def keyed_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def matches(self, value: str, stored_hash: str | None) -> bool:
        return bool(stored_hash) and hmac.compare_digest(self.keyed_hash(value), stored_hash or "")
