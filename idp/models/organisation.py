"""Organisations (a care provider, a business customer of the insurer, a supplier) and the admin roles people
hold (issue 16 part 1). A person belongs to at most one organisation (user_account.organisation_id) and holds
at most one admin role; an organisation admin's role names the organisation they manage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.types import UTCDateTime

KINDS = ("care_provider", "business_customer", "supplier", "other")
ADMIN_ROLES = ("deployment", "helpdesk", "organisation")


class Organisation(db.Model):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # short, stable: what portals get as org.id
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))  # one of KINDS
    # Members' e-mail addresses must be at one of these domains (empty: any), as a business portal's own.
    email_domains: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AdminRole(db.Model):
    """The one admin role a person holds: deployment (everything), helpdesk (find, unlock, resend activation,
    reset second factors) or organisation (their own organisation's members: `organisation_id`)."""

    __tablename__ = "admin_role"
    __table_args__ = (
        CheckConstraint("(role = 'organisation') = (organisation_id IS NOT NULL)", name="ck_admin_role_organisation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # one of ADMIN_ROLES
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
