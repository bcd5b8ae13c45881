from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db
from idp.models.types import UTCDateTime


class AccountLink(db.Model):
    """A link sent by e-mail: activate an account, reset a password, or confirm an address to register.

    Only the keyed hash of its token is stored. It expires, is used once, and a newer link for the same
    purpose and person invalidates it. A registration link carries the (encrypted) address, as no account
    exists yet; `flow_uid` names the parked sign-in to resume and `client_id` the portal whose policy applies.
    """

    __tablename__ = "account_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    email_encrypted: Mapped[str | None] = mapped_column(String(1000))
    flow_uid: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[str | None] = mapped_column(String(64))
    # The language of the page that asked for the link: its pages speak it too, in any browser.
    locale: Mapped[str | None] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
