from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db
from idp.models.types import UTCDateTime


class AuditEvent(db.Model):
    """One security event: who did what to whom, when, from where, through which portal, with what outcome."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(200))
    # NEN 7513 asks who acted and on whose behalf. The subject is whom the event is about (on whose behalf);
    # `actor_user_id` is the account on the acting side when a person acted: the person themselves in their
    # own sign-in and account pages, the delegate in every row under or about a delegation (the principal is
    # then the subject). Indexed so that a delegate's own page finds what they did for others. NULL: a
    # system, the CLI or someone not proven (a wrong password) acted; who started a change to a delegation
    # (the principal, the delegate or an admin) is in `actor` and the details.
    subject_user_id: Mapped[int | None] = mapped_column(index=True)
    actor_user_id: Mapped[int | None] = mapped_column(index=True)
    client_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
