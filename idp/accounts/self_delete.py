"""A person deletes their own account (issue 16 part 4), where every portal they use allows it (the portal
profile field `self_delete`, default false).

The deletion itself is the erasure an admin's `idp users erase` does (idp/delegation/erasure.py `erase_own`):
delegations end, sessions end (each portal hears on its back channel), tokens are revoked, personal data leaves
every table, and the account stays only as a pseudonym (its `sub`) that can never sign in, so the audit trail
stays whole. Here: whether it is allowed, and the last e-mail.
"""

from __future__ import annotations

from idp.accounts import connected
from idp.messaging import send
from idp.models import User
from idp.portals import profile


class NotAllowed(Exception):
    """A portal the person uses does not let people delete their own account (or they use none)."""


def may_delete(user: User) -> bool:
    """Every portal the person is connected to allows it, and there is at least one; never for an account that
    others act for without a login of its own."""
    portals = connected.portals_of(user)
    return bool(portals) and not user.no_login and all(profile.of(c).self_delete for c in portals)


def farewell(address: str, locale: str | None) -> None:
    """The last mail, to the address the account had (sent after the erasure: it holds nobody's name)."""
    send("email", address, "account_deleted", locale=locale)
