"""Delegation ("machtiging"): one person (the delegate) may act for another (the principal) at some portals.

Whether a delegation can be used now is decided by idp/delegation from these columns and the principal's date
of birth at every use; `status` records what has happened to it (granted, consented, revoked, expired), never
how long it lasts: a parental delegation ends on the principal's 16th birthday whatever this row says.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.types import UTCDateTime
from idp.models.user import User

# On what ground the delegate acts: the parental rule (a child under 16; from 12 with the child's consent);
# the principal's own consent given as a child of 12-16 (reserved for the account pages); the written consent
# of a principal of 16 or older recorded by an admin; an invitation by the principal (contact persons); an
# admin on the principal's in-person consent.
PARENTAL, CHILD_CONSENT, WRITTEN_CONSENT, INVITATION, ADMIN = (
    "parental", "child_consent", "written_consent", "invitation", "admin")
BASES = (PARENTAL, CHILD_CONSENT, WRITTEN_CONSENT, INVITATION, ADMIN)
# Bases granted under the younger rules: they end on the principal's 16th birthday.
YOUNGER_RULES = (PARENTAL, CHILD_CONSENT)

# How it was granted.
ACCOUNT_PAGE, ADMIN_CONSENT, PARENTAL_RULE = "account_page", "admin_consent", "parental_rule"
HOWS = (ACCOUNT_PAGE, ADMIN_CONSENT, PARENTAL_RULE)

PENDING, ACTIVE, REVOKED, EXPIRED = "pending", "active", "revoked", "expired"
STATUSES = (PENDING, ACTIVE, REVOKED, EXPIRED)

# How the child's consent was given: by the child signed in with their own account, or on a signed form that
# an admin recorded.
SIGNED_IN, SIGNED_FORM = "signed_in", "signed_form"


class Delegation(db.Model):
    __tablename__ = "delegation"

    id: Mapped[int] = mapped_column(primary_key=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    # client_ids; empty: every portal whose profile allows delegation.
    portals: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # scopes the delegate may use; empty: whatever the portal asks ("openid" is always implied).
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    basis: Mapped[str] = mapped_column(String(20))
    granted_how: Mapped[str] = mapped_column(String(20))
    # Who granted it: a person (the principal in their account pages) or an admin (by name).
    granted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    granted_by_admin: Mapped[str | None] = mapped_column(String(200))
    # How the admin checked the delegate's identity (and parenthood), or recorded the written consent.
    evidence: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(500))
    child_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    child_consent_how: Mapped[str | None] = mapped_column(String(20))
    child_consent_recorded_by: Mapped[str | None] = mapped_column(String(200))  # the admin, for a form
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    revoked_by_admin: Mapped[str | None] = mapped_column(String(200))
    # When both people were told that it ends soon, and that it has ended (each once).
    ending_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id])
    principal: Mapped[User] = relationship(foreign_keys=[principal_id])
