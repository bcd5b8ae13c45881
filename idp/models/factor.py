"""Second factors: an enrolled factor per kind, recovery codes, and the one-time codes sent by SMS or e-mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db
from idp.models.types import UTCDateTime

FACTOR_KINDS = ("sms", "email", "totp")


class Factor(db.Model):
    """A second factor of a user: an SMS phone, the account's e-mail address, or an authenticator app.

    `secret_encrypted` holds the E.164 phone number (sms) or the TOTP secret (totp), encrypted; e-mail
    uses the account's address. A factor is usable once `confirmed_at` is set.
    """

    __tablename__ = "factor"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    secret_encrypted: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column()
    # A new number for a confirmed SMS factor (a reset that sets the phone again): the old number keeps
    # working until a code sent to the new one is typed.
    replacement_encrypted: Mapped[str | None] = mapped_column(String(500))


class RecoveryCode(db.Model):
    """One of the single-use codes for a lost phone; only its keyed hash is stored."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OneTimeCode(db.Model):
    """A code sent by SMS or e-mail: hashed, expiring, single use, a bounded number of tries.

    `flow_uid` binds a sign-in code to the sign-in that asked for it; `destination_hash` (keyed hash of the
    phone number or address) lets the hourly caps count per destination without storing it.
    """

    __tablename__ = "one_time_code"
    __table_args__ = (
        Index("ix_one_time_code_user_created", "user_id", "created_at"),
        Index("ix_one_time_code_destination_created", "destination_hash", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    purpose: Mapped[str] = mapped_column(String(20))
    flow_uid: Mapped[str | None] = mapped_column(String(64))
    destination_hash: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str | None] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
