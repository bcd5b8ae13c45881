"""Password reset: a link by e-mail to a known, active account, then a new password by the portal's policy.

Asking for a link answers the same for every address (no enumeration). Setting the password through the link
ends every session, revokes tokens and trusted browsers, ends a lockout, and tells the person by e-mail.
"""

from __future__ import annotations

from idp.accounts import activation, links, passwords
from idp.accounts.factors import account_url
from idp.accounts.users import find_by_login
from idp.audit import EventTag, record
from idp.extensions import db
from idp.messaging import send
from idp.models import AccountLink, Client, OutboxMessage, User
from idp.portals import profile, registry
from idp.runtime import settings
from idp.security import lockout
from idp.security.logins import login_key, normalise_login


class LinkUsed(Exception):
    """Another request used the link first (two tabs, a double click)."""


def request_link(email: str, username: str | None, *, flow_uid: str | None, client_id: str | None,
                 locale: str | None = None) -> bool:
    """Send a reset link when the address (and the username, where asked) names a known, active account; for
    an account whose activation is not finished, a fresh activation link instead (its date of birth and steps
    are not skipped). Not committed. Returns whether a mail was sent: never show that to the person."""
    typed = normalise_login(email)
    client = registry.find(client_id)
    found = _account(typed, username, asks_username=asks_username(client))
    user = found if found is not None and not found.activation_pending else None
    # The same work for every address, known or not, so that the answer's timing tells nothing: the link and
    # its mail are made either way, in a savepoint that only a known, active account keeps.
    savepoint = db.session.begin_nested()
    _, url = links.issue(links.RESET, user=user, email=None if user else typed, flow_uid=flow_uid,
                         client_id=client_id)
    send("email", user.email if user else typed, "reset_link", user=user, locale=locale, url=url,
         minutes=settings().accounts.reset_minutes, sender=profile.sender(client))
    # Written before it can be undone: a message only added to the session would be dropped unwritten, and an
    # unknown address answered sooner (bench/bruteforce.py, bench/forgot_password.py: ~3 ms on PostgreSQL).
    db.session.flush()
    if user is None:
        savepoint.rollback()
        if found is not None:  # activation not finished: the way on is the activation link, sent again
            sent = activation.resend_asked_by_person(found)
            record(EventTag.PASSWORD_RESET_REQUESTED, outcome="activation-sent" if sent else "activation-blocked",
                   user_id=found.id, client_id=client_id)
            return sent
        record(EventTag.PASSWORD_RESET_REQUESTED, outcome="no-account", client_id=client_id,
               login_hash=login_key(typed))
        return False
    savepoint.commit()
    record(EventTag.PASSWORD_RESET_REQUESTED, user_id=user.id, client_id=client_id)
    return True


def asks_username(client: Client | None) -> bool:
    """Does "forgot password" at this portal ask the username as well as the address (its profile)?"""
    return profile.of(client).reset_asks_username


def sets_phone_again(link: AccountLink) -> bool:
    """After a reset through this link, is the mobile number set again with an SMS check (the portal's
    profile: seed 001's insurer does so, because a lost phone is why people reset)?"""
    return profile.of(client_of(link)).reset_phone


def _account(typed_email: str, typed_username: str | None, *, asks_username: bool) -> User | None:
    """The active account with this e-mail address (and this username when the portal asks for it and the
    account has one: an account made without a username is found by its address alone)."""
    if "@" not in typed_email:
        return None  # the form asks for the address: a username alone does not name an account here
    user = find_by_login(typed_email)
    if user is None or not user.is_active or user.email.casefold() != typed_email.casefold():
        return None
    if user.no_login:
        return None  # no login of its own (others act for it): a link could only make one by accident
    if user.password_hash is None and not user.activation_pending:
        return None  # neither a password nor an activation under way: nothing a link could do
    if asks_username and user.username and normalise_login(typed_username).lower() != user.username.lower():
        return None
    return user


def live_link(token: str | None) -> AccountLink | None:
    """The live reset link behind a token whose account can still be used."""
    link = links.find(links.RESET, token)
    if link is None or link.user_id is None:
        return None
    user = db.session.get(User, link.user_id)
    usable = user is not None and user.is_active and user.password_hash is not None and not user.no_login
    return link if usable else None


def client_of(link: AccountLink) -> Client | None:
    """The portal the reset started from (its password policy applies), if any."""
    if not link.client_id:
        return None

    return registry.find(link.client_id)


def user_of(link: AccountLink) -> User:
    return db.session.get(User, link.user_id)


def results(link: AccountLink, password: str) -> list:
    """Live feedback on a new password (history left out: it costs bcrypt work; saving checks it)."""
    return passwords.results(user_of(link), password, client_of(link), with_history=False)


def set_password(link: AccountLink, new_password: str) -> list[OutboxMessage]:
    """Set the new password through the link (not committed) or raise PasswordRejected / LinkUsed; returns the
    back-channel logouts to send after the commit."""
    user, client = user_of(link), client_of(link)
    ended = passwords.change_password(user, new_password, client=client, keep=None, reason="reset",
                                      notify=False)  # our own mail says it was a reset
    if not links.use(link):
        raise LinkUsed()
    lockout.unlock(user)
    user.must_change_password = False
    record(EventTag.PASSWORD_RESET, user_id=user.id, client_id=link.client_id, sessions_ended=len(ended))
    send("email", user.email, "password_reset", user=user, account_url=account_url(),
         contact=profile.help_contact(client, user), sender=profile.sender(client))
    return ended
