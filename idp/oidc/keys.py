"""Signing keys: generation, rotation and the published JWKS, held in memory between requests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Collection
from datetime import datetime, timedelta

from flask import current_app
from joserfc import jwt
from joserfc.jwk import ECKey, Key, KeyParameters, KeySet, RSAKey, import_key
from sqlalchemy import select

from idp import after_commit, clock
from idp.audit import EventTag, record
from idp.extensions import db
from idp.models.key import SigningKey
from idp.security.crypto import Crypto

ALGORITHMS = ("RS256", "ES256")
# How long after its retirement a key may still verify something it signed (clock skew included).
_GRACE = timedelta(minutes=5)


def generate(alg: str, crypto: Crypto, rsa_bits: int = 2048) -> SigningKey:
    params: KeyParameters = {"alg": alg, "use": "sig"}
    key: RSAKey | ECKey
    if alg == "RS256":
        key = RSAKey.generate_key(rsa_bits, parameters=params, auto_kid=True)
    elif alg == "ES256":
        key = ECKey.generate_key("P-256", parameters=params, auto_kid=True)
    else:
        raise ValueError(f"unsupported algorithm {alg}")
    row = SigningKey(
        kid=key.kid,
        alg=alg,
        private_jwk_encrypted=crypto.encrypt(json.dumps(key.as_dict(private=True))),
        created_at=clock.now(),
    )
    db.session.add(row)
    return row


def ensure_keys(crypto: Crypto, rsa_bits: int = 2048) -> list[SigningKey]:
    """Create a signing key for each algorithm that has none (idp init, dev mode start)."""
    created = []
    for alg in ALGORITHMS:
        exists = db.session.scalar(
            select(SigningKey.id).where(SigningKey.alg == alg, SigningKey.retired_at.is_(None)).limit(1)
        )
        if exists is None:
            created.append(generate(alg, crypto, rsa_bits))
    return created


def rotate(
    crypto: Crypto, valid_for: timedelta, algs: tuple[str, ...] = ALGORITHMS, rsa_bits: int = 2048,
) -> list[SigningKey]:
    """A new key signs from now on; the old one stays published for `valid_for` (the longest token life)."""
    now = clock.now()
    new_keys = []
    for alg in algs:
        old = db.session.scalars(
            select(SigningKey).where(SigningKey.alg == alg, SigningKey.retired_at.is_(None))
        ).all()
        for row in old:
            row.retired_at = now
            row.publish_until = now + valid_for + _GRACE
        key = generate(alg, crypto, rsa_bits)
        new_keys.append(key)
        record(EventTag.KEY_ROTATED, alg=alg, kid=key.kid, retired=[row.kid for row in old])
    _reload_after_commit()
    return new_keys


def _reload_after_commit() -> None:
    """This worker signs with the new key as soon as the rotation commits (others within their ttl).

    Not before the commit: a rolled-back rotation must never leave us signing with an unpublished key.
    """
    ring = current_app.extensions.get("idp.keys")
    if ring is not None:
        after_commit.call("keys:reload", ring.invalidate)


class KeyRing:
    """The keys one worker signs and publishes with, held in memory.

    Reloaded from the database at most every `ttl` seconds (so a rotation by another process is seen
    within ttl), and also when a retired key's publication ends, so it leaves the JWKS on time.
    """

    def __init__(self, crypto: Crypto, ttl: float = 30.0):
        self._crypto = crypto
        self._ttl = ttl
        self._loaded_at = -1e9
        self._changes_at: datetime | None = None  # the next publish_until of a published retired key
        self._lock = threading.Lock()
        self._signing: dict[str, Key] = {}
        self._public = KeySet([])
        self._jwks_json = b'{"keys": []}'

    def cached_jwks_json(self) -> bytes:
        """The JWKS as last loaded, never touching the database (callers without an app context)."""
        return self._jwks_json

    def stale(self) -> bool:
        """Whether the next use reloads from the database (and so needs an app context)."""
        return self._stale()

    def _stale(self) -> bool:
        if time.monotonic() - self._loaded_at >= self._ttl:
            return True
        return self._changes_at is not None and clock.now() >= self._changes_at

    def _maybe_reload(self) -> None:
        if not self._stale():
            return
        with self._lock:
            if self._stale():
                self.reload()

    def invalidate(self) -> None:
        """Reload on next use (after a rotation in this process)."""
        self._loaded_at = -1e9

    def reload(self) -> None:
        now = clock.now()
        rows = db.session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.id)).all()
        signing, published, ends = {}, [], []
        for row in rows:
            if row.retired_at is not None:
                if row.publish_until is None or row.publish_until <= now:
                    continue
                ends.append(row.publish_until)
            key = import_key(json.loads(self._crypto.decrypt(row.private_jwk_encrypted)))
            published.append(key)
            if row.retired_at is None:
                signing[row.alg] = key  # the newest active key of an algorithm wins
        self._changes_at = min(ends, default=None)
        self._signing = signing
        self._public = KeySet(published)
        self._jwks_json = json.dumps(self._public.as_dict(private=False), separators=(",", ":")).encode()
        self._loaded_at = time.monotonic()

    def signing_key(self, alg: str) -> Key:
        self._maybe_reload()
        try:
            return self._signing[alg]
        except KeyError:
            raise RuntimeError(f"no active {alg} signing key: run `idp init` or `idp keys rotate`") from None

    def signing_keyset(self) -> KeySet:
        """Every key this worker holds, private parts included: joserfc signs with the one a header's kid names."""
        self._maybe_reload()
        return self._public

    def jwks_json(self) -> bytes:
        self._maybe_reload()
        return self._jwks_json

    def public_keyset(self) -> KeySet:
        self._maybe_reload()
        return self._public

    def sign(self, claims: dict[str, object], alg: str, typ: str = "JWT") -> str:
        key = self.signing_key(alg)
        return jwt.encode({"alg": alg, "kid": key.kid, "typ": typ}, claims, key, algorithms=[alg])

    def verify(self, token: str, algorithms: Collection[str] = ALGORITHMS) -> jwt.Token:
        """Decode a token we signed (signature only; the caller checks claims and typ)."""
        return jwt.decode(token, self.public_keyset(), algorithms=list(algorithms))
