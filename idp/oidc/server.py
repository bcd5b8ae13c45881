"""Build the Authlib authorization server once per app (kept in app.extensions)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidRequestError,
    OAuth2Request,
    UnsupportedResponseTypeError,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask, Request
from flask import request as flask_request
from sqlalchemy import insert

from idp import clock, logs, tokens
from idp.audit import EventTag, record, record_now
from idp.delegation.acting import record_acting
from idp.extensions import db
from idp.models import Client, Token, User
from idp.oidc import access_tokens, userinfo
from idp.oidc import claims as claims_mod
from idp.oidc.access_tokens import JwtAccessToken
from idp.oidc.grants import (
    AuthorizationCodeGrant,
    BearerToken,
    ClientCredentialsGrant,
    RefreshTokenGrant,
    S256CodeChallenge,
    granted_scope,
)
from idp.oidc.lookup import find_token
from idp.portals import registry
from idp.portals.cache import ClientCache
from idp.runtime import crypto, settings
from idp.settings import Settings


def save_token(token: BearerToken, request: OAuth2Request) -> None:
    cfg = settings()
    now = clock.now()
    grant_type = request.payload.grant_type
    code = request.authorization_code
    previous = request.refresh_token
    token_format: str | None = None  # in the audit only for a JWT (None: left out)
    if access_tokens.wanted(request.client, code or previous):
        # RFC 9068: the access token is signed, never stored; only a refresh token (rotated, revocable) gets a row.
        token["access_token"] = access_tokens.issue(request.client, request.user, token.get("scope", ""),
                                                    code or previous, now)
        token["expires_in"] = cfg.tokens.jwt_access_token_seconds
        token_format = registry.JWT
        if not token.get("refresh_token"):
            record_now(EventTag.TOKEN_ISSUED, user_id=request.user.id if request.user is not None else None,
                       client_id=request.client.client_id, grant_type=grant_type, scope=token.get("scope", ""),
                       refresh=False, format=token_format)
            return
    refresh = bool(token.get("refresh_token"))
    user_id = request.user.id if request.user is not None else None
    # One INSERT at once, no ORM object (nothing reads the new row back in this request): the token endpoint's
    # hot path, measured with bench/cost.py.
    row: dict[str, object] = {
        "client_id": request.client.id,
        "user_id": user_id,
        "access_token_hash": None if token_format else crypto().keyed_hash(token["access_token"]),
        "refresh_token_hash": crypto().keyed_hash(token["refresh_token"]) if refresh else None,
        "scope": token.get("scope", ""),
        "issued_at": now,
        "access_expires_at": now + timedelta(seconds=token["expires_in"]),
        "refresh_expires_at": now + timedelta(days=cfg.tokens.refresh_token_days) if refresh else None,
        "grant_scope": None, "code_id": None, "session_id": None, "sid": None, "auth_time": None, "amr": [],
        "acr": None, "delegation_id": None,
    }
    source = code or previous
    if previous is not None and code is None:
        row["family"], row["code_id"], row["grant_scope"] = previous.family, previous.code_id, granted_scope(previous)
    else:
        row["family"] = secrets.token_hex(16)
        row["code_id"] = code.id if code is not None else None
    if source is not None:
        row["session_id"], row["sid"] = source.session_id, source.sid
        row["auth_time"], row["amr"], row["acr"] = source.auth_time, list(source.amr or []), source.acr
        row["delegation_id"] = source.delegation_id
    if row["grant_scope"] is None:
        row["grant_scope"] = row["scope"]
    signed_in, expires = row["auth_time"], row["refresh_expires_at"]
    if isinstance(signed_in, datetime) and isinstance(expires, datetime):  # the family's absolute end
        row["refresh_expires_at"] = min(expires, signed_in + timedelta(days=cfg.tokens.refresh_token_max_days))
    db.session.execute(_TOKEN_INSERT, row)
    if source is not None and source.delegation_id is not None:
        record_acting(EventTag.TOKEN_ISSUED, source.delegation, request.client.client_id,
                      grant_type=grant_type, scope=row["scope"], refresh=refresh)
    else:
        record_now(EventTag.TOKEN_ISSUED, user_id=user_id, client_id=request.client.client_id,
                   grant_type=grant_type, scope=row["scope"], refresh=refresh, format=token_format)


_TOKEN_INSERT = insert(Token.__table__)


class HintIsOnlyAHint:
    """RFC 7009 §2.2 and RFC 7662 §2.1: token_type_hint only orders the search; an unknown value is ignored."""

    def check_params(self, request: OAuth2Request, client: Client) -> None:
        if not request.form.get("token"):
            raise InvalidRequestError("The token parameter is missing.")


class Revocation(HintIsOnlyAHint, RevocationEndpoint):  # type: ignore[misc]  # Authlib is untyped
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        if access_tokens.looks_like_jwt(token_string):
            return None  # a JWT access token (RFC 9068) cannot be revoked: it ends at exp; still 200 (RFC 7009 §2.2)
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        # Revoking either half of a grant ends the grant: the refresh chain goes with it.
        revoked = tokens.revoke_family(token.family)
        if revoked:  # revoking again is a harmless no-op (RFC 7009 §2.2), not a new event
            record(EventTag.TOKEN_REVOKED, user_id=token.user_id, client_id=token.client.client_id,
                   kind=getattr(token, "matched_kind", None), revoked=revoked)


class Introspection(HintIsOnlyAHint, IntrospectionEndpoint):  # type: ignore[misc]  # Authlib is untyped
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | JwtAccessToken | None:
        if access_tokens.looks_like_jwt(token_string):
            return access_tokens.read(token_string)
        return find_token(token_string, token_type_hint)

    def check_permission(self, token: Token | JwtAccessToken, client: Client, request: OAuth2Request) -> bool:
        # A portal may look only at tokens issued to itself.
        return token.client.id == client.id if isinstance(token, JwtAccessToken) else token.client_id == client.id

    def introspect_token(self, token: Token | JwtAccessToken) -> dict[str, object]:
        if isinstance(token, JwtAccessToken):
            return access_tokens.introspection(token)
        is_refresh = getattr(token, "matched_kind", "access_token") == "refresh_token"
        active = token.refresh_usable() if is_refresh else not (token.is_revoked() or token.is_expired())
        if token.user_id is not None and (token.user is None or not token.user.is_active):
            active = False  # a disabled person's tokens are worthless wherever they are checked
        if token.client.disabled_at is not None:
            active = False  # so are a disabled portal's
        if token.delegation_id is not None and active and not claims_mod.acts_now(token):
            active = False  # the delegation it acts under ended (asked at every introspection)
        exp = token.refresh_expires_at if is_refresh else token.access_expires_at
        if not active or exp is None:  # an active refresh token has an expiry (refresh_usable)
            return {"active": False}
        body: dict[str, object] = {
            "active": True,
            "client_id": token.client.client_id,
            "scope": token.scope,
            "token_type": "refresh_token" if is_refresh else "Bearer",
            "exp": clock.timestamp(exp),
            "iat": clock.timestamp(token.issued_at),
            "iss": settings().issuer,
            "aud": token.client.client_id,
        }
        if token.delegation is not None:
            # The principal is the subject; the person who signed in acts (RFC 8693 §4.1), as in the ID token.
            body["sub"] = token.delegation.principal.sub
            body["act"] = claims_mod.actor(token.delegation)
        elif token.user is not None:
            body["sub"] = token.user.sub
            if token.user.username:  # never the e-mail address: that is for the email scope only
                body["username"] = token.user.username
        if token.sid:
            body["sid"] = token.sid
        return body

    def create_introspection_payload(self, token: Token | JwtAccessToken | None) -> dict[str, object]:
        # RFC 7662 §2.2: anything not active (unknown, expired, revoked, not yours) is just {"active": false}.
        if not token:
            return {"active": False}
        return self.introspect_token(token)


class Issuer(IssuerParameter):  # type: ignore[misc]  # Authlib is untyped
    def get_issuer(self) -> str:
        return settings().issuer


class Server(AuthorizationServer):  # type: ignore[misc]  # Authlib is untyped
    def authenticate_client(self, request: OAuth2Request, methods: list[str], endpoint: str = "token") -> Client:
        # RFC 6749 §2.3: one authentication method per request, and §5.2 names more than one invalid_request.
        # Authlib takes the first method that succeeds, so a right Basic header would cover a wrong body secret.
        basic = request.headers.get("Authorization", "")[:6].lower() == "basic "
        if basic and "client_secret" in request.form:
            raise InvalidRequestError("Use one client authentication method: HTTP Basic or client_secret in "
                                      "the body, not both.")
        try:
            client: Client = super().authenticate_client(request, methods, endpoint)
        except InvalidClientError:
            # The client_id is not a secret; the log tells an operator which portal's secret is wrong or guessed.
            credentials = flask_request.authorization
            named = credentials.username if credentials is not None and credentials.type == "basic" else None
            logs.refused("client authentication", endpoint=endpoint,
                         client_id=repr((named or request.payload.client_id or "")[:100]))
            raise
        return client

    def create_oauth2_request(self, request: OAuth2Request | Request | None) -> OAuth2Request:
        # A resumed (parked) request is already an OAuth2Request; anything else is the Flask request.
        if isinstance(request, OAuth2Request):
            return request
        created: OAuth2Request = super().create_oauth2_request(request)
        return created

    def get_authorization_grant(self, request: OAuth2Request) -> AuthorizationCodeGrant:
        try:
            grant: AuthorizationCodeGrant = super().get_authorization_grant(request)
            return grant
        except UnsupportedResponseTypeError as error:
            if request.payload.response_type:
                raise
            # A missing required parameter is invalid_request (RFC 6749 §4.1.2.1), not an unsupported type.
            raise InvalidRequestError("response_type is missing.", redirect_uri=error.redirect_uri) from None

    def generate_token(
        self, grant_type: str, client: Client, user: User | None = None, scope: str | None = None,
        expires_in: int | None = None, include_refresh_token: bool = True,
    ) -> BearerToken:
        # Refresh tokens only where the person allowed offline access (OIDC Core §11). A refresh always
        # rotates: the grant had offline access, even when this refresh asks for a narrower scope.
        include_refresh_token = include_refresh_token and client.check_grant_type("refresh_token") and (
            grant_type == "refresh_token" or "offline_access" in scope_to_list(scope or "")
        )
        token: BearerToken = super().generate_token(grant_type, client, user, scope, expires_in, include_refresh_token)
        return token


def build(app: Flask) -> Server:
    # Clients from memory, not a SELECT per request (idp/portals/cache.py: changes count at once in this process,
    # within its TTL in the others).
    server = Server(app, query_client=ClientCache().find, save_token=save_token)
    cfg: Settings = app.extensions["idp.settings"]
    server.scopes_supported = [*claims_mod.SCOPES, *registry.SERVICE_SCOPES]  # service scopes: client_credentials
    server.register_token_generator(
        "default",
        BearerTokenGenerator(
            access_token_generator=lambda **kw: secrets.token_urlsafe(32),
            refresh_token_generator=lambda **kw: secrets.token_urlsafe(48),
            expires_generator=lambda client, grant_type: cfg.tokens.access_token_seconds,
        ),
    )
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True), claims_mod.IdToken()])
    server.register_grant(RefreshTokenGrant, [claims_mod.IdToken()])
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    server.register_endpoint(userinfo.endpoint())
    server.register_extension(Issuer())
    return server
