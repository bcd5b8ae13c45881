"""Who may use /scim/v2: a bearer access token (RFC 6750) the provider itself issued to a client_credentials
client registered with the `scim` scope. The client record says which organisation's members it manages
(Client.organisation_id; None: everyone). Knows nothing of Flask: it is given the Authorization header."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from scim2_models import ForbiddenException, UnauthorizedException

from idp import logs
from idp.models import Token
from idp.oidc.lookup import find_token
from idp.scim.provider import SCOPE
from idp.scim.resources import Caller

REALM = "idp"


class NoToken(UnauthorizedException):
    """RFC 6750 §3.1: no credentials at all get a challenge without an error code."""

    def challenge(self) -> str:
        return f'Bearer realm="{REALM}"'


class InvalidToken(UnauthorizedException):
    def challenge(self) -> str:
        return f'Bearer realm="{REALM}", error="invalid_token", error_description="{self.detail}"'


class InsufficientScope(ForbiddenException):
    def challenge(self) -> str:
        return (f'Bearer realm="{REALM}", error="insufficient_scope", error_description="{self.detail}", '
                f'scope="{SCOPE}"')


def bearer(authorization: str | None) -> str:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        raise NoToken(detail="Send an access token: Authorization: Bearer <token>.")
    if not value.strip():
        raise InvalidToken(detail="The access token is empty.")
    return value.strip()


def caller_for(authorization: str | None) -> Caller:
    """The client a request comes from; 401 without a live access token of a client, 403 without the scope."""
    try:
        return _caller_for(authorization)
    except InvalidToken:
        logs.refused("bearer token", path="/scim/v2")
        raise


def _caller_for(authorization: str | None) -> Caller:
    token: Token | None = find_token(bearer(authorization), "access_token")
    if token is None or token.matched_kind != "access_token" or token.is_revoked() or token.is_expired():
        raise InvalidToken(detail="The access token is invalid, expired or revoked.")
    client = token.client
    if token.user_id is not None or client is None:
        raise InvalidToken(detail="Use an access token of the client itself (client_credentials), not a person's.")
    if client.disabled_at is not None:  # a disabled client's tokens are worthless wherever they are checked
        raise InvalidToken(detail="The client is disabled.")
    if SCOPE not in scope_to_list(token.scope or "") or SCOPE not in scope_to_list(client.scope or ""):
        raise InsufficientScope(detail=f"The access token lacks the {SCOPE} scope.")
    return Caller(client_id=client.client_id, organisation_id=client.organisation_id)
