"""Accounts made by an administrator, activated by the person through an e-mailed link (issue 4, part 2).

Activation is a short plan: the date of birth when the account has one (seed 004), a password under the
portal's policy, a confirmed mobile number when the portal's profile asks for one (seed 001), then done. A
portal with activation_order phone_first (seed 003) has the SMS code before the password: the code goes to the
number the organisation entered, if it did, so link and phone are both proven before anyone chooses the
password. The link is used (single use) only at the end, so a person can come back to it until then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from idp import clock
from idp.accounts import factors, links, passwords, users
from idp.audit import EventTag, record
from idp.errors import InvalidInput
from idp.extensions import db
from idp.messaging import send
from idp.models import AccountLink, Client, OutboxMessage, User
from idp.portals import profile, registry
from idp.runtime import settings
from idp.security import recovery

BIRTH_DATE, PASSWORD, PHONE = "birth_date", "password", "phone"


def send_link(user: User, *, resend: bool = False, client: Client | None = None,
              invited_by: str | None = None, carried_attempts: int = 0) -> str:
    """Issue a new activation link (earlier ones stop working) and e-mail it (not committed); returns the URL.
    The link belongs to `client`, the portal the account is for (a resend keeps the earlier link's portal):
    its password policy and profile apply, and the person is sent back to it. Raises InvalidInput for an
    account that already has a password or is disabled. `invited_by`: the name of the person who invited them
    to act for them (a contact person, issue 15): the mail says so. `carried_attempts`: wrong dates of birth
    the new link starts with (resend_asked_by_person)."""
    if user.no_login:
        raise InvalidInput(f"{user.name or user.sub} has no login of their own (others act for them): "
                           "nothing to activate")
    if user.password_hash is not None and not user.activation_pending:
        raise InvalidInput(f"{user.email} is already activated (the account has a password)")
    if user.disabled_at is not None:
        raise InvalidInput(f"{user.email} is disabled")
    if client is None and resend:
        client = _earlier_portal(user)
    user.activation_pending = True  # usable only once every step is done (finish)
    link, url = links.issue(links.ACTIVATE, user=user, client_id=client.client_id if client else None)
    link.attempts = carried_attempts
    send("email", user.email, "activation", user=user, email=user.email, activate_url=url,
         login=profile.login_name(client, user),
         hours=settings().accounts.activation_hours, organisation=user.organisation,
         portal=client.display_name if client else None, sender=profile.sender(client), invited_by=invited_by)
    record(EventTag.ACTIVATION_SENT, user_id=user.id, resend=resend, expires_at=link.expires_at.isoformat())
    return url


def resend_asked_by_person(user: User) -> bool:
    """A new link because the person asked for one ("forgot password" before the activation was finished), not
    committed; returns whether one was sent. Anyone who can read the mailbox can ask, so such a link inherits
    the wrong dates of birth of the one it replaces: asking again gives no new guesses. Once they are used up
    only the organisation can send a new link (send_link from the console or the CLI starts again at 0)."""
    carried = _wrong_dates_so_far(user)
    if user.date_of_birth is not None and carried >= settings().accounts.birth_date_attempts:
        record(EventTag.ACTIVATION_SENT, outcome="failure", user_id=user.id, resend=True,
               reason="birth date tries used up")
        return False
    send_link(user, resend=True, carried_attempts=carried)
    return True


def _wrong_dates_so_far(user: User) -> int:
    """The wrong dates of birth on the account's latest activation link (used, replaced or live)."""
    return db.session.scalar(select(AccountLink.attempts).where(
        AccountLink.user_id == user.id, AccountLink.purpose == links.ACTIVATE).order_by(AccountLink.id.desc())
        .limit(1)) or 0


def _earlier_portal(user: User) -> Client | None:
    earlier = db.session.scalar(select(AccountLink.client_id).where(
        AccountLink.user_id == user.id, AccountLink.purpose == links.ACTIVATE).order_by(AccountLink.id.desc()))
    return registry.find(earlier) if earlier else None


def open_link(token: str | None) -> tuple[AccountLink, User] | None:
    """The live activation link behind a token and its account (not activated yet, not disabled)."""
    link = links.find(links.ACTIVATE, token)
    if link is None or link.user_id is None:
        return None
    user = db.session.get(User, link.user_id)
    if user is None or user.disabled_at is not None:
        return None
    return link, user


def flow_uid(link: AccountLink) -> str:
    """Binds the SMS codes of an activation to its link: a code sent for another flow never confirms it."""
    return f"activate:{link.id}"


def portal_of(link: AccountLink) -> Client | None:
    """The portal the account was made for, whose profile the activation follows (None: the defaults)."""
    return registry.find(link.client_id) if link.client_id else None


def next_step(link: AccountLink, user: User, done: set[str]) -> str | None:
    """The first step still to do, given the steps this browser finished for this link; None when all
    are done."""
    if user.date_of_birth is not None and BIRTH_DATE not in done:
        return BIRTH_DATE
    chosen = profile.of(portal_of(link))
    if chosen.activation_order == "phone_first":
        # Every browser proves the phone before the password: until then the link is all anyone has shown.
        if chosen.activation_phone and PHONE not in done:
            return PHONE
        return PASSWORD if PASSWORD not in done else None
    if PASSWORD not in done:
        return PASSWORD
    if chosen.activation_phone and factors.get(user, "sms") is None:
        return PHONE
    return None


def number_on_record(user: User) -> str | None:
    """The mobile number the organisation entered when it made the account: the code goes there, and the
    person cannot type another (seed 003: "u ontvangt per mail een link, waarna een sms volgt")."""
    return users.phone_of(user)


def recovery_codes_at_the_end(user: User) -> list[str]:
    """Phone first: the recovery codes made when the phone was confirmed were never shown (the password came
    after it), so the ready page shows new ones; the unseen ones stop working."""
    return recovery.generate(user)


_DATE = re.compile(r"\s*(\d{1,2})\s*[-/. ]\s*(\d{1,2})\s*[-/. ]\s*(\d{4})\s*")


def parse_birth_date(text: str | None) -> date | None:
    """A date typed in the Dutch order (dd-mm-jjjj, with - / . or spaces, or ddmmjjjj), or ISO from a date
    input; None when it is no real date."""
    text = (text or "").strip()[:20]
    match = _DATE.fullmatch(text)
    try:
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
        if re.fullmatch(r"\d{8}", text):
            return date(int(text[4:]), int(text[2:4]), int(text[:2]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        return None
    return None


@dataclass(frozen=True)
class BirthDateCheck:
    right: bool
    link_used_up: bool = False
    tries_left: int = 0


def check_birth_date(link: AccountLink, user: User, typed: date) -> BirthDateCheck:
    """Compare with the date the administrator entered; a wrong one counts, and the last allowed wrong one
    makes the link useless (not committed)."""
    if typed == user.date_of_birth:
        return BirthDateCheck(right=True)
    allowed = settings().accounts.birth_date_attempts
    used_up = links.wrong_try(link, allowed)
    record(EventTag.ACTIVATION_BIRTH_DATE_FAILED, outcome="failure", user_id=user.id, attempts=link.attempts,
           link_invalidated=used_up)
    return BirthDateCheck(right=False, link_used_up=used_up, tries_left=max(0, allowed - link.attempts))


def check_chosen_password(user: User, typed: str) -> bool:
    """Resuming in another browser: the person proves the password they chose here before going on (the link
    alone, forwarded or copied, must not let anyone set the phone number)."""
    return passwords.check_password(user, typed[:1024])


def set_password(user: User, new_password: str, client: Client | None = None) -> list[OutboxMessage]:
    """The person's first password under the policy of the portal the account is for (so it is never chosen
    twice), else the default (not committed); raises passwords.PasswordRejected."""
    return passwords.change_password(user, new_password, client=client, notify=False, reason="activation")


def finish(link: AccountLink, user: User) -> bool:
    """Use the link and mark the account active (not committed); False when the link was used meanwhile."""
    if not links.use(link):
        return False
    user.email_verified = True
    user.activation_pending = False
    user.updated_at = clock.now()
    record(EventTag.ACCOUNT_ACTIVATED, user_id=user.id)
    return True
