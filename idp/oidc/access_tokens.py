"""RFC 9068 JWT access tokens, for portals whose access_token_format is "jwt".

A resource server checks such a token itself against /jwks.json (signature, typ at+jwt, iss, exp, aud), so the
token has no row: nothing is written per token, and nothing can revoke it before it expires (it lives
tokens.jwt_access_token_seconds). Our own userinfo and introspection read it back here and still ask whether
its portal and person may be used now.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc.errors import JoseError
from sqlalchemy import select

from idp import clock
from idp.extensions import db
from idp.models import AuthorizationCode, Client, Token, User
from idp.portals import registry
from idp.runtime import keyring, settings

TYP = "at+jwt"  # RFC 9068 §2.1
ACCEPTED_TYPES = {"at+jwt", "application/at+jwt"}  # §4: a resource server accepts either spelling
_MAX_LENGTH = 8192


def wanted(client: Client, grant: AuthorizationCode | Token | None) -> bool:
    """Whether this grant's access tokens are JWTs. Not under a delegation: it is asked again at every use
    (issue 15) and must end the moment the delegation does, which only a revocable (opaque) token can."""
    return client.access_token_format == registry.JWT and (grant is None or grant.delegation_id is None)


def issue(client: Client, user: User | None, scope: str, grant: AuthorizationCode | Token | None,
          now: datetime) -> str:
    """A signed JWT access token (RFC 9068 §2.2): its claims and nothing personal beyond sub."""
    cfg = settings()
    issued_at = clock.timestamp(now)
    claims: dict[str, Any] = {
        "iss": cfg.issuer,
        "exp": issued_at + cfg.tokens.jwt_access_token_seconds,
        # §3: no resource parameter, so the default resource: the portal itself (its own back end), the one
        # audience we know the portal was authorised for.
        "aud": client.client_id,
        # §2.2: without a resource owner (client_credentials) the subject is the client.
        "sub": user.sub if user is not None else client.client_id,
        "client_id": client.client_id,
        "iat": issued_at,
        "jti": secrets.token_urlsafe(16),
    }
    if scope:
        claims["scope"] = scope  # §2.2.3
    if grant is not None:  # §2.2.1: what the sign-in proved, when a person signed in
        if grant.auth_time is not None:
            claims["auth_time"] = clock.timestamp(grant.auth_time)
        if grant.acr:
            claims["acr"] = grant.acr
        if grant.amr:
            claims["amr"] = list(grant.amr)
    return keyring().sign(claims, cfg.tokens.jwt_access_token_alg, typ=TYP)


def looks_like_jwt(token_string: str) -> bool:
    """A JWS in compact form has three parts; our opaque tokens (URL-safe base64) have no dot."""
    return token_string.count(".") == 2


@dataclass
class JwtAccessToken:
    """A JWT access token we issued, as read back: what userinfo and introspection need of a token row."""

    claims: dict[str, Any]
    client: Client
    user: User | None  # None: issued to the client itself (client_credentials)

    delegation = None  # never under a delegation (`wanted`)
    delegation_id = None
    matched_kind = "access_token"

    @property
    def scope(self) -> str:
        scope = self.claims.get("scope", "")
        return scope if isinstance(scope, str) else ""

    def get_scope(self) -> str:
        return self.scope

    def get_client(self) -> Client:
        return self.client

    def get_user(self) -> User | None:
        return self.user

    def is_expired(self) -> bool:
        exp: int = self.claims["exp"]
        return clock.timestamp(clock.now()) >= exp

    def is_revoked(self) -> bool:
        return False  # a JWT cannot be taken back: it ends at exp

    def usable(self) -> bool:
        """Not expired, its portal not disabled, its person (if any) still allowed to sign in."""
        if self.is_expired() or self.client.disabled_at is not None:
            return False
        return self.user is None or self.user.is_active


def read(token_string: str) -> JwtAccessToken | None:
    """The JWT access token we issued (expired ones too: the caller asks `usable`), or None for anything else:
    another issuer's, a forged or unsigned one, an ID or logout token, one whose portal or person is gone."""
    if not token_string or len(token_string) > _MAX_LENGTH or not looks_like_jwt(token_string):
        return None
    try:
        # Only our own algorithms: "none" and HMAC (with a public key as the secret) are refused here.
        token = keyring().verify(token_string)
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    claims = token.claims
    if token.header.get("typ") not in ACCEPTED_TYPES or claims.get("iss") != settings().issuer:
        return None
    client_id, sub = claims.get("client_id"), claims.get("sub")
    if not isinstance(client_id, str) or not isinstance(sub, str) or claims.get("aud") != client_id:
        return None
    if not all(isinstance(claims.get(name), int) and not isinstance(claims.get(name), bool) for name in ("exp", "iat")):
        return None
    client = registry.find(client_id)
    if client is None:
        return None
    if "authorization_code" not in (client.grant_types or []):
        # A service's token names the service, never a person (§5: a client must not pass for a person).
        return JwtAccessToken(claims, client, None) if sub == client_id else None
    user = db.session.scalar(select(User).where(User.sub == sub))
    return JwtAccessToken(claims, client, user) if user is not None else None


def introspection(token: JwtAccessToken) -> dict[str, object]:
    """RFC 7662 §2.2 for a JWT access token: its own claims while usable, else only active false."""
    if not token.usable():
        return {"active": False}
    claims = token.claims
    body: dict[str, object] = {"active": True, "token_type": "Bearer"}
    body.update({name: claims[name] for name in ("client_id", "scope", "exp", "iat", "iss", "aud", "sub", "jti")
                 if name in claims})
    if token.user is not None and token.user.username:  # never the e-mail address, as for opaque tokens
        body["username"] = token.user.username
    return body
