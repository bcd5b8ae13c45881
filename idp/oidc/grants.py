"""Authlib grants bound to our models: authorization code (+PKCE S256), refresh with rotation, client credentials."""

from __future__ import annotations

from datetime import timedelta

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from sqlalchemy import select, update

from idp import clock
from idp.audit import EventTag, record
from idp.extensions import db
from idp.models import AuthorizationCode, Token
from idp.runtime import crypto, settings


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only; required of public clients, verified whenever a challenge was sent."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if grant.client.public and not challenge:
            raise InvalidRequestError("PKCE (code_challenge with S256) is required for this client.")
        if challenge and method != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        return super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code: str, request) -> AuthorizationCode:
        sso = request.sso_session  # set by the authorize view: the session that signs this in
        data = request.payload.data
        now = clock.now()
        row = AuthorizationCode(
            code_hash=crypto().keyed_hash(code),
            client_id=request.client.id,
            user_id=request.user.id,
            session_id=sso.id,
            redirect_uri=request.payload.redirect_uri or request.client.get_default_redirect_uri(),
            scope=request.client.get_allowed_scope(request.payload.scope or ""),
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
        )
        db.session.add(row)
        return row

    def query_authorization_code(self, code: str, client):
        row = db.session.scalar(
            select(AuthorizationCode).where(AuthorizationCode.code_hash == crypto().keyed_hash(code))
        )
        if row is None or row.client_id != client.id:
            return None
        # Claim the code atomically: of two concurrent redemptions only one wins.
        claimed = db.session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
            .values(used_at=clock.now())
        ).rowcount
        if not claimed:
            revoke_tokens_of_code(row)
            return None
        if row.is_expired():
            return None
        return row

    def delete_authorization_code(self, authorization_code) -> None:
        """Codes are kept (marked used) so a replay can be detected; expired ones are purged later."""

    def authenticate_user(self, authorization_code):
        user = authorization_code.user
        return user if user is not None and user.is_active else None


def revoke_tokens_of_code(code: AuthorizationCode) -> None:
    """RFC 6749 §4.1.2: a code used twice revokes what it was exchanged for. Committed at once."""
    now = clock.now()
    families = db.session.scalars(select(Token.family).where(Token.code_id == code.id)).all()
    if families:
        db.session.execute(
            update(Token).where(Token.family.in_(families), Token.revoked_at.is_(None)).values(revoked_at=now)
        )
    record(EventTag.CODE_REUSE_DETECTED, outcome="failure", user_id=code.user_id,
           client_id=code.client.client_id, revoked_families=len(families))
    db.session.commit()


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str):
        row = db.session.scalar(
            select(Token).where(Token.refresh_token_hash == crypto().keyed_hash(refresh_token))
        )
        if row is None:
            return None
        if row.rotated_at is not None:
            revoke_family(row, reason="refresh token reused")
            return None
        return row if row.refresh_usable() else None

    def authenticate_user(self, refresh_token: Token):
        user = refresh_token.user
        return user if user is not None and user.is_active else None

    def revoke_old_credential(self, refresh_token: Token) -> None:
        claimed = db.session.execute(
            update(Token)
            .where(Token.id == refresh_token.id, Token.rotated_at.is_(None), Token.revoked_at.is_(None))
            .values(rotated_at=clock.now())
        ).rowcount
        if not claimed:  # a concurrent request rotated it first: this one must not get tokens
            raise InvalidGrantError("The refresh token was already used.")


def revoke_family(token: Token, reason: str) -> None:
    """A rotated refresh token came back: someone holds a copy. Revoke every token of that grant."""
    db.session.execute(
        update(Token).where(Token.family == token.family, Token.revoked_at.is_(None)).values(revoked_at=clock.now())
    )
    record(EventTag.REFRESH_REUSE_DETECTED, outcome="failure", user_id=token.user_id,
           client_id=token.client.client_id, reason=reason)
    db.session.commit()


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
