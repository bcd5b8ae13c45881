"""Erasing a person (AVG): their delegations end first, then idp.accounts.people removes their personal data.

Here because delegation sits above the accounts services: every door (CLI, admin console) erases through this.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from idp import clock
from idp.accounts import people, self_delete
from idp.audit import EventTag, record
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


def erase_own(user: User) -> list:
    """The person deletes their own account, where every portal they use allows it: the same erasure, with the
    person as the one who asked, and a last e-mail to the address it had (not committed). Raises
    self_delete.NotAllowed."""
    if not self_delete.may_delete(user):
        raise self_delete.NotAllowed()
    address, locale = user.email, user.locale
    record(EventTag.USER_SELF_DELETED, user_id=user.id)
    deliveries = erase(user, admin=f"user:{user.sub}", now=clock.now())
    self_delete.farewell(address, locale)
    return deliveries
