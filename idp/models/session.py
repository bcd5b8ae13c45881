from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.types import UTCDateTime


class SsoSession(db.Model):
    """A person's single sign-on session at the provider; the browser holds only a random token."""

    __tablename__ = "sso_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    acr: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user = relationship("User")
    clients: Mapped[list[SessionClient]] = relationship(back_populates="session", cascade="all, delete-orphan")


class SessionClient(db.Model):
    """A portal that received tokens within an SSO session: it is told when the session ends."""

    __tablename__ = "sso_session_client"
    __table_args__ = (UniqueConstraint("session_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sso_session.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Whom the person chose to act for at this portal (issue 15): themselves (no delegation) or a principal.
    person_chosen: Mapped[bool] = mapped_column(default=False, server_default=false())
    delegation_id: Mapped[int | None] = mapped_column(ForeignKey("delegation.id", ondelete="SET NULL"))

    session: Mapped[SsoSession] = relationship(back_populates="clients")
    client = relationship("Client")
    delegation = relationship("Delegation")
