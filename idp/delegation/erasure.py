"""Erasing a person (AVG): their delegations end first, then idp.accounts.people removes their personal data.

Here because delegation sits above the accounts services: every door (CLI, admin console) erases through this.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from idp.accounts import people
from idp.delegation.grants import revoke
from idp.extensions import db
from idp.models import Delegation, User
from idp.models import delegation as d


def erase(user: User, *, admin: str, now: datetime) -> list:
    """End every live delegation in which the person acts or is acted for, then erase them (not committed).
    Returns the queued back-channel logouts."""
    people.refuse_erased(user)
    live = db.session.scalars(select(Delegation).where(
        (Delegation.delegate_id == user.id) | (Delegation.principal_id == user.id),
        Delegation.status.in_((d.PENDING, d.ACTIVE))).order_by(Delegation.id)).all()
    for delegation in live:
        revoke(delegation, admin, "erased", now)
    return people.erase(user, admin=admin, now=now)
