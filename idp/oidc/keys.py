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


def generate(alg: str, crypto: Crypto, rsa_bits: int = 3072, signs_from: datetime | None = None,
             now: datetime | None = None) -> SigningKey:
    params: KeyParameters = {"alg": alg, "use": "sig"}
    key: RSAKey | ECKey
    if alg == "RS256":
        key = RSAKey.generate_key(rsa_bits, parameters=params, auto_kid=True)
    elif alg == "ES256":
        key = ECKey.generate_key("P-256", parameters=params, auto_kid=True)
    else:
        raise ValueError(f"unsupported algorithm {alg}")
    now = now or clock.now()
    row = SigningKey(
        kid=key.kid,
        alg=alg,
        private_jwk_encrypted=crypto.encrypt(json.dumps(key.as_dict(private=True))),
        created_at=now,
        signs_from=signs_from or now,
    )
    db.session.add(row)
    return row


def ensure_keys(crypto: Crypto, rsa_bits: int = 3072) -> list[SigningKey]:
    """Create a signing key for each algorithm that has none (idp init, dev mode start).

    Such a key signs at once: nobody can have cached a key set that lacks it, as no key of its kind existed.
    """
    created = []
    for alg in ALGORITHMS:
        exists = db.session.scalar(
            select(SigningKey.id).where(SigningKey.alg == alg, SigningKey.retired_at.is_(None)).limit(1)
        )
        if exists is None:
            created.append(generate(alg, crypto, rsa_bits))
    return created


def published_for(token_seconds: int, session_hours: int) -> timedelta:
    """How long after a key stops signing something it signed may still be presented to us or to a portal.

    ID tokens live `token_seconds`, but portals keep one for the whole session and send it back as
    id_token_hint at logout (expired is fine there); logout tokens live two minutes.
    """
    return max(timedelta(seconds=token_seconds), timedelta(hours=session_hours), timedelta(minutes=2))


def rotate(
    crypto: Crypto, valid_for: timedelta, algs: tuple[str, ...] = ALGORITHMS, rsa_bits: int = 3072,
    publish_for: timedelta = timedelta(0),
) -> list[SigningKey]:
    """A new key is published now and signs after `publish_for` (portals' cached key sets have caught up by
    then); the key it replaces signs until that moment and stays published `valid_for` longer (its tokens'
    longest life), then leaves the JWKS."""
    now = clock.now()
    switch = now + publish_for
    new_keys = []
    for alg in algs:
        old = db.session.scalars(
            select(SigningKey).where(SigningKey.alg == alg, SigningKey.retired_at.is_(None))
        ).all()
        for row in old:
            row.retired_at = switch
            row.publish_until = switch + valid_for + _GRACE
        key = generate(alg, crypto, rsa_bits, signs_from=switch, now=now)
        new_keys.append(key)
        record(EventTag.KEY_ROTATED, alg=alg, kid=key.kid, retired=[row.kid for row in old],
               signs_from=switch.isoformat())
    _reload_after_commit()
    return new_keys


def state(row: SigningKey, now: datetime) -> str:
    """pending (published, not signing yet), signing, published (retired, still verifiable) or expired."""
    if row.retired_at is not None and row.retired_at <= now:
        return "published" if row.publish_until is not None and row.publish_until > now else "expired"
    if row.signs_from is not None and row.signs_from > now:
        return "pending"
    return "signing"


def _reload_after_commit() -> None:
    """This worker sees the new key as soon as the rotation commits (others within their ttl).

    Not before the commit: a rolled-back rotation must never leave us publishing a key that does not exist.
    """
    ring = current_app.extensions.get("idp.keys")
    if ring is not None:
        after_commit.call("keys:reload", ring.invalidate)


class KeyRing:
    """The keys one worker signs and publishes with, held in memory.

    Reloaded from the database at most every `ttl` seconds (so a rotation by another process is seen
    within ttl), and also at the next moment a key starts or stops signing or leaves the JWKS, so each
    happens on time.
    """

    def __init__(self, crypto: Crypto, ttl: float = 30.0):
        self._crypto = crypto
        self._ttl = ttl
        self._loaded_at = -1e9
        self._changes_at: datetime | None = None  # the next signs_from, retired_at or publish_until to come
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
        signing: dict[str, Key] = {}
        published, moments = [], []
        for row in rows:
            moments += [t for t in (row.signs_from, row.retired_at, row.publish_until) if t is not None and t > now]
            current = state(row, now)
            if current == "expired":
                continue
            key = import_key(json.loads(self._crypto.decrypt(row.private_jwk_encrypted)))
            published.append(key)
            if current == "signing":
                signing[row.alg] = key  # the newest signing key of an algorithm wins
        self._changes_at = min(moments, default=None)
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
