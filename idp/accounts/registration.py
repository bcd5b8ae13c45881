"""Self-registration for portals that allow it: confirm an address by a link, then choose a password.

Asking for a link answers the same whether or not the address has an account (no enumeration); a person
who already has one gets an e-mail saying so instead of a link. The account is made only when the link is
used, in the same transaction that uses it up, so two tabs with one link make one account.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from idp import clock
from idp.accounts import links
from idp.accounts.factors import account_url
from idp.accounts.passwords import PasswordRejected
from idp.accounts.users import create_user, email_domain, find_by_login, normalise_email
from idp.audit import EventTag, record
from idp.errors import InvalidInput, UserFacingError
from idp.extensions import db
from idp.messaging import send
from idp.models import AccountLink, Client, User
from idp.portals import profile, registry
from idp.runtime import settings
from idp.security import policy
from idp.security.passwords import hash_password

SENT, ALREADY_REGISTERED = "sent", "already_registered"


class NotAllowed(InvalidInput, UserFacingError):
    """The address cannot register here (not an address, or outside the portal's domains); `.message` says why."""


class AlreadyRegistered(Exception):
    """An account with this address exists (made meanwhile, or by another tab with the same link)."""


def open_to(client: Client | None) -> bool:
    return client is not None and bool(client.registration)


def check_address(client: Client, typed: str) -> str:
    """The normalised address, or NotAllowed: the portal's domain rule is public, so it is told before anything."""
    try:
        address = normalise_email(typed)
    except InvalidInput:
        raise NotAllowed(_("Enter a valid e-mail address, such as name@example.org.")) from None
    if client.email_domains and email_domain(address) not in client.email_domains:
        raise NotAllowed(_("%(portal)s only accepts addresses ending in %(domains)s.", portal=client.name,
                           domains=", ".join("@" + d for d in client.email_domains)))
    return address


def request_link(client: Client, typed: str, *, flow_uid: str | None, locale: str | None = None) -> str:
    """Mail a registration link, or an "already registered" note to an existing account (not committed).

    Returns SENT or ALREADY_REGISTERED for the audit and tests only: the person must see the same page."""
    address = check_address(client, typed)
    existing = find_by_login(address)
    # The same work for every address, so that the answer's timing tells nothing: the link is made either way, in
    # a savepoint only a new address keeps, and one mail is sent either way.
    savepoint = db.session.begin_nested()
    _link, url = links.issue(links.REGISTER, email=address, flow_uid=flow_uid, client_id=client.client_id,
                             locale=locale)
    if existing is not None:  # usernames cannot hold an "@": this is the account with this address
        savepoint.rollback()
        send("email", existing.email, "already_registered", user=existing, locale=existing.locale or locale,
             portal=client.name, reset_url=settings().issuer + "/reset", account_url=account_url(),
             sender=profile.sender(client))
        record(EventTag.REGISTRATION_REQUESTED, user_id=existing.id, client_id=client.client_id,
               outcome="existing")
        return ALREADY_REGISTERED
    savepoint.commit()
    send("email", address, "registration_link", locale=locale, portal=client.name, url=url,
         hours=settings().accounts.registration_hours, sender=profile.sender(client))
    record(EventTag.REGISTRATION_REQUESTED, client_id=client.client_id)
    return SENT


def link_for(token: str | None) -> AccountLink | None:
    """The live registration link behind a token."""
    return links.find(links.REGISTER, token)


def address_of(link: AccountLink) -> str:
    return links.email_of(link) or ""


def portal_of(link: AccountLink) -> Client | None:

    return registry.find(link.client_id or "")


def has_account(link: AccountLink) -> bool:
    return find_by_login(address_of(link)) is not None


def results(link: AccountLink, password: str) -> list[policy.RuleResult]:
    """The portal's rules for this password; no account exists yet, so only the address is personal."""
    _name, rules = policy.policy_for(portal_of(link))
    return policy.evaluate(password, rules, email=address_of(link))


def complete(link: AccountLink, password: str) -> User:
    """Use the link up and make the account with this password (not committed; on AlreadyRegistered or
    PasswordRejected roll back). The address is verified: the link proved it."""
    checked = results(link, password)
    if not all(r.ok for r in checked):
        raise PasswordRejected(checked)
    if not links.use(link):
        raise AlreadyRegistered()
    address = address_of(link)
    try:
        # The portal's policy decided above; create_user's own floor would refuse a short policy's passwords.
        user = create_user(address, None, email_verified=True)
        now = clock.now()
        user.password_hash = hash_password(password, settings().passwords.bcrypt_rounds)
        user.password_changed_at = user.updated_at = now
        db.session.flush()
    except IntegrityError:  # another request made the same address at the same moment
        raise AlreadyRegistered() from None
    except InvalidInput:  # create_user found the address taken
        raise AlreadyRegistered() from None
    record(EventTag.USER_REGISTERED, user_id=user.id, client_id=link.client_id)
    return user
