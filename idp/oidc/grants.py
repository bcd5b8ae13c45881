"""Authlib grants bound to our models: authorization code (+PKCE S256), refresh with rotation, client credentials."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, TypedDict

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
    grants,
    scope_to_list,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from idp import clock, tokens
from idp.audit import EventTag, record
from idp.delegation.acting import allowed_scopes, still_usable
from idp.extensions import db, rows_changed
from idp.models import AuthorizationCode, Client, Token, User
from idp.runtime import crypto, settings

DELEGATION_ENDED = "The delegation this grant acts under can no longer be used."


class BearerToken(TypedDict, total=False):
    """A token response as Authlib's BearerTokenGenerator builds it (RFC 6749 §5.1), and the ID token we add."""

    token_type: str
    access_token: str
    expires_in: int
    refresh_token: str
    scope: str
    id_token: str


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]  # Authlib is untyped
    """PKCE with S256 only; required of every client unless an admin exempted a confidential one, verified
    whenever a challenge was sent."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: AuthorizationCodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if not challenge and (grant.client.public or grant.client.pkce_required):
            raise InvalidRequestError("PKCE (code_challenge with S256) is required for this client.")
        if challenge and method != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]  # Authlib is untyped
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]

    @staticmethod
    def validate_no_multiple_request_parameter(request: OAuth2Request) -> None:
        # Only the two that decide where errors may go; the rest are refused by a redirect (authorize.py).
        for name in ("client_id", "redirect_uri"):
            if len(request.payload.datalist.get(name, [])) > 1:
                raise InvalidRequestError(f"The parameter {name} was sent more than once.")

    @staticmethod
    def validate_authorization_redirect_uri(request: OAuth2Request, client: Client) -> str:
        # The error page never repeats an unregistered URI: it is attacker-chosen text.
        # OIDC Core §3.1.2.1 requires it: without one, an error page, never a redirect to a registered URI.
        redirect_uri: str | None = request.payload.redirect_uri
        if not redirect_uri:
            raise InvalidRequestError("The redirect_uri is missing: an OpenID Connect request must name it.")
        if not client.check_redirect_uri(redirect_uri):
            raise InvalidRequestError("The redirect_uri is not registered for this client.")
        return redirect_uri

    def save_authorization_code(self, code: str, request: OAuth2Request) -> AuthorizationCode:
        sso = request.sso_session  # set by the authorize view: the session that signs this in
        acting_for = getattr(request, "delegation", None)  # the person acts for this delegation's principal
        data = request.payload.data
        now = clock.now()
        scope = request.client.get_allowed_scope(request.payload.scope or "")
        if acting_for is not None:
            # A delegate never gets a scope the delegation does not name: the code's scope is cut down to it
            # (RFC 6749 §3.3: the token response then says which scope was issued).
            scope = " ".join(allowed_scopes(acting_for, scope_to_list(scope) or []))
        row = AuthorizationCode(
            code_hash=crypto().keyed_hash(code),
            client_id=request.client.id,
            user_id=request.user.id,
            session_id=sso.id,
            # Only what the request named: RFC 6749 §4.1.3 asks it back at /token only if it was sent.
            redirect_uri=request.payload.redirect_uri or "",
            scope=scope,
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            claims_locales=data.get("claims_locales"),
            auth_time=sso.auth_time,
            amr=list(sso.amr or []),
            acr=sso.acr,
            sid=sso.sid,
            created_at=now,
            expires_at=now + timedelta(seconds=settings().tokens.code_seconds),
            delegation_id=acting_for.id if acting_for is not None else None,
        )
        db.session.add(row)
        return row

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        row: AuthorizationCode | None = db.session.scalar(
            select(AuthorizationCode).where(AuthorizationCode.code_hash == crypto().keyed_hash(code))
        )
        if row is None or row.client_id != client.id:
            return None
        # Claim the code atomically: of two concurrent redemptions only one wins.
        claimed = rows_changed(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
            .values(used_at=clock.now())
        )
        if not claimed:
            revoke_tokens_of_code(row)
            return None
        # Committed now: a redemption that fails after this (a wrong PKCE verifier or redirect_uri) has spent
        # the code, so whoever tries verifiers gets one try (RFC 9700 §2.1.1).
        db.session.commit()
        if row.is_expired():
            return None
        return row

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Codes are kept (marked used) so a replay can be detected; expired ones are purged later."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
        user: User | None = authorization_code.user
        return user if user is not None and user.is_active else None


def revoke_tokens_of_code(code: AuthorizationCode) -> None:
    """RFC 6749 §4.1.2: a code used twice revokes what it was exchanged for. Committed at once."""
    families = tokens.revoke_bought_with_code(code.id)
    record(EventTag.CODE_REUSE_DETECTED, outcome="failure", user_id=code.user_id,
           client_id=code.client.client_id, revoked_families=families)
    db.session.commit()


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]  # Authlib is untyped
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        row: Token | None = db.session.scalar(_FIND_REFRESH, {"hash": crypto().keyed_hash(refresh_token)})
        # Another client presenting this token learns nothing and changes nothing (Authlib refuses it next).
        if row is None or row.client_id != self.request.client.id:
            return None
        if row.rotated_at is not None:
            revoke_family(row, reason="refresh token reused")
            return None
        if row.user is None or not row.user.is_active:
            return None  # invalid_grant: the person behind the grant may no longer sign in
        if not row.refresh_usable():
            return None
        if row.delegation_id is not None and (row.delegation is None or not still_usable(
                row.delegation, self.request.client.client_id, scope_to_list(granted_scope(row)) or [], clock.now())):
            # Asked again at every refresh (issue 15): revoked, expired, ended or the child's 16th birthday,
            # whatever the expiry job did or did not do.
            raise InvalidGrantError(DELEGATION_ENDED)
        return row

    def authenticate_user(self, refresh_token: Token) -> User | None:
        user: User | None = refresh_token.user
        return user if user is not None and user.is_active else None

    # RFC 6749 §6: the scope a refresh may ask for is what the person granted, even after a refresh
    # that asked for less; an omitted scope means all of it.
    def _validate_token_scope(self, token: Token) -> None:
        wanted = set(scope_to_list(self.request.payload.scope or ""))
        if not wanted <= set(scope_to_list(granted_scope(token))):
            raise InvalidScopeError("The refresh may not ask for more than was granted.")

    def issue_token(self, user: User, refresh_token: Token) -> BearerToken:
        scope = self.request.payload.scope or granted_scope(refresh_token)
        token: BearerToken = self.generate_token(user=user, scope=scope, include_refresh_token=True)
        return token

    def revoke_old_credential(self, refresh_token: Token) -> None:
        claimed = rows_changed(_CLAIM, {"token_id": refresh_token.id, "rotated": clock.now()})
        if not claimed:  # a concurrent request rotated it first: this one must not get tokens
            raise InvalidGrantError("The refresh token was already used.")


# Built once (a statement's cache key is then worked out once too): the refresh grant's two statements.
_FIND_REFRESH = select(Token).options(joinedload(Token.user)).where(Token.refresh_token_hash == bindparam("hash"))
# Core, not ORM: the row loaded above need not learn its rotated_at in this request (nothing reads it after).
_TOKEN = Token.__table__
_CLAIM = (update(_TOKEN).where(_TOKEN.c.id == bindparam("token_id"), _TOKEN.c.rotated_at.is_(None),
                               _TOKEN.c.revoked_at.is_(None))
          .values(rotated_at=bindparam("rotated", type_=_TOKEN.c.rotated_at.type)))


def granted_scope(token: Token) -> str:
    """The scope of the grant a token belongs to, as the person granted it."""
    return token.grant_scope if token.grant_scope is not None else token.scope


def revoke_family(token: Token, reason: str) -> None:
    """A rotated refresh token came back: someone holds a copy. Revoke every token of that grant."""
    tokens.revoke_family(token.family)
    record(EventTag.REFRESH_REUSE_DETECTED, outcome="failure", user_id=token.user_id,
           client_id=token.client.client_id, reason=reason)
    db.session.commit()


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]  # Authlib is untyped
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def validate_requested_scope(self) -> None:
        # No person takes part, so nothing is narrowed silently: a scope the service was not
        # registered for (openid above all) is refused rather than dropped.
        super().validate_requested_scope()
        requested = set(scope_to_list(self.request.payload.scope or ""))
        if not requested <= set(scope_to_list(self.request.client.scope or "")):
            raise InvalidScopeError("This client may not ask for that scope.")
