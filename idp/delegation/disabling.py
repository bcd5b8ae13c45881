"""Disabling a person, with what others do for them: here because delegation sits above the accounts services.

`accounts.users.disable` ends the person's own sessions and tokens. A delegate acting for them keeps a session
of their own, with parts at portals under the delegation; those parts end now too (grants.end_use: logged out
on the back channel, tokens revoked), as after a revocation. The delegations themselves stay: while the
principal is disabled they cannot be used (grants.refusal), and enabling the person brings them back.
"""

from __future__ import annotations

from sqlalchemy import select

from idp.accounts.users import disable as disable_account
from idp.delegation.grants import end_use
from idp.extensions import db
from idp.models import Delegation, User
from idp.models import delegation as d


def disable(user: User) -> list:
    """Disable the person and end every portal session acting for them (not committed). Returns the queued
    back-channel logouts of the person's own sessions (those of delegates' parts are queued by end_use)."""
    deliveries = disable_account(user)
    live = db.session.scalars(select(Delegation).where(Delegation.principal_id == user.id,
                                                       Delegation.status == d.ACTIVE).order_by(Delegation.id))
    for delegation in live.all():
        end_use(delegation, "principal_disabled")
    return deliveries
