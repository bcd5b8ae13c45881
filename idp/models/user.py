from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.organisation import Organisation
from idp.models.types import UTCDateTime


def new_sub() -> str:
    """Opaque, random and never reused: the stable identifier portals store."""
    return uuid.uuid4().hex


class User(db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    sub: Mapped[str] = mapped_column(String(64), unique=True, default=new_sub)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    email_verified: Mapped[bool] = mapped_column(default=False)
    username: Mapped[str | None] = mapped_column(String(150), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    phone_encrypted: Mapped[str | None] = mapped_column(String(500))
    phone_verified: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str | None] = mapped_column(String(10))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Checked at activation when set (seed 004); the organisation an admin created the account for.
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    # The organisation the person belongs to (at most one; issue 16): its domains restrict their address, its
    # admins manage them, its name is told in the activation mail and pages, its code and name in the org claim.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    # The provisioning system's own id for the person (SCIM externalId, idp/scim); never shown to portals.
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(100))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A temporary password (or one an admin reset) must be changed before anything else.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Made for activation by link and not finished yet (a password may be set, the phone not yet confirmed):
    # such an account cannot sign in; its link resumes where the person stopped.
    activation_pending: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A person without a login of their own (a young child, a client who does not use the portals), made so
    # that others may act for them (idp/delegation): never signs in, never gets a password, reset or activation.
    no_login: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    org: Mapped[Organisation | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def organisation(self) -> str | None:
        """The name of the person's organisation (what the free-text field said before issue 16), or None."""
        return self.org.name if self.org is not None else None

    def get_user_id(self) -> int:
        return self.id


class PasswordHistory(db.Model):
    """Hashes of a user's earlier passwords, for a policy that refuses the last N."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(db.Model):
    """Consecutive failed passwords for one typed login name, known or not (no enumeration): the lockout.

    `login_hash` is the keyed hash of the normalised name; `locked_at` is set at the limit and cleared by
    an admin's unlock, by the cool-down, or by nothing else.
    """

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    login_hash: Mapped[str] = mapped_column(String(64), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
