"""What a relying party must check in a signed token from the provider, and nothing less.

ID tokens: OpenID Connect Core 1.0 §3.1.3.7 (and §12.2 for refreshed ones). Logout tokens: OpenID
Connect Back-Channel Logout 1.0 §2.6. Every deviation raises ConformanceError naming the rule.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# How far the provider's clock may be from ours (the same process here, so small).
SKEW = 30
# An ID token older than this at receipt is refused (the RP's freshness policy, §3.1.3.7 step 10).
MAX_AGE_AT_RECEIPT = 300
_HASHES = {"RS256": hashlib.sha256, "ES256": hashlib.sha256}


class ConformanceError(AssertionError):
    """The provider did something a strict relying party must refuse."""


def fail(rule: str, detail: str) -> None:
    raise ConformanceError(f"{rule}: {detail}")


def _b64json(segment: str) -> dict:
    try:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError:
        fail("JWS", f"segment is not base64url JSON: {segment[:40]}")


def half_hash(value: str, alg: str) -> str:
    """at_hash: the left half of the hash of the ASCII value, base64url without padding (§3.1.3.8)."""
    digest = _HASHES[alg](value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def verify_signature(token: str, fetch_jwks: Callable[[], dict], expected_alg: str) -> tuple[dict, dict]:
    """Check header alg against the registration, find the key by kid in the JWKS, verify. (header, claims)"""
    parts = token.split(".")
    if len(parts) != 3:
        fail("JWS compact", f"expected 3 parts, got {len(parts)}")
    header = _b64json(parts[0])
    if header.get("alg") != expected_alg:
        fail("§3.1.3.7 step 7", f"alg {header.get('alg')!r} is not the registered {expected_alg!r}")
    if "crit" in header:
        fail("RFC 7515 §4.1.11", f"unexpected crit header {header['crit']!r}")
    kid = header.get("kid")
    if not kid:
        fail("§10.1", "no kid in the header while the JWKS may hold several keys")
    keys = [k for k in fetch_jwks().get("keys", []) if k.get("kid") == kid]
    if len(keys) != 1:
        fail("§10.1", f"kid {kid!r} matches {len(keys)} keys in the JWKS")
    jwk = keys[0]
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", expected_alg) != expected_alg:
        fail("RFC 7517 §4", f"key {kid!r} is not a {expected_alg} signing key: {jwk}")
    if any(name in jwk for name in ("d", "p", "q", "dp", "dq", "qi")):
        fail("RFC 7517 §9", f"the JWKS publishes private parts of key {kid!r}")
    try:
        key = KeySet.import_key_set({"keys": [jwk]}).keys[0]
        verified = jws.deserialize_compact(token, key, algorithms=[expected_alg])
    except (JoseError, ValueError) as exc:
        fail("§3.1.3.7 step 6", f"signature does not verify with key {kid!r}: {type(exc).__name__} {exc}")
    claims = json.loads(verified.payload)
    if not isinstance(claims, dict):
        fail("RFC 7519 §7.2", "the payload is not a JSON object")
    return verified.headers(), claims


def _check_common(claims: dict, issuer: str, client_id: str, now: float) -> None:
    """iss, aud, azp, exp, iat: the same rules for ID tokens and logout tokens."""
    if claims.get("iss") != issuer:
        fail("§3.1.3.7 step 2", f"iss {claims.get('iss')!r} is not the issuer {issuer!r}")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or client_id not in audiences:
        fail("§3.1.3.7 step 3", f"aud {aud!r} does not contain the client {client_id!r}")
    if any(a != client_id for a in audiences):
        fail("§3.1.3.7 step 3", f"aud {aud!r} lists audiences this RP does not trust")
    if len(audiences) > 1 and "azp" not in claims:
        fail("§3.1.3.7 step 4", "several audiences but no azp")
    if "azp" in claims and claims["azp"] != client_id:
        fail("§3.1.3.7 step 5", f"azp {claims['azp']!r} is not the client {client_id!r}")
    for name in ("exp", "iat"):
        if not isinstance(claims.get(name), int) or isinstance(claims.get(name), bool):
            fail("§2", f"{name} must be an integer NumericDate, got {claims.get(name)!r}")
    if claims["exp"] <= now - SKEW:
        fail("§3.1.3.7 step 9", f"expired at {claims['exp']}, now {int(now)}")
    if claims["iat"] > now + SKEW:
        fail("§3.1.3.7 step 10", f"issued in the future: iat {claims['iat']}, now {int(now)}")
    if claims["iat"] < now - MAX_AGE_AT_RECEIPT:
        fail("§3.1.3.7 step 10", f"issued too long ago: iat {claims['iat']}, now {int(now)}")


def check_id_token(
    token: str,
    *,
    issuer: str,
    client_id: str,
    alg: str,
    fetch_jwks: Callable[[], dict],
    nonce: str | None,
    access_token: str | None = None,
    max_age: int | None = None,
    original: dict | None = None,
) -> dict:
    """Validate an ID token; `original` is the first ID token of the grant when this one came from a refresh."""
    now = time.time()
    header, claims = verify_signature(token, fetch_jwks, alg)
    if header.get("typ") not in (None, "JWT"):
        fail("RFC 8725 §3.11", f"an ID token must not be typed {header.get('typ')!r}")
    _check_common(claims, issuer, client_id, now)
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255 or not sub.isascii():
        fail("§2", f"sub must be a non-empty ASCII string of at most 255 characters, got {sub!r}")
    if original is None:
        if nonce is not None and claims.get("nonce") != nonce:
            fail("§3.1.3.7 step 11", f"nonce {claims.get('nonce')!r} is not the one sent ({nonce!r})")
    else:
        _check_refreshed(claims, original)
    if max_age is not None:
        if not isinstance(claims.get("auth_time"), int):
            fail("§3.1.3.7 step 13", "max_age was sent but auth_time is missing")
        if claims["auth_time"] < now - max_age - SKEW:
            fail("§3.1.3.7 step 13", f"auth_time {claims['auth_time']} is older than max_age {max_age}")
    if "auth_time" in claims and claims["auth_time"] > now + SKEW:
        fail("§2", f"auth_time {claims['auth_time']} is in the future")
    if access_token is not None and "at_hash" in claims and claims["at_hash"] != half_hash(access_token, alg):
        fail("§3.1.3.8", f"at_hash {claims['at_hash']!r} does not match the access token")
    return claims


def _check_refreshed(claims: dict, original: dict) -> None:
    """§12.2: a refreshed ID token speaks of the same authentication as the original."""
    for name in ("iss", "sub", "aud", "auth_time", "azp"):
        if claims.get(name) != original.get(name):
            fail("§12.2", f"{name} changed on refresh: {original.get(name)!r} -> {claims.get(name)!r}")
    if "nonce" in claims and claims["nonce"] != original.get("nonce"):
        fail("§12.2", f"a refreshed ID token carries a different nonce {claims['nonce']!r}")


def check_logout_token(
    token: str,
    *,
    issuer: str,
    client_id: str,
    alg: str,
    fetch_jwks: Callable[[], dict],
    seen_jti: set[str],
    id_token: dict | None = None,
) -> dict:
    """Back-Channel Logout 1.0 §2.6 (explicit typing per §2.4 and RFC 8725 included); with `id_token` (the claims
    of an ID token the portal holds), also that the token names that session: its sid and its sub (§2.4: the
    subject "as in the ID token"; §2.7: the RP finds its session by iss and sub and/or sid)."""
    now = time.time()
    header, claims = verify_signature(token, fetch_jwks, alg)
    if header.get("typ") != "logout+jwt":
        fail("Back-Channel Logout §2.4", f"typ is {header.get('typ')!r}, not 'logout+jwt'")
    _check_common(claims, issuer, client_id, now)
    if not claims.get("sub") and not claims.get("sid"):
        fail("Back-Channel Logout §2.6 step 4", "neither sub nor sid")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        fail("Back-Channel Logout §2.6 step 5", f"events lacks the back-channel logout member: {events!r}")
    if "nonce" in claims:
        fail("Back-Channel Logout §2.6 step 6", "a logout token must not contain a nonce")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        fail("Back-Channel Logout §2.4", "jti is required")
    if jti in seen_jti:
        fail("Back-Channel Logout §2.6 step 7", f"jti {jti!r} was already received (replay)")
    seen_jti.add(jti)
    if id_token is not None:
        for name in ("sid", "sub"):
            if name in claims and claims[name] != id_token.get(name):
                fail("Back-Channel Logout §2.7", f"{name} {claims[name]!r} is not the ID token's "
                     f"{id_token.get(name)!r}: the portal has no such session")
    return claims
