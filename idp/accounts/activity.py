"""A person's recent activity (issue 15 part 5): the security events about them or done by them, newest first,
as sentences in their words. Under a delegation both people see the row, each from their own side: the
principal is the row's subject, the delegate its `actor_user_id` (idp/models/audit.py).

Nothing secret is shown: no codes, tokens, or details of another person beyond the name of the other one of a
delegation. The address and browser of a row are shown only to the person who was at that browser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, func, or_, select

from idp.audit import EventTag as T
from idp.extensions import db
from idp.models import Client, User
from idp.models.audit import AuditEvent
from idp.sessions.devices import describe

PAGE_SIZE = 50

# Steps of a sign-in that its one row (the session started, or signed in for someone) already tells, and
# events that are not about the person's security. A token is shown only when issued for someone else at
# their sign-in (a portal's refreshes would fill the page).
HIDDEN = frozenset({
    T.LOGIN_PASSWORD_SUCCESS, T.MFA_CODE_SENT, T.MFA_CODE_ACCEPTED, T.MFA_STEP_UP, T.MFA_DEVICE_USED,
    T.MESSAGE_SENT, T.MESSAGE_DEAD, T.MESSAGE_CANCELLED, T.BACKCHANNEL_LOGOUT_SENT, T.BACKCHANNEL_LOGOUT_FAILED,
    T.KEY_ROTATED,
    T.CLIENT_CREATED, T.CLIENT_REMOVED, T.CLIENT_SECRET_ROTATED, T.CLIENT_UPDATED, T.CLIENT_DISABLED, T.CLIENT_ENABLED,
    T.REGISTRATION_REQUESTED,
    T.DELEGATION_PORTAL_LOGGED_OUT,  # the withdrawal or end of the delegation, one row before, tells it
    T.MESSAGE_RETRIED, T.AUDIT_EXPORTED,  # the admin console's work on the queue and the audit
})
# Written when a portal's server calls (token endpoint) or by the worker: their address is not the person's.
NOT_AT_A_BROWSER = frozenset({
    T.TOKEN_ISSUED, T.TOKEN_REVOKED, T.REFRESH_REUSE_DETECTED, T.CODE_REUSE_DETECTED, T.DELEGATION_EXPIRED,
    T.DELEGATION_NOTICE_SENT,
})


@dataclass(frozen=True)
class Entry:
    """One line of the page: when, what (a sentence), and optionally how, where (portal) and from which browser."""

    at: datetime
    sentence: str
    how: str | None
    portal: str | None  # where it happened, when the sentence does not say
    origin: str | None
    failed: bool
    for_someone: bool  # under or about a delegation


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    older: int | None  # the `before` of the next page, None on the last one


def _about(user_id: int):
    shown = or_(
        AuditEvent.tag.not_in([str(t) for t in HIDDEN | {T.TOKEN_ISSUED}]),
        and_(AuditEvent.tag == str(T.TOKEN_ISSUED), AuditEvent.actor_user_id != AuditEvent.subject_user_id,
             func.coalesce(AuditEvent.details["grant_type"].as_string(), "") == "authorization_code"),
    )
    # Tokens revoked because a delegation ended: the row of its withdrawal or end already tells it.
    ended_with_delegation = and_(AuditEvent.tag == str(T.TOKEN_REVOKED),
                                 AuditEvent.details["delegation_id"].as_string().is_not(None))
    return and_(or_(AuditEvent.subject_user_id == user_id, AuditEvent.actor_user_id == user_id), shown,
                ~ended_with_delegation)


def page(user: User, before: int | None = None, size: int = PAGE_SIZE) -> Page:
    """The person's events before row `before` (None: the newest), newest first. Rows are ordered as they were
    written (their id): the audit trail is append-only, so that is the order in which things happened."""
    query = select(AuditEvent).where(_about(user.id))
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    names = _names(user, rows)
    portals = _portals(r.client_id for r in rows)
    entries = [_entry(user, row, names, portals) for row in rows]
    return Page(entries, rows[-1].id if more else None)


# --- reading the rows -----------------------------------------------------------------------------------


def _other(user: User, row: AuditEvent) -> int | None:
    """The other person of a row under or about a delegation, seen from `user`; None for the person's own."""
    details = row.details or {}
    delegate, principal = details.get("delegate_id"), details.get("principal_id")
    if delegate is None or principal is None:
        return None
    return principal if delegate == user.id else delegate


def _names(user: User, rows: list[AuditEvent]) -> dict[int, str]:
    ids = {other for row in rows if (other := _other(user, row)) is not None}
    if not ids:
        return {}
    return {i: n for i, n in db.session.execute(select(User.id, User.name).where(User.id.in_(ids))) if n}


def _portals(client_ids: Iterable[str | None]) -> dict[str, str]:
    ids = {c for c in client_ids if c}
    if not ids:
        return {}
    found = db.session.scalars(select(Client).where(Client.client_id.in_(ids)))
    return {c.client_id: c.display_name for c in found}  # the account pages: "My account", translated


def _entry(user: User, row: AuditEvent, names: dict[int, str], portals: dict[str, str]) -> Entry:
    tag, details = row.tag, row.details or {}
    portal = portals.get(row.client_id, _("a portal that no longer exists")) if row.client_id else None
    other = _other(user, row)
    if other is not None:
        name = names.get(other, _("someone"))
        as_delegate = details.get("delegate_id") == user.id
        sentence = _delegated(tag, details, as_delegate, name, portal or _("a portal"))
        # The address and browser were the delegate's: shown to them only, never to the principal.
        at_browser = as_delegate and tag == T.DELEGATION_SIGN_IN
        how = None
    else:
        sentence = _own(tag, details, portal)
        at_browser = tag not in NOT_AT_A_BROWSER
        how = _how(details.get("amr")) if tag == T.LOGIN_SESSION_STARTED else None
    if sentence is None:
        sentence = _("Another security event on your account (%(code)s)", code=tag)
    origin = None
    if at_browser and row.ip:
        origin = _("From %(ip)s, %(browser)s", ip=row.ip, browser=describe(row.user_agent))
    named = portal if portal and portal not in sentence else None
    return Entry(row.at, sentence, how, named, origin, row.outcome == "failure", other is not None)


def sentence_of(tag: str, details: dict, portal: str | None) -> str | None:
    """The sentence the person whom a row is about reads for it on their page, or None (a row under or about a
    delegation reads differently from each side; a tag with no sentence of its own)."""
    if details.get("delegate_id") is not None and details.get("principal_id") is not None:
        return None
    return _own(tag, details, portal)


def _how(amr: object) -> str | None:
    values = set(amr) if isinstance(amr, list) else set()
    if "sms" in values:
        return _("With your password and a code by SMS")
    if "otp" in values:
        return _("With your password and a one-time code")
    if "mfa" in values:
        return _("With your password on a trusted browser")
    if "pwd" in values:
        return _("With your password only, without a second step")
    return None


_FACTORS: dict[str, Callable[[], str]] = {
    "sms": lambda: _("codes by SMS"),
    "email": lambda: _("codes by e-mail"),
    "totp": lambda: _("an authenticator app"),
}


def _factor(details: dict) -> str:
    made = _FACTORS.get(str(details.get("factor")))
    return made() if made else _("a second step")


def _own(tag: str, details: dict, portal: str | None) -> str | None:
    """The sentence of a row about the person themselves; None: no sentence of its own."""
    if tag == T.LOGIN_SESSION_STARTED:
        if details.get("renewed"):
            return _("You confirmed your sign-in at %(portal)s", portal=portal) if portal else _(
                "You confirmed your sign-in")
        return _("You signed in at %(portal)s", portal=portal) if portal else _("You signed in")
    if tag == T.LOGIN_PASSWORD_FAILURE:
        return _("Someone tried to sign in to your account with a wrong password")
    if tag == T.MFA_CODE_REJECTED:
        return _("A wrong code was typed when signing in to your account")
    if tag == T.ACCOUNT_LOCKED:
        return _("Your account was locked after too many failed attempts")
    if tag == T.ACCOUNT_UNLOCKED:
        return _("Your account was unlocked")
    if tag == T.USER_PASSWORD_CHANGED:
        return _("Your password was changed")
    if tag == T.PASSWORD_RESET_REQUESTED:
        return _("A link to set a new password was asked for your account")
    if tag == T.PASSWORD_RESET:
        return _("A new password was set with a link sent to you")
    if tag == T.MFA_ENROLLED:
        return _("Second step added: %(factor)s", factor=_factor(details))
    if tag == T.MFA_REMOVED:
        return _("Second step removed: %(factor)s", factor=_factor(details))
    if tag == T.MFA_RECOVERY_CODES_CREATED:
        return _("New recovery codes were made")
    if tag == T.MFA_RECOVERY_CODE_USED:
        return _("A recovery code was used to sign in")
    if tag == T.DEVICE_TRUSTED:
        days = int(details.get("days") or 0)
        return ngettext("A browser is trusted for %(num)d day: no second step there",
                        "A browser is trusted for %(num)d days: no second step there", days)
    if tag == T.DEVICE_REVOKED:
        count = int(details.get("count") or 1)
        return ngettext("%(num)d trusted browser was removed", "%(num)d trusted browsers were removed", count)
    if tag == T.CONSENT_GRANTED and portal:
        return _("You allowed %(portal)s to receive your details", portal=portal)
    if tag == T.CONSENT_DENIED and portal:
        return _("You did not allow %(portal)s to receive your details", portal=portal)
    if tag == T.LOGOUT:
        return _("You signed out") if details.get("reason") == "logout" else _("Your sign-in was ended")
    if tag == T.TOKEN_REVOKED and portal:
        return _("The access of %(portal)s to your details was ended", portal=portal)
    if tag in (T.CODE_REUSE_DETECTED, T.REFRESH_REUSE_DETECTED):
        return _("A sign-in was used twice: it was ended to be safe")
    if tag == T.USER_CREATED:
        return _("Your account was made")
    if tag == T.USER_REGISTERED:
        return _("You made your account")
    if tag == T.USER_DISABLED:
        return _("Your account was switched off")
    if tag == T.ACTIVATION_SENT:
        return _("A link to activate your account was sent")
    if tag == T.ACTIVATION_BIRTH_DATE_FAILED:
        return _("A wrong date of birth was typed when activating your account")
    if tag == T.ACCOUNT_ACTIVATED:
        return _("Your account was activated")
    return _own_details(tag, portal)


def _own_details(tag: str, portal: str | None) -> str | None:
    """The account pages' own changes (issue 16 part 4)."""
    if tag == T.USER_NAME_CHANGED:
        return _("Your name was changed")
    if tag == T.USER_EMAIL_CHANGE_REQUESTED:
        return _("A new e-mail address was asked for your account")
    if tag == T.USER_EMAIL_CHANGED:
        return _("Your e-mail address was changed")
    if tag == T.USER_PHONE_CHANGED:
        return _("Your mobile number was changed")
    if tag == T.CONSENT_REVOKED and portal:
        return _("You took back the access of %(portal)s", portal=portal)
    if tag == T.USER_DATA_EXPORTED:
        return _("You downloaded your data")
    return _by_an_admin(tag)


def _by_an_admin(tag: str) -> str | None:
    """What an administrator or the help desk did to the account (issue 16)."""
    if tag == T.USER_ENABLED:
        return _("Your account was switched on again")
    if tag == T.USER_UPDATED:
        return _("Your details were changed by an administrator")
    if tag == T.USER_SIGNED_OUT:
        return _("You were signed out by an administrator")
    if tag == T.MFA_RESET:
        return _("Your second steps were removed by the help desk: you set one up at your next sign-in")
    if tag == T.ORGANISATION_MEMBER_ADDED:
        return _("You were added to an organisation")
    if tag == T.ORGANISATION_MEMBER_REMOVED:
        return _("You were taken out of an organisation")
    if tag == T.ADMIN_ROLE_GRANTED:
        return _("You were given an administrator role")
    if tag == T.ADMIN_ROLE_REVOKED:
        return _("Your administrator role was taken away")
    if tag == T.ACTIVATION_WITHDRAWN:
        return _("The link to activate your account was withdrawn")
    return None


def _delegated(tag: str, details: dict, as_delegate: bool, name: str, portal: str) -> str | None:
    """The sentence of a row under or about a delegation, from the delegate's side or the principal's."""
    if tag == T.DELEGATION_SIGN_IN:
        return (_("You signed in for %(name)s at %(portal)s", name=name, portal=portal) if as_delegate
                else _("%(name)s signed in for you at %(portal)s", name=name, portal=portal))
    if tag == T.TOKEN_ISSUED:
        return (_("%(portal)s received the details of %(name)s: you signed in for them", name=name, portal=portal)
                if as_delegate else
                _("%(portal)s received your details: %(name)s signed in for you", name=name, portal=portal))
    if tag == T.DELEGATION_INVITED:
        return (_("%(name)s invited you to act for them", name=name) if as_delegate
                else _("You invited %(name)s to act for you", name=name))
    if tag == T.DELEGATION_ACCEPTED:
        return (_("You accepted the invitation of %(name)s: you may act for them", name=name) if as_delegate
                else _("%(name)s accepted your invitation and may act for you", name=name))
    if tag == T.DELEGATION_GRANTED:
        if details.get("pending"):
            return (_("You were given access to act for %(name)s, once consent is given", name=name)
                    if as_delegate else
                    _("%(name)s was given access to act for you, once you consent", name=name))
        return (_("You were given access to act for %(name)s", name=name) if as_delegate
                else _("%(name)s was given access to act for you", name=name))
    if tag == T.DELEGATION_CONSENTED:
        return (_("Consent was given: you may act for %(name)s", name=name) if as_delegate
                else _("Consent was given: %(name)s may act for you", name=name))
    if tag == T.DELEGATION_REVOKED:
        by = details.get("by_user")
        by_delegate = by is not None and by == details.get("delegate")
        by_principal = by is not None and by == details.get("principal")
        if as_delegate:
            if by_delegate:
                return _("You stopped acting for %(name)s", name=name)
            if by_principal:
                return _("%(name)s ended your access to act for them", name=name)
            return _("Your access to act for %(name)s was ended", name=name)
        if by_delegate:
            return _("%(name)s stopped acting for you", name=name)
        if by_principal:
            return _("You ended the access of %(name)s to act for you", name=name)
        return _("The access of %(name)s to act for you was ended", name=name)
    if tag == T.DELEGATION_EXPIRED:
        return (_("Your access to act for %(name)s has ended", name=name) if as_delegate
                else _("The access of %(name)s to act for you has ended", name=name))
    if tag == T.DELEGATION_NOTICE_SENT:
        return (_("You were told that your access to act for %(name)s ends soon", name=name) if as_delegate
                else _("You were told that the access of %(name)s to act for you ends soon", name=name))
    return None
