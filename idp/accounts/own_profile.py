"""A person's own profile on the account pages (issue 16 part 4): their name, and a new e-mail address confirmed
by a link sent to that address. The phone number changes through the code confirmation
(idp/accounts/confirmation.py with `replace`): the old number keeps working until the new one is confirmed.

Nobody but the person changes these here (seed 001). An address that already belongs to an account is never
named as such on the page: the page says the same for every address (a link is on its way), and the mail to a
taken address says why nothing will change. Opening the link is the change; it checks again that the address is
still free.
"""

from __future__ import annotations

from sqlalchemy import func, select

from idp import clock
from idp.accounts import links
from idp.accounts.factors import account_url
from idp.accounts.users import normalise_email
from idp.audit import EventTag, record
from idp.errors import InvalidInput, UserFacingError
from idp.extensions import db
from idp.messaging import send
from idp.models import AccountLink, User
from idp.runtime import settings

MAX_NAME = 200


class AddressTaken(UserFacingError):
    """The new address became another account's between the request and the link (or was all along)."""

    status = 409


def change_name(user: User, typed: str) -> bool:
    """Set the person's name (not committed); False when it did not change. Raises InvalidInput when empty."""
    name = " ".join((typed or "").split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput("name")
    if name == user.name:
        return False
    user.name, user.updated_at = name, clock.now()
    record(EventTag.USER_NAME_CHANGED, user_id=user.id)
    return True


def _taken(address: str, user: User) -> bool:
    return db.session.scalar(
        select(func.count()).select_from(User).where(func.lower(User.email) == address.lower(), User.id != user.id)
    ) > 0


def request_email_change(user: User, typed: str, *, locale: str | None = None) -> str:
    """Send the link that makes `typed` the person's address (not committed); returns the address as normalised.

    Raises InvalidInput for an address that is not valid or is already theirs. For an address that belongs to
    another account nothing is made: that address is told so, and the caller shows the same page as for a free
    one. Either way the current address hears of the request ("not you?")."""
    address = normalise_email(typed)
    if address.lower() == user.email.lower():
        raise InvalidInput("same")
    hours = settings().accounts.registration_hours
    if _taken(address, user):
        links.invalidate(links.EMAIL_CHANGE, user)
        send("email", address, "email_change_taken", user=user, locale=locale, account_url=account_url())
        record(EventTag.USER_EMAIL_CHANGE_REQUESTED, user_id=user.id, outcome="failure", reason="taken")
    else:
        _, url = links.issue_for_new_address(links.EMAIL_CHANGE, user, address, locale=locale)
        send("email", address, "email_change_link", user=user, locale=locale, link=url, hours=hours)
        record(EventTag.USER_EMAIL_CHANGE_REQUESTED, user_id=user.id)
    send("email", user.email, "email_change_requested", user=user, locale=locale, new_address=address,
         hours=hours, account_url=account_url())
    return address


def pending_address(link: AccountLink) -> str:
    return links.email_of(link) or ""


def find_link(token: str | None) -> AccountLink | None:
    """The live e-mail change link behind a token, of an account that may still use it."""
    link = links.find(links.EMAIL_CHANGE, token)
    if link is None or link.user_id is None:
        return None
    user = db.session.get(User, link.user_id)
    return link if user is not None and user.is_active and not user.no_login else None


def confirm_email_change(link: AccountLink) -> User:
    """Make the link's address the person's (not committed). Raises links.LinkDead when the link was used
    meanwhile, AddressTaken when the address is no longer free (the link is then used up)."""
    user = db.session.get(User, link.user_id)
    address = pending_address(link)
    if user is None or not address or not links.use(link):
        raise links.LinkDead()
    if _taken(address, user):
        record(EventTag.USER_EMAIL_CHANGED, user_id=user.id, outcome="failure", reason="taken")
        raise AddressTaken(page="accounts/email_taken.html")
    old = user.email
    user.email, user.email_verified, user.updated_at = address, True, clock.now()
    # A reset link went to the old address: it must not outlive the change.
    links.invalidate(links.RESET, user)
    record(EventTag.USER_EMAIL_CHANGED, user_id=user.id)
    send("email", old, "email_changed", user=user, new_address=address, account_url=account_url())
    return user
