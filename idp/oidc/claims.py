"""What the provider says about a person: claims by scope, and the ID token."""

from __future__ import annotations

from datetime import datetime

from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oidc.core.util import create_half_hash
from joserfc.errors import JoseError

from idp import clock
from idp.models import Client, User
from idp.runtime import keyring, settings

SCOPES = ("openid", "profile", "email", "phone", "roles", "offline_access")


def user_claims(user: User, scope: str, phone: str | None = None) -> dict:
    """Standard claims the scope allows, leaving out what we do not know."""
    scopes = set(scope_to_list(scope or ""))
    claims: dict = {"sub": user.sub}
    if "profile" in scopes:
        claims.update(
            name=user.name,
            given_name=user.given_name,
            family_name=user.family_name,
            preferred_username=user.username,
            locale=user.locale,
            updated_at=clock.timestamp(user.updated_at),
        )
    if "email" in scopes:
        claims.update(email=user.email, email_verified=bool(user.email_verified))
    if "phone" in scopes and phone:
        claims.update(phone_number=phone, phone_number_verified=bool(user.phone_verified))
    if "roles" in scopes:  # what a portal shows or allows by role (professional, admin, ...); may be empty
        claims["roles"] = sorted(user.roles or [])
    return {k: v for k, v in claims.items() if v is not None}


def id_token_claims(
    *,
    issuer: str,
    client: Client,
    user: User,
    scope: str,
    lifetime: int,
    auth_time: datetime | None,
    acr: str | None,
    amr: list[str] | None,
    sid: str | None,
    nonce: str | None = None,
    access_token: str | None = None,
    phone: str | None = None,
) -> dict:
    now = clock.timestamp(clock.now())
    claims = user_claims(user, scope, phone)
    claims.update(iss=issuer, aud=client.client_id, iat=now, exp=now + lifetime)
    if auth_time is not None:
        claims["auth_time"] = clock.timestamp(auth_time)
    if nonce:
        claims["nonce"] = nonce
    if acr:
        claims["acr"] = acr
    if amr:
        claims["amr"] = list(amr)
    if sid:
        claims["sid"] = sid
    if access_token:
        claims["at_hash"] = create_half_hash(access_token, client.id_token_alg).decode("ascii")
    return claims


class InvalidHint(ValueError):
    """An id_token_hint we did not issue, or a token of ours that is not an ID token."""


def id_token_hint_claims(hint: str) -> dict:
    """Claims of an ID token we issued, expired ones included (they only name the person); raises InvalidHint.

    Logout tokens are signed with the same keys: their typ and events claim tell them apart.
    """
    try:
        token = keyring().verify(hint)
    except (JoseError, ValueError) as exc:
        raise InvalidHint("id_token_hint is not valid") from exc
    claims = token.claims
    if (
        token.header.get("typ", "JWT") != "JWT"
        or "events" in claims
        or claims.get("iss") != settings().issuer
        or not isinstance(claims.get("sub"), str)
    ):
        raise InvalidHint("id_token_hint is not an ID token issued here")
    return dict(claims)
