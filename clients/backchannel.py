"""Back-channel logout at a portal (OpenID Connect Back-Channel Logout 1.0): check the provider's logout token
(§2.6) and remember which provider sessions have ended, so the portal ends its own session for them."""

from __future__ import annotations

import base64
import json
import threading
import time

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_TYPE = "logout+jwt"
LEEWAY = 60  # seconds of clock difference between provider and portal
MAX_TOKEN_AGE = 600  # seconds since iat; the provider signs a retried delivery afresh
JWKS_REFETCH_SECONDS = 60  # an unknown kid fetches the provider's keys again at most this often


class EndedSessions:
    """Provider sessions ended by back-channel logout (by sid, or by sub from a moment on); thread-safe.

    Kept in this process's memory for `keep_seconds` (as long as a portal session cookie is accepted): enough
    for a portal served by one process, like the demo's. A portal served by several processes keeps them in a
    store those processes share (its database or Redis), since the provider tells only one of them.
    """

    def __init__(self, keep_seconds: float) -> None:
        self._changed = threading.Condition()
        self._sids: dict[str, float] = {}
        self._subs: dict[str, float] = {}
        self._keep = keep_seconds

    def end(self, sid: str | None, sub: str | None) -> None:
        now = time.time()
        with self._changed:
            for ended in (self._sids, self._subs):
                for key in [k for k, at in ended.items() if at < now - self._keep]:
                    del ended[key]
            if sid:
                self._sids[sid] = now
            elif sub:
                self._subs[sub] = now
            self._changed.notify_all()

    def ended(self, sid: str | None, sub: str | None, signed_in_at: float) -> bool:
        with self._changed:
            return bool(sid and sid in self._sids) or self._subs.get(sub or "", -1.0) >= signed_in_at

    def wait(self, sid: str, timeout: float) -> bool:
        """Block until this sid is ended (tests wait for the provider's delivery thread this way)."""
        with self._changed:
            return self._changed.wait_for(lambda: sid in self._sids, timeout=timeout)


class LogoutTokens:
    """Checks logout tokens for one portal, and refuses a token (jti) it has already accepted."""

    def __init__(self, client, issuer: str, client_id: str) -> None:
        self._client, self._issuer, self._client_id = client, issuer.rstrip("/"), client_id
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}  # jti -> exp
        self._refetched_at = float("-inf")

    def claims(self, token: str) -> dict | None:
        """The claims of a valid, unused logout token, else None (the endpoint then answers 400)."""
        header = _header(token)
        if header is None or str(header.get("typ", TOKEN_TYPE)).lower().removeprefix("application/") != TOKEN_TYPE:
            return None
        try:
            decoded = jwt.decode(token, self._keys(header.get("kid")), algorithms=["RS256", "ES256"])
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY, iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": self._client_id}, iat={"essential": True},
                exp={"essential": True}, jti={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError, KeyError, TypeError, OSError, RuntimeError):
            return None  # OSError/RuntimeError: the provider's keys could not be fetched; it will retry
        claims = decoded.claims
        events = claims.get("events")
        if not isinstance(events, dict) or EVENT not in events or "nonce" in claims:
            return None
        if not (claims.get("sid") or claims.get("sub")) or time.time() - claims["iat"] > MAX_TOKEN_AGE + LEEWAY:
            return None
        return claims if self._first_use(str(claims["jti"]), float(claims["exp"])) else None

    def _keys(self, kid: str | None) -> KeySet:
        """The provider's keys; fetched again for a kid we do not know (rotation), but not at every request."""
        keys = KeySet.import_key_set(self._client.fetch_jwk_set())
        if kid and kid not in {key.kid for key in keys.keys}:
            with self._lock:
                due = time.monotonic() - self._refetched_at >= JWKS_REFETCH_SECONDS
                if due:
                    self._refetched_at = time.monotonic()
            if due:
                keys = KeySet.import_key_set(self._client.fetch_jwk_set(force=True))
        return keys

    def _first_use(self, jti: str, exp: float) -> bool:
        now = time.time()
        with self._lock:
            for old in [k for k, until in self._seen.items() if until + LEEWAY < now]:
                del self._seen[old]
            if jti in self._seen:
                return False
            self._seen[jti] = exp
            return True


def _header(token: str) -> dict | None:
    """The JOSE header of a compact JWS, unverified (to pick the key and check typ), or None."""
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    part = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, TypeError):
        return None
    return header if isinstance(header, dict) else None
