"""UserInfo (OIDC Core §5.3): Authlib's endpoint, behind RFC 6750 bearer tokens from the header or a form body.

Authlib does the endpoint (an access token with the openid scope, the person's claims for its scope, JSON
and no-store) and the checks of a token (Authlib's ResourceProtector and BearerTokenValidator). Ours are
where RFC 6750 asks more than Authlib does: the form body (§2.2), and a challenge on every refusal (§3).
"""

from __future__ import annotations

from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2 import OAuth2Error, OAuth2Request, ResourceProtector
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError, InvalidTokenError
from authlib.oidc.core import UserInfoEndpoint
from flask import g
from flask import request as flask_request

from idp import logs
from idp.models import Token, User
from idp.oidc import access_tokens
from idp.oidc.access_tokens import JwtAccessToken
from idp.oidc.claims import acts_now, subject_claims
from idp.oidc.grants import DELEGATION_ENDED
from idp.oidc.lookup import find_token
from idp.runtime import settings

REALM = "idp"
Headers = list[tuple[str, str]]


def _challenge(error: OAuth2Error | None = None, scope: str | None = None) -> tuple[str, str]:
    """The WWW-Authenticate header of RFC 6750 §3 (Authlib's InvalidTokenError writes the same one)."""
    parts = [f'realm="{REALM}"']
    if error is not None:
        parts += [f'error="{error.error}"', f'error_description="{error.description}"']
    if scope:
        parts.append(f'scope="{scope}"')
    return "WWW-Authenticate", "Bearer " + ", ".join(parts)


class NoToken(OAuth2Error):  # type: ignore[misc]  # Authlib is untyped
    """RFC 6750 §3.1: no authentication information gets a challenge without an error code.

    Authlib answers missing_authorization or unsupported_token_type (codes RFC 6750 does not have) instead.
    """

    status_code = 401

    def get_body(self) -> list[tuple[str, str]]:
        return []

    def get_headers(self) -> Headers:
        return [*super().get_headers(), _challenge()]


class NotOneWay(InvalidRequestError):  # type: ignore[misc]  # Authlib is untyped
    """RFC 6750 §2: an empty bearer or a token sent two ways is a malformed request (§3.1), with a challenge."""

    description = "Send the access token in exactly one way."

    def get_headers(self) -> Headers:
        return [*super().get_headers(), _challenge(self)]


class InsufficientScope(InsufficientScopeError):  # type: ignore[misc]  # Authlib is untyped
    """Authlib's 403 insufficient_scope, with the challenge and the scope needed (§3) that Authlib leaves out."""

    def __init__(self, description: str, scope: str):
        super().__init__(description)
        self.scope = scope

    def get_headers(self) -> Headers:
        return [*super().get_headers(), _challenge(self, self.scope)]


class AccessTokens(BearerTokenValidator):  # type: ignore[misc]  # Authlib is untyped
    def authenticate_token(self, token_string: str) -> Token | JwtAccessToken | None:
        if access_tokens.looks_like_jwt(token_string):
            return access_tokens.read(token_string)  # RFC 9068: ours, signed; checked below like a row
        token = find_token(token_string, "access_token")
        # find_token knows refresh tokens too (revocation and introspection take either): not here.
        return token if token is not None and token.matched_kind == "access_token" else None

    def validate_token(self, token: Token | JwtAccessToken | None, scopes: list[str], request: OAuth2Request) -> None:
        # Authlib's checks (present, not expired, not revoked, scope), with our descriptions, and one it
        # cannot know: the person behind the token may still sign in. Before the scope, as before.
        if token is None or token.is_revoked() or token.is_expired():
            raise InvalidTokenError("The access token is invalid, expired or revoked.", realm=self.realm)
        if token.user is None or not token.user.is_active:
            raise InvalidTokenError("The access token has no active user.", realm=self.realm)
        if token.client.disabled_at is not None:
            raise InvalidTokenError("The portal this token was issued to is disabled.", realm=self.realm)
        if isinstance(token, Token) and token.delegation_id is not None and not acts_now(token):
            raise InvalidTokenError(DELEGATION_ENDED, realm=self.realm)
        if self.scope_insufficient(token.get_scope(), scopes):
            raise InsufficientScope(f"The access token lacks the {' '.join(scopes)} scope.", " ".join(scopes))


class BearerTokens(ResourceProtector):  # type: ignore[misc]  # Authlib is untyped
    """Authlib's protector with RFC 6750 §2.1 (header) and §2.2 (form body); Authlib reads the header only."""

    def __init__(self) -> None:
        super().__init__()
        self.register_token_validator(AccessTokens(realm=REALM))

    def acquire_token(self, scopes: str) -> Token | JwtAccessToken:
        """What UserInfoEndpoint asks (Authlib's Flask protector has it, but builds a request without a form)."""
        try:
            token: Token | JwtAccessToken = self.validate_request([scopes], FlaskOAuth2Request(flask_request))
        except InvalidTokenError:
            logs.refused("bearer token", path=flask_request.path)
            raise
        g.idp_userinfo_client = token.client  # generate_user_info is told only user and scope
        g.idp_userinfo_acting_for = token.delegation
        return token

    def parse_request_authorization(self, request: OAuth2Request) -> tuple[AccessTokens, str]:
        validator: AccessTokens = self.get_token_validator("bearer")
        from_form = None
        mimetype = request.headers.get("Content-Type", "").partition(";")[0].strip().lower()
        if request.method == "POST" and mimetype == "application/x-www-form-urlencoded":
            from_form = request.form.get("access_token")
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        # RFC 6750 §3.1: another scheme (Basic, …) is "no authentication information", not an error.
        if scheme.lower() == "bearer":
            if not value.strip() or from_form:
                raise NotOneWay()
            return validator, value.strip()
        if from_form:
            return validator, from_form
        raise NoToken()


class UserInfo(UserInfoEndpoint):  # type: ignore[misc]  # Authlib is untyped
    """Authlib's endpoint: JSON only (we register no userinfo_signed_response_alg, so it never signs)."""

    def generate_user_info(self, user: User, scope: str) -> dict[str, object]:
        return subject_claims(user, scope, g.get("idp_userinfo_client"), g.get("idp_userinfo_acting_for"))

    def get_issuer(self) -> str:
        return settings().issuer


def endpoint() -> UserInfo:
    return UserInfo(resource_protector=BearerTokens())
