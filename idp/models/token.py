from __future__ import annotations

from datetime import datetime

from authlib.oauth2.rfc6749 import TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp import clock
from idp.extensions import db
from idp.models.types import UTCDateTime


class AuthorizationCode(db.Model, AuthorizationCodeMixin):
    """A short-lived, single-use code; kept after use so a replay can revoke what it bought."""

    __tablename__ = "authorization_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sso_session.id", ondelete="SET NULL"))
    redirect_uri: Mapped[str] = mapped_column(String(1000))
    scope: Mapped[str] = mapped_column(String(500))
    nonce: Mapped[str | None] = mapped_column(String(500))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    claims_locales: Mapped[str | None] = mapped_column(String(100))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    acr: Mapped[str | None] = mapped_column(String(100))
    sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Issued to `user` acting for the delegation's principal (issue 15): the principal is the subject.
    delegation_id: Mapped[int | None] = mapped_column(ForeignKey("delegation.id", ondelete="CASCADE"))

    client = relationship("Client")
    user = relationship("User")
    delegation = relationship("Delegation")

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return clock.timestamp(self.auth_time)

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str]:
        return list(self.amr or [])

    def is_expired(self) -> bool:
        return clock.now() >= self.expires_at


class Token(db.Model, TokenMixin):
    """An access token and its optional refresh token; both stored as keyed hashes.

    Rotation keeps the chain: every token from one authorization shares a family, so presenting a
    refresh token that was already rotated revokes the whole family.
    """

    __tablename__ = "token"

    id: Mapped[int] = mapped_column(primary_key=True)
    family: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sso_session.id", ondelete="SET NULL"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("authorization_code.id", ondelete="SET NULL"))
    # None: the grant's access tokens are JWTs (RFC 9068), which have no row; this row holds the refresh token.
    access_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(500))
    # The scope the person granted: a refresh may narrow `scope` and later widen it back up to this.
    grant_scope: Mapped[str | None] = mapped_column(String(500))
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    acr: Mapped[str | None] = mapped_column(String(100))
    sid: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The person who signed in (`user`) acts for this delegation's principal: re-checked at every use.
    delegation_id: Mapped[int | None] = mapped_column(ForeignKey("delegation.id", ondelete="CASCADE"))

    client = relationship("Client")
    user = relationship("User")
    delegation = relationship("Delegation")

    # --- Authlib TokenMixin --------------------------------------------------------
    def check_client(self, client) -> bool:
        return self.client_id == client.id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.access_expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return clock.now() >= self.access_expires_at

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def get_user(self):
        return self.user

    def get_client(self):
        return self.client

    # --- What the sign-in proved, read as from its code (Authlib's OpenIDToken, for a refreshed ID token) ---
    def get_nonce(self) -> None:
        return None  # the nonce belonged to the authorization request; a refreshed ID token carries none

    def get_auth_time(self) -> int | None:
        return clock.timestamp(self.auth_time) if self.auth_time is not None else None

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str]:
        return list(self.amr or [])

    def refresh_usable(self) -> bool:
        return (
            self.refresh_token_hash is not None
            and self.revoked_at is None
            and self.rotated_at is None
            and self.refresh_expires_at is not None
            and clock.now() < self.refresh_expires_at
        )
