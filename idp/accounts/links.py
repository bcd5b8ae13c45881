"""Links sent by e-mail (activate, reset, register): random tokens kept as keyed hashes, expiring, single use.

A new link for the same purpose and person (or address) makes the earlier ones useless.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from idp import clock
from idp.errors import UserFacingError
from idp.extensions import db
from idp.models import AccountLink, User
from idp.runtime import crypto, settings

ACTIVATE, RESET, REGISTER = "activate", "reset", "register"
# A new e-mail address for an existing account, confirmed at that address (the account pages).
EMAIL_CHANGE = "email_change"
_PATHS = {ACTIVATE: "/activate/", RESET: "/reset/", REGISTER: "/register/", EMAIL_CHANGE: "/account/email/"}
MAX_TOKEN = 100


class LinkDead(UserFacingError):
    """A link that is unknown, used, replaced by a newer one or expired; each kind of link has its own page
    saying what to do next."""

    message = _l("This link no longer works")


def lifetime(purpose: str) -> timedelta:
    cfg = settings().accounts
    return {ACTIVATE: timedelta(hours=cfg.activation_hours), RESET: timedelta(minutes=cfg.reset_minutes),
            REGISTER: timedelta(hours=cfg.registration_hours),
            EMAIL_CHANGE: timedelta(hours=cfg.registration_hours)}[purpose]


def email_hash(email: str) -> str:
    return crypto().keyed_hash("link-email:" + email.strip().lower())


def issue(purpose: str, *, user: User | None = None, email: str | None = None, flow_uid: str | None = None,
          client_id: str | None = None, locale: str | None = None) -> tuple[AccountLink, str]:
    """A new link (not committed); returns the row and the URL to send. Earlier live links of the same
    purpose for this person or address stop working."""
    now = clock.now()
    address = user.email if user is not None else email
    same = [AccountLink.email_hash == email_hash(address)]
    if user is not None:
        same.append(AccountLink.user_id == user.id)
    db.session.execute(
        update(AccountLink)
        .where(AccountLink.purpose == purpose, or_(*same), AccountLink.used_at.is_(None),
               AccountLink.invalidated_at.is_(None))
        .values(invalidated_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    link = AccountLink(
        purpose=purpose, token_hash=crypto().keyed_hash(token), user_id=user.id if user is not None else None,
        email_hash=email_hash(address), email_encrypted=crypto().encrypt(address) if user is None else None,
        flow_uid=flow_uid, client_id=client_id, locale=locale, attempts=0, created_at=now,
        expires_at=now + lifetime(purpose),
    )
    db.session.add(link)
    db.session.flush()
    return link, settings().issuer + _PATHS[purpose] + token


def issue_for_new_address(purpose: str, user: User, address: str, *, locale: str | None = None
                          ) -> tuple[AccountLink, str]:
    """A link for `user` sent to an address that is not (yet) theirs (not committed); the link carries the
    address, encrypted. Earlier live links of this purpose for the person stop working."""
    invalidate(purpose, user)
    now = clock.now()
    token = secrets.token_urlsafe(32)
    link = AccountLink(
        purpose=purpose, token_hash=crypto().keyed_hash(token), user_id=user.id, email_hash=email_hash(address),
        email_encrypted=crypto().encrypt(address), locale=locale, attempts=0, created_at=now,
        expires_at=now + lifetime(purpose),
    )
    db.session.add(link)
    db.session.flush()
    return link, settings().issuer + _PATHS[purpose] + token


def locale_of(token: str | None) -> str | None:
    """The language a link was asked for in, live or not (its dead-link page speaks it too)."""
    if not token or len(token) > MAX_TOKEN:
        return None
    hashed = crypto().keyed_hash(token)
    return db.session.scalar(select(AccountLink.locale).where(AccountLink.token_hash == hashed))


def find(purpose: str, token: str | None) -> AccountLink | None:
    """The live link behind a token: right purpose, not used, not replaced, not expired."""
    if not token or len(token) > MAX_TOKEN:
        return None
    link = db.session.scalar(select(AccountLink).where(AccountLink.token_hash == crypto().keyed_hash(token)))
    if link is None or link.purpose != purpose or link.used_at or link.invalidated_at:
        return None
    return link if clock.now() < link.expires_at else None


def use(link: AccountLink) -> bool:
    """Mark the link used; False if another request used it first (two tabs, a double click)."""
    now = clock.now()
    won = db.session.execute(
        update(AccountLink)
        .where(AccountLink.id == link.id, AccountLink.used_at.is_(None), AccountLink.invalidated_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won:
        link.used_at = now
    return bool(won)


def invalidate(purpose: str, user: User) -> int:
    """The person's live links of this purpose stop working (not committed); returns how many did."""
    return db.session.execute(
        update(AccountLink)
        .where(AccountLink.purpose == purpose, AccountLink.user_id == user.id, AccountLink.used_at.is_(None),
               AccountLink.invalidated_at.is_(None))
        .values(invalidated_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount


def wrong_try(link: AccountLink, allowed: int) -> bool:
    """Count a wrong answer on the link's page (a date of birth); True when that used up the link."""
    link.attempts += 1
    if link.attempts >= allowed:
        link.invalidated_at = clock.now()
        return True
    return False


def email_of(link: AccountLink) -> str | None:
    """The address a registration link was sent to."""
    return crypto().decrypt(link.email_encrypted) if link.email_encrypted else None
